/**
 * Where a crop model's training subjects held their hippocampi, relative to the template's
 * (Colin27): the centre a manifest's `trainingPose` records (core/fullhead/head-pose.ts).
 *   npm run bench -- training-pose [--dir <crops: images/ + labels/>] [--n 40] [--min-ncc 0]
 *
 * Each crop (MSD-framed: a left hippocampus in RAS, a right one mirrored, as the full-head path
 * cuts its boxes) is placed with its labels' centroid on AAL's hippocampus centroid and
 * registered affinely to the template at 2 and 1 mm (the pipeline's own registration). The
 * rotation closest to the registration's linear part is the crop's hippocampal pose relative
 * to the template's: head pose and anatomy together. A right crop's pose is mirrored into the
 * left's frame (roll and turn change sign), so both sides pool. Without --dir: every k-th of
 * the MSD crops in split.json's `base_train` (the MSD models' training set); each crop's side
 * is unknown there, so it is registered as both and the better fit is kept. With --dir: crops
 * named `*_left.*` / `*_right.*` (e.g. the few-shot grid's synthetic FreeSurfer-protocol
 * pool); `--min-ncc` drops crops whose fit is too poor to read a pose from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyToPoint, multiply, type Vec3 } from '../src/core/affine';
import { labelCentroidMm } from '../src/core/measure';
import { boxToConformed } from '../src/core/fullhead/roi';
import { LEFT, RIGHT } from '../src/core/fullhead/template-build';
import { readTemplate } from '../src/core/fullhead/template-node';
import { registrationRotation, rotationAngleDeg, type HeadRotation } from '../src/core/fullhead/head-pose';
import { readVolume } from '../src/core/io';
import { buildPyramid } from '../src/core/registration/levels';
import { prepareFixed, registerAffine } from '../src/core/registration/register';
import { mat4, type Volume } from '../src/core/volume';
import { msdDir } from '../src/testing/shared';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
type Side = 'left' | 'right';
/** Registration levels, mm (the crops are 1 mm). */
const LEVELS_MM = [2, 1];
const ITERATIONS = 30;

const template = readTemplate();
const moving = buildPyramid(template.t1, LEVELS_MM);
const aal = { left: labelCentroidMm(template.hippocampus, LEFT)!, right: labelCentroidMm(template.hippocampus, RIGHT)! };

interface Pose {
  readonly ncc: number;
  readonly angleDeg: number;
  /** Rotation vector (axis × angle), degrees about R, A, S; a right crop's mirrored into the left's frame. */
  readonly vectorDeg: readonly [number, number, number];
}

function pose(crop: Volume, labels: Volume, side: Side): Pose {
  const m = boxToConformed([0, 0, 0], crop.dims as [number, number, number], side);
  const linear = mat4([m[0], m[1], m[2], 0, m[4], m[5], m[6], 0, m[8], m[9], m[10], 0, 0, 0, 0, 1]);
  const p = applyToPoint(linear, centroidVoxel(labels, (v) => v > 0));
  const c = aal[side];
  const affine = multiply(mat4([1, 0, 0, c[0] - p[0], 0, 1, 0, c[1] - p[1], 0, 0, 1, c[2] - p[2], 0, 0, 0, 1]), linear);
  const fixed = prepareFixed(buildPyramid({ ...crop, affine }, LEVELS_MM));
  const result = registerAffine(fixed, moving, { schedule: LEVELS_MM.map(() => ({ maxIterations: ITERATIONS })) });
  const rotation = registrationRotation(result.transform);
  const v = rotation ? rotationVectorDeg(rotation) : ([NaN, NaN, NaN] as const);
  return { ncc: result.ncc, angleDeg: rotation ? rotationAngleDeg(rotation) : NaN, vectorDeg: side === 'right' ? [v[0], -v[1], -v[2]] : v };
}

function rotationVectorDeg(r: HeadRotation): [number, number, number] {
  const angle = rotationAngleDeg(r);
  const axis = [r[7] - r[5], r[2] - r[6], r[3] - r[1]];
  const norm = Math.hypot(axis[0], axis[1], axis[2]);
  return norm === 0 ? [0, 0, 0] : [(axis[0] / norm) * angle, (axis[1] / norm) * angle, (axis[2] / norm) * angle];
}

/** A volume's voxel-index centroid of the voxels `keep` accepts (`labelCentroidMm` with the identity affine). */
function centroidVoxel(v: Volume, keep: (x: number) => boolean): Vec3 {
  const centre = labelCentroidMm({ dims: v.dims, affine: IDENTITY, data: Uint8Array.from(v.data, (x) => (keep(x) ? 1 : 0)) }, 1);
  if (!centre) throw new Error('no labelled voxel to place the crop by');
  return centre;
}

const IDENTITY = mat4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);

const read = (dir: string, sub: string, name: string) => readVolume(new Uint8Array(readFileSync(join(dir, sub, name))), name);
const dir = option('--dir');
const minNcc = Number(option('--min-ncc') ?? 0);
const poses: { name: string; side: Side; pose: Pose }[] = [];
if (dir) {
  for (const name of readdirSync(join(dir, 'images')).sort()) {
    const side: Side = /right/.test(name) ? 'right' : 'left';
    poses.push({ name, side, pose: pose(read(dir, 'images', name), read(dir, 'labels', name), side) });
  }
} else {
  const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as Record<string, string[]>;
  const names = split.base_train;
  const every = Math.max(1, Math.ceil(names.length / Number(option('--n') ?? 40)));
  for (const name of names.filter((_, i) => i % every === 0)) {
    const crop = read(msdDir, 'images', name);
    const labels = read(msdDir, 'labels', name);
    const left = pose(crop, labels, 'left');
    const right = pose(crop, labels, 'right');
    poses.push(left.ncc >= right.ncc ? { name, side: 'left', pose: left } : { name, side: 'right', pose: right });
  }
}

console.log(`training-pose: ${new Date().toISOString()}, ${dir ?? `${msdDir} (base_train)`}`);
console.log('| crop | side (fit) | NCC | angle ° | about R ° | about A ° | about S ° |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const { name, side, pose: p } of poses) {
  console.log(`| ${name} | ${side} | ${p.ncc.toFixed(3)} | ${p.angleDeg.toFixed(1)} | ${p.vectorDeg.map((x) => x.toFixed(1)).join(' | ')} |`);
}
// A fit that mirrors the crop has no pose to read (registrationRotation: null).
const kept = poses.filter((p) => p.pose.ncc >= minNcc && Number.isFinite(p.pose.angleDeg)).map((p) => p.pose.vectorDeg);
const mean = [0, 1, 2].map((a) => kept.reduce((s, v) => s + v[a], 0) / kept.length);
const sd = [0, 1, 2].map((a) => Math.sqrt(kept.reduce((s, v) => s + (v[a] - mean[a]) ** 2, 0) / kept.length));
const fromMean = kept.map((v) => Math.hypot(v[0] - mean[0], v[1] - mean[1], v[2] - mean[2])).sort((a, b) => a - b);
const q = (f: number) => fromMean[Math.min(fromMean.length - 1, Math.floor(f * fromMean.length))].toFixed(1);
console.log(`\n${kept.length} of ${poses.length} crops (NCC ≥ ${minNcc}, a fit that does not mirror).`);
console.log(`Mean pose, degrees about R (pitch) / A (roll) / S (turn): ${mean.map((x) => x.toFixed(1)).join(' / ')} (sd ${sd.map((x) => x.toFixed(1)).join(' / ')}).`);
console.log(`Each crop's distance from the mean pose: median ${q(0.5)}°, 75th percentile ${q(0.75)}°, 90th ${q(0.9)}°.`);
