/**
 * The head's pose in scan world space, and the 1 mm grid turned with it that the hippocampus
 * boxes and crops are cut on. A crop model learnt hippocampi held as its training subjects held
 * them (its `TrainingPose`: a centre relative to the template, and how far about it training
 * covered), so the crops are turned by the part of the head's pose, taken from that centre,
 * beyond what training covered.
 *
 * A rotation here is 3×3, row-major, one column per axis: the head's R, A and S directions as
 * unit vectors of scan world (RAS+ mm). The identity is a head held as the template holds it.
 */
import { closestOrthogonal, det3, linearPart, type Vec3 } from '../affine';
import type { Grid } from '../resample';
import { mat4, type Mat4 } from '../volume';

export type HeadRotation = readonly number[];

export const IDENTITY_ROTATION: HeadRotation = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/**
 * How far the crop models' training turned a subject, degrees about each axis: the synthetic
 * FreeSurfer-protocol crops (training/fs_crops.py's FS_CROP, from training/synth/generator.py's
 * CROP: `max_rotation_deg`).
 */
export const TRAINED_ROTATION_DEG = 12;

/**
 * Where a crop model's training subjects held their hippocampi, relative to the template's
 * (Colin27), and how far about that centre training covered. The model's manifest records it
 * (`trainingPose`); bench/RESULTS.md "Crops cut in the training subjects' pose" has the
 * measurements.
 */
export interface TrainingPose {
  /** The centre: a pitch about the R axis, degrees (`pitchRotation`'s sign). */
  readonly pitchDeg: number;
  /** How far from the centre, degrees about any axis, training covered: crops turn only by the part beyond it. */
  readonly allowanceDeg: number;
}

/**
 * A model whose manifest says nothing: trained around the template's own pose, within
 * `TRAINED_ROTATION_DEG` (the FreeSurfer-protocol models' generator range).
 */
export const DEFAULT_TRAINING_POSE: TrainingPose = { pitchDeg: 0, allowanceDeg: TRAINED_ROTATION_DEG };

/**
 * The rotation a registration found (template world mm → scan world mm): the rotation closest
 * to its linear part, without its scale and shear. Null for one that mirrors the head.
 */
export function registrationRotation(templateToScan: Mat4): HeadRotation | null {
  if (det3(templateToScan) <= 0) return null;
  return closestOrthogonal(linearPart(templateToScan));
}

/** The angle of a rotation, degrees (0 for the identity). */
export function rotationAngleDeg(r: HeadRotation): number {
  const cos = (r[0] + r[4] + r[8] - 1) / 2;
  return (Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI;
}

/** The rotation taking `b` to `a` (a · bᵀ), both rotations: the angle between two poses is its angle. */
export function rotationBetween(a: HeadRotation, b: HeadRotation): HeadRotation {
  const out: number[] = [];
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) out.push(a[3 * row] * b[3 * col] + a[3 * row + 1] * b[3 * col + 1] + a[3 * row + 2] * b[3 * col + 2]);
  }
  return out;
}

/**
 * The part of a rotation beyond `allowedDeg`: about the same axis, by its angle less `allowedDeg`;
 * the identity when the rotation is no larger.
 */
export function rotationBeyond(r: HeadRotation, allowedDeg: number): HeadRotation {
  const angle = rotationAngleDeg(r);
  if (angle <= allowedDeg) return IDENTITY_ROTATION;
  const [x, y, z] = [r[7] - r[5], r[2] - r[6], r[3] - r[1]];
  const norm = Math.hypot(x, y, z);
  // A half turn has no axis in this form; no head lies that far from the template.
  if (norm === 0) return IDENTITY_ROTATION;
  return axisAngle([x / norm, y / norm, z / norm], ((angle - allowedDeg) * Math.PI) / 180);
}

/**
 * The rotation the crops are cut in: the registration's, composed with the training pose's
 * centre, beyond what training covered about it. The identity for a head inside that range, a
 * registration that mirrors, or one that failed (its rotation is as wrong as its fit).
 */
export function cropRotation(templateToScan: Mat4, failed: boolean, pose: TrainingPose = DEFAULT_TRAINING_POSE): HeadRotation {
  const found = failed ? null : registrationRotation(templateToScan);
  return found ? rotationBeyond(composeRotations(found, pitchRotation(pose.pitchDeg)), pose.allowanceDeg) : IDENTITY_ROTATION;
}

/**
 * A conformed (RAS, 1 mm) grid turned by `rotation` about its first voxel: the same dims and
 * origin, its axes the rotation's columns. The identity gives the conformed grid itself, so
 * the crops of an axis-aligned 1 mm scan stay exact voxel copies.
 */
export function posedGrid(conformed: Grid, rotation: HeadRotation): Grid {
  const a = conformed.affine;
  const m = new Float64Array(16);
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) m[4 * row + col] = rotation[3 * row + col];
    m[4 * row + 3] = a[4 * row + 3];
  }
  m[15] = 1;
  return { dims: conformed.dims, affine: mat4(m) };
}

/** A pitch by `deg` about the R axis; positive lifts the nose (A turns towards S). */
export function pitchRotation(deg: number): HeadRotation {
  return axisAngle([1, 0, 0], (deg * Math.PI) / 180);
}

/** A roll by `deg` about the A axis (the head towards a shoulder); positive turns S towards R. */
export function rollRotation(deg: number): HeadRotation {
  return axisAngle([0, 1, 0], (deg * Math.PI) / 180);
}

/** A turn by `deg` about the S axis (the face to one side); positive turns R towards A. */
export function yawRotation(deg: number): HeadRotation {
  return axisAngle([0, 0, 1], (deg * Math.PI) / 180);
}

/** The rotation a · b: b first, then a. */
export function composeRotations(a: HeadRotation, b: HeadRotation): HeadRotation {
  const out: number[] = [];
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) out.push(a[3 * row] * b[col] + a[3 * row + 1] * b[3 + col] + a[3 * row + 2] * b[6 + col]);
  }
  return out;
}

/**
 * The smallest rotation taking the direction of `from` to that of `to` (about their cross
 * product). Null for directions more than 90° apart: a head does not lie upside down or with
 * left and right swapped, so such a direction is a wrong finding, not a pose.
 */
export function rotationTaking(from: Vec3, to: Vec3): HeadRotation | null {
  const a = unit(from), b = unit(to);
  if (!a || !b) return null;
  const cos = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  if (cos <= 0) return null;
  const axis: Vec3 = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const sin = Math.hypot(...axis);
  if (sin === 0) return IDENTITY_ROTATION;
  return axisAngle([axis[0] / sin, axis[1] / sin, axis[2] / sin], Math.atan2(sin, cos));
}

function unit(v: Vec3): Vec3 | null {
  const n = Math.hypot(v[0], v[1], v[2]);
  return n > 0 && Number.isFinite(n) ? [v[0] / n, v[1] / n, v[2] / n] : null;
}

/** The rigid transform x ↦ rotation · (x − from) + to: turns about `from` and carries it to `to`. */
export function rigidAbout(rotation: HeadRotation, from: Vec3, to: Vec3): Mat4 {
  const m = new Float64Array(16);
  for (let row = 0; row < 3; row++) {
    const r = rotation.slice(3 * row, 3 * row + 3);
    for (let col = 0; col < 3; col++) m[4 * row + col] = r[col];
    m[4 * row + 3] = to[row] - (r[0] * from[0] + r[1] * from[1] + r[2] * from[2]);
  }
  m[15] = 1;
  return mat4(m);
}

/** Rodrigues' rotation about a unit axis by `radians`. */
function axisAngle([x, y, z]: Vec3, radians: number): HeadRotation {
  const c = Math.cos(radians);
  const s = Math.sin(radians);
  const t = 1 - c;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
}
