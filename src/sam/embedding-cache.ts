/**
 * Image embeddings by slice, least recently used out first. One embedding is 256 × 64 × 64
 * float32 = 4 MiB, and encoding one costs seconds on a CPU, so a slice is encoded once and
 * every prompt on it (boxes of several structures, each click) reuses it. Concurrent requests
 * for one slice share one encode.
 */
/** One slice's embedding: 256 × 64 × 64 float32. */
export const EMBEDDING_BYTES = 256 * 64 * 64 * 4;
/** 192 MiB: a hippocampus-long run of coronal slices (the CLI's default, and the studio's floor). */
export const DEFAULT_CACHE_SLICES = 48;
/**
 * The studio's ceiling, 1 GiB: two three-view boxes over a large structure. A three-view 3-D box
 * prompts every slice it spans on all three planes, about 100 slices for a hippocampus, so a
 * cache smaller than that encodes every slice again when the box is redone or adjusted.
 */
export const MAX_CACHE_SLICES = 256;
/** The share of the device's memory the studio gives to embeddings. */
export const CACHE_MEMORY_SHARE = 1 / 8;
/** Assumed where the browser does not say (`navigator.deviceMemory` is Chromium's only): 4 GiB, 128 slices. */
export const UNKNOWN_DEVICE_MEMORY_GIB = 4;

/**
 * How many slices the studio's cache holds: `CACHE_MEMORY_SHARE` of the device's memory
 * (`navigator.deviceMemory`, in GiB; Chromium reports at most 8), between the CLI's 48 slices
 * and `MAX_CACHE_SLICES`.
 */
export function cacheSlicesFor(deviceMemoryGiB: number | undefined): number {
  const gib = deviceMemoryGiB !== undefined && deviceMemoryGiB > 0 ? deviceMemoryGiB : UNKNOWN_DEVICE_MEMORY_GIB;
  const slices = Math.floor((gib * 2 ** 30 * CACHE_MEMORY_SHARE) / EMBEDDING_BYTES);
  return Math.min(MAX_CACHE_SLICES, Math.max(DEFAULT_CACHE_SLICES, slices));
}

export class EmbeddingCache {
  private readonly entries = new Map<string, Promise<Float32Array>>();

  constructor(readonly capacity = DEFAULT_CACHE_SLICES) {
    if (!(capacity >= 1)) throw new Error(`the embedding cache needs room for at least one slice (got ${capacity})`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The cached embedding for `key`, or `compute()`'s (cached unless it fails). */
  get(key: string, compute: () => Promise<Float32Array>): Promise<Float32Array> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // re-insert: Map order is the recency order
      this.entries.set(key, hit);
      return hit;
    }
    const pending = compute();
    this.entries.set(key, pending);
    pending.catch(() => this.entries.get(key) === pending && this.entries.delete(key));
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return pending;
  }

  clear(): void {
    this.entries.clear();
  }
}
