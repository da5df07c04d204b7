import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { applyToPoint, fromLinear } from './affine';
import { readVolume } from './io';
import { applyReorientation, axisCodes, rasReorientation, reorientToRAS, undoReorientation } from './orientation';
import { type Volume } from './volume';

describe('axisCodes agrees with nibabel.aff2axcodes', () => {
  // Linear parts and nibabel 5.0's aff2axcodes for each (translation [1, 2, 3]).
  const cases: [string, number[]][] = [
    ['LIA', [-1, 0, 0, 0, 0, 1, 0, -1, 0]],
    ['RAS', [0.383022221559489, -1.285575219373078, 0, 0.32139380484327, 1.532088886237956, 0, 0, 0, 1]],
    ['LAS', [-0.939692620785908, 0, -0.273616114660535, 0.171010071662834, 1.039230484541326, -0.375877048314363, -0.296198132726024, 0.6, 0.651038145079499]],
    ['RAI', [0.9, 0.5, 0, 0, 1, 0.1, 0.2, 0, -1.1]],
    ['PSL', [0, 0, -1.3, -1.3, 0, 0, 0, 1.3, 0]],
  ];
  for (const [codes, lin] of cases) {
    it(codes, () => expect(axisCodes(fromLinear(lin, [1, 2, 3]))).toBe(codes));
  }
});

/** A small volume whose voxel value encodes its index, on a given affine. */
function indexVolume(lin: number[], dims: [number, number, number]): Volume<Float32Array> {
  const affine = fromLinear(lin, [10, -20, 30]);
  const data = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, n) => n);
  return { dims, spacing: [1, 1, 1], affine, data };
}

describe('reorientToRAS', () => {
  it('moves every voxel without changing its world position, and undo restores the input exactly', () => {
    for (const lin of [
      [-1, 0, 0, 0, 0, 1, 0, -1, 0], // LIA
      [0, 0, -1.3, -1.3, 0, 0, 0, 1.3, 0], // PSL
      [0.9, 0.5, 0, 0, 1, 0.1, 0.2, 0, -1.1], // sheared RAI
    ]) {
      const vol = indexVolume(lin, [3, 4, 5]);
      const { volume: ras, reorientation } = reorientToRAS(vol);
      expect(axisCodes(ras.affine)).toBe('RAS');
      const [nx, ny] = ras.dims;
      for (let k = 0; k < ras.dims[2]; k++)
        for (let j = 0; j < ny; j++)
          for (let i = 0; i < nx; i++) {
            const n = ras.data[i + nx * (j + ny * k)];
            const src: [number, number, number] = [n % 3, Math.floor(n / 3) % 4, Math.floor(n / 12)];
            const a = applyToPoint(ras.affine, [i, j, k]);
            const b = applyToPoint(vol.affine, src);
            // Integer permutations of exact values: equal up to float64 rounding of sums.
            a.forEach((x, c) => expect(x).toBeCloseTo(b[c], 10));
          }
      const back = undoReorientation(ras, reorientation);
      expect(back.dims).toEqual(vol.dims);
      expect(back.data).toEqual(vol.data);
      expect(back.affine).toBe(vol.affine);
    }
  });

  it('is the identity for RAS input', () => {
    const vol = indexVolume([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 4, 5]);
    const { volume } = reorientToRAS(vol);
    expect(volume.data).toEqual(vol.data);
    expect(Array.from(volume.affine)).toEqual(Array.from(vol.affine));
  });

  it('refuses to undo onto a different grid', () => {
    const vol = indexVolume([-1, 0, 0, 0, 0, 1, 0, -1, 0], [3, 4, 5]);
    const r = rasReorientation(vol.dims, vol.affine);
    expect(() => undoReorientation(vol, r)).toThrow(/do not match/);
    expect(applyReorientation(vol, r).dims).toEqual([3, 5, 4]);
  });
});

describe.skipIf(!hasShared)(`the LIA full-head sample ${hasShared ? '' : sharedMissing}`, () => {
  const path = join(dataDir, 'samples/brainchop_t1_crop.nii.gz');
  const bytes = new Uint8Array(readFileSync(path));
  const head = readVolume(bytes, 'brainchop_t1_crop.nii.gz');
  const { volume: ras } = reorientToRAS(head);

  it('matches nibabel.as_closest_canonical', () => {
    expect(axisCodes(head.affine)).toBe('LIA');
    const f = Math.fround;
    // nibabel 5.0: as_closest_canonical(img).affine = [[1,0,0,-127.40000153], [0,1,0,-133.48001099],
    // [0,0,1,-120.52000427]]: the flipped axes' origins moved by 255 voxels, in float64.
    expect(Array.from(ras.affine)).toEqual([1, 0, 0, f(127.6) - 255, 0, 1, 0, f(-133.48001), 0, 0, 1, f(134.48) - 255, 0, 0, 0, 1]);
    // nibabel: canonical data at these (i, j, k), and Σ value · (flat F-order index mod 9973).
    const at = (i: number, j: number, k: number) => ras.data[i + 256 * (j + 256 * k)];
    expect([at(0, 0, 0), at(100, 150, 80), at(128, 128, 128), at(200, 30, 170)]).toEqual([0, 60, 51, 0]);
    let weighted = 0;
    let total = 0;
    for (let n = 0; n < ras.data.length; n++) {
      weighted += ras.data[n] * (n % 9973);
      total += ras.data[n];
    }
    expect(total).toBe(279078935);
    expect(weighted).toBe(1391317151202);
  });

  it('matches NiiVue: its permRAS and its img2RAS() voxel order', async () => {
    const { NVImage } = await import('@niivue/niivue');
    // NVImage.new's remaining parameters have defaults (colormap, opacity, …, sform preferred).
    const open = NVImage.new as unknown as (data: ArrayBuffer, name: string) => ReturnType<typeof NVImage.new>;
    const nv = await open(bytes.slice().buffer, 'brainchop_t1_crop.nii.gz');
    const r = rasReorientation(head.dims, head.affine);
    // NiiVue's permRAS[w] = ±(1-based voxel axis) running along world axis w, negative when flipped.
    const perm = [0, 0, 0];
    r.outputAxis.forEach((w, a) => (perm[w] = (a + 1) * (r.flip[a] ? -1 : 1)));
    expect(nv.permRAS).toEqual(perm);
    const niivue = nv.img2RAS() as Uint8Array;
    expect(niivue.length).toBe(ras.data.length);
    expect(Buffer.from(niivue.buffer, niivue.byteOffset, niivue.byteLength).equals(Buffer.from(ras.data.buffer))).toBe(true);
  });
});
