/**
 * MONAI's SwinTransformer (v1, `nets/swin_unetr.py`) as SwinUNETR uses it, 3-D, channels-last
 * inside the stages ([B, D, H, W, C]) as MONAI is. Reproduces MONAI's quirks (fixtures README §B):
 * windows clamp to the feature size with shift 0, the bias of a clamped window is the top-left
 * n×n block of the full window's relative-position index, non-shifted blocks pad with zero
 * tokens that stay unmasked, shifted blocks add the −100 region mask, skip outputs are an
 * affine-free LayerNorm of the un-normalised stage outputs.
 */
import {
  add, concat, gatherRows, layerNorm, matmul, pad, patchMergeGather, permute, relativePositionIndex, reshape,
  roll, scale, slice, softmax, SHIFT_MASK_VALUE, tidy, windowPartition, windowReverse, type Engine, type IndexTensor, type MergeOrder, type Tensor,
} from '../engine';
import type { ForwardContext } from './context';
import { UnetrBasicBlock } from './conv-blocks';
import { patchEmbed } from './patchify';
import type { Triple } from './model';
import type { ParamSpec } from './params';
import { layerNormBy, layerNormSpecs, Mlp } from './vit';

/** PatchMerging slice orders: MONAI ≥ 1.x "merging", or the legacy duplicated order of the HyPS repo. */
export type MergingOrder = 'merging' | 'legacy';
const ENGINE_ORDER: Record<MergingOrder, MergeOrder> = { merging: 'monai', legacy: 'legacy' };

const prod = (t: readonly number[]) => t.reduce((a, b) => a * b, 1);

/** MONAI get_window_size: an axis no longer than the window uses its own length and no shift. */
export function clampWindow(dims: Triple, window: Triple, shift: Triple): { window: Triple; shift: Triple } {
  const w = dims.map((d, i) => (d <= window[i] ? d : window[i])) as unknown as Triple;
  const s = dims.map((d, i) => (d <= window[i] ? 0 : shift[i])) as unknown as Triple;
  return { window: w, shift: s };
}

/**
 * Region id (0..26) of every token of every window of a padded grid, MONAI compute_mask's
 * `img_mask` after window_partition: [nWindows × N] row-major. Tokens of different regions
 * get −100 between them; only windows on the last row/column/slab along a shifted axis mix regions.
 */
export function windowRegionIds(dims: Triple, window: Triple, shift: Triple): Int32Array {
  const region = (n: number, w: number, s: number, i: number) => (i < n - w ? 0 : i < n - s ? 1 : 2);
  const nw = dims.map((d, i) => d / window[i]);
  const N = prod(window);
  const ids = new Int32Array(prod(nw) * N);
  let t = 0;
  for (let a = 0; a < nw[0]; a++) {
    for (let b = 0; b < nw[1]; b++) {
      for (let c = 0; c < nw[2]; c++) {
        for (let i = 0; i < window[0]; i++) {
          for (let j = 0; j < window[1]; j++) {
            for (let k = 0; k < window[2]; k++) {
              const rd = region(dims[0], window[0], shift[0], a * window[0] + i);
              const rh = region(dims[1], window[1], shift[1], b * window[1] + j);
              const rw = region(dims[2], window[2], shift[2], c * window[2] + k);
              ids[t++] = rd * 9 + rh * 3 + rw;
            }
          }
        }
      }
    }
  }
  return ids;
}

/** The additive mask [rows, 1, N, N] of window rows [r0, r1) (row r is window r mod nW), or null if all zero. */
function maskRows(ids: Int32Array, nW: number, N: number, r0: number, r1: number): Float32Array | null {
  const m = new Float32Array((r1 - r0) * N * N);
  let any = false;
  for (let r = r0; r < r1; r++) {
    const base = (r % nW) * N;
    const out = (r - r0) * N * N;
    for (let i = 0; i < N; i++) {
      const idi = ids[base + i];
      for (let j = 0; j < N; j++) {
        if (ids[base + j] !== idi) {
          m[out + i * N + j] = SHIFT_MASK_VALUE;
          any = true;
        }
      }
    }
  }
  return any ? m : null;
}

/** Host constants one SwinTransformer needs on its engine: sliced relative-position indices. */
export class SwinConstants {
  private readonly indices = new Map<number, IndexTensor>();
  constructor(private readonly engine: Engine, private readonly window: Triple) {}

  /** MONAI `relative_position_index[:n, :n]` of the configured window, flattened. */
  index(n: number): IndexTensor {
    let t = this.indices.get(n);
    if (!t) {
      const full = relativePositionIndex(this.window);
      const N = prod(this.window);
      const idx = new Int32Array(n * n);
      for (let i = 0; i < n; i++) idx.set(full.subarray(i * N, i * N + n), i * n);
      t = this.engine.index(idx, `relative_position_index[:${n}, :${n}]`);
      this.indices.set(n, t);
    }
    return t;
  }

  dispose(): void {
    for (const t of this.indices.values()) t.dispose();
    this.indices.clear();
  }
}

/** WindowAttention: qkv (bias), scaled q·kᵀ + relative-position bias (+ shift mask), softmax, proj. */
export class WindowAttention {
  readonly params: ParamSpec[];
  private readonly headDim: number;
  constructor(readonly name: string, readonly dim: number, readonly heads: number, window: Triple, readonly qkvBias: boolean, readonly attnDrop: number, readonly projDrop: number) {
    this.headDim = dim / heads;
    const tableRows = prod(window.map((w) => 2 * w - 1));
    this.params = [
      { name: `${name}.relative_position_bias_table`, shape: [tableRows, heads], init: 'normal02' },
      { name: `${name}.qkv.weight`, shape: [3 * dim, dim], init: 'fanIn', fanIn: dim },
      ...(qkvBias ? [{ name: `${name}.qkv.bias`, shape: [3 * dim], init: 'zeros' } as const] : []),
      { name: `${name}.proj.weight`, shape: [dim, dim], init: 'fanIn', fanIn: dim },
      { name: `${name}.proj.bias`, shape: [dim], init: 'zeros' },
    ];
  }

  /**
   * windows [R, N, C] (R = B·nW) → [R, N, C]. `regions` (shifted blocks) gives the region ids of
   * the padded grid's windows. Computed in chunks of windows so that one score tensor
   * [rows, heads, N, N] stays under the context's attention budget.
   */
  forward(ctx: ForwardContext, consts: SwinConstants, windows: Tensor, regions: { ids: Int32Array; nW: number } | null): Tensor {
    const [R, N] = windows.shape;
    return tidy(() => {
      const table = ctx.p(`${this.name}.relative_position_bias_table`);
      const bias = permute(reshape(gatherRows(table, consts.index(N)), [N, N, this.heads]), [2, 0, 1]); // [heads, N, N]
      const perWindow = this.heads * N * N;
      const rows = Math.max(1, Math.floor(ctx.attentionChunk(windows.backend.maxElements) / perWindow));
      const outs: Tensor[] = [];
      for (let r0 = 0; r0 < R; r0 += rows) {
        const r1 = Math.min(R, r0 + rows);
        outs.push(tidy(() => this.chunk(ctx, r0 === 0 && r1 === R ? windows : slice(windows, [[r0, r1]]), bias, regions && maskRows(regions.ids, regions.nW, N, r0, r1))));
      }
      return outs.length === 1 ? outs[0] : concat(outs, 0);
    });
  }

  private chunk(ctx: ForwardContext, x: Tensor, bias: Tensor, mask: Float32Array | null): Tensor {
    const [R, N, C] = x.shape;
    const qkv = permute(reshape(ctx.linear(`${this.name}.qkv`, x, this.qkvBias), [R, N, 3, this.heads, this.headDim]), [2, 0, 3, 1, 4]);
    const pick = (i: number) => reshape(slice(qkv, [[i, i + 1]]), [R, this.heads, N, this.headDim]);
    // MONAI scales q before the product.
    let s = add(matmul(scale(pick(0), this.headDim ** -0.5), pick(1), { transB: true }), bias);
    if (mask) s = add(s, ctx.engine.tensor(mask, [R, 1, N, N], { name: 'shifted-window mask' }));
    const p = ctx.dropout(softmax(s, -1), this.attnDrop);
    const o = reshape(permute(matmul(p, pick(2)), [0, 2, 1, 3]), [R, N, C]);
    return ctx.dropout(ctx.linear(`${this.name}.proj`, o, true), this.projDrop);
  }
}

export interface SwinBlockConfig {
  readonly dim: number;
  readonly heads: number;
  readonly window: Triple;
  /** This block's shift before clamping: 0 (even blocks) or ⌊window/2⌋ (odd blocks). */
  readonly shift: Triple;
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
  readonly drop: number;
  readonly attnDrop: number;
  readonly dropPath: number;
}

/** SwinTransformerBlock: x + attn-part(x), then + mlp(norm2(x)), with stochastic depth on both branches. */
export class SwinBlock {
  readonly params: ParamSpec[];
  private readonly attn: WindowAttention;
  private readonly mlp: Mlp;
  constructor(readonly name: string, readonly c: SwinBlockConfig) {
    this.attn = new WindowAttention(`${name}.attn`, c.dim, c.heads, c.window, c.qkvBias, c.attnDrop, c.drop);
    this.mlp = new Mlp(`${name}.mlp`, c.dim, Math.trunc(c.dim * c.mlpRatio), c.drop);
    this.params = [...layerNormSpecs(`${name}.norm1`, c.dim), ...this.attn.params, ...layerNormSpecs(`${name}.norm2`, c.dim), ...this.mlp.params];
  }

  /** x [B, D, H, W, C] → same shape. */
  forward(ctx: ForwardContext, consts: SwinConstants, x: Tensor): Tensor {
    return tidy(() => {
      const h = ctx.residual(x, this.attentionPart(ctx, consts, x), this.c.dropPath);
      return ctx.residual(h, this.mlp.forward(ctx, layerNormBy(ctx, `${this.name}.norm2`, h)), this.c.dropPath);
    });
  }

  private attentionPart(ctx: ForwardContext, consts: SwinConstants, x: Tensor): Tensor {
    const [B, D, H, W] = x.shape;
    const dims: Triple = [D, H, W];
    const { window, shift } = clampWindow(dims, this.c.window, this.c.shift);
    const padAfter = dims.map((d, i) => (window[i] - (d % window[i])) % window[i]);
    const padded = dims.map((d, i) => d + padAfter[i]) as unknown as Triple;
    let h = layerNormBy(ctx, `${this.name}.norm1`, x);
    if (padAfter.some((p) => p > 0)) h = pad(h, [[0, 0], [0, padAfter[0]], [0, padAfter[1]], [0, padAfter[2]], [0, 0]]);
    const shifted = shift.some((s) => s > 0);
    if (shifted) h = roll(h, [-shift[0], -shift[1], -shift[2]], [1, 2, 3]);
    const regions = shifted ? { ids: windowRegionIds(padded, window, shift), nW: prod(padded.map((d, i) => d / window[i])) } : null;
    const attended = this.attn.forward(ctx, consts, windowPartition(h, window), regions);
    let y = windowReverse(attended, window, [B, ...padded]);
    if (shifted) y = roll(y, [...shift], [1, 2, 3]);
    if (padAfter.some((p) => p > 0)) y = slice(y, [null, [0, D], [0, H], [0, W]]);
    return y;
  }
}

/** PatchMerging: gather the 2×2×2 neighbours (order selectable), LayerNorm(8C), Linear(8C → 2C, no bias). */
export class PatchMerging {
  readonly params: ParamSpec[];
  constructor(readonly name: string, dim: number, readonly order: MergingOrder) {
    // Registration order: reduction before norm, though norm runs first.
    this.params = [{ name: `${name}.reduction.weight`, shape: [2 * dim, 8 * dim], init: 'fanIn', fanIn: 8 * dim }, ...layerNormSpecs(`${name}.norm`, 8 * dim)];
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return tidy(() => ctx.linear(`${this.name}.reduction`, layerNormBy(ctx, `${this.name}.norm`, patchMergeGather(x, ENGINE_ORDER[this.order])), false));
  }
}

/** BasicLayer (one stage): its blocks on channels-last features, then PatchMerging. [B, C, D, H, W] in and out. */
export class SwinStage {
  readonly params: ParamSpec[];
  private readonly blocks: SwinBlock[];
  private readonly downsample: PatchMerging;
  constructor(readonly name: string, blocks: readonly SwinBlockConfig[], order: MergingOrder) {
    this.blocks = blocks.map((b, i) => new SwinBlock(`${name}.blocks.${i}`, b));
    this.downsample = new PatchMerging(`${name}.downsample`, blocks[0].dim, order);
    this.params = [...this.blocks.flatMap((b) => b.params), ...this.downsample.params];
  }
  forward(ctx: ForwardContext, consts: SwinConstants, x: Tensor): Tensor {
    return tidy(() => {
      let h = permute(x, [0, 2, 3, 4, 1]);
      for (const b of this.blocks) h = b.forward(ctx, consts, h);
      return permute(this.downsample.forward(ctx, h), [0, 4, 1, 2, 3]);
    });
  }
}

/** MONAI proj_out(normalize=True): LayerNorm over channels without affine parameters. */
function projOut(x: Tensor): Tensor {
  return tidy(() => permute(layerNorm(permute(x, [0, 2, 3, 4, 1]), null, null), [0, 4, 1, 2, 3]));
}

export interface SwinTransformerConfig {
  readonly inChannels: number;
  readonly embedDim: number;
  readonly window: Triple;
  readonly patch: number;
  readonly depths: readonly number[];
  readonly heads: readonly number[];
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
  readonly dropRate: number;
  readonly attnDropRate: number;
  readonly dropPathRate: number;
  readonly patchNorm: boolean;
  readonly useV2: boolean;
  readonly downsample: MergingOrder;
}

/** torch.linspace(0, rate, n) as MONAI's per-block stochastic-depth rates. */
function linspace(rate: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0 : (rate * i) / (n - 1)));
}

/** SwinTransformer (`swinViT`): patch embedding, four stages; returns the five (normalised) skip outputs. */
export class SwinTransformer {
  readonly params: ParamSpec[];
  private readonly stages: SwinStage[];
  private readonly stagesV2: UnetrBasicBlock[];
  constructor(readonly name: string, readonly c: SwinTransformerConfig) {
    const k = c.patch;
    this.params = [
      { name: `${name}.patch_embed.proj.weight`, shape: [c.embedDim, c.inChannels, k, k, k], init: 'fanIn', fanIn: c.inChannels * k ** 3 },
      { name: `${name}.patch_embed.proj.bias`, shape: [c.embedDim], init: 'zeros' },
      ...(c.patchNorm ? layerNormSpecs(`${name}.patch_embed.norm`, c.embedDim) : []),
    ];
    const dpr = linspace(c.dropPathRate, c.depths.reduce((a, b) => a + b, 0));
    let at = 0;
    const shiftOf = c.window.map((w) => Math.floor(w / 2)) as unknown as Triple;
    this.stages = c.depths.map((depth, i) => {
      const dim = c.embedDim * 2 ** i;
      const blocks = Array.from({ length: depth }, (_, j) => ({
        dim,
        heads: c.heads[i],
        window: c.window,
        shift: j % 2 === 0 ? ([0, 0, 0] as const) : shiftOf,
        mlpRatio: c.mlpRatio,
        qkvBias: c.qkvBias,
        drop: c.dropRate,
        attnDrop: c.attnDropRate,
        dropPath: dpr[at + j],
      }));
      at += depth;
      return new SwinStage(`${name}.layers${i + 1}.0`, blocks, c.downsample);
    });
    this.stagesV2 = c.useV2 ? c.depths.map((_, i) => new UnetrBasicBlock(`${name}.layers${i + 1}c.0`, c.embedDim * 2 ** i, c.embedDim * 2 ** i, true)) : [];
    this.params.push(...this.stages.flatMap((s) => s.params), ...this.stagesV2.flatMap((s) => s.params));
  }

  /** x [B, Cin, D, H, W] (D, H, W divisible by patch^5) → [x0_out … x4_out], each [B, C_i, …]. */
  forward(ctx: ForwardContext, consts: SwinConstants, x: Tensor, normalize: boolean): Tensor[] {
    return tidy(() => {
      const k = this.c.patch;
      const [B, , D, H, W] = x.shape;
      let tokens = patchEmbed(x, ctx.p(`${this.name}.patch_embed.proj.weight`), ctx.p(`${this.name}.patch_embed.proj.bias`), [k, k, k]);
      if (this.c.patchNorm) tokens = layerNormBy(ctx, `${this.name}.patch_embed.norm`, tokens);
      let h = permute(reshape(tokens, [B, D / k, H / k, W / k, this.c.embedDim]), [0, 4, 1, 2, 3]);
      h = ctx.dropout(h, this.c.dropRate);
      const outs = [normalize ? projOut(h) : h];
      this.stages.forEach((stage, i) => {
        if (this.c.useV2) h = this.stagesV2[i].forward(ctx, h);
        h = stage.forward(ctx, consts, h);
        outs.push(normalize ? projOut(h) : h);
        ctx.tap(`${this.name}.hidden_states_out.${i + 1}`, outs[i + 1]);
      });
      return outs;
    });
  }
}
