/**
 * One scan's result as the BIDS App records it: measured volumes, QC, the model that ran.
 * The participant level writes it into the dseg sidecar; the group level and the studio's
 * batch table read it back, so the CLI and the studio report the same numbers.
 */
import type { SegmentScanResult } from '../infer/segment-scan';
import type { ModelIdentity } from './derivatives';

/** Per-scan QC flags (machine-readable; the sentences are in `warnings`). */
export type ScanFlag =
  /** Registration to the template was poor: check the outline. */
  | 'registration_poor'
  /** The pipeline warned about a mask (reaches the box edge, empty side, fragmented, …). */
  | 'mask_warning'
  /** One side's mask is empty. */
  | 'empty_side'
  /** Segmented as a crop: the side of the hippocampus is unknown, left/right are n/a. */
  | 'crop_side_unknown'
  /** The model is not a trained one (a test fixture or an unknown user model). */
  | 'model_not_trained';

export interface LabelVolume {
  readonly index: number;
  readonly name: string;
  readonly voxels: number;
  readonly mm3: number;
  /** mm³ ÷ ICV estimate; null on the crop path (no ICV). */
  readonly icvFraction: number | null;
}

export interface ScanMeasures {
  readonly path: 'full-head' | 'crop';
  readonly labels: readonly LabelVolume[];
  /** Whole hippocampus per side, mm³; null when the side is unknown (crop path). */
  readonly leftMm3: number | null;
  readonly rightMm3: number | null;
  /** All hippocampus labels together, mm³. */
  readonly totalMm3: number;
  /** Intracranial-volume estimate (registration to the template), mm³; null on the crop path. */
  readonly icvMm3: number | null;
  readonly registration: {
    readonly quality: 'good' | 'poor' | 'failed';
    readonly ncc: number;
    readonly brainNcc: number;
    readonly brainCoverage: number;
  } | null;
  readonly warnings: readonly string[];
  readonly flags: readonly ScanFlag[];
  readonly timingsMs: Readonly<Record<string, number>>;
}

/**
 * What one segmentation reports, in the shape both sides have: the studio worker's `result`
 * reply carries exactly these fields, and `reportOf` takes them from a Node segmentScan
 * result. One `scanMeasures` over it is what keeps the studio's batch table and the CLI's
 * group table the same.
 */
export interface SegmentationReport {
  readonly path: 'full-head' | 'crop';
  readonly volumes: readonly { readonly value: number; readonly name: string; readonly voxels: number; readonly mm3: number; readonly icvFraction?: number }[];
  readonly warnings: readonly string[];
  readonly timingsMs: Readonly<Record<string, number>>;
  /** Full head only. */
  readonly registration?: { readonly quality: 'good' | 'poor' | 'failed'; readonly ncc: number; readonly brainNcc: number; readonly brainCoverage: number; readonly icvMm3: number };
  /** Full head only: left then right, whole hippocampus each. */
  readonly hippocampi?: readonly { readonly side: 'left' | 'right'; readonly voxels: number; readonly mm3: number }[];
}

export function reportOf(result: SegmentScanResult): SegmentationReport {
  const { path, volumes, warnings, timingsMs } = result;
  if (result.path === 'crop') return { path, volumes, warnings, timingsMs };
  const loc = result.fullHead.localisation;
  return {
    path,
    volumes,
    warnings,
    timingsMs,
    // The ICV the volumes' fractions use (the localiser's coarse brain volume after a failed registration).
    registration: { quality: loc.quality, ncc: loc.ncc, brainNcc: loc.brainNcc, brainCoverage: loc.brainCoverage, icvMm3: result.fullHead.icvMm3 },
    hippocampi: result.fullHead.hippocampi,
  };
}

/** The measures of one segmentation (the model's status decides `model_not_trained`). */
export function scanMeasures(report: SegmentationReport, modelStatus: string): ScanMeasures {
  const flags: ScanFlag[] = [];
  if (modelStatus !== 'trained') flags.push('model_not_trained');
  if (report.warnings.length > 0) flags.push('mask_warning');
  const totalMm3 = report.volumes.reduce((s, v) => s + v.mm3, 0);
  const common = { warnings: report.warnings, timingsMs: report.timingsMs, totalMm3 };
  const reg = report.registration;
  const sides = report.hippocampi;
  if (report.path === 'crop' || !reg || !sides || sides.length !== 2) {
    flags.unshift('crop_side_unknown');
    return {
      ...common,
      path: 'crop',
      labels: report.volumes.map((v) => ({ index: v.value, name: v.name, voxels: v.voxels, mm3: v.mm3, icvFraction: null })),
      leftMm3: null,
      rightMm3: null,
      icvMm3: null,
      registration: null,
      flags,
    };
  }
  if (reg.quality !== 'good') flags.unshift('registration_poor');
  if (sides.some((h) => h.voxels === 0)) flags.push('empty_side');
  return {
    ...common,
    path: 'full-head',
    labels: report.volumes.map((v) => ({ index: v.value, name: v.name, voxels: v.voxels, mm3: v.mm3, icvFraction: v.icvFraction ?? null })),
    leftMm3: sides[0].mm3,
    rightMm3: sides[1].mm3,
    icvMm3: reg.icvMm3,
    registration: { quality: reg.quality, ncc: reg.ncc, brainNcc: reg.brainNcc, brainCoverage: reg.brainCoverage },
    flags,
  };
}

/** The dseg sidecar: BIDS fields first, then Seahorse's (model, version, protocol, QC, volumes). */
export function dsegSidecar(opts: { source: string; version: string; model: ModelIdentity; measures: ScanMeasures }) {
  const { measures: m } = opts;
  return {
    Description: `Hippocampus segmentation by Seahorse (${m.path === 'full-head' ? '1 left, 2 right hippocampus' : 'the model’s own labels; side unknown'})`,
    Sources: [`bids:raw:${opts.source}`],
    SpatialReference: `bids:raw:${opts.source}`,
    Manual: false,
    SeahorseVersion: opts.version,
    Model: opts.model,
    Protocol: opts.model.protocol,
    Path: m.path,
    Volumes: { LeftMm3: m.leftMm3, RightMm3: m.rightMm3, TotalMm3: m.totalMm3, ICVMm3: m.icvMm3, Labels: m.labels },
    QC: { Flags: m.flags, Warnings: m.warnings, Registration: m.registration },
    TimingsMs: m.timingsMs,
  };
}

export type DsegSidecar = ReturnType<typeof dsegSidecar>;

/** The measures back from a sidecar written by `dsegSidecar` (the group level reads these). */
export function measuresFromSidecar(json: unknown, what: string): { measures: ScanMeasures; model: ModelIdentity; version: string } {
  const s = json as Partial<DsegSidecar>;
  if (!s || typeof s !== 'object' || !s.Volumes || !s.QC || !s.Model || (s.Path !== 'full-head' && s.Path !== 'crop')) {
    throw new Error(`${what} is not a Seahorse dseg sidecar (no Path, Volumes, QC or Model)`);
  }
  const v = s.Volumes;
  return {
    measures: {
      path: s.Path,
      labels: v.Labels,
      leftMm3: v.LeftMm3,
      rightMm3: v.RightMm3,
      totalMm3: v.TotalMm3,
      icvMm3: v.ICVMm3,
      registration: s.QC.Registration,
      warnings: s.QC.Warnings,
      flags: s.QC.Flags,
      timingsMs: s.TimingsMs ?? {},
    },
    model: s.Model,
    version: s.SeahorseVersion ?? 'unknown',
  };
}

/** The per-scan volumes TSV: one row per label. */
export const VOLUME_COLUMNS = ['index', 'name', 'voxels', 'volume_mm3', 'icv_fraction'] as const;
export function volumeRows(m: ScanMeasures) {
  return m.labels.map((l) => ({ index: l.index, name: l.name, voxels: l.voxels, volume_mm3: l.mm3, icv_fraction: l.icvFraction }));
}
