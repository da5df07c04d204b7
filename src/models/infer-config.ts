/**
 * Recovering a UNETR / SwinUNETR configuration from its weights (names and shapes), for ONNX
 * files and checkpoints of unknown configuration.
 *
 * What shapes cannot tell, and where it comes from instead:
 * - UNETR `numHeads`: given by the caller, else read from an ONNX graph (the attention scale
 *   constant d^−½ before the first Softmax gives the head dim d); else an error.
 * - UNETR `imgSize`: given, else the ONNX input shape, else a cube if the token count is one.
 * - SwinUNETR `downsample` order ('merging' vs 'legacy'): given, else MONAI's 'merging'.
 * - dropout rates: 0 (weights do not record them; they matter only for training).
 */
import { DataType, graphOf, initializersOf, nodesOf, attributesOf, toNumber, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto';
import { WeightsError } from './errors';
import type { ModelKind } from './model';
import type { MergingOrder } from './swin';
import type { SwinUNETRConfig } from './swinunetr';
import { UNETR_PATCH, type UNETRConfig } from './unetr';
import type { WeightInfo, WeightSource } from './weights';

export type ModelSpec = { kind: 'unetr'; config: UNETRConfig } | { kind: 'swinunetr'; config: SwinUNETRConfig };

export interface ConfigHints {
  numHeads?: number;
  imgSize?: number | readonly number[];
  downsample?: MergingOrder;
}

/** Weight names that identify each architecture. */
export const SIGNATURES: Record<ModelKind, string> = {
  unetr: 'vit.patch_embedding.position_embeddings',
  swinunetr: 'swinViT.patch_embed.proj.weight',
};

class Shapes {
  private readonly map: Map<string, readonly number[]>;
  constructor(private readonly source: WeightSource, infos: readonly WeightInfo[]) {
    this.map = new Map(infos.map((i) => [i.name, i.shape]));
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  get(name: string): readonly number[] {
    const s = this.map.get(name);
    if (!s) throw new WeightsError(`${this.source.label} has no "${name}", which every model of this kind has`);
    return s;
  }
  /** Distinct integers i in names matching `prefix<i>.`. */
  countIndexed(prefix: string): number {
    const seen = new Set<number>();
    for (const n of this.map.keys()) {
      if (!n.startsWith(prefix)) continue;
      const m = /^(\d+)\./.exec(n.slice(prefix.length));
      if (m) seen.add(Number(m[1]));
    }
    return seen.size;
  }
}

function stripDataParallel(infos: readonly WeightInfo[]): WeightInfo[] {
  const strip = infos.length > 0 && infos.every((i) => i.name.startsWith('module.'));
  return infos.map((i) => (strip ? { ...i, name: i.name.slice('module.'.length) } : i));
}

/** Which architecture the weights are, or a clear error if neither. */
export function detectKind(source: WeightSource): ModelKind {
  const names = new Set(stripDataParallel(source.list()).map((i) => i.name));
  for (const kind of ['unetr', 'swinunetr'] as const) if (names.has(SIGNATURES[kind])) return kind;
  const some = [...names].slice(0, 3).map((n) => `"${n}"`).join(', ');
  throw new WeightsError(
    `${source.label} is not a MONAI UNETR or SwinUNETR: it has neither "${SIGNATURES.unetr}" nor "${SIGNATURES.swinunetr}" (its tensors start ${some || '(none)'})`,
  );
}

export function inferConfigFromWeights(source: WeightSource, hints: ConfigHints = {}): ModelSpec {
  const kind = detectKind(source);
  const s = new Shapes(source, stripDataParallel(source.list()));
  return kind === 'unetr' ? { kind, config: inferUNETR(s, source, hints) } : { kind, config: inferSwin(s, hints) };
}

function inferUNETR(s: Shapes, source: WeightSource, hints: ConfigHints): UNETRConfig {
  const [, nPatches, hiddenSize] = s.get('vit.patch_embedding.position_embeddings');
  const conv = s.has('vit.patch_embedding.patch_embeddings.weight');
  const inChannels = conv ? s.get('vit.patch_embedding.patch_embeddings.weight')[1] : s.get('vit.patch_embedding.patch_embeddings.1.weight')[1] / UNETR_PATCH ** 3;
  let imgSize = hints.imgSize;
  if (imgSize === undefined) {
    const side = Math.round(Math.cbrt(nPatches));
    if (side ** 3 !== nPatches) throw new WeightsError(`${source.label}: ${nPatches} patch tokens are not a cube; give the UNETR imgSize`);
    imgSize = side * UNETR_PATCH;
  }
  if (hints.numHeads === undefined) {
    throw new WeightsError(`${source.label}: UNETR num_heads cannot be read from weight shapes; give numHeads (or load from an ONNX graph, which records it)`);
  }
  return {
    inChannels,
    outChannels: s.get('out.conv.conv.weight')[0],
    imgSize,
    featureSize: s.get('encoder1.layer.conv1.conv.weight')[0],
    hiddenSize,
    mlpDim: s.get('vit.blocks.0.mlp.linear1.weight')[0],
    numHeads: hints.numHeads,
    projType: conv ? 'conv' : 'perceptron',
    convBlock: s.has('encoder2.blocks.0.0.conv.weight'),
    resBlock: s.has('decoder5.conv_block.conv3.conv.weight'),
    qkvBias: s.has('vit.blocks.0.attn.qkv.bias'),
    numLayers: s.countIndexed('vit.blocks.'),
  };
}

function inferSwin(s: Shapes, hints: ConfigHints): SwinUNETRConfig {
  const [featureSize, inChannels, patchSize] = s.get('swinViT.patch_embed.proj.weight');
  const stages = [1, 2, 3, 4];
  const block0 = (i: number) => `swinViT.layers${i}.0.blocks.0`;
  const tableRows = s.get(`${block0(1)}.attn.relative_position_bias_table`)[0];
  // (2w − 1)³ rows for a cubic window w.
  const w = (Math.round(Math.cbrt(tableRows)) + 1) / 2;
  if (!Number.isInteger(w) || (2 * w - 1) ** 3 !== tableRows) throw new WeightsError(`relative_position_bias_table has ${tableRows} rows, not (2w−1)³ for a cubic window`);
  return {
    inChannels,
    outChannels: s.get('out.conv.conv.weight')[0],
    patchSize,
    depths: stages.map((i) => s.countIndexed(`swinViT.layers${i}.0.blocks.`)),
    numHeads: stages.map((i) => s.get(`${block0(i)}.attn.relative_position_bias_table`)[1]),
    windowSize: w,
    qkvBias: s.has(`${block0(1)}.attn.qkv.bias`),
    mlpRatio: s.get(`${block0(1)}.mlp.linear1.weight`)[0] / featureSize,
    featureSize,
    patchNorm: s.has('swinViT.patch_embed.norm.weight'),
    useV2: s.has('swinViT.layers1c.0.layer.conv1.conv.weight'),
    downsample: hints.downsample ?? 'merging',
  };
}

function scalarOf(t: TensorProto | undefined): number | undefined {
  if (!t || t.dataType !== DataType.FLOAT) return undefined;
  const n = t.dims.reduce<number>((a, d) => a * toNumber(d), 1);
  if (n !== 1) return undefined;
  if (t.rawData && t.rawData.length === 4) return new DataView(t.rawData.buffer, t.rawData.byteOffset, 4).getFloat32(0, true);
  return t.floatData.length === 1 ? t.floatData[0] : undefined;
}

/**
 * UNETR's attention head count from an exported graph: MONAI's SABlock multiplies the scores
 * by d^−½ right before Softmax, so the first Softmax fed by Mul(·, constant c) gives d = 1/c².
 */
export function numHeadsFromOnnxGraph(model: ModelProto, hiddenSize: number): number | undefined {
  const graph = graphOf(model);
  const constants = new Map<string, TensorProto>(initializersOf(graph).map((t) => [t.name, t]));
  const producer = new Map<string, NodeProto>();
  for (const n of nodesOf(graph)) {
    for (const o of n.output) producer.set(o, n);
    if (n.opType === 'Constant') {
      const t = attributesOf(n).find((a) => a.name === 'value')?.t;
      if (t) constants.set(n.output[0], t as TensorProto);
    }
  }
  for (const n of nodesOf(graph)) {
    if (n.opType !== 'Softmax') continue;
    const mul = producer.get(n.input[0]);
    if (!mul || mul.opType !== 'Mul') continue;
    const c = mul.input.map((i) => scalarOf(constants.get(i))).find((v) => v !== undefined);
    if (c === undefined || !(c > 0)) continue;
    const d = Math.round(1 / (c * c));
    if (Math.abs(1 / (c * c) - d) < 1e-3 * d && hiddenSize % d === 0) return hiddenSize / d;
  }
  return undefined;
}
