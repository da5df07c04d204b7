/**
 * How each method did in the few-shot benchmark, for the dock (issue 16: "the studio shows,
 * next to each method, how it did in the benchmark"). The figures are the generated
 * fewshot-evidence.json (from bench/fewshot/results.json; see src/train/fewshot-evidence.ts). Pure.
 */
import type { Protocol } from '../../infer/manifest';
import { METHODS, type MethodName } from '../../peft/methods';
import { GRID_EVIDENCE, nearestEvidence, PROTOCOL_EVIDENCE, type FewshotEvidence, type MethodEvidence } from '../../train/fewshot-evidence';
import type { ModelKind } from '../../models/model';

/**
 * Which of the benchmark's target domains resembles the user's adaptation: a change of labelling
 * protocol (FreeSurfer-coded labels on an MSD-protocol base, the benchmark's protocol shift) or,
 * otherwise, a change of scanner (its simulated scanner).
 */
export type EvidenceShift = 'scanner' | 'protocol';

export function evidenceShift(baseProtocol: Protocol | undefined, labelMap: string): EvidenceShift {
  return baseProtocol === 'msd' && labelMap === 'freesurfer' ? 'protocol' : 'scanner';
}

const SHIFT_DOMAIN: Readonly<Record<EvidenceShift, string>> = { scanner: GRID_EVIDENCE.domainPrefix, protocol: PROTOCOL_EVIDENCE.domainPrefix };

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
  /** What those k were, in words: "3 scans", "1 crop of FreeSurfer's outline". */
  readonly adaptedFrom: string;
  /** What was measured, in one sentence. */
  readonly caption: string;
  readonly zeroShot: string;
  readonly rows: readonly MethodEvidenceRow[];
}

const cell = (e: MethodEvidence | undefined) => (e ? `${e.dice.toFixed(3)} (${e.seeds} seed${e.seeds === 1 ? '' : 's'})` : '–');

/**
 * The benchmark's rows for the methods offered on a base of this kind, from the `shift` domain's
 * slice whose number of labelled scans is nearest the user's `trainingScans` (`nearestEvidence`);
 * null when it measured none.
 */
export function methodEvidence(
  slices: readonly FewshotEvidence[],
  kind: ModelKind | undefined,
  methods: readonly MethodName[],
  trainingScans: number,
  shift: EvidenceShift = 'scanner',
): MethodEvidenceTable | null {
  if (!kind) return null;
  const evidence = nearestEvidence(slices.filter((e) => e.domain === SHIFT_DOMAIN[shift] && e.models[kind]), trainingScans);
  const model = evidence?.models[kind];
  if (!evidence || !model) return null;
  const rows = methods
    .filter((m) => model.methods[m])
    .map((m) => ({ method: m, label: METHODS[m].label, withDecoder: cell(model.methods[m].withDecoder), withoutDecoder: cell(model.methods[m].withoutDecoder) }));
  if (rows.length === 0) return null;
  const base = `the MSD-protocol ${kind === 'unetr' ? 'UNETR' : 'SwinUNETR'}`;
  const count = (what: string) => `${evidence.k} ${what}${evidence.k === 1 ? '' : 's'}`;
  const scans = (what: string) => count(`labelled ${what}`);
  const what =
    shift === 'protocol'
      ? `${base} adapted to FreeSurfer's outline (aseg 17/53) from ${scans('crop')} synthesised from SynthSeg label maps, ${model.steps} steps, ` +
        `whole-hippocampus Dice on ${model.heldOut} held-out crops: synthetic ones and the two real FreeSurfer-labelled subjects' sides`
      : `${base} adapted from ${scans('scan')} to a simulated scanner, ${model.steps} steps, whole-hippocampus Dice on ${model.heldOut} held-out scans`;
  return {
    k: evidence.k,
    adaptedFrom: shift === 'protocol' ? `${count('crop')} of FreeSurfer's outline` : count('scan'),
    caption: `Few-shot benchmark: ${what} (bench/fewshot/RESULTS.md). "Without decoder": the encoder adapters alone (the CLI's --no-decoder).`,
    zeroShot: model.zeroShot.toFixed(3),
    rows,
  };
}
