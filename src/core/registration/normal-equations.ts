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
 * JᵀJ's distinct sums. A point's Jacobian is J = (a·gx·x̃, a·gy·x̃, a·gz·x̃, m, 1) with x̃ = (x, y, z, 1),
 * so the 12 map entries' block is the gradient products a²·g_r·g_s times the moments x̃_i·x̃_j:
 * 6 × 10 sums (slots 0–59), then a·g_r·x̃_i·m (60–71), a·g_r·x̃_i (72–83), m² (84), m (85) and the
 * point count (86). Adding these in straight-line code, instead of J·Jᵀ entry by entry in a double
 * loop, halves a point's cost once V8 has optimised the pass (bench/RESULTS.md); `HESSIAN_SLOT`
 * spreads them back into JᵀJ.
 */
const HESSIAN_SUMS = 87;
/** Slot of the moment x̃_i·x̃_j (i ≤ j) among the 10 in a block. */
const MOMENT_SLOT = [
  [0, 1, 2, 3],
  [1, 4, 5, 6],
  [2, 5, 7, 8],
  [3, 6, 8, 9],
];
/** First slot of the block g_r·g_s (r ≤ s). */
const PAIR_SLOT = [
  [0, 10, 20],
  [10, 30, 40],
  [20, 40, 50],
];
/** JᵀJ's entry (u, w), row-major PARAM_COUNT², → its slot among the sums. */
const HESSIAN_SLOT: Int8Array = (() => {
  const slot = new Int8Array(PARAM_COUNT * PARAM_COUNT);
  for (let u = 0; u < PARAM_COUNT; u++) {
    for (let w = 0; w < PARAM_COUNT; w++) {
      const [lo, hi] = u <= w ? [u, w] : [w, u];
      slot[u * PARAM_COUNT + w] =
        hi < 12 ? PAIR_SLOT[lo >> 2][hi >> 2] + MOMENT_SLOT[lo & 3][hi & 3]
        : lo < 12 ? (hi === 12 ? 60 : 72) + lo
        : lo === 12 ? (hi === 12 ? 84 : 85)
        : 86;
    }
  }
  return slot;
})();

/**
 * One pass: samples the moving level trilinearly (with the exact gradient of the
 * trilinear interpolant, so the Jacobian is that of the function being minimised) at
 * every fixed point and accumulates the residuals and, when `withJacobian`, the normal
 * equations. Points outside the moving grid read 0 with zero
 * gradient, like air outside the scan. No allocation per point.
 *
 * JᵀJ costs about 90 multiply-adds a point against 14 for Jᵀr, so with `hessianStride` s > 1
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
  jtr.fill(0);
  const h = new Float64Array(HESSIAN_SUMS);
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
    h[86] += 1;
    // Outside the moving grid (or on a flat patch at 0) only the count is not zero.
    if (m === 0 && ax === 0 && ay === 0 && az === 0) continue;
    const xx = x * x, xy = x * y, xz = x * z, yy = y * y, yz = y * z, zz = z * z;
    const gxx = ax * ax, gxy = ax * ay, gxz = ax * az, gyy = ay * ay, gyz = ay * az, gzz = az * az;
    const mx = m * ax, my = m * ay, mz = m * az;
    h[0] += gxx * xx; h[1] += gxx * xy; h[2] += gxx * xz; h[3] += gxx * x; h[4] += gxx * yy; h[5] += gxx * yz; h[6] += gxx * y; h[7] += gxx * zz; h[8] += gxx * z; h[9] += gxx;
    h[10] += gxy * xx; h[11] += gxy * xy; h[12] += gxy * xz; h[13] += gxy * x; h[14] += gxy * yy; h[15] += gxy * yz; h[16] += gxy * y; h[17] += gxy * zz; h[18] += gxy * z; h[19] += gxy;
    h[20] += gxz * xx; h[21] += gxz * xy; h[22] += gxz * xz; h[23] += gxz * x; h[24] += gxz * yy; h[25] += gxz * yz; h[26] += gxz * y; h[27] += gxz * zz; h[28] += gxz * z; h[29] += gxz;
    h[30] += gyy * xx; h[31] += gyy * xy; h[32] += gyy * xz; h[33] += gyy * x; h[34] += gyy * yy; h[35] += gyy * yz; h[36] += gyy * y; h[37] += gyy * zz; h[38] += gyy * z; h[39] += gyy;
    h[40] += gyz * xx; h[41] += gyz * xy; h[42] += gyz * xz; h[43] += gyz * x; h[44] += gyz * yy; h[45] += gyz * yz; h[46] += gyz * y; h[47] += gyz * zz; h[48] += gyz * z; h[49] += gyz;
    h[50] += gzz * xx; h[51] += gzz * xy; h[52] += gzz * xz; h[53] += gzz * x; h[54] += gzz * yy; h[55] += gzz * yz; h[56] += gzz * y; h[57] += gzz * zz; h[58] += gzz * z; h[59] += gzz;
    h[60] += mx * x; h[61] += mx * y; h[62] += mx * z; h[63] += mx;
    h[64] += my * x; h[65] += my * y; h[66] += my * z; h[67] += my;
    h[68] += mz * x; h[69] += mz * y; h[70] += mz * z; h[71] += mz;
    h[72] += ax * x; h[73] += ax * y; h[74] += ax * z; h[75] += ax;
    h[76] += ay * x; h[77] += ay * y; h[78] += ay * z; h[79] += ay;
    h[80] += az * x; h[81] += az * y; h[82] += az * z; h[83] += az;
    h[84] += m * m;
    h[85] += m;
  }
  if (withJacobian) {
    jtr.set([r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13]);
    for (let e = 0; e < jtj.length; e++) jtj[e] = h[HESSIAN_SLOT[e]] * hessianStride;
  } else {
    jtj.fill(0);
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
