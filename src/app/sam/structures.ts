/**
 * Structures the prompt tool offers by name, with FreeSurfer's aseg codes and colours
 * (FreeSurferColorLUT.txt), so labels made here read like an aseg. Any other code and name can be typed.
 */
import type { LabelInfo } from '../../core/labels';

export const SAM_STRUCTURES: readonly LabelInfo[] = [
  { value: 17, name: 'Left-Hippocampus', rgb: [220, 216, 20] },
  { value: 53, name: 'Right-Hippocampus', rgb: [220, 216, 20] },
  { value: 18, name: 'Left-Amygdala', rgb: [103, 255, 255] },
  { value: 54, name: 'Right-Amygdala', rgb: [103, 255, 255] },
  { value: 10, name: 'Left-Thalamus', rgb: [0, 118, 14] },
  { value: 49, name: 'Right-Thalamus', rgb: [0, 118, 14] },
  { value: 11, name: 'Left-Caudate', rgb: [122, 186, 220] },
  { value: 50, name: 'Right-Caudate', rgb: [122, 186, 220] },
  { value: 12, name: 'Left-Putamen', rgb: [236, 13, 176] },
  { value: 51, name: 'Right-Putamen', rgb: [236, 13, 176] },
  { value: 13, name: 'Left-Pallidum', rgb: [12, 48, 255] },
  { value: 52, name: 'Right-Pallidum', rgb: [13, 48, 255] },
];

/** The value the unaccepted mask is drawn with (never a user label: those are 1–254). */
export const PREVIEW_VALUE = 255;
export const PREVIEW_COLOUR: readonly [number, number, number] = [255, 64, 64];

/** A colour for a typed label without one (Okabe–Ito, by value). */
const PALETTE: readonly (readonly [number, number, number])[] = [
  [230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66], [0, 114, 178], [213, 94, 0], [204, 121, 167],
];

export function structureFor(value: number, name?: string): LabelInfo {
  const known = SAM_STRUCTURES.find((s) => s.value === value);
  if (known && !name) return known;
  const rgb = (known?.rgb ?? PALETTE[value % PALETTE.length]) as [number, number, number];
  return { value, name: name?.trim() || known?.name || `label ${value}`, rgb };
}
