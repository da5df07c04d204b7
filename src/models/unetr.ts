/**
 * MONAI UNETR (`monai.networks.nets.UNETR`, MONAI 1.5) on the engine: a ViT encoder (patch 16)
 * whose block outputs 3, 6, 9 and final normed tokens feed a convolutional decoder. Parameter
 * names and order are MONAI's, without the unused cross-attention parameters MONAI ≥ 1.4
 * registers (see params.ts for the loading rule).
 */
import { permute, reshape, tidy, type Engine, type Tensor } from '../engine';
import { ForwardContext, type ForwardOptions } from './context';
import { UnetOutBlock, UnetrBasicBlock, UnetrPrUpBlock, UnetrUpBlock } from './conv-blocks';
import { ModelConfigError } from './errors';
import { checkFeatureMapsFit, checkPositiveInt, checkRate, triple, type SegmentationModel, type Triple } from './model';
import { initParams, loadParams, type LoadOptions, type ParamSet, type ParamSpec } from './params';
import { Vit, type ProjType } from './vit';
import type { WeightSource } from './weights';

/** UNETR's fixed patch size (MONAI hard-codes 16). */
export const UNETR_PATCH = 16;
/** The ViT blocks whose raw outputs feed encoder2, encoder3, encoder4 (`hidden_states_out[3/6/9]`). */
export const UNETR_SKIP_BLOCKS = [3, 6, 9] as const;

/** MONAI's UNETR constructor arguments (3-D). Omitted fields take MONAI's defaults, noted per field. */
export interface UNETRConfig {
  inChannels: number;
  outChannels: number;
  /** Input size (D, H, W), each divisible by 16; fixes the position-embedding length. */
  imgSize: number | readonly number[];
  /** Default 16. */
  featureSize?: number;
  /** Default 768. */
  hiddenSize?: number;
  /** Default 3072. */
  mlpDim?: number;
  /** Default 12. Not recoverable from weight shapes (see inferConfigFromWeights). */
  numHeads?: number;
  /** Default 'conv'. */
  projType?: ProjType;
  /** Only 'instance' (InstanceNorm3d without affine, MONAI's default) is supported. */
  normName?: 'instance';
  /** Default true. */
  convBlock?: boolean;
  /** Default true. */
  resBlock?: boolean;
  /** Default 0. Rates > 0 are applied in training mode with seeded masks (ForwardOptions.seed). */
  dropoutRate?: number;
  /** Default false. */
  qkvBias?: boolean;
  /** Transformer depth; MONAI fixes 12. Must exceed the last skip block (9). */
  numLayers?: number;
}

export type ResolvedUNETRConfig = Required<Omit<UNETRConfig, 'imgSize'>> & { imgSize: Triple };

export function resolveUNETRConfig(c: UNETRConfig): ResolvedUNETRConfig {
  const r: ResolvedUNETRConfig = {
    inChannels: c.inChannels,
    outChannels: c.outChannels,
    imgSize: triple(c.imgSize, 'UNETR imgSize'),
    featureSize: c.featureSize ?? 16,
    hiddenSize: c.hiddenSize ?? 768,
    mlpDim: c.mlpDim ?? 3072,
    numHeads: c.numHeads ?? 12,
    projType: c.projType ?? 'conv',
    normName: c.normName ?? 'instance',
    convBlock: c.convBlock ?? true,
    resBlock: c.resBlock ?? true,
    dropoutRate: c.dropoutRate ?? 0,
    qkvBias: c.qkvBias ?? false,
    numLayers: c.numLayers ?? 12,
  };
  for (const k of ['inChannels', 'outChannels', 'featureSize', 'hiddenSize', 'mlpDim', 'numHeads', 'numLayers'] as const) checkPositiveInt(r[k], `UNETR ${k}`);
  r.imgSize.forEach((s) => checkPositiveInt(s, 'UNETR imgSize'));
  checkRate(r.dropoutRate, 'UNETR dropoutRate');
  if (r.hiddenSize % r.numHeads !== 0) throw new ModelConfigError(`UNETR hiddenSize ${r.hiddenSize} is not divisible by numHeads ${r.numHeads}`);
  if (r.imgSize.some((s) => s % UNETR_PATCH !== 0)) {
    throw new ModelConfigError(`UNETR imgSize [${r.imgSize}] must be divisible by the patch size ${UNETR_PATCH} on every axis (the decoder upsamples the patch grid by 16)`);
  }
  if (r.numLayers <= Math.max(...UNETR_SKIP_BLOCKS)) throw new ModelConfigError(`UNETR numLayers ${r.numLayers} must exceed ${Math.max(...UNETR_SKIP_BLOCKS)} (skip connections tap blocks ${UNETR_SKIP_BLOCKS.join(', ')})`);
  if (r.normName !== 'instance') throw new ModelConfigError(`UNETR normName "${r.normName}" is not supported; only "instance"`);
  if (r.projType !== 'conv' && r.projType !== 'perceptron') throw new ModelConfigError(`UNETR projType "${r.projType}" is not "conv" or "perceptron"`);
  return r;
}

export class UNETR implements SegmentationModel {
  readonly kind = 'unetr' as const;
  readonly config: ResolvedUNETRConfig;
  readonly paramSpecs: readonly ParamSpec[];
  private readonly vit: Vit;
  private readonly encoder1: UnetrBasicBlock;
  private readonly encoder2: UnetrPrUpBlock;
  private readonly encoder3: UnetrPrUpBlock;
  private readonly encoder4: UnetrPrUpBlock;
  private readonly decoders: UnetrUpBlock[];
  private readonly out: UnetOutBlock;
  private params_: ParamSet | null = null;

  /** The architecture without weights; use `UNETR.load` / `UNETR.init` for a runnable model. */
  constructor(readonly engine: Engine, config: UNETRConfig) {
    const c = (this.config = resolveUNETRConfig(config));
    const f = c.featureSize;
    const h = c.hiddenSize;
    this.vit = new Vit('vit', {
      inChannels: c.inChannels,
      imgSize: c.imgSize,
      patch: [UNETR_PATCH, UNETR_PATCH, UNETR_PATCH],
      hidden: h,
      mlpDim: c.mlpDim,
      layers: c.numLayers,
      heads: c.numHeads,
      projType: c.projType,
      qkvBias: c.qkvBias,
      dropoutRate: c.dropoutRate,
    });
    this.encoder1 = new UnetrBasicBlock('encoder1', c.inChannels, f, c.resBlock);
    this.encoder2 = new UnetrPrUpBlock('encoder2', h, 2 * f, 2, c.convBlock, c.resBlock);
    this.encoder3 = new UnetrPrUpBlock('encoder3', h, 4 * f, 1, c.convBlock, c.resBlock);
    this.encoder4 = new UnetrPrUpBlock('encoder4', h, 8 * f, 0, c.convBlock, c.resBlock);
    this.decoders = [
      new UnetrUpBlock('decoder5', h, 8 * f, c.resBlock),
      new UnetrUpBlock('decoder4', 8 * f, 4 * f, c.resBlock),
      new UnetrUpBlock('decoder3', 4 * f, 2 * f, c.resBlock),
      new UnetrUpBlock('decoder2', 2 * f, f, c.resBlock),
    ];
    this.out = new UnetOutBlock('out', f, c.outChannels);
    this.paramSpecs = [
      ...this.vit.params,
      ...[this.encoder1, this.encoder2, this.encoder3, this.encoder4, ...this.decoders, this.out].flatMap((b) => b.params),
    ];
  }

  /** UNETR with weights from `source` (fixture files, ONNX initializers, checkpoint). */
  static load(engine: Engine, config: UNETRConfig, source: WeightSource, opts?: LoadOptions): UNETR {
    const m = new UNETR(engine, config);
    m.params_ = loadParams(engine, m.paramSpecs, source, 'UNETR', opts);
    return m;
  }

  /** UNETR with fresh seeded weights: untrained, for benchmarks and training from scratch. */
  static init(engine: Engine, config: UNETRConfig, seed: number, opts?: LoadOptions): UNETR {
    const m = new UNETR(engine, config);
    m.params_ = initParams(engine, m.paramSpecs, seed, opts);
    return m;
  }

  get params(): ParamSet {
    if (!this.params_) throw new ModelConfigError('this UNETR has no weights (build it with UNETR.load or UNETR.init)');
    return this.params_;
  }
  get inChannels(): number {
    return this.config.inChannels;
  }
  get outChannels(): number {
    return this.config.outChannels;
  }

  private checkInput(x: Tensor): void {
    const { inChannels, imgSize } = this.config;
    const ok = x.rank === 5 && x.shape[1] === inChannels && imgSize.every((s, i) => x.shape[2 + i] === s);
    if (!ok) {
      throw new ModelConfigError(`UNETR input ${x.describe()} must be [B, ${inChannels}, ${imgSize.join(', ')}] (in_channels, img_size; the position embedding fixes the size)`);
    }
  }

  /** Tokens [B, N, hidden] → feature map [B, hidden, gd, gh, gw] (MONAI proj_feat). */
  private projFeat(t: Tensor): Tensor {
    const [gd, gh, gw] = this.vit.embedding.grid;
    return permute(reshape(t, [t.shape[0], gd, gh, gw, this.config.hiddenSize]), [0, 4, 1, 2, 3]);
  }

  forward(x: Tensor, opts: ForwardOptions = {}): Tensor {
    this.checkInput(x);
    checkFeatureMapsFit('UNETR', x, this.config.featureSize);
    const ctx = new ForwardContext(this.engine, this.params, opts);
    return tidy(() => {
      const { out: tokens, hidden } = this.vit.forward(ctx, x, UNETR_SKIP_BLOCKS);
      const enc1 = this.encoder1.forward(ctx, x);
      const skip = (i: number) => tidy(() => this.projFeat(hidden.get(i)!));
      const enc2 = this.encoder2.forward(ctx, skip(3));
      const enc3 = this.encoder3.forward(ctx, skip(6));
      ctx.tap('encoder3', enc3);
      const enc4 = this.encoder4.forward(ctx, skip(9));
      ctx.tap('encoder4', enc4);
      for (const t of hidden.values()) t.dispose();
      // Each decoder consumes the previous output and one skip; free both as soon as they are used
      // (the autograd graph keeps what backward needs).
      let h = this.projFeat(tokens);
      tokens.dispose();
      const skips = [enc4, enc3, enc2, enc1];
      this.decoders.forEach((d, i) => {
        const next = d.forward(ctx, h, skips[i]);
        h.dispose();
        skips[i].dispose();
        h = next;
        ctx.tap(d.name, h);
      });
      return this.out.forward(ctx, h);
    });
  }

  dispose(): void {
    this.params_?.dispose();
    this.params_ = null;
  }
}
