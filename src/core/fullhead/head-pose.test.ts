import { describe, expect, it } from 'vitest';
import { applyToPoint, fromLinear } from '../affine';
import { mat4, type Dims3 } from '../volume';
import { cropRotation, IDENTITY_ROTATION, pitchRotation, posedGrid, registrationRotation, rigidAbout, rollRotation, rotationAngleDeg, rotationBetween, rotationBeyond, TRAINED_ROTATION_DEG, yawRotation, type HeadRotation } from './head-pose';

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
const times = (a: HeadRotation, b: HeadRotation): number[] =>
  [0, 1, 2].flatMap((row) => [0, 1, 2].map((col) => a[3 * row] * b[col] + a[3 * row + 1] * b[3 + col] + a[3 * row + 2] * b[6 + col]));

describe('registrationRotation', () => {
  it('keeps the rotation of an affine and drops its scale and shear', () => {
    const r = times(aboutR(17), aboutS(-8));
    const scaleShear = [1.1, 0.05, 0, 0, 0.93, -0.04, 0, 0, 1.02];
    const found = registrationRotation(fromLinear(times(r, scaleShear), [5, -3, 12]))!;
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

describe('rotationBeyond', () => {
  it('leaves a pose inside the allowance alone and takes the allowance off a larger one, about the same axis', () => {
    expect(rotationBeyond(aboutR(11), 12)).toEqual(IDENTITY_ROTATION);
    const rest = rotationBeyond(aboutR(30), 12);
    expect(rotationAngleDeg(rotationBetween(rest, aboutR(18)))).toBeLessThan(1e-6);
    const tilted = times(aboutR(20), aboutS(15));
    const part = rotationBeyond(tilted, 10);
    expect(rotationAngleDeg(part)).toBeCloseTo(rotationAngleDeg(tilted) - 10, 6);
    // Same axis: the part and the whole commute.
    const a = times(part, tilted);
    const b = times(tilted, part);
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
    const pitched = (deg: number) => fromLinear(times(aboutR(deg), [1.05, 0, 0, 0, 0.97, 0, 0, 0, 1.02]), [3, -20, 11]);
    expect(cropRotation(pitched(TRAINED_ROTATION_DEG - 1), false)).toEqual(IDENTITY_ROTATION);
    expect(rotationAngleDeg(rotationBetween(cropRotation(pitched(30), false), aboutR(30 - TRAINED_ROTATION_DEG)))).toBeLessThan(1e-6);
    expect(cropRotation(pitched(30), true)).toEqual(IDENTITY_ROTATION);
    expect(cropRotation(fromLinear([-1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]), false)).toEqual(IDENTITY_ROTATION);
  });
});
