import { describe, expect, it } from 'vitest';
import { argmax } from './argmax';
import { connectedComponents, keepLargestComponentPerLabel, type Connectivity } from './components';
import { rasAffine } from './orientation';
import type { Dims3 } from './volume';

/** An integer-hash binary pattern (scipy got the same one for the reference counts). */
function pattern(dims: Dims3, mod: number): Uint8Array {
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++)
      for (let i = 0; i < dims[0]; i++) out[i + dims[0] * (j + dims[1] * k)] = (i * 73 + j * 151 + k * 37 + i * j * k) % mod < 1 ? 1 : 0;
  return out;
}

describe('connectedComponents agrees with scipy.ndimage.label', () => {
  // scipy 1.10 ndimage.label with generate_binary_structure(3, 1 | 2 | 3):
  // component count and the six largest sizes.
  const reference: [number, Connectivity, number, number[]][] = [
    [11, 6, 50, [54, 1, 1, 1, 1, 1]],
    [11, 18, 28, [65, 3, 2, 2, 2, 2]],
    [11, 26, 23, [66, 6, 4, 3, 2, 2]],
    [13, 6, 68, [1, 1, 1, 1, 1, 1]],
    [13, 18, 41, [10, 4, 4, 4, 3, 2]],
    [13, 26, 31, [15, 7, 5, 5, 3, 3]],
  ];
  for (const [mod, conn, count, largest] of reference) {
    it(`pattern mod ${mod}, ${conn}-connectivity`, () => {
      const c = connectedComponents(pattern([12, 10, 8], mod), [12, 10, 8], conn);
      expect(c.size.length).toBe(count);
      expect([...c.size].sort((a, b) => b - a).slice(0, 6)).toEqual(largest);
    });
  }
});

describe('keepLargestComponentPerLabel', () => {
  it('keeps the largest piece of each label separately; diagonal contact joins at 26', () => {
    const dims: Dims3 = [6, 3, 3];
    const at = (i: number, j: number, k: number) => i + 6 * (j + 3 * k);
    const labels = new Uint8Array(54);
    // Label 1: a 3-voxel bar and a lone voxel; label 2: two voxels touching only at a corner, plus one far away.
    [at(0, 0, 0), at(1, 0, 0), at(2, 0, 0)].forEach((p) => (labels[p] = 1));
    labels[at(5, 2, 2)] = 1;
    labels[at(4, 1, 0)] = 2;
    labels[at(5, 2, 1)] = 2;
    labels[at(0, 2, 2)] = 2;
    const kept26 = keepLargestComponentPerLabel(labels, dims, 26);
    expect([...kept26.keys()].filter((p) => kept26[p] === 1)).toEqual([at(0, 0, 0), at(1, 0, 0), at(2, 0, 0)]);
    expect([...kept26.keys()].filter((p) => kept26[p] === 2)).toEqual([at(4, 1, 0), at(5, 2, 1)]);
    // With 6-connectivity the corner-touching pair falls apart into three single voxels; the first is kept.
    const kept6 = keepLargestComponentPerLabel(labels, dims, 6);
    expect([...kept6.keys()].filter((p) => kept6[p] === 2)).toEqual([at(4, 1, 0)]);
  });

  it('never joins voxels of different labels', () => {
    const labels = Uint8Array.of(1, 2, 1, 1);
    expect(connectedComponents(labels, [4, 1, 1]).value).toEqual([1, 2, 1]);
    expect(Array.from(keepLargestComponentPerLabel(labels, [4, 1, 1]))).toEqual([0, 2, 1, 1]);
  });
});

describe('argmax', () => {
  it('picks the highest channel per voxel, ties to the lower class', () => {
    const scores = Float32Array.of(/* c0 */ 1, 5, 2, 0, /* c1 */ 3, 5, 1, 0, /* c2 */ 2, 4, 9, 0);
    expect(Array.from(argmax({ dims: [4, 1, 1], affine: rasAffine([1, 1, 1], [0, 0, 0]), channels: 3, data: scores }))).toEqual([1, 0, 2, 0]);
  });
});
