/**
 * Bad input: each broken file gets a clear message, and the studio keeps working (the next
 * good file is segmented as usual).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, test } from '@playwright/test';
import { readVolume, writeNifti } from '../src/core/io';
import { uniformStream } from '../src/engine/engine';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { badInputs } from './bad-inputs';
import { msdScan, openStudio, pickFile, waitForResult } from './helpers';

test.skip(!hasShared, sharedMissing);

test('broken files are explained and the next good file segments', async ({ page }) => {
  await openStudio(page, { backend: 'wasm' });
  const error = page.getByTestId('error');

  for (const bad of badInputs()) {
    await pickFile(page, bad);
    await expect(error, bad.name).toContainText(bad.expected);
    await expect(page.getByTestId('scan-name')).toHaveCount(0); // nothing was opened
    await error.getByRole('button', { name: 'Dismiss' }).click();
    await expect(error).toHaveCount(0);
  }

  await pickFile(page, msdScan);
  expect(await waitForResult(page)).toBe('wasm');
  await expect(error).toHaveCount(0);

  // A broken file after a good one leaves the good scan and its masks in place.
  const [truncated] = badInputs();
  await pickFile(page, truncated);
  await expect(error).toContainText(truncated.expected);
  await expect(page.getByTestId('scan-name')).toHaveText(basename(msdScan));
  await expect(page.getByTestId('volumes-table')).toBeVisible();
});

test('a model that fails to load is explained; a run can be cancelled; the next run works', async ({ page, context }) => {
  // The worker's first fetch of the ONNX fails (a flaky network, a missing file); the second
  // is held until the test lets it go, so that the run is still loading when it is cancelled.
  let requests = 0;
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await context.route('**/fixtures/unetr_tiny/model.onnx', async (route) => {
    requests++;
    if (requests === 1) return route.fulfill({ status: 404, body: 'not here' });
    if (requests === 2) await held;
    return route.continue();
  });
  await openStudio(page, { backend: 'wasm' });
  await pickFile(page, msdScan);
  const error = page.getByTestId('error');
  await expect(error).toContainText('Could not load the model “UNETR tiny (untrained test fixture)”');
  await expect(error).toContainText('HTTP 404');

  await page.getByRole('button', { name: 'Segment', exact: true }).click();
  await expect(page.getByTestId('progress')).toContainText('Loading UNETR tiny');
  await expect(error).toHaveCount(0);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('notice')).toHaveText(/Segmentation cancelled\./);
  await expect(page.getByTestId('progress')).toHaveCount(0);
  release();

  await page.getByRole('button', { name: 'Segment', exact: true }).click();
  expect(await waitForResult(page)).toBe('wasm');
  await expect(error).toHaveCount(0);
  await expect(page.getByTestId('notice')).toHaveCount(0);
  expect(requests).toBe(2); // the session built during the cancelled run was kept
});

test('a blank crop is refused; a noise crop through the trained model is flagged, not trusted', async ({ page }) => {
  const scan = readVolume(new Uint8Array(readFileSync(msdScan)), msdScan);
  const u = uniformStream(7);
  const nifti = (data: Float32Array) => Buffer.from(writeNifti({ ...scan, data }));
  await openStudio(page, { backend: 'wasm', model: 'swinunetr' });
  const error = page.getByTestId('error');

  await pickFile(page, { name: 'blank.nii', buffer: nifti(new Float32Array(scan.data.length)) });
  await expect(error).toContainText('holds the same value (0) in every voxel');
  await error.getByRole('button', { name: 'Dismiss' }).click();

  await pickFile(page, { name: 'noise.nii', buffer: nifti(Float32Array.from(scan.data, () => 50 + 40 * u())) });
  await waitForResult(page);
  await expect(page.getByTestId('warnings')).toContainText(/scattered|too small to be a whole hippocampus|found no hippocampus/);

  // The same studio then segments a real crop without a warning.
  await pickFile(page, msdScan);
  await expect(page.getByTestId('scan-name')).toHaveText(basename(msdScan));
  await waitForResult(page);
  await expect(page.getByTestId('warnings')).toHaveCount(0);
  await expect(error).toHaveCount(0);
});
