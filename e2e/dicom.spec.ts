/**
 * A DICOM folder: converted to NIfTI inside the page by NiiVue's dcm2niix (wasm, in its own
 * worker), then segmented like any scan. The series is written from a real MSD crop.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { dicomSeries } from './dicom-series';
import { msdScan, openStudio, readMask, scratchDir, waitForResult } from './helpers';

test.skip(!hasShared, sharedMissing);

test('a DICOM folder is converted in the page and segmented', async ({ page }) => {
  const dir = join(scratchDir('dicom'), 'series');
  rmSync(dir, { recursive: true, force: true });
  scratchDir('dicom/series');
  const scan = readMask(msdScan); // 32 × 47 × 32
  for (const file of dicomSeries(scan, 'Doe^Jane')) writeFileSync(join(dir, file.name), file.buffer);

  await openStudio(page, { backend: 'wasm' });
  await page.getByTestId('folder-input').setInputFiles(dir);
  await expect(page.getByTestId('scan-dims')).toHaveText('32 × 47 × 32');
  await expect(page.getByTestId('scan-name')).toHaveText(/\.nii$/);
  await expect(page.getByTestId('scan-name')).not.toContainText('Doe');
  expect(await waitForResult(page)).toBe('wasm');
  await expect(page.getByTestId('error')).toHaveCount(0);
});
