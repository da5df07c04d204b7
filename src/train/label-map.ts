/**
 * Label mappings: how the label codes of someone else's scans (FreeSurfer aseg, AAL, a binary
 * mask, MSD) become what our head/body models train and are scored on.
 *
 * A map sends each source code to a target: `bg`, `head`, `body` (the model's classes 0, 1, 2;
 * the numbers `0`, `1`, `2` mean the same) or `whole` (the whole hippocampus, for protocols
 * that do not split head from body). `*` sends every code not listed to one target; without
 * it, a code present in a scan and absent from the map is refused with a message naming it.
 *
 *     parseLabelMap('freesurfer')           // 17:whole,53:whole,*:bg
 *     parseLabelMap('0:bg,1:head,2:body')   // MSD as it is ('msd')
 *     parseLabelMap('17:whole,53:whole')    // refuses any other code present
 *
 * Target spaces. A map is either `classes` (only bg/head/body) or `whole` (only bg/whole);
 * mixing them is refused, since a voxel marked "whole" has no head/body answer to score.
 * A `whole` map trains a head/body model on the union of its head and body probabilities
 * (`targetGroups`: background = class 0, whole = classes 1…C−1): the soft Dice of the
 * two-group probabilities against the 0/1 target, so the data moves the hippocampus outline
 * and leaves the head/body boundary to the base model, which no whole-structure label can
 * correct. Scoring then uses the whole structure only (prediction > 0 against target > 0).
 */
import type { LabelVolume, Volume } from '../core/volume';
import type { ModelManifest, Protocol } from '../infer/manifest';

export type LabelTarget = 'bg' | 'head' | 'body' | 'whole';
export type TargetSpace = 'classes' | 'whole';

export interface LabelMap {
  /** Source code → target. */
  readonly codes: ReadonlyMap<number, LabelTarget>;
  /** Target of every code not in `codes`; `null`: such codes are refused. */
  readonly otherwise: LabelTarget | null;
  readonly space: TargetSpace;
  /** The map in the `code:target,…` syntax (presets expanded). */
  readonly text: string;
}

export class LabelMapError extends Error {
  override readonly name = 'LabelMapError';
}

/** Named maps for common protocols (README of ../shared/data, "Label conventions elsewhere"). */
export const LABEL_MAP_PRESETS: Readonly<Record<string, string>> = {
  /** MSD Task04 and our models: 1 head, 2 body + tail. */
  msd: '0:bg,1:head,2:body',
  /** FreeSurfer aseg / aparc+aseg: 17 left, 53 right hippocampus; everything else background. */
  freesurfer: '17:whole,53:whole,*:bg',
  /** AAL: 37 left, 38 right hippocampus. */
  aal: '37:whole,38:whole,*:bg',
  /** LPBA40: 165 left, 166 right hippocampus. */
  lpba40: '165:whole,166:whole,*:bg',
  /** Any binary or multi-label hippocampus mask: every non-zero code is hippocampus. */
  binary: '0:bg,*:whole',
};

const TARGET_NAMES: Readonly<Record<string, LabelTarget>> = { bg: 'bg', '0': 'bg', head: 'head', '1': 'head', body: 'body', '2': 'body', whole: 'whole' };

/** Model class of each target in a `classes` map; in a `whole` map, 0 and 1. */
const CLASS_OF: Readonly<Record<LabelTarget, number>> = { bg: 0, head: 1, body: 2, whole: 1 };

/** A map from a preset name or `code:target,…` (see the module comment). */
export function parseLabelMap(spec: string): LabelMap {
  const trimmed = spec.trim();
  const text = LABEL_MAP_PRESETS[trimmed.toLowerCase()] ?? trimmed;
  if (text === '') throw new LabelMapError(`an empty label map; give a preset (${Object.keys(LABEL_MAP_PRESETS).join(', ')}) or code:target pairs such as 17:whole,53:whole,*:bg`);
  const codes = new Map<number, LabelTarget>();
  let otherwise: LabelTarget | null = null;
  for (const entry of text.split(',')) {
    const m = /^\s*(\*|\d+)\s*:\s*(\w+)\s*$/.exec(entry);
    if (!m) throw new LabelMapError(`label map entry "${entry.trim()}" is not code:target (e.g. 17:whole, 1:head, *:bg)`);
    const target = TARGET_NAMES[m[2].toLowerCase()];
    if (!target) throw new LabelMapError(`label map entry "${entry.trim()}": the target must be bg, head, body or whole (or 0, 1, 2 for the model's classes)`);
    if (m[1] === '*') {
      if (otherwise !== null) throw new LabelMapError(`label map "${text}" has two * entries`);
      otherwise = target;
      continue;
    }
    const code = Number(m[1]);
    if (codes.has(code)) throw new LabelMapError(`label map "${text}" maps code ${code} twice`);
    codes.set(code, target);
  }
  const targets = [...codes.values(), ...(otherwise ? [otherwise] : [])];
  const whole = targets.includes('whole');
  if (whole && targets.some((t) => t === 'head' || t === 'body')) {
    throw new LabelMapError(`label map "${text}" mixes whole with head/body; a voxel labelled whole cannot be scored as head or body — use one or the other`);
  }
  if (!targets.some((t) => t !== 'bg')) throw new LabelMapError(`label map "${text}" marks no hippocampus: every code goes to background`);
  return { codes, otherwise, space: whole ? 'whole' : 'classes', text };
}

/** Classes the mapped labels use: 3 (bg, head, body) or 2 (bg, whole). */
export function targetClasses(map: LabelMap): number {
  return map.space === 'whole' ? 2 : 3;
}

/**
 * Applies the map to a label volume of any integer type (FreeSurfer codes exceed 255), giving
 * target classes 0…targetClasses−1 on the same grid. Refuses non-integer values and codes that
 * the map does not cover, naming them and their voxel counts.
 */
export function applyLabelMap(labels: Volume, map: LabelMap, id: string): LabelVolume {
  const data = new Uint8Array(labels.data.length);
  const lut = new Map<number, number>();
  for (const [code, t] of map.codes) lut.set(code, CLASS_OF[t]);
  const fallback = map.otherwise === null ? -1 : CLASS_OF[map.otherwise];
  const unmapped = new Map<number, number>();
  for (let p = 0; p < data.length; p++) {
    const v = labels.data[p];
    if (!Number.isInteger(v)) throw new LabelMapError(`${id}: the labels are not integers (voxel ${p} is ${v}); is this an image rather than a label volume?`);
    const c = lut.get(v) ?? fallback;
    if (c < 0) unmapped.set(v, (unmapped.get(v) ?? 0) + 1);
    else data[p] = c;
  }
  if (unmapped.size > 0) {
    const list = [...unmapped].sort((a, b) => a[0] - b[0]);
    const shown = list.slice(0, 8).map(([code, n]) => `${code} (${n.toLocaleString('en')} voxels)`).join(', ');
    const more = list.length > 8 ? ` and ${list.length - 8} more` : '';
    throw new LabelMapError(`${id}: label codes ${shown}${more} are not in the label map "${map.text}"; map them, or add *:bg to send every other code to background`);
  }
  return { dims: labels.dims, spacing: labels.spacing, affine: labels.affine, data };
}

/**
 * How the model's `modelClasses` output channels train against this map's targets: one group
 * of model classes per target class, whose softmax probabilities are summed. `null` when the
 * targets are the model's own classes (no grouping).
 */
export function targetGroups(map: LabelMap, modelClasses: number): number[][] | null {
  return classGroupsFor(map.space, modelClasses, map.text);
}

/** `targetGroups` for a target space alone (when the labels were mapped elsewhere). */
export function classGroupsFor(space: TargetSpace, modelClasses: number, what = `${space} labels`): number[][] | null {
  if (modelClasses < 2) throw new LabelMapError(`a segmentation model needs at least 2 classes, this one has ${modelClasses}`);
  if (space === 'classes') {
    if (modelClasses < 3) throw new LabelMapError(`label map "${what}" has head and body targets; the model has only ${modelClasses} classes`);
    return null;
  }
  return [[0], Array.from({ length: modelClasses - 1 }, (_, c) => c + 1)];
}

/** What the presets' codes are, for telling the user which mapping was applied. */
const PRESET_NAMES: Readonly<Record<string, { readonly title: string; readonly codes?: Readonly<Record<number, string>> }>> = {
  msd: { title: 'MSD Task04' },
  freesurfer: { title: 'FreeSurfer aseg', codes: { 17: 'left hippocampus', 53: 'right hippocampus' } },
  aal: { title: 'AAL', codes: { 37: 'left hippocampus', 38: 'right hippocampus' } },
  lpba40: { title: 'LPBA40', codes: { 165: 'left hippocampus', 166: 'right hippocampus' } },
  binary: { title: 'Binary mask' },
};

const TARGET_WORDS: Readonly<Record<LabelTarget, string>> = { bg: 'background', head: 'hippocampus head', body: 'hippocampus body + tail', whole: 'whole hippocampus' };

/**
 * One sentence on how a map turns codes into training targets, e.g. “FreeSurfer aseg: 17 → left
 * hippocampus, 53 → right hippocampus, every other code → background; trained and scored on the
 * whole structure (head + body as one)”.
 */
export function describeLabelMap(map: LabelMap): string {
  const preset = Object.keys(LABEL_MAP_PRESETS).find((name) => LABEL_MAP_PRESETS[name] === map.text);
  const known = preset ? PRESET_NAMES[preset] : undefined;
  const parts = [...map.codes].map(([code, target]) => `${code} → ${target === 'whole' && known?.codes?.[code] ? known.codes[code] : TARGET_WORDS[target]}`);
  if (map.otherwise) parts.push(`every ${map.codes.size > 0 ? 'other ' : ''}code → ${TARGET_WORDS[map.otherwise]}`);
  const how = map.space === 'whole' ? 'trained and scored on the whole structure (head + body as one)' : 'trained and scored on head and body + tail';
  return `${known ? `${known.title}: ` : ''}${parts.join(', ')}; ${how}`;
}

/** The codes each whole-structure preset marks as hippocampus (for suggesting a map). */
const PRESET_CODES: readonly (readonly [string, readonly number[]])[] = [
  ['freesurfer', [17, 53]],
  ['aal', [37, 38]],
  ['lpba40', [165, 166]],
];

/**
 * The preset that fits a label volume's codes, or null: MSD when every code is 0, 1 or 2,
 * else the one whole-structure preset with a hippocampus code present (one side is enough: a
 * crop around the left hippocampus holds only 17). Null when several fit: an AAL volume holds
 * 17 and 53 as well as 37 and 38 (AAL's Rolandic_Oper_L and Occipital_Inf_L), so codes alone
 * cannot tell it from an aseg.
 */
export function suggestLabelMap(codes: Iterable<number>): string | null {
  const present = new Set(codes);
  if ([...present].every((c) => c === 0 || c === 1 || c === 2)) return present.size > 1 ? 'msd' : null;
  const fitting = PRESET_CODES.filter(([, cs]) => cs.some((c) => present.has(c)));
  return fitting.length === 1 ? fitting[0][0] : null;
}

/**
 * One map that trains every given preset's pairs on the whole structure: their hippocampus
 * codes → whole, everything else → background (for a set that mixes head/body and
 * whole-structure labels). Null when a preset has no fixed codes (binary).
 */
export function combinedWholeMap(presets: Iterable<string>): string | null {
  const codes = new Set<number>();
  for (const preset of presets) {
    const text = LABEL_MAP_PRESETS[preset];
    if (!text) return null;
    const map = parseLabelMap(text);
    if (map.otherwise !== null && map.otherwise !== 'bg') return null;
    for (const [code, target] of map.codes) if (target !== 'bg') codes.add(code);
  }
  if (codes.size === 0) return null;
  return [...[...codes].sort((a, b) => a - b).map((c) => `${c}:whole`), '*:bg'].join(',');
}

/**
 * The protocol a model follows once fine-tuned through the label map `labelMapText` (an
 * adapter's `training.labelMap`): FreeSurfer's or MSD's when the map is that preset; none
 * Seahorse knows for any other map, so no protocol's norms refuse its masks; the base's when
 * the adapter recorded no map.
 */
export function adaptedProtocol(base: Protocol | undefined, labelMapText: unknown): Protocol | undefined {
  if (typeof labelMapText !== 'string') return base;
  if (labelMapText === LABEL_MAP_PRESETS.freesurfer) return 'freesurfer';
  if (labelMapText === LABEL_MAP_PRESETS.msd) return 'msd';
  return undefined;
}

/** A model's manifest once fine-tuned through `labelMapText`: the protocol `adaptedProtocol` says, none when it knows none. */
export function withAdaptedProtocol(manifest: ModelManifest, labelMapText: unknown): ModelManifest {
  const { protocol: _base, ...rest } = manifest;
  const protocol = adaptedProtocol(manifest.protocol, labelMapText);
  return protocol ? { ...rest, protocol } : rest;
}
