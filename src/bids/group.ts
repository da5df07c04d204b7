/**
 * The group table: one row per scan (subject × session × run), volumes, ICV-normalised
 * volumes, QC flags, robust z-scores across the group, and the participants.tsv covariates.
 * Pure: the CLI's group level and the studio's batch table both build their rows here.
 */
import type { ScanFlag, ScanMeasures } from './record';
import type { Row } from './tsv';

export type ScanOutcome =
  | { readonly status: 'ok'; readonly measures: ScanMeasures; readonly modelId: string }
  | { readonly status: 'failed'; readonly error: string }
  /** Found in the dataset, but no participant run has finished it yet. */
  | { readonly status: 'missing' };

export interface GroupInput {
  /** participants.tsv's key: `sub-01` (or, for files that are not BIDS, the file's stem). */
  readonly participantId: string;
  /** `ses-01`, or null. */
  readonly sessionId: string | null;
  /** The source T1w, relative to the dataset root. */
  readonly source: string;
  readonly outcome: ScanOutcome;
}

/**
 * Outliers: the modified z-score of Iglewicz & Hoaglin (1993), 0.6745 (x − median) / MAD,
 * flagged beyond 3.5 — robust, so one gross failure does not hide itself by inflating the SD.
 */
export const ROBUST_Z_FACTOR = 0.6745;
export const OUTLIER_Z = 3.5;
/** Below this many measured scans a z-score says little: no outlier flags, and the report says so. */
export const MIN_SCANS_FOR_OUTLIERS = 5;

/** The measures z-scored across the group (ICV-normalised, so head size does not dominate). */
export const Z_MEASURES = ['left_hippocampus_pct_icv', 'right_hippocampus_pct_icv', 'total_hippocampus_pct_icv', 'asymmetry_index'] as const;

export type GroupFlag = ScanFlag | 'failed' | 'not_run' | `outlier_${(typeof Z_MEASURES)[number]}`;

export const BASE_COLUMNS = [
  'participant_id',
  'session_id',
  'source',
  'status',
  'left_hippocampus_mm3',
  'right_hippocampus_mm3',
  'total_hippocampus_mm3',
  'icv_mm3',
  'left_hippocampus_pct_icv',
  'right_hippocampus_pct_icv',
  'total_hippocampus_pct_icv',
  'asymmetry_index',
  'total_hippocampus_pct_icv_z',
  'registration_quality',
  'registration_ncc',
  'brain_coverage',
  'qc_flags',
  'error',
  'model',
] as const;

export interface GroupTable {
  readonly columns: readonly string[];
  readonly rows: readonly Row[];
  /** Per row, the flags (the `qc_flags` cell split); flagged rows sort first in the report. */
  readonly flags: readonly (readonly GroupFlag[])[];
  /** Sentences about the table as a whole (too few scans for outliers, mixed models, …). */
  readonly notes: readonly string[];
}

const pct = (mm3: number | null, icv: number | null) => (mm3 === null || icv === null || icv <= 0 ? null : (100 * mm3) / icv);

/** Modified z-scores of the finite values (null elsewhere); null throughout when MAD is 0. */
export function robustZ(values: readonly (number | null)[]): (number | null)[] {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (xs.length === 0) return values.map(() => null);
  const med = median(xs);
  const mad = median(xs.map((x) => Math.abs(x - med)));
  if (mad === 0) return values.map(() => null);
  return values.map((v) => (v === null || !Number.isFinite(v) ? null : (ROBUST_Z_FACTOR * (v - med)) / mad));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Builds the table. `covariates` maps a participant_id (`sub-01`) to its participants.tsv row; its columns (all but participant_id) are appended in file order,
 * renamed with a `participants_` prefix only where they would clash with ours.
 */
export function groupTable(inputs: readonly GroupInput[], covariates: { columns: readonly string[]; byParticipant: ReadonlyMap<string, Readonly<Record<string, string>>> } = { columns: [], byParticipant: new Map() }): GroupTable {
  const notes: string[] = [];
  const base = inputs.map((input) => {
    const o = input.outcome;
    const m = o.status === 'ok' ? o.measures : null;
    const left = pct(m?.leftMm3 ?? null, m?.icvMm3 ?? null);
    const right = pct(m?.rightMm3 ?? null, m?.icvMm3 ?? null);
    const total = m && m.leftMm3 !== null && m.rightMm3 !== null ? pct(m.totalMm3, m.icvMm3) : null;
    const mean = m && m.leftMm3 !== null && m.rightMm3 !== null ? (m.leftMm3 + m.rightMm3) / 2 : null;
    const asymmetry = m && mean ? (m.leftMm3! - m.rightMm3!) / mean : null;
    return { input, m, left, right, total, asymmetry };
  });

  const flags: GroupFlag[][] = base.map(({ input, m }) =>
    input.outcome.status === 'failed' ? ['failed'] : input.outcome.status === 'missing' ? ['not_run'] : [...m!.flags],
  );
  const zByMeasure = {
    left_hippocampus_pct_icv: robustZ(base.map((b) => b.left)),
    right_hippocampus_pct_icv: robustZ(base.map((b) => b.right)),
    total_hippocampus_pct_icv: robustZ(base.map((b) => b.total)),
    asymmetry_index: robustZ(base.map((b) => b.asymmetry)),
  };
  const measured = base.filter((b) => b.total !== null).length;
  if (measured < MIN_SCANS_FOR_OUTLIERS) {
    notes.push(`Only ${measured} scan${measured === 1 ? '' : 's'} with both sides measured: outliers are flagged from ${MIN_SCANS_FOR_OUTLIERS} on; the z-scores are shown but not judged.`);
  } else {
    for (const key of Z_MEASURES) {
      zByMeasure[key].forEach((z, i) => {
        if (z !== null && Math.abs(z) > OUTLIER_Z) flags[i].push(`outlier_${key}`);
      });
    }
  }
  const models = new Set(base.flatMap((b) => (b.input.outcome.status === 'ok' ? [b.input.outcome.modelId] : [])));
  if (models.size > 1) notes.push(`The scans were segmented by different models (${[...models].join(', ')}): volumes are not comparable across them.`);
  const failed = base.filter((b) => b.input.outcome.status === 'failed').length;
  if (failed) notes.push(`${failed} scan${failed === 1 ? '' : 's'} failed; the error is in the row.`);
  const missing = base.filter((b) => b.input.outcome.status === 'missing').length;
  if (missing) notes.push(`${missing} scan${missing === 1 ? ' has' : 's have'} no result yet: run the participant level for ${missing === 1 ? 'it' : 'them'}.`);

  const ours = new Set<string>(BASE_COLUMNS);
  const covColumns = covariates.columns.filter((c) => c !== 'participant_id').map((c) => ({ from: c, to: ours.has(c) ? `participants_${c}` : c }));
  const rows: Row[] = base.map(({ input, m, left, right, total, asymmetry }, i) => {
    const o = input.outcome;
    const cov = covariates.byParticipant.get(input.participantId);
    return {
      participant_id: input.participantId,
      session_id: input.sessionId,
      source: input.source,
      status: o.status,
      left_hippocampus_mm3: m?.leftMm3,
      right_hippocampus_mm3: m?.rightMm3,
      total_hippocampus_mm3: m?.totalMm3,
      icv_mm3: m?.icvMm3,
      left_hippocampus_pct_icv: left,
      right_hippocampus_pct_icv: right,
      total_hippocampus_pct_icv: total,
      asymmetry_index: asymmetry,
      total_hippocampus_pct_icv_z: zByMeasure.total_hippocampus_pct_icv[i],
      registration_quality: m?.registration?.quality,
      registration_ncc: m?.registration?.ncc,
      brain_coverage: m?.registration?.brainCoverage,
      qc_flags: flags[i].length ? flags[i].join(';') : null,
      error: o.status === 'failed' ? o.error : null,
      model: o.status === 'ok' ? o.modelId : null,
      ...Object.fromEntries(covColumns.map(({ from, to }) => [to, cov?.[from] ?? null])),
    };
  });
  return { columns: [...BASE_COLUMNS, ...covColumns.map((c) => c.to)], rows, flags, notes };
}

/** participants.tsv rows by participant_id (`sub-` added where a file left it out), for `groupTable`. */
export function covariatesFrom(parsed: { columns: string[]; rows: Record<string, string>[] }) {
  if (parsed.columns.length && !parsed.columns.includes('participant_id')) throw new Error('participants.tsv has no participant_id column');
  return {
    columns: parsed.columns,
    byParticipant: new Map(parsed.rows.map((r) => [r.participant_id.startsWith('sub-') ? r.participant_id : `sub-${r.participant_id}`, r])),
  };
}

/** Column descriptions for hippocampus_volumes.json (BIDS: a JSON sidecar describes a TSV's columns). */
export const GROUP_COLUMN_DESCRIPTIONS: Record<(typeof BASE_COLUMNS)[number], { Description: string; Units?: string }> = {
  participant_id: { Description: 'BIDS participant' },
  session_id: { Description: 'BIDS session (n/a without sessions)' },
  source: { Description: 'The T1w image, relative to the BIDS dataset' },
  status: { Description: 'ok: segmented; failed: see error; missing: the participant level has not run on it' },
  left_hippocampus_mm3: { Description: 'Left hippocampus volume', Units: 'mm^3' },
  right_hippocampus_mm3: { Description: 'Right hippocampus volume', Units: 'mm^3' },
  total_hippocampus_mm3: { Description: 'Sum of all hippocampus labels', Units: 'mm^3' },
  icv_mm3: { Description: 'Intracranial volume estimate: template brain volume × |det| of the registration', Units: 'mm^3' },
  left_hippocampus_pct_icv: { Description: 'Left hippocampus volume as a percentage of ICV', Units: '%' },
  right_hippocampus_pct_icv: { Description: 'Right hippocampus volume as a percentage of ICV', Units: '%' },
  total_hippocampus_pct_icv: { Description: 'Both hippocampi as a percentage of ICV', Units: '%' },
  asymmetry_index: { Description: '(left − right) / mean(left, right)' },
  total_hippocampus_pct_icv_z: { Description: `Modified z-score (Iglewicz & Hoaglin 1993) of total_hippocampus_pct_icv across the table; |z| > ${OUTLIER_Z} is flagged from ${MIN_SCANS_FOR_OUTLIERS} scans on` },
  registration_quality: { Description: 'Registration to the template: good, poor (check the outline)' },
  registration_ncc: { Description: 'Normalised cross-correlation of scan and template after registration' },
  brain_coverage: { Description: 'Fraction of the template brain inside the field of view' },
  qc_flags: { Description: 'Semicolon-separated QC flags: failed, not_run, registration_poor, mask_warning, empty_side, crop_side_unknown, model_not_trained, outlier_<measure>' },
  error: { Description: 'Why the scan failed' },
  model: { Description: 'Seahorse model id' },
};
