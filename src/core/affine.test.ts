import { describe, expect, it } from 'vitest';
import {
  affineToQform,
  applyToPoint,
  applyToVector,
  closestOrthogonal,
  det3,
  fromLinear,
  invert,
  maxAbsDiff,
  multiply,
  qformRepresents,
  qformToAffine,
  spacingFromAffine,
} from './affine';
import { identity4, mat4 } from './volume';

const oblique = mat4([0.383, -1.2856, 0.2, 10, 0.3214, 1.532, -0.1, -20, 0.05, 0.02, 1.1, 5, 0, 0, 0, 1]);

describe('affine algebra', () => {
  it('multiply composes (b first, then a) and the identity is neutral', () => {
    const a = fromLinear([0, -1, 0, 1, 0, 0, 0, 0, 1], [1, 2, 3]);
    const b = fromLinear([2, 0, 0, 0, 3, 0, 0, 0, 4], [-1, 0, 1]);
    const p: [number, number, number] = [0.5, -2, 7];
    expect(applyToPoint(multiply(a, b), p)).toEqual(applyToPoint(a, applyToPoint(b, p)));
    expect(Array.from(multiply(identity4(), oblique))).toEqual(Array.from(oblique));
  });

  it('invert gives the inverse (to rounding) and refuses singular matrices', () => {
    // Entries ≲ 20, condition ≲ 10: products with the inverse agree with I to ~1e-14.
    expect(maxAbsDiff(multiply(oblique, invert(oblique)), identity4())).toBeLessThan(1e-12);
    expect(maxAbsDiff(multiply(invert(oblique), oblique), identity4())).toBeLessThan(1e-12);
    expect(() => invert(fromLinear([1, 0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0]))).toThrow(/singular/);
  });

  it('vectors ignore translation; spacing is the column norms', () => {
    expect(applyToVector(oblique, [1, 0, 0])).toEqual([0.383, 0.3214, 0.05]);
    expect(spacingFromAffine(fromLinear([0, 0, -2, 3, 0, 0, 0, 4, 0], [9, 9, 9]))).toEqual([3, 4, 2]);
    expect(det3(fromLinear([0, 0, -2, 3, 0, 0, 0, 4, 0], [0, 0, 0]))).toBe(-24);
  });

  it('closestOrthogonal returns an orthogonal matrix, unchanged for a rotation', () => {
    const r = closestOrthogonal([1, 0.2, 0, -0.1, 1, 0.3, 0, 0, 2]);
    const m = fromLinear(r, [0, 0, 0]);
    const mtm = multiply(mat4([r[0], r[3], r[6], 0, r[1], r[4], r[7], 0, r[2], r[5], r[8], 0, 0, 0, 0, 1]), m);
    expect(maxAbsDiff(mtm, identity4())).toBeLessThan(1e-12);
    const rot = [Math.cos(0.4), -Math.sin(0.4), 0, Math.sin(0.4), Math.cos(0.4), 0, 0, 0, 1];
    closestOrthogonal(rot).forEach((v, n) => expect(v).toBeCloseTo(rot[n], 14));
  });
});

describe('qform encoding', () => {
  it('affine → qform → affine is exact to rounding for rotations with either handedness', () => {
    for (const lin of [
      [-1, 0, 0, 0, 0, 1, 0, -1, 0], // LIA (det +1)
      [-0.9, 0, 0, 0, 1.1, 0, 0, 0, 1.3], // LAS, left-handed
      [0, 0, -1.3, -1.3, 0, 0, 0, 1.3, 0], // PSL
      // 40° about z, voxels 0.5 × 2 × 1 mm
      [0.5 * Math.cos(0.7), -2 * Math.sin(0.7), 0, 0.5 * Math.sin(0.7), 2 * Math.cos(0.7), 0, 0, 0, 1],
    ]) {
      const a = fromLinear(lin, [12.5, -3, 40]);
      const q = affineToQform(a);
      expect(Math.hypot(q.quaternB, q.quaternC, q.quaternD)).toBeLessThanOrEqual(1 + 1e-12);
      // float64 throughout: round-trip error is a few ulps of entries ≤ 40.
      expect(maxAbsDiff(qformToAffine(q), a)).toBeLessThan(1e-10);
      expect(q.qfac).toBe(det3(a) < 0 ? -1 : 1);
      expect(qformRepresents(a, [10, 10, 10], 1e-6)).toBe(true);
    }
  });

  it('a sheared affine has no exact qform', () => {
    expect(qformRepresents(fromLinear([1, 0.25, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]), [100, 100, 100], 1e-4)).toBe(false);
  });
});
