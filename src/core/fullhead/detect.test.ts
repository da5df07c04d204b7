import { describe, expect, it } from 'vitest';
import { mat4 } from '../volume';
import { choosePath, classifyScan, fieldOfViewMm, ScanKindError } from './detect';

const grid = (dims: [number, number, number], affine: number[]) => ({ dims, affine: mat4(affine) });

describe('classifyScan', () => {
  it('calls a 256³ 1 mm LIA volume a full head', () => {
    const c = classifyScan(grid([256, 256, 256], [-1, 0, 0, 127, 0, 0, 1, -133, 0, -1, 0, 134, 0, 0, 0, 1]));
    expect(c.kind).toBe('full-head');
    expect(c.extentMm).toEqual([256, 256, 256]);
  });

  it('calls an MSD-sized crop a crop', () => {
    expect(classifyScan(grid([35, 51, 35], [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1])).kind).toBe('crop');
  });

  it('calls a thin slab partial, and says what a whole head needs', () => {
    const slab = classifyScan(grid([192, 192, 30], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]));
    expect(slab.kind).toBe('partial');
    expect(slab.reason).toMatch(/192 × 192 × 60 mm covers only part of the head/);
  });

  it('measures the field of view in world axes, whatever the voxel order and obliquity', () => {
    // Voxel axes i→z (1.2 mm), j→x (0.9 mm), k→y (0.9 mm); rotated 30° about z.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const fov = fieldOfViewMm(grid([160, 256, 256], [0, 0.9 * c, -0.9 * s, 0, 0, 0.9 * s, 0.9 * c, 0, 1.2, 0, 0, 0, 0, 0, 0, 1]));
    expect(fov[0]).toBeCloseTo(230.4 * c + 230.4 * s, 6);
    expect(fov[1]).toBeCloseTo(230.4 * s + 230.4 * c, 6);
    expect(fov[2]).toBeCloseTo(192, 6);
  });
});

describe('choosePath', () => {
  const slab = grid([192, 192, 30], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
  it('follows the classification unless forced', () => {
    expect(choosePath(grid([35, 51, 35], [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1])).path).toBe('crop');
    expect(choosePath(grid([35, 51, 35], [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1]), 'full-head').path).toBe('full-head');
    expect(choosePath(slab, 'crop').path).toBe('crop');
  });
  it('refuses a partial field of view unless forced, saying how to force', () => {
    expect(() => choosePath(slab)).toThrow(ScanKindError);
    expect(() => choosePath(slab)).toThrow(/Force the full-head or the crop path/);
  });
});
