/**
 * The localiser grid in a registration's frame (pure): 4 mm voxels along the rotation the
 * registration found, centred where the scan's own localiser grid is; on a scan whose grid was
 * turned, a registration that turned it back gives the grid the unturned scan had.
 */
import { describe, expect, it } from 'vitest';
import { multiply } from '../affine';
import { rotationAbout } from '../perturb';
import { gridCentre } from '../resample';
import { mat4, type Dims3 } from '../volume';
import { signedAirLevel } from '../normalise';
import { localiserGrid, localiserGridInFrame, localiserInput, LOCALISER_SPACING_MM } from './localiser-grid';

const dims: Dims3 = [160, 200, 180];
const ras = mat4([1, 0, 0, -80, 0, 1.1, 0, -110, 0, 0, 1.2, -90, 0, 0, 0, 1]);
const scan = { dims, affine: ras };
const centre = gridCentre(scan);

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  for (let n = 0; n < 16; n++) expect(a[n]).toBeCloseTo(b[n], 9);
};

describe('localiserGridInFrame', () => {
  it('with the identity registration, is the scan grid of an axis-aligned scan', () => {
    close(localiserGridInFrame(scan, mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]))!.affine, localiserGrid(scan).affine);
  });

  it('on a scan turned 25°, with the registration that undoes it, is the unturned scan grid', () => {
    for (const axis of [0, 1, 2] as const) {
      const turn = rotationAbout(axis, 25, centre);
      const turned = { dims, affine: multiply(turn, ras) };
      // The template sits in the turned scan's world as it did in the original's: the registration holds no turn of its own.
      const registration = mat4([1, 0, 0, 3, 0, 1, 0, -4, 0, 0, 1, 5, 0, 0, 0, 1]);
      const own = localiserGrid(turned);
      expect(Math.abs(own.affine[4 * ((axis + 1) % 3) + ((axis + 2) % 3)])).toBeGreaterThan(1); // its own grid is turned
      close(localiserGridInFrame(turned, registration)!.affine, localiserGrid(scan).affine);
    }
  });

  it('keeps the rotation of a registration that also scales and shears, with 4 mm voxels', () => {
    const turn = rotationAbout(2, -30, [0, 0, 0]);
    const scaleShear = mat4([1.1, 0.05, 0, 0, 0, 0.95, 0, 0, 0, 0.02, 1.05, 0, 0, 0, 0, 1]);
    const g = localiserGridInFrame(scan, multiply(turn, scaleShear))!;
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const expected = [c, s, 0, -s, c, 0, 0, 0, 1].map((v) => v * LOCALISER_SPACING_MM);
    const got = [g.affine[0], g.affine[1], g.affine[2], g.affine[4], g.affine[5], g.affine[6], g.affine[8], g.affine[9], g.affine[10]];
    // The polar rotation of a mild scale/shear stays within a degree or two of the turn.
    got.forEach((v, n) => expect(Math.abs(v - expected[n])).toBeLessThan(0.1));
    for (let col = 0; col < 3; col++) expect(Math.hypot(g.affine[col], g.affine[4 + col], g.affine[8 + col])).toBeCloseTo(LOCALISER_SPACING_MM, 9);
    gridCentre(g).forEach((v, a) => expect(v).toBeCloseTo(centre[a], 9));
  });

  it('is refused (null) for a registration that mirrors the head', () => {
    expect(localiserGridInFrame(scan, mat4([-1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]))).toBeNull();
  });
});

describe('localiserInput', () => {
  /** A 96³ grid of 2 mm: a head-sized ball in air at 0, its inside a gradient, so the input's scaling is seen. */
  const ballDims: Dims3 = [96, 96, 96];
  const ball = {
    dims: ballDims,
    spacing: [2, 2, 2] as [number, number, number],
    affine: mat4([2, 0, 0, -96, 0, 2, 0, -96, 0, 0, 2, -96, 0, 0, 0, 1]),
    data: Float32Array.from({ length: 96 ** 3 }, (_, p) => {
      const [i, j, k] = [p % 96, Math.floor(p / 96) % 96, Math.floor(p / 96 ** 2)];
      return Math.hypot(i - 48, j - 48, k - 48) < 35 ? 100 + i : 0;
    }),
  };
  const grid = localiserGrid(ball);

  it('takes air below zero as zero: the same input for the scan shifted down or z-scored', () => {
    const plain = localiserInput(ball, grid, 99, 2);
    expect(signedAirLevel(ball)).toBe(0);
    for (const f of [(v: number) => v - 1000, (v: number) => (v - 60) / 40]) {
      const signed = { ...ball, data: Float32Array.from(ball.data, f) };
      expect(signedAirLevel(signed)).toBeLessThan(0);
      const input = localiserInput(signed, grid, 99, 2);
      let worst = 0;
      for (let p = 0; p < input.length; p++) worst = Math.max(worst, Math.abs(input[p] - plain[p]));
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it('leaves air at or above zero as it is (a noise floor, an MP2RAGE background)', () => {
    const raised = { ...ball, data: Float32Array.from(ball.data, (v) => v + 20) };
    expect(signedAirLevel(raised)).toBe(0);
    const input = localiserInput(raised, grid, 99, 2);
    // The air outside the ball is seen as 20 over the ball's 99th percentile, not as zero.
    expect(input[0]).toBe(0); // outside the scan: zero
    expect(Math.max(...input.subarray(0, 72 * 72 * 20))).toBeGreaterThan(0.05);
  });
});
