/**
 * How a model's volumes follow the true size of the hippocampus, as its manifest records it
 * (`metrics.sizeResponse`, written by `npm run bench -- size-response --write-manifest`), and the
 * sentence the studio's Model card and the report give when differences in size are under-stated.
 */
import { isRecord, type ModelManifest } from './manifest';

/** How the model's volumes follow the true size (`metrics.sizeResponse`, `npm run bench -- size-response --write-manifest`). */
export interface SizeResponse {
  /** Slope of log(masks' volume) on log(true volume) within a person: 1 when the masks follow the true size. */
  readonly exponent: number;
  readonly subjects: number;
}

/** The measured size response, or null when the manifest has none. */
export function sizeResponse(manifest: ModelManifest): SizeResponse | null {
  const r = manifest.metrics?.sizeResponse;
  if (!isRecord(r) || typeof r.exponent !== 'number' || !Number.isFinite(r.exponent)) return null;
  return { exponent: r.exponent, subjects: isRecord(r.perSubject) ? Object.keys(r.perSubject).length : 0 };
}

/** Below this exponent the Model card says that size differences are under-stated (at 0.9, a 35 % loss reads as 32 %). */
export const SIZE_EXPONENT_SAID_BELOW = 0.9;

/** Whether the card should say that size differences are under-stated. */
export const understatesSize = (response: SizeResponse): boolean => response.exponent < SIZE_EXPONENT_SAID_BELOW;

/** The shrinkage the Model card gives as its example: a hippocampus 35 % smaller, as in marked atrophy. */
export const EXAMPLE_SHRINKAGE = 0.35;

/** How much smaller such a hippocampus reads, as a fraction (e.g. 0.24), at the measured exponent. */
export function readShrinkage(response: SizeResponse, shrinkage = EXAMPLE_SHRINKAGE): number {
  return 1 - (1 - shrinkage) ** response.exponent;
}

/** The sentence for the Model card and the report, or null when the model follows size (or nothing was measured). */
export function sizeResponseNote(manifest: ModelManifest): string | null {
  const r = sizeResponse(manifest);
  if (!r || !understatesSize(r)) return null;
  return (
    `Differences in size are under-stated: a hippocampus ${Math.round(100 * EXAMPLE_SHRINKAGE)} % smaller than the same person's reads about ` +
    `${Math.round(100 * readShrinkage(r))} % smaller (the masks' volume grows as the true volume to the power ${r.exponent.toFixed(2)}, measured on ${r.subjects} real people's scans with their hippocampi shrunk and grown in place).`
  );
}
