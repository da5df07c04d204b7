import { applyToPoint, multiply } from '../affine';
import type { Mat4 } from '../volume';
import { mat4 } from '../volume';

/** Test support: reproducible random affines and the displacement between two maps. */

/** A small linear congruential generator in [0, 1): the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The ranges the registration must handle: a scan's pose and size against the template. */
export const RANDOM_AFFINE_RANGE = { rotationDeg: 15, scale: 0.1, shear: 0.03, translationMm: 15 } as const;

/** Rotations about x, y, z (±15°), then scales (±10 %), shears (±0.03) and a translation (±15 mm). */
export function randomAffine(random: () => number): Mat4 {
  const r = RANDOM_AFFINE_RANGE;
  const u = (a: number) => (2 * random() - 1) * a;
  const [ax, ay, az] = [u(r.rotationDeg), u(r.rotationDeg), u(r.rotationDeg)].map((d) => (d * Math.PI) / 180);
  const rx = mat4([1, 0, 0, 0, 0, Math.cos(ax), -Math.sin(ax), 0, 0, Math.sin(ax), Math.cos(ax), 0, 0, 0, 0, 1]);
  const ry = mat4([Math.cos(ay), 0, Math.sin(ay), 0, 0, 1, 0, 0, -Math.sin(ay), 0, Math.cos(ay), 0, 0, 0, 0, 1]);
  const rz = mat4([Math.cos(az), -Math.sin(az), 0, 0, Math.sin(az), Math.cos(az), 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const scaleShear = mat4([
    1 + u(r.scale), u(r.shear), u(r.shear), u(r.translationMm),
    0, 1 + u(r.scale), u(r.shear), u(r.translationMm),
    0, 0, 1 + u(r.scale), u(r.translationMm),
    0, 0, 0, 1,
  ]);
  return multiply(multiply(multiply(rz, ry), rx), scaleShear);
}

/** Mean distance (mm) between where two maps send the points (xyz interleaved). */
export function meanDisplacementMm(a: Mat4, b: Mat4, points: Float64Array): number {
  let sum = 0;
  const n = points.length / 3;
  for (let q = 0; q < n; q++) {
    const p: [number, number, number] = [points[3 * q], points[3 * q + 1], points[3 * q + 2]];
    const pa = applyToPoint(a, p);
    const pb = applyToPoint(b, p);
    sum += Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]);
  }
  return sum / n;
}
