/**
 * LoRA-PT's principal t-SVD factors (peft-methods.md §2.8, fixtures §C), real domain,
 * conjugate-paired:
 *   1. D = DFT of T along the stacked axis; SVD only of D_k for k = 0..⌊n3/2⌋ (real SVD on the
 *      real slices k = 0 and n3/2), top r triplets, phase convention of fixtures §C item 4;
 *   2. U_{n3−k} = conj(U_k), V_{n3−k} = conj(V_k), s_{n3−k} = s_k (implicit in the real inverse);
 *   3. Ur = real(IDFT(U)), Sr = real(IDFT(diag s)), Vr = real(IDFT(V));
 *   4. P = (Ur * Sr) * Vrᵀ is the tubal rank-r truncation of T, and W_res = T − P.
 * Because the residual is defined as T − P, W_res + P reproduces T whatever the accuracy of the
 * iterative SVD: step 0 of training is the pretrained model.
 */
import { halfLength, irfftStack, isRealFrequency, rfftStack, type SpectrumSlice } from './linalg/dft';
import type { SliceResult } from './linalg/slice-svd';
import { checkRank } from './linalg/svd';
import { defaultSvdPool, type SvdPool } from './linalg/svd-pool';
import { tensor3, tproduct, ttranspose, type Tensor3 } from './tproduct';

/**
 * Default Lanczos tolerance: the unit roundoff of float32 (2⁻²⁴ ≈ 6e-8). A triplet with
 * ‖Aᴴu − σv‖ ≤ tol·σ₁ (and Av = σu to rounding) is exact for a matrix within tol·σ₁ of the Fourier
 * slice — no further off than rounding u and v to float32 puts it, which every consumer does
 * (the engine's WebGPU tensors, adapter files, computeLoraptFactors). The residual W − P is then
 * formed exactly, so step 0 reproduces the model whatever the tolerance.
 */
export const FLOAT32_TOLERANCE = 2 ** -24;

export interface TsvdOptions {
  /** Lanczos residual tolerance relative to σ₁ (see linalg/lanczos.ts). Default FLOAT32_TOLERANCE. */
  tol?: number;
  /** Called after each Fourier slice's SVD: (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Name for error messages, e.g. "W_sa". */
  what?: string;
  /**
   * Where the Fourier slices are decomposed (the caller keeps ownership). Default: a pool made
   * for this call by `defaultSvdPool()` (Web Workers in a browser, this thread elsewhere; Node
   * callers pass `nodeSvdPool()`).
   */
  pool?: SvdPool;
}

export interface PrincipalFactors {
  readonly r: number;
  /** (n3, n1, r) */
  readonly ur: Tensor3;
  /** (n3, r, r), f-diagonal at initialisation (trainable as a full r×r per slice). */
  readonly sr: Tensor3;
  /** (n3, n2, r) */
  readonly vr: Tensor3;
  /** Top-r singular values of each half-spectrum slice D_k, k = 0..⌊n3/2⌋. */
  readonly sigma: readonly Float64Array[];
  /** Worst measured Lanczos residual ‖Aᴴu − σv‖/σ₁ over the slices (0 when every slice used Jacobi). */
  readonly maxResidual: number;
  /** Whether every slice's SVD converged to the tolerance. */
  readonly converged: boolean;
}

/**
 * The principal factors of the tensor whose slices are `slices` (n3 arrays of n1·n2 values,
 * row-major (out, in) like a torch Linear weight). The half-spectrum slices are independent
 * jobs for `opts.pool`; whichever thread runs one, it runs the same code with the same seed.
 */
export async function principalTSVD(slices: readonly (Float32Array | Float64Array)[], n1: number, n2: number, r: number, opts: TsvdOptions = {}): Promise<PrincipalFactors> {
  const what = opts.what ?? 'tensor';
  const n3 = slices.length;
  checkRank(r, n1, n2, `${what} (${n3} slices of ${n1}×${n2})`);
  const K = halfLength(n3);
  const pool = opts.pool ?? defaultSvdPool();
  let results: SliceResult[];
  try {
    // The spectrum (as large as T) is handed over slice by slice: a worker pool takes each
    // slice's buffers, and nothing here holds on to them.
    let done = 0;
    results = await Promise.all(
      rfftStack(slices, n1 * n2).map(async (d, k) => {
        const job = { rows: n1, cols: n2, re: d.re, im: isRealFrequency(k, n3) ? null : d.im, r, tol: opts.tol ?? FLOAT32_TOLERANCE, seed: k + 1, what };
        const res = await pool.run(job);
        opts.onProgress?.(++done, K);
        return res;
      }),
    );
  } finally {
    if (!opts.pool) pool.dispose();
  }
  const diag = (s: Float64Array) => {
    const out = new Float64Array(r * r);
    for (let i = 0; i < r; i++) out[i * r + i] = s[i];
    return out;
  };
  const stack = (half: SpectrumSlice[], rows: number, cols: number) => {
    const parts = irfftStack(half, n3);
    const t = tensor3(n3, rows, cols);
    parts.forEach((p, j) => t.data.set(p, j * rows * cols));
    return t;
  };
  return {
    r,
    ur: stack(results.map((x) => ({ re: x.uRe, im: x.uIm })), n1, r),
    sr: stack(results.map((x) => ({ re: diag(x.s), im: null })), r, r),
    vr: stack(results.map((x) => ({ re: x.vRe, im: x.vIm })), n2, r),
    sigma: results.map((x) => x.s),
    maxResidual: Math.max(0, ...results.map((x) => x.residual)),
    converged: results.every((x) => x.converged),
  };
}

/** P = (Ur * Sr) * Vrᵀ, evaluated left to right as the fixtures do. */
export function principalPart(ur: Tensor3, sr: Tensor3, vr: Tensor3): Tensor3 {
  return tproduct(tproduct(ur, sr), ttranspose(vr));
}

/** W_res = T − P for T given by its slices. */
export function residual(slices: readonly ArrayLike<number>[], p: Tensor3): Tensor3 {
  const len = p.rows * p.cols;
  const out = tensor3(p.n3, p.rows, p.cols);
  slices.forEach((s, j) => {
    for (let e = 0; e < len; e++) out.data[j * len + e] = s[e] - p.data[j * len + e];
  });
  return out;
}
