/**
 * The discrete Fourier transform along the stacked axis of a third-order tensor (n3 slices of
 * equal size), numpy's convention: D_k = Σ_j T_j·e^{−2πi·jk/n3}, inverse with the 1/n3 factor.
 * Real input has a conjugate-symmetric spectrum (D_{n3−k} = conj(D_k)), so only the half
 * spectrum k = 0..⌊n3/2⌋ is computed or consumed. n3 is small (12 or 48), so a direct DFT with
 * the even/odd pairing of j and n3−j (≈ n3²/2 multiply–adds per element) is simpler than an FFT,
 * and the SIMD kernel runs it in blocks of elements (kernels.wat `dftBlock`).
 */
import { KernelWorkspace } from './wasm';

/** One complex slice of the spectrum; `im` is null where it is exactly real (k = 0, k = n3/2). */
export interface SpectrumSlice {
  readonly re: Float64Array;
  readonly im: Float64Array | null;
}

/** Elements per block of the SIMD kernel (even); a block's working set stays in L2. */
const BLOCK = 512;

/** Number of half-spectrum slices for n3 real slices. */
export const halfLength = (n3: number) => Math.floor(n3 / 2) + 1;

/** The k-th slice is real when k = 0 or k = n3/2. */
export const isRealFrequency = (k: number, n3: number) => k === 0 || 2 * k === n3;

/** D_k for k = 0..⌊n3/2⌋ of real slices T_j (each `len` values), by the `dftBlock` kernel. */
export function rfftStack(slices: readonly (Float32Array | Float64Array)[], len: number): SpectrumSlice[] {
  const n3 = slices.length;
  for (const s of slices) if (s.length !== len) throw new RangeError(`rfftStack: a slice has ${s.length} values, expected ${len}`);
  const K = halfLength(n3);
  const h = Math.ceil(n3 / 2) - 1; // pairs (j, n3 − j) with 0 < j < n3 − j
  const out: SpectrumSlice[] = Array.from({ length: K }, (_, k) => ({
    re: new Float64Array(len),
    im: isRealFrequency(k, n3) ? null : new Float64Array(len),
  }));
  const ws = new KernelWorkspace(n3 * BLOCK + 2 * K * h + 2 * h * BLOCK + 2 * K * BLOCK, 4);
  const x = ws.alloc(n3 * BLOCK);
  const tw = ws.alloc(2 * K * h);
  const eo = ws.alloc(2 * h * BLOCK);
  const y = ws.alloc(2 * K * BLOCK);
  for (let k = 0; k < K; k++) {
    for (let j = 1; j <= h; j++) {
      const th = (2 * Math.PI * ((j * k) % n3)) / n3;
      tw.view[2 * (k * h + j - 1)] = Math.cos(th);
      tw.view[2 * (k * h + j - 1) + 1] = -Math.sin(th);
    }
  }
  for (let e0 = 0; e0 < len; e0 += BLOCK) {
    const c = Math.min(BLOCK, len - e0);
    // A short last block leaves stale values in its tail columns; their outputs are not read.
    slices.forEach((s, j) => x.view.set(s.subarray(e0, e0 + c), j * BLOCK));
    ws.kernels.dftBlock(x.ptr, tw.ptr, eo.ptr, y.ptr, n3, K, h, BLOCK);
    out.forEach((d, k) => {
      d.re.set(y.view.subarray(2 * k * BLOCK, 2 * k * BLOCK + c), e0);
      d.im?.set(y.view.subarray((2 * k + 1) * BLOCK, (2 * k + 1) * BLOCK + c), e0);
    });
  }
  return out;
}

/**
 * The real inverse: X_j = (1/n3)·Σ_{k=0}^{n3−1} D_k·e^{+2πi·jk/n3} for a conjugate-symmetric
 * spectrum given by its half (k = 0..⌊n3/2⌋). Returns n3 real slices of `len` values.
 */
export function irfftStack(half: readonly SpectrumSlice[], n3: number): Float64Array[] {
  const K = halfLength(n3);
  if (half.length !== K) throw new RangeError(`irfftStack: ${half.length} spectrum slices for n3 = ${n3} (expected ${K})`);
  const len = half[0].re.length;
  const out = Array.from({ length: n3 }, () => new Float64Array(len));
  for (let j = 0; j < n3; j++) {
    const x = out[j];
    for (let k = 0; k < K; k++) {
      // Slices k and n3 − k contribute 2·Re(D_k e^{iθ}); k = 0 and k = n3/2 appear once.
      const w = (isRealFrequency(k, n3) ? 1 : 2) / n3;
      const th = (2 * Math.PI * ((j * k) % n3)) / n3;
      const c = w * Math.cos(th);
      const s = w * Math.sin(th);
      const { re, im } = half[k];
      for (let e = 0; e < len; e++) x[e] += c * re[e];
      if (im) for (let e = 0; e < len; e++) x[e] -= s * im[e];
    }
  }
  return out;
}
