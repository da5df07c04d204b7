/**
 * One entry point for scan files: NIfTI-1/2 (.nii, .nii.gz) and MGH/MGZ, recognised by
 * their content (the name only shapes messages). Pure: works in browser, worker, Node.
 */
import { spacingFromAffine } from '../affine';
import { voxelCount, type Volume, type VoxelArray } from '../volume';
import { decodeVoxels } from './datatypes';
import { formatCount, VolumeReadError } from './errors';
import { gunzipPrefix, isGzip } from './gzip';
import type { ParsedHeader } from './header';
import { looksLikeMgh, MGH_HEADER_BYTES, parseMghHeader } from './mgh-header';
import { NIFTI_HEAD_BYTES, niftiVersion, parseNiftiHeader } from './nifti-header';
import { checkFinite, spatialDims } from './validate';

export const SUPPORTED_FORMATS = 'NIfTI-1/NIfTI-2 (.nii, .nii.gz) and FreeSurfer MGH/MGZ (.mgh, .mgz)';

const HEAD_BYTES = Math.max(NIFTI_HEAD_BYTES, MGH_HEADER_BYTES);
/** DICOM part-10 files carry "DICM" after a 128-byte preamble. */
const DICOM_MAGIC_OFFSET = 128;

function isDicom(head: Uint8Array): boolean {
  return head.length >= DICOM_MAGIC_OFFSET + 4 && String.fromCharCode(...head.subarray(DICOM_MAGIC_OFFSET, DICOM_MAGIC_OFFSET + 4)) === 'DICM';
}

function parseHeader(head: Uint8Array, fileName: string): ParsedHeader {
  const lower = fileName.toLowerCase();
  const mghByName = lower.endsWith('.mgh') || lower.endsWith('.mgz');
  if (!mghByName && niftiVersion(head) !== 0) return parseNiftiHeader(head, fileName);
  if (looksLikeMgh(head)) return parseMghHeader(head, fileName);
  if (isDicom(head)) {
    throw new VolumeReadError('unsupported-format', `${fileName} is a single DICOM file. Load the whole DICOM series in the studio, or convert it to NIfTI first (dcm2niix).`);
  }
  throw new VolumeReadError('unsupported-format', `${fileName} is not a scan format Seahorse reads. Supported: ${SUPPORTED_FORMATS}.`);
}

function applyScaling(raw: VoxelArray, slope: number, inter: number): Float32Array | Float64Array {
  const out = raw instanceof Float64Array ? new Float64Array(raw.length) : new Float32Array(raw.length);
  for (let p = 0; p < raw.length; p++) out[p] = raw[p] * slope + inter;
  return out;
}

export interface ReadOptions {
  /**
   * NaN/Inf voxels: `reject` (default) throws a VolumeReadError saying how many;
   * `zero` replaces them with 0.
   */
  readonly nonFinite?: 'reject' | 'zero';
  /**
   * A faster gzip inflater for the body (Node: gunzip-node.ts): the first `size` bytes, or
   * null to fall back to the portable one, which also puts every failure into words.
   */
  readonly gunzip?: (bytes: Uint8Array, size: number) => Uint8Array | null;
}

/**
 * Parses a scan file into a Volume: voxels i-fastest, affine voxel → RAS mm from the
 * header (sform, else qform, else pixdim), intensity scaling applied. Voxels keep
 * their stored type unless scaled (then float32; float64 if stored as float64).
 * Throws VolumeReadError with a readable message for anything it cannot use.
 */
export function readVolume(bytes: Uint8Array, fileName: string, opts: ReadOptions = {}): Volume {
  if (bytes.length === 0) throw new VolumeReadError('empty-file', `${fileName} is empty (0 bytes).`);
  const gz = isGzip(bytes);
  const head = gz ? gunzipPrefix(bytes, HEAD_BYTES, fileName) : bytes.subarray(0, HEAD_BYTES);
  const header = parseHeader(head, fileName);
  // Size checks come before the body is inflated, so a huge or 4-D file fails fast.
  const dims = spatialDims(header.dims, fileName);
  const count = voxelCount(dims);
  const needed = header.voxOffset + count * header.datatype.bytes;
  const file = gz ? (opts.gunzip?.(bytes, needed) ?? gunzipPrefix(bytes, needed, fileName)) : bytes;
  if (file.length < needed) {
    throw new VolumeReadError(
      'truncated',
      `${fileName} is cut short: the ${header.format} header promises ${formatCount(count * header.datatype.bytes)} bytes of voxels but only ${formatCount(Math.max(file.length - header.voxOffset, 0))} are there (an incomplete download or copy?).`,
    );
  }
  const raw = decodeVoxels(file, header.voxOffset, count, header.datatype, header.littleEndian);
  const data = header.scaling ? applyScaling(raw, header.scaling.slope, header.scaling.inter) : raw;
  if (opts.nonFinite === 'zero') {
    for (let p = 0; p < data.length; p++) if (!Number.isFinite(data[p])) data[p] = 0;
  } else {
    checkFinite(data, fileName);
  }
  return { dims, spacing: spacingFromAffine(header.affine), affine: header.affine, data };
}
