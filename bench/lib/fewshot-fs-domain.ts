/**
 * The few-shot bench's forward protocol shift (`--domain freesurfer`, issue #16): an
 * MSD-protocol base adapted to FreeSurfer's hippocampus (aseg 17 / 53 as one whole structure).
 *
 * - Adaptation pool: synthetic scans from the SynthSeg label maps the FreeSurfer-protocol models
 *   trained on (training_seg_01..18, one MSD-framed crop per side), written by
 *   bench/fewshot/fs_synth_crops.py with the project's generator (training/synth, training/fs_crops.py).
 * - Held out, never adapted on: the synthetic crops of the FS models' validation maps
 *   (training_seg_19, 20) and the two real FreeSurfer-labelled subjects (bert norm.mgz, vxm_subject
 *   t1; validation only for the FS models too), each side cropped in the MSD frame at aseg's own
 *   hippocampus centroid (src/testing/at-reference.ts, the framing of the full-head path).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVolume } from '../../src/core/io';
import type { Volume } from '../../src/core/volume';
import type { LabelledScan } from '../../src/train/compare';
import { applyLabelMap, parseLabelMap } from '../../src/train/label-map';
import { msdCropAtReference } from '../../src/testing/at-reference';
import { dataDir } from '../../src/testing/shared';

/** Where fs_synth_crops.py writes by default (ignored by git: derived from the Apache-2.0 maps). */
export const FS_SYNTH_DIR = '.cache/fewshot-fs';
export const FS_SYNTH_COMMAND = 'nice -n 10 /usr/bin/python3 bench/fewshot/fs_synth_crops.py';

/** aseg codes of the hippocampi (FreeSurfer LUT). */
const ASEG = { left: 17, right: 53 } as const;

/** The real held-out subjects: bert's norm.mgz (brain.mgz is the same anatomy and aseg) and vxm_subject. */
const REAL_SUBJECTS = [
  { id: 'bert/norm.mgz', scan: ['bert', 'norm.mgz'], aseg: ['bert', 'aseg.mgz'] },
  { id: 'vxm_subject/t1.nii.gz', scan: ['vxm_subject', 't1.nii.gz'], aseg: ['vxm_subject', 'aseg.nii.gz'] },
] as const;

const readFile = (path: string, id: string): Volume => {
  if (!existsSync(path)) throw new Error(`${path} not found`);
  return readVolume(new Uint8Array(readFileSync(path)), id);
};

function synthetic(dir: string): LabelledScan[] {
  const images = join(dir, 'images');
  if (!existsSync(images)) throw new Error(`${images} not found: make the synthetic crops first (${FS_SYNTH_COMMAND})`);
  const binary = parseLabelMap('binary');
  return readdirSync(images)
    .filter((f) => f.endsWith('.nii.gz'))
    .sort()
    .map((f) => ({ id: f.replace('.nii.gz', ''), image: readFile(join(images, f), f), labels: applyLabelMap(readFile(join(dir, 'labels', f), f), binary, f) }));
}

function realSides(): LabelledScan[] {
  const fs = parseLabelMap('freesurfer');
  const root = join(dataDir, 'fullhead_labelled');
  return REAL_SUBJECTS.flatMap((s) => {
    const scan = readFile(join(root, ...s.scan), s.id);
    const aseg = readFile(join(root, ...s.aseg), s.aseg.join('/'));
    const whole = applyLabelMap(aseg, fs, s.aseg.join('/'));
    return (['left', 'right'] as const).map((side) => ({ id: `${s.id}:${side}`, ...msdCropAtReference(scan, aseg, ASEG[side], side, whole) }));
  });
}

export function loadFreeSurferDomain(dir = FS_SYNTH_DIR): { description: string; pool: LabelledScan[]; test: LabelledScan[] } {
  const pool = synthetic(join(dir, 'pool'));
  const test = [...synthetic(join(dir, 'test')), ...realSides()];
  return {
    description: `FreeSurfer protocol (aseg 17/53 as the whole hippocampus, label map "freesurfer"); training pool: ${pool.length} synthetic MSD-framed crops from SynthSeg label maps training_seg_01..18, one per side (${FS_SYNTH_COMMAND}, seed 16); held out (never adapted on): ${test.length} crops, the synthetic crops of maps training_seg_19, 20 (the FS models' validation maps) and both sides of the real subjects bert norm.mgz and vxm_subject t1 framed at aseg's hippocampus centroid (src/testing/at-reference.ts); no scanner shift`,
    pool,
    test,
  };
}
