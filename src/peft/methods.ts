/**
 * The method registry: for each fine-tuning method, which base parameters train, how the
 * model's Linear weights are produced each step (the method's adapter), and the exact
 * trainable-parameter count.
 *
 * | method  | trainable                                              | layer weights each step            |
 * |---------|--------------------------------------------------------|------------------------------------|
 * | full    | every parameter                                         | the parameters themselves          |
 * | decoder | the decoder (targets.ts: isDecoderParam)                | —                                  |
 * | lora    | lora_A, lora_B per encoder Linear (+ decoder)           | W + (α/r)·B·A                      |
 * | pissa   | A, B per encoder Linear (+ decoder)                     | W_res + A·B                        |
 * | lorapt  | Ur, Sr, Vr of W_up, W_sa, W_down (+ decoder); UNETR     | W_res + (Ur * Sr) * Vrᵀ (t-product) |
 * | hyps    | A, B, Dn, Up per encoder Linear (+ decoder)             | W_res + A·B, then h + ReLU(h·Dn)·Up/d |
 */
import type { ModelKind } from '../models/model';
import type { SegmentationModel } from '../models/model';
import { AdaptedModel, type HostTensors, type MethodAdapter } from './adapted-model';
import { PeftConfigError } from './errors';
import { DEFAULT_HYPS_ADAPTER_DIM, DEFAULT_HYPS_RANK, HypsAdapter, hypsSerialInit } from './hyps';
import { checkRank } from './linalg/svd';
import { LoraAdapter, PissaAdapter } from './lora';
import { computePrincipalInit, loraInit } from './lowrank';
import { computeLoraptFactors, DEFAULT_LORAPT_RANK, LoraptAdapter, loraptTensorCount, type LoraptRanks } from './lorapt';
import { isDecoderParam, LORAPT_TENSORS, loraptTensorSpecs, targetLinears, type ModelShape } from './targets';
import type { TsvdOptions } from './tsvd';

export type MethodName = 'full' | 'decoder' | 'lora' | 'pissa' | 'lorapt' | 'hyps';

/** What a user chooses; omitted fields take the method's defaults. */
export interface MethodConfig {
  method: MethodName;
  /** LoRA / PiSSA / HyPS rank; LoRA-PT's rank for all three tensors unless `ranks` overrides one. */
  rank?: number;
  /** LoRA-PT: rank per tensor. */
  ranks?: Partial<LoraptRanks>;
  /** LoRA: α (the update is scaled by α/r); default r. */
  alpha?: number;
  /** HyPS: serial adapter width d (output scaled by 1/d). */
  adapterDim?: number;
  /** PEFT methods: keep the decoder trainable (default true). */
  trainDecoder?: boolean;
  /** Seed of the random initialisations (LoRA's A, HyPS's Dn). */
  seed?: number;
  /**
   * PEFT methods, a probe of which tensors matter: the optimiser updates only the method tensors
   * whose names contain one of these (e.g. `W_sa` for LoRA-PT's attention tensor, `attn` or `mlp`
   * for the Linears' adapters); the others keep their initial values, so their layers keep the
   * pretrained weights. Default: every method tensor. Not part of the adapter: it changes how the
   * tensors were trained, not what they are.
   */
  trainOnly?: readonly string[];
}

export type ResolvedMethodConfig =
  | { readonly method: 'full' }
  | { readonly method: 'decoder' }
  | { readonly method: 'lora'; readonly rank: number; readonly alpha: number; readonly trainDecoder: boolean; readonly seed: number }
  | { readonly method: 'pissa'; readonly rank: number; readonly trainDecoder: boolean }
  | { readonly method: 'lorapt'; readonly ranks: LoraptRanks; readonly trainDecoder: boolean }
  | { readonly method: 'hyps'; readonly rank: number; readonly adapterDim: number; readonly trainDecoder: boolean; readonly seed: number };

export interface MethodInfo {
  readonly name: MethodName;
  readonly label: string;
  readonly summary: string;
  /** Architectures the method applies to. */
  readonly models: readonly ModelKind[];
}

export const METHODS: Readonly<Record<MethodName, MethodInfo>> = {
  full: { name: 'full', label: 'Full fine-tuning', summary: 'every parameter trains', models: ['unetr', 'swinunetr'] },
  decoder: { name: 'decoder', label: 'Decoder only', summary: 'the convolutional decoder trains, the encoder is frozen', models: ['unetr', 'swinunetr'] },
  lora: { name: 'lora', label: 'LoRA', summary: 'low-rank updates B·A on the encoder Linears (+ decoder)', models: ['unetr', 'swinunetr'] },
  pissa: { name: 'pissa', label: 'PiSSA', summary: 'the principal singular factors of the encoder Linears train, the residual is frozen (+ decoder)', models: ['unetr', 'swinunetr'] },
  lorapt: { name: 'lorapt', label: 'LoRA-PT', summary: "t-SVD principal tensors of UNETR's ViT weights (+ decoder)", models: ['unetr'] },
  hyps: { name: 'hyps', label: 'HyPS', summary: 'principal factors plus serial adapters on the encoder Linears (+ decoder)', models: ['unetr', 'swinunetr'] },
};

const DEFAULT_LORA_RANK = 8;
const DEFAULT_SEED = 1000;

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new PeftConfigError(`${what} must be a positive integer, got ${v}`);
  return v;
}

/** Fills defaults and checks the configuration against the model (ranks within the weights' sizes). */
export function resolveMethod(model: ModelShape, cfg: MethodConfig): ResolvedMethodConfig {
  const info = METHODS[cfg.method];
  if (!info) throw new PeftConfigError(`unknown fine-tuning method "${cfg.method}" (known: ${Object.keys(METHODS).join(', ')})`);
  if (!info.models.includes(model.kind)) throw new PeftConfigError(`${info.label} applies to ${info.models.join(', ')}, not to a ${model.kind}`);
  const trainDecoder = cfg.trainDecoder ?? true;
  const seed = cfg.seed ?? DEFAULT_SEED;
  const checkTargets = (r: number) => {
    for (const t of targetLinears(model)) checkRank(r, t.m, t.n, `${info.label} ${t.weight}`);
  };
  switch (cfg.method) {
    case 'full':
    case 'decoder':
      return { method: cfg.method };
    case 'lora': {
      const rank = positiveInt(cfg.rank ?? DEFAULT_LORA_RANK, 'LoRA rank');
      checkTargets(rank);
      const alpha = cfg.alpha ?? rank;
      if (!(alpha > 0)) throw new PeftConfigError(`LoRA alpha must be positive, got ${alpha}`);
      return { method: 'lora', rank, alpha, trainDecoder, seed };
    }
    case 'pissa': {
      const rank = positiveInt(cfg.rank ?? DEFAULT_LORA_RANK, 'PiSSA rank');
      checkTargets(rank);
      return { method: 'pissa', rank, trainDecoder };
    }
    case 'hyps': {
      const rank = positiveInt(cfg.rank ?? DEFAULT_HYPS_RANK, 'HyPS rank');
      checkTargets(rank);
      const adapterDim = positiveInt(cfg.adapterDim ?? DEFAULT_HYPS_ADAPTER_DIM, 'HyPS adapter width d');
      return { method: 'hyps', rank, adapterDim, trainDecoder, seed };
    }
    case 'lorapt': {
      const base = cfg.rank ?? DEFAULT_LORAPT_RANK;
      const ranks = Object.fromEntries(LORAPT_TENSORS.map((t) => [t, positiveInt(cfg.ranks?.[t] ?? base, `LoRA-PT ${t} rank`)])) as unknown as LoraptRanks;
      for (const s of loraptTensorSpecs(model)) checkRank(ranks[s.name], s.n1, s.n2, `LoRA-PT ${s.name} (${s.slices.length} slices of ${s.n1}×${s.n2})`);
      return { method: 'lorapt', ranks, trainDecoder };
    }
  }
}

/**
 * Which method tensors train under `trainOnly` (MethodConfig): a name trains when it contains one
 * of the entries. Every entry must select at least one of `names` (the adapter's tensors), else
 * the probe would silently train something else.
 */
export function methodTensorSelector(method: MethodName, names: readonly string[], trainOnly: readonly string[]): (name: string) => boolean {
  if (trainOnly.length === 0) throw new PeftConfigError('trainOnly is empty: name at least one method tensor (or leave it out to train them all)');
  if (names.length === 0) throw new PeftConfigError(`trainOnly applies to the PEFT methods' own tensors; ${METHODS[method].label} has none`);
  for (const part of trainOnly) {
    if (!names.some((n) => n.includes(part))) throw new PeftConfigError(`trainOnly "${part}" matches none of ${METHODS[method].label}'s tensors (e.g. ${names.slice(0, 3).join(', ')})`);
  }
  return (name) => trainOnly.some((part) => name.includes(part));
}

/**
 * Checks that a stored (resolved) configuration is one this version knows, field by field;
 * returns a description of the first problem, or null. For adapter files, before any use.
 */
export function invalidResolvedConfig(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'no method configuration';
  const c = m as Record<string, unknown>;
  const int = (k: string) => (Number.isInteger(c[k]) && (c[k] as number) >= 1 ? null : `${String(c.method)}: "${k}" must be a positive integer`);
  const bool = (k: string) => (typeof c[k] === 'boolean' ? null : `${String(c.method)}: "${k}" must be true or false`);
  switch (c.method) {
    case 'full':
    case 'decoder':
      return null;
    case 'lora':
      return int('rank') ?? (typeof c.alpha === 'number' && c.alpha > 0 ? null : 'lora: "alpha" must be positive') ?? bool('trainDecoder');
    case 'pissa':
      return int('rank') ?? bool('trainDecoder');
    case 'hyps':
      return int('rank') ?? int('adapterDim') ?? bool('trainDecoder');
    case 'lorapt': {
      const r = c.ranks as Record<string, unknown> | undefined;
      if (!r || LORAPT_TENSORS.some((t) => !Number.isInteger(r[t]) || (r[t] as number) < 1)) return 'lorapt: "ranks" must give a positive integer for W_up, W_sa and W_down';
      return bool('trainDecoder');
    }
    default:
      return `unknown fine-tuning method "${String(c.method)}"`;
  }
}

/** Which base parameters receive gradients under a method (pass to the model loader). */
export function baseTrainable(kind: ModelKind, cfg: ResolvedMethodConfig): (name: string) => boolean {
  if (cfg.method === 'full') return () => true;
  if (cfg.method === 'decoder' || cfg.trainDecoder) return (name) => isDecoderParam(kind, name);
  return () => false;
}

export interface TrainableCount {
  /** The method's own tensors (factors, adapters). */
  readonly method: number;
  /** Base parameters left trainable (decoder, or all for full fine-tuning). */
  readonly base: number;
  readonly total: number;
  /** All parameters of the base model, for the percentage. */
  readonly modelParams: number;
}

/** The exact trainable count from the configuration alone (no weights needed). */
export function countTrainable(model: ModelShape, cfg: ResolvedMethodConfig): TrainableCount {
  const trainable = baseTrainable(model.kind, cfg);
  const size = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
  const base = model.paramSpecs.filter((s) => trainable(s.name)).reduce((a, s) => a + size(s.shape), 0);
  const targets = () => targetLinears(model);
  let method = 0;
  switch (cfg.method) {
    case 'lora':
    case 'pissa':
      method = targets().reduce((a, t) => a + cfg.rank * (t.m + t.n), 0);
      break;
    case 'hyps':
      method = targets().reduce((a, t) => a + cfg.rank * (t.m + t.n) + 2 * cfg.adapterDim * t.m, 0);
      break;
    case 'lorapt':
      method = loraptTensorSpecs(model).reduce((a, s) => a + loraptTensorCount(s, cfg.ranks[s.name]), 0);
      break;
  }
  const modelParams = model.paramSpecs.reduce((a, s) => a + size(s.shape), 0);
  return { method, base, total: method + base, modelParams };
}

function checkLoadedFor(model: SegmentationModel, cfg: ResolvedMethodConfig): void {
  const trainable = baseTrainable(model.kind, cfg);
  for (const [name, t] of model.params.entries()) {
    if (t.requiresGrad !== trainable(name)) {
      throw new PeftConfigError(`${METHODS[cfg.method].label}: base parameter "${name}" is ${t.requiresGrad ? 'trainable' : 'frozen'}; load the model with { trainable: baseTrainable(kind, config) }`);
    }
  }
}

/** The method's tensors at initialisation: what `restoreMethod` needs as `init` and `current`. */
export interface MethodInit {
  /** Frozen values recorded at initialisation (LoRA-PT's factors, PiSSA/HyPS's A₀ and B₀). */
  readonly init: HostTensors;
  /** The trainable tensors' starting values. */
  readonly current: HostTensors;
}

/**
 * Initialises a method from the model's current (pretrained) weights: t-SVD for LoRA-PT, SVD
 * for PiSSA and HyPS, seeded random A (LoRA) and Dn (HyPS).
 */
export async function initialiseMethod(model: SegmentationModel, cfg: ResolvedMethodConfig, opts: TsvdOptions = {}): Promise<MethodInit> {
  const none = new Map();
  switch (cfg.method) {
    case 'full':
    case 'decoder':
      return { init: none, current: none };
    case 'lora':
      return { init: none, current: loraInit(targetLinears(model), cfg.rank, cfg.seed) };
    case 'pissa': {
      const ab = await computePrincipalInit(model, cfg.rank, 'PiSSA');
      return { init: ab, current: ab };
    }
    case 'hyps': {
      const ab = await computePrincipalInit(model, cfg.rank, 'HyPS');
      return { init: ab, current: new Map([...ab, ...hypsSerialInit(targetLinears(model), cfg.adapterDim, cfg.seed)]) };
    }
    case 'lorapt': {
      const f = await computeLoraptFactors(model, cfg.ranks, opts);
      return { init: f, current: f };
    }
  }
}

/**
 * Binds a method to a model loaded with `baseTrainable(kind, cfg)`, from its initial and current
 * tensors (`initialiseMethod`, or an adapter file).
 */
export async function restoreMethod(model: SegmentationModel, cfg: ResolvedMethodConfig, state: MethodInit): Promise<AdaptedModel> {
  checkLoadedFor(model, cfg);
  let adapter: MethodAdapter | null = null;
  switch (cfg.method) {
    case 'lora':
      adapter = LoraAdapter.attach(model, state.current, cfg.alpha / cfg.rank);
      break;
    case 'pissa':
      adapter = await PissaAdapter.attach(model, state.init, state.current);
      break;
    case 'hyps':
      adapter = await HypsAdapter.attach(model, state.init, state.current);
      break;
    case 'lorapt':
      adapter = LoraptAdapter.attach(model, state.init, { current: state.current });
      break;
  }
  return new AdaptedModel(model, adapter);
}

/** initialiseMethod + restoreMethod. */
export async function attachMethod(model: SegmentationModel, cfg: ResolvedMethodConfig, opts: TsvdOptions = {}): Promise<AdaptedModel> {
  return restoreMethod(model, cfg, await initialiseMethod(model, cfg, opts));
}
