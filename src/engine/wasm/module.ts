/**
 * Picks and compiles the engine's WebAssembly kernels (kernels.wat, four assembled variants in
 * kernels-binary.ts): relaxed SIMD (f32x4.relaxed_madd, an FMA) where this runtime validates it,
 * plain SIMD otherwise; a shared memory when the kernels run on several threads.
 */
import { RELAXED_PLAIN, RELAXED_SHARED, SIMD_PLAIN, SIMD_SHARED } from './kernels-binary';

/** The kernels' exports; pointers are byte offsets, sizes float32 elements (see kernels.wat). */
export interface KernelExports {
  scratchBytes(): number;
  gemm(table: number, nb: number, ars: number, acs: number, brs: number, bcs: number, ldc: number, M: number, N: number, K: number, acc: number, byRows: number, bpre: number, scratch: number, tid: number, nth: number): void;
  /** C += A·B with C float64 (rounded once by the caller): the convolutions' filter gradients. */
  gemmAcc64(a: number, ars: number, acs: number, b: number, brs: number, bcs: number, c: number, ldc: number, M: number, N: number, K: number, byRows: number, bpre: number, scratch: number, tid: number, nth: number): void;
  im2col(runs: number, nruns: number, Ci: number, taps: number, inVol: number, sw: number, x: number, tile: number, ts: number, js: number, mode: number, tid: number, nth: number): void;
  col2im(runs: number, nruns: number, Ci: number, taps: number, inVol: number, sw: number, x: number, tile: number, ts: number, js: number, mode: number, tid: number, nth: number): void;
  /** A stride-1 convolution straight from a padded input (no im2col tile); see kernels.wat. */
  convDirect(wp: number, xp: number, y: number, offs: number, K: number, kc: number, Co: number, Hp: number, Wp: number, Ho: number, Wo: number, rows: number, scratch: number, tid: number, nth: number): void;
  /** xp [C, P0, P1, P2] = x [C, S0, S1, S2] placed at (o0, o1, o2), zero elsewhere. */
  /** Elementwise, normalisation and Adam kernels (kernels.wat); prm: a float64 parameter block. */
  unary(op: number, y: number, x: number, E: number, prm: number, tid: number, nth: number): void;
  binary(op: number, y: number, a: number, b: number, table: number, nrows: number, n: number, da: number, db: number, prm: number, tid: number, nth: number): void;
  normalize(x: number, y: number, R: number, rows: number, len: number, prm: number, tid: number, nth: number): void;
  normalizeBackward(xhat: number, R: number, g: number, dx: number, rows: number, len: number, tid: number, nth: number): void;
  adam(p: number, g: number, m: number, v: number, vm: number, E: number, prm: number, tid: number, nth: number): void;
  /** Softmax along contiguous rows (the last axis), and its backward. */
  softmax(x: number, y: number, rows: number, len: number, tid: number, nth: number): void;
  softmaxBackward(y: number, g: number, dx: number, rows: number, len: number, tid: number, nth: number): void;
  /** Strided copies: gather y[r·n + i] = x[t_r + i·dx] (scatter: the other way), t_r at table + 4r. */
  strided(y: number, x: number, table: number, nrows: number, n: number, dx: number, scatter: number, tid: number, nth: number): void;
  /** y[o] = Σ_{j<n} x[t_o + j] in float64, rounded once; t_o at table + 4o. */
  rowSum(y: number, x: number, table: number, nout: number, n: number, tid: number, nth: number): void;
  /** Depthwise convolution over one channel's tap runs (ordered by output row): forward, data and filter gradients; see kernels.wat. */
  depthwise(runs: number, nruns: number, planes: number, C: number, kk: number, inVol: number, P: number, sw: number, x: number, w: number, y: number, tid: number, nth: number): void;
  depthwiseData(runs: number, nruns: number, planes: number, C: number, kk: number, inVol: number, P: number, sw: number, g: number, w: number, dx: number, tid: number, nth: number): void;
  /** acc: C·kk float64 sums (scratch), rounded once into dw. */
  depthwiseFilter(runs: number, nruns: number, N: number, C: number, kk: number, inVol: number, P: number, sw: number, g: number, x: number, acc: number, dw: number, tid: number, nth: number): void;
  pad3d(x: number, C: number, S0: number, S1: number, S2: number, xp: number, P0: number, P1: number, P2: number, o0: number, o1: number, o2: number, tid: number, nth: number): void;
}

/** Kernels that can run on several threads, in the order the thread pool numbers them. */
export const PARALLEL_KERNELS = ['gemm', 'gemmAcc64', 'im2col', 'col2im', 'convDirect', 'pad3d', 'unary', 'binary', 'normalize', 'normalizeBackward', 'adam', 'softmax', 'softmaxBackward', 'strided', 'rowSum', 'depthwise', 'depthwiseData', 'depthwiseFilter'] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

export interface CompiledKernels {
  readonly module: WebAssembly.Module;
  /** f32x4.relaxed_madd (fused where the CPU has FMA) rather than f32x4.mul + f32x4.add. */
  readonly relaxed: boolean;
  readonly shared: boolean;
}

const cache = new Map<string, CompiledKernels>();

/** Whether this runtime accepts relaxed SIMD (Chrome ≥ 114, Firefox ≥ 120, Node ≥ 22 or with --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(decode(RELAXED_PLAIN));
}

/** The kernels for a shared (threads) or plain memory; `relaxed: false` forces the plain-SIMD path. */
export function compileKernels(shared: boolean, opts: { relaxed?: boolean } = {}): CompiledKernels {
  const relaxed = (opts.relaxed ?? true) && hasRelaxedSimd();
  const key = `${relaxed}-${shared}`;
  let k = cache.get(key);
  if (!k) {
    const src = relaxed ? (shared ? RELAXED_SHARED : RELAXED_PLAIN) : shared ? SIMD_SHARED : SIMD_PLAIN;
    try {
      k = { module: new WebAssembly.Module(decode(src)), relaxed, shared };
    } catch (e) {
      throw new Error(`This JavaScript engine cannot compile WebAssembly SIMD${shared ? ' with shared memory' : ''}, which the wasm engine needs (${e instanceof Error ? e.message : String(e)})`);
    }
    cache.set(key, k);
  }
  return k;
}
