/**
 * Storage for the wasm backend inside its WebAssembly memory (the kernels address it directly,
 * and worker threads share it). Blocks come in size classes 2ᵏ and 1.5·2ᵏ bytes (at most 1/3
 * wasted); a released block goes to its class's free list and is reused by the next request of
 * that class, as the WebGPU backend's buffer pool does. Memory grows in steps and never shrinks
 * (WebAssembly cannot give pages back), so `peakBytes` is what the process holds.
 */
import { OutOfMemoryError } from '../errors';

const PAGE = 65536;
/** Blocks start on 64-byte boundaries (a cache line; v128 loads need 16). */
const MIN_BLOCK = 64;
/** Grow by at least 16 MiB at a time: each grow may copy or remap the memory. */
const MIN_GROW_PAGES = 256;

export function sizeClass(bytes: number): number {
  if (bytes <= MIN_BLOCK) return MIN_BLOCK;
  const p = 2 ** Math.ceil(Math.log2(bytes));
  return bytes <= 0.75 * p ? 0.75 * p : p;
}

export class WasmHeap {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private live = 0;
  private pooled = 0;
  private peak = 0;
  private readonly base: number;

  /** Manages the memory from byte `base` up; `maxPages` is the memory's maximum. */
  constructor(readonly memory: WebAssembly.Memory, base: number, private readonly maxPages: number) {
    this.base = Math.ceil(base / MIN_BLOCK) * MIN_BLOCK;
    this.top = this.base;
  }

  /** A block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    const cls = sizeClass(bytes);
    const list = this.free.get(cls);
    let ptr: number;
    if (list?.length) {
      ptr = list.pop()!;
      this.pooled -= cls;
    } else {
      ptr = this.top;
      this.ensure(ptr + cls);
      this.top += cls;
    }
    this.live += cls;
    this.peak = Math.max(this.peak, this.live + this.pooled);
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    const cls = sizeClass(bytes);
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(ptr);
    this.live -= cls;
    this.pooled += cls;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const need = Math.ceil((end - have) / PAGE);
    const pages = have / PAGE;
    const grow = Math.min(this.maxPages - pages, Math.max(need, MIN_GROW_PAGES, pages >> 3));
    if (grow < need) {
      throw new OutOfMemoryError(`wasm engine: ${((end - this.base) / 2 ** 20).toFixed(0)} MiB of tensors would exceed the ${(this.maxPages * PAGE) / 2 ** 30} GiB a WebAssembly memory can hold`);
    }
    try {
      this.memory.grow(grow);
    } catch (e) {
      throw new OutOfMemoryError(`wasm engine: the browser or Node refused to grow memory to ${(((pages + grow) * PAGE) / 2 ** 20).toFixed(0)} MiB (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  get liveBytes(): number {
    return this.live;
  }
  get pooledBytes(): number {
    return this.pooled;
  }
  get peakBytes(): number {
    return this.peak;
  }
  resetPeak(): void {
    this.peak = this.live + this.pooled;
  }
}
