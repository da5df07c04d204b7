/**
 * MONAI's convolutional blocks of UNETR and SwinUNETR (`dynunet_block.py`, `unetr_block.py`),
 * 3-D, with MONAI's sub-module names. Norm is InstanceNorm3d without affine parameters (MONAI's
 * "instance"), activation LeakyReLU(0.01), convolutions bias-free except the output head.
 * Tensors are [B, C, D, H, W].
 */
import { add, conv3d, convTranspose3d, instanceNorm, slice, tidy, type Tensor } from '../engine';
import type { ForwardContext } from './context';
import type { ParamSpec } from './params';

/** MONAI get_conv_layer's "same" padding for an odd kernel at stride 1. */
const samePadding = (kernel: number) => (kernel - 1) / 2;

function convWeight(name: string, co: number, ci: number, k: number): ParamSpec {
  return { name: `${name}.conv.weight`, shape: [co, ci, k, k, k], init: 'fanIn', fanIn: ci * k * k * k };
}

/** ConvTranspose3d weight, torch layout [Ci, Co, k, k, k]. */
function transpWeight(name: string, ci: number, co: number, k: number): ParamSpec {
  return { name: `${name}.conv.weight`, shape: [ci, co, k, k, k], init: 'fanIn', fanIn: co * k * k * k };
}

export interface ConvBlock {
  readonly params: readonly ParamSpec[];
}

/**
 * A block's input: one tensor, or the parts of a channel concatenation (UnetrUpBlock's
 * cat(up, skip)) that are never materialised: conv(cat(a, b), W) = conv(a, W[:, :Ca]) +
 * conv(b, W[:, Ca:]). This saves the largest tensor of the decoders (2C channels at full
 * resolution: 256 MiB for the paper UNETR at 128³, over a 128 MiB binding limit).
 */
export type BlockInput = Tensor | readonly Tensor[];

const partsOf = (x: BlockInput): readonly Tensor[] => (Array.isArray(x) ? x : [x as Tensor]);

function convParts(parts: readonly Tensor[], w: Tensor, padding: number): Tensor {
  if (parts.length === 1) return conv3d(parts[0], w, null, { padding });
  return tidy(() => {
    let at = 0;
    let acc: Tensor | null = null;
    for (const p of parts) {
      const c = p.shape[1];
      const y = conv3d(p, slice(w, [null, [at, at + c]]), null, { padding });
      at += c;
      acc = acc ? add(acc, y) : y;
    }
    return acc!;
  });
}

/** conv → InstanceNorm, freeing the conv output at once (inference keeps one full-size tensor fewer alive). */
function convNorm(parts: readonly Tensor[], w: Tensor, padding: number): Tensor {
  const c = convParts(parts, w, padding);
  const n = instanceNorm(c);
  c.dispose();
  return n;
}

/** LeakyReLU through the context (hooks, call ordinals), freeing its input. */
function activate(ctx: ForwardContext, module: string, x: Tensor): Tensor {
  const y = ctx.leakyRelu(module, x);
  if (y !== x) x.dispose();
  return y;
}

/**
 * UnetResBlock: conv1 → IN → LReLU → conv2 → IN, plus the residual (1×1×1 conv3 → IN when
 * in ≠ out channels), summed, then LReLU. Kernel k, stride 1.
 */
export class UnetResBlock implements ConvBlock {
  readonly params: ParamSpec[];
  private readonly project: boolean;
  constructor(readonly name: string, readonly inChannels: number, readonly outChannels: number, readonly kernel = 3) {
    this.project = inChannels !== outChannels;
    this.params = [convWeight(`${name}.conv1`, outChannels, inChannels, kernel), convWeight(`${name}.conv2`, outChannels, outChannels, kernel)];
    if (this.project) this.params.push(convWeight(`${name}.conv3`, outChannels, inChannels, 1));
  }

  forward(ctx: ForwardContext, x: BlockInput): Tensor {
    const parts = partsOf(x);
    const pad = samePadding(this.kernel);
    const a1 = activate(ctx, `${this.name}.lrelu`, convNorm(parts, ctx.p(`${this.name}.conv1.conv.weight`), pad));
    const h2 = convNorm([a1], ctx.p(`${this.name}.conv2.conv.weight`), pad);
    a1.dispose();
    const res = this.project ? convNorm(parts, ctx.p(`${this.name}.conv3.conv.weight`), 0) : parts[0];
    const sum = add(h2, res);
    h2.dispose();
    if (res !== parts[0]) res.dispose();
    return activate(ctx, `${this.name}.lrelu`, sum);
  }
}

/** UnetBasicBlock: conv1 → IN → LReLU → conv2 → IN → LReLU (UNETR with res_block=False). */
export class UnetBasicBlock implements ConvBlock {
  readonly params: ParamSpec[];
  constructor(readonly name: string, inChannels: number, outChannels: number, readonly kernel = 3) {
    this.params = [convWeight(`${name}.conv1`, outChannels, inChannels, kernel), convWeight(`${name}.conv2`, outChannels, outChannels, kernel)];
  }

  forward(ctx: ForwardContext, x: BlockInput): Tensor {
    const pad = samePadding(this.kernel);
    const a1 = activate(ctx, `${this.name}.lrelu`, convNorm(partsOf(x), ctx.p(`${this.name}.conv1.conv.weight`), pad));
    const h2 = convNorm([a1], ctx.p(`${this.name}.conv2.conv.weight`), pad);
    a1.dispose();
    return activate(ctx, `${this.name}.lrelu`, h2);
  }
}

type ResOrBasic = UnetResBlock | UnetBasicBlock;

function resOrBasic(name: string, inC: number, outC: number, res: boolean): ResOrBasic {
  return res ? new UnetResBlock(name, inC, outC) : new UnetBasicBlock(name, inC, outC);
}

/** UnetrBasicBlock: one res/basic block under the name `layer`. */
export class UnetrBasicBlock implements ConvBlock {
  readonly params: readonly ParamSpec[];
  private readonly layer: ResOrBasic;
  constructor(name: string, inChannels: number, outChannels: number, resBlock: boolean) {
    this.layer = resOrBasic(`${name}.layer`, inChannels, outChannels, resBlock);
    this.params = this.layer.params;
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.layer.forward(ctx, x);
  }
}

/** k2 s2 transposed convolution without bias (MONAI get_conv_layer(is_transposed=True, conv_only=True)). */
function upsample(ctx: ForwardContext, name: string, x: Tensor): Tensor {
  return convTranspose3d(x, ctx.p(`${name}.conv.weight`), null);
}

/**
 * UnetrPrUpBlock: `transp_conv_init` then `numLayer` × (transposed conv, res/basic block) when
 * conv_block, or `numLayer` bare transposed convs otherwise. Each step doubles the resolution.
 */
export class UnetrPrUpBlock implements ConvBlock {
  readonly params: ParamSpec[];
  private readonly blocks: { up: string; conv: ResOrBasic | null }[] = [];
  constructor(readonly name: string, inChannels: number, outChannels: number, numLayer: number, convBlock: boolean, resBlock: boolean) {
    this.params = [transpWeight(`${name}.transp_conv_init`, inChannels, outChannels, 2)];
    for (let i = 0; i < numLayer; i++) {
      const up = convBlock ? `${name}.blocks.${i}.0` : `${name}.blocks.${i}`;
      const conv = convBlock ? resOrBasic(`${name}.blocks.${i}.1`, outChannels, outChannels, resBlock) : null;
      this.params.push(transpWeight(up, outChannels, outChannels, 2), ...(conv?.params ?? []));
      this.blocks.push({ up, conv });
    }
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return tidy(() => {
      let h = upsample(ctx, `${this.name}.transp_conv_init`, x);
      for (const b of this.blocks) {
        h = upsample(ctx, b.up, h);
        if (b.conv) h = b.conv.forward(ctx, h);
      }
      return h;
    });
  }
}

/** UnetrUpBlock: transposed conv (×2), concat with the skip along channels (as BlockInput parts), res/basic block. */
export class UnetrUpBlock implements ConvBlock {
  readonly params: ParamSpec[];
  private readonly conv: ResOrBasic;
  constructor(readonly name: string, inChannels: number, outChannels: number, resBlock: boolean) {
    this.conv = resOrBasic(`${name}.conv_block`, 2 * outChannels, outChannels, resBlock);
    this.params = [transpWeight(`${name}.transp_conv`, inChannels, outChannels, 2), ...this.conv.params];
  }

  forward(ctx: ForwardContext, x: Tensor, skip: Tensor): Tensor {
    const up = upsample(ctx, `${this.name}.transp_conv`, x);
    const out = this.conv.forward(ctx, [up, skip]);
    up.dispose();
    return out;
  }
}

/** UnetOutBlock: 1×1×1 conv with bias (the logits head). */
export class UnetOutBlock implements ConvBlock {
  readonly params: ParamSpec[];
  constructor(readonly name: string, inChannels: number, outChannels: number) {
    this.params = [convWeight(`${name}.conv`, outChannels, inChannels, 1), { name: `${name}.conv.conv.bias`, shape: [outChannels], init: 'zeros' }];
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return conv3d(x, ctx.p(`${this.name}.conv.conv.weight`), ctx.p(`${this.name}.conv.conv.bias`));
  }
}
