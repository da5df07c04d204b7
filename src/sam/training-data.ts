/**
 * What SAM decoder fine-tuning trains on, shared by the CLI (`seahorse finetune --model sam`)
 * and the studio's fine-tune dock: the structure codes asked for, which of them the labels
 * hold, and which slices of a labelled volume to encode. Pure functions; the encoding and the
 * training loop are elsewhere (sam-volume.ts, finetune.ts).
 */
import type { SamFinetuneOptions } from './finetune';
import { ALL_PLANES, PLANES, type PlaneName, type TrainingAxis } from './slice-geometry';

/** Issue 17's acceptance structures (FreeSurfer aseg): hippocampus, amygdala, thalamus, putamen, caudate, pallidum; left, right. */
export const DEFAULT_SAM_STRUCTURES: readonly number[] = [17, 53, 18, 54, 10, 49, 12, 51, 11, 50, 13, 52];

/** Defaults (SAM fine-tuning practice, e.g. MedSAM: AdamW, lr 1e-4, weight decay 0.01; small here for 2 CPU cores). */
export const SAM_FINETUNE_DEFAULTS: Omit<SamFinetuneOptions, 'onStep' | 'signal'> = {
  steps: 100,
  batch: 2,
  lr: 1e-4,
  warmup: 10,
  weightDecay: 0.01,
  seed: 1,
  // 3-D box prompts are opt-in: with them (0.3) the real subjects' per-slice boxes lost 0.9 points (bench/RESULTS.md, issue 17).
  box3dFraction: 0,
  boxFraction: 0.75,
  jitter: 4,
  minPixels: 10,
};

/** Slices per scan, evenly spaced through the structures (the CLI's `--slices` default). */
export const SAM_SLICES_PER_SCAN = 24;

/** "17, 53,18" → [17, 53, 18]; refuses anything but positive integer codes, and duplicates. */
export function parseStructures(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter((s) => s !== '');
  if (parts.length === 0) throw new Error('give at least one label code to train on, e.g. 17,53');
  const codes = parts.map((s) => Number(s));
  const bad = parts.filter((_, i) => !Number.isInteger(codes[i]) || codes[i] <= 0);
  if (bad.length) throw new Error(`label codes must be positive whole numbers; “${bad.join(', ')}” ${bad.length === 1 ? 'is' : 'are'} not`);
  const dup = codes.filter((c, i) => codes.indexOf(c) !== i);
  if (dup.length) throw new Error(`label code ${dup[0]} is listed twice`);
  return codes;
}

/** The requested codes split into those some label volume holds and those none does (order kept). */
export function presentStructures(requested: readonly number[], present: ReadonlySet<number>): { present: number[]; missing: number[] } {
  return { present: requested.filter((c) => present.has(c)), missing: requested.filter((c) => !present.has(c)) };
}

/** Slices (of `sliceCount`) through any of the structures, `count` of them evenly spaced. */
export function chooseSlices(slice: (s: number) => ArrayLike<number>, sliceCount: number, structures: ReadonlySet<number>, count: number): number[] {
  const hit: number[] = [];
  for (let s = 0; s < sliceCount; s++) {
    const px = slice(s);
    for (let p = 0; p < px.length; p++) {
      if (structures.has(px[p])) {
        hit.push(s);
        break;
      }
    }
  }
  if (hit.length <= count) return hit;
  return Array.from({ length: count }, (_, i) => hit[Math.floor(((i + 0.5) * hit.length) / count)]);
}

/** The planes an `--axis` value trains on: one plane, or all three (`all`); null for anything else. */
export function trainingPlanes(axis: TrainingAxis | string): PlaneName[] | null {
  if (axis === ALL_PLANES) return [...PLANES];
  return (PLANES as readonly string[]).includes(axis) ? [axis as PlaneName] : null;
}

/** A training slice's place: the plane and the slice's index along it. */
export interface PlaneSlice {
  readonly plane: PlaneName;
  readonly slice: number;
}

/**
 * How many slices per scan each plane gets, from the CLI's `--slices`: one count for every plane
 * ("16"), or a count per plane ("coronal:16,sagittal:6,axial:6"; every plane trained on named,
 * no other), so that slices already encoded along one plane can be kept while fewer are added
 * along the others. Absent: `fallback` for every plane.
 */
export function slicesPerPlane(text: string | undefined, planes: readonly PlaneName[], fallback: number): Map<PlaneName, number> {
  const count = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`a slice count must be a positive whole number, got "${v}"`);
    return n;
  };
  if (text === undefined) return new Map(planes.map((p) => [p, fallback]));
  if (!text.includes(':')) {
    const n = count(text.trim());
    return new Map(planes.map((p) => [p, n]));
  }
  const out = new Map<PlaneName, number>();
  for (const part of text.split(',')) {
    const [name, n] = part.split(':').map((x) => x.trim());
    if (!planes.includes(name as PlaneName)) throw new Error(`--slices names ${name}, which is not among the planes trained on (${planes.join(', ')})`);
    if (out.has(name as PlaneName)) throw new Error(`--slices names ${name} twice`);
    out.set(name as PlaneName, count(n ?? ''));
  }
  const missing = planes.filter((p) => !out.has(p));
  if (missing.length) throw new Error(`--slices gives no count for ${missing.join(', ')}`);
  return new Map(planes.map((p) => [p, out.get(p)!]));
}

/**
 * `perPlane(plane)` slices of each plane (`chooseSlices` on that plane's slices), plane by plane
 * in the order given: every plane gets its own share, so the planes with the most slices through
 * the structures do not crowd out the others.
 */
export function chooseSlicesPerPlane(
  planes: readonly PlaneName[],
  sliceOf: (plane: PlaneName) => { readonly slice: (s: number) => ArrayLike<number>; readonly sliceCount: number },
  structures: ReadonlySet<number>,
  perPlane: ReadonlyMap<PlaneName, number>,
): PlaneSlice[] {
  return planes.flatMap((plane) => {
    const { slice, sliceCount } = sliceOf(plane);
    return chooseSlices(slice, sliceCount, structures, perPlane.get(plane)!).map((s) => ({ plane, slice: s }));
  });
}
