/**
 * Merging adapters into ONNX: for every method, the merged model run by onnxruntime-node equals
 * the engine's adapted forward (float64) on the same input; HyPS's serial adapters become ONNX
 * nodes (checked on UNETR here and against the HyPS fixture's logits on SwinUNETR); an adapter
 * never merges into another base.
 *
 * Tolerance: onnxruntime (float32) vs the float64 engine. The fixtures measured ORT-node against
 * float64 references at 1.4e-5 (UNETR) / 3.6e-5 (Swin) max abs and 1.6e-6 / 2.8e-6 rel-L2
 * (fixtures §5); we allow about 4× that: 1e-4 / 1.5e-4 max abs and 1e-5 rel-L2.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuEngine, noGrad, randnArray } from '../engine';
import { createOrtNodeBackend } from '../infer/ort-node';
import { UNETR } from '../models/unetr';
import { entryValues, FIXTURE_CONFIGS, fixturePath, fixtureWeights, maxAbsDiff, readF32, readIndexed, relL2, sample } from '../models/testing/fixtures';
import { decodeModel, graphOf, initializersOf, nodesOf, serializeModel } from '../onnx/proto';
import { inlineModel } from '../onnx/prepare';
import { hasShared, sharedMissing } from '../testing/shared';
import type { HostTensor } from './adapted-model';
import { decodeAdapter, encodeAdapter, type Adapter } from './adapter-file';
import { applyAdapterToOnnx, makeAdapter, overlaySource } from './apply';
import { BaseModelMismatchError } from './errors';
import { fingerprintModel, fingerprintSource } from './fingerprint';
import { modelShapeOf } from './merge';
import { baseTrainable, initialiseMethod, resolveMethod, restoreMethod, type MethodConfig } from './methods';
import { isDecoderParam, targetLinears } from './targets';

const ORT_MAX_ABS = 1e-4;
const ORT_MAX_ABS_SWIN = 1.5e-4;
const ORT_REL_L2 = 1e-5;
const TINY = FIXTURE_CONFIGS.unetr_tiny;

function onnxOf(dir: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(fixturePath(dir, 'model.onnx')));
  return inlineModel(bytes, new Map([['weights.bin', new Uint8Array(readFileSync(fixturePath(dir, 'weights.bin')))]]));
}

async function runOrt(bytes: Uint8Array, input: Float32Array, size: number): Promise<Float32Array> {
  const backend = await createOrtNodeBackend(bytes);
  try {
    return await backend.run(input, [size, size, size]);
  } finally {
    await backend.dispose();
  }
}

/** A trained-looking copy of a tensor: values + N(0, (0.2·rms + 0.01)²), deterministic. */
function perturb(t: HostTensor, seed: number): HostTensor {
  let ss = 0;
  for (const v of t.data) ss += v * v;
  const sd = 0.2 * Math.sqrt(ss / Math.max(1, t.data.length)) + 0.01;
  const noise = randnArray(t.data.length, seed, sd);
  return { shape: t.shape, data: Float32Array.from(t.data, (v, i) => v + noise[i]) };
}

describe.skipIf(!hasShared)('merged ONNX = the engine’s adapted forward', () => {
  if (!hasShared) it.skip(sharedMissing, () => {});
  const engine = createCpuEngine();
  afterAll(() => engine.dispose());
  const onnx = hasShared ? onnxOf('unetr_tiny') : new Uint8Array();
  const input = hasShared ? readF32('unetr_tiny', 'input.bin') : new Float32Array();

  const cases: MethodConfig[] = [
    { method: 'lorapt', ranks: { W_up: 1, W_sa: 2, W_down: 1 } },
    { method: 'lora', rank: 4, alpha: 8 },
    { method: 'pissa', rank: 3 },
    { method: 'hyps', trainDecoder: false },
    { method: 'decoder' },
  ];
  for (const c of cases) {
    it(`${c.method}: onnxruntime on the merged model matches the engine`, async () => {
      const shape = new UNETR(engine, TINY);
      const cfg = resolveMethod(shape, c);
      const trainable = baseTrainable('unetr', cfg);
      const base = UNETR.load(engine, TINY, fixtureWeights('unetr_tiny'), { trainable });
      const fingerprint = await fingerprintModel(base);
      const st = await initialiseMethod(base, cfg);
      // Simulated training: every trainable tensor moves (method tensors and the base parameters it trains).
      const current = new Map([...st.current].map(([n, t], i) => [n, perturb(t, 100 + i)]));
      const trainedBase = new Map<string, HostTensor>();
      let i = 0;
      for (const [n, t] of base.params.entries()) if (t.requiresGrad) trainedBase.set(n, perturb({ shape: t.shape, data: Float32Array.from(await t.data()) }, 500 + i++));
      base.dispose();
      const model = UNETR.load(engine, TINY, overlaySource(fixtureWeights('unetr_tiny'), trainedBase, new Set(trainedBase.keys())), { trainable });
      const adapted = await restoreMethod(model, cfg, { init: st.init, current });
      const adapter = await decodeAdapter(await encodeAdapter(await makeAdapter(adapted, cfg, { fingerprint, label: 'unetr_tiny' })));
      const y = noGrad(() => adapted.forward(engine.tensor(input, [1, 1, 32, 32, 32])));
      const ours = await y.data();
      const merged = await applyAdapterToOnnx(onnx, adapter, 'unetr_tiny/model.onnx');
      expect(merged.insertedAdapters).toBe(cfg.method === 'hyps' ? targetLinears(model).length : 0);
      const ort = await runOrt(merged.bytes, input, 32);
      expect(maxAbsDiff(ort, ours)).toBeLessThan(ORT_MAX_ABS);
      expect(relL2(ort, ours)).toBeLessThan(ORT_REL_L2);
      // …and the adapter really changed the model (the comparison is not base vs base).
      expect(maxAbsDiff(ours, readF32('unetr_tiny', 'logits.bin'))).toBeGreaterThan(1e-2);
      y.dispose();
      adapted.dispose();
      model.dispose();
    });
  }

  it('HyPS on SwinUNETR: the serial adapters as ONNX nodes reproduce the fixture’s adapted logits', async () => {
    const f = readIndexed('hyps_swin_tiny', 'adapters');
    const tensors = new Map<string, HostTensor>(Object.entries(f.index.tensors).map(([n, e]) => [n, { shape: e.shape, data: entryValues(f, n) }]));
    const shape = modelShapeOf('swinunetr', { ...FIXTURE_CONFIGS.swinunetr_tiny });
    const cfg = resolveMethod(shape, { method: 'hyps' });
    const swinOnnx = onnxOf('swinunetr_tiny');
    const fingerprint = await fingerprintSource(fixtureWeights('swinunetr_tiny'), shape.paramSpecs, 'swinunetr');
    const adapter: Adapter = {
      method: cfg,
      base: { kind: 'swinunetr', config: { ...FIXTURE_CONFIGS.swinunetr_tiny }, fingerprint },
      training: {},
      trained: tensors,
      init: new Map([...tensors].filter(([n]) => /\.(A|B)$/.test(n))),
    };
    const merged = await applyAdapterToOnnx(swinOnnx, adapter);
    expect(merged.insertedAdapters).toBe(36);
    const nodes = nodesOf(graphOf(decodeModel(merged.bytes)));
    expect(nodes.filter((n) => n.name.endsWith('.hyps/Relu'))).toHaveLength(36);
    const ort = await runOrt(merged.bytes, readF32('swinunetr_tiny', 'input.bin'), 64);
    const ref = readF32('hyps_swin_tiny', 'logits_sample.bin');
    const s = sample(ort, 61);
    expect(maxAbsDiff(s, ref)).toBeLessThan(ORT_MAX_ABS_SWIN);
    expect(relL2(s, ref)).toBeLessThan(ORT_REL_L2);
    // The base model's logits differ from the adapted ones by up to 0.145 (fixtures §D).
    expect(maxAbsDiff(sample(readF32('swinunetr_tiny', 'logits.bin'), 61), ref)).toBeGreaterThan(0.05);
  });

  it('refuses to merge into another base model', async () => {
    const shape = new UNETR(engine, TINY);
    const cfg = resolveMethod(shape, { method: 'decoder' });
    const base = UNETR.load(engine, TINY, fixtureWeights('unetr_tiny'), { trainable: baseTrainable('unetr', cfg) });
    const adapter = await makeAdapter(await restoreMethod(base, cfg, { init: new Map(), current: new Map() }), cfg, { fingerprint: await fingerprintModel(base) });
    base.dispose();
    // Another architecture.
    await expect(applyAdapterToOnnx(onnxOf('swinunetr_tiny'), adapter, 'swinunetr_tiny/model.onnx')).rejects.toThrow(BaseModelMismatchError);
    // Same architecture, one weight changed.
    const other = decodeModel(onnx);
    const w = initializersOf(graphOf(other)).find((t) => t.name === 'vit.blocks.5.mlp.linear2.bias')!;
    const raw = new Uint8Array(w.rawData);
    raw[0] ^= 1;
    w.rawData = raw;
    await expect(applyAdapterToOnnx(serializeModel(other), adapter, 'a retrained UNETR')).rejects.toThrow(/trained on a different base model .*a retrained UNETR is a unetr with weights/);
    // The decoder-only adapter holds exactly the decoder.
    expect([...adapter.trained.keys()].every((n) => isDecoderParam('unetr', n))).toBe(true);
  });
});
