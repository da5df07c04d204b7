/**
 * What a segmentation report says, as data: the scan and its header facts, the model (protocol,
 * version), the quality checks and their warnings, the volumes, and three views through each
 * hippocampus. The studio and the CLI fill `ReportInput` from their own results; `pdf.ts` and
 * `html.ts` only lay this out.
 */
import type { IcvSource, ScanClassification } from '../core/fullhead';
import type { LabelInfo } from '../core/labels';
import { axisCodes } from '../core/orientation';
import type { LabelVolume, Volume } from '../core/volume';
import type { ModelManifest, Protocol } from '../infer/manifest';
import { sizeResponseNote } from '../infer/size-response';
import { greyWindow, hippocampusStructures, orthogonalViews, type SliceView } from './slices';
import { volumeRows, type VolumeSource } from './volume-rows';

export const NOT_A_MEDICAL_DEVICE =
  'Not a medical device. Seahorse is research software: these masks and volumes are not validated for diagnosis or treatment, and must be checked by a qualified person.';

/** The registration of a full head to the brain template, as the studio and the CLI report it. */
export interface ReportRegistration {
  readonly quality: 'good' | 'poor' | 'failed';
  readonly ncc: number;
  readonly brainNcc: number;
  readonly brainCoverage: number;
  readonly icvMm3: number;
  /** Where `icvMm3` comes from (default the registration): the localiser's coarse brain volume when it placed the crops after the registration failed. */
  readonly icvFrom?: IcvSource;
}

export interface ReportInput extends VolumeSource {
  /** The scan's file name as the user gave it. */
  readonly scanName: string;
  /** The scan as read (its own grid); `labels` lie on the same grid. */
  readonly scan: Volume;
  readonly labels: LabelVolume;
  readonly labelInfo: readonly LabelInfo[];
  readonly path: 'crop' | 'full-head';
  /** The field of view and what it was taken for. */
  readonly fieldOfView: Pick<ScanClassification, 'kind' | 'extentMm'>;
  readonly model: ModelManifest;
  /** The model's caveat (untrained or user model), when it has one. */
  readonly caveat: string | null;
  readonly backend: { readonly name: string; readonly reason: string } | null;
  readonly registration: ReportRegistration | null;
  /** Every warning the result carries, in the words the studio shows. */
  readonly warnings: readonly string[];
  /** e.g. `Seahorse 0.1.0 (studio)`. */
  readonly software: string;
  readonly createdAt: Date;
}

export interface ReportFigure {
  readonly structure: string;
  /** Null when the mask holds no voxel of the structure (nothing to show). */
  readonly views: readonly SliceView[] | null;
}

export interface Report {
  readonly title: string;
  readonly subtitle: string;
  readonly scan: readonly (readonly [string, string])[];
  readonly model: readonly (readonly [string, string])[];
  readonly qc: { readonly status: string; readonly lines: readonly string[]; readonly warnings: readonly string[] };
  readonly volumes: { readonly header: readonly string[]; readonly rows: readonly (readonly string[])[] };
  readonly figures: readonly ReportFigure[];
  readonly orientationNote: string;
  readonly disclaimer: string;
}

const PROTOCOL_NAMES: Readonly<Record<Protocol, string>> = {
  msd: 'MSD Task04 (Vanderbilt manual labels: hippocampus head, body + tail)',
  freesurfer: 'FreeSurfer aseg (labels 17 / 53: whole hippocampus)',
};

const FIELD_OF_VIEW_NAMES: Readonly<Record<ScanClassification['kind'], string>> = { 'full-head': 'whole head', crop: 'hippocampus crop', partial: 'part of the head' };

const VIEW_NAMES = { axial: 'Axial', coronal: 'Coronal', sagittal: 'Sagittal' } as const;
const VIEW_AXES = { axial: 'z', coronal: 'y', sagittal: 'x' } as const;

export function buildReport(input: ReportInput): Report {
  const { scan, model } = input;
  const rows = volumeRows(input);
  const withIcv = rows.some((r) => r.icvPercent !== undefined);
  const sizeNote = sizeResponseNote(model);
  const window = greyWindow(scan);
  const figures = hippocampusStructures(input.labelInfo, input.path).map((structure) => ({
    structure: structure.name,
    views: orthogonalViews(scan, input.labels, structure, window),
  }));
  return {
    title: 'Hippocampus segmentation report',
    subtitle: `${input.software} · made ${formatDate(input.createdAt)}`,
    scan: [
      ['File', input.scanName],
      ['Voxels', scan.dims.join(' × ')],
      ['Voxel size', `${scan.spacing.map((s) => fixed(s, 3)).join(' × ')} mm`],
      ['Orientation', `${axisCodes(scan.affine)} (voxel axes → world RAS+)`],
      ['Field of view', `${input.fieldOfView.extentMm.map((e) => e.toFixed(0)).join(' × ')} mm: ${FIELD_OF_VIEW_NAMES[input.fieldOfView.kind]}`],
      ['Path', input.path === 'full-head' ? 'full head (registered to the brain template, both hippocampi)' : 'hippocampus crop (segmented as it is; side unknown)'],
    ],
    model: [
      ['Model', `${model.name} (${model.id})`],
      ['Protocol', model.protocol ? PROTOCOL_NAMES[model.protocol] : 'not recorded in the model’s manifest'],
      ['Version', `${model.status}${model.sha256 ? `, ONNX sha256 ${model.sha256.slice(0, 16)}` : ''}`],
      ['Network', `${model.architecture}, input ${model.inputSize.join(' × ')} at ${model.spacingMm.join(' × ')} mm`],
      ...(input.caveat ? [['Caveat', input.caveat] as const] : []),
      ...(sizeNote ? [['Volumes', sizeNote] as const] : []),
      ...(input.backend ? [['Computed on', `${input.backend.name}: ${input.backend.reason}`] as const] : []),
    ],
    qc: qualityControl(input),
    volumes: {
      header: ['Structure', 'Voxels', 'Volume (mm³)', ...(withIcv ? ['% of ICV'] : [])],
      rows: rows.map((r) => [
        r.name,
        r.voxels.toLocaleString('en'),
        r.mm3.toLocaleString('en', { maximumFractionDigits: 0 }),
        ...(withIcv ? [r.icvPercent?.toFixed(3) ?? '—'] : []),
      ]),
    },
    figures,
    orientationNote:
      'Views through the centre of each mask, the mask outlined in its colour. Neurological convention: the patient’s left is on the image’s left; ' +
      'anterior is up in the axial view and on the left in the sagittal view; superior is up in the coronal and sagittal views. ' +
      `Each view is ${figures[0]?.views?.[0] ? `${(figures[0].views[0].image.width * figures[0].views[0].image.pixelMm).toFixed(0)} mm` : 'the field of view'} across at most.`,
    disclaimer: NOT_A_MEDICAL_DEVICE,
  };
}

/** The captions of a figure's views: name and slice position (RAS+ world mm). */
export function viewCaption(view: SliceView): string {
  return `${VIEW_NAMES[view.view]}, ${VIEW_AXES[view.view]} = ${view.positionMm.toFixed(1)} mm`;
}

/** The checks' verdict in one line, what they measured, and every warning. */
function qualityControl(input: ReportInput): Report['qc'] {
  const lines: string[] = [];
  const r = input.registration;
  if (r) {
    lines.push(
      `Registration to the brain template: ${r.quality} (similarity ${r.ncc.toFixed(2)} overall, ${r.brainNcc.toFixed(2)} inside the brain; ${(100 * r.brainCoverage).toFixed(0)}% of the brain in view)`,
    );
    const from = r.icvFrom === 'localiser' ? "the localiser's coarse brain volume: the registration failed" : 'estimate from the registration';
    lines.push(`Intracranial volume (${from}): ${(r.icvMm3 / 1e6).toFixed(2)} L`);
  }
  if (input.caveat) lines.push(input.caveat);
  const warnings = input.warnings;
  const untrusted = input.model.status !== 'trained' || r?.quality === 'poor';
  const status =
    warnings.length > 0 || untrusted
      ? `CHECK BEFORE USE: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}${input.model.status !== 'trained' ? `, ${input.model.status} model` : ''}`
      : 'No warnings: the checks found nothing wrong (this does not prove the masks right)';
  return { status, lines, warnings };
}

function formatDate(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function fixed(v: number, digits: number): string {
  return String(+v.toFixed(digits));
}
