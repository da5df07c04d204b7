import { describe, expect, it } from 'vitest';
import { multiply } from '../affine';
import { mat4, type Dims3, type Mat4 } from '../volume';
import { blockAverage } from './levels';

/** The voxel-by-voxel block average blockAverage replaced (a sum and a count per block), kept as the reference. */
function referenceBlockAverage(dims: Dims3, data: ArrayLike<number>, factors: readonly [number, number, number]): Float32Array {
  const [nx, ny, nz] = dims;
  const [fx, fy, fz] = factors;
  const mx = Math.ceil(nx / fx), my = Math.ceil(ny / fy), mz = Math.ceil(nz / fz);
  const sum = new Float64Array(mx * my * mz);
  const count = new Float64Array(mx * my * mz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = data[i + nx * (j + ny * k)];
        const d = ((i / fx) | 0) + mx * (((j / fy) | 0) + my * ((k / fz) | 0));
        if (Number.isFinite(v)) sum[d] += v;
        count[d] += 1;
      }
    }
  }
  const out = new Float32Array(mx * my * mz);
  for (let d = 0; d < out.length; d++) out[d] = sum[d] / count[d];
  return out;
}

/** Deterministic pseudo-random values spanning many magnitudes, with NaN and ±Infinity sprinkled in. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let p = 0; p < n; p++) {
    const r = next();
    out[p] = r < 0.01 ? NaN : r < 0.015 ? Infinity : r < 0.02 ? -Infinity : r < 0.03 ? -0 : (next() - 0.3) * 10 ** (6 * next() - 3);
  }
  return out;
}

describe('blockAverage', () => {
  const affine = mat4([0, 0, -1, 90, 1.2, 0, 0, -126, 0, 1, 0, -72, 0, 0, 0, 1]) as Mat4;
  const cases: { dims: Dims3; factors: [number, number, number] }[] = [
    { dims: [17, 13, 11], factors: [2, 2, 2] }, // partial blocks on every axis
    { dims: [16, 12, 9], factors: [4, 3, 2] },
    { dims: [9, 10, 7], factors: [1, 3, 4] },
    { dims: [5, 4, 3], factors: [8, 8, 8] }, // one block, smaller than a factor
    { dims: [6, 6, 6], factors: [1, 1, 1] },
  ];
  it.each(cases)('$dims by $factors: bit-identical to the voxel-by-voxel average, NaN and infinities counted as 0', ({ dims, factors }) => {
    const n = dims[0] * dims[1] * dims[2];
    for (const data of [values(n, n + factors[0]), Uint8Array.from(values(n, 7), (v) => (Number.isFinite(v) ? Math.abs(v) % 256 : 0))]) {
      const level = blockAverage({ dims, affine, data }, factors, 4);
      const expected = referenceBlockAverage(dims, data, factors);
      expect(level.dims).toEqual([0, 1, 2].map((a) => Math.ceil(dims[a] / factors[a])));
      // Bit for bit (a signed zero included).
      expect(new Uint8Array(level.data.buffer)).toEqual(new Uint8Array(expected.buffer));
      expect(Array.from(level.data).every(Number.isFinite)).toBe(true);
      const [fx, fy, fz] = factors;
      expect(Array.from(level.affine)).toEqual(Array.from(multiply(affine, mat4([fx, 0, 0, (fx - 1) / 2, 0, fy, 0, (fy - 1) / 2, 0, 0, fz, (fz - 1) / 2, 0, 0, 0, 1]))));
    }
  });
});
