import type { ImageLevel } from './levels';
import type { FixedPoints } from './points';

/**
 * Parameters of the least-squares fit: the moving image sampled through a 3×4 map from
 * centred fixed world mm to moving voxel indices, v = P·(x̃, 1), then scaled and shifted,
 * a·M(v) + b, to match the fixed intensities. Minimising Σ (F − a·M − b)² over a and b
 * for a given P leaves N·var(F)·(1 − NCC²), so this is normalised cross-correlation made
 * into a Gauss–Newton problem (SPM's affine registration does the same).
 */
export const PARAM_COUNT = 14;
/** Index of a (gain) and b (offset) after the 12 map entries. */
export const GAIN = 12;
export const OFFSET = 13;

/** Rounding slack, in voxels, for points that sit exactly on the grid's faces. */
const EDGE = 1e-6;

/** The cell (lower corner index) holding coordinate v ∈ [0, last], with the last face closed. */
function clampCell(v: number, last: number): number {
  const i = Math.floor(v);
  return i < 0 ? 0 : i > last - 1 ? last - 1 : i;
}

/** What one pass over the fixed points yields. */
export interface Accumulated {
  /** Σ r², r = F − a·M − b. */
  sse: number;
  /** Pearson correlation of F and M over all points (moving is 0 outside its grid). */
  ncc: number;
  /** Fraction of points that fell inside the moving grid. */
  inside: number;
  /** The least-squares gain and offset for the sampled M: the best a, b for this map. */
  fitGain: number;
  fitOffset: number;
  /** JᵀJ (row-major PARAM_COUNT²) and Jᵀr, with J = ∂(a·M + b)/∂θ. Filled only when asked. */
  readonly jtj: Float64Array;
  readonly jtr: Float64Array;
}

export function newAccumulated(): Accumulated {
  return {
    sse: 0,
    ncc: 0,
    inside: 0,
    fitGain: 1,
    fitOffset: 0,
    jtj: new Float64Array(PARAM_COUNT * PARAM_COUNT),
    jtr: new Float64Array(PARAM_COUNT),
  };
}

/**
 * One pass: samples the moving level trilinearly (with the exact gradient of the
 * trilinear interpolant, so the Jacobian is that of the function being minimised) at
 * every fixed point and accumulates the residuals and, when `withJacobian`, the normal
 * equations. Points outside the moving grid read 0 with zero
 * gradient, like air outside the scan. No allocation per point.
 *
 * JᵀJ costs 105 multiply-adds a point against 14 for Jᵀr, so with `hessianStride` s > 1
 * it is estimated from every s-th point (scaled by s): an inexact Gauss–Newton matrix
 * changes the step, not the optimum, which Jᵀr = 0 and the exact SSE decide.
 */
export function accumulate(
  fixed: FixedPoints,
  moving: ImageLevel,
  theta: Float64Array,
  withJacobian: boolean,
  out: Accumulated,
  hessianStride = 1,
): Accumulated {
  const [nx, ny, nz] = moving.dims;
  const img = moving.data;
  const sxy = nx * ny;
  const lastX = nx - 1, lastY = ny - 1, lastZ = nz - 1;
  const [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11] = theta;
  const a = theta[GAIN];
  const b = theta[OFFSET];
  const jtj = out.jtj;
  const jtr = out.jtr;
  jtj.fill(0);
  jtr.fill(0);
  const J = new Float64Array(PARAM_COUNT);
  let sse = 0;
  let sf = 0, sm = 0, sff = 0, smm = 0, sfm = 0;
  let inside = 0;
  let r0 = 0, r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0, r6 = 0, r7 = 0, r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0;
  const xyz = fixed.xyz;
  const val = fixed.value;
  const count = fixed.count;
  for (let q = 0; q < count; q++) {
    const x = xyz[3 * q];
    const y = xyz[3 * q + 1];
    const z = xyz[3 * q + 2];
    const vx = p0 * x + p1 * y + p2 * z + p3;
    const vy = p4 * x + p5 * y + p6 * z + p7;
    const vz = p8 * x + p9 * y + p10 * z + p11;
    let m = 0, gx = 0, gy = 0, gz = 0;
    if (vx >= -EDGE && vy >= -EDGE && vz >= -EDGE && vx <= lastX + EDGE && vy <= lastY + EDGE && vz <= lastZ + EDGE) {
      // Cells are closed at both faces, so a point on a face reads it (f = 0 or 1).
      const ix = clampCell(vx, lastX), iy = clampCell(vy, lastY), iz = clampCell(vz, lastZ);
      const fx = vx - ix, fy = vy - iy, fz = vz - iz;
      const o = ix + nx * iy + sxy * iz;
      const c000 = img[o], c100 = img[o + 1], c010 = img[o + nx], c110 = img[o + nx + 1];
      const c001 = img[o + sxy], c101 = img[o + sxy + 1], c011 = img[o + sxy + nx], c111 = img[o + sxy + nx + 1];
      // Interpolate along x on the four edges, then y, then z; the gradient reuses the edges.
      const e00 = c000 + fx * (c100 - c000);
      const e10 = c010 + fx * (c110 - c010);
      const e01 = c001 + fx * (c101 - c001);
      const e11 = c011 + fx * (c111 - c011);
      const f0 = e00 + fy * (e10 - e00);
      const f1 = e01 + fy * (e11 - e01);
      m = f0 + fz * (f1 - f0);
      const dx00 = c100 - c000, dx10 = c110 - c010, dx01 = c101 - c001, dx11 = c111 - c011;
      const dx0 = dx00 + fy * (dx10 - dx00);
      const dx1 = dx01 + fy * (dx11 - dx01);
      gx = dx0 + fz * (dx1 - dx0);
      gy = (e10 - e00) + fz * (e11 - e01 - (e10 - e00));
      gz = f1 - f0;
      inside++;
    }
    const f = val[q];
    const r = f - a * m - b;
    sse += r * r;
    sf += f; sm += m; sff += f * f; smm += m * m; sfm += f * m;
    if (!withJacobian) continue;
    const ax = a * gx, ay = a * gy, az = a * gz;
    // Jᵀr in registers (the same products, added in the same order as through J).
    r0 += ax * x * r; r1 += ax * y * r; r2 += ax * z * r; r3 += ax * r;
    r4 += ay * x * r; r5 += ay * y * r; r6 += ay * z * r; r7 += ay * r;
    r8 += az * x * r; r9 += az * y * r; r10 += az * z * r; r11 += az * r;
    r12 += m * r; r13 += r;
    if (q % hessianStride !== 0) continue;
    J[0] = ax * x; J[1] = ax * y; J[2] = ax * z; J[3] = ax;
    J[4] = ay * x; J[5] = ay * y; J[6] = ay * z; J[7] = ay;
    J[8] = az * x; J[9] = az * y; J[10] = az * z; J[11] = az;
    J[12] = m; J[13] = 1;
    for (let u = 0; u < PARAM_COUNT; u++) {
      const ju = J[u];
      if (ju === 0) continue;
      const row = u * PARAM_COUNT;
      for (let w = u; w < PARAM_COUNT; w++) jtj[row + w] += ju * J[w];
    }
  }
  if (withJacobian) {
    jtr.set([r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13]);
    for (let u = 0; u < PARAM_COUNT; u++) {
      for (let w = u; w < PARAM_COUNT; w++) jtj[u * PARAM_COUNT + w] *= hessianStride;
      for (let w = 0; w < u; w++) jtj[u * PARAM_COUNT + w] = jtj[w * PARAM_COUNT + u];
    }
  }
  const n = Math.max(1, count);
  const cov = sfm / n - (sf / n) * (sm / n);
  const vf = sff / n - (sf / n) ** 2;
  const vm = smm / n - (sm / n) ** 2;
  out.sse = sse;
  out.ncc = vf > 0 && vm > 0 ? cov / Math.sqrt(vf * vm) : 0;
  out.inside = inside / n;
  out.fitGain = vm > 0 ? cov / vm : 1;
  out.fitOffset = sf / n - out.fitGain * (sm / n);
  return out;
}
