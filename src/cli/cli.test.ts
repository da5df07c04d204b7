import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readVolume, writeNifti } from '../core/io';
import { aboveMeanModel } from '../testing/onnx-models';
import { runCli as cli } from '../testing/cli';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';



const readNii = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);

describe('seahorse CLI: usage', () => {
  it('--help for the tool and each command; bad command lines exit 2 with usage', async () => {
    const top = await cli(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/segment <scan> -o/);
    for (const command of ['segment', 'eval']) {
      const help = await cli([command, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: seahorse ${command}`));
    }
    const noOutput = await cli(['segment', 'scan.nii.gz']);
    expect(noOutput.status).toBe(2);
    expect(noOutput.stderr).toMatch(/-o <labels.nii.gz>[\s\S]*Usage: seahorse segment/);
    expect((await cli(['frobnicate'])).status).toBe(2);
  });

  it('a folder given as the scan (a DICOM series, say) is refused in words, not with a system error', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'seahorse-dicom-'));
    const run = await cli(['segment', folder, '-o', join(folder, 'labels.nii.gz')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${folder} is a folder: give one scan file (NIfTI .nii/.nii.gz or MGH/MGZ). A DICOM series can be converted first`);
    expect(run.stderr).not.toMatch(/EISDIR/);
  });
});

describe.skipIf(!hasShared)(`seahorse CLI on real MSD crops ${hasShared ? '' : sharedMissing}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'seahorse-cli-'));
  const scan = join(msdDir, 'images/hippocampus_003.nii.gz');
  const userModel = join(work, 'above-mean.onnx');
  beforeAll(() => writeFileSync(userModel, aboveMeanModel([16, 16, 16])));

  it('segment --json: labels on the input grid, volumes that match the file, the model caveat', async () => {
    const out = join(work, 'labels.nii.gz');
    const run = await cli(['segment', scan, '-o', out, '--model', 'unetr-tiny-test', '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.model).toMatchObject({ id: 'unetr-tiny-test', status: 'untrained-test' });
    expect(report.caveat).toMatch(/UNTRAINED/);
    expect(report.backend.name).toBe('cpu');
    const input = readNii(scan);
    const labels = readNii(out);
    expect(labels.dims).toEqual(input.dims);
    expect(Array.from(labels.affine)).toEqual(Array.from(input.affine));
    expect(labels.data).toBeInstanceOf(Uint8Array);
    const counts = [0, 0, 0];
    for (const v of labels.data) counts[v]++;
    expect(counts.reduce((a, b) => a + b)).toBe(labels.data.length);
    expect(report.volumes).toEqual([
      { value: 1, name: 'hippocampus head', voxels: counts[1], mm3: counts[1] },
      { value: 2, name: 'hippocampus body + tail', voxels: counts[2], mm3: counts[2] },
    ]);
  });

  it('segment with a plain .onnx prints a table and calls it a user model', async () => {
    const run = await cli(['segment', scan, '-o', join(work, 'user.nii'), '--model', userModel]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/User-supplied model/);
    expect(run.stdout).toMatch(/label 1\s+\d+\s+\d+\.\d/);
    expect(readNii(join(work, 'user.nii')).dims).toEqual(readNii(scan).dims);
  });

  it('segment on a file that is not a scan: exit 1 and one clear line', async () => {
    const bad = join(work, 'notes.nii.gz');
    writeFileSync(bad, 'these are my notes');
    const run = await cli(['segment', bad, '-o', join(work, 'x.nii.gz'), '--model', userModel]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      'seahorse segment: notes.nii.gz is not a scan format Seahorse reads. Supported: NIfTI-1/NIfTI-2 (.nii, .nii.gz) and FreeSurfer MGH/MGZ (.mgh, .mgz).',
    ]);
  });

  it('eval on the validation split: per-case and mean Dice, HD95 and volumes in JSON', async () => {
    const json = join(work, 'eval.json');
    const run = await cli(['eval', '--model', userModel, '--data', join(msdDir), '--split', join(msdDir, 'split.json'), '--set', 'val', '--limit', '2', '--json', json]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/mean of 2/);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8'));
    expect(result.cases.map((c: { case: string }) => c.case)).toEqual(split.val.slice(0, 2));
    for (const c of result.cases) {
      const reference = readNii(join(msdDir, 'labels', c.case));
      let foreground = 0;
      for (const v of reference.data) foreground += v > 0 ? 1 : 0;
      const whole = c.scores.find((s: { label: unknown }) => s.label === 'all');
      expect(whole.mm3Reference).toBe(foreground);
      expect(whole.dice).toBeGreaterThanOrEqual(0);
      expect(whole.dice).toBeLessThanOrEqual(1);
      expect(whole.hd95).toBeGreaterThan(0);
    }
    const meanDice = result.mean.find((m: { label: unknown }) => m.label === 'all').dice;
    const whole = result.cases.map((c: { scores: { label: unknown; dice: number }[] }) => c.scores.find((s) => s.label === 'all')!.dice);
    expect(meanDice).toEqual({ mean: (whole[0] + whole[1]) / 2, n: 2 });
  });

  it('eval reports a case whose labels are on another grid, and exits 1', async () => {
    const data = join(work, 'mismatch');
    mkdirSync(join(data, 'images'), { recursive: true });
    mkdirSync(join(data, 'labels'), { recursive: true });
    const image = readNii(scan);
    writeFileSync(join(data, 'images/a.nii.gz'), writeNifti(image));
    writeFileSync(join(data, 'labels/a.nii.gz'), writeNifti({ ...image, dims: [image.dims[2], image.dims[1], image.dims[0]], data: new Uint8Array(image.data.length) }));
    const run = await cli(['eval', '--model', userModel, '--data', data]);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/a\.nii\.gz\s+error: the reference labels are not on the scan’s grid/);
    expect(run.stderr).toMatch(/1 of 1 cases could not be evaluated/);
  });
});
