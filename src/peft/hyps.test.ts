/**
 * HyPS on the float64 engine against ../shared/fixtures/hyps_swin_tiny (fixtures §D): the
 * principal factors A, B, the adapted logits and loss, and the gradients of every A, B, Dn, Up
 * and of the trainable decoder. Tolerance 1e-6 of max|ref| (float64 reference stored as float32;
 * a float64 engine path agrees to ~1e-7, fixtures §6 item 5).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { backward, createCpuEngine, diceLoss, oneHot } from '../engine';
import { SwinUNETR } from '../models/swinunetr';
import { compareEntry, entryValues, fixtureWeights, readF32, readIndexed, readJson, readU8, relToMax, sample } from '../models/testing/fixtures';
import { hasShared, sharedMissing } from '../testing/shared';
import type { HostTensor } from './adapted-model';
import { computePrincipalInit } from './lowrank';
import { baseTrainable, countTrainable, resolveMethod, restoreMethod } from './methods';
import { targetLinears } from './targets';

const PARITY = 1e-6;
const TINY = { inChannels: 1, outChannels: 3, featureSize: 12 };
const DIR = 'hyps_swin_tiny';
/** The 64³ float64 forward + backward takes minutes of CPU, and far longer on a shared machine. */
const SWIN_TIMEOUT = 60 * 60_000;

describe.skipIf(!hasShared)('HyPS on the swinunetr_tiny fixture (float64 engine)', () => {
  if (!hasShared) it.skip(sharedMissing, () => {});
  const engine = createCpuEngine();
  afterAll(() => engine.dispose());
  const shape = new SwinUNETR(engine, TINY);
  const cfg = resolveMethod(shape, { method: 'hyps' });
  const load = () => SwinUNETR.load(engine, TINY, fixtureWeights('swinunetr_tiny'), { trainable: baseTrainable('swinunetr', cfg) });
  const adapters = () => {
    const f = readIndexed(DIR, 'adapters');
    return new Map<string, HostTensor>(Object.entries(f.index.tensors).map(([n, e]) => [n, { shape: e.shape, data: entryValues(f, n) }]));
  };

  it('targets the 36 swinViT Linears in the reference order, with the reference parameter counts', () => {
    const meta = readJson<{ layer_order: string[]; param_counts: Record<string, number> }>(DIR, 'hyps.json');
    expect(targetLinears(shape).map((t) => t.module)).toEqual(meta.layer_order);
    const c = countTrainable(shape, cfg);
    expect(c.method).toBe(meta.param_counts.parallel_A_B + meta.param_counts.serial_Dn_Up);
    expect(c.base).toBe(meta.param_counts.decoders_and_out);
    expect(c.total).toBe(meta.param_counts.total_trainable);
  });

  it('computes A = U_r S_r^½ and B = S_r^½ V_rᵀ as the reference', async () => {
    const model = load();
    const ours = await computePrincipalInit(model, 2, 'HyPS');
    const ref = adapters();
    for (const [name, t] of ours) expect(relToMax(t.data, ref.get(name)!.data), name).toBeLessThan(PARITY);
    model.dispose();
  });

  it('matches the adapted logits, loss and every trainable gradient', { timeout: SWIN_TIMEOUT }, async () => {
    const cpu0 = process.cpuUsage();
    const model = load();
    const ab = adapters();
    const init = new Map([...ab].filter(([n]) => n.endsWith('.A') || n.endsWith('.B')));
    const adapted = await restoreMethod(model, cfg, { init, current: ab });
    expect(adapted.trainableCount()).toBe(countTrainable(model, cfg).total);
    const y = adapted.forward(engine.tensor(readF32('swinunetr_tiny', 'input.bin'), [1, 1, 64, 64, 64]));
    const logits = await y.data();
    expect(relToMax(sample(logits, 61), readF32(DIR, 'logits_sample.bin'))).toBeLessThan(PARITY);
    const loss = diceLoss(y, oneHot(engine, readU8('swinunetr_tiny', 'label.bin'), [1, 64, 64, 64], 3));
    expect(Math.abs((await loss.item()) - readJson<{ loss_float64: number }>(DIR, 'loss.json').loss_float64)).toBeLessThan(1e-9);
    backward(loss);
    const grads = readIndexed(DIR, 'grads');
    const trainable = new Map<string, { grad: { data(): Promise<Float32Array | Float64Array> } | null }>([...adapted.adapter!.params, ...[...model.params.entries()].filter(([, t]) => t.requiresGrad)]);
    expect(new Set(trainable.keys())).toEqual(new Set(Object.keys(grads.index.tensors)));
    for (const [name, t] of trainable) {
      expect(t.grad, name).not.toBeNull();
      const c = compareEntry(grads, name, await t.grad!.data());
      expect(c.relMax, name).toBeLessThan(PARITY);
      expect(c.l2Rel, name).toBeLessThan(PARITY);
    }
    adapted.dispose();
    model.dispose();
    const cpu = process.cpuUsage(cpu0);
    console.log(`HyPS swinunetr_tiny forward + backward (float64 engine): ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s of CPU`);
  });
});
