/**
 * Broken scans, made from a real MSD crop (hippocampus_001: uint8, 35 × 51 × 35, single-file
 * NIfTI-1 with the voxels at byte 352). Each is one thing a user could really drop.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { msdDir } from '../src/testing/shared';

const msdScan = join(msdDir, 'images', 'hippocampus_001.nii.gz');

const voxOffset = 352;
const dimOffset = 40; // dim[0..7], int16
const datatypeOffset = 70;
const bitpixOffset = 72;
const float32Code = 16;

export interface BadInput {
  readonly name: string;
  readonly buffer: Buffer;
  /** Words the studio's message must contain. */
  readonly expected: RegExp;
}

function msdNifti(): Buffer {
  return gunzipSync(readFileSync(msdScan));
}

function withDims(header: Buffer, dims: readonly number[]): Buffer {
  const out = Buffer.from(header);
  dims.forEach((d, i) => out.writeInt16LE(d, dimOffset + 2 * i));
  return out;
}

export function badInputs(): BadInput[] {
  const gz = readFileSync(msdScan);
  const nii = msdNifti();
  const header = nii.subarray(0, voxOffset);
  const voxels = nii.subarray(voxOffset);
  const [nx, ny] = [header.readInt16LE(dimOffset + 2), header.readInt16LE(dimOffset + 4)];

  const floats = new Float32Array(voxels.length);
  floats.forEach((_, i) => (floats[i] = voxels[i]));
  floats[1234] = Number.NaN;
  const floatHeader = Buffer.from(header);
  floatHeader.writeInt16LE(float32Code, datatypeOffset);
  floatHeader.writeInt16LE(32, bitpixOffset);

  return [
    {
      name: 'truncated.nii.gz',
      buffer: gz.subarray(0, Math.floor(gz.length * 0.6)),
      expected: /cut short/,
    },
    {
      name: 'fmri-4d.nii',
      buffer: Buffer.concat([withDims(header, [4, 35, 51, 35, 2, 1, 1, 1]), voxels, voxels]),
      expected: /holds 2 volumes/,
    },
    {
      name: 'notes.nii',
      buffer: Buffer.from('Patient notes: this is a text file that was renamed to .nii by mistake.\n'.repeat(8)),
      expected: /not a scan format/,
    },
    {
      name: 'slice-2d.nii',
      buffer: Buffer.concat([withDims(header, [2, nx, ny, 1, 1, 1, 1, 1]), voxels.subarray(0, nx * ny)]),
      expected: /2-D image/,
    },
    {
      name: 'with-nan.nii',
      buffer: Buffer.concat([floatHeader, Buffer.from(floats.buffer)]),
      expected: /NaN or infinite/,
    },
    {
      name: 'empty.nii.gz',
      buffer: Buffer.alloc(0),
      expected: /empty \(0 bytes\)/,
    },
  ];
}
