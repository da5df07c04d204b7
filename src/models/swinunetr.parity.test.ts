/**
 * SwinUNETR against the golden fixtures on the float64 CPU engine: `swinunetr_tiny` (MONAI 1.5
 * "merging" order) — logits, skip outputs x2..x4, loss, every parameter gradient, the input
 * gradient, and onnxruntime-node on the same ONNX file — and `legacy_merging` (HyPS order):
 * sampled logits with their checksum, loss, and (SEAHORSE_FULL_PARITY=1) its gradients.
 *
 * Tolerances as in unetr.parity.test.ts: 1e-7 of max|ref| for float64 vs float64-rounded-to-
 * float32 references; 1e-12 on the loss; the l2 checksums of sampled tensors (computed from the
 * unrounded float64 arrays) to 1e-9 relative. ORT: the fixtures measured 3.6e-5 max abs
 * (max|logit| 15.5) and 2.8e-6 rel-L2; we allow 4×: 1.5e-4 and 1.2e-5.
 *
 * CPU time: the 64³ float64 forward + backward takes minutes on 2 cores, so the legacy
 * variant's backward runs only with SEAHORSE_FULL_PARITY=1 (its forward always runs; the
 * backward code it would add over the merging case is the duplicated-slice accumulation).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuEngine, diceLoss, noGrad, oneHot, tidy } from '../engine';
import { createOrtNodeBackend } from '../infer/ort-node';
import { inlineModel } from '../onnx/prepare';
import { hasShared, sharedMissing } from '../testing/shared';
import { SwinUNETR } from './swinunetr';
import {
  compareEntry, entryValues, FIXTURE_CONFIGS, fixturePath, fixtureWeights, l2, maxAbsDiff, readF32, readIndexed, readJson, readU8, relL2, relToMax, sample,
} from './testing/fixtures';
import { collectTaps, runFixtureCase, type ParityRun } from './testing/parity';

const F64_TOL = 1e-7;
const LOSS_TOL = 1e-12;
const CHECKSUM_TOL = 1e-9;
const ORT_MAX_ABS = 1.5e-4;
const ORT_REL_L2 = 1.2e-5;
const FULL = process.env.SEAHORSE_FULL_PARITY === '1';

const DIR = 'swinunetr_tiny';
const LEGACY = 'swinunetr_tiny/legacy_merging';
const note = hasShared ? '' : ` (${sharedMissing})`;

describe.skipIf(!hasShared)(`SwinUNETR parity with ${DIR} on the float64 engine${note}`, () => {
  const engine = createCpuEngine();
  let run: ParityRun;
  let taps: Map<string, Float64Array>;
  const inter = hasShared ? readIndexed(DIR, 'intermediates') : null;

  beforeAll(async () => {
    const model = SwinUNETR.load(engine, FIXTURE_CONFIGS.swinunetr_tiny, fixtureWeights(DIR));
    const collector = collectTaps(Object.keys(inter!.index.tensors));
    run = await runFixtureCase(engine, model, DIR, 64, 3, { tap: collector.tap });
    taps = await collector.read();
    model.dispose();
    console.log(`swinunetr_tiny forward + backward on ${engine.description}: ${(run.ms / 1000).toFixed(1)} s`);
  });

  it('logits', () => {
    expect(relToMax(run.logits, readF32(DIR, 'logits.bin'))).toBeLessThan(F64_TOL);
  });

  it('normalised skip outputs x2, x3, x4 (swinViT.hidden_states_out)', () => {
    const names = Object.keys(inter!.index.tensors);
    expect(names).toEqual(['swinViT.hidden_states_out.2', 'swinViT.hidden_states_out.3', 'swinViT.hidden_states_out.4']);
    for (const name of names) expect(relToMax(taps.get(name)!, entryValues(inter!, name)), name).toBeLessThan(F64_TOL);
  });

  it('loss', () => {
    expect(Math.abs(run.loss - readJson<{ loss_float64: number }>(DIR, 'loss.json').loss_float64)).toBeLessThan(LOSS_TOL);
  });

  it('every parameter gradient and the input gradient', () => {
    const grads = readIndexed(DIR, 'grads');
    expect([...run.grads.keys(), 'input']).toEqual(Object.keys(grads.index.tensors));
    let worst = 0;
    for (const [name, g] of [...run.grads, ['input', run.inputGrad] as const]) {
      const c = compareEntry(grads, name, g);
      expect(c.relMax, name).toBeLessThan(F64_TOL);
      worst = Math.max(worst, c.relMax);
    }
    console.log(`swinunetr_tiny worst gradient error ${worst.toExponential(2)} of max|ref|`);
  });

  it('onnxruntime-node on the same ONNX file gives the same logits', async () => {
    const bytes = inlineModel(new Uint8Array(readFileSync(fixturePath(DIR, 'model.onnx'))), new Map([['weights.bin', new Uint8Array(readFileSync(fixturePath(DIR, 'weights.bin')))]]));
    const ort = await createOrtNodeBackend(bytes, { threads: 1 });
    const theirs = await ort.run(readF32(DIR, 'input.bin'), [64, 64, 64]);
    await ort.dispose();
    const abs = maxAbsDiff(run.logits, theirs);
    const rl2 = relL2(theirs, run.logits);
    console.log(`swinunetr_tiny ORT vs float64 engine: max abs ${abs.toExponential(2)}, rel-L2 ${rl2.toExponential(2)}`);
    expect(abs).toBeLessThan(ORT_MAX_ABS);
    expect(rl2).toBeLessThan(ORT_REL_L2);
  });
});

interface LegacyJson {
  loss_float64: number;
  logits_checksums: { l2: number };
}

describe.skipIf(!hasShared)(`SwinUNETR with legacy PatchMerging order vs ${LEGACY}${note}`, () => {
  const engine = createCpuEngine();
  const legacy = hasShared ? readJson<LegacyJson>(LEGACY, 'legacy.json') : null;
  const config = { ...FIXTURE_CONFIGS.swinunetr_tiny, downsample: 'legacy' as const };

  it('sampled logits, their full-array l2 checksum, and the loss', async () => {
    const model = SwinUNETR.load(engine, config, fixtureWeights(DIR));
    const x = engine.tensor(readF32(DIR, 'input.bin'), [1, 1, 64, 64, 64]);
    const target = oneHot(engine, readU8(DIR, 'label.bin'), [1, 64, 64, 64], 3);
    const { y, loss } = noGrad(() => tidy(() => {
      const y = model.forward(x);
      return { y, loss: diceLoss(y, target) };
    }));
    const logits = await y.data();
    expect(relToMax(sample(logits, 61), readF32(LEGACY, 'logits_sample.bin'))).toBeLessThan(F64_TOL);
    expect(Math.abs(l2(logits) / legacy!.logits_checksums.l2 - 1)).toBeLessThan(CHECKSUM_TOL);
    expect(Math.abs((await loss.item()) - legacy!.loss_float64)).toBeLessThan(LOSS_TOL);
    for (const t of [x, target, y, loss]) t.dispose();
    model.dispose();
  });

  it.skipIf(!FULL)('every parameter gradient and the input gradient (sampled where the fixture samples)', async () => {
    const model = SwinUNETR.load(engine, config, fixtureWeights(DIR));
    const run = await runFixtureCase(engine, model, DIR, 64, 3);
    model.dispose();
    expect(Math.abs(run.loss - legacy!.loss_float64)).toBeLessThan(LOSS_TOL);
    const grads = readIndexed(LEGACY, 'grads');
    for (const [name, g] of [...run.grads, ['input', run.inputGrad] as const]) {
      const c = compareEntry(grads, name, g);
      expect(c.relMax, name).toBeLessThan(F64_TOL);
      if (grads.index.tensors[name].sampled) expect(c.l2Rel, `${name} l2 checksum`).toBeLessThan(CHECKSUM_TOL);
    }
  });
});
