/**
 * The shipped Snakefile on this machine (Debian's snakemake, `--cores 2`): a participant job
 * per subject and the group step last, on a tiny BIDS dataset made from the shared data —
 * two full heads (one in a session) and one broken scan that must fail alone. No browser.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { parseTsv } from '../src/bids/tsv';
import { readVolume } from '../src/core/io';
import { makeBidsDataset } from '../src/testing/bids-dataset';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { repoRoot } from './helpers';

const run = promisify(execFile);

function hasSnakemake(): boolean {
  try {
    execFileSync('snakemake', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test.describe('Snakemake workflow', () => {
  test.skip(!hasShared, sharedMissing);
  test.skip(!hasSnakemake(), 'snakemake is not installed (.ci/run installs Debian’s: apt-get install --no-install-recommends snakemake)');
  test.setTimeout(480_000);

  test('workflow/Snakefile: a job per participant, the group last; valid derivatives; the failure recorded; a rerun has nothing to do', async () => {
    const work = mkdtempSync(join(tmpdir(), 'seahorse-snakemake-'));
    const ds = join(work, 'ds');
    const out = join(work, 'out');
    makeBidsDataset(ds, ['01', '02', '04']);
    const args = ['--snakefile', join(repoRoot, 'workflow/Snakefile'), '--cores', '2', '--directory', work, '--config', `bids_dir=${ds}`, `output_dir=${out}`];
    const first = await run('snakemake', args, { cwd: work, maxBuffer: 1 << 24 });
    expect(first.stderr).toMatch(/5 of 5 steps \(100%\) done/);

    const description = JSON.parse(readFileSync(join(out, 'dataset_description.json'), 'utf8'));
    expect(description).toMatchObject({ DatasetType: 'derivative', GeneratedBy: [{ Name: 'seahorse' }] });
    const { rows } = parseTsv(readFileSync(join(out, 'hippocampus_volumes.tsv'), 'utf8'));
    expect(rows.map((r) => [r.participant_id, r.session_id, r.status, r.diagnosis])).toEqual([
      ['sub-01', 'n/a', 'ok', 'CN'],
      ['sub-02', 'ses-01', 'ok', 'CN'],
      ['sub-04', 'n/a', 'failed', 'AD'],
    ]);
    expect(rows[2].error).toMatch(/cut short/);
    for (const [row, dseg] of [
      [rows[0], 'sub-01/anat/sub-01_space-T1w_desc-hippocampus_dseg.nii.gz'],
      [rows[1], 'sub-02/ses-01/anat/sub-02_ses-01_space-T1w_desc-hippocampus_dseg.nii.gz'],
    ] as const) {
      const labels = readVolume(new Uint8Array(readFileSync(join(out, dseg))), dseg);
      const counts = [0, 0, 0];
      for (const v of labels.data) counts[v]++;
      expect([Number(row.left_hippocampus_mm3), Number(row.right_hippocampus_mm3)]).toEqual([counts[1], counts[2]]);
      expect(counts[1] * counts[2]).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, 'logs/snakemake/sub-04.done'), 'utf8')).toMatch(/exit status 3/);
    expect(readFileSync(join(out, 'qc_report.html'), 'utf8')).toMatch(/Failed: .*cut short/);

    const again = await run('snakemake', args, { cwd: work });
    expect(again.stderr).toMatch(/Nothing to be done/);
    rmSync(work, { recursive: true, force: true });
  });

  test('workflow/profiles/slurm: parses, and plans one sbatch job per participant with its resources (dry run: no cluster here)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'seahorse-slurm-'));
    const ds = join(work, 'ds');
    for (const sub of ['sub-01', 'sub-02']) mkdirSync(join(ds, sub, 'anat'), { recursive: true });
    // A dry run caps threads at --cores (default 1); a real cluster run does not cap them.
    const plan = await run(
      'snakemake',
      ['-n', '--cores', '4', '--snakefile', join(repoRoot, 'workflow/Snakefile'), '--profile', join(repoRoot, 'workflow/profiles/slurm'), '--directory', work, '--config', `bids_dir=${ds}`, `output_dir=${join(work, 'out')}`, 'threads=2'],
      { cwd: work, maxBuffer: 1 << 24 },
    );
    const log = plan.stdout + plan.stderr;
    expect(log).toMatch(/participant\s+2\s+2\s+2/); // job stats: 2 participant jobs of 2 threads each
    expect(log).toMatch(/group\s+1\s/);
    expect(log).toMatch(/resources: mem_mb=2000, .*runtime=30/);
    expect(log).toContain(`bids ${ds} ${join(work, 'out')} participant --participant-label 01 --omp-nthreads 2`);
    expect(log).toMatch(/This was a dry-run/);
    rmSync(work, { recursive: true, force: true });
  });
});
