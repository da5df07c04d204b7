/**
 * `npm run dev` is the README's first command: the dev server (`vite`, sources transformed on
 * request, not the build) must give a studio in which the sample scan opens and segments, with
 * no console error. Every other spec runs against `vite preview` on the built files, which did
 * not catch a dev-only failure (the `/models/` middleware answering Vite's module requests).
 */
import { expect, test } from '@playwright/test';
import { openStudio, waitForResult } from './helpers';

// The smallest supported window: SwiftShader draws the 256³ scan's four NiiVue tiles (one a 3-D
// render) on the CPU, and fewer pixels leave more of the two cores to the segmentation.
test.use({ viewport: { width: 1024, height: 768 } });

test('the dev server: the studio renders, "Try a sample scan" opens a full head and the test model segments it, no console errors', async ({ page }) => {
  // The dev server transforms modules on first request: the first page load is slow on 2 cores.
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));

  await openStudio(page, { backend: 'wasm' });
  await page.getByRole('button', { name: 'Try a sample scan' }).click();
  await expect(page.getByTestId('scan-kind')).toHaveText('256 × 256 × 256 mm: whole head', { timeout: 300_000 });
  expect(await waitForResult(page)).toBe('wasm');
  await expect(page.getByTestId('notice')).toContainText('brainchop, MIT licence');
  const rows = page.getByTestId('volumes-table').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('left hippocampus');
  await expect(rows.nth(1)).toContainText('right hippocampus');
  // The model named in the URL is used as it is, and the results name it.
  await expect(page.getByTestId('result-model')).toHaveText(/^By .+\.$/);
  await expect(page.getByTestId('result-model')).not.toContainText('Protocol setting');
  expect(errors).toEqual([]);
});
