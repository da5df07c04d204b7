/**
 * How each method did in the few-shot benchmark, for the dock (issue 16: "the studio shows,
 * next to each method, how it did in the benchmark"). The figures are the generated
 * fewshot-evidence.json (from bench/fewshot/results.json; see src/train/fewshot-evidence.ts). Pure.
 */
import { METHODS, type MethodName } from '../../peft/methods';
import { nearestEvidence, type FewshotEvidence, type MethodEvidence } from '../../train/fewshot-evidence';
import type { ModelKind } from '../../models/model';

export interface MethodEvidenceRow {
  readonly method: MethodName;
  readonly label: string;
  /** "0.836 (2 seeds)" or "–". */
  readonly withDecoder: string;
  readonly withoutDecoder: string;
}

export interface MethodEvidenceTable {
  /** The labelled scans the shown slice adapted from. */
  readonly k: number;
  /** What was measured, in one sentence. */
  readonly caption: string;
  readonly zeroShot: string;
  readonly rows: readonly MethodEvidenceRow[];
}

const cell = (e: MethodEvidence | undefined) => (e ? `${e.dice.toFixed(3)} (${e.seeds} seed${e.seeds === 1 ? '' : 's'})` : '–');

/**
 * The benchmark's rows for the methods offered on a base of this kind, from the slice whose number of
 * labelled scans is nearest the user's `trainingScans` (`nearestEvidence`); null when it measured none.
 */
export function methodEvidence(
  slices: readonly FewshotEvidence[],
  kind: ModelKind | undefined,
  methods: readonly MethodName[],
  trainingScans: number,
): MethodEvidenceTable | null {
  if (!kind) return null;
  const evidence = nearestEvidence(slices.filter((e) => e.models[kind]), trainingScans);
  const model = evidence?.models[kind];
  if (!evidence || !model) return null;
  const rows = methods
    .filter((m) => model.methods[m])
    .map((m) => ({ method: m, label: METHODS[m].label, withDecoder: cell(model.methods[m].withDecoder), withoutDecoder: cell(model.methods[m].withoutDecoder) }));
  if (rows.length === 0) return null;
  return {
    k: evidence.k,
    caption:
      `Few-shot benchmark: the MSD-protocol ${kind === 'unetr' ? 'UNETR' : 'SwinUNETR'} adapted from ${evidence.k} labelled scan${evidence.k === 1 ? '' : 's'} to a simulated scanner, ` +
      `${model.steps} steps, whole-hippocampus Dice on ${model.heldOut} held-out scans (bench/fewshot/RESULTS.md). ` +
      '"Without decoder": the encoder adapters alone (the CLI\'s --no-decoder).',
    zeroShot: model.zeroShot.toFixed(3),
    rows,
  };
}
