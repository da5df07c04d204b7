/**
 * A cross-check localiser runs beside the registration and segmentation (segment-scan.ts):
 * the registration must not wait for it, its findings must still reach the checks, and its
 * failure must neither go unhandled nor hide the registration's own refusal. The localiser is
 * the shipped one (models/localiser.onnx on onnxruntime-node) behind a backend that holds its
 * logits back, so that "beside" is observable on any machine. On an oblique scan that fools its
 * first look, the second look (second-look.ts) runs on the path and the false alarm is gone; after a
 * first look that stands behind nothing it runs too, and only when it finds nothing either is the
 * placement said to be unchecked.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalisationError, prepareTemplate, type PreparedTemplate } from '../core/fullhead';
import { readTemplate } from '../core/fullhead/template-node';
import { readVolume } from '../core/io';
import { CLASS_LEFT } from '../core/fullhead/localiser-grid';
import { oblique } from '../core/perturb';
import { directionalModel } from '../testing/onnx-models';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import type { InferenceBackend } from './backend';
import { LOCALISER_ID } from './localiser';
import type { LoadedModel } from './pipeline';
import { listInstalledModels, loadModelNode, type LoadedNodeModel } from './registry-node';
import { segmentScan } from './segment-scan';
import { mapVoxels } from '../testing/voxels';

const SLOW = 300_000;
/** How long the wrapped localiser holds its logits back, ms: longer than the registration takes on an idle core. */
const HOLD_MS = 4_000;
/** The oblique acquisition whose first look is a false alarm (second-look.test.ts): 25° about world y. */
const TURN_AXIS = 1;
const TURN_DEGREES = 25;
/** A logit no softmax lets win against the localiser's own (theirs are tens at most). */
const BLIND_LOGIT = -1e4;
const installed = listInstalledModels(undefined, 'localisation').find((m) => m.manifest.id === LOCALISER_ID);
const skip = !hasShared ? sharedMissing : !installed ? '(skipped: models/localiser.json is not installed)' : '';
const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);

/** The localiser with its backend's answer delayed (or replaced by a failure), and when it answered. */
function held(localiser: LoadedModel, opts: { fail?: boolean } = {}) {
  const answered: number[] = [];
  const backend: InferenceBackend = {
    ...localiser.backend,
    async run(input, dims) {
      const logits = await localiser.backend.run(input, dims);
      await new Promise((r) => setTimeout(r, HOLD_MS));
      answered.push(performance.now());
      if (opts.fail) throw new Error('the localiser broke');
      return logits;
    },
    dispose: async () => {},
  };
  return { model: { manifest: localiser.manifest, backend }, answered };
}

describe.skipIf(skip !== '')(`a cross-check localiser runs beside the registration ${skip}`, () => {
  const sample = join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz');
  let template: PreparedTemplate;
  let localiser: LoadedNodeModel;
  let segmenter: LoadedNodeModel;
  beforeAll(async () => {
    template = prepareTemplate(readTemplate());
    localiser = await loadModelNode(LOCALISER_ID, { threads: 1 });
    segmenter = await loadModelNode(directionalModelPath(), { threads: 1 });
  }, SLOW);
  afterAll(async () => {
    await localiser?.backend.dispose();
    await segmenter?.backend.dispose();
  });

  it('the registration ends before the held localiser answers; its findings still reach the checks, and the wait is its own stage', async () => {
    expect(installed!.manifest.localiserRole ?? 'cross-check').toBe('cross-check');
    const { model, answered } = held(localiser);
    const stageEnds = new Map<string, number>();
    const result = await segmentScan(read(sample), segmenter, {
      template: () => template,
      localiserModel: () => model,
      onStageEnd: (stage) => stageEnds.set(stage, performance.now()),
    });
    expect(result.path).toBe('full-head');
    if (result.path !== 'full-head') return;
    expect(answered).toHaveLength(1);
    // Beside, not before: the registration's stage ended while the localiser was still held.
    expect(stageEnds.get('localise')!).toBeLessThan(answered[0]);
    expect(result.fullHead.crossCheck?.left.centroidMm).toHaveLength(3);
    // It agreed with the registration, so it did not run again (second-look.ts).
    expect(result.fullHead.crossCheckLook).toBe('scan grid');
    const t = result.timingsMs;
    expect(t).not.toHaveProperty('cross-check, second look');
    expect(t['localiser, beside the rest']).toBeGreaterThanOrEqual(HOLD_MS);
    // The stages on the path waited on add up to the total; the localiser's own time is not among them.
    const onPath = Object.entries(t).filter(([k]) => k !== 'total' && k !== 'localiser, beside the rest');
    expect(onPath.map(([k]) => k)).toContain('cross-check wait');
    expect(onPath.reduce((sum, [, ms]) => sum + ms, 0)).toBeCloseTo(t.total, 0);
  }, SLOW);

  it(`the sample turned ${TURN_DEGREES}° (oblique): the cross-check looks again in the registration's frame, on the path, and does not warn`, async () => {
    const result = await segmentScan(oblique(read(sample), TURN_AXIS, TURN_DEGREES), segmenter, { template: () => template, localiserModel: () => localiser });
    expect(result.path).toBe('full-head');
    if (result.path !== 'full-head') return;
    expect(result.fullHead.localisation.quality).toBe('good');
    expect(result.fullHead.crossCheckLook).toBe('registration frame');
    expect(result.fullHead.qc.findings.filter((f) => f.check === 'cross-check')).toEqual([]);
    expect(result.warnings.join(' ')).not.toMatch(/learned localiser puts/);
    const t = result.timingsMs;
    expect(t['cross-check, second look']).toBeGreaterThan(0);
    const onPath = Object.entries(t).filter(([k]) => k !== 'total' && k !== 'localiser, beside the rest');
    expect(onPath.reduce((sum, [, ms]) => sum + ms, 0)).toBeCloseTo(t.total, 0);
  }, SLOW);

  for (const blindLooks of [1, 2]) {
    const title =
      blindLooks === 1
        ? 'a first look that stands behind nothing: the second, in the registration’s frame, finds both, and no warning says the placement is unchecked'
        : 'nothing to stand behind on either look: the warning says the placement is unchecked';
    it(title, async () => {
      const { model, runs } = blind(localiser, blindLooks);
      const result = await segmentScan(read(sample), segmenter, { template: () => template, localiserModel: () => model });
      expect(result.path).toBe('full-head');
      if (result.path !== 'full-head') return;
      expect(runs()).toBe(2);
      expect(result.fullHead.localisation.quality).toBe('good');
      expect(result.timingsMs['cross-check, second look']).toBeGreaterThan(0);
      const unchecked = /could not stand behind what it found \(.*left hippocampus.*\): the registration's placement of the hippocampi is unchecked/;
      if (blindLooks === 1) {
        expect(result.fullHead.crossCheckLook).toBe('registration frame');
        expect(result.fullHead.crossCheck?.left.centroidMm).toHaveLength(3);
        expect(result.warnings.join(' ')).not.toMatch(unchecked);
      } else {
        expect(result.fullHead.crossCheck).toBeUndefined();
        expect(result.warnings.join(' ')).toMatch(unchecked);
      }
    }, SLOW);
  }

  it('a localiser that fails after the registration refused: the refusal is what the user hears, nothing unhandled', async () => {
    const scan = read(sample);
    let state = 1;
    // Noise on the sample's grid: a full head by size, but no brain to register.
    const noise = { ...scan, data: mapVoxels(Uint8Array, scan.data, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state >>> 24)) };
    const { model } = held(localiser, { fail: true });
    await expect(segmentScan(noise, segmenter, { template: () => template, localiserModel: () => model })).rejects.toBeInstanceOf(LocalisationError);
    // Let the held localiser fail after the refusal; vitest fails the file on an unhandled rejection.
    await new Promise((r) => setTimeout(r, HOLD_MS + 1_000));
  }, SLOW);
});

/**
 * The localiser with its first `looks` answers blind to the left hippocampus (its logits pushed
 * far below the other classes'), as a first look that stands behind nothing; later answers as they are.
 */
function blind(localiser: LoadedModel, looks: number) {
  let calls = 0;
  const backend: InferenceBackend = {
    ...localiser.backend,
    async run(input, dims) {
      const logits = await localiser.backend.run(input, dims);
      if (calls++ < looks) {
        const n = dims[0] * dims[1] * dims[2];
        logits.fill(BLIND_LOGIT, CLASS_LEFT * n, (CLASS_LEFT + 1) * n);
      }
      return logits;
    },
    dispose: async () => {},
  };
  return { model: { manifest: localiser.manifest, backend }, runs: () => calls };
}

/** The directional test model (testing/onnx-models.ts) written once to a temporary file. */
function directionalModelPath(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'seahorse-crosscheck-')), 'directional.onnx');
  writeFileSync(path, directionalModel([64, 80, 64]));
  return path;
}
