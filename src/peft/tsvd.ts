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
import { checkRank, truncatedSvd } from './linalg/svd';
import { tensor3, tproduct, ttranspose, type Tensor3 } from './tproduct';

export interface TsvdOptions {
  /** Lanczos residual tolerance relative to σ₁ (see linalg/lanczos.ts). Default 1e-10. */
  tol?: number;
  /** Called after each Fourier slice's SVD: (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Name for error messages, e.g. "W_sa". */
  what?: string;
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
  /** Worst Lanczos residual ‖Aᴴu − σv‖/σ₁ over the slices (0 when every slice used Jacobi). */
  readonly maxResidual: number;
  /** Whether every slice's SVD converged to the tolerance. */
  readonly converged: boolean;
}

/**
 * The principal factors of the tensor whose slices are `slices` (n3 arrays of n1·n2 values,
 * row-major (out, in) like a torch Linear weight).
 */
export function principalTSVD(slices: readonly ArrayLike<number>[], n1: number, n2: number, r: number, opts: TsvdOptions = {}): PrincipalFactors {
  const what = opts.what ?? 'tensor';
  const n3 = slices.length;
  checkRank(r, n1, n2, `${what} (${n3} slices of ${n1}×${n2})`);
  const spectrum = rfftStack(slices, n1 * n2);
  const K = halfLength(n3);
  const uHalf: SpectrumSlice[] = [];
  const vHalf: SpectrumSlice[] = [];
  const sHalf: SpectrumSlice[] = [];
  const sigma: Float64Array[] = [];
  let maxResidual = 0;
  let converged = true;
  for (let k = 0; k < K; k++) {
    const d = spectrum[k];
    const svd = truncatedSvd({ rows: n1, cols: n2, re: d.re, im: isRealFrequency(k, n3) ? null : d.im }, r, { tol: opts.tol, what, seed: k + 1 });
    // Free the slice as soon as it is decomposed (the spectrum is as large as T).
    spectrum[k] = { re: new Float64Array(0), im: null };
    uHalf.push({ re: svd.u.re, im: svd.u.im });
    vHalf.push({ re: svd.v.re, im: svd.v.im });
    const diag = new Float64Array(r * r);
    for (let i = 0; i < r; i++) diag[i * r + i] = svd.s[i];
    sHalf.push({ re: diag, im: null });
    sigma.push(svd.s);
    maxResidual = Math.max(maxResidual, svd.residual);
    converged &&= svd.converged;
    opts.onProgress?.(k + 1, K);
  }
  const stack = (half: SpectrumSlice[], rows: number, cols: number) => {
    const parts = irfftStack(half, n3);
    const t = tensor3(n3, rows, cols);
    parts.forEach((p, j) => t.data.set(p, j * rows * cols));
    return t;
  };
  return { r, ur: stack(uHalf, n1, r), sr: stack(sHalf, r, r), vr: stack(vHalf, n2, r), sigma, maxResidual, converged };
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
