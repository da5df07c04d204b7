/**
 * Image embeddings by slice, least recently used out first. One embedding is 256 × 64 × 64
 * float32 = 4 MiB, and encoding one costs seconds on a CPU, so a slice is encoded once and
 * every prompt on it (boxes of several structures, each click) reuses it. Concurrent requests
 * for one slice share one encode.
 */
export const DEFAULT_CACHE_SLICES = 48; // 192 MiB: a hippocampus-long run of coronal slices

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
