/**
 * What the Fine-tune panel starts with, and which methods it offers for the selected base.
 *
 * The method follows the base model: LoRA-PT is UNETR's (t-SVD of its ViT weights; the
 * LoRA-PT paper fine-tunes UNETR), HyPS is SwinUNETR's (the HyPS paper fine-tunes SwinUNETR);
 * a method that cannot apply to the base (`METHODS[m].models`) is not offered.
 *
 * The learning rate, length and batch are the measured ones in src/train/finetune-defaults.ts.
 */
import type { ModelManifest } from '../../infer/manifest';
import type { ModelKind } from '../../models/model';
import { METHODS, type MethodName } from '../../peft/methods';
import { DEFAULT_BATCH, DEFAULT_LR, DEFAULT_STEPS } from '../../train/finetune-defaults';
import type { FinetuneSettings } from './store';

/** The order the panel lists methods in: the paper methods first. */
const METHOD_ORDER: readonly MethodName[] = ['lorapt', 'hyps', 'lora', 'pissa', 'decoder', 'full'];


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
