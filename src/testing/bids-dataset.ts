/**
 * A tiny BIDS dataset made at test time from the shared data (never committed): full-head
 * T1s of three participants, one with a session, and one participant whose T1w is a broken
 * file (the failing-subject case).
 *
 *   sub-01/anat/sub-01_T1w.nii.gz             brainchop's sample head (LIA, uint8)
 *   sub-02/ses-01/anat/sub-02_ses-01_T1w.nii.gz   Colin27 (ch2, MNI space)
 *   sub-03/anat/sub-03_T1w.nii.gz             FreeSurfer's bert, norm.mgz converted to NIfTI
 *   sub-04/anat/sub-04_T1w.nii.gz             truncated gzip: must fail, alone
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readVolume, writeNifti } from '../core/io';
import { dataDir } from './shared';

export const BIDS_SOURCES = {
  '01': join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz'),
  '02': join(dataDir, 'templates', 'ch2.nii.gz'),
  '03': join(dataDir, 'fullhead_labelled', 'bert', 'norm.mgz'),
} as const;

export const PARTICIPANTS_TSV = 'participant_id\tage\tsex\tdiagnosis\nsub-01\t71\tF\tCN\nsub-02\t27\tM\tCN\nsub-03\t45\tM\tAD\nsub-04\t80\tF\tAD\n';

function put(root: string, rel: string, data: string | Uint8Array): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), data);
}

/** Writes the dataset under `root`; `subjects` picks which of 01–04 to include. */
export function makeBidsDataset(root: string, subjects: readonly ('01' | '02' | '03' | '04')[] = ['01', '02', '03', '04']): void {
  put(root, 'dataset_description.json', JSON.stringify({ Name: 'seahorse test cohort', BIDSVersion: '1.9.0', DatasetType: 'raw' }));
  put(root, 'participants.tsv', PARTICIPANTS_TSV.split('\n').filter((l, i) => i === 0 || subjects.some((s) => l.startsWith(`sub-${s}\t`))).join('\n') + '\n');
  if (subjects.includes('01')) put(root, 'sub-01/anat/sub-01_T1w.nii.gz', readFileSync(BIDS_SOURCES['01']));
  if (subjects.includes('02')) put(root, 'sub-02/ses-01/anat/sub-02_ses-01_T1w.nii.gz', readFileSync(BIDS_SOURCES['02']));
  if (subjects.includes('03')) {
    const mgz = readVolume(new Uint8Array(readFileSync(BIDS_SOURCES['03'])), 'norm.mgz');
    put(root, 'sub-03/anat/sub-03_T1w.nii.gz', writeNifti(mgz, { gzip: true }));
  }
  if (subjects.includes('04')) put(root, 'sub-04/anat/sub-04_T1w.nii.gz', readFileSync(BIDS_SOURCES['01']).subarray(0, 5000));
  // A sidecar and a non-T1w image that discovery must pass over.
  if (subjects.includes('01')) {
    put(root, 'sub-01/anat/sub-01_T1w.json', JSON.stringify({ MagneticFieldStrength: 3 }));
    put(root, 'sub-01/anat/sub-01_T2w.nii.gz', new Uint8Array(0));
  }
}
