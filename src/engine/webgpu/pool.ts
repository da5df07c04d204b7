/**
 * Size-bucketed GPU buffer pool. Buffers come back only after the command buffer that last used
 * them was submitted (the backend holds them until its next flush), so queue.writeBuffer into a
 * reused buffer can never overtake earlier work that still reads it.
 */

const MIN_BYTES = 256;
const POW2_UP_TO = 1 << 20;

/** Bucket size for a request: powers of two up to 1 MiB, then multiples of 1/16 of the next power of two (slack ≤ 1/8 of the request). */
export function bucketBytes(bytes: number): number {
  const b = Math.max(bytes, MIN_BYTES);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= POW2_UP_TO) return p;
  const step = p / 16;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooled = 0;

  constructor(private readonly device: GPUDevice, private readonly usage: number) {}

  get pooledBytes(): number {
    return this.pooled;
  }

  /** A buffer of exactly `bucket` bytes, reused if one is free. Contents are undefined. */
  acquire(bucket: number, label: string): { buffer: GPUBuffer; fresh: boolean } {
    const list = this.free.get(bucket);
    const b = list?.pop();
    if (b) {
      this.pooled -= bucket;
      return { buffer: b, fresh: false };
    }
    return { buffer: this.device.createBuffer({ size: bucket, usage: this.usage, label }), fresh: true };
  }

  give(buffer: GPUBuffer, bucket: number): void {
    let list = this.free.get(bucket);
    if (!list) this.free.set(bucket, (list = []));
    list.push(buffer);
    this.pooled += bucket;
  }

  /** Destroys every pooled buffer (returns memory to the device). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
  }
}
