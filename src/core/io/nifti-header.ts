/**
 * NIfTI-1 and NIfTI-2 headers. nifti-reader-js parses the fields; the affine is ours,
 * because the standard's precedence is not the library's: sform when sform_code > 0,
 * else qform when qform_code > 0, else pixdim scaling alone (NIfTI "method 1", which is
 * also what NiiVue shows).
 */
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';
import { fromLinear, qformToAffine } from '../affine';
import type { Mat4 } from '../volume';
import { DATATYPES, UNSUPPORTED_DATATYPES } from './datatypes';
import { VolumeReadError } from './errors';
import type { ParsedHeader } from './header';

export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI2_HEADER_BYTES = 540;
/** Header + the 4-byte extension flag that single-file NIfTI always carries. */
export const NIFTI_HEAD_BYTES = NIFTI2_HEADER_BYTES + 4;

/** Byte offset of srow_x in each version (srow_y, srow_z follow). */
const SROW_OFFSET = { 1: 280, 2: 400 } as const;

/** 1 or 2 when the bytes start with a NIfTI header (either byte order), else 0. */
export function niftiVersion(head: Uint8Array): 0 | 1 | 2 {
  if (head.length < 4) return 0;
  const v = new DataView(head.buffer, head.byteOffset, 4);
  for (const le of [true, false]) {
    const size = v.getInt32(0, le);
    if (size === NIFTI1_HEADER_BYTES) return 1;
    if (size === NIFTI2_HEADER_BYTES) return 2;
  }
  return 0;
}

function sformOf(head: Uint8Array, version: 1 | 2, le: boolean): Mat4 {
  const v = new DataView(head.buffer, head.byteOffset, head.length);
  const base = SROW_OFFSET[version];
  const size = version === 1 ? 4 : 8;
  const read = (n: number) => (version === 1 ? v.getFloat32(base + n * size, le) : v.getFloat64(base + n * size, le));
  const m = Array.from({ length: 12 }, (_, n) => read(n));
  return fromLinear([m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]], [m[3], m[7], m[11]]);
}

function badGeometry(fileName: string, why: string): VolumeReadError {
  return new VolumeReadError('bad-geometry', `${fileName} has an unusable position/voxel-size header (${why}); it cannot be placed in scanner space.`);
}

export function parseNiftiHeader(head: Uint8Array, fileName: string): ParsedHeader {
  const version = niftiVersion(head);
  const need = version === 2 ? NIFTI2_HEADER_BYTES : NIFTI1_HEADER_BYTES;
  if (version === 0) throw new Error('not a NIfTI header');
  if (head.length < need) {
    throw new VolumeReadError('truncated', `${fileName} is cut short: it ends inside the NIfTI header (${head.length} of ${need} bytes).`);
  }
  const buffer = head.buffer.slice(head.byteOffset, head.byteOffset + head.length) as ArrayBuffer;
  const hdr = version === 1 ? new NIFTI1() : new NIFTI2();
  try {
    hdr.readHeader(buffer);
  } catch (err) {
    throw new VolumeReadError('corrupt', `${fileName} has a damaged NIfTI header (${err instanceof Error ? err.message : err}).`);
  }
  // The magic is 4 bytes for NIfTI-1 ("n+1\0") and 8 for NIfTI-2 ("n+2\0\r\n\x1a\n").
  const magic = hdr.magic.slice(0, 3);
  if (magic === 'ni1' || magic === 'ni2') {
    throw new VolumeReadError('unsupported-format', `${fileName} is the header half of a NIfTI .hdr/.img pair; Seahorse reads single-file NIfTI. Convert it to .nii or .nii.gz (e.g. with fslchfiletype or nibabel).`);
  }
  if (magic !== 'n+1' && magic !== 'n+2') {
    throw new VolumeReadError('unsupported-format', `${fileName} looks like an ANALYZE 7.5 or damaged NIfTI file (magic "${magic}"); Seahorse reads NIfTI-1/2 (.nii, .nii.gz) and MGH/MGZ.`);
  }
  const datatype = DATATYPES.get(hdr.datatypeCode);
  if (!datatype) {
    const name = UNSUPPORTED_DATATYPES.get(hdr.datatypeCode) ?? `code ${hdr.datatypeCode}`;
    throw new VolumeReadError('unsupported-datatype', `${fileName} stores ${name} voxels; Seahorse reads greyscale scans (integer or floating-point voxels).`);
  }
  const rank = hdr.dims[0];
  if (!(rank >= 1 && rank <= 7)) {
    throw new VolumeReadError('corrupt', `${fileName} has a damaged NIfTI header (dim[0] = ${rank}, expected 1–7).`);
  }
  const dims = Array.from({ length: Math.max(rank, 3) }, (_, a) => (a < rank ? Number(hdr.dims[a + 1]) : 1));

  let affine: Mat4;
  if (hdr.sform_code > 0) {
    affine = sformOf(head, version, hdr.littleEndian);
  } else {
    const pixdim = [hdr.pixDims[1], hdr.pixDims[2], hdr.pixDims[3]] as const;
    if (!pixdim.every((p) => Number.isFinite(p) && p > 0)) {
      throw badGeometry(fileName, `voxel size ${pixdim.join(' × ')} mm`);
    }
    affine =
      hdr.qform_code > 0
        ? qformToAffine({
            quaternB: hdr.quatern_b,
            quaternC: hdr.quatern_c,
            quaternD: hdr.quatern_d,
            offset: [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z],
            pixdim,
            qfac: hdr.pixDims[0] < 0 ? -1 : 1,
          })
        : fromLinear([pixdim[0], 0, 0, 0, pixdim[1], 0, 0, 0, pixdim[2]], [0, 0, 0]);
  }
  if (!affine.every(Number.isFinite)) throw badGeometry(fileName, 'non-finite affine');

  const slope = hdr.scl_slope;
  const inter = Number.isFinite(hdr.scl_inter) ? hdr.scl_inter : 0;
  // NIfTI: slope 0 (or missing) means the stored values are the values.
  const scaled = Number.isFinite(slope) && slope !== 0 && (slope !== 1 || inter !== 0);
  const voxOffset = Number(hdr.vox_offset);
  if (!(voxOffset >= need)) {
    throw new VolumeReadError('corrupt', `${fileName} has a damaged NIfTI header (voxel data offset ${voxOffset} lies inside the header).`);
  }
  return {
    format: version === 1 ? 'NIfTI-1' : 'NIfTI-2',
    dims,
    datatype,
    voxOffset,
    littleEndian: hdr.littleEndian,
    affine,
    scaling: scaled ? { slope, inter } : null,
  };
}
