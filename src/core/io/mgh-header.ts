/**
 * FreeSurfer MGH headers (.mgh; .mgz is the same gzip-compressed). Big-endian, 284
 * bytes, voxels i-fastest like NIfTI. The affine comes from the direction cosines
 * (Mdc), voxel sizes and the RAS position of the volume centre (at voxel dims / 2, the
 * FreeSurfer convention, as nibabel and NiiVue compute it).
 */
import { fromLinear } from '../affine';
import { DATATYPES, type Datatype } from './datatypes';
import { VolumeReadError } from './errors';
import type { ParsedHeader } from './header';

export const MGH_HEADER_BYTES = 284;
const MGH_VERSION = 1;

/** MGH type codes → NIfTI datatypes. */
const MGH_TYPES: ReadonlyMap<number, Datatype> = new Map([
  [0, DATATYPES.get(2)!], // UCHAR
  [1, DATATYPES.get(8)!], // INT
  [3, DATATYPES.get(16)!], // FLOAT
  [4, DATATYPES.get(4)!], // SHORT
]);

/** Whether the bytes plausibly start with an MGH header (version 1, big-endian). */
export function looksLikeMgh(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getInt32(0, false) === MGH_VERSION;
}

export function parseMghHeader(head: Uint8Array, fileName: string): ParsedHeader {
  if (head.length < MGH_HEADER_BYTES) {
    throw new VolumeReadError('truncated', `${fileName} is cut short: it ends inside the MGH header (${head.length} of ${MGH_HEADER_BYTES} bytes).`);
  }
  const v = new DataView(head.buffer, head.byteOffset, MGH_HEADER_BYTES);
  const version = v.getInt32(0, false);
  if (version !== MGH_VERSION) {
    throw new VolumeReadError('corrupt', `${fileName} is not a valid MGH file (version ${version}, expected ${MGH_VERSION}).`);
  }
  const dims = [v.getInt32(4, false), v.getInt32(8, false), v.getInt32(12, false), v.getInt32(16, false)];
  const type = v.getInt32(20, false);
  const datatype = MGH_TYPES.get(type);
  if (!datatype) {
    throw new VolumeReadError('unsupported-datatype', `${fileName} uses MGH voxel type ${type}; Seahorse reads uchar, short, int and float MGH files.`);
  }
  const goodRAS = v.getInt16(28, false);
  if (goodRAS <= 0) {
    // FreeSurfer and nibabel disagree on the default orientation here; guessing could
    // mirror left and right, so we refuse.
    throw new VolumeReadError('bad-geometry', `${fileName} has no scanner orientation (MGH goodRASFlag = ${goodRAS}), so left and right cannot be told apart. Re-save it with FreeSurfer's mri_convert from a file that has one.`);
  }
  const f = (at: number) => v.getFloat32(at, false);
  const delta = [f(30), f(34), f(38)];
  if (!delta.every((d) => Number.isFinite(d) && d > 0)) {
    throw new VolumeReadError('bad-geometry', `${fileName} has an invalid voxel size (${delta.join(' × ')} mm).`);
  }
  // Mdc is stored as x_(r,a,s), y_(r,a,s), z_(r,a,s): the world direction of each voxel axis.
  const mdc = Array.from({ length: 9 }, (_, n) => f(42 + 4 * n));
  const centre = [f(78), f(82), f(86)];
  const lin = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let row = 0; row < 3; row++) for (let col = 0; col < 3; col++) lin[3 * row + col] = mdc[3 * col + row] * delta[col];
  const t = [0, 1, 2].map((row) => centre[row] - (lin[3 * row] * dims[0] + lin[3 * row + 1] * dims[1] + lin[3 * row + 2] * dims[2]) / 2);
  const affine = fromLinear(lin, [t[0], t[1], t[2]]);
  if (!affine.every(Number.isFinite)) {
    throw new VolumeReadError('bad-geometry', `${fileName} has a non-finite orientation matrix.`);
  }
  return { format: 'MGH', dims, datatype, voxOffset: MGH_HEADER_BYTES, littleEndian: false, affine, scaling: null };
}
