/**
 * An intensity model inside a 3-D box: the structure's intensities as one Gaussian, the rest of
 * the box's as two (darker and brighter than the structure), fitted to the current mask
 * (score > 0), and their log-likelihood ratio added to the box's scores; a few rounds, each
 * refitted to the mask the last one gave. This is the image term of atlas-based segmentation
 * (a prior times an intensity likelihood), which SAM's photograph-trained encoder does not supply
 * for MRI contrast. Every Gaussian is fitted on the scan itself, so any intensity scale or
 * contrast works. The rest is two Gaussians because a grey-matter structure sits between darker
 * CSF and brighter white matter: one Gaussian for both lies over the structure's own intensities.
 * Its limit: a mask a little too large (a shell of the neighbours inside it) widens the
 * structure's Gaussian, which then keeps the neighbours' nearer tails.
 */
import type { Dims3, VoxelArray } from '../core/volume';

/**
 * Weight of the log-likelihood ratio against the scores, and rounds of refitting: chosen on the
 * synthetic validation heads with the shape prior at its weight 3 (mean Dice of the twelve
 * structures, the rest as two Gaussians: weight 3 / 4 / 6 → 0.699 / 0.706 / 0.703 with 3
 * rounds; 1 / 5 rounds at weight 4: 0.693 / 0.709; the rest as one Gaussian: 0.685).
 * bench/RESULTS.md, "A shape prior and an intensity model in the 3-D box" and "The rest of the
 * box as two Gaussians".
 */
export const INTENSITY_WEIGHT = 4;
export const INTENSITY_ROUNDS = 3;

/** The log-likelihood ratio is kept within ± this: one odd voxel must not outvote everything else. */
const MAX_LOG_RATIO = 10;

/** Fewer voxels than this on either side of the mask leave no Gaussian to fit: the scores stay as they are. */
const MIN_CLASS_VOXELS = 10;

/** The volume's intensities inside the box, on the box's own grid (x fastest). */
export function boxIntensities(data: VoxelArray | ArrayLike<number>, dims: Dims3, box: { readonly lo: readonly number[]; readonly hi: readonly number[] }): Float32Array {
  const [sx, sy, sz] = [0, 1, 2].map((a) => box.hi[a] - box.lo[a] + 1);
  const out = new Float32Array(sx * sy * sz);
  for (let k = 0; k < sz; k++)
    for (let j = 0; j < sy; j++)
      for (let i = 0; i < sx; i++) out[i + sx * (j + sy * k)] = Number(data[box.lo[0] + i + dims[0] * (box.lo[1] + j + dims[1] * (box.lo[2] + k))]);
  return out;
}

/** Mean and standard deviation (population) of the intensities where `inside(q)`. */
function gaussian(intensities: Float32Array, inside: (q: number) => boolean): { mean: number; sd: number; n: number } {
  let n = 0, sum = 0, sq = 0;
  for (let q = 0; q < intensities.length; q++) {
    if (!inside(q)) continue;
    n++;
    sum += intensities[q];
    sq += intensities[q] * intensities[q];
  }
  const mean = n ? sum / n : 0;
  return { mean, sd: Math.sqrt(Math.max(sq / Math.max(n, 1) - mean * mean, 0)), n };
}

/** One Gaussian of a mixture: its share of the voxels it describes, mean and spread. */
interface Component { weight: number; mean: number; sd: number }

/** log N(x; c) + log c.weight, without the constant. */
function logDensity(x: number, c: Component): number {
  const z = (x - c.mean) / c.sd;
  return -0.5 * z * z - Math.log(c.sd) + Math.log(c.weight);
}

/**
 * `base` plus `weight` × the intensities' log-likelihood ratio (structure against the rest of the
 * box), the Gaussians refitted `rounds` times to where the scores are above 0.
 */
export function withIntensityModel(base: Float32Array, intensities: Float32Array, weight = INTENSITY_WEIGHT, rounds = INTENSITY_ROUNDS): Float32Array {
  if (base.length !== intensities.length) throw new Error(`scores (${base.length}) and intensities (${intensities.length}) differ in size`);
  let score = base;
  for (let r = 0; r < rounds; r++) {
    const current = score;
    const inside = (q: number) => current[q] > 0;
    const fg = gaussian(intensities, inside);
    const rest = fitRest(intensities, (q) => !inside(q), fg.mean);
    if (fg.n < MIN_CLASS_VOXELS || rest.length === 0) break;
    // A constant region has no spread: a floor relative to the box's range keeps the ratio finite.
    const floor = 1e-3 * (Math.abs(fg.mean) + rest.reduce((s, c) => s + Math.abs(c.mean), 0) + 1);
    const structure: Component = { weight: 1, mean: fg.mean, sd: Math.max(fg.sd, floor) };
    const others = rest.map((c) => ({ ...c, sd: Math.max(c.sd, floor) }));
    const next = new Float32Array(base.length);
    for (let q = 0; q < base.length; q++) {
      const x = intensities[q];
      const ratio = logDensity(x, structure) - mixtureLogDensity(x, others);
      next[q] = base[q] + weight * Math.min(Math.max(ratio, -MAX_LOG_RATIO), MAX_LOG_RATIO);
    }
    score = next;
  }
  return score;
}

/**
 * The rest of the box as two Gaussians, its voxels darker than the structure's mean and those
 * as bright or brighter, each weighted by its share; a side with fewer than MIN_CLASS_VOXELS
 * voxels is left out. Empty when both are.
 */
function fitRest(intensities: Float32Array, outside: (q: number) => boolean, structureMean: number): Component[] {
  const sides = [
    gaussian(intensities, (q) => outside(q) && intensities[q] < structureMean),
    gaussian(intensities, (q) => outside(q) && intensities[q] >= structureMean),
  ].filter((g) => g.n >= MIN_CLASS_VOXELS);
  const total = sides.reduce((s, g) => s + g.n, 0);
  return sides.map((g) => ({ weight: g.n / total, mean: g.mean, sd: g.sd }));
}

/** log Σ weight · N(x; c) over the components, without the constant (log-sum-exp). */
function mixtureLogDensity(x: number, components: readonly Component[]): number {
  let max = -Infinity;
  for (const c of components) max = Math.max(max, logDensity(x, c));
  let sum = 0;
  for (const c of components) sum += Math.exp(logDensity(x, c) - max);
  return max + Math.log(sum);
}
