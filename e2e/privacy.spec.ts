/**
 * Privacy: the page, its workers and its assets come from its own origin only, and opening,
 * segmenting and exporting a scan sends nothing anywhere: no request to another host, and no
 * request that carries a body (a scan can only leave in a body or a URL).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, test, type Request } from '@playwright/test';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { dropFile, exportMask, msdScan, openStudio, scratchDir, waitForResult } from './helpers';

test.skip(!hasShared, sharedMissing);

test('a dropped scan is segmented without any request leaving the origin or carrying scan data', async ({ page, context }) => {
  const requests: Request[] = [];
  // The context sees requests of the page and of its dedicated workers.
  context.on('request', (request) => requests.push(request));

  await openStudio(page, { backend: 'wasm' });
  await page.waitForLoadState('networkidle');
  const origin = new URL(page.url()).origin;
  const atLoad = requests.length;

  await dropFile(page, msdScan);
  await waitForResult(page);
  await exportMask(page, scratchDir('privacy'));

  const urls = requests.map((r) => r.url());
  const foreign = urls.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('blob:') && !url.startsWith('data:'));
  expect(foreign, 'requests to other hosts').toEqual([]);
  for (const url of urls.filter((u) => u.startsWith('blob:'))) expect(url.startsWith(`blob:${origin}/`)).toBe(true);

  // The recorder must see the worker's own fetches, or the test would prove nothing.
  const afterLoad = urls.slice(atLoad);
  expect(afterLoad.some((url) => url.endsWith('/fixtures/unetr_tiny/model.onnx'))).toBe(true);

  const withBody = requests.filter((r) => (r.postDataBuffer()?.length ?? 0) > 0);
  expect(withBody.map((r) => `${r.method()} ${r.url()}`), 'requests carrying a body').toEqual([]);
  expect(requests.every((r) => r.method() === 'GET')).toBe(true);

  // No URL holds a piece of the scan (e.g. smuggled in a query string).
  const scanName = basename(msdScan, '.nii.gz');
  const probe = readFileSync(msdScan).subarray(100, 116).toString('base64');
  for (const url of afterLoad) {
    expect(url).not.toContain(scanName);
    expect(decodeURIComponent(url)).not.toContain(probe);
  }
});
