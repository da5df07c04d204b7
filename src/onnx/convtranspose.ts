/**
 * Rewrites 3-D ConvTranspose with kernel 2 and stride 2 (UNETR's and SwinUNETR's
 * upsampling) into ops that onnxruntime-web's WebGPU provider runs: its 3-D
 * ConvTranspose fails at run time ("Only Conv2d or Conv1d are supported").
 *
 * With kernel = stride = 2 and no padding, every output voxel receives exactly one
 * kernel tap:  Y[n, o, 2d+a, 2h+b, 2w+c] = B[o] + Σ_i X[n, i, d, h, w] · W[i, o, a, b, c].
 * That is a 1×1×1 Conv with O·8 output channels, channel o·8 + (4a + 2b + c) carrying
 * weight W[i, o, a, b, c] and bias B[o], followed by depth-to-space:
 * Reshape [N, O, 2, 2, 2, D, H, W] → Transpose [N, O, D, 2, H, 2, W, 2] → Reshape
 * [N, O, 2D, 2H, 2W]. The shapes come from Shape(X) at run time, so the rewrite needs
 * no shape inference.
 */
import { tensorToFloat32 } from './initializers';
import {
  attributesOf,
  DataType,
  defaultOpset,
  graphOf,
  initializersOf,
  inputsOf,
  nodesOf,
  onnx,
  outputsOf,
  subgraphsOf,
  toNumber,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './proto';

const KERNEL_TAPS = 8; // 2 × 2 × 2
/** [N, O, a, b, c, D, H, W] → [N, O, D, a, H, b, W, c]. */
const DEPTH_TO_SPACE_PERM = [0, 1, 5, 2, 6, 3, 7, 4];
/** Slice with its starts/ends as inputs needs opset 10. */
const MIN_OPSET = 10;

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return attributesOf(node).find((a) => a.name === name);
}

function ints(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? a.ints.map(toNumber) : undefined;
}

const allEqual = (xs: number[] | undefined, v: number) => xs === undefined || xs.every((x) => x === v);

/** Why a ConvTranspose cannot be rewritten, or null if it can. */
function unsupportedReason(node: NodeProto, weight: TensorProto | undefined, bias: TensorProto | undefined | null): string | null {
  if (!weight) return 'its weight is not a constant initializer';
  if (weight.dataType !== DataType.FLOAT) return 'its weight is not float32';
  const wd = weight.dims.map(toNumber);
  if (wd.length !== 5) return 'it is not 3-D';
  if (wd[2] !== 2 || wd[3] !== 2 || wd[4] !== 2) return `its kernel is ${wd.slice(2).join('×')}, not 2×2×2`;
  const kernel = ints(node, 'kernel_shape');
  if (kernel && !allEqual(kernel, 2)) return 'kernel_shape is not 2';
  if (!(ints(node, 'strides')?.length === 3 && allEqual(ints(node, 'strides'), 2))) return 'strides are not 2';
  if (!allEqual(ints(node, 'dilations'), 1)) return 'it is dilated';
  const group = attr(node, 'group');
  if (group && toNumber(group.i) !== 1) return 'it is grouped';
  if (!allEqual(ints(node, 'output_padding'), 0)) return 'it has output_padding';
  if (attr(node, 'output_shape')) return 'it sets output_shape';
  const autoPad = attr(node, 'auto_pad');
  const padMode = autoPad ? new TextDecoder().decode(autoPad.s) : 'NOTSET';
  // With kernel = stride = 2 the SAME modes pad by 0 as well.
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(padMode)) return `auto_pad is ${padMode}`;
  if (padMode === 'NOTSET' && !allEqual(ints(node, 'pads'), 0)) return 'it is padded';
  if (bias === null) return 'its bias is not a constant initializer';
  return null;
}

function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
}

function int64Tensor(name: string, values: number[]): TensorProto {
  const data = BigInt64Array.from(values.map(BigInt));
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) });
}

function intsAttr(name: string, values: number[]): AttributeProto {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
}

function intAttr(name: string, value: number): AttributeProto {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}

function node(opType: string, name: string, input: string[], output: string[], attribute: AttributeProto[] = []): NodeProto {
  return onnx.NodeProto.create({ opType, name, input, output, attribute });
}

/** W[i, o, a, b, c] → W'[o·8 + (4a + 2b + c), i, 1, 1, 1]. */
export function convTransposeWeightsAsConv1x1(w: Float32Array, inChannels: number, outChannels: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < inChannels; i++)
    for (let o = 0; o < outChannels; o++)
      for (let tap = 0; tap < KERNEL_TAPS; tap++) {
        out[(o * KERNEL_TAPS + tap) * inChannels + i] = w[(i * outChannels + o) * KERNEL_TAPS + tap];
      }
  return out;
}

export interface RewriteReport {
  /** ConvTranspose nodes replaced. */
  readonly rewritten: number;
  /** ConvTranspose nodes left as they were, with the reason. */
  readonly skipped: readonly { readonly node: string; readonly reason: string }[];
}

/**
 * Replaces, in place, every 3-D kernel-2 stride-2 ConvTranspose of the main graph by
 * Conv 1×1×1 + depth-to-space. The model's initializers must be inlined first.
 * Weights no longer used by any node are dropped.
 */
export function rewriteConvTranspose(model: ModelProto): RewriteReport {
  const graph = graphOf(model);
  const candidates = nodesOf(graph).filter((n) => n.opType === 'ConvTranspose' && (!n.domain || n.domain === 'ai.onnx'));
  if (candidates.length === 0) return { rewritten: 0, skipped: [] };
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET) {
    return { rewritten: 0, skipped: candidates.map((n) => ({ node: n.name, reason: `opset ${opset} < ${MIN_OPSET}` })) };
  }
  const inits = new Map(initializersOf(graph).map((t) => [t.name, t]));
  const used = new Set<string>([...allNodes(graph).flatMap((n) => [...n.input, ...n.output]), ...inits.keys()]);
  const fresh = (base: string) => {
    let name = base;
    for (let n = 1; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    return name;
  };
  const skipped: { node: string; reason: string }[] = [];
  const out: NodeProto[] = [];
  let rewritten = 0;
  for (const n of nodesOf(graph)) {
    if (!candidates.includes(n)) {
      out.push(n);
      continue;
    }
    const [x, wName, bName] = n.input;
    const weight = inits.get(wName);
    const bias = bName ? (inits.get(bName) ?? null) : undefined;
    const reason = unsupportedReason(n, weight, bias);
    if (reason) {
      skipped.push({ node: n.name, reason });
      out.push(n);
      continue;
    }
    const [ci, co] = weight!.dims.map(toNumber);
    const p = fresh(`${n.name || wName}/seahorse_conv1x1`);
    const w2 = fresh(`${p}/weight`);
    graph.initializer.push(floatTensor(w2, [co * KERNEL_TAPS, ci, 1, 1, 1], convTransposeWeightsAsConv1x1(tensorToFloat32(weight!), ci, co)));
    const convInputs = [x, w2];
    if (bias) {
      const b = tensorToFloat32(bias);
      const b2 = fresh(`${p}/bias`);
      graph.initializer.push(floatTensor(b2, [co * KERNEL_TAPS], Float32Array.from({ length: co * KERNEL_TAPS }, (_, k) => b[Math.floor(k / KERNEL_TAPS)])));
      convInputs.push(b2);
    }
    const names = {
      conv: fresh(`${p}/conv_out`),
      shape: fresh(`${p}/x_shape`),
      batch: fresh(`${p}/batch`),
      spatial: fresh(`${p}/spatial`),
      spatial2: fresh(`${p}/spatial_x2`),
      shape8: fresh(`${p}/shape8`),
      shape5: fresh(`${p}/shape5`),
      r8: fresh(`${p}/split`),
      t8: fresh(`${p}/interleaved`),
      c0: fresh(`${p}/const_0`),
      c1: fresh(`${p}/const_1`),
      c2: fresh(`${p}/const_2`),
      c5: fresh(`${p}/const_5`),
      taps: fresh(`${p}/const_channels_taps`),
      channels: fresh(`${p}/const_channels`),
      two: fresh(`${p}/const_2x2x2`),
    };
    graph.initializer.push(
      int64Tensor(names.c0, [0]),
      int64Tensor(names.c1, [1]),
      int64Tensor(names.c2, [2]),
      int64Tensor(names.c5, [5]),
      int64Tensor(names.taps, [co, 2, 2, 2]),
      int64Tensor(names.channels, [co]),
      int64Tensor(names.two, [2, 2, 2]),
    );
    out.push(
      node('Conv', `${p}/Conv`, convInputs, [names.conv], [
        intsAttr('kernel_shape', [1, 1, 1]),
        intsAttr('strides', [1, 1, 1]),
        intsAttr('pads', [0, 0, 0, 0, 0, 0]),
        intsAttr('dilations', [1, 1, 1]),
        intAttr('group', 1),
      ]),
      node('Shape', `${p}/Shape`, [x], [names.shape]),
      node('Slice', `${p}/SliceBatch`, [names.shape, names.c0, names.c1], [names.batch]),
      node('Slice', `${p}/SliceSpatial`, [names.shape, names.c2, names.c5], [names.spatial]),
      node('Concat', `${p}/Shape8`, [names.batch, names.taps, names.spatial], [names.shape8], [intAttr('axis', 0)]),
      node('Reshape', `${p}/Split`, [names.conv, names.shape8], [names.r8]),
      node('Transpose', `${p}/Interleave`, [names.r8], [names.t8], [intsAttr('perm', DEPTH_TO_SPACE_PERM)]),
      node('Mul', `${p}/Double`, [names.spatial, names.two], [names.spatial2]),
      node('Concat', `${p}/Shape5`, [names.batch, names.channels, names.spatial2], [names.shape5], [intAttr('axis', 0)]),
      node('Reshape', `${p}/Merge`, [names.t8, names.shape5], n.output.slice(0, 1)),
    );
    rewritten++;
  }
  graph.node = out;
  dropUnusedInitializers(model);
  return { rewritten, skipped };
}

/** Nodes of a graph and of every subgraph (If/Loop/Scan bodies), which may read outer names. */
function allNodes(graph: GraphProto): NodeProto[] {
  return nodesOf(graph).flatMap((n) => [n, ...subgraphsOf(n).flatMap(allNodes)]);
}

/** Removes initializers (and their graph-input entries) that no node reads. */
function dropUnusedInitializers(model: ModelProto): void {
  const graph = graphOf(model);
  const read = new Set(allNodes(graph).flatMap((n) => n.input));
  for (const o of outputsOf(graph)) read.add(o.name);
  const dropped = new Set(initializersOf(graph).filter((t) => !read.has(t.name)).map((t) => t.name));
  if (dropped.size === 0) return;
  graph.initializer = initializersOf(graph).filter((t) => !dropped.has(t.name));
  graph.input = inputsOf(graph).filter((v) => !dropped.has(v.name));
}
