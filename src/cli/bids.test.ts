import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTsv } from '../bids/tsv';
import { readVolume } from '../core/io';
import { makeBidsDataset } from '../testing/bids-dataset';
import { runCli as cli } from '../testing/cli';
import { decodeAdapter } from '../peft/adapter-file';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';
import { expandLists } from './bids';
import { main } from './main';

/** The CLI in this process (no start-up cost): exit status and what it printed. */
async function inProcess(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) });
  return { status, stdout, stderr };
}

/** Three full heads on two busy cores, twice over (participant, then the resumed rerun). */
const SLOW = 600_000;

describe('bids command line', () => {
  it('expands BIDS Apps lists into repeated options', () => {
    expect(expandLists(['ds', 'out', 'participant', '--participant-label', '01', 'sub-02', '--n-procs', '2'], ['--participant-label'])).toEqual([
      'ds', 'out', 'participant', '--participant-label', '01', '--participant-label', 'sub-02', '--n-procs', '2',
    ]);
  });

  it('refuses a bad level, a folder that is not BIDS, an unknown participant', async () => {
    const work = mkdtempSync(join(tmpdir(), 'seahorse-bids-args-'));
    expect((await inProcess(['bids', work, join(work, 'out'), 'subject'])).status).toBe(2);
    const notBids = await inProcess(['bids', work, join(work, 'out'), 'participant']);
    expect(notBids.status).toBe(1);
    expect(notBids.stderr).toMatch(/is not a BIDS dataset: it has no dataset_description.json/);
    writeFileSync(join(work, 'dataset_description.json'), '{"Name":"x","BIDSVersion":"1.9.0"}');
    const unknown = await inProcess(['bids', work, join(work, 'out'), 'participant', '--participant-label', '09']);
    expect(unknown.stderr).toMatch(/no participant sub-09/);
    expect(unknown.status).toBe(1);
  });
});

describe('seahorse stats', () => {
  it('--classify on a group table: accuracy against the majority baseline, flagged rows left out on request', async () => {
    // 40 participants; AD's ICV-normalised volumes are lower by 4 SD (the classes barely overlap).
    const dir = mkdtempSync(join(tmpdir(), 'seahorse-stats-'));
    const header = 'participant_id\tstatus\tleft_hippocampus_pct_icv\tright_hippocampus_pct_icv\tqc_flags\tage\tdiagnosis';
    const rows = Array.from({ length: 40 }, (_, i) => {
      const ad = i % 2 === 1;
      const wobble = ((i * 7) % 10) / 10 - 0.45; // deterministic spread of ±0.45 SD
      const v = 0.24 - (ad ? 0.04 : 0) + 0.01 * wobble;
      return [`sub-${i}`, 'ok', v.toFixed(5), (v + 0.002 * wobble).toFixed(5), i === 3 ? 'registration_poor' : 'n/a', String(60 + (i % 17)), ad ? 'AD' : 'CN'].join('\t');
    });
    writeFileSync(join(dir, 'hippocampus_volumes.tsv'), `${[header, ...rows].join('\n')}\n`);
    const run = await inProcess(['stats', dir, '--classify', 'diagnosis', '--json', '--permutations', '19', '--exclude-flagged']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r).toMatchObject({ column: 'diagnosis', features: ['left_hippocampus_pct_icv', 'right_hippocampus_pct_icv', 'age'], classes: ['AD', 'CN'], n: 39, majorityBaseline: 20 / 39, pValue: 0.05 });
    expect(r.accuracy).toBe(1);
    expect(r.notes).toEqual(['1 flagged rows left out (--exclude-flagged).']);
    expect(r.warnings).toEqual([]);
    const text = await inProcess(['stats', dir, '--classify', 'diagnosis', '--method', 'logistic', '--permutations', '0']);
    expect(text.stdout).toMatch(/accuracy\s+100\.0 %/);
    expect(text.stdout).toMatch(/majority-class baseline\s+50\.0 %/);
    expect((await inProcess(['stats', dir, '--classify', 'sex'])).stderr).toMatch(/has no column "sex"/);
  });
});

describe.skipIf(!hasShared)(`seahorse bids on a small cohort of full heads ${hasShared ? '' : sharedMissing}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'seahorse-bids-'));
  const ds = join(work, 'ds');
  const out = join(ds, 'derivatives', 'seahorse');
  // Converting bert's MGZ and gzipping three heads takes seconds (more on a busy machine).
  beforeAll(() => makeBidsDataset(ds), 120_000);

  it('participant (2 worker processes): derivatives per scan; the broken scan fails alone and is recorded; a rerun skips finished scans', async () => {
    const run = await cli(['bids', ds, out, 'participant', '--n-procs', '2', '--protocol', 'msd']);
    expect(run.stdout).toMatch(/^Model swinunetr \(trained, protocol msd\)/);
    expect(run.stdout).toMatch(/4 T1w scans, 0 already finished, 4 to segment in 2 worker processes/);
    expect(run.stderr).toMatch(/1 of 4 scans failed/);
    expect(run.status).toBe(3);

    const description = JSON.parse(readFileSync(join(out, 'dataset_description.json'), 'utf8'));
    expect(description).toMatchObject({ DatasetType: 'derivative', GeneratedBy: [{ Name: 'seahorse', Version: expect.any(String) }], BIDSVersion: expect.any(String) });
    // Sources are BIDS URIs (bids:raw:sub-01/…); "raw" is the dataset two folders up.
    expect(description).toMatchObject({ SourceDatasets: [{ URL: 'bids:raw:' }], DatasetLinks: { raw: '../..' } });
    for (const [stem, dir] of [['sub-01', 'sub-01/anat'], ['sub-02_ses-01', 'sub-02/ses-01/anat'], ['sub-03', 'sub-03/anat']]) {
      const base = join(out, dir, `${stem}_space-T1w_desc-hippocampus`);
      const sidecar = JSON.parse(readFileSync(`${base}_dseg.json`, 'utf8'));
      expect(sidecar).toMatchObject({ Model: { id: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, SeahorseVersion: expect.any(String), Path: 'full-head' });
      expect(sidecar.Sources).toEqual([`bids:raw:${dir}/${stem}_T1w.nii.gz`]);
      expect(sidecar.QC.Registration.quality).toMatch(/good|poor/);
      // The labels on the T1w's own grid; the recorded volumes are the labels' voxel counts (1 mm voxels).
      const labels = readVolume(new Uint8Array(readFileSync(`${base}_dseg.nii.gz`)), 'dseg');
      const t1 = readVolume(new Uint8Array(readFileSync(join(ds, dir, `${stem}_T1w.nii.gz`))), 't1');
      expect(labels.dims).toEqual(t1.dims);
      expect(Array.from(labels.affine)).toEqual(Array.from(t1.affine).map((v) => expect.closeTo(v, 4)));
      const counts = [0, 0, 0];
      for (const v of labels.data) counts[v]++;
      expect([sidecar.Volumes.LeftMm3, sidecar.Volumes.RightMm3]).toEqual([counts[1], counts[2]]);
      expect(counts[1]).toBeGreaterThan(0);
      expect(parseTsv(readFileSync(`${base}_volumes.tsv`, 'utf8')).rows.map((r) => [r.name, Number(r.voxels)])).toEqual([
        ['left hippocampus', counts[1]],
        ['right hippocampus', counts[2]],
      ]);
      expect(statSync(join(out, dir.split('/')[0], 'figures', `${stem}_desc-hippocampus_mosaic.png`)).size).toBeGreaterThan(1000);
    }
    expect(JSON.parse(readFileSync(join(out, 'logs', 'sub-04_error.json'), 'utf8')).Error).toMatch(/cut short/);

    const dseg = join(out, 'sub-01/anat/sub-01_space-T1w_desc-hippocampus_dseg.nii.gz');
    const before = statSync(dseg).mtimeMs;
    const rerun = await cli(['bids', ds, out, 'participant', '--participant-label', '01', '04', '--protocol', 'msd']);
    expect(rerun.stdout).toMatch(/2 T1w scans, 1 already finished \(skipped; --overwrite redoes them\), 1 to segment/);
    expect(rerun.status).toBe(3);
    expect(statSync(dseg).mtimeMs).toBe(before);
    // Another model in the same folder is refused: one folder, one model's volumes.
    const other = await inProcess(['bids', ds, out, 'participant', '--participant-label', '01', '--model', 'unetr']);
    expect(other.stderr).toMatch(/holds results of model swinunetr \(protocol msd\); this run uses unetr/);
    expect(other.status).toBe(1);
    // A model whose manifest names another protocol is refused before any work.
    const protocol = await inProcess(['bids', ds, join(work, 'out-fs'), 'participant', '--model', 'swinunetr', '--protocol', 'freesurfer']);
    expect(protocol.stderr).toMatch(/model swinunetr follows the msd protocol, not freesurfer/);
    expect(protocol.status).toBe(1);
  }, SLOW);

  it('group: one row per subject and session with ICV, covariates and the failure; a QC report; stats refuses so few', async () => {
    const run = await cli(['bids', ds, out, 'group']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/4 scans: 3 segmented, 1 failed, 0 not run/);
    const { columns, rows } = parseTsv(readFileSync(join(out, 'hippocampus_volumes.tsv'), 'utf8'));
    expect(columns).toEqual(expect.arrayContaining(['left_hippocampus_mm3', 'right_hippocampus_mm3', 'total_hippocampus_mm3', 'icv_mm3', 'total_hippocampus_pct_icv', 'qc_flags', 'age', 'sex', 'diagnosis']));
    expect(rows.map((r) => [r.participant_id, r.session_id, r.status, r.diagnosis])).toEqual([
      ['sub-01', 'n/a', 'ok', 'CN'],
      ['sub-02', 'ses-01', 'ok', 'CN'],
      ['sub-03', 'n/a', 'ok', 'AD'],
      ['sub-04', 'n/a', 'failed', 'AD'],
    ]);
    for (const r of rows.slice(0, 3)) {
      const sidecar = JSON.parse(readFileSync(join(out, r.source.replace(/_T1w\.nii\.gz$/, '_space-T1w_desc-hippocampus_dseg.json')), 'utf8'));
      expect(Number(r.left_hippocampus_mm3)).toBe(sidecar.Volumes.LeftMm3);
      expect(Number(r.total_hippocampus_pct_icv)).toBeCloseTo((100 * sidecar.Volumes.TotalMm3) / sidecar.Volumes.ICVMm3, 4);
      expect(Number(r.icv_mm3)).toBeGreaterThan(1e6);
    }
    expect(rows[3]).toMatchObject({ qc_flags: 'failed', error: expect.stringMatching(/cut short/) });
    const html = readFileSync(join(out, 'qc_report.html'), 'utf8');
    expect(html).toContain('<h1>Seahorse hippocampus QC: seahorse test cohort</h1>');
    expect(html.indexOf('id="sub-04"')).toBeLessThan(html.indexOf('id="sub-01"'));
    expect(html.match(/<img src="sub-0\d\/figures\/sub-0\d(_ses-01)?_desc-hippocampus_mosaic.png"/g)).toHaveLength(3);

    const stats = await inProcess(['stats', out, '--classify', 'diagnosis']);
    expect(stats.stderr).toMatch(/5-fold cross-validation needs at least 5 participants; there are 3/);
    expect(stats.status).toBe(1);
  }, SLOW);
});

describe.skipIf(!hasShared)(`seahorse bids --adapter ${hasShared ? '' : sharedMissing}`, () => {
  it('records the adapter (file, sha256, base fingerprint) and its masks; refuses one for another base model, and another configuration in the same folder, before any scan', async () => {
    // A one-step LoRA-PT adapter of the tiny UNETR on one MSD crop, and a one-participant dataset
    // whose T1w is another MSD crop (the crop path: seconds, no registration). Untrained test
    // model: this checks that the adapter is merged and recorded, not what it is worth.
    const work = mkdtempSync(join(tmpdir(), 'seahorse-bids-adapter-'));
    const adapterPath = join(work, 'tiny.seahorse-adapter');
    const tune = await inProcess(['finetune', '--model', 'unetr-tiny-test', '--data', msdDir, '--split', join(msdDir, 'split.json'), '--set', 'fewshot_pool', '--limit', '1', '--steps', '1', '--batch', '1', '--engine', 'wasm', '-o', adapterPath]);
    expect(tune.status).toBe(0);
    const adapter = await decodeAdapter(new Uint8Array(readFileSync(adapterPath)));
    const ds = join(work, 'ds');
    const crop = join(msdDir, 'images/hippocampus_003.nii.gz');
    mkdirSync(join(ds, 'sub-01/anat'), { recursive: true });
    writeFileSync(join(ds, 'dataset_description.json'), '{"Name":"adapter cohort","BIDSVersion":"1.9.0"}');
    writeFileSync(join(ds, 'sub-01/anat/sub-01_T1w.nii.gz'), readFileSync(crop));
    const out = join(work, 'out');
    const dseg = join(out, 'sub-01/anat/sub-01_space-T1w_desc-hippocampus_dseg.nii.gz');
    const labelsOf = (file: string) => readVolume(new Uint8Array(readFileSync(file)), file).data;

    const base = await inProcess(['bids', ds, out, 'participant', '--model', 'unetr-tiny-test']);
    expect(base.status).toBe(0);
    const baseLabels = labelsOf(dseg);

    // An adapter trained on another base model: refused with the reason, nothing written.
    const mismatch = await inProcess(['bids', ds, join(work, 'out-mismatch'), 'participant', '--model', 'swinunetr-tiny-test', '--adapter', adapterPath, '--n-procs', '2']);
    expect(mismatch.stderr).toMatch(/adapter tiny\.seahorse-adapter does not fit model swinunetr-tiny-test: this adapter was trained on a UNETR \("unetr-tiny-test"\); model swinunetr-tiny-test is a SwinUNETR\. .*\(run it with --model unetr-tiny-test\)/);
    expect(mismatch.status).toBe(1);
    expect(existsSync(join(work, 'out-mismatch'))).toBe(false);
    // The base model's folder does not take the adapted model's volumes without --overwrite.
    const mixed = await inProcess(['bids', ds, out, 'participant', '--model', 'unetr-tiny-test', '--adapter', adapterPath]);
    expect(mixed.stderr).toMatch(/holds results of model unetr-tiny-test \(protocol unknown\); this run uses unetr-tiny-test \+ adapter tiny\.seahorse-adapter/);
    expect(mixed.status).toBe(1);

    // Without --model, the model the adapter was trained on.
    const adapted = await inProcess(['bids', ds, out, 'participant', '--adapter', adapterPath, '--overwrite']);
    expect(adapted.status).toBe(0);
    // Adapted on MSD's labels, the model follows MSD's protocol (the base names none).
    expect(adapted.stdout).toMatch(/^Model unetr-tiny-test \+ adapter tiny\.seahorse-adapter \(untrained-test, protocol msd\); 1 T1w scan, 0 already finished, 1 to segment/);
    const recorded = {
      file: 'tiny.seahorse-adapter',
      method: 'lorapt',
      sha256: createHash('sha256').update(readFileSync(adapterPath)).digest('hex'),
      baseFingerprint: adapter.base.fingerprint,
      steps: 1,
    };
    const sidecar = JSON.parse(readFileSync(dseg.replace(/\.nii\.gz$/, '.json'), 'utf8'));
    expect(sidecar.Model).toMatchObject({ id: 'unetr-tiny-test', adapter: recorded });
    const description = JSON.parse(readFileSync(join(out, 'dataset_description.json'), 'utf8'));
    expect(description.Seahorse.Model.adapter).toEqual(recorded);
    expect(description.DatasetLinks).toEqual({ raw: '../ds' });
    expect(description.GeneratedBy[0].Description).toBe('Hippocampus segmentation with model unetr-tiny-test + adapter tiny.seahorse-adapter (lorapt)');
    // The adapted masks: not the base model's, and the same as seahorse segment --adapter on that scan.
    const adaptedLabels = labelsOf(dseg);
    expect(adaptedLabels.some((v, i) => v !== baseLabels[i])).toBe(true);
    const single = join(work, 'segment.nii.gz');
    expect((await inProcess(['segment', crop, '-o', single, '--model', 'unetr-tiny-test', '--adapter', adapterPath])).status).toBe(0);
    expect(Array.from(labelsOf(single))).toEqual(Array.from(adaptedLabels));
    // Idempotent: a rerun skips the finished scan; --overwrite redoes it, to the same labels.
    expect((await inProcess(['bids', ds, out, 'participant', '--model', 'unetr-tiny-test', '--adapter', adapterPath])).stdout).toMatch(/1 T1w scan, 1 already finished \(skipped; --overwrite redoes them\), 0 to segment/);
    const redo = await inProcess(['bids', ds, out, 'participant', '--model', 'unetr-tiny-test', '--adapter', adapterPath, '--overwrite']);
    expect(redo.stdout).toMatch(/1 T1w scan, 0 already finished, 1 to segment/);
    expect(Array.from(labelsOf(dseg))).toEqual(Array.from(adaptedLabels));
  }, 180_000);
});
