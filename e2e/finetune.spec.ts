/**
 * A whole fine-tuning session in the studio, in headless Chromium (WebGPU on SwiftShader, a
 * software adapter, so the worker trains on the wasm engine, with kernel threads: the preview
 * server sends the cross-origin isolation headers): two
 * real MSD crops as (scan, labels) pairs, LoRA-PT on the tiny fixture UNETR in the studio's
 * worker, a page reload in the middle (the run resumes from the checkpoint in IndexedDB), the
 * validation loss falls, the adapted model (merged in the worker) segments a scan and is compared
 * with its base, and no request leaves the origin or carries a body.
 *
 * The run is two steps (one before the reload, one after) and two validation passes (before
 * training, after the epoch): seconds each on the wasm engine (minutes each on SwiftShader's
 * WebGPU, which trained here before the wasm engine existed).
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect, test, type Request } from '@playwright/test';
import { hasShared, msdDir, sharedMissing } from '../src/testing/shared';
import { decodeAdapter } from '../src/peft/adapter-file';
import { dropFile, msdScan, openStudio, storedAdapterFiles, storedAdapters, waitForResult } from './helpers';

test.skip(!hasShared, sharedMissing);

/** One training step or validation pass: about a minute on SwiftShader with two idle cores, many under load. */
const STEP_TIMEOUT = 15 * 60_000;
/**
 * Steps of the run. On the wasm engine a step of the tiny model takes about a second, less than
 * the expectation's polling interval, so the reload waits for any checkpoint before the last step
 * (one step's "saved at step 1" could come and go unseen), and the run must still have steps to go.
 */
const STEPS = 6;
/**
 * Three small MSD crops: the automatic hold-out validates on the last by name (hippocampus_205),
 * the other two train, so at batch 1 an epoch is two steps and validation runs at steps 0, 2, 4, 6.
 */
const CASES = ['hippocampus_001', 'hippocampus_165', 'hippocampus_205'];

test('fine-tune two scans, reload mid-run, resume, segment with the adapter; nothing leaves the page', async ({ page, context }) => {
  test.setTimeout(60 * 60_000);
  const requests: Request[] = [];
  context.on('request', (request) => requests.push(request));
  // Page and worker messages, and where the session is: a failure here takes many minutes to reach.
  const t0 = Date.now();
  const log = (what: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${what}`);
  page.on('console', (m) => m.type() === 'error' && log(`console error: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));

  await openStudio(page, { backend: 'wasm' });
  await page.waitForLoadState('networkidle');
  const origin = new URL(page.url()).origin;

  await page.getByTestId('finetune-open').click();
  await page.getByTestId('finetune-files').setInputFiles(
    CASES.flatMap((c) => [
      { name: `${c}.nii.gz`, mimeType: 'application/octet-stream', buffer: readFileSync(join(msdDir, 'images', `${c}.nii.gz`)) },
      { name: `${c}_seg.nii.gz`, mimeType: 'application/octet-stream', buffer: readFileSync(join(msdDir, 'labels', `${c}.nii.gz`)) },
    ]),
  );
  // Both pairs are read in the worker and pass the checks (grid, label codes).
  await expect(page.getByTestId('pair-check')).toHaveText([/✓/, /✓/, /✓/], { timeout: 120_000 });

  await page.getByLabel('Length unit').selectOption('steps');
  await page.getByLabel('Length', { exact: true }).fill(String(STEPS));
  await page.getByLabel('Batch size').fill('1');
  await page.getByLabel('Learning rate').fill('0.01');
  await page.getByLabel('Checkpoint every').fill('1');
  await page.getByLabel('Augmentation').uncheck();
  // Two training scans: the decoder starts frozen (src/train/finetune-defaults.ts); ticked by hand, it stays ticked.
  await expect(page.getByLabel('Train the decoder too')).not.toBeChecked();
  await page.getByLabel('Train the decoder too').check();
  // The trainable count is exact (LoRA-PT factors 10,824 + the tiny UNETR's decoder), shown before training.
  await expect(page.getByTestId('trainable-count')).toContainText(/of [\d,]+/, { timeout: 120_000 });
  await expect(page.getByTestId('memory-estimate')).toContainText('MiB');

  await page.getByTestId('train').click();
  log('training');
  await expect(page.getByTestId('run-status')).toContainText(new RegExp(`saved at step [1-${STEPS - 1}]\\b`), { timeout: STEP_TIMEOUT });
  const beforeReload = await storedAdapters(page);
  expect(beforeReload).toHaveLength(1);
  const savedStep = beforeReload[0].step;
  expect(savedStep).toBeGreaterThanOrEqual(1);

  // Reload mid-run: the page comes back with the run interrupted at its checkpoint.
  log(`checkpoint at step ${savedStep} stored; reloading`);
  await page.reload();
  // The old page's queued GPU work can hold the GPU process (and the new page's WebGL) for minutes on SwiftShader.
  // The run may have saved a later step before the page went away: it resumes from the last one stored.
  await expect(page.getByTestId('finetune-notice')).toContainText(/interrupted at step \d+/, { timeout: STEP_TIMEOUT });
  const interruptedAt = Number((await page.getByTestId('finetune-notice').innerText()).match(/interrupted at step (\d+)/)![1]);
  expect(interruptedAt).toBeGreaterThanOrEqual(savedStep);
  expect(interruptedAt).toBeLessThan(STEPS);
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'interrupted');
  await page.getByTestId('resume').click();
  log('resumed');
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done', { timeout: STEP_TIMEOUT });

  log('done');
  const [run] = await storedAdapters(page);
  expect(run).toMatchObject({ status: 'done', step: STEPS });
  expect(run.losses).toHaveLength(STEPS);
  expect(run.validation.map((v) => v.step)).toEqual([0, 2, 4, 6]);
  // The loss falls: validation on the held-out crop, before training and after the resumed run.
  expect(run.validation.at(-1)!.loss).toBeLessThan(run.validation[0].loss);
  // Trained on the wasm engine, on more than one thread (Chromium's SwiftShader is no GPU).
  const [file] = await storedAdapterFiles(page);
  const engine = (await decodeAdapter(file)).training?.engine ?? '';
  console.log(`trained on ${engine}`);
  expect(engine).toMatch(/^wasm \(float32, WebAssembly SIMD.*, \d+ threads\)$/);
  console.log(`validation loss ${run.validation.map((v) => v.loss.toFixed(4)).join(' → ')}; Dice ${run.validation.map((v) => v.dice.toFixed(3)).join(' → ')}`);
  await expect(page.getByTestId('loss-chart')).toBeVisible();
  // A validation Dice below the base's (step 0) is said in words, and nothing else is.
  const fell = run.validation.at(-1)!.dice < run.validation[0].dice;
  await expect(page.getByTestId('run-caution')).toHaveCount(fell ? 1 : 0);
  if (fell) await expect(page.getByTestId('run-caution')).toContainText('The adapted model scores below its base on the');

  // The adapted model segments a scan (merged into ONNX in the worker, run by ORT).
  await dropFile(page, msdScan);
  await waitForResult(page);
  await page.getByTestId('use-adapter').click();
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue(/^unetr-tiny-test\+adapter-/);
  await waitForResult(page);
  await expect(page.getByTestId('error')).toHaveCount(0);

  // Base and adapted side by side on the validation scan, with Dice.
  log('adapted model segmented');
  await page.getByTestId('compare-adapter').click();
  await expect(page.getByTestId('compare-adapted')).toContainText(/mean Dice (\d\.\d{3}|–)/, { timeout: STEP_TIMEOUT });
  await expect(page.getByTestId('compare-base')).toContainText(/mean Dice/);

  // Privacy: everything came from this origin; nothing was sent.
  const urls = requests.map((r) => r.url());
  const foreign = urls.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('blob:') && !url.startsWith('data:'));
  expect(foreign, 'requests to other hosts').toEqual([]);
  const withBody = requests.filter((r) => (r.postDataBuffer()?.length ?? 0) > 0);
  expect(withBody.map((r) => `${r.method()} ${r.url()}`), 'requests carrying a body').toEqual([]);
  expect(requests.every((r) => r.method() === 'GET')).toBe(true);
  // The recorder saw the worker's own fetch of the base model, so it was listening.
  expect(urls.some((url) => url.endsWith('/fixtures/unetr_tiny/model.onnx'))).toBe(true);
  const probe = readFileSync(msdScan).subarray(100, 116).toString('base64');
  for (const url of urls) {
    for (const c of [...CASES, basename(msdScan, '.nii.gz')]) expect(url).not.toContain(c);
    expect(decodeURIComponent(url)).not.toContain(probe);
  }
});
