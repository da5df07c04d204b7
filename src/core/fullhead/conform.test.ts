import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NVImage, Niivue } from '@niivue/niivue';
import { describe, expect, it } from 'vitest';
import { applyToPoint, invert, multiply } from '../affine';
import { readVolume, writeNifti } from '../io';
import { reorientToRAS } from '../orientation';
import { dataDir, hasShared, sharedMissing } from '../../testing/shared';
import type { Volume } from '../volume';
import { mat4 } from '../volume';
import { conform, conformedGrid } from './conform';

/** NiiVue's own conform (FastSurfer's rules), run in Node on raw float output: the reference. */
async function niivueConform(vol: Volume): Promise<Volume<Float32Array>> {
  const bytes = writeNifti(vol, { gzip: false });
  // NVImage.new's other 18 parameters have defaults in the code but not in the typings.
  const load = NVImage.new.bind(NVImage) as unknown as (buffer: ArrayBuffer, name: string) => Promise<NVImage>;
  const image = await load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, 'scan.nii');
  // conform() needs no canvas: call it on the prototype (toRAS, linear, float, raw intensities).
  const out = await Niivue.prototype.conform.call(Niivue.prototype, image, true, true, true, false, [256, 256, 256], 1, true);
  const affine = mat4((out.hdr!.affine as number[][]).flat());
  return { dims: [256, 256, 256], affine, spacing: [1, 1, 1], data: new Float32Array(out.img as Float32Array) };
}

/**
 * Largest |ours − reference| over the grid voxels whose source position lies at least one
 * voxel inside the source grid: at the field of view's edge NiiVue leaves 0 or reads past
 * the array (NaN), while we use the edge voxel.
 */
function maxInteriorDiff(ours: Volume, reference: Volume, source: Volume): number {
  const toSource = multiply(invert(source.affine), reference.affine);
  const [nx, ny, nz] = reference.dims;
  let d = 0;
  for (let k = 0, n = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        const p = applyToPoint(toSource, [i, j, k]);
        if (p.some((v, a) => v < 1 || v > source.dims[a] - 2)) continue;
        const diff = Math.abs(ours.data[n] - reference.data[n]);
        d = Number.isNaN(diff) ? Infinity : Math.max(d, diff);
      }
    }
  }
  return d;
}

describe('conform', () => {
  it('gives a 1 mm RAS grid covering the field of view of an oblique, anisotropic scan', () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const affine = mat4([1.3 * c, -0.9 * s, 0, -80, 1.3 * s, 0.9 * c, 0, -100, 0, 0, 2.5, -60, 0, 0, 0, 1]);
    const grid = conformedGrid({ dims: [120, 200, 50], affine });
    expect(Array.from(grid.affine.subarray(0, 11))).toEqual([1, 0, 0, grid.affine[3], 0, 1, 0, grid.affine[7], 0, 0, 1]);
    // Every input voxel centre lies inside the conformed grid's voxels.
    const toGrid = multiply(mat4([1, 0, 0, -grid.affine[3], 0, 1, 0, -grid.affine[7], 0, 0, 1, -grid.affine[11], 0, 0, 0, 1]), affine);
    for (const corner of [[0, 0, 0], [119, 0, 0], [0, 199, 0], [119, 199, 49]] as const) {
      const p = applyToPoint(toGrid, corner);
      p.forEach((v, a) => {
        expect(v).toBeGreaterThanOrEqual(-0.5);
        expect(v).toBeLessThanOrEqual(grid.dims[a] - 0.5);
      });
    }
  });

  it('agrees with NiiVue’s conform on NiiVue’s 256³ grid for an oblique scan', async () => {
    const c = Math.cos(0.25);
    const s = Math.sin(0.25);
    const dims: [number, number, number] = [90, 100, 40];
    const affine = mat4([1.7 * c, 0, 1.5 * s, -70, 0, 1.6, 0, -80, -1.7 * s, 0, 3.2 * c, -50, 0, 0, 0, 1]);
    const data = new Float32Array(dims[0] * dims[1] * dims[2]).map((_, n) => 100 + 50 * Math.sin(n * 0.37) + (n % 97));
    const vol: Volume = { dims, affine, spacing: [1.7, 1.6, 3.2], data };
    const reference = await niivueConform(vol);
    const ours = conform(vol, reference);
    // NiiVue keeps its matrices in float32 (gl-matrix): source positions differ by ≈1e-5
    // voxel, times intensity gradients up to ≈100 per voxel here and in the sample.
    expect(maxInteriorDiff(ours, reference, vol)).toBeLessThan(5e-3);
  });

  it.skipIf(!hasShared)(`of the LIA sample is its exact RAS reorientation, and agrees with NiiVue ${hasShared ? '' : sharedMissing}`, async () => {
    const path = join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz');
    const sample = readVolume(new Uint8Array(readFileSync(path)), path);
    const grid = conformedGrid(sample);
    const ras = reorientToRAS(sample).volume;
    expect(grid.dims).toEqual(ras.dims);
    expect(Array.from(grid.affine)).toEqual(Array.from(ras.affine));
    const ours = conform(sample);
    let differing = 0;
    for (let n = 0; n < ras.data.length; n++) if (ours.data[n] !== ras.data[n]) differing++;
    expect(differing).toBe(0);
    const reference = await niivueConform(sample);
    // NiiVue's 256³ grid is centred with FreeSurfer's rule, 0.04 mm off the sample's
    // lattice in z: both interpolate the same voxels, so they agree to float32 rounding (above).
    expect(maxInteriorDiff(conform(sample, reference), reference, sample)).toBeLessThan(5e-3);
  }, 300_000);
});
