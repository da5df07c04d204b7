/**
 * The adapter list and the drawing tools, without a training run in the browser: a real adapter
 * file is made once by the CLI on Node (one LoRA-PT step of the tiny fixture UNETR on a real MSD
 * crop, on the wasm engine), then the studio imports it, lists it, renames it, segments with it, exports it (the
 * download is byte-for-byte the imported file: export writes the stored bytes, it does not
 * re-encode), refuses a corrupted file and an adapter of a base that is not installed without
 * touching the list, and deletes it from the list and from IndexedDB. Before that, the
 * studio's own mask is corrected with the pen and becomes a training pair in one click.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { decodeAdapter, encodeAdapter } from '../src/peft/adapter-file';
import { hasShared, msdDir, sharedMissing } from '../src/testing/shared';
import { dropFile, msdScan, openStudio, repoRoot, scratchDir, storedAdapters, testModel, waitForResult } from './helpers';

test.skip(!hasShared, sharedMissing);

const CASE = 'hippocampus_205.nii.gz';
/** A base-model id that no studio installs: the adapter of another base. */
const FOREIGN_BASE = 'unetr-hippocampus-7t';

let adapterBytes: Buffer;
let foreignBytes: Buffer;
let corruptedBytes: Buffer;

test.beforeAll(async () => {
  // One optimiser step on the wasm engine (the float64 CPU engine took 20 s here, Dawn's llvmpipe WebGPU 42 s).
  test.setTimeout(300_000);
  const dir = scratchDir('finetune-adapters');
  for (const sub of ['images', 'labels']) {
    mkdirSync(join(dir, 'train', sub), { recursive: true });
    const link = join(dir, 'train', sub, CASE);
    if (!existsSync(link)) symlinkSync(join(msdDir, sub, CASE), link);
  }
  const out = join(dir, 'tiny-cli.seahorse-adapter');
  execFileSync(
    process.execPath,
    [join(repoRoot, 'bin/seahorse.mjs'), 'finetune', '--model', testModel, '--method', 'lorapt', '--train', join(dir, 'train'), '--steps', '1', '--batch', '1', '--engine', 'wasm', '-o', out],
    { cwd: repoRoot, stdio: 'pipe' },
  );
  adapterBytes = readFileSync(out);
  // The same adapter, said to be of a base model that is not installed here.
  const adapter = await decodeAdapter(new Uint8Array(adapterBytes));
  foreignBytes = Buffer.from(await encodeAdapter({ ...adapter, base: { ...adapter.base, label: FOREIGN_BASE } }));
  // One byte flipped in the tensor data: the checksum catches it.
  corruptedBytes = Buffer.from(adapterBytes);
  corruptedBytes[corruptedBytes.length - 100] ^= 0xff;
});

/** Names of the adapters in Chromium's IndexedDB (the real browser storage). */
const storedNames = async (page: Page) => (await storedAdapters(page)).map((r) => r.name);

const adapterFile = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/octet-stream', buffer });

test('a corrected mask becomes a training pair (kept across a reload); an adapter file is imported, renamed, used, exported and deleted', async ({ page }) => {
  test.setTimeout(240_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openStudio(page, { backend: 'wasm' });
  await dropFile(page, msdScan);
  await waitForResult(page);
  await page.getByTestId('finetune-open').click();

  // ── The drawing tools: correct the mask with the pen, undo a stroke, use it as a label ──
  await page.getByTestId('start-correction').click();
  await page.getByRole('button', { name: 'Pen: body' }).click();
  const canvas = page.getByTestId('viewer-canvas');
  const box = (await canvas.boundingBox())!;
  // Strokes in the top-left tile of the multiplanar grid (a 2-D slice of the scan).
  const stroke = async (x0: number, y0: number, x1: number, y1: number) => {
    await page.mouse.move(box.x + box.width * x0, box.y + box.height * y0);
    await page.mouse.down();
    for (let t = 1; t <= 8; t++) await page.mouse.move(box.x + box.width * (x0 + ((x1 - x0) * t) / 8), box.y + box.height * (y0 + ((y1 - y0) * t) / 8));
    await page.mouse.up();
  };
  await stroke(0.15, 0.2, 0.3, 0.25);
  await stroke(0.2, 0.3, 0.35, 0.35);
  await stroke(0.1, 0.35, 0.25, 0.15);
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByTestId('use-correction').click();
  await expect(page.getByTestId('finetune-notice')).toContainText('corrected mask of hippocampus_205.nii.gz was added as a training label');
  await expect(page.getByTestId('pair-row')).toHaveCount(1);
  await expect(page.getByTestId('pair-row')).toContainText('hippocampus_205');
  // Read in the worker as training reads it: the scan's grid, label codes the model knows.
  await expect(page.getByTestId('pair-check')).toHaveText(/32×47×32 ✓/);

  // ── Adapters: import ──
  const list = page.getByTestId('adapter-row');
  await page.getByTestId('adapter-import').setInputFiles(adapterFile('tiny-cli.seahorse-adapter', adapterBytes));
  await expect(page.getByTestId('finetune-notice')).toContainText('Imported “tiny-cli” (LoRA-PT');
  await expect(list).toHaveCount(1);
  await expect(list.getByTestId('adapter-name')).toHaveText('tiny-cli');
  expect(await storedNames(page)).toEqual(['tiny-cli']);

  // Rename.
  await list.getByRole('button', { name: 'rename' }).click();
  await list.getByLabel('Adapter name').fill('hippocampus 205, one step');
  await list.getByRole('button', { name: 'Save' }).click();
  await expect(list.getByTestId('adapter-name')).toHaveText('hippocampus 205, one step');
  expect(await storedNames(page)).toEqual(['hippocampus 205, one step']);

  // A corrupted file and an adapter of another base: clear messages, the list unchanged.
  await page.getByTestId('adapter-import').setInputFiles(adapterFile('broken.seahorse-adapter', corruptedBytes));
  await expect(page.getByTestId('finetune-error')).toContainText('Could not import the adapter: “broken.seahorse-adapter” is corrupted');
  await page.getByTestId('finetune-error').getByRole('button', { name: 'Dismiss' }).click();
  await page.getByTestId('adapter-import').setInputFiles(adapterFile('foreign.seahorse-adapter', foreignBytes));
  await expect(page.getByTestId('finetune-error')).toContainText(`“foreign.seahorse-adapter” was trained on “${FOREIGN_BASE}”, which is not installed here`);
  await expect(list).toHaveCount(1);
  expect(await storedNames(page)).toEqual(['hippocampus 205, one step']);

  // It segments the open crop: merged into the base ONNX in the worker, run by ORT.
  await list.getByTestId('use-adapter').click();
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue(new RegExp(`^${testModel}\\+adapter-`));
  await waitForResult(page);
  await expect(page.getByTestId('error')).toHaveCount(0);

  // Export: the download is the imported file, byte for byte.
  const download = page.waitForEvent('download');
  await list.getByTestId('export-adapter').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('hippocampus_205_one_step.seahorse-adapter');
  const saved = join(scratchDir('finetune-adapters'), 'exported.seahorse-adapter');
  await file.saveAs(saved);
  expect(readFileSync(saved).equals(adapterBytes)).toBe(true);

  // Delete: gone from the list and from IndexedDB.
  await list.getByRole('button', { name: 'delete' }).click();
  await expect(list).toHaveCount(0);
  expect(await storedNames(page)).toEqual([]);

  // ── The pen correction was kept in the browser as it was drawn: after a reload the same scan continues it ──
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Seahorse' })).toBeVisible();
  await dropFile(page, msdScan);
  await waitForResult(page);
  await page.getByTestId('finetune-open').click();
  await expect(page.getByTestId('kept-correction')).toContainText("A correction of this scan's mask you drew before is kept in this browser");
  await page.getByTestId('resume-correction').click();
  await expect(page.getByTestId('finetune-notice')).toContainText('Your kept correction is back in the viewer');
  await page.getByTestId('use-correction').click();
  await expect(page.getByTestId('pair-row')).toHaveCount(1);
  await expect(page.getByTestId('pair-check')).toHaveText(/32×47×32 ✓/);
  await expect(page.getByTestId('finetune-error')).toHaveCount(0);
  expect(errors).toEqual([]);
});
