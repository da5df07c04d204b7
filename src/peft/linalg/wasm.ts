/**
 * The t-SVD's SIMD kernels (kernels.wat, assembled into kernels-binary.ts) and a fixed-size
 * workspace of WebAssembly memory to run them in. The module is compiled once per thread;
 * each workspace instantiates it over its own memory, which the garbage collector frees with
 * the workspace. WebAssembly SIMD is in every browser that has WebGPU and in Node ≥ 16.
 */
import { KERNELS_WASM_BASE64 } from './kernels-binary';

/** The kernels' exports; pointers are byte offsets into the workspace (see kernels.wat). */
export interface Kernels {
  mulComplex(are: number, aim: number, xr: number, xi: number, yr: number, yi: number, m: number, n: number): void;
  gramComplex(are: number, aim: number, xr: number, xi: number, yr: number, yi: number, m: number, n: number): void;
  mulReal(a: number, x: number, y: number, m: number, n: number): void;
  gramReal(a: number, x: number, y: number, m: number, n: number): void;
  dftBlock(x: number, tw: number, eo: number, out: number, n3: number, K: number, h: number, ch: number): void;
}

const PAGE_BYTES = 65536;
const F64_BYTES = 8;
/** Every array starts on a 16-byte boundary (one v128). */
const ALIGN = 16;

let compiled: WebAssembly.Module | null = null;

function kernelModule(): WebAssembly.Module {
  if (!compiled) {
    const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
    try {
      compiled = new WebAssembly.Module(bytes);
    } catch (e) {
      throw new Error(`This JavaScript engine cannot compile WebAssembly SIMD, which the LoRA-PT t-SVD needs (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return compiled;
}

export class KernelWorkspace {
  readonly kernels: Kernels;
  private readonly memory: WebAssembly.Memory;
  private top = 0;

  /** A workspace for arrays of `doubles` float64 values in all (plus alignment). */
  constructor(doubles: number, arrays: number) {
    const bytes = doubles * F64_BYTES + arrays * ALIGN;
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
    this.kernels = new WebAssembly.Instance(kernelModule(), { env: { memory: this.memory } }).exports as unknown as Kernels;
  }

  /** Reserves `count` zeroed doubles: their byte offset and a view. */
  alloc(count: number): { ptr: number; view: Float64Array } {
    const ptr = Math.ceil(this.top / ALIGN) * ALIGN;
    if (ptr + count * F64_BYTES > this.memory.buffer.byteLength) throw new RangeError(`KernelWorkspace: ${count} doubles do not fit`);
    this.top = ptr + count * F64_BYTES;
    return { ptr, view: new Float64Array(this.memory.buffer, ptr, count) };
  }
}
