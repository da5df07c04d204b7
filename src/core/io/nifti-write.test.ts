import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { dataDir, hasShared, msdDir, sharedMissing } from '../../testing/shared';
import { maxAbsDiff } from '../affine';
import { mat4, type Volume } from '../volume';
import { readVolume, writeNifti } from './index';
import { mapVoxels } from '../../testing/voxels';

/** Bitwise equality of two typed arrays. */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The same NIfTI with sform_code set to 0, so a reader must use the qform. */
function withoutSform(nii: Uint8Array): Uint8Array {
  const copy = nii.slice();
  new DataView(copy.buffer).setInt16(254, 0, true);
  return copy;
}

function expectSameVolume(a: Volume, b: Volume): void {
  expect(a.dims).toEqual(b.dims);
  expect(a.data.constructor).toBe(b.data.constructor);
  expect(sameBytes(a.data, b.data)).toBe(true);
  expect(Array.from(a.affine)).toEqual(Array.from(b.affine));
}

// An oblique grid: rotation about two axes, anisotropic voxels, left-handed (det < 0),
// with float32-representable entries so that the sform stores it exactly.
const c = Math.fround(Math.cos(0.3));
const s = Math.fround(Math.sin(0.3));
const oblique = mat4(
  [0.9 * c, 0, 1.5 * s, -80.5, 0, -1.1, 0, 100.25, -0.9 * s, 0, 1.5 * c, -60, 0, 0, 0, 1].map(Math.fround),
);

describe('writeNifti', () => {
  it('round-trips every voxel type and the exact affine (sform), .nii.gz and .nii', () => {
    for (const data of [
      Uint8Array.from({ length: 60 }, (_, n) => n % 3),
      Int16Array.from({ length: 60 }, (_, n) => n * 100 - 3000),
      Float32Array.from({ length: 60 }, (_, n) => n / 7 - 2),
      Float64Array.from({ length: 60 }, (_, n) => Math.sqrt(n)),
    ]) {
      const vol: Volume = { dims: [3, 4, 5], spacing: [0.9, 1.1, 1.5], affine: oblique, data };
      for (const gzip of [true, false]) {
        const bytes = writeNifti(vol, { gzip });
        expect(bytes[0] === 0x1f && bytes[1] === 0x8b).toBe(gzip);
        const back = readVolume(bytes, gzip ? 'x.nii.gz' : 'x.nii');
        expectSameVolume(back, vol);
      }
    }
  });

  it('writes a qform that encodes the same grid (checked by reading with the sform disabled)', () => {
    const vol: Volume = { dims: [3, 4, 5], spacing: [0.9, 1.1, 1.5], affine: oblique, data: new Uint8Array(60) };
    const nii = writeNifti(vol, { gzip: false });
    const view = new DataView(nii.buffer);
    expect([view.getInt16(252, true), view.getInt16(254, true)]).toEqual([1, 1]);
    const viaQform = readVolume(withoutSform(nii), 'q.nii');
    // The quaternion and offsets are float32: ~1e-7 relative on entries ≤ 100 mm.
    expect(maxAbsDiff(viaQform.affine, oblique)).toBeLessThan(2e-5);
  });

  it('sets qform_code 0 for a sheared affine (no rigid qform can represent it)', () => {
    const sheared = mat4([1, 0.25, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const nii = writeNifti({ dims: [3, 4, 5], spacing: [1, 1.04, 1], affine: sheared, data: new Uint8Array(60) }, { gzip: false });
    expect(new DataView(nii.buffer).getInt16(252, true)).toBe(0);
    expect(Array.from(readVolume(nii, 's.nii').affine)).toEqual(Array.from(sheared));
  });

  it('bytes → Volume → bytes is stable', () => {
    const vol: Volume = { dims: [3, 4, 5], spacing: [0.9, 1.1, 1.5], affine: oblique, data: Uint8Array.from({ length: 60 }, (_, n) => n & 1) };
    const once = writeNifti(vol);
    const twice = writeNifti(readVolume(once, 'a.nii.gz'));
    expect(sameBytes(gunzipSync(twice), gunzipSync(once))).toBe(true);
  });
});

describe.skipIf(!hasShared)(`writeNifti on real grids ${hasShared ? '' : sharedMissing}`, () => {
  it('an MSD label volume: bytes → Volume → bytes → Volume is exact', () => {
    const original = readVolume(new Uint8Array(readFileSync(join(msdDir, 'labels/hippocampus_001.nii.gz'))), 'label.nii.gz');
    const again = readVolume(writeNifti(original), 'again.nii.gz');
    expectSameVolume(again, original);
  });

  it('the LIA full-head grid: labels written on it keep its affine exactly, qform included', () => {
    const head = readVolume(new Uint8Array(readFileSync(join(dataDir, 'samples/brainchop_t1_crop.nii.gz'))), 'head.nii.gz');
    const labels: Volume = { ...head, data: mapVoxels(Uint8Array, head.data, (v) => (v > 100 ? 1 : 0)) };
    const bytes = writeNifti(labels);
    expectSameVolume(readVolume(bytes, 'labels.nii.gz'), labels);
    const viaQform = readVolume(withoutSform(gunzipSync(bytes)), 'labels.nii');
    expect(maxAbsDiff(viaQform.affine, head.affine)).toBeLessThan(2e-5);
  });
});
