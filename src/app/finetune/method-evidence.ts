/**
 * How each method did in the few-shot benchmark, for the dock (issue 16: "the studio shows,
 * next to each method, how it did in the benchmark"). The figures are the generated
 * fewshot-evidence.json (from bench/fewshot/results.json; see src/train/fewshot-evidence.ts). Pure.
 */
import type { Protocol } from '../../infer/manifest';
import { METHODS, type MethodName } from '../../peft/methods';
import { GRID_EVIDENCE, nearestEvidence, PROTOCOL_EVIDENCE, REVERSE_PROTOCOL_EVIDENCE, type FewshotEvidence, type MethodEvidence } from '../../train/fewshot-evidence';
import type { ModelKind } from '../../models/model';

/**
 * Which of the benchmark's target domains resembles the user's adaptation: a change of labelling
 * protocol (FreeSurfer-coded labels on an MSD-protocol base, the benchmark's protocol shift; MSD's
 * head/body labels on a FreeSurfer-protocol base, its reverse) or, otherwise, a change of scanner
 * (its simulated scanner, measured on the MSD-protocol bases).
 */
export type EvidenceShift = 'scanner' | 'protocol' | 'reverse';

export function evidenceShift(baseProtocol: Protocol | undefined, labelMap: string): EvidenceShift {
  if (baseProtocol === 'msd' && labelMap === 'freesurfer') return 'protocol';
  if (baseProtocol === 'freesurfer' && labelMap === 'msd') return 'reverse';
  return 'scanner';
}

const SHIFT_DOMAIN: Readonly<Record<EvidenceShift, string>> = {
  scanner: GRID_EVIDENCE.domainPrefix,
  protocol: PROTOCOL_EVIDENCE.domainPrefix,
  reverse: REVERSE_PROTOCOL_EVIDENCE.domainPrefix,
};

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
 * null when it measured none. The scanner and protocol shifts adapted the MSD-protocol base of the
 * kind (its id is the kind); the reverse shift adapted the FreeSurfer-protocol base `baseId` itself.
 */
export function methodEvidence(
  slices: readonly FewshotEvidence[],
  kind: ModelKind | undefined,
  methods: readonly MethodName[],
  trainingScans: number,
  shift: EvidenceShift = 'scanner',
  baseId?: string,
): MethodEvidenceTable | null {
  const key = shift === 'reverse' ? baseId : kind;
  if (!kind || !key) return null;
  const evidence = nearestEvidence(slices.filter((e) => e.domain === SHIFT_DOMAIN[shift] && e.models[key]), trainingScans);
  const model = evidence?.models[key];
  if (!evidence || !model) return null;
  const rows = methods
    .filter((m) => model.methods[m])
    .map((m) => ({ method: m, label: METHODS[m].label, withDecoder: cell(model.methods[m].withDecoder), withoutDecoder: cell(model.methods[m].withoutDecoder) }));
  if (rows.length === 0) return null;
  const architecture = kind === 'unetr' ? 'UNETR' : 'SwinUNETR';
  const base = `the ${shift === 'reverse' ? 'FreeSurfer' : 'MSD'}-protocol ${architecture}`;
  const count = (what: string) => `${evidence.k} ${what}${evidence.k === 1 ? '' : 's'}`;
  const scans = (what: string) => count(`labelled ${what}`);
  const what = {
    scanner: `${base} adapted from ${scans('scan')} to a simulated scanner, ${model.steps} steps, whole-hippocampus Dice on ${model.heldOut} held-out scans`,
    protocol:
      `${base} adapted to FreeSurfer's outline (aseg 17/53) from ${scans('crop')} synthesised from SynthSeg label maps, ${model.steps} steps, ` +
      `whole-hippocampus Dice on ${model.heldOut} held-out crops: synthetic ones and the two real FreeSurfer-labelled subjects' sides`,
    reverse: `${base} adapted to MSD's outline (head and body as one hippocampus) from ${scans('MSD crop')}, ${model.steps} steps, whole-hippocampus Dice on ${model.heldOut} held-out MSD crops`,
  }[shift];
  const adaptedFrom = { scanner: count('scan'), protocol: `${count('crop')} of FreeSurfer's outline`, reverse: `${count('crop')} of MSD's outline` }[shift];
  return {
    k: evidence.k,
    adaptedFrom,
    caption: `Few-shot benchmark: ${what} (bench/fewshot/RESULTS.md). "Without decoder": the encoder adapters alone (the CLI's --no-decoder).`,
    zeroShot: model.zeroShot.toFixed(3),
    rows,
  };
}
