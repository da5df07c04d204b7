/**
 * Merging a trained adapter into its base model:
 * 1. `mergeWeights`: the dense weights the adapter changes, in float64 from the base weights and
 *    the adapter's tensors (then float32): exact for LoRA-PT (W = T − P₀ + P), LoRA (W + s·BA),
 *    PiSSA and HyPS's parallel branch (W − A₀B₀ + AB), and the trained base parameters as they are.
 * 2. HyPS's serial adapter y = h + (1/d)·ReLU(h·Dn)·Up is non-linear, so it cannot be folded into a
 *    weight: `writeMergedOnnx` inserts it after the Linear's output as ONNX nodes
 *    MatMul → Relu → MatMul → Add (1/d folded into Up's initializer, exact for d a power of 2).
 * The ONNX must be a MONAI export whose initializers carry the state-dict names (as ours do).
 */
import { createCpuEngine } from '../engine';
import type { ModelKind } from '../models/model';
import { matchWeights } from '../models/params';
import { SwinUNETR, type SwinUNETRConfig } from '../models/swinunetr';
import { UNETR, type UNETRConfig } from '../models/unetr';
import type { WeightSource } from '../models/weights';
import { graphOf, initializersOf, nodesOf, onnx, outputsOf, toNumber, DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto';
import type { HostTensor } from './adapted-model';
import type { Adapter } from './adapter-file';
import { PeftConfigError } from './errors';
import { expectShape, subtractProduct } from './lowrank';
import { factorNames } from './lorapt';
import { slicesByParam, loraptTensorSpecs, targetLinears, type ModelShape } from './targets';
import { principalPart } from './tsvd';
import { tensor3 } from './tproduct';

/** The parameter list of a configuration (built on a throwaway CPU engine; no weights are allocated). */
export function modelShapeOf(kind: ModelKind, config: Record<string, unknown>): ModelShape {
  const engine = createCpuEngine();
  const m = kind === 'unetr' ? new UNETR(engine, config as unknown as UNETRConfig) : new SwinUNETR(engine, config as unknown as SwinUNETRConfig);
  const shape = { kind, paramSpecs: m.paramSpecs };
  m.dispose();
  engine.dispose();
  return shape;
}

export interface SerialAdapterNodes {
  /** The Linear's module name, e.g. `swinViT.layers1.0.blocks.0.attn.qkv`. */
  readonly module: string;
  readonly weight: string;
  readonly bias: string | null;
  /** [m, d] */
  readonly dn: HostTensor;
  /** [d, m], already multiplied by the scaling 1/d. */
  readonly upScaled: HostTensor;
}

export interface MergedWeights {
  /** Replacement values by MONAI parameter name. */
  readonly weights: Map<string, HostTensor>;
  /** HyPS only: serial adapters to insert as nodes. */
  readonly serial: SerialAdapterNodes[];
}

/** Base weights by MONAI name from any source (the loader's matching rules). */
export function baseReader(source: WeightSource, model: ModelShape): (name: string) => Float32Array {
  const names = matchWeights(model.paramSpecs, source, model.kind);
  return (name) => {
    const from = names.get(name);
    if (!from) throw new PeftConfigError(`the base model has no parameter "${name}"`);
    return source.read(from);
  };
}

const f32 = (shape: readonly number[], values: ArrayLike<number>): HostTensor => ({ shape: [...shape], data: Float32Array.from(values) });

/** The dense weights an adapter produces on its base (see the file comment). */
export function mergeWeights(model: ModelShape, base: (name: string) => ArrayLike<number>, adapter: Adapter): MergedWeights {
  const cfg = adapter.method;
  const specShape = new Map(model.paramSpecs.map((s) => [s.name, s.shape]));
  const weights = new Map<string, HostTensor>();
  const serial: SerialAdapterNodes[] = [];
  const what = `merging a ${cfg.method} adapter`;
  // Trained base parameters (decoder, or everything for full fine-tuning) replace the base values.
  for (const [name, t] of adapter.trained) {
    const shape = specShape.get(name);
    if (shape) weights.set(name, expectShape(t, name, shape, what));
  }
  const get = (name: string, shape: readonly number[], from: 'trained' | 'init' = 'trained') => expectShape((from === 'trained' ? adapter.trained : adapter.init).get(name), name, shape, what).data;
  switch (cfg.method) {
    case 'full':
    case 'decoder':
      break;
    case 'lora': {
      const s = cfg.alpha / cfg.rank;
      for (const t of targetLinears(model)) {
        const a = get(`${t.module}.lora_A`, [cfg.rank, t.n]);
        const b = get(`${t.module}.lora_B`, [t.m, cfg.rank]);
        // W + s·B·A = W − (−s·B)·A
        const negB = Float64Array.from(b, (v) => -s * v);
        weights.set(t.weight, f32([t.m, t.n], subtractProduct(base(t.weight), negB, a, t.m, t.n, cfg.rank)));
      }
      break;
    }
    case 'pissa':
    case 'hyps': {
      const r = cfg.rank;
      for (const t of targetLinears(model)) {
        const res = subtractProduct(base(t.weight), get(`${t.module}.A`, [t.m, r], 'init'), get(`${t.module}.B`, [r, t.n], 'init'), t.m, t.n, r);
        const a = get(`${t.module}.A`, [t.m, r]);
        const negB = Float64Array.from(get(`${t.module}.B`, [r, t.n]), (v) => -v);
        weights.set(t.weight, f32([t.m, t.n], subtractProduct(res, a, negB, t.m, t.n, r)));
        if (cfg.method === 'hyps') {
          const d = cfg.adapterDim;
          const up = get(`${t.module}.Up`, [d, t.m]);
          serial.push({ module: t.module, weight: t.weight, bias: t.bias, dn: f32([t.m, d], get(`${t.module}.Dn`, [t.m, d])), upScaled: f32([d, t.m], Float64Array.from(up, (v) => v / d)) });
        }
      }
      break;
    }
    case 'lorapt': {
      for (const spec of loraptTensorSpecs(model)) {
        const r = cfg.ranks[spec.name];
        const n3 = spec.slices.length;
        const [un, sn, vn] = factorNames(spec.name);
        const p = (from: 'trained' | 'init') =>
          principalPart(tensor3(n3, spec.n1, r, get(un, [n3, spec.n1, r], from)), tensor3(n3, r, r, get(sn, [n3, r, r], from)), tensor3(n3, spec.n2, r, get(vn, [n3, spec.n2, r], from)));
        const p0 = p('init');
        const p1 = p('trained');
        const len = spec.n1 * spec.n2;
        for (const g of slicesByParam(spec)) {
          const w = base(g.param);
          const out = new Float64Array(g.count * len);
          for (let e = 0; e < out.length; e++) out[e] = w[e] - p0.data[g.first * len + e] + p1.data[g.first * len + e];
          weights.set(g.param, f32(specShape.get(g.param)!, out));
        }
      }
      break;
    }
  }
  return { weights, serial };
}

// ---------------------------------------------------------------------------------------------
// ONNX rewrite

function float32Proto(name: string, t: HostTensor): TensorProto {
  const raw = new Uint8Array(t.data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < t.data.length; i++) view.setFloat32(4 * i, t.data[i], true);
  return onnx.TensorProto.create({ name, dims: [...t.shape], dataType: DataType.FLOAT, rawData: raw });
}

/** Replaces the values of an existing float initializer (shape must match). */
function replaceInitializer(g: GraphProto, name: string, t: HostTensor): void {
  const init = initializersOf(g).find((i) => i.name === name);
  if (!init) {
    throw new PeftConfigError(`the ONNX model has no initializer "${name}"; merge into the original MONAI export (state-dict names, before any web rewrite)`);
  }
  const dims = init.dims.map(toNumber);
  if (init.dataType !== DataType.FLOAT || dims.length !== t.shape.length || dims.some((d, i) => d !== t.shape[i])) {
    throw new PeftConfigError(`the ONNX initializer "${name}" is [${dims}] (type ${init.dataType}); the adapter's value is float32 [${t.shape}]`);
  }
  const fresh = float32Proto(name, t);
  init.rawData = fresh.rawData;
  init.floatData = [];
  init.externalData = [];
  init.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
}

/** The tensor holding a Linear's output (after its bias): Transpose(W) → MatMul [→ Add(b)], or Gemm. */
function linearOutput(nodes: NodeProto[], s: SerialAdapterNodes): { name: string; producer: number } {
  const where = (pred: (n: NodeProto) => boolean) => nodes.findIndex(pred);
  let at = where((n) => n.opType === 'Gemm' && n.input[1] === s.weight);
  if (at >= 0) return { name: nodes[at].output[0], producer: at };
  const tr = where((n) => n.opType === 'Transpose' && n.input[0] === s.weight);
  const wT = tr >= 0 ? nodes[tr].output[0] : s.weight;
  at = where((n) => n.opType === 'MatMul' && n.input[1] === wT);
  if (at < 0) throw new PeftConfigError(`cannot find the Linear "${s.module}" (a MatMul with weight "${s.weight}") in the ONNX graph`);
  let out = nodes[at].output[0];
  if (s.bias) {
    const add = where((n) => n.opType === 'Add' && n.input.includes(out) && n.input.includes(s.bias!));
    if (add < 0) throw new PeftConfigError(`cannot find the bias Add of the Linear "${s.module}" in the ONNX graph`);
    at = add;
    out = nodes[add].output[0];
  }
  return { name: out, producer: at };
}

/**
 * Writes merged weights into an ONNX model (in place) and inserts HyPS's serial adapters as
 * nodes after their Linears. The model's external data must already be inlined.
 */
export function writeMergedOnnx(model: ModelProto, merged: MergedWeights): void {
  const g = graphOf(model);
  for (const [name, t] of merged.weights) replaceInitializer(g, name, t);
  for (const s of merged.serial) {
    const nodes = nodesOf(g);
    const h = linearOutput(nodes, s);
    const p = `${s.module}.hyps`;
    const dnName = `${p}.Dn`;
    const upName = `${p}.Up_scaled`;
    if (initializersOf(g).some((i) => i.name === dnName)) throw new PeftConfigError(`the ONNX model already holds a HyPS adapter for "${s.module}"`);
    g.initializer.push(float32Proto(dnName, s.dn), float32Proto(upName, s.upScaled));
    const y = `${p}/output`;
    const added = [
      onnx.NodeProto.create({ name: `${p}/MatMul_Dn`, opType: 'MatMul', input: [h.name, dnName], output: [`${p}/down`] }),
      onnx.NodeProto.create({ name: `${p}/Relu`, opType: 'Relu', input: [`${p}/down`], output: [`${p}/relu`] }),
      onnx.NodeProto.create({ name: `${p}/MatMul_Up`, opType: 'MatMul', input: [`${p}/relu`, upName], output: [`${p}/up`] }),
      onnx.NodeProto.create({ name: `${p}/Add`, opType: 'Add', input: [h.name, `${p}/up`], output: [y] }),
    ];
    // Every other consumer of h now reads y.
    for (const n of nodes) n.input = n.input.map((i) => (i === h.name ? y : i));
    for (const o of outputsOf(g)) if (o.name === h.name) throw new PeftConfigError(`the Linear "${s.module}" output is a graph output; cannot insert an adapter after it`);
    g.node.splice(h.producer + 1, 0, ...added);
  }
}
