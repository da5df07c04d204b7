/**
 * 4×4 affine algebra on row-major `Mat4` (see volume.ts), plus the NIfTI qform
 * quaternion encoding. Pure functions; every result is a new matrix.
 */
import { mat4, type Mat4, type SpacingMm } from './volume';

/** A point or direction in 3-D (voxel or world coordinates, the caller says which). */
export type Vec3 = readonly [number, number, number];

/** a · b (apply b first, then a). */
export function multiply(a: Mat4, b: Mat4): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[4 * r + k] * b[4 * k + c];
      out[4 * r + c] = s;
    }
  }
  return out as Mat4;
}

/** Maps a point (w = 1) through an affine. */
export function applyToPoint(m: Mat4, p: Vec3): [number, number, number] {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  ];
}

/** Maps a direction (w = 0): the linear part only. */
export function applyToVector(m: Mat4, v: Vec3): [number, number, number] {
  return [
    m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
    m[4] * v[0] + m[5] * v[1] + m[6] * v[2],
    m[8] * v[0] + m[9] * v[1] + m[10] * v[2],
  ];
}

/** Determinant of the upper-left 3×3 block (the voxel→world linear part). */
export function det3(m: Mat4): number {
  return (
    m[0] * (m[5] * m[10] - m[6] * m[9]) -
    m[1] * (m[4] * m[10] - m[6] * m[8]) +
    m[2] * (m[4] * m[9] - m[5] * m[8])
  );
}

/**
 * Inverse of an affine (last row 0 0 0 1): inverts the 3×3 block by cofactors and
 * maps the translation back. Throws on a singular matrix, which no valid scan has.
 */
export function invert(m: Mat4): Mat4 {
  const d = det3(m);
  if (!Number.isFinite(d) || d === 0) throw new Error('the affine is singular (zero voxel size or collapsed axes)');
  const [a, b, c, , e, f, g, , h, i, j] = m;
  const inv = [
    (f * j - g * i) / d, (c * i - b * j) / d, (b * g - c * f) / d,
    (g * h - e * j) / d, (a * j - c * h) / d, (c * e - a * g) / d,
    (e * i - f * h) / d, (b * h - a * i) / d, (a * f - b * e) / d,
  ];
  const t = [m[3], m[7], m[11]];
  const out = new Float64Array(16);
  for (let r = 0; r < 3; r++) {
    out[4 * r] = inv[3 * r];
    out[4 * r + 1] = inv[3 * r + 1];
    out[4 * r + 2] = inv[3 * r + 2];
    out[4 * r + 3] = -(inv[3 * r] * t[0] + inv[3 * r + 1] * t[1] + inv[3 * r + 2] * t[2]);
  }
  out[15] = 1;
  return out as Mat4;
}

/** Voxel size along i, j, k in mm: the norms of the affine's first three columns. */
export function spacingFromAffine(m: Mat4): SpacingMm {
  const col = (c: number) => Math.hypot(m[c], m[4 + c], m[8 + c]);
  return [col(0), col(1), col(2)];
}

/** Largest absolute difference between two matrices (for tolerant comparisons). */
export function maxAbsDiff(a: Mat4, b: Mat4): number {
  let d = 0;
  for (let n = 0; n < 16; n++) d = Math.max(d, Math.abs(a[n] - b[n]));
  return d;
}

/** An affine from a 3×3 linear part (row-major) and a translation. */
export function fromLinear(linear: ArrayLike<number>, translation: Vec3): Mat4 {
  return mat4([
    linear[0], linear[1], linear[2], translation[0],
    linear[3], linear[4], linear[5], translation[1],
    linear[6], linear[7], linear[8], translation[2],
    0, 0, 0, 1,
  ]);
}

/** The 3×3 linear part, row-major. */
export function linearPart(m: Mat4): number[] {
  return [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]];
}

const POLAR_MAX_ITERATIONS = 100;
const POLAR_TOLERANCE = 1e-14;

/**
 * The rotation (or rotation-reflection) closest to a nonsingular 3×3 matrix in the
 * Frobenius norm: the orthogonal factor of its polar decomposition, computed by the
 * Newton iteration X ← (X + X⁻ᵀ)/2, which converges quadratically. This is what
 * nibabel's `io_orientation` obtains from an SVD (U·Vᵀ).
 */
export function closestOrthogonal(linear: readonly number[]): number[] {
  let x = linear.slice();
  for (let it = 0; it < POLAR_MAX_ITERATIONS; it++) {
    const inv = invert(fromLinear(x, [0, 0, 0]));
    const invT = [inv[0], inv[4], inv[8], inv[1], inv[5], inv[9], inv[2], inv[6], inv[10]];
    const next = x.map((v, n) => 0.5 * (v + invT[n]));
    const change = Math.max(...next.map((v, n) => Math.abs(v - x[n])));
    x = next;
    if (change < POLAR_TOLERANCE) break;
  }
  return x;
}

/** The NIfTI qform parameters: a unit quaternion (b, c, d; a ≥ 0 implied), offsets, voxel sizes and qfac. */
export interface Qform {
  readonly quaternB: number;
  readonly quaternC: number;
  readonly quaternD: number;
  readonly offset: Vec3;
  /** pixdim[1..3], mm (positive). */
  readonly pixdim: Vec3;
  /** pixdim[0]: −1 flips the k axis (left-handed voxel grid), else +1. */
  readonly qfac: 1 | -1;
}

/**
 * qform → affine, as nifti1_io's `quatern_to_mat44` (NIfTI-1 standard, method 2).
 * Non-positive voxel sizes are treated as 1 mm there; we refuse them instead (the
 * caller reports a bad header).
 */
export function qformToAffine(q: Qform): Mat4 {
  let b = q.quaternB;
  let c = q.quaternC;
  let d = q.quaternD;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    // Rounding put the quaternion on or past the unit sphere: a 180° rotation.
    const s = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= s;
    c *= s;
    d *= s;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const [xd, yd, zd0] = q.pixdim;
  const zd = q.qfac < 0 ? -zd0 : zd0;
  return fromLinear(
    [
      (a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd,
      2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd,
      2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd,
    ],
    q.offset,
  );
}

/**
 * affine → qform, as nifti1_io's `mat44_to_quatern`: voxel sizes are the column norms,
 * the rotation is the closest orthogonal matrix to the normalised columns (so a sheared
 * affine gets its nearest rigid approximation; see `qformRepresents`).
 */
export function affineToQform(m: Mat4): Qform {
  const spacing = spacingFromAffine(m);
  const lin = linearPart(m);
  for (let col = 0; col < 3; col++) for (let row = 0; row < 3; row++) lin[3 * row + col] /= spacing[col];
  const r = closestOrthogonal(lin);
  let qfac: 1 | -1 = 1;
  if (det3(fromLinear(r, [0, 0, 0])) < 0) {
    qfac = -1;
    r[2] = -r[2];
    r[5] = -r[5];
    r[8] = -r[8];
  }
  const [r11, r12, r13, r21, r22, r23, r31, r32, r33] = r;
  let a = r11 + r22 + r33 + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { quaternB: b, quaternC: c, quaternD: d, offset: [m[3], m[7], m[11]], pixdim: spacing, qfac };
}

/**
 * Whether the qform encoding reproduces the affine within `tolMm` at every corner of a
 * grid of `dims` voxels (a sheared affine has no exact qform).
 */
export function qformRepresents(m: Mat4, dims: Vec3, tolMm: number): boolean {
  const q = qformToAffine(affineToQform(m));
  for (const i of [0, dims[0] - 1])
    for (const j of [0, dims[1] - 1])
      for (const k of [0, dims[2] - 1]) {
        const p = applyToPoint(m, [i, j, k]);
        const r = applyToPoint(q, [i, j, k]);
        if (Math.hypot(p[0] - r[0], p[1] - r[1], p[2] - r[2]) > tolMm) return false;
      }
  return true;
}
