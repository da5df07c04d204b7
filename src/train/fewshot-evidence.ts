/**
 * What the few-shot benchmark found per base model and method, in the form the studio shows
 * next to each method (issue 16): whole-hippocampus Dice on the held-out scans after adapting
 * from k labelled scans, averaged over the seeds that ran, with the zero-shot base beside it.
 * Read from bench/fewshot/results.json (`npm run bench -- fewshot-evidence` writes one slice per k
 * to src/app/finetune/fewshot-evidence.json; a test keeps the two in step). Pure.
 */
import { WHOLE, ZERO_SHOT, type RunResult } from './compare';

/** The parts of a results.json section this needs. */
export interface EvidenceSection {
  readonly id: string;
  /** The base model's manifest as the runs used it: its weights' SHA-256 says whether they are still the shipped ones. */
  readonly manifest: { readonly onnx: string; readonly sha256?: string };
  readonly domain: string;
  readonly config: { readonly steps?: number; readonly lr?: unknown };
  readonly runs: readonly RunResult[];
}

export interface MethodEvidence {
  /** Mean over seeds of each run's mean whole Dice over the held-out scans. */
  readonly dice: number;
  readonly seeds: number;
}

export interface ModelEvidence {
  readonly zeroShot: number;
  readonly heldOut: number;
  readonly steps: number;
  readonly lr: string;
  /** By method name (`MethodName`): trained with the decoder (the method's default) and without (`--no-decoder`). */
  readonly methods: Readonly<Record<string, { readonly withDecoder?: MethodEvidence; readonly withoutDecoder?: MethodEvidence }>>;
}

export interface FewshotEvidence {
  readonly source: string;
  readonly k: number;
  readonly domain: string;
  readonly models: Readonly<Record<string, ModelEvidence>>;
}

export interface EvidenceChoice {
  readonly k: number;
  /** The target domain's description starts with this. */
  readonly domainPrefix: string;
  /** Sections trained for fewer steps are earlier probes, left out. */
  readonly minSteps: number;
}

/** The grid's main slice (bench/fewshot/grid.sh): k = 3 under the simulated scanner, 80 steps. */
export const GRID_EVIDENCE: EvidenceChoice = { k: 3, domainPrefix: 'MSD Task04 under the simulated scanner', minSteps: 80 };

/**
 * The forward protocol shift (bench/fewshot.ts --domain freesurfer): an MSD-protocol base adapted to
 * FreeSurfer's outline (aseg 17/53) from synthetic crops, 80 steps.
 */
export const PROTOCOL_EVIDENCE: EvidenceChoice = { ...GRID_EVIDENCE, domainPrefix: 'FreeSurfer protocol' };

/**
 * The reverse protocol shift (bench/fewshot.ts --domain msd on the FreeSurfer-protocol bases): a
 * FreeSurfer-protocol base adapted to MSD's outline (the whole hippocampus) from real MSD crops, 80 steps.
 */
export const REVERSE_PROTOCOL_EVIDENCE: EvidenceChoice = { ...GRID_EVIDENCE, domainPrefix: 'MSD Task04 as it is' };

/** The numbers of labelled scans the grid adapts from (bench/fewshot/grid.sh and issue 16). */
export const GRID_KS: readonly number[] = [1, 3, 5, 10];

/** A run's mean whole Dice over its held-out scans (NaN scans left out). */
export function runWholeDice(run: Pick<RunResult, 'scores'>): number {
  const values = run.scores.map((s) => s.structures.find((x) => x.structure === WHOLE)?.dice ?? NaN).filter((d) => Number.isFinite(d));
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function fewshotEvidence(sections: readonly EvidenceSection[], choice: EvidenceChoice = GRID_EVIDENCE): FewshotEvidence {
  const models: Record<string, ModelEvidence> = {};
  for (const s of sections) {
    if (!s.domain.startsWith(choice.domainPrefix) || (s.config.steps ?? 0) < choice.minSteps || models[s.id]) continue;
    const zero = s.runs.find((r) => r.method === ZERO_SHOT);
    // A which-tensor probe is not the method as the studio runs it.
    const runs = s.runs.filter((r) => r.status === 'done' && r.k === choice.k && r.config && !r.trainOnly);
    if (!zero || runs.length === 0) continue;
    const groups = new Map<string, number[]>();
    for (const r of runs) {
      const c = r.config!;
      const key = `${c.method}\u0000${'trainDecoder' in c && !c.trainDecoder ? 'withoutDecoder' : 'withDecoder'}`;
      groups.set(key, [...(groups.get(key) ?? []), runWholeDice(r)]);
    }
    const methods: Record<string, { withDecoder?: MethodEvidence; withoutDecoder?: MethodEvidence }> = {};
    for (const [key, dices] of groups) {
      const [method, variant] = key.split('\u0000') as [string, 'withDecoder' | 'withoutDecoder'];
      methods[method] = { ...methods[method], [variant]: { dice: mean(dices), seeds: dices.length } };
    }
    models[s.id] = { zeroShot: runWholeDice(zero), heldOut: zero.scores.length, steps: s.config.steps!, lr: String(s.config.lr), methods };
  }
  return { source: 'bench/fewshot/results.json (npm run bench -- fewshot-evidence)', k: choice.k, domain: choice.domainPrefix, models };
}

/** One slice per k of the grid that has any measured model, in `GRID_KS` order, for one target domain. */
export function fewshotEvidenceByK(sections: readonly EvidenceSection[], ks: readonly number[] = GRID_KS, choice: EvidenceChoice = GRID_EVIDENCE): FewshotEvidence[] {
  return ks.map((k) => fewshotEvidence(sections, { ...choice, k })).filter((e) => Object.keys(e.models).length > 0);
}

/** What the studio ships: the scanner shift's slices, then the protocol shift's, then the reverse protocol shift's. */
export function shippedEvidenceSlices(sections: readonly EvidenceSection[]): FewshotEvidence[] {
  return [GRID_EVIDENCE, PROTOCOL_EVIDENCE, REVERSE_PROTOCOL_EVIDENCE].flatMap((choice) => fewshotEvidenceByK(sections, GRID_KS, choice));
}

/** SHA-256 of each shipped model's weights, by model id (the `sha256` of models/<id>.json). */
export type ShippedWeights = ReadonlyMap<string, string | undefined>;

/**
 * Why a section's numbers no longer describe the shipped model, or null while they do: its base
 * model has been retrained or recalibrated since (the weights' SHA-256 differs), or is gone.
 */
export function supersededReason(section: Pick<EvidenceSection, 'id' | 'manifest'>, shipped: ShippedWeights): string | null {
  if (!shipped.has(section.id)) return `models/${section.id}.json is no longer shipped`;
  const now = shipped.get(section.id);
  const then = section.manifest.sha256;
  if (now !== undefined && now === then) return null;
  if (now === undefined || then === undefined) return `the weights' SHA-256 is not recorded ${then === undefined ? 'for these runs' : `in models/${section.id}.json`}, so nothing shows they are the shipped models/${section.manifest.onnx}`;
  return `these runs adapted weights ${then.slice(0, 8)}…; the shipped models/${section.manifest.onnx} is ${now.slice(0, 8)}… (retrained or recalibrated since)`;
}

/** The sections whose runs adapted today's shipped weights: the only ones the studio's evidence may quote. */
export function currentSections<S extends Pick<EvidenceSection, 'id' | 'manifest'>>(sections: readonly S[], shipped: ShippedWeights): S[] {
  return sections.filter((s) => supersededReason(s, shipped) === null);
}

/** The slice whose k is nearest `trainingScans` (ties to the smaller k); with no scans yet, the grid's main slice. */
export function nearestEvidence(slices: readonly FewshotEvidence[], trainingScans: number): FewshotEvidence | undefined {
  const target = trainingScans > 0 ? trainingScans : GRID_EVIDENCE.k;
  let best: FewshotEvidence | undefined;
  for (const e of slices) if (!best || Math.abs(e.k - target) < Math.abs(best.k - target) || (Math.abs(e.k - target) === Math.abs(best.k - target) && e.k < best.k)) best = e;
  return best;
}
