/**
 * The scan behind "Try a sample scan": a full-head T1 shipped with the studio (public/samples/,
 * copied into dist/ by Vite), fetched from the page's own origin only when asked for.
 */
export const SAMPLE_SCAN = {
  file: 'brainchop_t1_crop.nii.gz',
  /** What the welcome card and the notice call it. */
  description: 'a full-head T1 (256³, 1 mm) from brainchop, MIT licence',
  licence: 'LICENSE_brainchop_MIT.txt',
} as const;

/** The sample's URL under the app's base (Vite's BASE_URL). */
export function sampleUrl(base: string, file: string = SAMPLE_SCAN.file): string {
  return `${base.endsWith('/') ? base : `${base}/`}samples/${file}`;
}
