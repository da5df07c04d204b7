/**
 * A labelled full head trains on the crops `seahorse segment` would give the model
 * (training-crops.ts through fullhead.ts `placeCrops`), with the perturbation suite's bert:
 * - its field of view ending 15 mm above the hippocampi: the registration fails from both
 *   starts, so without the learned localiser the scan is refused, and with it the crops are
 *   placed on the hippocampi it found, which a note says;
 * - as it is: the registration is good, and the localiser is never run.
 * Real registration, real localiser (models/localiser.onnx).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalisationError, prepareTemplate, type PreparedTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import type { LabelVolume } from '../core/volume';
import { LOCALISER_ID } from '../infer/localiser';
import { nodeLocator, type NodeLocator } from '../infer/localiser-node';
import { listInstalledModels } from '../infer/registry-node';
import { loadSubject, PERTURBATIONS, type Subject } from '../testing/perturb-cases';
import { hasShared, sharedMissing } from '../testing/shared';
import { trainingCrops, type LocateHippocampi } from './training-crops';
import { maskOf } from '../core/metrics';

const hasLocaliser = listInstalledModels(undefined, 'localisation').some((m) => m.manifest.id === LOCALISER_ID);
const skip = !hasShared ? sharedMissing : !hasLocaliser ? '(skipped: needs models/localiser.json)' : '';
const SLOW = 120_000;

/** The subject's left (1) and right (2) labels as whole-hippocampus targets, as `--labels` maps them. */
const whole = (truth: LabelVolume): LabelVolume => ({ ...truth, data: maskOf(truth.data, 'foreground') });
function count(data: ArrayLike<number>, value: number): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === value) n++;
  return n;
}

describe.skipIf(skip !== '')(`training crops of a labelled full head ${skip}`, () => {
  let prepared: PreparedTemplate;
  let bert: Subject;
  let locator: NodeLocator;
  let asked: number;
  const locate: LocateHippocampi = (scan) => {
    asked++;
    return locator.locate(scan);
  };

  beforeAll(async () => {
    prepared = prepareTemplate(readTemplate());
    bert = await loadSubject('bert');
    locator = nodeLocator();
  }, SLOW);
  afterAll(async () => locator?.dispose());

  it('a registration that fails: refused without the localiser; with it, the crops are on the hippocampi it found, and a note says so', async () => {
    const { scan, truth } = PERTURBATIONS.find((p) => p.name === 'tight FOV')!.apply(bert);
    await expect(trainingCrops('bert', scan, whole(truth), () => prepared)).rejects.toThrow(LocalisationError);

    asked = 0;
    const { path, crops, notes } = await trainingCrops('bert', scan, whole(truth), () => prepared, { locate });
    expect(asked).toBe(1);
    expect(path).toBe('full-head');
    expect(crops.map((c) => [c.id, c.side, c.orientation])).toEqual([
      ['bert (left)', 'left', 'as-is'],
      ['bert (right)', 'right', 'as-is'],
    ]);
    expect(notes).toEqual([expect.stringMatching(/^the template registration failed \(similarity 0\.\d\d overall, 0\.\d\d inside the brain\): the crops were cut around the hippocampi the localiser found, as segmentation cuts them$/)]);
    // Each side's crop holds nearly all of that side's labelled hippocampus (a crop placed wrongly holds little or none).
    for (const [s, crop] of crops.entries()) {
      const held = count(crop.labels.data, 1) / count(truth.data, s + 1);
      console.log(`tight FOV ${crop.side}: ${(100 * held).toFixed(1)}% of the side's labels in its crop`);
      expect(held, crop.side).toBeGreaterThan(0.95);
    }
  }, SLOW);

  it('a registration that is good: the crops are the registration’s, and the localiser never runs', async () => {
    asked = 0;
    const withLocaliser = await trainingCrops('bert', bert.scan, whole(bert.truth), () => prepared, { locate });
    expect(asked).toBe(0);
    const without = await trainingCrops('bert', bert.scan, whole(bert.truth), () => prepared);
    expect(withLocaliser.crops.map((c) => c.image.affine)).toEqual(without.crops.map((c) => c.image.affine));
    expect(withLocaliser.notes).toEqual([]);
  }, SLOW);
});
