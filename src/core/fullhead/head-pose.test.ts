import { describe, expect, it } from 'vitest';
import { applyToPoint, fromLinear } from '../affine';
import { mat4, type Dims3 } from '../volume';
import { composeRotations, cropRotation, IDENTITY_ROTATION, pitchRotation, posedGrid, registrationRotation, rigidAbout, rollRotation, rotationAngleDeg, rotationBetween, rotationBeyond, rotationTaking, TRAINED_ROTATION_DEG, yawRotation, type HeadRotation } from './head-pose';

/** A pitch: rotation about scan world's R axis. */
function aboutR(deg: number): HeadRotation {
  const t = (deg * Math.PI) / 180;
  return [1, 0, 0, 0, Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t)];
}
/** A yaw: rotation about scan world's S axis. */
function aboutS(deg: number): HeadRotation {
  const t = (deg * Math.PI) / 180;
  return [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
}

function det(r: HeadRotation): number {
  return r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6]);
}

describe('registrationRotation', () => {
  it('keeps the rotation of an affine and drops its scale and shear', () => {
    const r = composeRotations(aboutR(17), aboutS(-8));
    const scaleShear = [1.1, 0.05, 0, 0, 0.93, -0.04, 0, 0, 1.02];
    const found = registrationRotation(fromLinear(composeRotations(r, scaleShear), [5, -3, 12]))!;
    expect(rotationAngleDeg(rotationBetween(found, r))).toBeLessThan(3);
    expect(rotationAngleDeg(found)).toBeGreaterThan(15);
  });

  it('refuses a mirroring affine', () => {
    expect(registrationRotation(fromLinear([-1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]))).toBeNull();
  });
});

describe('pitchRotation and rigidAbout', () => {
  it('lifts the nose for a positive pitch: A turns towards S, R stays', () => {
    const r = pitchRotation(90);
    expect([r[0], r[3], r[6]].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 0, 0]);
    expect([r[1], r[4], r[7]].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0, 0, 1]);
    expect(rotationAngleDeg(pitchRotation(-35))).toBeCloseTo(35, 9);
    expect(rotationAngleDeg(rotationBetween(pitchRotation(20), aboutR(20)))).toBeLessThan(1e-6);
  });

  it('rolls S towards R about A, and turns R towards A about S, for positive angles', () => {
    const column = (r: HeadRotation, c: number) => [r[c], r[3 + c], r[6 + c]].map((v) => Math.round(v * 1e9) / 1e9);
    const roll = rollRotation(90);
    expect(column(roll, 2)).toEqual([1, 0, 0]); // S → R
    expect(column(roll, 1)).toEqual([0, 1, 0]); // A stays
    const yaw = yawRotation(90);
    expect(column(yaw, 0)).toEqual([0, 1, 0]); // R → A
    expect(column(yaw, 2)).toEqual([0, 0, 1]); // S stays
    expect(rotationAngleDeg(rotationBetween(yawRotation(-25), aboutS(-25)))).toBeLessThan(1e-6);
    expect(rotationAngleDeg(rollRotation(-40))).toBeCloseTo(40, 9);
  });

  it('turns about `from` and carries it to `to`', () => {
    const from: [number, number, number] = [3, -20, 10];
    const to: [number, number, number] = [-7, 5, 30];
    const m = rigidAbout(pitchRotation(30), from, to);
    expect(applyToPoint(m, from).map((v, i) => v - to[i]).every((d) => Math.abs(d) < 1e-9)).toBe(true);
    // A point 10 mm anterior of `from` lands 10 mm away along the pitched A axis.
    const p = applyToPoint(m, [from[0], from[1] + 10, from[2]]);
    const t = (30 * Math.PI) / 180;
    expect(p[1] - to[1]).toBeCloseTo(10 * Math.cos(t), 9);
    expect(p[2] - to[2]).toBeCloseTo(10 * Math.sin(t), 9);
    expect(p[0]).toBeCloseTo(to[0], 9);
  });
});

describe('composeRotations and rotationTaking', () => {
  const apply = (r: HeadRotation, v: readonly number[]) => [0, 1, 2].map((row) => r[3 * row] * v[0] + r[3 * row + 1] * v[1] + r[3 * row + 2] * v[2]);

  it('composes b first, then a', () => {
    const a = pitchRotation(90);
    const b = yawRotation(90);
    // R → A under the turn, then A → S under the pitch.
    apply(composeRotations(a, b), [1, 0, 0]).forEach((v, n) => expect(v).toBeCloseTo([0, 0, 1][n], 12));
    apply(composeRotations(b, a), [1, 0, 0]).forEach((v, n) => expect(v).toBeCloseTo([0, 1, 0][n], 12));
  });

  it('takes one direction to another by the smallest rotation, about their common normal', () => {
    const from = [60, -2, 3] as const;
    const to = [41, 35, -22] as const;
    const r = rotationTaking([...from], [...to])!;
    const n = Math.hypot(...to) / Math.hypot(...from);
    apply(r, from).forEach((v, a) => expect(v * n).toBeCloseTo(to[a], 9));
    // A rotation: orthonormal rows, no mirror.
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(r[3 * i] * r[3 * j] + r[3 * i + 1] * r[3 * j + 1] + r[3 * i + 2] * r[3 * j + 2]).toBeCloseTo(i === j ? 1 : 0, 12);
    expect(det(r)).toBeCloseTo(1, 12);
    // The smallest: its angle is the angle between the directions, and their normal stays put.
    const cos = (from[0] * to[0] + from[1] * to[1] + from[2] * to[2]) / (Math.hypot(...from) * Math.hypot(...to));
    expect(rotationAngleDeg(r)).toBeCloseTo((Math.acos(cos) * 180) / Math.PI, 9);
    const normal = [from[1] * to[2] - from[2] * to[1], from[2] * to[0] - from[0] * to[2], from[0] * to[1] - from[1] * to[0]];
    apply(r, normal).forEach((v, a) => expect(v).toBeCloseTo(normal[a], 6));
    expect(rotationTaking([1, 2, 3], [2, 4, 6])).toEqual(IDENTITY_ROTATION);
  });

  it('finds no pose for directions more than 90° apart, or for no direction', () => {
    expect(rotationTaking([1, 0, 0], [-1, 0.1, 0])).toBeNull();
    expect(rotationTaking([1, 0, 0], [-0.01, 1, 0])).toBeNull();
    expect(rotationTaking([1, 0, 0], [0.01, 1, 0])).not.toBeNull();
    expect(rotationTaking([0, 0, 0], [1, 0, 0])).toBeNull();
  });
});

describe('rotationBeyond', () => {
  it('leaves a pose inside the allowance alone and takes the allowance off a larger one, about the same axis', () => {
    expect(rotationBeyond(aboutR(11), 12)).toEqual(IDENTITY_ROTATION);
    const rest = rotationBeyond(aboutR(30), 12);
    expect(rotationAngleDeg(rotationBetween(rest, aboutR(18)))).toBeLessThan(1e-6);
    const tilted = composeRotations(aboutR(20), aboutS(15));
    const part = rotationBeyond(tilted, 10);
    expect(rotationAngleDeg(part)).toBeCloseTo(rotationAngleDeg(tilted) - 10, 6);
    // Same axis: the part and the whole commute.
    const a = composeRotations(part, tilted);
    const b = composeRotations(tilted, part);
    expect(Math.max(...a.map((v, n) => Math.abs(v - b[n])))).toBeLessThan(1e-9);
  });
});

describe('posedGrid', () => {
  it('is the conformed grid for a head held as the template holds it, and turns its axes otherwise', () => {
    const conformed = { dims: [10, 20, 30] as Dims3, affine: mat4([1, 0, 0, -5, 0, 1, 0, 7, 0, 0, 1, 9, 0, 0, 0, 1]) };
    expect(Array.from(posedGrid(conformed, IDENTITY_ROTATION).affine)).toEqual(Array.from(conformed.affine));
    const turned = posedGrid(conformed, aboutR(20)).affine;
    expect([turned[5], turned[6], turned[9], turned[10]].map((v) => +v.toFixed(6))).toEqual(
      [Math.cos(Math.PI / 9), -Math.sin(Math.PI / 9), Math.sin(Math.PI / 9), Math.cos(Math.PI / 9)].map((v) => +v.toFixed(6)),
    );
    expect([turned[3], turned[7], turned[11]]).toEqual([-5, 7, 9]);
  });
});

describe('cropRotation', () => {
  it('turns the crops by what the registration found beyond training, and not at all inside it or for a failed one', () => {
    const pitched = (deg: number) => fromLinear(composeRotations(aboutR(deg), [1.05, 0, 0, 0, 0.97, 0, 0, 0, 1.02]), [3, -20, 11]);
    expect(cropRotation(pitched(TRAINED_ROTATION_DEG - 1), false)).toEqual(IDENTITY_ROTATION);
    expect(rotationAngleDeg(rotationBetween(cropRotation(pitched(30), false), aboutR(30 - TRAINED_ROTATION_DEG)))).toBeLessThan(1e-6);
    expect(cropRotation(pitched(30), true)).toEqual(IDENTITY_ROTATION);
    expect(cropRotation(fromLinear([-1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]), false)).toEqual(IDENTITY_ROTATION);
  });

  it("turns the crops to a training pose's centre: by its pitch for a head held as the template holds it, not at all for one held as the training subjects held theirs", () => {
    const pitched = (deg: number) => fromLinear(aboutR(deg), [3, -20, 11]);
    const pose = { pitchDeg: -10, allowanceDeg: 0 };
    expect(rotationAngleDeg(rotationBetween(cropRotation(pitched(0), false, pose), aboutR(-10)))).toBeLessThan(1e-6);
    expect(rotationAngleDeg(cropRotation(pitched(10), false, pose))).toBeLessThan(1e-6);
    // About the centre, the allowance is taken off as without one: 25° from the template is 15° from the centre, 3° beyond 12°.
    expect(rotationAngleDeg(rotationBetween(cropRotation(pitched(25), false, { pitchDeg: -10, allowanceDeg: 12 }), aboutR(3)))).toBeLessThan(1e-6);
    expect(cropRotation(pitched(25), false, { pitchDeg: -10, allowanceDeg: 16 })).toEqual(IDENTITY_ROTATION);
    // A failed registration says nothing of the pose: the crops stay on the scan's grid.
    expect(cropRotation(pitched(0), true, pose)).toEqual(IDENTITY_ROTATION);
  });
});
