/**
 * MONAI's ViT as UNETR uses it (`nets/vit.py`, `blocks/patchembedding.py`,
 * `blocks/transformerblock.py`, `blocks/selfattention.py`, `blocks/mlp.py`): patch embedding
 * with a learnable position embedding, pre-norm transformer blocks, final LayerNorm. Tokens are
 * [B, N, hidden] with N the C-order flatten of the patch grid (d, h, w).
 */
import {
  add, gelu, layerNorm, matmul, permute, reshape, scale, slice, softmax, tidy, type Tensor,
} from '../engine';
import type { ForwardContext } from './context';
import { patchEmbed } from './patchify';
import type { ParamSpec } from './params';

type Triple = readonly [number, number, number];

export type ProjType = 'conv' | 'perceptron';

function linearSpecs(name: string, inF: number, outF: number, bias: boolean): ParamSpec[] {
  const w: ParamSpec = { name: `${name}.weight`, shape: [outF, inF], init: 'fanIn', fanIn: inF };
  return bias ? [w, { name: `${name}.bias`, shape: [outF], init: 'zeros' }] : [w];
}

export function layerNormSpecs(name: string, c: number): ParamSpec[] {
  return [
    { name: `${name}.weight`, shape: [c], init: 'ones' },
    { name: `${name}.bias`, shape: [c], init: 'zeros' },
  ];
}

export function layerNormBy(ctx: ForwardContext, name: string, x: Tensor): Tensor {
  return layerNorm(x, ctx.p(`${name}.weight`), ctx.p(`${name}.bias`));
}

/** PatchEmbeddingBlock: conv (k = stride = patch) or perceptron projection, + position embedding, dropout. */
export class PatchEmbedding {
  readonly params: ParamSpec[];
  readonly grid: Triple;
  constructor(
    readonly name: string,
    readonly inChannels: number,
    imgSize: Triple,
    readonly patch: Triple,
    readonly hidden: number,
    readonly projType: ProjType,
    readonly dropoutRate: number,
  ) {
    this.grid = imgSize.map((s, i) => Math.floor(s / patch[i])) as unknown as Triple;
    const nPatches = this.grid[0] * this.grid[1] * this.grid[2];
    const patchDim = inChannels * patch[0] * patch[1] * patch[2];
    this.params = [{ name: `${name}.position_embeddings`, shape: [1, nPatches, hidden], init: 'normal02' }];
    if (projType === 'conv') {
      this.params.push(
        { name: `${name}.patch_embeddings.weight`, shape: [hidden, inChannels, ...patch], init: 'fanIn', fanIn: patchDim },
        { name: `${name}.patch_embeddings.bias`, shape: [hidden], init: 'zeros' },
      );
    } else {
      this.params.push(...linearSpecs(`${name}.patch_embeddings.1`, patchDim, hidden, true));
    }
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return tidy(() => {
      const [B] = x.shape;
      const [gd, gh, gw] = this.grid;
      const n = gd * gh * gw;
      let tokens: Tensor;
      if (this.projType === 'conv') {
        tokens = patchEmbed(x, ctx.p(`${this.name}.patch_embeddings.weight`), ctx.p(`${this.name}.patch_embeddings.bias`), this.patch);
      } else {
        // einops "b c (h p1) (w p2) (d p3) -> b (h w d) (p1 p2 p3 c)".
        const [p1, p2, p3] = this.patch;
        const C = this.inChannels;
        const v = reshape(x, [B, C, gd, p1, gh, p2, gw, p3]);
        const patches = reshape(permute(v, [0, 2, 4, 6, 3, 5, 7, 1]), [B, n, p1 * p2 * p3 * C]);
        tokens = ctx.linear(`${this.name}.patch_embeddings.1`, patches, true);
      }
      return ctx.dropout(add(tokens, ctx.p(`${this.name}.position_embeddings`)), this.dropoutRate);
    });
  }
}

/**
 * SABlock with MONAI's combined qkv: rearrange "b h (qkv l d) -> qkv b l h d", scores
 * q·kᵀ·d^−½, softmax, dropout on the weights, heads re-joined head-major, out_proj, dropout.
 */
export class SelfAttention {
  readonly params: ParamSpec[];
  private readonly headDim: number;
  constructor(readonly name: string, readonly hidden: number, readonly heads: number, readonly qkvBias: boolean, readonly dropoutRate: number) {
    this.headDim = hidden / heads;
    // Registration order: out_proj before qkv (fixtures README §9, surprise 2).
    this.params = [...linearSpecs(`${name}.out_proj`, hidden, hidden, true), ...linearSpecs(`${name}.qkv`, hidden, 3 * hidden, qkvBias)];
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return tidy(() => {
      const [B, N] = x.shape;
      const qkv = reshape(ctx.linear(`${this.name}.qkv`, x, this.qkvBias), [B, N, 3, this.heads, this.headDim]);
      const parts = permute(qkv, [2, 0, 3, 1, 4]); // [3, B, heads, N, d]
      const pick = (i: number) => reshape(slice(parts, [[i, i + 1]]), [B, this.heads, N, this.headDim]);
      const scores = scale(matmul(pick(0), pick(1), { transB: true }), this.headDim ** -0.5);
      const probs = ctx.dropout(softmax(scores, -1), this.dropoutRate);
      const o = matmul(probs, pick(2)); // [B, heads, N, d]
      const joined = reshape(permute(o, [0, 2, 1, 3]), [B, N, this.hidden]);
      return ctx.dropout(ctx.linear(`${this.name}.out_proj`, joined, true), this.dropoutRate);
    });
  }
}

/** MLPBlock ("vit" dropout mode): linear1 → GELU (erf) → dropout → linear2 → dropout. */
export class Mlp {
  readonly params: ParamSpec[];
  constructor(readonly name: string, hidden: number, mlpDim: number, readonly dropoutRate: number) {
    this.params = [...linearSpecs(`${name}.linear1`, hidden, mlpDim, true), ...linearSpecs(`${name}.linear2`, mlpDim, hidden, true)];
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return tidy(() => {
      const h = ctx.dropout(gelu(ctx.linear(`${this.name}.linear1`, x, true)), this.dropoutRate);
      // MONAI's "swin" dropout mode shares one Dropout instance, which still applies at both places.
      return ctx.dropout(ctx.linear(`${this.name}.linear2`, h, true), this.dropoutRate);
    });
  }
}

/** TransformerBlock (pre-norm): x + attn(norm1(x)), then + mlp(norm2(x)). Registration: mlp, norm1, attn, norm2. */
export class TransformerBlock {
  readonly params: ParamSpec[];
  private readonly mlp: Mlp;
  private readonly attn: SelfAttention;
  constructor(readonly name: string, hidden: number, mlpDim: number, heads: number, qkvBias: boolean, dropoutRate: number) {
    this.mlp = new Mlp(`${name}.mlp`, hidden, mlpDim, dropoutRate);
    this.attn = new SelfAttention(`${name}.attn`, hidden, heads, qkvBias, dropoutRate);
    this.params = [...this.mlp.params, ...layerNormSpecs(`${name}.norm1`, hidden), ...this.attn.params, ...layerNormSpecs(`${name}.norm2`, hidden)];
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return tidy(() => {
      const h = add(x, this.attn.forward(ctx, layerNormBy(ctx, `${this.name}.norm1`, x)));
      return add(h, this.mlp.forward(ctx, layerNormBy(ctx, `${this.name}.norm2`, h)));
    });
  }
}

export interface VitOutput {
  /** vit.norm(last block output) [B, N, hidden]. */
  readonly out: Tensor;
  /** Raw outputs of the blocks whose indices were asked for (MONAI `hidden_states_out[i]`). */
  readonly hidden: ReadonlyMap<number, Tensor>;
}

export interface VitConfig {
  readonly inChannels: number;
  readonly imgSize: Triple;
  readonly patch: Triple;
  readonly hidden: number;
  readonly mlpDim: number;
  readonly layers: number;
  readonly heads: number;
  readonly projType: ProjType;
  readonly qkvBias: boolean;
  readonly dropoutRate: number;
}

/** ViT (classification off): patch embedding, blocks, final LayerNorm `norm`. */
export class Vit {
  readonly params: ParamSpec[];
  readonly embedding: PatchEmbedding;
  private readonly blocks: TransformerBlock[];
  constructor(readonly name: string, c: VitConfig) {
    this.embedding = new PatchEmbedding(`${name}.patch_embedding`, c.inChannels, c.imgSize, c.patch, c.hidden, c.projType, c.dropoutRate);
    this.blocks = Array.from({ length: c.layers }, (_, i) => new TransformerBlock(`${name}.blocks.${i}`, c.hidden, c.mlpDim, c.heads, c.qkvBias, c.dropoutRate));
    this.params = [...this.embedding.params, ...this.blocks.flatMap((b) => b.params), ...layerNormSpecs(`${name}.norm`, c.hidden)];
  }

  /** Runs the ViT; `keepHidden` lists the block indices whose raw outputs the caller needs. */
  forward(ctx: ForwardContext, x: Tensor, keepHidden: readonly number[]): VitOutput {
    return tidy(() => {
      let h = this.embedding.forward(ctx, x);
      ctx.tap(`${this.name}.patch_embedding`, h);
      const hidden = new Map<number, Tensor>();
      this.blocks.forEach((b, i) => {
        h = b.forward(ctx, h);
        ctx.tap(`${this.name}.blocks.${i}`, h);
        if (keepHidden.includes(i)) hidden.set(i, h);
      });
      const out = layerNormBy(ctx, `${this.name}.norm`, h);
      ctx.tap(`${this.name}.norm`, out);
      return { out, hidden };
    });
  }
}
