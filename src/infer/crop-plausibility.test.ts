/**
 * A crop whose mask is not the size of a hippocampus says so. The sizes are those of
 * MSD_WHOLE_MM3 (the 208 labelled crops); the model runs are the default trained model on
 * onnxruntime-node: a real `val` crop passes, a noise volume of the same grid is flagged, and a
 * blank (constant) volume is refused before the model runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume, VolumeReadError } from '../core/io';
import type { LabelVolumeMeasure } from '../core/labels';
import type { Volume } from '../core/volume';
import { uniformStream } from '../engine/engine';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import { cropMaskWarnings, IMPLAUSIBLY_LARGE_MM3, IMPLAUSIBLY_SMALL_MM3, MIN_CONNECTED_FRACTION, MSD_WHOLE_MM3 } from './crop-plausibility';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';
import { segmentScan } from './segment-scan';

const measure = (head: number, body: number): LabelVolumeMeasure[] => [
  { value: 1, name: 'hippocampus head', voxels: head, mm3: head },
  { value: 2, name: 'hippocampus body + tail', voxels: body, mm3: body },
];

describe('cropMaskWarnings', () => {
  it('accepts every size a labelled MSD crop has, and says why a mask is too small, too large or absent', () => {
    expect(cropMaskWarnings(measure(MSD_WHOLE_MM3.min / 2, MSD_WHOLE_MM3.min / 2), 1)).toEqual([]);
    expect(cropMaskWarnings(measure(MSD_WHOLE_MM3.max / 2, MSD_WHOLE_MM3.max / 2), 0.99)).toEqual([]);
    expect(cropMaskWarnings(measure(IMPLAUSIBLY_SMALL_MM3, 0), MIN_CONNECTED_FRACTION)).toEqual([]);
    expect(cropMaskWarnings(measure(51, 265), 1)[0]).toMatch(/too small to be a whole hippocampus \(316 mm³; the 208 labelled MSD crops hold 2,382–4,401 mm³\)/);
    expect(cropMaskWarnings(measure(1500, 1500), 0.62)[0]).toMatch(/scattered \(only 62% of it forms one structure per label/);
    expect(cropMaskWarnings(measure(IMPLAUSIBLY_LARGE_MM3, 1), 1)[0]).toMatch(/larger than any hippocampus \(8,803 mm³/);
    expect(cropMaskWarnings(measure(0, 0), 1)[0]).toMatch(/found no hippocampus in this crop/);
  });
});

// An MSD-protocol model: these crops and the plausibility ranges are MSD's.
const trained = listInstalledModels().find((m) => m.manifest.status === 'trained' && m.manifest.protocol === 'msd')?.manifest.id;
const skip = !hasShared ? sharedMissing : !trained ? '(skipped: no trained model is installed in models/)' : '';
const SLOW = 120_000;

describe.skipIf(skip !== '')(`crops through the default trained model ${skip || trained}`, () => {
  let model: LoadedNodeModel;
  let crop: Volume;
  beforeAll(async () => {
    model = await loadModelNode(trained!);
    const path = join(msdDir, 'images', 'hippocampus_226.nii.gz');
    crop = readVolume(new Uint8Array(readFileSync(path)), path);
  }, SLOW);
  afterAll(() => model?.backend.dispose());
  const noTemplate = () => Promise.reject(new Error('a crop needs no template'));

  it('a real val crop gives a hippocampus-sized mask and no warning', async () => {
    const result = await segmentScan(crop, model, { template: noTemplate });
    expect(result.path).toBe('crop');
    expect(result.warnings).toEqual([]);
  }, SLOW);

  it('noise on the same grid is flagged: its mask is not a hippocampus', async () => {
    for (const seed of [1, 7, 9]) {
      const u = uniformStream(seed);
      const noise: Volume = { ...crop, data: Float32Array.from(crop.data, () => 50 + 40 * u()) };
      const result = await segmentScan(noise, model, { template: noTemplate });
      expect(result.path).toBe('crop');
      expect(result.warnings, `seed ${seed}`).toHaveLength(1);
      expect(result.warnings[0]).toMatch(/scattered|too small to be a whole hippocampus|found no hippocampus/);
    }
  }, SLOW);

  it('a blank crop is refused before the model runs', async () => {
    const blank: Volume = { ...crop, data: new Float32Array(crop.data.length) };
    const failure = await segmentScan(blank, model, { template: noTemplate }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(VolumeReadError);
    expect((failure as VolumeReadError).code).toBe('constant');
    expect((failure as Error).message).toMatch(/same value \(0\) in every voxel/);
  });
});
