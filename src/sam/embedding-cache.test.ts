import { describe, expect, it } from 'vitest';
import { EmbeddingCache } from './embedding-cache';

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
});
