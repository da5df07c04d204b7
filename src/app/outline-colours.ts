import { OUTLINE_BRAIN, OUTLINE_HIPPOCAMPUS } from '../core/fullhead/outline';
import type { LabelInfo } from '../core/labels';

/**
 * The template outline's colours: Okabe–Ito yellow for the brain and reddish purple for
 * AAL's hippocampi, apart from every mask colour (orange, sky blue, vermillion, blue) and
 * from the red crosshair.
 */
export const OUTLINE_LABELS: readonly LabelInfo[] = [
  { value: OUTLINE_BRAIN, name: 'template brain outline', rgb: [240, 228, 66] },
  { value: OUTLINE_HIPPOCAMPUS, name: 'template hippocampus outline', rgb: [204, 121, 167] },
];
