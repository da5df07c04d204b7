/**
 * Perturbations of a scan (and, for the geometric ones, of its labels the same way) that
 * real full-head T1s show: header orientation, oblique and anisotropic grids, a cut field of
 * view, defacing, skull-stripping, bias fields, noise and intensity scaling. Pure functions:
 * the perturbation suite (src/infer/perturbation.test.ts) and `npm run bench -- perturb`
 * build their cases from the labelled subjects with them.
 *
 * Geometric perturbations keep world space: a voxel's content stays where it was in RAS mm
 * (only the grid changes), so the true hippocampus centroid of the original labels is still
 * the truth, and labels follow with `interp: 'nearest'`. The exception is `turnHead`, a head
 * turned in the scanner: the anatomy moves, and its truth with it.
 */
import { applyToPoint, invert, multiply, spacingFromAffine, type Vec3 } from '../affine';
import { percentiles } from '../normalise';
import { applyReorientation, rasReorientation, reorientToRAS, type Reorientation } from '../orientation';
import { gridCentre, gridWithSpacing, resampleLinear, resampleNearest, sampleAt } from '../resample';
import { uniformStream } from '../random';
import { mat4, type Dims3, type Mat4, type Volume, type VoxelArray } from '../volume';

export type Interp = 'linear' | 'nearest';

const RAS = 'RAS';
const OPPOSITE: Record<string, string> = { R: 'L', L: 'R', A: 'P', P: 'A', S: 'I', I: 'S' };

/**
 * The same voxels written in another axis order (e.g. `LIA` as FreeSurfer conforms, `LPS`
 * as DICOM, `ASL` for a sagittal acquisition): an exact permutation and flip, world unchanged.
 */
export function reorient<T extends VoxelArray>(vol: Volume<T>, codes: string): Volume<T> {
  const letters = codes.toUpperCase().split('');
  if (letters.length !== 3 || new Set(letters.map((c) => (RAS.includes(c) ? c : OPPOSITE[c]))).size !== 3 || letters.some((c) => !OPPOSITE[c])) {
    throw new Error(`not an orientation code: ${codes}`);
  }
  const ras = reorientToRAS(vol).volume;
  const outputAxis = [0, 0, 0];
  const flip = [false, false, false];
  for (let a = 0; a < 3; a++) {
    const at = letters.findIndex((c) => c === RAS[a] || c === OPPOSITE[RAS[a]]);
    outputAxis[a] = at;
    flip[a] = letters[at] !== RAS[a];
  }
  const outputDims = [0, 0, 0];
  const t = new Float64Array(16);
  t[15] = 1;
  for (let a = 0; a < 3; a++) {
    outputDims[outputAxis[a]] = ras.dims[a];
    t[4 * a + outputAxis[a]] = flip[a] ? -1 : 1;
    t[4 * a + 3] = flip[a] ? ras.dims[a] - 1 : 0;
  }
  const r: Reorientation = {
    ...rasReorientation(ras.dims, ras.affine),
    outputAxis: outputAxis as [number, number, number],
    flip: flip as [boolean, boolean, boolean],
    outputDims: outputDims as unknown as Dims3,
    outputToInputVoxel: mat4(t),
  };
  return applyReorientation(ras, r);
}

function resampleTo<T extends VoxelArray>(vol: Volume<T>, dims: Dims3, affine: Mat4, interp: Interp): Volume {
  return interp === 'nearest' ? resampleNearest(vol, dims, affine) : resampleLinear(vol, dims, affine);
}

/** Rotation about world axis `axis` (0 x, 1 y, 2 z) by `degrees`, about `centre` (world mm). */
export function rotationAbout(axis: 0 | 1 | 2, degrees: number, centre: Vec3): Mat4 {
  const c = Math.cos((degrees * Math.PI) / 180);
  const s = Math.sin((degrees * Math.PI) / 180);
  const [p, q] = [(axis + 1) % 3, (axis + 2) % 3];
  const r = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  r[3 * p + p] = c;
  r[3 * p + q] = -s;
  r[3 * q + p] = s;
  r[3 * q + q] = c;
  const rc = [0, 1, 2].map((row) => centre[row] - (r[3 * row] * centre[0] + r[3 * row + 1] * centre[1] + r[3 * row + 2] * centre[2]));
  return mat4([r[0], r[1], r[2], rc[0], r[3], r[4], r[5], rc[1], r[6], r[7], r[8], rc[2], 0, 0, 0, 1]);
}

/**
 * The head turned in the scanner by `turn` (a world rotation, e.g. `rotationAbout`): the same
 * voxels, the affine turned with them. Unlike the others this moves the anatomy in world
 * space, so a truth centroid moves by `turn` too.
 */
export function turnHead<T extends VoxelArray>(vol: Volume<T>, turn: Mat4): Volume<T> {
  return { ...vol, affine: multiply(turn, vol.affine) };
}

/**
 * An oblique acquisition: the voxel grid turned by `degrees` about world axis `axis` through
 * the grid centre, the anatomy resampled onto it (corners that leave the field of view are 0).
 */
export function oblique(vol: Volume, axis: 0 | 1 | 2, degrees: number, interp: Interp = 'linear'): Volume {
  return resampleTo(vol, vol.dims, multiply(rotationAbout(axis, degrees, gridCentre(vol)), vol.affine), interp);
}

/** The same field of view on voxels of `spacingMm` (e.g. 1 × 1 × 1.2 mm, or 1.5 mm slices). */
export function resampleSpacing(vol: Volume, spacingMm: readonly [number, number, number], interp: Interp = 'linear'): Volume {
  const grid = gridWithSpacing(vol, spacingMm);
  return resampleTo(vol, grid.dims, grid.affine, interp);
}

/**
 * Thick slices along world axis `worldAxis` (0 sagittal, 1 coronal, 2 axial slices): each run of
 * `factor` voxels along the voxel axis closest to it averaged into one (as a thick 2-D slice
 * integrates its slab), the grid's voxels `factor` times longer there, world unchanged. Labels
 * take the slab's middle voxel (`interp: 'nearest'`). The remainder at the far end is dropped.
 */
export function thickSlices(vol: Volume, worldAxis: 0 | 1 | 2, factor: number, interp: Interp = 'linear'): Volume<Float32Array> {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`slice factor must be a whole number ≥ 1 (got ${factor})`);
  const a = voxelAxisAlong(vol.affine, worldAxis);
  const dims = [...vol.dims] as [number, number, number];
  const n = Math.floor(dims[a] / factor);
  if (n < 1) throw new Error(`the grid has ${dims[a]} voxels along the slice axis, fewer than ${factor}`);
  const out = [...dims] as [number, number, number];
  out[a] = n;
  const stride = [1, dims[0], dims[0] * dims[1]];
  const data = new Float32Array(out[0] * out[1] * out[2]);
  let q = 0;
  for (let k = 0; k < out[2]; k++)
    for (let j = 0; j < out[1]; j++)
      for (let i = 0; i < out[0]; i++, q++) {
        const at = [i, j, k];
        const first = at[a] * factor;
        const base = i * stride[0] + j * stride[1] + k * stride[2] - at[a] * stride[a];
        if (interp === 'nearest') {
          data[q] = vol.data[base + (first + Math.floor(factor / 2)) * stride[a]];
          continue;
        }
        let sum = 0;
        for (let t = 0; t < factor; t++) sum += vol.data[base + (first + t) * stride[a]];
        data[q] = sum / factor;
      }
  // Voxel n of the new grid covers old voxels n·f … n·f + f − 1: its centre is old voxel n·f + (f − 1)/2.
  const m = Float64Array.from(vol.affine);
  for (let row = 0; row < 3; row++) {
    m[4 * row + 3] += m[4 * row + a] * ((factor - 1) / 2);
    m[4 * row + a] *= factor;
  }
  const spacing = [...vol.spacing] as [number, number, number];
  spacing[a] *= factor;
  return { dims: out, spacing, affine: m as Mat4, data };
}

/**
 * A structure shrunk (or grown) in place, as atrophy shrinks a hippocampus: around each centre
 * (world mm) the anatomy is drawn in towards it by a smooth radial field, output point p showing
 * what lay at p + strength·(p − c)·exp(−|p − c|² / 2σ²). `strength` > 0 shrinks what lies within
 * about σ of the centre, < 0 grows it; beyond 4σ nothing moves. The grid and world are unchanged;
 * labels warp the same way with `interp: 'nearest'`. Where the structure shrinks, its neighbours
 * are pulled in (not CSF, as real atrophy would leave): a model of size, not of disease.
 */
export function shrinkAround(vol: Volume, centresMm: readonly Vec3[], strength: number, sigmaMm: number, interp: Interp = 'linear'): Volume<Float32Array> {
  const [nx, ny, nz] = vol.dims;
  const toVoxel = invert(vol.affine);
  const reach2 = (4 * sigmaMm) ** 2;
  const data = Float32Array.from(vol.data);
  const a = vol.affine;
  for (let k = 0, n = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, n++) {
        const p: Vec3 = [a[0] * i + a[1] * j + a[2] * k + a[3], a[4] * i + a[5] * j + a[6] * k + a[7], a[8] * i + a[9] * j + a[10] * k + a[11]];
        let dx = 0, dy = 0, dz = 0, moved = false;
        for (const c of centresMm) {
          const rx = p[0] - c[0], ry = p[1] - c[1], rz = p[2] - c[2];
          const r2 = rx * rx + ry * ry + rz * rz;
          if (r2 > reach2) continue;
          const g = strength * Math.exp(-r2 / (2 * sigmaMm * sigmaMm));
          dx += g * rx;
          dy += g * ry;
          dz += g * rz;
          moved = true;
        }
        if (!moved) continue;
        const src = applyToPoint(toVoxel, [p[0] + dx, p[1] + dy, p[2] + dz]);
        data[n] = sampleAt(vol, src[0], src[1], src[2], interp);
      }
  return { dims: vol.dims, spacing: vol.spacing, affine: vol.affine, data };
}

/** The voxel axis that runs most along world axis `worldAxis`. */
function voxelAxisAlong(affine: Mat4, worldAxis: 0 | 1 | 2): 0 | 1 | 2 {
  const sp = spacingFromAffine(affine);
  let best: 0 | 1 | 2 = 0;
  for (const a of [0, 1, 2] as const) if (Math.abs(affine[4 * worldAxis + a]) / sp[a] > Math.abs(affine[4 * worldAxis + best]) / sp[best]) best = a;
  return best;
}

/**
 * Keeps the slab of voxels whose centres (on the grid's central line along the cut axis) have
 * world coordinate `worldAxis` within [minMm, maxMm]: a neck cut (superior slab kept), a
 * 160 mm superior–inferior field of view, a lateral crop. The grid is cut, not resampled.
 */
export function cropWorld<T extends VoxelArray>(vol: Volume<T>, worldAxis: 0 | 1 | 2, minMm: number, maxMm: number): Volume<T> {
  const a = voxelAxisAlong(vol.affine, worldAxis);
  const centre = [(vol.dims[0] - 1) / 2, (vol.dims[1] - 1) / 2, (vol.dims[2] - 1) / 2];
  const keep: number[] = [];
  for (let n = 0; n < vol.dims[a]; n++) {
    const p = [...centre] as [number, number, number];
    p[a] = n;
    const w = applyToPoint(vol.affine, p)[worldAxis];
    if (w >= minMm && w <= maxMm) keep.push(n);
  }
  if (keep.length === 0) throw new Error('the crop keeps no voxels');
  const lo = keep[0];
  const hi = keep[keep.length - 1];
  const dims = [...vol.dims] as [number, number, number];
  dims[a] = hi - lo + 1;
  const data = new (vol.data.constructor as new (n: number) => T)(dims[0] * dims[1] * dims[2]);
  const [nx, ny] = vol.dims;
  let o = 0;
  const first = [0, 0, 0];
  first[a] = lo;
  for (let k = first[2]; k < first[2] + dims[2]; k++) {
    for (let j = first[1]; j < first[1] + dims[1]; j++) {
      for (let i = first[0]; i < first[0] + dims[0]; i++) data[o++] = vol.data[i + nx * (j + ny * k)];
    }
  }
  const shift = mat4([1, 0, 0, first[0], 0, 1, 0, first[1], 0, 0, 1, first[2], 0, 0, 0, 1]);
  return { dims, spacing: vol.spacing, affine: multiply(vol.affine, shift), data };
}

/** `Ctor.from(data, f)` as a plain loop (V8's TypedArray.from with a callback is ~12× slower). */
function mapVoxels<T extends Float32Array | Uint8Array>(data: ArrayLike<number>, Ctor: new (length: number) => T, f: (v: number, n: number) => number): T {
  const out = new Ctor(data.length);
  for (let n = 0; n < out.length; n++) out[n] = f(data[n], n);
  return out;
}

/** Calls `visit` with each voxel's index and world position (RAS mm). */
function forEachWorld(vol: { readonly dims: Dims3; readonly affine: Mat4 }, visit: (n: number, x: number, y: number, z: number) => void): void {
  const m = vol.affine;
  const [nx, ny, nz] = vol.dims;
  for (let k = 0, n = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) visit(n, m[0] * i + m[1] * j + m[2] * k + m[3], m[4] * i + m[5] * j + m[6] * k + m[7], m[8] * i + m[9] * j + m[10] * k + m[11]);
    }
  }
}

/**
 * Defacing as the common tools do it: everything in front of a coronal plane and below an
 * oblique plane through the nose bridge is set to 0. Here: voxels anterior of `anteriorMm`
 * (world y) and inferior of `superiorMm − slope·(y − anteriorMm)` (the cut rises toward the
 * front, like pydeface's mask over the face).
 */
export function deface(vol: Volume, anteriorMm: number, superiorMm: number, slope = 0.5): Volume<Float32Array> {
  const data = Float32Array.from(vol.data as ArrayLike<number>);
  forEachWorld(vol, (n, _x, y, z) => {
    if (y > anteriorMm && z < superiorMm + slope * (y - anteriorMm)) data[n] = 0;
  });
  return { ...vol, data };
}

/** Everything outside a brain mask (same grid, non-zero inside) set to 0, as a skull-stripping tool leaves it. */
export function skullStrip(vol: Volume, brain: Volume): Volume<Float32Array> {
  if (brain.dims.some((d, a) => d !== vol.dims[a])) throw new Error('the brain mask is not on the scan grid');
  return { ...vol, data: mapVoxels(vol.data, Float32Array, (v, n) => (brain.data[n] !== 0 ? v : 0)) };
}

/**
 * A smooth multiplicative bias field, as receive coils leave: exp of a random second-order
 * polynomial in world coordinates (over the grid's extent), scaled so that the field spans
 * [1/`ratio`, `ratio`] at most over the field of view. Seeded, reproducible.
 */
export function biasField(vol: Volume, ratio: number, seed: number): Volume<Float32Array> {
  const rand = uniformStream(seed);
  const coef = Array.from({ length: 9 }, () => 2 * rand() - 1);
  const c = gridCentre(vol);
  const corner = applyToPoint(vol.affine, [0, 0, 0]);
  const half = [0, 1, 2].map((a) => Math.max(1, Math.abs(corner[a] - c[a])));
  const log = new Float64Array(vol.data.length);
  let peak = 0;
  forEachWorld(vol, (n, x, y, z) => {
    const u = (x - c[0]) / half[0];
    const v = (y - c[1]) / half[1];
    const w = (z - c[2]) / half[2];
    const f = coef[0] * u + coef[1] * v + coef[2] * w + coef[3] * u * v + coef[4] * v * w + coef[5] * u * w + coef[6] * u * u + coef[7] * v * v + coef[8] * w * w;
    log[n] = f;
    peak = Math.max(peak, Math.abs(f));
  });
  const scale = peak > 0 ? Math.log(ratio) / peak : 0;
  return { ...vol, data: mapVoxels(vol.data, Float32Array, (v, n) => v * Math.exp(scale * log[n])) };
}

/**
 * Rician noise (the magnitude of complex Gaussian noise, as magnitude MR images have), σ as a
 * fraction of the scan's 99th-percentile intensity. Seeded, reproducible.
 */
export function ricianNoise(vol: Volume, sigmaFraction: number, seed: number): Volume<Float32Array> {
  const [p99] = percentiles(vol.data, [99]);
  const sigma = sigmaFraction * p99;
  const rand = uniformStream(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return { ...vol, data: mapVoxels(vol.data, Float32Array, (v) => Math.hypot(v + sigma * gauss(), sigma * gauss())) };
}

/**
 * The background of an MP2RAGE "UNI" image: where there is little signal (air; in a skull-stripped
 * scan, everything outside the brain) the UNI image is a ratio of two noisy signals, spread over
 * the whole intensity range ("salt and pepper"). Voxels below `airFraction` of the 99th percentile
 * become uniform noise on [0, p99]. Seeded, reproducible.
 */
export function mp2rageBackground(vol: Volume, airFraction: number, seed: number): Volume<Float32Array> {
  const [p99] = percentiles(vol.data, [99]);
  const rand = uniformStream(seed);
  return { ...vol, data: mapVoxels(vol.data, Float32Array, (v) => (v < airFraction * p99 ? p99 * rand() : v)) };
}

/**
 * Intensities as another scanner, converter or pipeline writes them: v → scale·(v/max)^gamma·max
 * + offset, optionally rounded to 8 bits (0–255, as brainchop's conformed uint8 input).
 */
export function rescaleIntensity(vol: Volume, opts: { scale?: number; offset?: number; gamma?: number; uint8?: boolean }): Volume {
  const { scale = 1, offset = 0, gamma = 1 } = opts;
  let max = 0;
  for (let n = 0; n < vol.data.length; n++) if (vol.data[n] > max) max = vol.data[n];
  const f = (v: number) => (max > 0 && v > 0 ? scale * Math.pow(v / max, gamma) * max : scale * v) + offset;
  if (!opts.uint8) return { ...vol, data: mapVoxels(vol.data, Float32Array, f) };
  let top = 0;
  for (let n = 0; n < vol.data.length; n++) top = Math.max(top, f(vol.data[n]));
  return { ...vol, data: mapVoxels(vol.data, Uint8Array, (v) => Math.max(0, Math.min(255, Math.round((255 * f(v)) / (top || 1))))) };
}

/** Voxel → world of a point, and back: a label map's grid mapped onto a scan's (for Dice on the scan grid). */
export function labelsOnGrid(labels: Volume, grid: { readonly dims: Dims3; readonly affine: Mat4 }): Volume {
  const same = labels.dims.every((d, a) => d === grid.dims[a]) && labels.affine.every((v, n) => Math.abs(v - grid.affine[n]) < 1e-6);
  return same ? labels : resampleNearest(labels, grid.dims, grid.affine);
}

