/**
 * NIfTI-1 single-file writer (.nii or .nii.gz): the exact grid and affine of the
 * volume, as sform (always) and qform (when the affine is a rotation + voxel sizes,
 * i.e. has no shear; otherwise qform_code 0 so that no reader picks a wrong one).
 * The header is built by nifti-reader-js's NIFTI1 serialiser.
 */
import { gzipSync } from 'fflate';
import { NIFTI1 } from 'nifti-reader-js';
import { affineToQform, qformRepresents } from '../affine';
import type { Volume, VoxelArray } from '../volume';

/** NIfTI-1 datatype code and bits per voxel of each array type we write. */
function datatypeOf(data: VoxelArray): [code: number, bits: number] {
  if (data instanceof Uint8Array) return [2, 8];
  if (data instanceof Int8Array) return [256, 8];
  if (data instanceof Uint16Array) return [512, 16];
  if (data instanceof Int16Array) return [4, 16];
  if (data instanceof Uint32Array) return [768, 32];
  if (data instanceof Int32Array) return [8, 32];
  if (data instanceof Float32Array) return [16, 32];
  return [64, 64];
}

/** NIfTI xform codes (sform_code / qform_code). */
export const XFORM_SCANNER_ANAT = 1;
export const XFORM_ALIGNED_ANAT = 2;

export interface WriteNiftiOptions {
  /** gzip the file (.nii.gz). Default true. */
  readonly gzip?: boolean;
  /** sform/qform code. Default 1 (scanner anatomical), the input's own space. */
  readonly xformCode?: number;
  /** Header description, at most 79 ASCII characters. */
  readonly description?: string;
  /** Display window hint (cal_min, cal_max), e.g. [0, 2] for a label volume. */
  readonly displayRange?: readonly [number, number];
}

/** Largest corner disagreement (mm) tolerated between the affine and its qform encoding. */
const QFORM_TOLERANCE_MM = 1e-4;
/** Single-file NIfTI-1: 348-byte header, 4-byte extension flag, then voxels. */
const VOX_OFFSET = 352;
const NIFTI_UNITS_MM = 2;

export function writeNifti(vol: Volume, opts: WriteNiftiOptions = {}): Uint8Array {
  const code = opts.xformCode ?? XFORM_SCANNER_ANAT;
  const [datatypeCode, bits] = datatypeOf(vol.data);
  const hdr = new NIFTI1();
  hdr.littleEndian = true;
  hdr.dims = [3, vol.dims[0], vol.dims[1], vol.dims[2], 1, 1, 1, 1];
  hdr.datatypeCode = datatypeCode;
  hdr.numBitsPerVoxel = bits;
  hdr.vox_offset = VOX_OFFSET;
  hdr.scl_slope = 1;
  hdr.scl_inter = 0;
  hdr.xyzt_units = NIFTI_UNITS_MM;
  hdr.magic = 'n+1';
  hdr.description = (opts.description ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 79);
  hdr.aux_file = '';
  hdr.intent_name = '';
  if (opts.displayRange) [hdr.cal_min, hdr.cal_max] = opts.displayRange;

  const q = affineToQform(vol.affine);
  const qformOk = qformRepresents(vol.affine, vol.dims, QFORM_TOLERANCE_MM);
  hdr.qform_code = qformOk ? code : 0;
  hdr.sform_code = code;
  hdr.quatern_b = q.quaternB;
  hdr.quatern_c = q.quaternC;
  hdr.quatern_d = q.quaternD;
  [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z] = q.offset;
  hdr.pixDims = [q.qfac, q.pixdim[0], q.pixdim[1], q.pixdim[2], 0, 0, 0, 0];
  const a = vol.affine;
  hdr.affine = [
    [a[0], a[1], a[2], a[3]],
    [a[4], a[5], a[6], a[7]],
    [a[8], a[9], a[10], a[11]],
    [0, 0, 0, 1],
  ];

  const header = new Uint8Array(hdr.toArrayBuffer(false));
  const body = new Uint8Array(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength);
  const file = new Uint8Array(VOX_OFFSET + body.length);
  file.set(header, 0);
  // Voxels go in memory order as stored; every platform running browsers or Node is
  // little-endian, which the header declares.
  file.set(body, VOX_OFFSET);
  return opts.gzip === false ? file : gzipSync(file, { level: 6 });
}
