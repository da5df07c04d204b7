/**
 * Weight loading from every source (fixture files, ONNX initializers with external data, the
 * ConvTranspose-rewritten ONNX, engine checkpoints), the loading rules of params.ts, config
 * inference, and the errors for bad weights — each must name the tensor at fault.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { rewriteConvTranspose } from '../onnx/convtranspose';
import { inlineExternalData } from '../onnx/external-data';
import { decodeModel, onnx, serializeModel } from '../onnx/proto';
import { hasShared, sharedMissing } from '../testing/shared';
import { WeightsError } from './errors';
import { detectKind, inferConfigFromWeights, numHeadsFromOnnxGraph } from './infer-config';
import { loadCheckpoint, loadOnnxModel, saveCheckpoint } from './load';
import { SwinUNETR } from './swinunetr';
import { FIXTURE_CONFIGS, fixturePath, fixtureWeights, readJson } from './testing/fixtures';
import { UNETR } from './unetr';
import { mapWeightSource, type WeightSource } from './weights';

const engine = createCpuEngine();
const UNETR_TINY = FIXTURE_CONFIGS.unetr_tiny;

/** A source that changes a fixture source's tensor list (rename, drop, reshape, add, corrupt). */
function edited(base: WeightSource, edit: { rename?: [string, string]; drop?: string; reshape?: [string, number[]]; add?: [string, number[]]; nan?: string; prefix?: string }): WeightSource {
  const map = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const info of base.list()) {
    if (info.dtype !== 'float32' || info.name === edit.drop) continue;
    let name = info.name === edit.rename?.[0] ? edit.rename[1] : info.name;
    let data = base.read(info.name);
    let shape = info.shape;
    if (name === edit.reshape?.[0]) shape = edit.reshape[1];
    if (name === edit.nan) data = Float32Array.from(data, (v, i) => (i === 5 ? NaN : v));
    if (edit.prefix) name = edit.prefix + name;
    map.set(name, { shape, data });
  }
  if (edit.add) map.set(edit.add[0], { shape: edit.add[1], data: new Float32Array(edit.add[1].reduce((a, b) => a * b, 1)) });
  return mapWeightSource(map, 'edited weights');
}

function onnxFiles(dir: string): { bytes: Uint8Array; externalData: Map<string, Uint8Array> } {
  return {
    bytes: new Uint8Array(readFileSync(fixturePath(dir, 'model.onnx'))),
    externalData: new Map([['weights.bin', new Uint8Array(readFileSync(fixturePath(dir, 'weights.bin')))]]),
  };
}

/** Same names in the same order and bit-identical values. */
async function sameParams(a: { params: UNETR['params'] }, b: { params: UNETR['params'] }): Promise<void> {
  expect(a.params.names).toEqual(b.params.names);
  for (const [name, t] of a.params.entries()) {
    const x = await t.data();
    const y = await b.params.get(name).data();
    expect(x.length, name).toBe(y.length);
    let differing = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differing++;
    expect(differing, name).toBe(0);
  }
}

describe.skipIf(!hasShared)(`loading weights${hasShared ? '' : ` (${sharedMissing})`}`, () => {
  const unetrSource = fixtureWeights('unetr_tiny');

  it('loads the fixture in MONAI order, ignoring the unused cross-attention tensors by rule', async () => {
    const m = UNETR.load(engine, UNETR_TINY, unetrSource);
    expect(m.params.names).toEqual(readJson<{ param_order: string[] }>('unetr_tiny', 'weights.json').param_order.filter((n) => !n.includes('cross_attn')));
    expect(await m.params.get('vit.norm.bias').data()).toEqual(Float64Array.from(unetrSource.read('vit.norm.bias')));
    m.dispose();
  });

  it('freezes what `trainable` excludes: no requiresGrad, so no gradient work', () => {
    const m = UNETR.load(engine, UNETR_TINY, unetrSource, { trainable: (n) => !n.startsWith('vit.') });
    expect(m.params.get('vit.blocks.0.attn.qkv.weight').requiresGrad).toBe(false);
    expect(m.params.get('decoder2.transp_conv.conv.weight').requiresGrad).toBe(true);
    expect(m.params.trainable().every((t) => !t.name!.startsWith('vit.'))).toBe(true);
    m.dispose();
  });

  it('strips a DataParallel "module." prefix', () => {
    UNETR.load(engine, UNETR_TINY, edited(unetrSource, { prefix: 'module.' })).dispose();
  });

  const bad: [string, Parameters<typeof edited>[1], RegExp][] = [
    ['a missing weight', { drop: 'decoder3.conv_block.conv2.conv.weight' }, /missing the UNETR weight "decoder3\.conv_block\.conv2\.conv\.weight" \[16, 16, 3, 3, 3\]/],
    ['a misnamed weight', { rename: ['vit.blocks.2.attn.qkv.weight', 'vit.blocks.2.attention.qkv.weight'] }, /missing the UNETR weight "vit\.blocks\.2\.attn\.qkv\.weight".*it has "vit\.blocks\.2\.attention\.qkv\.weight"; misnamed/],
    ['a mis-shaped weight', { reshape: ['out.conv.conv.bias', [4]] }, /"out\.conv\.conv\.bias" has shape \[4\], the UNETR configuration needs \[3\]/],
    ['an unexpected weight', { add: ['vit.blocks.12.norm1.weight', [64]] }, /holds "vit\.blocks\.12\.norm1\.weight" \[64\], which the UNETR configuration does not use/],
    ['a NaN weight', { nan: 'encoder1.layer.conv2.conv.weight' }, /"encoder1\.layer\.conv2\.conv\.weight" holds a non-finite value \(NaN\) at element 5/],
  ];
  for (const [what, edit, msg] of bad) {
    it(`refuses ${what}, naming the tensor`, () => {
      const f = () => UNETR.load(engine, UNETR_TINY, edited(unetrSource, edit));
      expect(f).toThrow(WeightsError);
      expect(f).toThrow(msg);
    });
  }

  it('refuses weights of a different configuration with the first tensor that differs', () => {
    expect(() => UNETR.load(engine, { ...UNETR_TINY, hiddenSize: 96, numHeads: 4 }, unetrSource)).toThrow(/"vit\.patch_embedding\.position_embeddings" has shape \[1, 8, 64\], the UNETR configuration needs \[1, 8, 96\]/);
    expect(() => SwinUNETR.load(engine, FIXTURE_CONFIGS.swinunetr_tiny, unetrSource)).toThrow(/missing the SwinUNETR weight "swinViT\.patch_embed\.proj\.weight"/);
  });
});

describe.skipIf(!hasShared)(`configuration from weights${hasShared ? '' : ` (${sharedMissing})`}`, () => {
  it('recovers the unetr_tiny configuration (heads given) and the swinunetr_tiny one', () => {
    const kw = readJson<{ kwargs: Record<string, unknown> }>('unetr_tiny', 'config.json').kwargs;
    expect(() => inferConfigFromWeights(fixtureWeights('unetr_tiny'))).toThrow(/num_heads cannot be read from weight shapes/);
    expect(inferConfigFromWeights(fixtureWeights('unetr_tiny'), { numHeads: 4 })).toEqual({
      kind: 'unetr',
      config: {
        inChannels: kw.in_channels, outChannels: kw.out_channels, imgSize: 32, featureSize: kw.feature_size, hiddenSize: kw.hidden_size, mlpDim: kw.mlp_dim,
        numHeads: 4, projType: 'conv', convBlock: true, resBlock: true, qkvBias: false, numLayers: 12,
      },
    });
    expect(inferConfigFromWeights(fixtureWeights('swinunetr_tiny'))).toEqual({
      kind: 'swinunetr',
      config: {
        inChannels: 1, outChannels: 3, patchSize: 2, depths: [2, 2, 2, 2], numHeads: [3, 6, 12, 24], windowSize: 7, qkvBias: true, mlpRatio: 4, featureSize: 12,
        patchNorm: false, useV2: false, downsample: 'merging',
      },
    });
  });

  it('reads UNETR heads from the ONNX graph (the d^-1/2 scale before Softmax)', () => {
    const { bytes } = onnxFiles('unetr_tiny');
    expect(numHeadsFromOnnxGraph(decodeModel(bytes), 64)).toBe(4);
  });

  it('says when an ONNX is neither UNETR nor SwinUNETR', () => {
    const graph = onnx.GraphProto.create({
      node: [onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['y'] })],
      initializer: [onnx.TensorProto.create({ name: 'classifier.fc.weight', dims: [2, 2], dataType: 1, floatData: [1, 2, 3, 4] })],
    });
    const bytes = serializeModel(onnx.ModelProto.create({ graph, opsetImport: [{ version: 17 }] }));
    expect(() => loadOnnxModel(engine, bytes, { label: 'mynet.onnx' })).toThrow(/mynet\.onnx is not a MONAI UNETR or SwinUNETR.*"classifier\.fc\.weight"/);
    expect(() => detectKind(mapWeightSource(new Map(), 'empty'))).toThrow(/start \(none\)/);
  });
});

describe.skipIf(!hasShared)(`ONNX files and checkpoints${hasShared ? '' : ` (${sharedMissing})`}`, () => {
  it('loads unetr_tiny/model.onnx (external data) to the same parameters as weights.bin', async () => {
    const { bytes, externalData } = onnxFiles('unetr_tiny');
    const { model, spec } = loadOnnxModel(engine, bytes, { externalData });
    expect(spec).toMatchObject({ kind: 'unetr', config: { numHeads: 4, imgSize: [32, 32, 32], hiddenSize: 64 } });
    const ref = UNETR.load(engine, UNETR_TINY, fixtureWeights('unetr_tiny'));
    await sameParams(model, ref);
    model.dispose();
    ref.dispose();
  });

  it('undoes the WebGPU ConvTranspose rewrite (1x1x1 conv + depth-to-space) to the original weights', async () => {
    const { bytes, externalData } = onnxFiles('swinunetr_tiny');
    const proto = decodeModel(bytes);
    inlineExternalData(proto, externalData);
    expect(rewriteConvTranspose(proto).rewritten).toBe(5);
    const { model } = loadOnnxModel(engine, serializeModel(proto));
    const ref = SwinUNETR.load(engine, FIXTURE_CONFIGS.swinunetr_tiny, fixtureWeights('swinunetr_tiny'));
    await sameParams(model, ref);
    model.dispose();
    ref.dispose();
  });

  it('names the missing external-data file', () => {
    const { bytes } = onnxFiles('unetr_tiny');
    expect(() => loadOnnxModel(engine, bytes)).toThrow(/keeps its weights in "weights\.bin", which was not provided/);
  });

  it('round-trips a checkpoint and refuses corrupted, truncated or foreign files', async () => {
    const m = UNETR.load(engine, UNETR_TINY, fixtureWeights('unetr_tiny'));
    const bytes = await saveCheckpoint(m, { note: 'test' });
    const { model, checkpoint } = await loadCheckpoint(engine, bytes);
    expect(checkpoint.meta).toEqual({ note: 'test' });
    expect(model.kind).toBe('unetr');
    expect(model.config).toEqual(m.config);
    await sameParams(model, m);
    model.dispose();

    const flipped = bytes.slice();
    flipped[flipped.length - 100] ^= 1;
    await expect(loadCheckpoint(engine, flipped)).rejects.toThrow(/does not match its SHA-256 \(the file is corrupted\)/);
    await expect(loadCheckpoint(engine, bytes.slice(0, bytes.length - 64))).rejects.toThrow(/truncated/);
    await expect(loadCheckpoint(engine, new Uint8Array(readFileSync(fixturePath('unetr_tiny', 'model.onnx'))))).rejects.toThrow(/does not start with "SEAHCKPT"/);
    m.dispose();
  });
});
