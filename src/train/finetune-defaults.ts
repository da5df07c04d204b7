/**
 * Fine-tuning defaults of the studio and `seahorse finetune`, from the few-shot benchmark (issue 16;
 * bench/fewshot/INVESTIGATION.md and RESULTS.md, wasm engine, 2026-12-04/05): both MSD bases adapted
 * to a simulated scanner from k labelled scans, 80 steps at batch 2, Dice on 20 held-out test scans.
 * - Learning rates: the validation sweep (10 validation scans apart from the test scans, k = 3, one
 *   seed): UNETR 3e-4 for every method; SwinUNETR 1e-4 for full and decoder-only, 1e-3 for the
 *   adapter methods.
 * - Steps: the training loss stops improving after 40–56 of the 80 steps in every run that moved.
 * - The decoder: from one scan, the methods that train the decoder ended 1.4–2.3 points below the
 *   zero-shot base (k = 1, 3 seeds; SwinUNETR's decoder-only stayed level) while the adapters alone
 *   stayed within 0.6 points of it. From five scans (3 seeds) the methods that train the decoder
 *   gained 1.0–1.5 points over zero-shot, the adapters alone 0.0 (LoRA-PT) and 1.2 (HyPS). At k = 3
 *   every method is within about a point of zero-shot. Hence the decoder trains from
 *   `DECODER_FROM_SCANS` labelled scans up.
 * They hold for that domain (MSD crops under a simulated scanner); other shifts were measured less.
 */
import type { ModelKind } from '../models/model';
import type { MethodName } from '../peft/methods';

/** bench/fewshot/grid.sh: 80 steps (INVESTIGATION.md, "Steps: where the training loss flattens"). */
export const DEFAULT_STEPS = 80;
/** bench/fewshot/grid.sh: batch 2. */
export const DEFAULT_BATCH = 2;
/** From this many labelled training scans up, adapter methods train the decoder too (see above). */
export const DECODER_FROM_SCANS = 3;

/** Methods that train the decoder by what they are (no encoder adapters to train alone). */
const DECODER_FAMILY: readonly MethodName[] = ['full', 'decoder'];

/** Whether a method has encoder adapters, so that its decoder may train or stay frozen. */
export const hasDecoderChoice = (method: MethodName): boolean => !DECODER_FAMILY.includes(method);

/** The validation sweep's rate (bench/fewshot/INVESTIGATION.md, "Steps and learning rates"). */
export function defaultLr(kind: ModelKind, method: MethodName): number {
  if (kind === 'unetr') return 3e-4;
  return DECODER_FAMILY.includes(method) ? 1e-4 : 1e-3;
}

/** Whether an adapter method should train the decoder with `trainingScans` labelled scans. */
export function defaultTrainDecoder(trainingScans: number): boolean {
  return trainingScans >= DECODER_FROM_SCANS;
}
