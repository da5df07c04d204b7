import { WHOLE_STRUCTURE } from '../core/labels';
import type { ModelManifest } from '../infer/manifest';

export interface ValidationDice {
  /** Number of validation cases, when the manifest says. */
  readonly cases: number | null;
  readonly scores: readonly { readonly name: string; readonly dice: number }[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The mean validation Dice per structure that a trained model's manifest records
 * (`metrics.val.mean[<label name>].dice`, written by `seahorse eval`), each label's and then
 * the whole hippocampus's (all labels > 0), or null.
 */
export function validationDice(manifest: ModelManifest): ValidationDice | null {
  const val = manifest.metrics?.val;
  if (!isRecord(val) || !isRecord(val.mean)) return null;
  const mean = val.mean;
  const names = [...manifest.labels.filter((l) => l.value !== 0).map((l) => l.name), WHOLE_STRUCTURE];
  const scores = names.flatMap((name) => {
    const entry = mean[name];
    return isRecord(entry) && typeof entry.dice === 'number' ? [{ name, dice: entry.dice }] : [];
  });
  if (scores.length === 0) return null;
  return { cases: typeof val.cases === 'number' ? val.cases : null, scores };
}

/** A checkpoint shipped while its training run goes on: the epoch it is from, of how many. */
export interface InterimCheckpoint {
  readonly selectedEpoch: number;
  readonly epochs: number;
}

/** Non-null when the manifest says its training has not finished (training/export.py --allow-unfinished). */
export function interimCheckpoint(manifest: ModelManifest): InterimCheckpoint | null {
  const p = manifest.provenance;
  if (!p || p.trainingFinished !== false) return null;
  const recipe = isRecord(p.recipe) ? p.recipe : {};
  const selectedEpoch = typeof p.selectedEpoch === 'number' ? p.selectedEpoch : NaN;
  const epochs = typeof recipe.epochs === 'number' ? recipe.epochs : NaN;
  return { selectedEpoch, epochs };
}
