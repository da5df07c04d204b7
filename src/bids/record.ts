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

/** The measures of one segmentScan result (the model's status decides `model_not_trained`). */
export function scanMeasures(result: SegmentScanResult, modelStatus: string): ScanMeasures {
  const flags: ScanFlag[] = [];
  if (modelStatus !== 'trained') flags.push('model_not_trained');
  if (result.warnings.length > 0) flags.push('mask_warning');
  const totalMm3 = result.volumes.reduce((s, v) => s + v.mm3, 0);
  if (result.path === 'crop') {
    flags.unshift('crop_side_unknown');
    return {
      path: 'crop',
      labels: result.volumes.map((v) => ({ index: v.value, name: v.name, voxels: v.voxels, mm3: v.mm3, icvFraction: null })),
      leftMm3: null,
      rightMm3: null,
      totalMm3,
      icvMm3: null,
      registration: null,
      warnings: result.warnings,
      flags,
      timingsMs: result.timingsMs,
    };
  }
  const { localisation: loc, hippocampi } = result.fullHead;
  if (loc.quality !== 'good') flags.unshift('registration_poor');
  if (hippocampi.some((h) => h.voxels === 0)) flags.push('empty_side');
  return {
    path: 'full-head',
    labels: result.fullHead.volumes.map((v) => ({ index: v.value, name: v.name, voxels: v.voxels, mm3: v.mm3, icvFraction: v.icvFraction })),
    leftMm3: hippocampi[0].mm3,
    rightMm3: hippocampi[1].mm3,
    totalMm3,
    icvMm3: loc.icvMm3,
    registration: { quality: loc.quality, ncc: loc.ncc, brainNcc: loc.brainNcc, brainCoverage: loc.brainCoverage },
    warnings: result.warnings,
    flags,
    timingsMs: result.timingsMs,
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
