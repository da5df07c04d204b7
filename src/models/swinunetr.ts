/**
 * MONAI SwinUNETR (`monai.networks.nets.SwinUNETR`, MONAI 1.5, v1 and v2) on the engine: a Swin
 * transformer encoder whose five skip outputs feed UNETR-style convolutional decoders. Parameter
 * names and order are MONAI's; the eight `relative_position_index` buffers are recomputed.
 */
import { tidy, type Engine, type Tensor } from '../engine';
import { ForwardContext, type ForwardOptions } from './context';
import { UnetOutBlock, UnetrBasicBlock, UnetrUpBlock } from './conv-blocks';
import { ModelConfigError } from './errors';
import { checkFeatureMapsFit, checkPositiveInt, checkRate, triple, type SegmentationModel, type Triple } from './model';
import { initParams, loadParams, type LoadOptions, type ParamSet, type ParamSpec } from './params';
import { SwinConstants, SwinTransformer, type MergingOrder } from './swin';
import type { WeightSource } from './weights';

/** Number of Swin stages SwinUNETR's forward wires up (x1..x4). */
const STAGES = 4;
/** Input dims must be divisible by patch^(STAGES + 1) (MONAI _check_input_size). */
const DOWNSAMPLINGS = STAGES + 1;

/** MONAI's SwinUNETR constructor arguments (3-D; MONAI 1.5 has no img_size). Defaults per field. */
export interface SwinUNETRConfig {
  inChannels: number;
  outChannels: number;
  /** Default 2; SwinUNETR's decoder only fits 2. */
  patchSize?: number;
  /** Default [2, 2, 2, 2]. */
  depths?: readonly number[];
  /** Default [3, 6, 12, 24]. */
  numHeads?: readonly number[];
  /** Default 7. */
  windowSize?: number | readonly number[];
  /** Default true. */
  qkvBias?: boolean;
  /** Default 4. */
  mlpRatio?: number;
  /** Default 24 (the HyPS paper uses 48); divisible by 12. */
  featureSize?: number;
  /** Only 'instance'. */
  normName?: 'instance';
  /** Default 0 (dropout after patch embedding, in attention output and MLP). */
  dropRate?: number;
  /** Default 0 (dropout on attention weights). */
  attnDropRate?: number;
  /** Default 0 (stochastic depth, linearly increasing over blocks). */
  dropoutPathRate?: number;
  /** Default true: skip outputs pass an affine-free LayerNorm. */
  normalize?: boolean;
  /** Default false. */
  patchNorm?: boolean;
  /**
   * Default 'merging' (MONAI's PatchMerging, distinct offsets). 'legacy' is the duplicated order
   * of MONAI ≤ 0.9 / the HyPS repo that its pretrained weights need; it cannot be told from
   * weight shapes. MONAI's 'mergingv2' is not supported.
   */
  downsample?: MergingOrder;
  /** Default false (v2 adds a residual conv block before each stage). */
  useV2?: boolean;
}

export type ResolvedSwinUNETRConfig = Required<Omit<SwinUNETRConfig, 'windowSize'>> & { windowSize: Triple };

export function resolveSwinUNETRConfig(c: SwinUNETRConfig): ResolvedSwinUNETRConfig {
  const r: ResolvedSwinUNETRConfig = {
    inChannels: c.inChannels,
    outChannels: c.outChannels,
    patchSize: c.patchSize ?? 2,
    depths: [...(c.depths ?? [2, 2, 2, 2])],
    numHeads: [...(c.numHeads ?? [3, 6, 12, 24])],
    windowSize: triple(c.windowSize ?? 7, 'SwinUNETR windowSize'),
    qkvBias: c.qkvBias ?? true,
    mlpRatio: c.mlpRatio ?? 4,
    featureSize: c.featureSize ?? 24,
    normName: c.normName ?? 'instance',
    dropRate: c.dropRate ?? 0,
    attnDropRate: c.attnDropRate ?? 0,
    dropoutPathRate: c.dropoutPathRate ?? 0,
    normalize: c.normalize ?? true,
    patchNorm: c.patchNorm ?? false,
    downsample: c.downsample ?? 'merging',
    useV2: c.useV2 ?? false,
  };
  for (const k of ['inChannels', 'outChannels', 'patchSize', 'featureSize'] as const) checkPositiveInt(r[k], `SwinUNETR ${k}`);
  r.windowSize.forEach((w) => checkPositiveInt(w, 'SwinUNETR windowSize'));
  if (r.patchSize !== 2) throw new ModelConfigError(`SwinUNETR patchSize ${r.patchSize} is not supported: the decoder upsamples by 2 per stage, so only 2 fits`);
  if (r.featureSize % 12 !== 0) throw new ModelConfigError(`SwinUNETR featureSize ${r.featureSize} must be divisible by 12 (as MONAI requires)`);
  if (r.depths.length !== STAGES || r.numHeads.length !== STAGES) {
    throw new ModelConfigError(`SwinUNETR depths [${r.depths}] and numHeads [${r.numHeads}] must each have ${STAGES} entries`);
  }
  r.depths.forEach((d) => checkPositiveInt(d, 'SwinUNETR depths'));
  r.numHeads.forEach((h, i) => {
    checkPositiveInt(h, 'SwinUNETR numHeads');
    const dim = r.featureSize * 2 ** i;
    if (dim % h !== 0) throw new ModelConfigError(`SwinUNETR stage ${i + 1} has ${dim} channels, not divisible by numHeads ${h}`);
  });
  if (!(r.mlpRatio > 0)) throw new ModelConfigError(`SwinUNETR mlpRatio must be positive, got ${r.mlpRatio}`);
  checkRate(r.dropRate, 'SwinUNETR dropRate');
  checkRate(r.attnDropRate, 'SwinUNETR attnDropRate');
  checkRate(r.dropoutPathRate, 'SwinUNETR dropoutPathRate');
  if (r.normName !== 'instance') throw new ModelConfigError(`SwinUNETR normName "${r.normName}" is not supported; only "instance"`);
  if (r.downsample !== 'merging' && r.downsample !== 'legacy') throw new ModelConfigError(`SwinUNETR downsample "${r.downsample}" is not supported; use "merging" (MONAI) or "legacy" (HyPS)`);
  return r;
}

export class SwinUNETR implements SegmentationModel {
  readonly kind = 'swinunetr' as const;
  readonly config: ResolvedSwinUNETRConfig;
  readonly paramSpecs: readonly ParamSpec[];
  private readonly swinViT: SwinTransformer;
  private readonly encoders: UnetrBasicBlock[];
  private readonly encoder10: UnetrBasicBlock;
  private readonly decoders: UnetrUpBlock[];
  private readonly out: UnetOutBlock;
  private readonly consts: SwinConstants;
  private params_: ParamSet | null = null;

  /** The architecture without weights; use `SwinUNETR.load` / `SwinUNETR.init` for a runnable model. */
  constructor(readonly engine: Engine, config: SwinUNETRConfig) {
    const c = (this.config = resolveSwinUNETRConfig(config));
    const f = c.featureSize;
    this.swinViT = new SwinTransformer('swinViT', {
      inChannels: c.inChannels,
      embedDim: f,
      window: c.windowSize,
      patch: c.patchSize,
      depths: c.depths,
      heads: c.numHeads,
      mlpRatio: c.mlpRatio,
      qkvBias: c.qkvBias,
      dropRate: c.dropRate,
      attnDropRate: c.attnDropRate,
      dropPathRate: c.dropoutPathRate,
      patchNorm: c.patchNorm,
      useV2: c.useV2,
      downsample: c.downsample,
    });
    this.encoders = [
      new UnetrBasicBlock('encoder1', c.inChannels, f, true),
      new UnetrBasicBlock('encoder2', f, f, true),
      new UnetrBasicBlock('encoder3', 2 * f, 2 * f, true),
      new UnetrBasicBlock('encoder4', 4 * f, 4 * f, true),
    ];
    this.encoder10 = new UnetrBasicBlock('encoder10', 16 * f, 16 * f, true);
    this.decoders = [
      new UnetrUpBlock('decoder5', 16 * f, 8 * f, true),
      new UnetrUpBlock('decoder4', 8 * f, 4 * f, true),
      new UnetrUpBlock('decoder3', 4 * f, 2 * f, true),
      new UnetrUpBlock('decoder2', 2 * f, f, true),
      new UnetrUpBlock('decoder1', f, f, true),
    ];
    this.out = new UnetOutBlock('out', f, c.outChannels);
    this.paramSpecs = [...this.swinViT.params, ...[...this.encoders, this.encoder10, ...this.decoders, this.out].flatMap((b) => b.params)];
    this.consts = new SwinConstants(engine, c.windowSize);
  }

  /** SwinUNETR with weights from `source` (fixture files, ONNX initializers, checkpoint). */
  static load(engine: Engine, config: SwinUNETRConfig, source: WeightSource, opts?: LoadOptions): SwinUNETR {
    const m = new SwinUNETR(engine, config);
    m.params_ = loadParams(engine, m.paramSpecs, source, 'SwinUNETR', opts);
    return m;
  }

  /** SwinUNETR with fresh seeded weights: untrained, for benchmarks and training from scratch. */
  static init(engine: Engine, config: SwinUNETRConfig, seed: number, opts?: LoadOptions): SwinUNETR {
    const m = new SwinUNETR(engine, config);
    m.params_ = initParams(engine, m.paramSpecs, seed, opts);
    return m;
  }

  get params(): ParamSet {
    if (!this.params_) throw new ModelConfigError('this SwinUNETR has no weights (build it with SwinUNETR.load or SwinUNETR.init)');
    return this.params_;
  }
  get inChannels(): number {
    return this.config.inChannels;
  }
  get outChannels(): number {
    return this.config.outChannels;
  }

  private checkInput(x: Tensor): void {
    const { inChannels, patchSize } = this.config;
    const unit = patchSize ** DOWNSAMPLINGS;
    const ok = x.rank === 5 && x.shape[1] === inChannels && x.shape.slice(2).every((s) => s > 0 && s % unit === 0);
    if (!ok) throw new ModelConfigError(`SwinUNETR input ${x.describe()} must be [B, ${inChannels}, D, H, W] with D, H, W divisible by ${unit} (patch ${patchSize} to the power ${DOWNSAMPLINGS})`);
  }

  forward(x: Tensor, opts: ForwardOptions = {}): Tensor {
    this.checkInput(x);
    checkFeatureMapsFit('SwinUNETR', x, this.config.featureSize);
    const ctx = new ForwardContext(this.engine, this.params, opts);
    return tidy(() => {
      const hs = this.swinViT.forward(ctx, this.consts, x, this.config.normalize);
      // enc0..enc3 from the input and the first three skips; dec4 from the deepest.
      const enc = [this.encoders[0].forward(ctx, x), ...[0, 1, 2].map((i) => this.encoders[i + 1].forward(ctx, hs[i]))];
      for (const i of [0, 1, 2]) hs[i].dispose();
      let h = this.encoder10.forward(ctx, hs[4]);
      hs[4].dispose();
      // decoder5 takes the raw skip hs[3]; then enc3, enc2, enc1, enc0.
      const skips = [hs[3], enc[3], enc[2], enc[1], enc[0]];
      this.decoders.forEach((d, i) => {
        const next = d.forward(ctx, h, skips[i]);
        h.dispose();
        skips[i].dispose();
        h = next;
      });
      return this.out.forward(ctx, h);
    });
  }

  dispose(): void {
    this.params_?.dispose();
    this.params_ = null;
    this.consts.dispose();
  }
}
