/**
 * `seahorse finetune --labels`: a full head with whole-structure labels becomes one training
 * crop per hippocampus, localised as inference localises (Colin27 with AAL 37/38, the scan
 * the template was made from, so the registration is known to succeed), and label files
 * whose protocol cannot be told from their codes are refused with the choices.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTemplate } from '../core/fullhead/template-node';
import { templateOnce } from '../infer/segment-scan';
import { readModelNode } from '../infer/registry-node';
import { parseLabelMap } from '../train/label-map';
import { runCli as cli } from '../testing/cli';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { caseSamples, chooseLabelMap } from './finetune-data';
import { readScan } from './segment';

describe.skipIf(!hasShared)(`finetune data through a label map ${hasShared ? '' : sharedMissing}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'seahorse-finetune-labels-'));
  mkdirSync(join(work, 'images'));
  mkdirSync(join(work, 'labels'));
  symlinkSync(join(dataDir, 'templates/ch2.nii.gz'), join(work, 'images/colin.nii.gz'));
  symlinkSync(join(dataDir, 'templates/aal.nii.gz'), join(work, 'labels/colin.nii.gz'));

  it('cuts a full head into a left and a right crop with whole-hippocampus targets', async () => {
    // The FreeSurfer-protocol model: its crops are cut in the template's own pose, which Colin27 holds.
    const { manifest } = readModelNode('swinunetr-fs');
    const { samples, notes } = await caseSamples(work, 'colin.nii.gz', readScan, parseLabelMap('aal'), manifest, templateOnce(readTemplate));
    expect(samples.map((s) => s.id)).toEqual(['colin.nii.gz (left)', 'colin.nii.gz (right)']);
    for (const s of samples) {
      // Whole-structure targets are 0/1 only, and each crop holds a hippocampus-sized part of one.
      let fg = 0;
      for (const v of s.label) {
        expect(v === 0 || v === 1).toBe(true);
        fg += v;
      }
      expect(fg).toBeGreaterThan(1000);
    }
    // AAL's coarse outline reaches beyond the MSD-framed crops: said, not hidden.
    expect(notes.join(' ')).toMatch(/colin\.nii\.gz: \d+% of the labelled voxels lie outside the hippocampus crops/);
  }, 120_000);

  it('refuses to guess between protocols whose codes are all present', async () => {
    expect(() => chooseLabelMap(undefined, readScan(join(work, 'labels/colin.nii.gz')), 'colin.nii.gz')).toThrow(/cannot tell the labelling protocol of colin\.nii\.gz .*--labels msd\|freesurfer\|aal\|lpba40\|binary/);
    const run = await cli(['finetune', '--model', 'unetr-tiny-test', '--train', work, '--steps', '1', '-o', join(work, 'x.seahorse-adapter')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot tell the labelling protocol/);
  });
});
