/**
 * LoRA-PT (lorapt_unetr_tiny) and HyPS (hyps_swin_tiny) on the wasm engine (float32) against
 * the same fixtures as lorapt.test.ts and hyps.test.ts, which check the float64 engine at 1e-6.
 * Float32 tolerances, as for the base models (models/testing/engine-parity.ts): logits within
 * 2e-5 of max|ref| (the op suite's bound; torch float32 is at ~2e-5 of max on these nets), loss
 * within 1e-5, every trainable gradient cosine ≥ 0.9999 and, for LoRA-PT, rel-L2 ≤ 1e-3.
 *
 * HyPS gradients, as the base SwinUNETR's (fixtures README §6): a LeakyReLU pre-activation within
 * ~1e-7 of 0 that float32 puts on the other side switches its slope between 1 and 0.01 and moves
 * every gradient behind it, and which elements flip depends on the engine's rounding, not only on
 * torch's. So the rel-L2 check runs in strict mode: the near-kink LeakyReLU elements of
 * hyps.json → kinks (its LeakyReLU calls; the adapter ReLUs it also lists are not pinned, and
 * torch float32 flips none of them) are pinned to the float64 sign (testing/kinks.ts), and every
 * trainable gradient must be within min(1e-4, the fixture's suggested_f32_tolerances) rel-L2. The
 * unpinned run checks logits, loss and every gradient's direction (cosine ≥ 0.9999), and logs
 * the near-kink elements that wasm float32 flipped.
 *
 * Measured 2026-12-04 (busy 2-core machine; the HyPS case runs with SEAHORSE_FULL_PARITY=1,
 * 64³ forward + backward twice, ~1 min): LoRA-PT worst factor gradient rel-L2 7.0e-5. HyPS
 * strict: worst rel-L2 6.7e-6 (swinViT.layers4.0.blocks.0.attn.proj.B), decoder1.transp_conv.
 * conv.weight 2.3e-7 (bound 2.5e-5). Unpinned, wasm float32 flips two near-kink elements:
 * encoder1.layer.lrelu (kinks call 37) element 3105546, float64 +1.0e-7 → −1.9e-7 (torch float32
 * flips the same one; encoder1 is frozen, so no trainable gradient sees it), and
 * decoder1.conv_block.lrelu (call 55, its second call) element 2095041, float64 +1.07e-8
 * (7e-9·std) → −3.8e-7, which torch float32 does not flip. That one flip is the whole of the
 * earlier failure: unpinned, decoder1.transp_conv.conv.weight is at rel-L2 1.17e-4, 4.7× its bound
 * (cosine 0.99999999), and pinning that single element alone brings it to 2.3e-7 and every
 * gradient to ≤ 5.4e-6. Summing in float64 had not moved the 1.17e-4 (not summation order), and
 * no kernel is at fault: with the kink pinned the transposed-conv weight gradient agrees to 2e-7.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, diceLoss, oneHot, type Engine, type Tensor } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import type { ForwardOptions } from '../models/context';
import { SwinUNETR } from '../models/swinunetr';
import { compareEntry, entryValues, fixtureWeights, readF32, readIndexed, readJson, readU8, relToMax, sample } from '../models/testing/fixtures';
import { leakyReluCalls, pinnedLeakyRelu, recordKinkFlips, type KinkCall, type KinkFlip } from '../models/testing/kinks';
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
const STRICT_REL_L2 = 1e-4;
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

interface HypsRun {
  logitsSample: Float32Array | Float64Array;
  loss: number;
  grads: Map<string, Float32Array | Float64Array>;
}

describe.skipIf(!hasShared || !FULL)('HyPS on the swinunetr_tiny fixture (wasm engine) [SEAHORSE_FULL_PARITY=1]', () => {
  const DIR = 'hyps_swin_tiny';
  const TINY = { inChannels: 1, outChannels: 3, featureSize: 12 };
  let plain: HypsRun;
  let strict: HypsRun;
  let grads: ReturnType<typeof readIndexed>;
  let bounds: Record<string, { rel_l2: number }>;
  let flips: KinkFlip[];

  /** Adapted forward on the fixture input, Dice loss, backward; every trainable gradient read back. */
  async function runHyps(opts: ForwardOptions): Promise<HypsRun> {
    const shape = new SwinUNETR(engine, TINY);
    const cfg = resolveMethod(shape, { method: 'hyps' });
    const model = SwinUNETR.load(engine, TINY, fixtureWeights('swinunetr_tiny'), { trainable: baseTrainable('swinunetr', cfg) });
    const ab = indexed(DIR, 'adapters');
    const init = new Map([...ab].filter(([n]) => n.endsWith('.A') || n.endsWith('.B')));
    const adapted = await restoreMethod(model, cfg, { init, current: ab });
    const y = adapted.forward(engine.tensor(readF32('swinunetr_tiny', 'input.bin'), [1, 1, 64, 64, 64]), opts);
    const logitsSample = sample(await y.data(), 61);
    const loss = diceLoss(y, oneHot(engine, readU8('swinunetr_tiny', 'label.bin'), [1, 64, 64, 64], 3));
    const lossValue = await loss.item();
    backward(loss);
    const trainable = new Map<string, Tensor>([...adapted.adapter!.params, ...[...model.params.entries()].filter(([, t]) => t.requiresGrad)]);
    const out = new Map<string, Float32Array | Float64Array>();
    for (const [name, t] of trainable) out.set(name, await t.grad!.data());
    adapted.dispose();
    model.dispose();
    shape.dispose();
    return { logitsSample, loss: lossValue, grads: out };
  }

  beforeAll(async () => {
    grads = readIndexed(DIR, 'grads');
    const hyps = readJson<{ suggested_f32_tolerances: Record<string, { rel_l2: number }>; kinks: { per_call: KinkCall[] } }>(DIR, 'hyps.json');
    bounds = hyps.suggested_f32_tolerances;
    const calls = leakyReluCalls(hyps.kinks.per_call);
    const recorder = recordKinkFlips(calls, (i) => calls[i].fixture_ordinal);
    plain = await runHyps({ leakyRelu: recorder.hook });
    flips = await recorder.flips();
    strict = await runHyps({ leakyRelu: pinnedLeakyRelu(engine, calls) });
  });

  it('adapted logits and loss', () => {
    expect(relToMax(plain.logitsSample, readF32(DIR, 'logits_sample.bin'))).toBeLessThan(LOGITS);
    expect(Math.abs(plain.loss - readJson<{ loss_float64: number }>(DIR, 'loss.json').loss_float64)).toBeLessThan(LOSS);
    expect(new Set(plain.grads.keys())).toEqual(new Set(Object.keys(grads.index.tensors)));
  });

  it('every trainable gradient in strict mode (near-kink LeakyReLU elements pinned to the float64 sign)', () => {
    let worst = 0;
    let worstName = '';
    for (const [name, g] of strict.grads) {
      const bound = bounds[name]?.rel_l2;
      if (bound === undefined) throw new Error(`hyps.json has no float32 bound for ${name}`);
      const rel = checkGrad(grads, name, g, Math.min(STRICT_REL_L2, bound));
      if (rel > worst) [worst, worstName] = [rel, name];
    }
    console.log(`HyPS on wasm, strict: worst trainable gradient rel-L2 ${worst.toExponential(2)} (${worstName})`);
  });

  it('every trainable gradient unpinned: direction (cosine)', () => {
    let worst = 0;
    let worstName = '';
    for (const [name, g] of plain.grads) {
      const c = compareEntry(grads, name, g);
      expect(c.cosine, name).toBeGreaterThan(GRAD_COSINE);
      if (c.relL2 / bounds[name].rel_l2 > worst) [worst, worstName] = [c.relL2 / bounds[name].rel_l2, name];
    }
    const where = flips.map((f) => `${f.call} (call ${f.ordinal}) element ${f.flatIndex}: float64 ${f.valueF64.toExponential(2)}, here ${f.value.toExponential(2)}`);
    console.log(`HyPS on wasm, unpinned: near-kink LeakyReLU elements on the other side of 0: ${where.length ? where.join('; ') : 'none'}`);
    console.log(`HyPS on wasm, unpinned: largest rel-L2 / fixture bound ${worst.toFixed(2)} (${worstName}, rel-L2 ${compareEntry(grads, worstName, plain.grads.get(worstName)!).relL2.toExponential(2)})`);
  });
});
