import { describe, expect, it } from 'vitest';
import { mat4, type Dims3, type LabelVolume } from '../core/volume';
import { classifyOutcome, maskQuality, scoreSides, type SideScore } from './cohort-outcome';

// 1 × 1 × 2 mm voxels: a step along k is 2 mm, a voxel 2 mm³.
const dims: Dims3 = [20, 10, 10];
const affine = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
const at = (i: number, j: number, k: number) => i + dims[0] * (j + dims[1] * k);

/** A 2 × 2 × 2-voxel cube of `value` at each (i, j, k, value) corner. */
function labels(cubes: [number, number, number, number][]): LabelVolume {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [i, j, k, value] of cubes) {
    for (let c = 0; c < 8; c++) data[at(i + (c & 1), j + ((c >> 1) & 1), k + ((c >> 2) & 1))] = value;
  }
  return { dims, spacing: [1, 1, 2], affine, data };
}

describe('scoreSides', () => {
  it('gives each side its Dice, centroid distance in world mm and volumes in mm³', () => {
    const truth = labels([[2, 2, 2, 1], [12, 2, 2, 2]]);
    // Left exact; right one voxel up along k (2 mm), half overlapping.
    const [left, right] = scoreSides(labels([[2, 2, 2, 1], [12, 2, 3, 2]]), truth);
    expect(left).toEqual({ dice: 1, distanceMm: 0, mm3: 16, referenceMm3: 16 });
    expect(right).toEqual({ dice: 0.5, distanceMm: 2, mm3: 16, referenceMm3: 16 });
  });

  it('marks a missing side: Dice 0, no distance, no volume', () => {
    const [left] = scoreSides(labels([[12, 2, 2, 2]]), labels([[2, 2, 2, 1], [12, 2, 2, 2]]));
    expect(left.dice).toBe(0);
    expect(left.distanceMm).toBeNaN();
    expect(left.mm3).toBe(0);
  });
});

describe('classifyOutcome', () => {
  const side = (dice: number, distanceMm: number): SideScore => ({ dice, distanceMm, mm3: 3500, referenceMm3: 3500 });
  const mask = (l: SideScore, r: SideScore, warnings: string[] = []) => ({ kind: 'mask' as const, sides: [l, r] as const, warnings });

  it('calls both sides at Dice ≥ 0.8 within 5 mm good, and a side just under 0.8 fair', () => {
    expect(classifyOutcome(mask(side(0.8, 5), side(0.9, 1)))).toBe('good');
    expect(classifyOutcome(mask(side(0.79, 2), side(0.9, 1)))).toBe('fair, unwarned');
  });

  it('calls an unwarned mask confident wrong below Dice 0.5, beyond 5 mm or with a side missing', () => {
    expect(classifyOutcome(mask(side(0.49, 2), side(0.9, 1)))).toBe('CONFIDENT WRONG');
    expect(classifyOutcome(mask(side(0.85, 5.1), side(0.9, 1)))).toBe('CONFIDENT WRONG');
    expect(classifyOutcome(mask(side(0, NaN), side(0.9, 1)))).toBe('CONFIDENT WRONG');
  });

  it('grades a warned mask too: a false alarm (good) from a true one (wrong)', () => {
    expect(maskQuality([side(0.85, 1), side(0.9, 1)])).toBe('good');
    expect(maskQuality([side(0.7, 1), side(0.9, 1)])).toBe('fair');
    expect(maskQuality([side(0.85, 6), side(0.9, 1)])).toBe('wrong');
  });

  it('calls any mask with a warning warned, and tells a clear refusal from an unclear one', () => {
    expect(classifyOutcome(mask(side(0.2, 30), side(0.9, 1), ['The left mask is far from where the localiser expects it.']))).toBe('warned');
    expect(classifyOutcome(mask(side(0.9, 1), side(0.9, 1), ['a warning']))).toBe('warned');
    expect(classifyOutcome({ kind: 'refused', message: 'The scan could not be matched to the brain template.' })).toBe('refused');
    expect(classifyOutcome({ kind: 'refused', message: 'error' })).toBe('unclear refusal');
  });
});
