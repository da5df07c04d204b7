/**
 * LoRA-PT (lorapt_unetr_tiny) and HyPS (hyps_swin_tiny) on the wasm engine (float32) against
 * the same fixtures as lorapt.test.ts and hyps.test.ts, which check the float64 engine at 1e-6.
 * Float32 tolerances, as for the base models (models/testing/engine-parity.ts): logits within
 * 2e-5 of max|ref| (the op suite's bound; torch float32 is at ~2e-5 of max on these nets), loss
 * within 1e-5, every trainable gradient cosine ≥ 0.9999 and, for LoRA-PT, rel-L2 ≤ 1e-3.
 * There is no kink pinning for the adapted nets: a LeakyReLU element that float32 puts on the
 * other side of 0 moves the gradients behind it. HyPS's gradients are therefore held to the
 * fixture's own per-tensor float32 bound (hyps.json → suggested_f32_tolerances: 4× the rel-L2
 * of torch float32 against float64 on the same graph, fixtures README §"Gradients without
 * pinning"); the base SwinUNETR's gradients with kinks pinned agree to ≤ 5e-5
 * (models.wasm.test.ts). HyPS's 64³ forward + backward takes minutes on a busy 2-core machine:
 * it runs with SEAHORSE_FULL_PARITY=1, like the WebGPU Swin parity. Measured 2026-12-04 (busy
 * 2-core machine): LoRA-PT passes (worst factor gradient rel-L2 7.0e-5); HyPS FAILS at
 * decoder1.transp_conv.conv.weight, rel-L2 1.17e-4 against its bound 2.5e-5. Not summation:
 * the same 1.17e-4 with the conv filter gradients and every matmul of K ≥ 4096 (this tensor's
 * gradient is one) summed in float64. The gradient reaching it passes decoder1's LeakyReLUs
 * unpinned (near-kink elements there: fixtures README §6); open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, diceLoss, oneHot, type Engine } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { SwinUNETR } from '../models/swinunetr';
import { compareEntry, entryValues, fixtureWeights, readF32, readIndexed, readJson, readU8, relToMax, sample } from '../models/testing/fixtures';
import { UNETR } from '../models/unetr';
import { hasShared, sharedMissing } from '../testing/shared';
import { AdaptedModel, type HostTensor } from './adapted-model';
import { LoraptAdapter } from './lorapt';
import { baseTrainable, resolveMethod, restoreMethod } from './methods';
import { loraptTensorSpecs, slicesByParam } from './targets';

const LOGITS = 2e-5;
const LOSS = 1e-5;
const GRAD_REL_L2 = 1e-3;
const GRAD_COSINE = 0.9999;
const FULL = process.env.SEAHORSE_FULL_PARITY === '1';

let engine: Engine;
beforeAll(async () => {
  engine = await createNodeWasmEngine({ threads: 2 });
});
afterAll(() => engine?.dispose());

function indexed(dir: string, stem: string): Map<string, HostTensor> {
  const f = readIndexed(dir, stem);
  return new Map(Object.entries(f.index.tensors).map(([n, e]) => [n, { shape: e.shape, data: entryValues(f, n) }]));
}

/** rel-L2 and cosine of a gradient against its fixture entry (sampled entries: on the samples). */
function checkGrad(f: ReturnType<typeof readIndexed>, name: string, got: Float32Array | Float64Array, relL2Bound = GRAD_REL_L2): number {
  const c = compareEntry(f, name, got);
  expect(c.relL2, name).toBeLessThan(relL2Bound);
  expect(c.cosine, name).toBeGreaterThan(GRAD_COSINE);
  return c.relL2;
}

describe.skipIf(!hasShared)('LoRA-PT on the unetr_tiny fixture (wasm engine)', () => {
  if (!hasShared) it.skip(sharedMissing, () => {});
  const DIR = 'lorapt_unetr_tiny';
  const TINY = { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 };

  it('rank 1: logits, loss and every factor gradient', async () => {
    const shape = new UNETR(engine, TINY);
    const cfg = resolveMethod(shape, { method: 'lorapt', rank: 1, trainDecoder: false });
    const model = UNETR.load(engine, TINY, fixtureWeights('unetr_tiny'), { trainable: baseTrainable('unetr', cfg) });
    const res = readIndexed(DIR, 'r1_residual');
    const residuals = new Map<string, Float32Array>();
    for (const spec of loraptTensorSpecs(model)) {
      const all = entryValues(res, `${spec.name}.W_res`);
      const len = spec.n1 * spec.n2;
      for (const g of slicesByParam(spec)) residuals.set(g.param, all.subarray(g.first * len, (g.first + g.count) * len));
    }
    const adapter = LoraptAdapter.attach(model, indexed(DIR, 'r1_factors'), { residuals });
    const adapted = new AdaptedModel(model, adapter);
    const y = adapted.forward(engine.tensor(readF32('unetr_tiny', 'input.bin'), [1, 1, 32, 32, 32]));
    expect(relToMax(await y.data(), readF32('unetr_tiny', 'logits.bin'))).toBeLessThan(LOGITS);
    const loss = diceLoss(y, oneHot(engine, readU8('unetr_tiny', 'label.bin'), [1, 32, 32, 32], 3));
    expect(Math.abs((await loss.item()) - readJson<Record<string, { loss_float64: number }>>(DIR, 'lorapt.json').r1.loss_float64)).toBeLessThan(LOSS);
    backward(loss);
    const grads = readIndexed(DIR, 'r1_grads');
    let worst = 0;
    for (const [name, p] of adapter.params) worst = Math.max(worst, checkGrad(grads, name, await p.grad!.data()));
    console.log(`LoRA-PT r1 on wasm: worst factor gradient rel-L2 ${worst.toExponential(2)}`);
    adapted.dispose();
    model.dispose();
    shape.dispose();
  });
});

describe.skipIf(!hasShared || !FULL)('HyPS on the swinunetr_tiny fixture (wasm engine) [SEAHORSE_FULL_PARITY=1]', () => {
  const DIR = 'hyps_swin_tiny';
  const TINY = { inChannels: 1, outChannels: 3, featureSize: 12 };

  it('adapted logits, loss and every trainable gradient', async () => {
    const shape = new SwinUNETR(engine, TINY);
    const cfg = resolveMethod(shape, { method: 'hyps' });
    const model = SwinUNETR.load(engine, TINY, fixtureWeights('swinunetr_tiny'), { trainable: baseTrainable('swinunetr', cfg) });
    const ab = indexed(DIR, 'adapters');
    const init = new Map([...ab].filter(([n]) => n.endsWith('.A') || n.endsWith('.B')));
    const adapted = await restoreMethod(model, cfg, { init, current: ab });
    const y = adapted.forward(engine.tensor(readF32('swinunetr_tiny', 'input.bin'), [1, 1, 64, 64, 64]));
    expect(relToMax(sample(await y.data(), 61), readF32(DIR, 'logits_sample.bin'))).toBeLessThan(LOGITS);
    const loss = diceLoss(y, oneHot(engine, readU8('swinunetr_tiny', 'label.bin'), [1, 64, 64, 64], 3));
    expect(Math.abs((await loss.item()) - readJson<{ loss_float64: number }>(DIR, 'loss.json').loss_float64)).toBeLessThan(LOSS);
    backward(loss);
    const grads = readIndexed(DIR, 'grads');
    const trainable = new Map<string, { grad: { data(): Promise<Float32Array | Float64Array> } | null }>([...adapted.adapter!.params, ...[...model.params.entries()].filter(([, t]) => t.requiresGrad)]);
    expect(new Set(trainable.keys())).toEqual(new Set(Object.keys(grads.index.tensors)));
    const bounds = readJson<{ suggested_f32_tolerances: Record<string, { rel_l2: number }> }>(DIR, 'hyps.json').suggested_f32_tolerances;
    let worst = 0;
    for (const [name, t] of trainable) {
      const bound = bounds[name]?.rel_l2;
      if (bound === undefined) throw new Error(`hyps.json has no float32 bound for ${name}`);
      worst = Math.max(worst, checkGrad(grads, name, await t.grad!.data(), bound));
    }
    console.log(`HyPS on wasm: worst trainable gradient rel-L2 ${worst.toExponential(2)}`);
    adapted.dispose();
    model.dispose();
    shape.dispose();
  });
});
