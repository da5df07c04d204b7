import { WHOLE_STRUCTURE } from '../core/labels';
import { isRecord, type ModelManifest } from '../infer/manifest';

export interface ValidationDice {
  /** Number of validation cases, when the manifest says. */
  readonly cases: number | null;
  readonly scores: readonly { readonly name: string; readonly dice: number }[];
}

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

/** Dice of the whole hippocampus against FreeSurfer's aseg on real scans the model never saw in training. */
export interface RealAsegDice {
  readonly dice: number;
  /** Hippocampi scored (two a scan). */
  readonly sides: number;
  readonly scans: number;
  /** Different people among the scans (one subject can give two scans, e.g. bert's norm.mgz and brain.mgz). */
  readonly subjects: number;
}

/**
 * A FreeSurfer-protocol model's measured Dice on real FreeSurfer-labelled scans through the
 * full-head path (`metrics.real`, written by `npm run bench -- fs-real --write-manifest`), or null.
 */
export function realAsegDice(manifest: ModelManifest): RealAsegDice | null {
  const real = manifest.metrics?.real;
  if (!isRecord(real) || !isRecord(real.summary) || !isRecord(real.summary.pipeline)) return null;
  const { meanDice, sides } = real.summary.pipeline;
  if (typeof meanDice !== 'number' || typeof sides !== 'number') return null;
  const rows = Array.isArray(real.rows) ? real.rows.filter((r) => isRecord(r) && r.localisation === 'pipeline' && r.model === manifest.id) : [];
  const subjects = new Set(rows.map((r) => String((r as Record<string, unknown>).subject).split('/')[0]));
  return { dice: meanDice, sides, scans: rows.length, subjects: subjects.size };
}

/**
 * The model the Model card describes: the one that made the masks on screen, which Protocol:
 * Auto may have chosen instead of the header's (a full head gets the FreeSurfer-protocol
 * model), else the header's. `chosenByProtocol` says when the two differ.
 */
export function describedModel(
  models: readonly ModelManifest[],
  selectedId: string,
  resultModelId: string | undefined,
): { readonly model: ModelManifest | undefined; readonly chosenByProtocol: boolean } {
  const result = resultModelId === undefined ? undefined : models.find((m) => m.id === resultModelId);
  if (result) return { model: result, chosenByProtocol: result.id !== selectedId };
  return { model: models.find((m) => m.id === selectedId), chosenByProtocol: false };
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
