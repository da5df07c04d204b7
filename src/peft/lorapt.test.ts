/**
 * LoRA-PT on the float64 engine against ../shared/fixtures/lorapt_unetr_tiny (fixtures §C):
 * step 0 reproduces the base model, and the loss gradient with respect to every factor matches
 * the float64 reference. Tolerances: the reference is float64 stored as float32 (relative
 * rounding ≤ 6e-8 per element); a float64 engine path should agree to ~1e-7 of max|ref|
 * (fixtures §6 item 5); we allow 1e-6.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { backward, createCpuEngine, diceLoss, oneHot } from '../engine';
import { UNETR } from '../models/unetr';
import { entryValues, fixtureWeights, readF32, readIndexed, readJson, readU8, relToMax } from '../models/testing/fixtures';
import { hasShared, sharedMissing } from '../testing/shared';
import { AdaptedModel, type HostTensor } from './adapted-model';
import { LoraptAdapter } from './lorapt';
import { attachMethod, baseTrainable, countTrainable, resolveMethod } from './methods';
import { loraptTensorSpecs, slicesByParam } from './targets';

const PARITY = 1e-6;
const TINY = { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 };
const DIR = 'lorapt_unetr_tiny';

describe.skipIf(!hasShared)('LoRA-PT on the unetr_tiny fixture (float64 engine)', () => {
  if (!hasShared) it.skip(sharedMissing, () => {});
  const engine = createCpuEngine();
  afterAll(() => engine.dispose());

  function load(decoder: boolean) {
    const shape = new UNETR(engine, TINY);
    const cfg = resolveMethod(shape, { method: 'lorapt', rank: 1, trainDecoder: decoder });
    return { model: UNETR.load(engine, TINY, fixtureWeights('unetr_tiny'), { trainable: baseTrainable('unetr', cfg) }), cfg };
  }

  function indexed(stem: string): Map<string, HostTensor> {
    const f = readIndexed(DIR, stem);
    return new Map(Object.entries(f.index.tensors).map(([n, e]) => [n, { shape: e.shape, data: entryValues(f, n) }]));
  }

  const input = () => engine.tensor(readF32('unetr_tiny', 'input.bin'), [1, 1, 32, 32, 32]);
  const target = () => oneHot(engine, readU8('unetr_tiny', 'label.bin'), [1, 32, 32, 32], 3);

  for (const r of [1, 2]) {
    it(`rank ${r}: logits equal the base model's and factor gradients match the reference`, async () => {
      const { model } = load(false);
      const factors = indexed(`r${r}_factors`);
      const res = readIndexed(DIR, `r${r}_residual`);
      // The reference ran with its stored W_res (float32) + P(stored factors): give it the same.
      const residuals = new Map<string, Float32Array>();
      for (const spec of loraptTensorSpecs(model)) {
        const all = entryValues(res, `${spec.name}.W_res`);
        const len = spec.n1 * spec.n2;
        for (const g of slicesByParam(spec)) residuals.set(g.param, all.subarray(g.first * len, (g.first + g.count) * len));
      }
      const adapter = LoraptAdapter.attach(model, factors, { residuals });
      const x = input();
      const adapted = new AdaptedModel(model, adapter);
      const y = adapted.forward(x);
      const ref = readF32('unetr_tiny', 'logits.bin');
      expect(relToMax(await y.data(), ref)).toBeLessThan(PARITY);
      const loss = diceLoss(y, target());
      const meta = readJson<Record<string, { loss_float64: number }>>(DIR, 'lorapt.json');
      expect(Math.abs((await loss.item()) - meta[`r${r}`].loss_float64)).toBeLessThan(1e-9);
      backward(loss);
      const grads = readIndexed(DIR, `r${r}_grads`);
      for (const [name, p] of adapter.params) {
        expect(p.grad, name).not.toBeNull();
        expect(relToMax(await p.grad!.data(), entryValues(grads, name)), name).toBeLessThan(PARITY);
      }
      // Frozen base: nothing else received a gradient.
      expect(model.params.trainable()).toHaveLength(0);
      adapted.dispose();
      model.dispose();
    });
  }

  it('computes its own factors and residual (t-SVD on the engine weights): step 0 is the base model', async () => {
    const { model, cfg } = load(true);
    const adapted = await attachMethod(model, cfg);
    expect(adapted.trainableCount()).toBe(countTrainable(model, cfg).total);
    // 10,824 factor scalars (fixtures §C) + the decoder (decoder5…decoder2).
    expect(countTrainable(model, cfg).method).toBe(10824);
    const y = adapted.forward(input());
    // W_res + P vs T differs by float64 rounding only.
    expect(relToMax(await y.data(), readF32('unetr_tiny', 'logits.bin'))).toBeLessThan(PARITY);
    y.dispose();
    adapted.dispose();
    model.dispose();
  });
});
