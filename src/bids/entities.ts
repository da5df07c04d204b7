/**
 * BIDS file names: `sub-01_ses-1_acq-mprage_run-2_T1w.nii.gz` ⇄ entities, suffix, extension.
 * Pure string work (BIDS specification 1.9, "Filenames" and appendix "Entity table").
 */

/** Entity keys in the order BIDS writes them (the subset a T1w or its derivatives can carry). */
export const ENTITY_ORDER = ['sub', 'ses', 'task', 'acq', 'ce', 'rec', 'run', 'echo', 'part', 'space', 'desc'] as const;
export type EntityKey = (typeof ENTITY_ORDER)[number];

export interface BidsName {
  /** key → label, in file order; `sub` is always there. */
  readonly entities: Readonly<Partial<Record<EntityKey, string>>> & { readonly sub: string };
  /** e.g. `T1w`, `dseg`. */
  readonly suffix: string;
  /** With the dot: `.nii.gz`, `.nii`, `.json`, `.tsv`. */
  readonly extension: string;
}

/** Labels are alphanumeric (BIDS: "label" values). */
const LABEL = /^[a-zA-Z0-9]+$/;
const KNOWN = new Set<string>(ENTITY_ORDER);

/**
 * Parses a BIDS file name (no folders). Returns null for a name that is not one: no
 * `sub-` first, an unknown entity key, a label with characters BIDS does not allow.
 */
export function parseBidsName(fileName: string): BidsName | null {
  const dot = fileName.indexOf('.');
  if (dot <= 0) return null;
  const stem = fileName.slice(0, dot);
  const extension = fileName.slice(dot);
  const parts = stem.split('_');
  const suffix = parts.pop()!;
  if (!/^[a-zA-Z0-9]+$/.test(suffix) || parts.length === 0) return null;
  const entities: Partial<Record<EntityKey, string>> = {};
  for (const part of parts) {
    const m = /^([a-z]+)-(.+)$/.exec(part);
    if (!m || !KNOWN.has(m[1]) || !LABEL.test(m[2]) || m[1] in entities) return null;
    entities[m[1] as EntityKey] = m[2];
  }
  if (parts[0].split('-')[0] !== 'sub' || !entities.sub) return null;
  return { entities: entities as BidsName['entities'], suffix, extension };
}

/** Entities → `sub-01_ses-1_…` in BIDS order (the inverse of parseBidsName without suffix). */
export function formatEntities(entities: Readonly<Partial<Record<EntityKey, string>>>): string {
  return ENTITY_ORDER.filter((k) => entities[k] !== undefined)
    .map((k) => `${k}-${entities[k]}`)
    .join('_');
}

/** `sub-01` or `01` → `01` (BIDS Apps accept both for --participant-label); null if not a label. */
export function normaliseLabel(value: string, prefix: 'sub' | 'ses'): string | null {
  const label = value.startsWith(`${prefix}-`) ? value.slice(prefix.length + 1) : value;
  return LABEL.test(label) ? label : null;
}
