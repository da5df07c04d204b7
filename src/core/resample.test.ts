import { describe, expect, it } from 'vitest';
import { applyToPoint, fromLinear, invert, multiply } from './affine';
import { argmax } from './argmax';
import { rasAffine, reorientToRAS } from './orientation';
import { gridWithSpacing, resampleArgmax, resampleLinear, resampleNearest, sampleAt, type ChannelVolume } from './resample';
import { voxelCount, type Dims3, type Mat4, type Volume } from './volume';

/** A volume sampling f(world) at its voxel centres. */
function sampled(dims: Dims3, affine: Mat4, f: (x: number, y: number, z: number) => number): Volume<Float32Array> {
  const data = new Float32Array(voxelCount(dims));
  let n = 0;
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++)
      for (let i = 0; i < dims[0]; i++) data[n++] = f(...applyToPoint(affine, [i, j, k]));
  return { dims, affine, spacing: [1, 1, 1], data };
}

const linear = (x: number, y: number, z: number) => 0.5 * x - 1.25 * y + 2 * z + 7;

describe('resampleLinear', () => {
  it('reproduces a linear function exactly on an oblique, anisotropic target grid', () => {
    // Source: 1 mm RAS grid over [0, 19]³ mm. Target: rotated 0.7 mm grid well inside it.
    const source = sampled([20, 20, 20], rasAffine([1, 1, 1], [0, 0, 0]), linear);
    const c = Math.cos(0.5);
    const s = Math.sin(0.5);
    const target = fromLinear([0.7 * c, -0.7 * s, 0, 0.7 * s, 0.7 * c, 0, 0, 0, 0.9], [8, 3, 2]);
    const out = resampleLinear(source, [10, 10, 12], target);
    const expected = sampled([10, 10, 12], target, linear);
    // Trilinear interpolation is exact for linear f; float32 storage of values ≤ 60 → ≤ 1e-5.
    for (let n = 0; n < out.data.length; n++) expect(Math.abs(out.data[n] - expected.data[n])).toBeLessThan(1e-4);
    expect(out.spacing.map((v) => +v.toFixed(12))).toEqual([0.7, 0.7, 0.9]);
  });

  it('averages neighbours at half-voxel offsets and fills outside the field of view', () => {
    const src: Volume = { dims: [2, 1, 1] as unknown as Dims3, affine: rasAffine([1, 1, 1], [0, 0, 0]), spacing: [1, 1, 1], data: Float32Array.of(2, 4) };
    // Source voxel centres at x = 0, 1 mm; its field of view is [−0.5, 1.5].
    // Target centres at x = −1, −0.25, 0.5, 1.25, 2: outside, edge half-voxel (edge value,
    // no extrapolation), midpoint, edge half-voxel, outside.
    const out = resampleLinear(src, [5, 1, 1], fromLinear([0.75, 0, 0, 0, 1, 0, 0, 0, 1], [-1, 0, 0]), -9);
    expect(Array.from(out.data)).toEqual([-9, 2, 3, 4, -9]);
  });

  it('matches a per-voxel trilinear reference on integer and float sources, thin axes and partial fields of view', () => {
    // The reference: each target voxel to source voxel coordinates by the full affine, the
    // coordinate clamped onto the voxel centres, then the weighted sum of the eight corners.
    const reference = (src: Volume, dims: Dims3, affine: Mat4, fill: number) => {
      const m = multiply(invert(src.affine), affine);
      const [nx, ny, nz] = src.dims;
      const at = (i: number, j: number, k: number) => src.data[i + nx * (j + ny * k)];
      const out: number[] = [];
      for (let k = 0; k < dims[2]; k++)
        for (let j = 0; j < dims[1]; j++)
          for (let i = 0; i < dims[0]; i++) {
            const v = applyToPoint(m, [i, j, k]);
            if (v.some((c, a) => c < -0.5 - 1e-6 || c > src.dims[a] - 0.5 + 1e-6)) {
              out.push(fill);
              continue;
            }
            const lo = v.map((c, a) => (src.dims[a] === 1 ? 0 : Math.min(Math.floor(Math.min(Math.max(c, 0), src.dims[a] - 1)), src.dims[a] - 2)));
            const f = v.map((c, a) => (src.dims[a] === 1 ? 0 : Math.min(Math.max(c, 0), src.dims[a] - 1) - lo[a]));
            let sum = 0;
            for (const [di, dj, dk] of [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]]) {
              const w = (di ? f[0] : 1 - f[0]) * (dj ? f[1] : 1 - f[1]) * (dk ? f[2] : 1 - f[2]);
              if (w !== 0) sum += w * at(Math.min(lo[0] + di, nx - 1), Math.min(lo[1] + dj, ny - 1), Math.min(lo[2] + dk, nz - 1));
            }
            out.push(sum);
          }
      return out;
    };
    let seed = 7;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const arrays = [Float32Array, Uint8Array, Int16Array] as const;
    for (let c = 0; c < 12; c++) {
      // Every fourth source is one voxel thick along an axis (a single slice).
      const dims: Dims3 = [1 + Math.floor(rand() * 9), c % 4 === 0 ? 1 : 2 + Math.floor(rand() * 8), 2 + Math.floor(rand() * 8)];
      const data = new arrays[c % 3](voxelCount(dims)).map(() => Math.floor(rand() * 200));
      const src: Volume = { dims, affine: fromLinear([1 + rand(), 0.3 * rand(), 0, -0.2 * rand(), 1.2, 0.1, 0.1, 0, 0.8 + rand()], [rand(), -rand(), 2 * rand()]), spacing: [1, 1, 1], data };
      // A target grid that reaches past the source's field of view on some sides.
      const affine = fromLinear([0.6, 0.1, 0, 0, 0.7, -0.1, 0.05, 0, 0.5 + rand()], [-2 + 2 * rand(), -1.5, -1 + rand()]);
      const targetDims: Dims3 = [3 + Math.floor(rand() * 14), 3 + Math.floor(rand() * 14), 3 + Math.floor(rand() * 14)];
      const out = resampleLinear(src, targetDims, affine, -1);
      const expected = reference(src, targetDims, affine, -1);
      // Values ≤ 200 through float32: the incremental and the direct affine differ in the last bits only.
      for (let n = 0; n < expected.length; n++) expect(Math.abs(out.data[n] - expected[n])).toBeLessThan(1e-3);
      expect(expected.filter((x) => x === -1).length).toBeGreaterThan(0);
      expect(expected.filter((x) => x !== -1).length).toBeGreaterThan(0);
    }
  });
});

describe('resampleNearest', () => {
  it('copies labels exactly onto a permuted grid (same voxels, RAS order)', () => {
    const dims: Dims3 = [4, 5, 6];
    const labels: Volume<Uint8Array> = {
      dims,
      affine: fromLinear([-1, 0, 0, 0, 0, 1, 0, -1, 0], [3, -2, 5]),
      spacing: [1, 1, 1],
      data: Uint8Array.from({ length: 120 }, (_, n) => (n * 7) % 5),
    };
    const { volume: ras } = reorientToRAS(labels);
    const out = resampleNearest(labels, ras.dims, ras.affine);
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(out.data).toEqual(ras.data);
  });
});

describe('resampleArgmax', () => {
  it('equals resampling every channel and taking the argmax', () => {
    const grid = rasAffine([2, 2, 2], [0, 0, 0]);
    const dims: Dims3 = [6, 5, 4];
    const channels = [
      sampled(dims, grid, (x, y) => x - y),
      sampled(dims, grid, (x, _y, z) => Math.sin(x + z)),
      sampled(dims, grid, (_x, y, z) => 0.3 * y - 0.2 * z),
    ];
    const scores: ChannelVolume = { dims, affine: grid, channels: 3, data: new Float32Array(3 * 120) };
    channels.forEach((c, n) => scores.data.set(c.data, n * 120));
    const target = { dims: [13, 9, 8] as Dims3, affine: rasAffine([0.8, 1, 0.9], [0.1, 0.2, 0.3]) };
    const perChannel = channels.map((c) => resampleLinear(c, target.dims, target.affine));
    const stacked: ChannelVolume = { ...target, channels: 3, data: new Float32Array(3 * voxelCount(target.dims)) };
    perChannel.forEach((c, n) => stacked.data.set(c.data, n * c.data.length));
    expect(resampleArgmax(scores, target)).toEqual(argmax(stacked));
  });
});

describe('gridWithSpacing', () => {
  it('keeps the field of view edges and directions', () => {
    const affine = fromLinear([0, 0, -0.5, -0.5, 0, 0, 0, 0.8, 0], [10, 20, 30]);
    const grid = gridWithSpacing({ dims: [300, 200, 150], affine }, [1, 1, 1]);
    expect(grid.dims).toEqual([150, 160, 75]);
    // Voxel corner −½ maps to the same world point in both grids.
    const corner = applyToPoint(affine, [-0.5, -0.5, -0.5]);
    applyToPoint(grid.affine, [-0.5, -0.5, -0.5]).forEach((v, n) => expect(v).toBeCloseTo(corner[n], 10));
    // Same directions, new voxel size: old⁻¹ · new is diagonal with ratios 2, 1.25, 2.
    const rel = multiply(invert(affine), grid.affine);
    expect([rel[0], rel[5], rel[10]].map((v) => +v.toFixed(12))).toEqual([2, 1.25, 2]);
  });
});

describe('sampleAt', () => {
  const vol: Volume = { dims: [3, 2, 2], spacing: [1, 1, 1], affine: fromLinear([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]), data: Float32Array.from({ length: 12 }, (_, n) => n) };
  it('is the voxel at its centre, trilinear between, the nearest when asked, and the fill outside', () => {
    expect(sampleAt(vol, 1, 1, 0, 'linear')).toBe(4);
    expect(sampleAt(vol, 0.5, 0, 0, 'linear')).toBeCloseTo(0.5, 6);
    expect(sampleAt(vol, 0.5, 0.5, 0.5, 'linear')).toBeCloseTo((0 + 1 + 3 + 4 + 6 + 7 + 9 + 10) / 8, 5);
    expect(sampleAt(vol, 1.4, 0.6, 0.2, 'nearest')).toBe(4);
    expect(sampleAt(vol, 5, 0, 0, 'linear', -1)).toBe(-1);
    expect(sampleAt(vol, -1, 0, 0, 'nearest', -1)).toBe(-1);
  });
});
