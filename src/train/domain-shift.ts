/**
 * A simulated change of scanner, the few-shot benchmark's target domain: what a T1 from
 * another site, coil and protocol does to the intensities a model trained on MSD has seen.
 * Four effects, applied in acquisition order:
 *
 * 1. Contrast curve (tissue contrast of another sequence): intensities are scaled to [0, 1]
 *    between the 1st and 99.5th percentiles, passed through `x^gamma` and then a monotone
 *    piecewise-linear curve (`knots`, in that unit range), and scaled back. Values outside the
 *    range are clamped to it, as a scanner's dynamic range would.
 * 2. Bias field (receive-coil inhomogeneity): multiplied by exp(b), b a random quadratic in the
 *    voxel coordinates normalised to [−1, 1] over the crop, scaled so max |b| = `biasLog`.
 * 3. Anisotropic resolution (thick slices): along `slabAxis`, slabs of `slabVoxels` voxels
 *    are averaged (the partial-volume of a thick slice) and linearly interpolated back onto the
 *    original grid between the slab centres (what a resampling to isotropic voxels does).
 * 4. Rician noise (magnitude images): |x + n₁ + i·n₂|, n ~ N(0, σ) with σ = `noise` × the
 *    99.5th percentile of the shifted image.
 *
 * The scanner (its curve, slab axis and thickness, bias and noise strength) is the same for
 * every scan of a domain; each scan draws its own bias field and noise from `seed` (different
 * sessions on the same scanner). Pure: the input is not modified; the output has the input's
 * grid.
 */
import { uniformStream } from '../engine';
import type { Volume } from '../core/volume';

export interface ScannerShift {
  /** Exponent of the contrast curve on intensities scaled to [0, 1] (1 = unchanged). */
  readonly gamma: number;
  /** Monotone piecewise-linear curve after the gamma, knots (x, y) in [0, 1]², x increasing, from (0, ·) to (1, ·). */
  readonly knots: readonly (readonly [number, number])[];
  /** Largest |log| of the multiplicative bias field (0 = none). */
  readonly biasLog: number;
  /** Voxel axis (0, 1, 2 = i, j, k) acquired with thick slices. */
  readonly slabAxis: 0 | 1 | 2;
  /** Thickness of a slice in voxels (1 = no change). */
  readonly slabVoxels: number;
  /** Rician noise σ as a fraction of the image's 99.5th percentile. */
  readonly noise: number;
}

/**
 * The benchmark's target scanner. Chosen to be unlike MSD's MPRAGE without destroying the
 * anatomy: a flatter grey/white contrast (gamma 2.2, then the upper range compressed), a
 * ±65 % bias field (max |log| 0.5), 4-voxel slabs along j (across the hippocampus' long axis
 * in the MSD crops) and 8 % Rician noise. A milder setting (gamma 1.5, bias 0.3, 3-voxel
 * slabs, 4 % noise) cost the shipped SwinUNETR only 2.3 Dice points on 8 val cases (0.888 →
 * 0.865), too little to tell adaptation methods apart; this one cost 4.8 on 6 (0.882 → 0.834).
 */
export const TARGET_SCANNER: ScannerShift = {
  gamma: 2.2,
  knots: [
    [0, 0],
    [0.4, 0.55],
    [1, 0.75],
  ],
  biasLog: 0.5,
  slabAxis: 1,
  slabVoxels: 4,
  noise: 0.08,
};

/** No change: every effect off. */
export const NO_SHIFT: ScannerShift = { gamma: 1, knots: [[0, 0], [1, 1]], biasLog: 0, slabAxis: 0, slabVoxels: 1, noise: 0 };

/** Robust range of the contrast curve (percentiles), so a few hot voxels do not set the scale. */
const RANGE_LO = 0.01;
const RANGE_HI = 0.995;

export class DomainShiftError extends Error {
  override readonly name = 'DomainShiftError';
}

function checkShift(s: ScannerShift): void {
  if (!(s.gamma > 0)) throw new DomainShiftError(`gamma must be > 0, got ${s.gamma}`);
  const k = s.knots;
  if (k.length < 2 || k[0][0] !== 0 || k[k.length - 1][0] !== 1) throw new DomainShiftError('the contrast knots must run from x = 0 to x = 1');
  for (let i = 1; i < k.length; i++) {
    if (!(k[i][0] > k[i - 1][0]) || k[i][1] < k[i - 1][1]) throw new DomainShiftError('the contrast knots must increase in x and not decrease in y (a monotone curve keeps the tissue order)');
  }
  if (!(s.biasLog >= 0) || !(s.noise >= 0)) throw new DomainShiftError('bias and noise strengths must be ≥ 0');
  if (!Number.isInteger(s.slabVoxels) || s.slabVoxels < 1) throw new DomainShiftError(`slabVoxels must be a positive integer, got ${s.slabVoxels}`);
}

/** Value at quantile q (nearest rank) of the data. */
function quantileOf(data: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(data).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** The piecewise-linear curve through `knots` at x ∈ [0, 1]. */
export function piecewise(knots: ScannerShift['knots'], x: number): number {
  for (let i = 1; i < knots.length; i++) {
    const [x1, y1] = knots[i];
    if (x <= x1) {
      const [x0, y0] = knots[i - 1];
      return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    }
  }
  return knots[knots.length - 1][1];
}

function gaussian(rand: () => number): number {
  // Box–Muller; 1 − u keeps the log finite.
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Number of coefficients of a full quadratic in 3 variables: 1, x, y, z, x², y², z², xy, xz, yz. */
const QUADRATIC_TERMS = 10;

function quadraticTerms(x: number, y: number, z: number, out: Float64Array): void {
  out.set([1, x, y, z, x * x, y * y, z * z, x * y, x * z, y * z]);
}

/** Applies `shift` to `image`; `seed` draws this scan's bias field and noise. */
export function simulateScanner(image: Volume, shift: ScannerShift, seed: number): Volume<Float32Array> {
  checkShift(shift);
  const [ni, nj, nk] = image.dims;
  const n = ni * nj * nk;
  for (let p = 0; p < n; p++) if (!Number.isFinite(image.data[p])) throw new DomainShiftError(`the image holds a non-finite value at voxel ${p}`);
  const rand = uniformStream(seed);
  const out = new Float32Array(n);

  // 1. Contrast curve.
  const lo = quantileOf(image.data, RANGE_LO);
  const hi = quantileOf(image.data, RANGE_HI);
  const span = hi > lo ? hi - lo : 1;
  for (let p = 0; p < n; p++) {
    const u = Math.min(1, Math.max(0, (image.data[p] - lo) / span));
    out[p] = lo + span * piecewise(shift.knots, u ** shift.gamma);
  }

  // 2. Bias field exp(b), b quadratic with random coefficients scaled to max |b| = biasLog.
  if (shift.biasLog > 0) {
    const coef = Array.from({ length: QUADRATIC_TERMS }, () => gaussian(rand));
    coef[0] = 0; // a global gain is not inhomogeneity (and z-scoring removes it anyway)
    const b = new Float64Array(n);
    const t = new Float64Array(QUADRATIC_TERMS);
    const norm = (i: number, len: number) => (len > 1 ? (2 * i) / (len - 1) - 1 : 0);
    let maxAbs = 0;
    for (let k = 0; k < nk; k++) {
      for (let j = 0; j < nj; j++) {
        for (let i = 0; i < ni; i++) {
          quadraticTerms(norm(i, ni), norm(j, nj), norm(k, nk), t);
          let v = 0;
          for (let c = 0; c < QUADRATIC_TERMS; c++) v += coef[c] * t[c];
          const p = i + ni * (j + nj * k);
          b[p] = v;
          maxAbs = Math.max(maxAbs, Math.abs(v));
        }
      }
    }
    const s = maxAbs > 0 ? shift.biasLog / maxAbs : 0;
    for (let p = 0; p < n; p++) out[p] *= Math.exp(s * b[p]);
  }

  // 3. Thick slices along one axis: slab means, then linear interpolation between slab centres.
  if (shift.slabVoxels > 1) thickSlices(out, image.dims, shift.slabAxis, shift.slabVoxels);

  // 4. Rician noise.
  if (shift.noise > 0) {
    const sigma = shift.noise * Math.abs(quantileOf(out, RANGE_HI));
    for (let p = 0; p < n; p++) {
      const re = out[p] + sigma * gaussian(rand);
      const im = sigma * gaussian(rand);
      out[p] = Math.hypot(re, im);
    }
  }
  return { dims: image.dims, spacing: image.spacing, affine: image.affine, data: out };
}

/** In place: averages slabs of `w` voxels along `axis` and interpolates back between their centres. */
function thickSlices(data: Float32Array, dims: Volume['dims'], axis: 0 | 1 | 2, w: number): void {
  const len = dims[axis];
  const slabs = Math.ceil(len / w);
  const stride = [1, dims[0], dims[0] * dims[1]][axis];
  const others = (dims[0] * dims[1] * dims[2]) / len;
  const line = new Float64Array(len);
  const means = new Float64Array(slabs);
  const centres = new Float64Array(slabs);
  for (let s = 0; s < slabs; s++) centres[s] = (s * w + Math.min(len, (s + 1) * w) - 1) / 2;
  // Enumerate the lines along `axis` by their first voxel.
  for (let o = 0; o < others; o++) {
    const base = lineStart(o, dims, axis);
    for (let x = 0; x < len; x++) line[x] = data[base + x * stride];
    for (let s = 0; s < slabs; s++) {
      let sum = 0;
      const end = Math.min(len, (s + 1) * w);
      for (let x = s * w; x < end; x++) sum += line[x];
      means[s] = sum / (end - s * w);
    }
    let s = 0;
    for (let x = 0; x < len; x++) {
      while (s + 1 < slabs && centres[s + 1] <= x) s++;
      const v = s + 1 < slabs && x > centres[s] ? means[s] + ((means[s + 1] - means[s]) * (x - centres[s])) / (centres[s + 1] - centres[s]) : means[s];
      data[base + x * stride] = v;
    }
  }
}

/** Flat index of the first voxel of the o-th line along `axis` (the other two axes in i-fastest order). */
function lineStart(o: number, dims: Volume['dims'], axis: 0 | 1 | 2): number {
  const [a, b] = ([0, 1, 2] as const).filter((x) => x !== axis);
  const ia = o % dims[a];
  const ib = Math.floor(o / dims[a]);
  const strides = [1, dims[0], dims[0] * dims[1]];
  return ia * strides[a] + ib * strides[b];
}

/** A per-scan seed from the domain's seed and the case name (FNV-1a), so a case always gets the same draw. */
export function caseSeed(domainSeed: number, caseId: string): number {
  let h = 0x811c9dc5 ^ (domainSeed >>> 0);
  for (let i = 0; i < caseId.length; i++) h = Math.imul(h ^ caseId.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
