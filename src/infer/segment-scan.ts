/**
 * One call for any dropped scan: decide full head or crop from the field of view (or
 * take the user's choice), then run the matching path. This is what the CLI runs and
 * what the studio's worker calls in place of `segmentVolume`:
 *
 *   const template = templateOnce(() => fetchTemplate(fetchBytes, templatesUrl));
 *   const result = await segmentScan(scan, { manifest, backend }, { template, path, sublabels, onProgress, signal });
 *
 * `result.labels`, `volumes` and `timingsMs` are what the worker already posts;
 * `result.path`, `labelInfo` (the colour table of `labels`), `warnings` and, on the full-head
 * path, `fullHead` (registration quality, ICV, per-side measures) are new.
 */
import { choosePath, parseTemplate, prepareTemplate, TEMPLATE_FILES } from '../core/fullhead';
import type { PreparedTemplate, ScanClassification, ScanPath, Template, TemplateBytes } from '../core/fullhead';
import type { LabelInfo } from '../core/labels';
import type { Grid } from '../core/resample';
import type { Volume } from '../core/volume';
import { checkSublabelModel, segmentFullHead, type FullHeadOptions, type FullHeadResult, type LocaliserFindings } from './fullhead';
import { localiseHippocampi, type LocaliserResult } from './localiser';
import { cropMaskWarnings } from './crop-plausibility';
import { thickSliceWarning } from './thick-slices';
import { segmentVolume, type LoadedModel, type SegmentResult, type VolumeSegmentResult } from './pipeline';

export interface SegmentScanOptions extends FullHeadOptions {
  /** Force a path (`--full-head` / `--crop`); by default the field of view decides. */
  readonly path?: ScanPath;
  /** The prepared registration template, asked for only when a full head comes in. */
  readonly template: () => PreparedTemplate | Promise<PreparedTemplate>;
  /**
   * The learned full-head localiser (models/localiser.*), asked for only when a full head
   * comes in; null when none is installed (the registration then places the crops alone).
   */
  readonly localiserModel?: () => LoadedModel | null | Promise<LoadedModel | null>;
}

/** The localiser's result as the full-head path takes it: only when it found a head and both hippocampi. */
export function localiserFindings(result: LocaliserResult): LocaliserFindings | null {
  const { left, right, brainCentroidMm } = result;
  if (!result.found || !left.centroidMm || !right.centroidMm || !brainCentroidMm) return null;
  return {
    left: { centroidMm: left.centroidMm, volumeMm3: left.volumeMm3, confidence: left.confidence },
    right: { centroidMm: right.centroidMm, volumeMm3: right.volumeMm3, confidence: right.confidence },
    brainMask: result.brainMask,
    brainVolumeMm3: result.brainVolumeMm3,
    brainCentroidMm,
  };
}

/** The localiser run on a scan (on `grid`, else its own), as the full-head path takes its findings. */
export async function findHippocampi(scan: Volume, localiser: LoadedModel, grid?: Grid): Promise<LocaliserFindings | null> {
  return localiserFindings(await localiseHippocampi(scan, localiser, grid));
}

interface Common {
  readonly classification: ScanClassification;
  /** The label table of `labels`: the model's own on the crop path. */
  readonly labelInfo: readonly LabelInfo[];
  readonly warnings: readonly string[];
}

export type SegmentScanResult =
  | (VolumeSegmentResult & Common & { readonly path: 'crop' })
  | (SegmentResult & Common & { readonly path: 'full-head'; readonly fullHead: FullHeadResult });

/**
 * Segments a scan on the path its field of view calls for. A crop goes through the crop
 * pipeline as it is (labels are the model's: 1 head, 2 body + tail, side unknown); a full
 * head through `segmentFullHead` (1 left, 2 right, or four sub-labels). A field of view
 * that is neither is refused with the reason (ScanKindError) unless a path is forced.
 */
export async function segmentScan(scan: Volume, model: LoadedModel, opts: SegmentScanOptions): Promise<SegmentScanResult> {
  const { path, classification } = choosePath(scan, opts.path);
  const thick = thickSliceWarning(scan.spacing);
  const scanWarnings = thick ? [thick] : [];
  if (path === 'crop') {
    const result = await segmentVolume(scan, model, opts);
    return { ...result, path, classification, labelInfo: model.manifest.labels, warnings: [...scanWarnings, ...cropMaskWarnings(result.volumes, result.connectedFraction)] };
  }
  if (opts.sublabels) checkSublabelModel(model.manifest);
  const template = await opts.template();
  const localiser = opts.localiserModel ? await opts.localiserModel() : null;
  const extra: string[] = [...scanWarnings];
  /** Why the cross-check's first look stood behind nothing, when it did not. */
  let unsure: string | undefined;
  let localiserMs: number | undefined;
  const localise = async (localiserModel: LoadedModel) => {
    const t0 = performance.now();
    const found = await localiseHippocampi(scan, localiserModel);
    localiserMs = performance.now() - t0;
    return found;
  };
  let role: Pick<FullHeadOptions, 'localiser' | 'crossCheck' | 'crossCheckAgain'> = {};
  const places = localiser?.manifest.localiserRole === 'placement';
  if (localiser && places) {
    opts.onProgress?.({ stage: 'localise' });
    const found = await localise(localiser);
    const findings = localiserFindings(found);
    if (findings) role = { localiser: findings };
    // The registration alone then places the crops, and the checks say how far to trust them.
    else extra.push(`The localiser could not stand behind what it found (${found.problems.join(' ')}): the hippocampi were placed by the template registration alone.`);
  } else if (localiser) {
    // A cross-check runs beside the registration and segmentation (on another thread where its
    // backend has one): only the checks at the end wait for it, and a registration that went
    // wrong (segmentFullHead restarts it from the brain found here, or lets it place the crops).
    const crossCheck = localise(localiser).then((found) => {
      const findings = localiserFindings(found);
      if (!findings) unsure = found.problems.join(' ');
      return findings;
    });
    // Awaited at the checks; a failure before them (e.g. a refused registration) must not go unhandled meanwhile.
    crossCheck.catch(() => {});
    // Run again when it disagrees with the registration or found nothing: then on a grid in the registration's frame (second-look.ts).
    role = { crossCheck, crossCheckAgain: (grid) => findHippocampi(scan, localiser, grid) };
  }
  const fullHead = await segmentFullHead(scan, model, template, { ...opts, ...role });
  // Said only when the second look found nothing either.
  if (unsure !== undefined && !fullHead.crossCheck) {
    extra.push(
      `The learned localiser that cross-checks the template registration could not stand behind what it found (${unsure}): ` +
        "the registration's placement of the hippocampi is unchecked.",
    );
  }
  const { labels, volumes, labelInfo } = fullHead;
  const warnings = [...extra, ...fullHead.warnings];
  // A placing localiser ran before the rest; a cross-check's time overlapped it (its own line, not in the total).
  const timingsMs =
    localiserMs === undefined
      ? fullHead.timingsMs
      : places
        ? { localiser: localiserMs, ...fullHead.timingsMs, total: fullHead.timingsMs.total + localiserMs }
        : { ...fullHead.timingsMs, 'localiser, beside the rest': localiserMs };
  return { labels, volumes, timingsMs, labelInfo, warnings, path, classification, fullHead: { ...fullHead, warnings } };
}

/** Reads the three template files through `fetchBytes` (the browser: URLs under `baseUrl`). */
export async function fetchTemplate(fetchBytes: (url: string) => Promise<Uint8Array>, baseUrl: string): Promise<Template> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const [t1, brain, hippocampus] = await Promise.all([TEMPLATE_FILES.t1, TEMPLATE_FILES.brain, TEMPLATE_FILES.hippocampus].map((f) => fetchBytes(base + f)));
  const bytes: TemplateBytes = { t1, brain, hippocampus };
  return parseTemplate(bytes);
}

/**
 * The template, read and prepared on first use and then shared (≈1 s of work per session).
 * A failed load is not kept: the next call tries again.
 */
export function templateOnce(load: () => Template | Promise<Template>): () => Promise<PreparedTemplate> {
  return preparedTemplateOnce(() => Promise.resolve().then(load).then(prepareTemplate));
}

/** A prepared template from `prepare` on first use, then shared; a failure is not kept (the next call tries again). */
export function preparedTemplateOnce(prepare: () => Promise<PreparedTemplate>): () => Promise<PreparedTemplate> {
  let prepared: Promise<PreparedTemplate> | undefined;
  return () => {
    if (!prepared) {
      const attempt = prepare();
      attempt.catch(() => {
        if (prepared === attempt) prepared = undefined;
      });
      prepared = attempt;
    }
    return prepared;
  };
}
