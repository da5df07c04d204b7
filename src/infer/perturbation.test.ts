/**
 * The perturbation suite (issue 13, item 5) on a representative subset, with the default
 * trained model as `seahorse segment` runs it: each perturbed scan must give masks within
 * 5 mm of the true hippocampus centroid with the stated Dice (src/testing/perturb-criteria.ts),
 * or, where the case allows it, a clear refusal. A refusal where masks are expected fails,
 * and so does a mask that misses. The full grid is `npm run bench -- perturb` (bench/RESULTS.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalisationError, MaskRefusedError, prepareTemplate, ScanKindError, type PreparedTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { IDENTITY_ROTATION, registrationRotation, rotationAngleDeg, rotationBetween, TRAINED_ROTATION_DEG } from '../core/fullhead/head-pose';
import { linearPart } from '../core/affine';
import type { Volume } from '../core/volume';
import { judge, loadSubject, PERTURBATIONS, truthCentroids, type RunOutcome, type Subject, type SubjectName } from '../testing/perturb-cases';
import { criteriaFor } from '../testing/perturb-criteria';
import { hasShared, sharedMissing } from '../testing/shared';
import { loadLocaliserNode } from './localiser-node';
import { modelForProtocol } from './protocol-choice';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';
import { segmentScan } from './segment-scan';

const SLOW = 600_000;
// The model `seahorse segment` picks for a full head (FreeSurfer's protocol when installed).
const installed = listInstalledModels().map((m) => m.manifest);
const firstTrained = installed.find((m) => m.status === 'trained');
const trained = firstTrained && modelForProtocol(installed, firstTrained, { choice: 'auto', path: 'full-head', sublabels: false }).id;
const skip = !hasShared ? sharedMissing : !trained ? '(skipped: no trained model is installed)' : '';

/**
 * Known shortfalls, measured and stated rather than hidden: cases expected to miss their
 * criteria with the named model (`it.fails`: the test fails as soon as they pass, so the note
 * is removed when the model improves). None with swinunetr-fs at 6,000 steps: the last one,
 * vxm_subject (right Dice 0.723 at 560 steps), reaches 0.818 / 0.818 (bench fs-real, 2026-12-04).
 */
const KNOWN_SHORTFALLS: Record<string, readonly string[]> = {};

/** Subject → the cases run here (the expensive grid is the benchmark's). */
const SUBSET: Record<Exclude<SubjectName, 'sample'>, readonly string[]> = {
  bert: ['none', '1×1×1.2 mm', 'noise: not a brain', 'head turned 180°'],
  vxm: ['none', '0.7 mm', 'low contrast γ0.5', 'axial slices 4 mm'],
  ch2: ['defaced', 'skull-stripped', 'MP2RAGE background', 'head rolled 90°'],
};

describe.skipIf(skip !== '')(`perturbation suite with ${skip || trained}`, () => {
  let prepared: PreparedTemplate;
  let model: LoadedNodeModel;
  let localiser: LoadedNodeModel | null;
  const subjects = new Map<SubjectName, Subject>();
  beforeAll(async () => {
    prepared = prepareTemplate(readTemplate());
    model = await loadModelNode(trained!);
    // As `seahorse segment` runs: with the learned localiser once it is installed.
    localiser = await loadLocaliserNode();
    for (const name of Object.keys(SUBSET) as SubjectName[]) subjects.set(name, await loadSubject(name));
  }, SLOW);
  afterAll(async () => {
    await model?.backend.dispose();
    await localiser?.backend.dispose();
  });

  async function run(scan: Volume): Promise<RunOutcome> {
    try {
      const result = await segmentScan(scan, model, { template: () => prepared, localiserModel: () => localiser });
      expect(result.path).toBe('full-head');
      return { kind: 'mask', labels: result.labels, warnings: result.warnings };
    } catch (error) {
      if (error instanceof LocalisationError || error instanceof ScanKindError || error instanceof MaskRefusedError) return { kind: 'refused', message: error.message };
      throw error;
    }
  }

  it('bert, head pitched 45°: the crops turn with the head by the part beyond training, and the masks beat unturned crops on both sides', async () => {
    const subject = subjects.get('bert')!;
    const c = PERTURBATIONS.find((p) => p.name === 'head pitched 45°')!;
    const perturbed = c.apply(subject);
    const criteria = criteriaFor(subject.truthKind, model.manifest.protocol);
    const segment = async (turnCrops: boolean) => {
      const result = await segmentScan(perturbed.scan, model, { template: () => prepared, localiserModel: () => localiser, turnCrops });
      if (result.path !== 'full-head') throw new Error(`a full head was read as ${result.path}`);
      return { fullHead: result.fullHead, judged: judge(c, perturbed, { kind: 'mask', labels: result.labels, warnings: result.warnings }, criteria, truthCentroids(subject)) };
    };
    const turned = await segment(true);
    const { localisation, frames } = turned.fullHead;
    const found = registrationRotation(localisation.transform)!;
    expect(rotationAngleDeg(found)).toBeGreaterThan(TRAINED_ROTATION_DEG + 20);
    for (const frame of frames) {
      // The frame's axes (the right one's mirrored i turned back) are the crop rotation, the registration's less the training's range.
      const axes = linearPart(frame.grid.affine);
      if (frame.side === 'right') for (const row of [0, 1, 2]) axes[3 * row] = -axes[3 * row];
      expect(rotationAngleDeg(rotationBetween(axes, localisation.cropRotation))).toBeLessThan(1e-6);
      expect(rotationAngleDeg(axes)).toBeCloseTo(rotationAngleDeg(found) - TRAINED_ROTATION_DEG, 6);
    }
    expect(turned.judged.why).toBe('');
    const unturned = await segment(false);
    expect(unturned.fullHead.localisation.cropRotation).toEqual(IDENTITY_ROTATION);
    for (const s of [0, 1]) expect(turned.judged.dice[s]).toBeGreaterThan(unturned.judged.dice[s]);
  }, SLOW);

  it("bert, head turned 90°: the rescue's quarter-turn start finds the head (from ±40° alone the localiser placed the crops 34–49 mm off)", async () => {
    const subject = subjects.get('bert')!;
    const c = PERTURBATIONS.find((p) => p.name === 'head turned 90°')!;
    const perturbed = c.apply(subject);
    const result = await segmentScan(perturbed.scan, model, { template: () => prepared, localiserModel: () => localiser });
    if (result.path !== 'full-head') throw new Error(`a full head was read as ${result.path}`);
    expect(result.fullHead.localisation.startedFrom).toBe('localiser brain');
    expect(result.fullHead.placedBy).toBe('registration');
    expect(rotationAngleDeg(registrationRotation(result.fullHead.localisation.transform)!)).toBeGreaterThan(80);
    const judged = judge(c, perturbed, { kind: 'mask', labels: result.labels, warnings: result.warnings }, criteriaFor(subject.truthKind, model.manifest.protocol), truthCentroids(subject));
    expect(judged.why).toBe('');
    expect(judged.warnings).toEqual([]);
  }, SLOW);

  it('ch2, head turned 45°: the registration run again starts from rolls and turns too, finds the head, and places the crops itself', async () => {
    const subject = subjects.get('ch2')!;
    const c = PERTURBATIONS.find((p) => p.name === 'head turned 45°')!;
    const perturbed = c.apply(subject);
    const result = await segmentScan(perturbed.scan, model, { template: () => prepared, localiserModel: () => localiser });
    if (result.path !== 'full-head') throw new Error(`a full head was read as ${result.path}`);
    const { localisation, placedBy } = result.fullHead;
    // From the header's orientation and the pitches alone it failed (similarity 0.53 / 0.18) and the localiser placed the crops, with a warning.
    expect(localisation.startedFrom).toBe('localiser brain');
    expect(localisation.quality).toBe('good');
    expect(placedBy).toBe('registration');
    expect(rotationAngleDeg(registrationRotation(localisation.transform)!)).toBeGreaterThan(40);
    const judged = judge(c, perturbed, { kind: 'mask', labels: result.labels, warnings: result.warnings }, criteriaFor(subject.truthKind, model.manifest.protocol), truthCentroids(subject));
    expect(judged.why).toBe('');
    expect(judged.warnings).toEqual([]);
  }, SLOW);

  for (const [name, cases] of Object.entries(SUBSET)) {
    for (const caseName of cases) {
      const known = (KNOWN_SHORTFALLS[trained ?? ''] ?? []).includes(`${name}, ${caseName}`);
      (known ? it.fails : it)(`${name}, ${caseName}${known ? ` (known shortfall of ${trained})` : ''}`, async () => {
        const subject = subjects.get(name as SubjectName)!;
        const c = PERTURBATIONS.find((p) => p.name === caseName)!;
        expect(c.applies(subject)).toBe(true);
        const perturbed = c.apply(subject);
        const outcome = await run(perturbed.scan);
        const noBrain = caseName === 'noise: not a brain';
        const judged = judge(c, perturbed, outcome, criteriaFor(subject.truthKind, model.manifest.protocol), noBrain ? null : truthCentroids(subject));
        expect(judged.why, `${name} ${caseName}: ${JSON.stringify({ ...judged, warnings: judged.warnings.length })}`).toBe('');
        expect(judged.pass).toBe(true);
        // Noise must never come back as masks, warned or not.
        if (noBrain) expect(judged.outcome).toBe('refused');
        // Thick slices: masks, and the warning that says how far to trust them (src/infer/thick-slices.ts).
        if (/slices \d mm/.test(caseName)) expect(judged.warnings.filter((w) => w.startsWith("The scan's voxels are"))).toHaveLength(1);
      }, SLOW);
    }
  }
});
