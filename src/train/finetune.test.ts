/**
 * A short fine-tuning run on real MSD hippocampus crops lowers the loss, for every method, on
 * the wasm engine (what `seahorse finetune` uses without a hardware GPU), and full fine-tuning,
 * which runs every backward kernel of UNETR, also on the WebGPU engine (Node's Dawn; a software
 * adapter on CPU-only machines, where one such run takes 30–40 s). The bases are small
 * randomly initialised models — the claim tested is only that training works (the loss on a
 * fixed batch of the training crops falls), so their size is chosen for a quick run: every
 * method on a UNETR with 16³ crops (HyPS included: its layer is the same on any encoder Linear),
 * and HyPS on a one-block-per-stage SwinUNETR with 32³ crops, its paper architecture (on WebGPU
 * it takes minutes per step on a software adapter and so runs there with SEAHORSE_FULL_PARITY=1).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../core/io';
import { createWebGPUEngine, type Engine } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { requestNodeDevice } from '../engine/device-node';
import type { SegmentationModel } from '../models/model';
import { SwinUNETR, type SwinUNETRConfig } from '../models/swinunetr';
import { UNETR, type UNETRConfig } from '../models/unetr';
import { attachMethod, baseTrainable, resolveMethod, type MethodConfig } from '../peft/methods';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import { evaluateLoss, train } from './loop';
import { asLabels, batches, centreBatch, makeSample, type TrainingSample } from './samples';

const UNETR_SMALL: UNETRConfig = { inChannels: 1, outChannels: 3, imgSize: 16, featureSize: 4, hiddenSize: 16, mlpDim: 32, numHeads: 2 };
const SWIN_SMALL: SwinUNETRConfig = { inChannels: 1, outChannels: 3, featureSize: 12, depths: [1, 1, 1, 1], numHeads: [1, 1, 2, 2] };
const STEPS = 6;
const LR = 3e-3;
const FULL = process.env.SEAHORSE_FULL_PARITY === '1';
type Backend = 'wasm' | 'webgpu';

describe.skipIf(!hasShared)(`fine-tuning on MSD crops lowers the loss (wasm, WebGPU)${hasShared ? '' : ` — ${sharedMissing}`}`, () => {
  const engines = new Map<Backend, Engine>();
  let samples: TrainingSample[];
  beforeAll(async () => {
    engines.set('webgpu', createWebGPUEngine(await requestNodeDevice()));
    // One thread: vitest runs another file beside this one on the 2-core CI machine.
    engines.set('wasm', await createNodeWasmEngine({ threads: 1 }));
    const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as Record<string, string[]>;
    samples = split.fewshot_pool.slice(0, 3).map((c) => {
      const read = (dir: string) => readVolume(new Uint8Array(readFileSync(join(msdDir, dir, c))), c);
      return makeSample(c, read('images'), asLabels(read('labels'), c), 3, { orientation: 'as-is', spacingMm: [1, 1, 1], normalisation: { kind: 'zscore', over: 'all' } });
    });
  });
  afterAll(() => engines.forEach((e) => e.dispose()));

  /** HyPS on SwinUNETR through WebGPU: minutes per step on a software adapter, so with SEAHORSE_FULL_PARITY=1 only. */
  const fullOnly = (arch: string, backend: Backend) => arch === 'SwinUNETR' && backend === 'webgpu';
  const cases: ['UNETR' | 'SwinUNETR', MethodConfig, Backend][] = [
    ['UNETR', { method: 'lorapt' }, 'wasm'],
    ['UNETR', { method: 'lora', rank: 4 }, 'wasm'],
    ['UNETR', { method: 'pissa', rank: 4 }, 'wasm'],
    ['UNETR', { method: 'decoder' }, 'wasm'],
    ['UNETR', { method: 'full' }, 'wasm'],
    ['UNETR', { method: 'hyps' }, 'wasm'],
    ['UNETR', { method: 'full' }, 'webgpu'],
    ['SwinUNETR', { method: 'hyps' }, 'wasm'],
    ['SwinUNETR', { method: 'hyps' }, 'webgpu'],
  ];
  for (const [arch, method, backend] of cases) {
    it.skipIf(fullOnly(arch, backend) && !FULL)(`${method.method} on ${arch} (${backend})`, async () => {
      const engine = engines.get(backend)!;
      const unetr = arch === 'UNETR';
      const size = unetr ? 16 : 32;
      const shape = unetr ? new UNETR(engine, UNETR_SMALL) : new SwinUNETR(engine, SWIN_SMALL);
      const cfg = resolveMethod(shape, method);
      const trainable = baseTrainable(shape.kind, cfg);
      shape.dispose();
      const model: SegmentationModel = unetr ? UNETR.init(engine, UNETR_SMALL, 5, { trainable }) : SwinUNETR.init(engine, SWIN_SMALL, 6, { trainable });
      const adapted = await attachMethod(model, cfg);
      const crop = [size, size, size] as const;
      const fixed = centreBatch(samples, crop);
      const before = await evaluateLoss(adapted, fixed);
      const result = await train(adapted, batches(samples, 2, crop, 17), { steps: STEPS, lr: LR });
      const after = await evaluateLoss(adapted, fixed);
      expect(result.status).toBe('done');
      expect(result.reports).toHaveLength(STEPS);
      expect(after).toBeLessThan(before);
      console.log(`${method.method} on ${arch} (${engine.description}): loss on the fixed batch ${before.toFixed(4)} → ${after.toFixed(4)}; steps ${result.reports.map((r) => r.loss.toFixed(3)).join(' ')}`);
      adapted.dispose();
      model.dispose();
    });
  }
});
