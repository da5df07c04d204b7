/**
 * Studio batch mode: a dropped folder of scans → a table with progress → a CSV that holds
 * the same per-scan results as `seahorse bids … group` on the same files. A real MSD crop
 * and a truncated file, on wasm (quicker than SwiftShader's WebGPU); the tiny test model (its output is not a segmentation: only the
 * plumbing and the equality with the CLI are under test). Dropped again after a reload, the finished scan's result is kept.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { parseTsv } from '../src/bids/tsv';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { msdScan, openStudio, repoRoot, scratchDir, testModel } from './helpers';

test.skip(!hasShared, sharedMissing);

/** CSV (as formatCsv writes it: no quoted newlines) → rows of strings; empty cells as the TSV's n/a. */
function parseCsv(text: string): Record<string, string>[] {
  const split = (line: string) => (line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? []).slice(0, -1).map((c) => c.replace(/,$/, '').replace(/^"(.*)"$/, '$1').replace(/""/g, '"'));
  const [head, ...lines] = text.split('\r\n').filter(Boolean);
  const columns = split(head);
  return lines.map((l) => Object.fromEntries(split(l).map((c, i) => [columns[i], c === '' ? 'n/a' : c])));
}

test('drop a folder of scans: table, progress, CSV equal to the CLI group table', async ({ page }) => {
  test.setTimeout(600_000);
  const dir = scratchDir('batch');
  const ds = join(dir, 'ds');
  const out = join(dir, 'out');
  rmSync(ds, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  const scans = { '01': msdScan };
  const broken = readFileSync(msdScan).subarray(0, 400);
  const files: { path: string; bytes: Buffer }[] = [];
  for (const [sub, src] of Object.entries(scans)) files.push({ path: `sub-${sub}/anat/sub-${sub}_T1w.nii.gz`, bytes: readFileSync(src) });
  files.push({ path: 'sub-02/anat/sub-02_T1w.nii.gz', bytes: broken });
  files.push({ path: 'participants.tsv', bytes: Buffer.from('participant_id\tage\tdiagnosis\nsub-01\t70\tAD\nsub-02\t75\tCN\n') });
  files.push({ path: 'dataset_description.json', bytes: Buffer.from('{"Name":"batch","BIDSVersion":"1.9.0"}') });
  for (const f of files) {
    mkdirSync(join(ds, f.path, '..'), { recursive: true });
    writeFileSync(join(ds, f.path), f.bytes);
  }

  await openStudio(page, { backend: 'wasm' });
  const dropFolder = async () => {
    const dataTransfer = await page.evaluateHandle((list) => {
      const transfer = new DataTransfer();
      for (const f of list) transfer.items.add(new File([Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0))], f.path.split('/').pop()!));
      return transfer;
    }, files.map((f) => ({ path: f.path, data: f.bytes.toString('base64') })));
    await page.dispatchEvent('.viewer', 'drop', { dataTransfer });
  };
  await dropFolder();

  await expect(page.getByTestId('batch-panel')).toBeVisible();
  await expect(page.getByTestId('batch-table').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('batch-progress')).toHaveText(/^2 of 2 done, 1 failed$/, { timeout: 540_000 });
  await expect(page.getByText('an untrained test model', { exact: false })).toBeVisible();
  const download = page.waitForEvent('download');
  await page.getByTestId('batch-export').click();
  const csvPath = join(dir, (await download).suggestedFilename());
  await (await download).saveAs(csvPath);
  const studio = parseCsv(readFileSync(csvPath, 'utf8'));

  for (const level of ['participant', 'group']) {
    try {
      execFileSync(process.execPath, [join(repoRoot, 'bin/seahorse.mjs'), 'bids', ds, out, level, ...(level === 'participant' ? ['--model', testModel] : [])], { cwd: repoRoot, stdio: 'pipe' });
    } catch (error) {
      if ((error as { status?: number }).status !== 3) throw error; // 3: the broken scan failed, as it must
    }
  }
  const cli = parseTsv(readFileSync(join(out, 'hippocampus_volumes.tsv'), 'utf8'));
  expect(studio.map((r) => r.status)).toEqual(['ok', 'failed']);
  expect(Object.keys(studio[0])).toEqual(cli.columns);
  // Every column but where the file came from and the error's wording (the browser reads the bytes another way).
  const same = cli.columns.filter((c) => c !== 'source' && c !== 'error');
  const pick = (r: Record<string, string>) => Object.fromEntries(same.map((c) => [c, r[c]]));
  expect(studio.map(pick)).toEqual(cli.rows.map(pick));
  expect(Number(studio[0].total_hippocampus_mm3)).toBeGreaterThan(0);
  expect(studio[1].error).not.toBe('n/a');
  expect(cli.rows[1].error).not.toBe('n/a');

  // After a reload the same folder dropped again takes the finished scan's result from the browser's
  // IndexedDB (src/app/kept-outcomes.ts) and runs only the one that failed: the same table.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Seahorse' })).toBeVisible();
  await dropFolder();
  await expect(page.getByTestId('batch-progress')).toHaveText(/^2 of 2 done, 1 failed$/, { timeout: 120_000 });
  await expect(page.getByText('1 of 2 results were kept in this browser from an earlier run on the same files, model and settings')).toBeVisible();
  const again = page.waitForEvent('download');
  await page.getByTestId('batch-export').click();
  const againPath = join(dir, `again-${(await again).suggestedFilename()}`);
  await (await again).saveAs(againPath);
  expect(parseCsv(readFileSync(againPath, 'utf8'))).toEqual(studio);
});
