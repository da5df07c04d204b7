import { describe, expect, it } from 'vitest';
import { cacheSlicesFor, DEFAULT_CACHE_SLICES, EmbeddingCache, MAX_CACHE_SLICES } from './embedding-cache';

describe('embedding cache', () => {
  it('computes once per key, evicts the least recently used, does not keep failures', async () => {
    const cache = new EmbeddingCache(2);
    let computed = 0;
    const make = (v: number) => () => (computed++, Promise.resolve(Float32Array.of(v)));
    const [a, a2] = await Promise.all([cache.get('a', make(1)), cache.get('a', make(9))]);
    expect(a).toBe(a2);
    expect(computed).toBe(1);
    await cache.get('b', make(2));
    await cache.get('a', make(9)); // a is now the most recent
    await cache.get('c', make(3)); // evicts b
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    await expect(cache.get('d', () => Promise.reject(new Error('encoder failed')))).rejects.toThrow('encoder failed');
    expect(cache.has('d')).toBe(false);
    expect(() => new EmbeddingCache(0)).toThrow(/at least one slice/);
  });

  it('gives the studio an eighth of the device memory, between the CLI default and 1 GiB', () => {
    // navigator.deviceMemory's values (GiB): 4 MiB a slice.
    expect([0.25, 1, 2, 4, 8].map(cacheSlicesFor)).toEqual([DEFAULT_CACHE_SLICES, DEFAULT_CACHE_SLICES, 64, 128, 256]);
    expect(cacheSlicesFor(64)).toBe(MAX_CACHE_SLICES);
    // A browser that does not say: as 4 GiB.
    expect(cacheSlicesFor(undefined)).toBe(128);
    expect(cacheSlicesFor(0)).toBe(128);
  });
});
