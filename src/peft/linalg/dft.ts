/**
 * The discrete Fourier transform along the stacked axis of a third-order tensor (n3 slices of
 * equal size), numpy's convention: D_k = Σ_j T_j·e^{−2πi·jk/n3}, inverse with the 1/n3 factor.
 * Real input has a conjugate-symmetric spectrum (D_{n3−k} = conj(D_k)), so only the half
 * spectrum k = 0..⌊n3/2⌋ is computed or consumed. n3 is small (12 or 48), so a direct DFT with
 * the even/odd pairing of j and n3−j is as fast as an FFT here and much simpler.
 */

/** One complex slice of the spectrum; `im` is null where it is exactly real (k = 0, k = n3/2). */
export interface SpectrumSlice {
  readonly re: Float64Array;
  readonly im: Float64Array | null;
}

/** Elements processed together, so the pair sums stay in cache. */
const CHUNK = 4096;

/** Number of half-spectrum slices for n3 real slices. */
export const halfLength = (n3: number) => Math.floor(n3 / 2) + 1;

/** The k-th slice is real when k = 0 or k = n3/2. */
export const isRealFrequency = (k: number, n3: number) => k === 0 || 2 * k === n3;

/** D_k for k = 0..⌊n3/2⌋ of real slices T_j (each `len` values). */
export function rfftStack(slices: readonly ArrayLike<number>[], len: number): SpectrumSlice[] {
  const n3 = slices.length;
  for (const s of slices) if (s.length !== len) throw new RangeError(`rfftStack: a slice has ${s.length} values, expected ${len}`);
  const K = halfLength(n3);
  const out: SpectrumSlice[] = Array.from({ length: K }, (_, k) => ({
    re: new Float64Array(len),
    im: isRealFrequency(k, n3) ? null : new Float64Array(len),
  }));
  const h = Math.ceil(n3 / 2) - 1; // pairs (j, n3 − j) with 0 < j < n3 − j
  const even = new Float64Array(h * CHUNK);
  const odd = new Float64Array(h * CHUNK);
  const cos = (j: number, k: number) => Math.cos((2 * Math.PI * ((j * k) % n3)) / n3);
  const sin = (j: number, k: number) => Math.sin((2 * Math.PI * ((j * k) % n3)) / n3);
  for (let e0 = 0; e0 < len; e0 += CHUNK) {
    const c = Math.min(CHUNK, len - e0);
    for (let j = 1; j <= h; j++) {
      const a = slices[j];
      const b = slices[n3 - j];
      const o = (j - 1) * CHUNK;
      for (let e = 0; e < c; e++) {
        even[o + e] = a[e0 + e] + b[e0 + e];
        odd[o + e] = a[e0 + e] - b[e0 + e];
      }
    }
    for (let k = 0; k < K; k++) {
      const re = out[k].re;
      const im = out[k].im;
      const t0 = slices[0];
      for (let e = 0; e < c; e++) re[e0 + e] = t0[e0 + e];
      if (n3 % 2 === 0) {
        const mid = slices[n3 / 2];
        const sign = k % 2 === 0 ? 1 : -1;
        for (let e = 0; e < c; e++) re[e0 + e] += sign * mid[e0 + e];
      }
      for (let j = 1; j <= h; j++) {
        const o = (j - 1) * CHUNK;
        const cj = cos(j, k);
        for (let e = 0; e < c; e++) re[e0 + e] += cj * even[o + e];
        if (im) {
          const sj = -sin(j, k);
          for (let e = 0; e < c; e++) im[e0 + e] += sj * odd[o + e];
        }
      }
    }
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
