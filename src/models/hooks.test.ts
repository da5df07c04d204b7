/**
 * Forward options on the float64 engine, with small seeded models: dropout and stochastic depth
 * (train vs eval, seeded masks, statistics, gradients), the PEFT hooks (every parameter and every
 * nn.Linear is routed through them, in MONAI's names), the LeakyReLU call order the fixtures'
 * kink lists use, and the perceptron patch embedding against the conv one.
 */
import { describe, expect, it } from 'vitest';
import { backward, createCpuEngine, noGrad, sum, tidy, type Tensor } from '../engine';
import { hasShared, sharedMissing } from '../testing/shared';
import { ForwardContext } from './context';
import { ParamSet } from './params';
import { SwinUNETR } from './swinunetr';
import { FIXTURE_CONFIGS, fixtureWeights, readF32, readJson } from './testing/fixtures';
import { UNETR } from './unetr';
import { mapWeightSource } from './weights';

const engine = createCpuEngine();
/** Small enough for quick float64 runs: 2 tokens, 4 feature channels. */
const SMALL_UNETR = { inChannels: 1, outChannels: 2, imgSize: [32, 16, 16], featureSize: 4, hiddenSize: 16, mlpDim: 32, numHeads: 2 } as const;
const SMALL_SWIN = { inChannels: 1, outChannels: 2, featureSize: 12, depths: [2, 2, 2, 2], numHeads: [3, 3, 3, 3], windowSize: 4 } as const;

async function values(t: Tensor): Promise<Float64Array> {
  const v = Float64Array.from(await t.data());
  t.dispose();
  return v;
}

function input(shape: number[], seed = 3): Tensor {
  return engine.randn(shape, { seed }, { name: 'image' });
}

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('dropout and stochastic depth', () => {
  it('eval mode ignores dropout; training mode applies seeded masks', async () => {
    const withDrop = UNETR.init(engine, { ...SMALL_UNETR, dropoutRate: 0.3 }, 7);
    const without = UNETR.init(engine, SMALL_UNETR, 7);
    const x = input([1, 1, 32, 16, 16]);
    const run = (m: UNETR, opts = {}) => values(noGrad(() => m.forward(x, opts)));
    const ref = await run(without);
    expect(maxDiff(await run(withDrop), ref)).toBe(0);
    const a = await run(withDrop, { training: true, seed: 11 });
    const b = await run(withDrop, { training: true, seed: 11 });
    const c = await run(withDrop, { training: true, seed: 12 });
    expect(maxDiff(a, b)).toBe(0);
    expect(maxDiff(a, c)).toBeGreaterThan(1e-3);
    expect(maxDiff(a, ref)).toBeGreaterThan(1e-3);
    // Training mode without a dropout rate is the eval forward.
    expect(maxDiff(await run(without, { training: true, seed: 11 }), ref)).toBe(0);
    for (const t of [withDrop, without, x]) t.dispose();
  });

  it('inverted dropout keeps 1 − rate of the elements, scaled by 1/(1 − rate), and back-propagates the mask', async () => {
    const ctx = new ForwardContext(engine, new ParamSet([]), { training: true, seed: 5 });
    const rate = 0.25;
    const x = engine.param(new Float64Array(40_000).fill(1), [40_000], 'x');
    const y = ctx.dropout(x, rate);
    const v = await y.data();
    const dropped = v.filter((e) => e === 0).length / v.length;
    // Binomial standard deviation sqrt(p(1−p)/n) = 0.0022: 5σ.
    expect(Math.abs(dropped - rate)).toBeLessThan(0.011);
    expect(v.every((e) => e === 0 || Math.abs(e - 1 / (1 - rate)) < 1e-12)).toBe(true);
    backward(sum(y));
    expect(await x.grad!.data()).toEqual(v);
    x.dispose();
  });

  it('drop path zeroes whole samples and scales the others', async () => {
    const ctx = new ForwardContext(engine, new ParamSet([]), { training: true, seed: 9 });
    const v = await ctx.dropPath(engine.ones([16, 3, 2]), 0.5).data();
    const perSample = Array.from({ length: 16 }, (_, i) => v.slice(6 * i, 6 * i + 6));
    for (const s of perSample) expect(s.every((e) => e === s[0]) && (s[0] === 0 || s[0] === 2)).toBe(true);
    expect(new Set(perSample.map((s) => s[0])).size).toBe(2);
  });

  it('SwinUNETR dropout, attention dropout and drop path act only in training mode', async () => {
    const m = SwinUNETR.init(engine, { ...SMALL_SWIN, dropRate: 0.1, attnDropRate: 0.1, dropoutPathRate: 0.2 }, 4);
    const plain = SwinUNETR.init(engine, SMALL_SWIN, 4);
    const x = input([1, 1, 32, 32, 32]);
    const ref = await values(noGrad(() => plain.forward(x)));
    expect(maxDiff(await values(noGrad(() => m.forward(x))), ref)).toBe(0);
    expect(maxDiff(await values(noGrad(() => m.forward(x, { training: true, seed: 1 }))), ref)).toBeGreaterThan(1e-3);
    for (const t of [m, plain, x]) t.dispose();
  });
});

describe('PEFT hooks', () => {
  it('every UNETR parameter is read through `param`, and every nn.Linear through `linear`', async () => {
    const m = UNETR.init(engine, SMALL_UNETR, 1);
    const x = input([1, 1, 32, 16, 16]);
    const asked = new Set<string>();
    const linears: string[] = [];
    const ref = await values(noGrad(() => m.forward(x)));
    const out = await values(
      noGrad(() =>
        m.forward(x, {
          param: (n) => (asked.add(n), undefined),
          linear: (module) => (linears.includes(module) || linears.push(module), undefined),
        }),
      ),
    );
    expect(maxDiff(out, ref)).toBe(0);
    expect([...asked].sort()).toEqual([...m.params.names].sort());
    const perBlock = ['attn.qkv', 'attn.out_proj', 'mlp.linear1', 'mlp.linear2'];
    expect(linears).toEqual(Array.from({ length: 12 }, (_, i) => perBlock.map((l) => `vit.blocks.${i}.${l}`)).flat());
    for (const t of [m, x]) t.dispose();
  });

  it('a substituted weight is what the forward uses, with gradients into the substitute', async () => {
    const m = UNETR.init(engine, SMALL_UNETR, 1);
    const x = input([1, 1, 32, 16, 16]);
    const name = 'vit.blocks.4.mlp.linear1.weight';
    const w = m.params.get(name);
    const sub = engine.param(Float64Array.from(await w.data(), (v) => 2 * v), w.shape, 'substitute');
    const y = tidy(() => sum(m.forward(x, { param: (n) => (n === name ? sub : undefined) })));
    backward(y);
    expect(sub.grad).not.toBeNull();
    expect(w.grad).toBeNull();
    const ref = await values(noGrad(() => sum(m.forward(x))));
    expect(Math.abs((await y.item()) - ref[0])).toBeGreaterThan(1e-6);
    for (const t of [m, x, sub, y]) t.dispose();
  });

  it.skipIf(!hasShared)(`SwinUNETR routes the 36 HyPS Linears through \`linear\`, in hyps.json's layer order${hasShared ? '' : ` (${sharedMissing})`}`, async () => {
    const m = SwinUNETR.init(engine, SMALL_SWIN, 2);
    const x = input([1, 1, 32, 32, 32]);
    const seen: string[] = [];
    await values(noGrad(() => m.forward(x, { linear: (module) => (seen.includes(module) || seen.push(module), undefined) })));
    expect(seen).toEqual(readJson<{ layer_order: string[] }>('hyps_swin_tiny', 'hyps.json').layer_order);
    for (const t of [m, x]) t.dispose();
  });

  it.skipIf(!hasShared)(`LeakyReLU calls come in the fixture kink lists' order, names and shapes${hasShared ? '' : ` (${sharedMissing})`}`, async () => {
    const m = UNETR.load(engine, FIXTURE_CONFIGS.unetr_tiny, fixtureWeights('unetr_tiny'));
    const x = engine.tensor(readF32('unetr_tiny', 'input.bin'), [1, 1, 32, 32, 32]);
    const calls: { call: string; call_ordinal: number; shape: number[] }[] = [];
    await values(noGrad(() => m.forward(x, { leakyRelu: (t, c) => (calls.push({ call: c.module, call_ordinal: c.ordinal, shape: [...t.shape] }), undefined) })));
    const ref = readJson<{ kinks: { per_call: { call: string; call_ordinal: number; shape: number[] }[] } }>('unetr_tiny', 'tolerances.json').kinks.per_call;
    expect(calls).toEqual(ref.map(({ call, call_ordinal, shape }) => ({ call, call_ordinal, shape })));
    for (const t of [m, x]) t.dispose();
  });
});

describe('patch embedding', () => {
  it("'perceptron' (rearrange + Linear) equals 'conv' for the same weights", async () => {
    const conv = UNETR.init(engine, SMALL_UNETR, 5);
    const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, t] of conv.params.entries()) tensors.set(name, { shape: t.shape, data: Float32Array.from(await t.data()) });
    // Conv weight [h, c, p1, p2, p3] → Linear weight [h, (p1 p2 p3 c)].
    const w = tensors.get('vit.patch_embedding.patch_embeddings.weight')!;
    const [h, C, p] = [w.shape[0], w.shape[1], w.shape[2]];
    const lin = new Float32Array(w.data.length);
    for (let o = 0; o < h; o++) for (let c = 0; c < C; c++) for (let t = 0; t < p ** 3; t++) lin[o * p ** 3 * C + t * C + c] = w.data[(o * C + c) * p ** 3 + t];
    tensors.delete('vit.patch_embedding.patch_embeddings.weight');
    tensors.set('vit.patch_embedding.patch_embeddings.1.weight', { shape: [h, p ** 3 * C], data: lin });
    tensors.set('vit.patch_embedding.patch_embeddings.1.bias', tensors.get('vit.patch_embedding.patch_embeddings.bias')!);
    tensors.delete('vit.patch_embedding.patch_embeddings.bias');
    const perceptron = UNETR.load(engine, { ...SMALL_UNETR, projType: 'perceptron' }, mapWeightSource(tensors, 'converted'));
    const x = input([1, 1, 32, 16, 16]);
    const a = await values(noGrad(() => conv.forward(x)));
    const b = await values(noGrad(() => perceptron.forward(x)));
    // Same sums in a different order: float64 rounding only.
    expect(maxDiff(a, b)).toBeLessThan(1e-12);
    for (const t of [conv, perceptron, x]) t.dispose();
  });
});
