import { describe, expect, it } from 'vitest';
import { applyToPoint, det3, invert, multiply } from '../affine';
import { resampleLinear } from '../resample';
import type { Mat4, Volume } from '../volume';
import { mat4 } from '../volume';
import { blockAverage, buildPyramid, foregroundCentre } from './levels';
import { GAIN, OFFSET, PARAM_COUNT, accumulate, newAccumulated } from './normal-equations';
import { gatherFixedPoints } from './points';
import { prepareFixed, registerAffine } from './register';
import { solveDamped } from './solve';
import { meanDisplacementMm, randomAffine, seededRandom } from './testing';

/** A smooth, asymmetric "head": a few anisotropic Gaussian blobs on a 2 mm RAS grid. */
function phantom(dims: [number, number, number], affine: Mat4): Volume<Float32Array> {
  const blobs = [
    { c: [0, 0, 0], s: [40, 50, 35], a: 1 },
    { c: [18, 10, 8], s: [10, 14, 9], a: 0.8 },
    { c: [-20, -15, 5], s: [8, 12, 15], a: -0.5 },
    { c: [5, 30, -12], s: [12, 6, 8], a: 0.6 },
    { c: [-8, -30, 20], s: [6, 9, 7], a: 0.7 },
  ];
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  let n = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++, n++) {
        const p = applyToPoint(affine, [i, j, k]);
        let v = 0;
        for (const b of blobs) {
          let q = 0;
          for (let a = 0; a < 3; a++) q += ((p[a] - b.c[a]) / b.s[a]) ** 2;
          v += b.a * Math.exp(-0.5 * q);
        }
        data[n] = 100 * v;
      }
    }
  }
  return { dims, affine, spacing: [2, 2, 2], data };
}

/** A turn about the phantom's x axis well beyond what the optimiser reaches from the identity, degrees. */
const TURNED_DEG = 50;
const fixedGrid = mat4([2, 0, 0, -80, 0, 2, 0, -96, 0, 0, 2, -72, 0, 0, 0, 1]);
const fixedDims: [number, number, number] = [81, 97, 73];

describe('blockAverage', () => {
  it('averages blocks and puts the new voxel at the centre of its block', () => {
    const affine = mat4([-1, 0, 0, 10, 0, 0, 2, -5, 0, 1, 0, 3, 0, 0, 0, 1]);
    const data = Float32Array.from({ length: 4 * 2 * 3 }, (_, n) => n);
    const level = blockAverage({ dims: [4, 2, 3], affine, data }, [2, 2, 2], 2);
    expect(level.dims).toEqual([2, 1, 2]);
    // Block (0,0,0) holds i∈{0,1}, j∈{0,1}, k∈{0,1}: indices 0,1,4,5,8,9,12,13.
    expect(level.data[0]).toBeCloseTo((0 + 1 + 4 + 5 + 8 + 9 + 12 + 13) / 8, 6);
    // The last k block holds k=2 only (partial block): indices 16,17,20,21.
    expect(level.data[2]).toBeCloseTo((16 + 17 + 20 + 21) / 4, 6);
    // Its centre is the mean of the source centres (i 0.5, j 0.5, k 0.5) in world space.
    expect(Array.from(applyToPoint(level.affine, [0, 0, 0]))).toEqual(applyToPoint(affine, [0.5, 0.5, 0.5]));
  });
});

describe('solveDamped', () => {
  it('solves a symmetric positive definite system (λ = 0) and refuses an indefinite one', () => {
    const a = Float64Array.from([4, 1, 0, 1, 3, 1, 0, 1, 2]);
    const x = new Float64Array(3);
    expect(solveDamped(a, Float64Array.from([1, 2, 3]), 0, 3, x)).toBe(true);
    const ax = [0, 1, 2].map((r) => a[3 * r] * x[0] + a[3 * r + 1] * x[1] + a[3 * r + 2] * x[2]);
    ax.forEach((v, r) => expect(v).toBeCloseTo([1, 2, 3][r], 10));
    expect(solveDamped(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 0, 2, new Float64Array(2))).toBe(false);
  });
});

/**
 * A phantom, a moving grid that covers every mapped fixed point (no point crosses its edge, where
 * the cost jumps: outside reads 0), and a map near (not at) the optimum. All numbers are ragged so
 * that no fixed point lands exactly on a cell face of the moving grid, where the trilinear cost has a kink.
 */
function nearOptimum() {
  const fixed = phantom([40, 48, 36], mat4([2, 0, 0, -40, 0, 2, 0, -48, 0, 0, 2, -36, 0, 0, 0, 1]));
  const moving = buildPyramid(phantom([60, 70, 56], mat4([-1.7311, 0, 0, 51.13, 0, 1.9037, 0.2017, -66.29, 0, -0.1031, 1.8093, -50.41, 0, 0, 0, 1])), [2])[0];
  const points = gatherFixedPoints(buildPyramid(fixed, [2])[0]);
  const theta = new Float64Array(PARAM_COUNT);
  const p = multiply(multiply(invert(moving.affine), mat4([1.0213, 0.0317, 0.0041, 1.337, -0.0219, 0.9807, 0.0133, -0.7129, 0.0107, 0.0023, 1.0119, 0.4271, 0, 0, 0, 1])),
    mat4([1, 0, 0, points.centre[0], 0, 1, 0, points.centre[1], 0, 0, 1, points.centre[2], 0, 0, 0, 1]));
  theta.set(p.subarray(0, 12));
  theta[GAIN] = 0.9;
  theta[OFFSET] = 0.05;
  return { moving, points, theta };
}

describe('accumulate', () => {
  it('Jᵀr is −½ the gradient of the SSE (central finite differences)', () => {
    const { moving, points, theta } = nearOptimum();
    const acc = accumulate(points, moving, theta, true, newAccumulated());
    const sse = (t: Float64Array) => accumulate(points, moving, t, false, newAccumulated()).sse;
    for (let u = 0; u < PARAM_COUNT; u++) {
      // Steps tiny against a voxel (≤1e-5 voxel at the points' 50 mm reach) so that
      // hardly any point crosses a cell face; still far above rounding.
      const h = u % 4 === 3 || u >= 12 ? 1e-6 : 2e-7;
      const plus = theta.slice();
      const minus = theta.slice();
      plus[u] += h;
      minus[u] -= h;
      const fd = (sse(plus) - sse(minus)) / (2 * h);
      // 1e-5 relative, plus 1e-4 absolute for the SSE's rounding (≈1e-10) over 2h.
      expect(Math.abs(acc.jtr[u] + fd / 2)).toBeLessThan(1e-5 * Math.abs(fd) + 1e-4);
    }
  });

  it('JᵀJ is the Gauss–Newton matrix of the SSE: every entry, by second differences where the residuals are 0', () => {
    const { moving, points: gathered, theta } = nearOptimum();
    // Fixed intensities equal to the model's prediction at θ (r = 0 there, read back through a
    // point's residual against 0): then SSE(θ ± tδ) / t² → δᵀ JᵀJ δ, with no term from the model's
    // own curvature.
    const prediction = new Float32Array(gathered.count);
    const one = { ...gathered, count: 1, xyz: new Float64Array(3), value: new Float32Array(1) };
    for (let q = 0; q < gathered.count; q++) {
      one.xyz.set(gathered.xyz.subarray(3 * q, 3 * q + 3));
      // value 1000 lies above every prediction (the phantom's ≤ 0.9 · 160 + 0.05), so r = 1000 − (a·M + b) > 0.
      one.value[0] = 1000;
      prediction[q] = 1000 - Math.sqrt(accumulate(one, moving, theta, false, newAccumulated()).sse);
    }
    const points = { ...gathered, value: prediction };
    const hessian = accumulate(points, moving, theta, true, newAccumulated()).jtj;
    // Float32 targets leave residuals of ≈1e-5 at θ: their SSE is cancelled by the central difference's
    // symmetric pair, and their cross term with J is odd in t.
    const base = accumulate(points, moving, theta, false, newAccumulated()).sse;
    const quad = (d: Float64Array) => {
      const t = 1e-4;
      const step = (sign: number) => accumulate(points, moving, theta.map((v, n) => v + sign * t * d[n]), false, newAccumulated()).sse;
      return (step(1) + step(-1) - 2 * base) / (2 * t * t);
    };
    const unit = (...us: number[]) => {
      const d = new Float64Array(PARAM_COUNT);
      for (const u of us) d[u] = u % 4 === 3 || u >= 12 ? 1 : 0.02;
      return d;
    };
    for (let u = 0; u < PARAM_COUNT; u++) {
      for (let w = u; w < PARAM_COUNT; w++) {
        const du = unit(u)[u], dw = unit(w)[w];
        // δᵀHδ for δ = e_u·du + e_w·dw, less the diagonal parts: 2·H_uw·du·dw (or H_uu·du² on the diagonal).
        const expected = u === w ? quad(unit(u)) : (quad(unit(u, w)) - quad(unit(u)) - quad(unit(w))) / (2 * du * dw);
        const got = u === w ? hessian[u * PARAM_COUNT + u] * du * du : hessian[u * PARAM_COUNT + w];
        const scale = u === w ? got : Math.sqrt(hessian[u * PARAM_COUNT + u] * hessian[w * PARAM_COUNT + w]);
        // Second differences at t = 1e-4 agree to 6e-5 of the scale; a wrong sum is off by O(1).
        expect(Math.abs(got - expected)).toBeLessThan(2e-4 * Math.abs(scale));
        expect(hessian[w * PARAM_COUNT + u]).toBe(hessian[u * PARAM_COUNT + w]);
      }
    }
  });

  it('a Hessian stride s estimates JᵀJ from every s-th point, scaled by s; Jᵀr and the SSE stay exact', () => {
    const fixed = phantom([40, 48, 36], mat4([2, 0, 0, -40, 0, 2, 0, -48, 0, 0, 2, -36, 0, 0, 0, 1]));
    const moving = buildPyramid(phantom([60, 70, 56], mat4([-1.7311, 0, 0, 51.13, 0, 1.9037, 0.2017, -66.29, 0, -0.1031, 1.8093, -50.41, 0, 0, 0, 1])), [2])[0];
    const points = gatherFixedPoints(buildPyramid(fixed, [2])[0]);
    const theta = new Float64Array(PARAM_COUNT);
    theta.set(multiply(invert(moving.affine), mat4([1, 0, 0, points.centre[0], 0, 1, 0, points.centre[1], 0, 0, 1, points.centre[2], 0, 0, 0, 1])).subarray(0, 12));
    theta[GAIN] = 1;
    const every = accumulate(points, moving, theta, true, newAccumulated(), 1);
    const third = accumulate(points, moving, theta, true, newAccumulated(), 3);
    // The subset: points 0, 3, 6, … as a point set of their own, stride 1.
    const picked = Array.from({ length: Math.ceil(points.count / 3) }, (_, n) => 3 * n);
    const subset = {
      ...points,
      count: picked.length,
      xyz: Float64Array.from(picked.flatMap((q) => [points.xyz[3 * q], points.xyz[3 * q + 1], points.xyz[3 * q + 2]])),
      value: Float32Array.from(picked.map((q) => points.value[q])),
    };
    const ofSubset = accumulate(subset, moving, theta, true, newAccumulated(), 1);
    for (let e = 0; e < PARAM_COUNT * PARAM_COUNT; e++) expect(third.jtj[e]).toBeCloseTo(3 * ofSubset.jtj[e], 6);
    expect(Array.from(third.jtr)).toEqual(Array.from(every.jtr));
    expect(third.sse).toBe(every.sse);
    // Not the same matrix as from every point (the phantom varies between neighbours).
    expect(Math.abs(third.jtj[0] - every.jtj[0])).toBeGreaterThan(1e-6 * every.jtj[0]);
  });
});

describe('registerAffine', () => {
  it('recovers random affines between two grids of a smooth phantom within 0.2 mm', () => {
    const fixedVol = phantom(fixedDims, fixedGrid);
    const fixed = prepareFixed(buildPyramid(fixedVol, [8, 4, 2]));
    const random = seededRandom(7);
    for (let trial = 0; trial < 3; trial++) {
      const truth = randomAffine(random);
      // The moving scan: the phantom seen through `truth` on an LIA-like 1.5 mm grid.
      const grid = mat4([-1.5, 0, 0, 100, 0, 0, 1.5, -110, 0, -1.5, 0, 95, 0, 0, 0, 1]);
      const movingVol = resampleLinear(phantom(fixedDims, fixedGrid), [134, 130, 147], multiply(invert(truth), grid));
      const moving: Volume = { ...movingVol, affine: grid };
      const result = registerAffine(fixed, buildPyramid(moving, [8, 4, 2]));
      const brain = fixedPointsWorld(fixedVol);
      expect(meanDisplacementMm(result.transform, truth, brain)).toBeLessThan(0.2);
      expect(result.ncc).toBeGreaterThan(0.99);
      // 0.2 mm at the phantom's 40 mm reach is 0.5 % per axis, 1.5 % in volume.
      expect(Math.abs(det3(result.transform) / det3(truth) - 1)).toBeLessThan(0.015);
    }
  });

  it('the best candidate start goes on when it beats the initial start, by the margin when one is set', () => {
    const fixedVol = phantom(fixedDims, fixedGrid);
    const fixed = prepareFixed(buildPyramid(fixedVol, [8, 4, 2]));
    const turn = (deg: number): Mat4 => {
      const t = (deg * Math.PI) / 180;
      return mat4([1, 0, 0, 0, 0, Math.cos(t), -Math.sin(t), 0, 0, Math.sin(t), Math.cos(t), 0, 0, 0, 0, 1]);
    };
    const truth = turn(TURNED_DEG);
    const movingVol = resampleLinear(fixedVol, fixedDims, multiply(invert(truth), fixedGrid));
    const moving = buildPyramid({ ...movingVol, affine: fixedGrid }, [8, 4, 2]);
    const brain = fixedPointsWorld(fixedVol);
    const off = (options: Parameters<typeof registerAffine>[2]) => meanDisplacementMm(registerAffine(fixed, moving, options).transform, truth, brain);
    expect(off({})).toBeGreaterThan(5);
    const candidates = [turn(-TURNED_DEG), turn(TURNED_DEG)];
    expect(off({ candidates })).toBeLessThan(0.2);
    // How much better the right candidate fits than the initial start at the coarsest level.
    const coarse = (initial?: Mat4) => registerAffine({ levels: [fixed.levels[0]] }, [moving[0]], { initial }).ncc;
    const gap = coarse(truth) - coarse();
    expect(gap).toBeGreaterThan(0);
    expect(off({ candidates, candidateMargin: gap / 2 })).toBeLessThan(0.2);
    // A margin the candidate does not clear: the initial start goes on, as without candidates.
    expect(off({ candidates, candidateMargin: gap * 2 })).toBeCloseTo(off({}), 6);
  });

  it('foregroundCentre finds the bright part of a level', () => {
    const level = buildPyramid(phantom(fixedDims, fixedGrid), [4])[0];
    const c = foregroundCentre(level);
    c.forEach((v) => expect(Math.abs(v)).toBeLessThan(6));
  });
});

/** World points where the phantom is bright: where displacement is measured. */
function fixedPointsWorld(vol: Volume<Float32Array>): Float64Array {
  const pts: number[] = [];
  const [nx, ny, nz] = vol.dims;
  for (let k = 0; k < nz; k += 3) {
    for (let j = 0; j < ny; j += 3) {
      for (let i = 0; i < nx; i += 3) {
        if (vol.data[i + nx * (j + ny * k)] > 30) pts.push(...applyToPoint(vol.affine, [i, j, k]));
      }
    }
  }
  return Float64Array.from(pts);
}
