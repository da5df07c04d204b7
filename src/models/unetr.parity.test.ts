/**
 * UNETR against the golden fixture `unetr_tiny` on the float64 CPU engine — logits, the
 * intermediates, loss, every parameter gradient and the input gradient — and against
 * onnxruntime-node running the fixture's ONNX export of the same weights.
 *
 * Tolerances (fixtures README §0, §6 item 5, §8):
 * - float64 engine vs reference: 1e-7 of max|ref|. The reference is float64 rounded to float32
 *   (≤ 2⁻²⁴ ≈ 6e-8 relative per element); our float64 arithmetic adds ~1e-13. The fixtures'
 *   independent float64 verifier measured ≤ 5.6e-8 the same way.
 * - loss: 1e-12 absolute: both are float64 evaluations of the same function (torch's
 *   float32 run is already 5.6e-8 away, so a float32 slip would show).
 * - ORT (float32 CPU) vs our float64 forward: the fixtures measured ORT at 1.4e-5 max abs
 *   (max|logit| 7.8) and 1.6e-6 rel-L2 from the float64 reference; we allow 4×: 6e-5 and 7e-6.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { createOrtNodeBackend } from '../infer/ort-node';
import { inlineModel } from '../onnx/prepare';
import { hasShared, sharedMissing } from '../testing/shared';
import { compareEntry, FIXTURE_CONFIGS, fixturePath, fixtureWeights, maxAbsDiff, readF32, readIndexed, readJson, relL2, relToMax, entryValues } from './testing/fixtures';
import { collectTaps, runFixtureCase, type ParityRun } from './testing/parity';
import { UNETR } from './unetr';

const F64_TOL = 1e-7;
const LOSS_TOL = 1e-12;
const ORT_MAX_ABS = 6e-5;
const ORT_REL_L2 = 7e-6;

const DIR = 'unetr_tiny';

describe.skipIf(!hasShared)(`UNETR parity with ${DIR} on the float64 engine${hasShared ? '' : ` (${sharedMissing})`}`, () => {
  const engine = createCpuEngine();
  let model: UNETR;
  let run: ParityRun;
  let taps: Map<string, Float64Array>;
  const inter = hasShared ? readIndexed(DIR, 'intermediates') : null;

  beforeAll(async () => {
    model = UNETR.load(engine, FIXTURE_CONFIGS.unetr_tiny, fixtureWeights(DIR));
    const collector = collectTaps(Object.keys(inter!.index.tensors));
    run = await runFixtureCase(engine, model, DIR, 32, 3, { tap: collector.tap });
    taps = await collector.read();
    console.log(`unetr_tiny forward + backward on ${engine.description}: ${(run.ms / 1000).toFixed(1)} s`);
  });

  it('logits', () => {
    expect(relToMax(run.logits, readF32(DIR, 'logits.bin'))).toBeLessThan(F64_TOL);
  });

  it('intermediates: patch embedding, every block, the skips, decoder5 and decoder4', () => {
    const names = Object.keys(inter!.index.tensors);
    expect(names.length).toBe(18);
    for (const name of names) {
      const got = taps.get(name);
      expect(got, `tap ${name}`).toBeDefined();
      expect(relToMax(got!, entryValues(inter!, name)), name).toBeLessThan(F64_TOL);
    }
  });

  it('loss', () => {
    expect(Math.abs(run.loss - readJson<{ loss_float64: number }>(DIR, 'loss.json').loss_float64)).toBeLessThan(LOSS_TOL);
  });

  it('every parameter gradient and the input gradient', () => {
    const grads = readIndexed(DIR, 'grads');
    const listed = Object.keys(grads.index.tensors).filter((n) => n !== 'input');
    expect([...run.grads.keys()]).toEqual(listed);
    let worst = 0;
    for (const [name, g] of run.grads) {
      const c = compareEntry(grads, name, g);
      expect(c.relMax, name).toBeLessThan(F64_TOL);
      worst = Math.max(worst, c.relMax);
    }
    expect(compareEntry(grads, 'input', run.inputGrad).relMax).toBeLessThan(F64_TOL);
    console.log(`unetr_tiny worst gradient error ${worst.toExponential(2)} of max|ref|`);
  });

  it('onnxruntime-node on the same ONNX file gives the same logits', async () => {
    const bytes = inlineModel(new Uint8Array(readFileSync(fixturePath(DIR, 'model.onnx'))), new Map([['weights.bin', new Uint8Array(readFileSync(fixturePath(DIR, 'weights.bin')))]]));
    const ort = await createOrtNodeBackend(bytes, { threads: 1 });
    const theirs = await ort.run(readF32(DIR, 'input.bin'), [32, 32, 32]);
    await ort.dispose();
    const abs = maxAbsDiff(run.logits, theirs);
    const rl2 = relL2(theirs, run.logits);
    console.log(`unetr_tiny ORT vs float64 engine: max abs ${abs.toExponential(2)}, rel-L2 ${rl2.toExponential(2)}`);
    expect(abs).toBeLessThan(ORT_MAX_ABS);
    expect(rl2).toBeLessThan(ORT_REL_L2);
  });
});
