import { readVolume, type ReadOptions } from '../io';
import { voxelVolumeMm3 } from '../measure';
import type { LabelVolume, Volume } from '../volume';
import { FRACTION_SCALE } from './template-build';

/**
 * The MNI-space template every full-head scan is registered to: Colin27 (`ch2`) at
 * 2 mm, its brain as a 0–255 fraction on the same grid, and AAL's hippocampi at 1 mm
 * (1 left, 2 right). Shipped in `models/templates/` (BSD-3-Clause, see LICENSE there).
 */
export interface Template {
  readonly t1: Volume;
  /** Fraction of each voxel inside the brain, × 255, on the t1 grid. */
  readonly brain: Volume<Uint8Array>;
  readonly hippocampus: LabelVolume;
}

/** File names under `models/templates/`. */
export const TEMPLATE_FILES = {
  t1: 'ch2_2mm.nii.gz',
  brain: 'ch2_brain_2mm.nii.gz',
  hippocampus: 'aal_hippocampus_1mm.nii.gz',
} as const;

export type TemplateBytes = Readonly<Record<keyof typeof TEMPLATE_FILES, Uint8Array>>;

/**
 * Parses the three template files (bytes from disk or fetch) and checks they fit together.
 * `options` as for `readVolume` (Node passes its native gunzip).
 */
export function parseTemplate(bytes: TemplateBytes, options: ReadOptions = {}): Template {
  const t1 = readVolume(bytes.t1, TEMPLATE_FILES.t1, options);
  const brain = readVolume(bytes.brain, TEMPLATE_FILES.brain, options);
  const hippocampus = readVolume(bytes.hippocampus, TEMPLATE_FILES.hippocampus, options);
  if (!(brain.data instanceof Uint8Array) || !(hippocampus.data instanceof Uint8Array)) {
    throw new Error('template masks must be uint8');
  }
  if (brain.dims.some((d, a) => d !== t1.dims[a]) || brain.affine.some((v, n) => v !== t1.affine[n])) {
    throw new Error('template brain mask is not on the template T1 grid');
  }
  return { t1, brain: brain as Volume<Uint8Array>, hippocampus: hippocampus as LabelVolume };
}

/** The template's brain volume, mm³ (fractions summed × voxel volume). */
export function templateBrainMm3(template: Template): number {
  let sum = 0;
  for (let n = 0; n < template.brain.data.length; n++) sum += template.brain.data[n];
  return (sum / FRACTION_SCALE) * voxelVolumeMm3(template.brain.affine);
}
