/**
 * BIDS-Derivatives naming and metadata for Seahorse's outputs (BIDS 1.9, "Derivatives":
 * "Common data types and metadata", "Imaging data types" → discrete segmentations).
 *
 *   <out>/dataset_description.json                       DatasetType "derivative", GeneratedBy
 *   <out>/desc-hippocampus_dseg.tsv                      the label table (index, name)
 *   <out>/sub-X/[ses-Y/]anat/<stem>_space-T1w_desc-hippocampus_dseg.nii.gz   labels on the T1w grid
 *   <out>/sub-X/[ses-Y/]anat/<stem>_space-T1w_desc-hippocampus_dseg.json     model, version, protocol, QC
 *   <out>/sub-X/[ses-Y/]anat/<stem>_space-T1w_desc-hippocampus_volumes.tsv   one row per label
 *   <out>/sub-X/figures/<stem>_desc-hippocampus_mosaic.png                   QC mosaic (.bidsignore'd)
 *   <out>/logs/<stem>_error.json                                             a scan that failed
 *
 * `<stem>` is the source's entities (sub, ses, acq, run, …), so two T1w runs of one session
 * keep two sets of outputs.
 */
import { formatEntities, type EntityKey } from './entities';
import type { T1wScan } from './layout';

export const DESC = 'hippocampus';
/** The labels are on the source T1w's own grid and affine. */
export const SPACE = 'T1w';

export interface DerivativePaths {
  readonly dseg: string;
  readonly sidecar: string;
  readonly volumes: string;
  readonly mosaic: string;
  readonly error: string;
}

/** The source's entities without those a derivative sets itself. */
function sourceEntities(scan: T1wScan): Partial<Record<EntityKey, string>> {
  const { space: _s, desc: _d, ...rest } = scan.name.entities;
  return rest;
}

/** Where one scan's outputs go, relative to the output folder (`/`-separated). */
export function derivativePaths(scan: T1wScan): DerivativePaths {
  const stem = formatEntities(sourceEntities(scan));
  const dir = scan.session ? `sub-${scan.subject}/ses-${scan.session}/anat` : `sub-${scan.subject}/anat`;
  const base = `${dir}/${formatEntities({ ...sourceEntities(scan), space: SPACE, desc: DESC })}`;
  return {
    dseg: `${base}_dseg.nii.gz`,
    sidecar: `${base}_dseg.json`,
    volumes: `${base}_volumes.tsv`,
    mosaic: `sub-${scan.subject}/figures/${stem}_desc-${DESC}_mosaic.png`,
    error: `logs/${stem}_error.json`,
  };
}

/** Folders BIDS validators should not read as data (`.bidsignore`, gitignore syntax). */
export const BIDS_IGNORE = ['logs/', 'figures/', 'qc_report.html', 'hippocampus_volumes.tsv', 'hippocampus_volumes.json'].join('\n') + '\n';

/** A fine-tuned adapter (seahorse finetune) merged into the model for a run. */
export interface AdapterIdentity {
  /** The file's name (not its folder: outputs do not carry the user's paths). */
  readonly file: string;
  /** PEFT method (lorapt, hyps, lora, …). */
  readonly method: string;
  /** sha256 of the adapter file: what tells two adapters apart. */
  readonly sha256: string;
  /** The fingerprint of the base weights it was trained on (src/peft/fingerprint.ts), checked before the run. */
  readonly baseFingerprint?: string;
  /** Training steps recorded in the adapter, when it says. */
  readonly steps?: number | null;
}

export interface ModelIdentity {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  /** sha256 of the base model's ONNX file (an adapter merged into it is identified by its own file's sha256 below). */
  readonly sha256: string | null;
  readonly protocol: string | null;
  readonly adapter: AdapterIdentity | null;
}

/**
 * dataset_description.json of the derivative dataset (BIDS: DatasetType, GeneratedBy,
 * SourceDatasets). The sidecars name their sources as BIDS URIs `bids:raw:<path>`; BIDS
 * resolves the dataset name `raw` through DatasetLinks, so `rawLink` is where the raw dataset
 * is (a path relative to the derivative's root, e.g. `../..` for <bids_dir>/derivatives/seahorse).
 */
export function datasetDescription(opts: { version: string; model: ModelIdentity; sourceName?: string; rawLink?: string; bidsVersion?: string }) {
  return {
    Name: `Seahorse hippocampus segmentation${opts.sourceName ? ` of ${opts.sourceName}` : ''}`,
    BIDSVersion: opts.bidsVersion ?? '1.9.0',
    DatasetType: 'derivative',
    GeneratedBy: [
      {
        Name: 'seahorse',
        Version: opts.version,
        Description: `Hippocampus segmentation with model ${opts.model.id}${opts.model.adapter ? ` + adapter ${opts.model.adapter.file} (${opts.model.adapter.method})` : ''}`,
      },
    ],
    SourceDatasets: [{ URL: 'bids:raw:' }],
    ...(opts.rawLink !== undefined ? { DatasetLinks: { raw: opts.rawLink } } : {}),
    Seahorse: { Model: opts.model },
  };
}

/** The same model, adapter and protocol? (A derivative folder holds one configuration.) */
export function sameModel(a: ModelIdentity, b: ModelIdentity): boolean {
  return a.id === b.id && a.sha256 === b.sha256 && a.protocol === b.protocol && (a.adapter?.sha256 ?? null) === (b.adapter?.sha256 ?? null);
}
