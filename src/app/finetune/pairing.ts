/**
 * Turning dropped files into (scan, labels) pairs for fine-tuning. A file is a label volume
 * when its name says so (`_seg`, `_label`, `_mask`, `aseg`, `dseg`, …) or it sits in a labels
 * folder (`labels/`, `labelsTr/`, `masks/`: the MSD and nnU-Net layouts); the user can flip
 * any file's role by hand. Scans and labels pair by name once the label marker, the folder and
 * the extension are taken away. Pure: no bytes are read here (the worker checks the contents).
 */

export type FileRole = 'image' | 'label';

export interface NamedFile {
  readonly name: string;
  /** Path inside a dropped folder, when known (e.g. `labelsTr/hippocampus_001.nii.gz`). */
  readonly path?: string;
}

export interface Pair<F extends NamedFile = NamedFile> {
  readonly key: string;
  readonly image: F;
  readonly label: F;
}

export interface Pairing<F extends NamedFile = NamedFile> {
  readonly pairs: Pair<F>[];
  /** Files that found no partner, with the reason. */
  readonly unpaired: { readonly file: F; readonly reason: string }[];
}

const VOLUME_EXTENSION = /(\.nii\.gz|\.nii|\.mgz|\.mgh|\.nrrd|\.gz)$/i;
/** A label marker as a separate word of the name (`case_seg`, `aseg`, `sub-01_dseg`, `case-label`). */
const LABEL_WORD = /(^|[_.\-\s])(labels?|seg|segmentation|mask|masks|aseg|dseg|gt|truth|manual)(?=$|[_.\-\s])/i;
/** Whole-name label files of FreeSurfer and friends. */
const LABEL_NAME = /^(aseg|aparc\+aseg|aparc\.a2009s\+aseg|wmparc|hippo.*labels?.*)$/i;
const LABEL_FOLDER = /(^|\/)(labels?(Tr|Ts|Va)?|masks?|segmentations?|seg|gt)\//i;
const IMAGE_FOLDER = /(^|\/)(images?(Tr|Ts|Va)?|imgs?|scans?)\//i;

function stem(name: string): string {
  return name.replace(VOLUME_EXTENSION, '');
}

/** Whether a file is a label volume by its name or folder (the default role). */
export function guessRole(file: NamedFile): FileRole {
  const path = file.path ?? file.name;
  if (LABEL_FOLDER.test(path)) return 'label';
  if (IMAGE_FOLDER.test(path)) return 'image';
  const s = stem(file.name);
  return LABEL_NAME.test(s) || LABEL_WORD.test(s) ? 'label' : 'image';
}

/** The name both members of a pair share: the stem without label or image markers. */
export function pairKey(file: NamedFile, role: FileRole): string {
  let s = stem(file.name);
  if (role === 'label') s = s.replace(new RegExp(LABEL_WORD.source, 'gi'), '');
  else s = s.replace(/(^|[_.\-\s])(t1w?|image|img|scan)(?=$|[_.\-\s])/gi, '');
  s = s.replace(/[_.\-\s]+$/, '').replace(/^[_.\-\s]+/, '');
  // A folder of its own per case (`sub-01/T1.nii.gz` + `sub-01/aseg.mgz`) pairs by folder.
  const folder = (file.path ?? '').split('/').slice(0, -1).filter((p) => !LABEL_FOLDER.test(`${p}/`) && !IMAGE_FOLDER.test(`${p}/`));
  const key = s.toLowerCase();
  return key || folder.at(-1)?.toLowerCase() || stem(file.name).toLowerCase();
}

/**
 * Pairs files by key. `roles` overrides the guessed role of a file (by object identity).
 * A key with several scans or several label files is ambiguous and left unpaired.
 */
export function pairFiles<F extends NamedFile>(files: readonly F[], roles: ReadonlyMap<F, FileRole> = new Map()): Pairing<F> {
  const byKey = new Map<string, { images: F[]; labels: F[] }>();
  for (const f of files) {
    const role = roles.get(f) ?? guessRole(f);
    const key = pairKey(f, role);
    const slot = byKey.get(key) ?? { images: [], labels: [] };
    (role === 'label' ? slot.labels : slot.images).push(f);
    byKey.set(key, slot);
  }
  const pairs: Pair<F>[] = [];
  const unpaired: { file: F; reason: string }[] = [];
  for (const [key, { images, labels }] of byKey) {
    if (images.length === 1 && labels.length === 1) {
      pairs.push({ key, image: images[0], label: labels[0] });
      continue;
    }
    if (images.length > 1 || labels.length > 1) {
      for (const file of [...images, ...labels]) unpaired.push({ file, reason: `${images.length} scans and ${labels.length} label files share the name “${key}”; mark which is which` });
    } else if (images.length === 1) unpaired.push({ file: images[0], reason: 'no label file with a matching name (e.g. name_seg.nii.gz)' });
    else unpaired.push({ file: labels[0], reason: 'no scan with a matching name' });
  }
  pairs.sort((a, b) => a.key.localeCompare(b.key));
  return { pairs, unpaired };
}

/**
 * Which pairs validate: the explicitly chosen ones, or (`auto`) every fifth pair, at least one
 * and never all (training keeps one pair at least); none when there is only one pair.
 */
export function validationKeys(keys: readonly string[], chosen: ReadonlySet<string> | 'auto'): Set<string> {
  if (chosen !== 'auto') return new Set(keys.filter((k) => chosen.has(k)));
  if (keys.length < 2) return new Set();
  const count = Math.max(1, Math.floor(keys.length / AUTO_HOLDOUT_EVERY));
  return new Set(keys.slice(keys.length - count));
}

/** The automatic hold-out keeps one pair in this many for validation. */
export const AUTO_HOLDOUT_EVERY = 5;
