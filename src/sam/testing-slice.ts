/**
 * The real slice the SAM model tests encode: bert's coronal slice through the middle of its
 * left hippocampus (aseg 17), as SAM's encoder input [1, 3, 1024, 1024]. Tests only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVolume } from '../core/io';
import { maskOf } from '../core/metrics';
import { labelBox } from './label-boxes';
import { intensityWindow, resizeGeometry, SAM_IMAGE_SIZE, samEncoderInput } from './preprocess';
import { extractSlice, slicePlane } from './slice-geometry';

export function bertHippocampusSliceInput(bertDir: string): { input: Float32Array; shape: number[] } {
  const img = readVolume(new Uint8Array(readFileSync(join(bertDir, 'norm.mgz'))), 'norm.mgz');
  const seg = readVolume(new Uint8Array(readFileSync(join(bertDir, 'aseg.mgz'))), 'aseg.mgz');
  const b = labelBox(maskOf(seg.data, 17), seg.dims, 1, 2)!;
  const plane = slicePlane(img.dims, img.affine, img.spacing, 'coronal');
  const pixels = extractSlice(plane, img.dims, img.data, Math.round((b.lo[2] + b.hi[2]) / 2));
  const input = samEncoderInput(pixels, resizeGeometry(plane.width, plane.height, plane.pixelMm), intensityWindow(img.data));
  return { input, shape: [1, 3, SAM_IMAGE_SIZE, SAM_IMAGE_SIZE] };
}
