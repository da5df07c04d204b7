/**
 * Architecture bookkeeping without running a network: parameter names, shapes and order against
 * MONAI's (`weights.json → param_order`), the paper configurations' parameter counts
 * (peft-methods.md §2.1, §3.1), configuration and input validation, and the Swin window helpers
 * against the engine's reference mask.
 */
import { describe, expect, it } from 'vitest';
import { createCpuEngine, shiftedWindowMask } from '../engine';
import { hasShared, sharedMissing } from '../testing/shared';
import { ModelConfigError } from './errors';
import { countParams } from './params';
import { clampWindow, windowRegionIds } from './swin';
import { SwinUNETR } from './swinunetr';
import { FIXTURE_CONFIGS, readJson } from './testing/fixtures';
import { UNETR } from './unetr';

const engine = createCpuEngine();

const UNETR_TINY = FIXTURE_CONFIGS.unetr_tiny;
const SWIN_TINY = FIXTURE_CONFIGS.swinunetr_tiny;

interface WeightsJson {
  param_order: string[];
  tensors: Record<string, { shape: number[] }>;
}

describe.skipIf(!hasShared)(`parameter names, shapes and order match MONAI${hasShared ? '' : ` (${sharedMissing})`}`, () => {
  it('UNETR: fixture param_order without the unused cross-attention parameters', () => {
    const w = readJson<WeightsJson>('unetr_tiny', 'weights.json');
    const monai = w.param_order.filter((n) => !/\.(norm_cross_attn|cross_attn)\./.test(n));
    const ours = new UNETR(engine, UNETR_TINY).paramSpecs;
    expect(ours.map((s) => s.name)).toEqual(monai);
    for (const s of ours) expect(s.shape, s.name).toEqual(w.tensors[s.name].shape);
    // MONAI's count includes 198,912 unused cross-attention parameters (fixtures README §A).
    expect(countParams(ours)).toBe(1_521_467 - 198_912);
  });

  it('SwinUNETR: fixture param_order exactly', () => {
    const w = readJson<WeightsJson>('swinunetr_tiny', 'weights.json');
    const ours = new SwinUNETR(engine, SWIN_TINY).paramSpecs;
    expect(ours.map((s) => s.name)).toEqual(w.param_order);
    for (const s of ours) expect(s.shape, s.name).toEqual(w.tensors[s.name].shape);
    expect(countParams(ours)).toBe(4_078_077);
  });
});

describe('paper configurations', () => {
  it('UNETR of LoRA-PT has 93,011,170 parameters (peft-methods §2.1)', () => {
    const m = new UNETR(engine, { inChannels: 1, outChannels: 2, imgSize: 128, featureSize: 16, hiddenSize: 768, mlpDim: 3072, numHeads: 12, dropoutRate: 0.1 });
    expect(countParams(m.paramSpecs)).toBe(93_011_170);
  });

  it('SwinUNETR-48 of HyPS has 62,186,708 parameters (peft-methods §3.1)', () => {
    const m = new SwinUNETR(engine, { inChannels: 1, outChannels: 2, featureSize: 48, downsample: 'legacy' });
    expect(countParams(m.paramSpecs)).toBe(62_186_708);
  });

  it('SwinUNETR v2 and patch norm add MONAI-named parameters in registration order', () => {
    const names = new SwinUNETR(engine, { ...SWIN_TINY, useV2: true, patchNorm: true }).paramSpecs.map((s) => s.name);
    expect(names.slice(0, 4)).toEqual(['swinViT.patch_embed.proj.weight', 'swinViT.patch_embed.proj.bias', 'swinViT.patch_embed.norm.weight', 'swinViT.patch_embed.norm.bias']);
    // layers1..4 first, then layers1c..4c (attribute order of MONAI's SwinTransformer).
    const firstV2 = names.indexOf('swinViT.layers1c.0.layer.conv1.conv.weight');
    expect(firstV2).toBeGreaterThan(names.indexOf('swinViT.layers4.0.downsample.norm.bias'));
    expect(names[firstV2 + 2]).toBe('swinViT.layers2c.0.layer.conv1.conv.weight');
  });

  it('UNETR without res/conv blocks and with perceptron patches names its layers as MONAI', () => {
    const names = new UNETR(engine, { ...UNETR_TINY, resBlock: false, convBlock: false, projType: 'perceptron', qkvBias: true }).paramSpecs.map((s) => s.name);
    expect(names).toContain('vit.patch_embedding.patch_embeddings.1.weight');
    expect(names).toContain('vit.blocks.0.attn.qkv.bias');
    expect(names).toContain('encoder2.blocks.1.conv.weight');
    expect(names).not.toContain('decoder5.conv_block.conv3.conv.weight');
  });
});

describe('bad configurations and inputs give clear errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['hidden not divisible by heads', () => new UNETR(engine, { ...UNETR_TINY, numHeads: 5 }), /hiddenSize 64 is not divisible by numHeads 5/],
    ['img size not divisible by 16', () => new UNETR(engine, { ...UNETR_TINY, imgSize: [32, 40, 32] }), /divisible by the patch size 16/],
    ['too few layers for the skips', () => new UNETR(engine, { ...UNETR_TINY, numLayers: 9 }), /numLayers 9 must exceed 9/],
    ['dropout rate 1', () => new UNETR(engine, { ...UNETR_TINY, dropoutRate: 1 }), /dropoutRate must be in \[0, 1\)/],
    ['unknown norm', () => new UNETR(engine, { ...UNETR_TINY, normName: 'batch' as 'instance' }), /normName "batch" is not supported/],
    ['Swin feature size', () => new SwinUNETR(engine, { ...SWIN_TINY, featureSize: 16 }), /divisible by 12/],
    ['Swin patch size', () => new SwinUNETR(engine, { ...SWIN_TINY, patchSize: 4 }), /patchSize 4 is not supported/],
    ['Swin depths', () => new SwinUNETR(engine, { ...SWIN_TINY, depths: [2, 2, 2] }), /must each have 4 entries/],
    ['Swin heads', () => new SwinUNETR(engine, { ...SWIN_TINY, numHeads: [5, 6, 12, 24] }), /12 channels, not divisible by numHeads 5/],
    ['Swin mergingv2', () => new SwinUNETR(engine, { ...SWIN_TINY, downsample: 'mergingv2' as 'merging' }), /"mergingv2" is not supported/],
  ];
  for (const [what, f, msg] of cases) {
    it(what, () => {
      expect(f).toThrow(ModelConfigError);
      expect(f).toThrow(msg);
    });
  }

  it('a forward on the wrong input shape names the tensor and the expected shape', () => {
    const m = UNETR.init(engine, UNETR_TINY, 1);
    const x = engine.zeros([1, 1, 32, 32, 48], { name: 'image' });
    expect(() => m.forward(x)).toThrow(/UNETR input "image" \[1,1,32,32,48\] must be \[B, 1, 32, 32, 32\]/);
    const s = SwinUNETR.init(engine, SWIN_TINY, 1);
    const y = engine.zeros([1, 1, 64, 48, 64], { name: 'crop' });
    expect(() => s.forward(y)).toThrow(/SwinUNETR input "crop" \[1,1,64,48,64\] must be .* divisible by 32/);
    for (const t of [m, x, s, y]) t.dispose();
  });

  it('a model built without weights says how to get them', () => {
    expect(() => new UNETR(engine, UNETR_TINY).params).toThrow(/UNETR.load or UNETR.init/);
  });
});

describe('Swin window helpers', () => {
  it('clamp the window to small feature maps and drop the shift there (MONAI get_window_size)', () => {
    expect(clampWindow([4, 4, 4], [7, 7, 7], [3, 3, 3])).toEqual({ window: [4, 4, 4], shift: [0, 0, 0] });
    expect(clampWindow([7, 14, 8], [7, 7, 7], [3, 3, 3])).toEqual({ window: [7, 7, 7], shift: [0, 3, 3] });
  });

  it('region ids give the same −100 mask as the engine reference', () => {
    for (const [dims, window, shift] of [
      [[14, 7, 21], [7, 7, 7], [3, 3, 3]],
      [[6, 4, 6], [3, 2, 3], [1, 1, 1]],
    ] as const) {
      const ids = windowRegionIds(dims, window, shift);
      const ref = shiftedWindowMask(dims, window, shift);
      const N = window[0] * window[1] * window[2];
      expect(ids.length * N).toBe(ref.length);
      let mismatches = 0;
      for (let w = 0; w < ids.length / N; w++) {
        for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if ((ids[w * N + i] === ids[w * N + j] ? 0 : -100) !== ref[(w * N + i) * N + j]) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });
});
