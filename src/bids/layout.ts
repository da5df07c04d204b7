/**
 * Finds the T1-weighted scans of a BIDS dataset from its file list (paths relative to the
 * dataset root, `/`-separated): `sub-<label>/[ses-<label>/]anat/sub-<label>[_ses-<label>][_…]_T1w.nii[.gz]`.
 * Pure: the Node side lists the files (src/bids/fs-node.ts), the studio its dropped folder.
 */
import { parseBidsName, type BidsName } from './entities';

export interface T1wScan {
  /** Path relative to the dataset root, e.g. `sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz`. */
  readonly path: string;
  readonly subject: string;
  readonly session: string | null;
  readonly name: BidsName;
}

export interface ScanFilter {
  /** Participant labels without `sub-`; empty or absent: every participant. */
  readonly participants?: readonly string[];
  /** Session labels without `ses-`; empty or absent: every session. */
  readonly sessions?: readonly string[];
}

const T1W_EXTENSIONS = new Set(['.nii', '.nii.gz']);

/**
 * Every T1w image whose folder agrees with its name (`sub-X/[ses-Y/]anat/`), sorted by
 * subject, session, then path; derivative folders and `sourcedata` are not looked into.
 */
export function findT1wScans(paths: readonly string[], filter: ScanFilter = {}): T1wScan[] {
  const subjects = filter.participants?.length ? new Set(filter.participants) : null;
  const sessions = filter.sessions?.length ? new Set(filter.sessions) : null;
  const scans: T1wScan[] = [];
  for (const path of paths) {
    const parts = path.split('/');
    const fileName = parts[parts.length - 1];
    const name = parseBidsName(fileName);
    if (!name || name.suffix !== 'T1w' || !T1W_EXTENSIONS.has(name.extension)) continue;
    const { sub, ses } = name.entities;
    const expected = ses ? [`sub-${sub}`, `ses-${ses}`, 'anat', fileName] : [`sub-${sub}`, 'anat', fileName];
    if (parts.length !== expected.length || parts.some((p, i) => p !== expected[i])) continue;
    if (subjects && !subjects.has(sub)) continue;
    if (sessions && !(ses && sessions.has(ses))) continue;
    scans.push({ path, subject: sub, session: ses ?? null, name });
  }
  return scans.sort((a, b) => cmp(a.subject, b.subject) || cmp(a.session ?? '', b.session ?? '') || cmp(a.path, b.path));
}

/** The participant folders (`sub-*`) at the dataset root, as labels. */
export function participantLabels(paths: readonly string[]): string[] {
  const labels = new Set<string>();
  for (const p of paths) {
    const m = /^sub-([a-zA-Z0-9]+)\//.exec(p);
    if (m) labels.add(m[1]);
  }
  return [...labels].sort(cmp);
}

/**
 * Requested labels that name no participant (or session) of the dataset: BIDS Apps stop
 * on these rather than quietly doing less than asked.
 */
export function unknownLabels(requested: readonly string[] | undefined, present: Iterable<string>): string[] {
  const have = new Set(present);
  return (requested ?? []).filter((l) => !have.has(l));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
