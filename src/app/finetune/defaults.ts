/**
 * What the Fine-tune panel starts with, and which methods it offers for the selected base.
 *
 * The method follows the base model: LoRA-PT is UNETR's (t-SVD of its ViT weights; the
 * LoRA-PT paper fine-tunes UNETR), HyPS is SwinUNETR's (the HyPS paper fine-tunes SwinUNETR);
 * a method that cannot apply to the base (`METHODS[m].models`) is not offered.
 *
 * The learning rate, length and batch come from the measured few-shot runs in
 * bench/fewshot (SwinUNETR on the CPU engine, k = 10 scans, 6 held-out scans, one seed):
 * - lr 1e-4: the only rate at which no run lost Dice against the base. Same decoder-only run,
 *   3 steps: 1e-3 lost 3.9 points (RESULTS.md, main grid), 3e-4 over 8 steps lost 1.5
 *   (probes/probe-8steps), 1e-4 lost 0.1 (probes/lr1e-4). INVESTIGATION.md: Adam moves every
 *   trainable parameter by about lr in its first steps, too much for a converged model at 1e-3.
 * - 15 steps at batch 1: the longest measured run at that rate (probes/final-model-lr1e-4,
 *   final SwinUNETR): HyPS without decoder 0.839 (zero-shot 0.839), decoder only 0.835.
 *   Every measured run used batch 1. None of them improved on the base: these defaults are
 *   the ones measured not to hurt, not ones shown to help.
 */
import type { ModelManifest } from '../../infer/manifest';
import type { ModelKind } from '../../models/model';
import { METHODS, type MethodName } from '../../peft/methods';
import type { FinetuneSettings } from './store';

/** The order the panel lists methods in: the paper methods first. */
const METHOD_ORDER: readonly MethodName[] = ['lorapt', 'hyps', 'lora', 'pissa', 'decoder', 'full'];

/** bench/fewshot/probes/lr1e-4 and final-model-lr1e-4 (see above). */
export const DEFAULT_LR = 1e-4;
/** bench/fewshot/probes/final-model-lr1e-4: 15 steps. */
export const DEFAULT_STEPS = 15;
/** Every bench/fewshot run: batch 1. */
export const DEFAULT_BATCH = 1;

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

export const defaultSettings = (kind?: ModelKind): FinetuneSettings => ({
  method: defaultMethod(kind),
  rank: null,
  lr: DEFAULT_LR,
  length: { unit: 'steps', value: DEFAULT_STEPS },
  batch: DEFAULT_BATCH,
  augment: true,
  checkpointEvery: 5,
});

/**
 * The method after the base changed: the base's default unless the user chose one by hand
 * that still applies; a hand-picked method that cannot apply gives way to the default too.
 */
export function methodForBase(current: MethodName, pickedByHand: boolean, kind: ModelKind | undefined): MethodName {
  if (pickedByHand && methodsFor(kind).includes(current)) return current;
  return defaultMethod(kind);
}
