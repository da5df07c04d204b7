/**
 * The studio end to end: a real MSD crop in, masks out, on WebGPU and on the forced wasm
 * fallback; the exported mask must equal the Node CLI's voxel for voxel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { ModelManifest } from '../src/infer/manifest';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { cliMask, expectWaitLine, exportMask, msdScan, openStudio, pickFile, readMask, repoRoot, scratchDir, testModel, waitForResult } from './helpers';
import { countColour, decodePng } from './png';

test.skip(!hasShared, sharedMissing);

const manifest = JSON.parse(readFileSync(join(repoRoot, 'models', `${testModel}.json`), 'utf8')) as ModelManifest;
const structures = manifest.labels.filter((l) => l.value !== 0);

/** The CLI's mask for the test scan, computed once for both backends. */
let cliPath: string;
test.beforeAll(() => {
  cliPath = cliMask(msdScan, join(scratchDir('studio'), 'cli-mask.nii.gz'));
});

async function expectMaskEqualsCli(page: Page, name: string): Promise<void> {
  const exported = readMask(await exportMask(page, scratchDir(name)));
  const cli = readMask(cliPath);
  expect(exported.dims).toEqual(cli.dims);
  expect(Array.from(exported.affine)).toEqual(Array.from(cli.affine));
  expect(exported.data).toBeInstanceOf(Uint8Array);
  let differing = 0;
  for (let i = 0; i < cli.data.length; i++) if (exported.data[i] !== cli.data[i]) differing++;
  expect(differing, 'voxels where the studio and the CLI disagree').toBe(0);
  // Both masks hold foreground: an all-background pair would match trivially.
  expect(cli.data.some((v) => v > 0)).toBe(true);
}

/** Viewer pixels showing each label's colour, with the masks drawn at `opacity`. */
async function labelPixels(page: Page, opacity: number): Promise<Map<string, number>> {
  await page.getByRole('slider', { name: 'Mask opacity' }).fill(String(opacity));
  await page.waitForTimeout(500); // NiiVue redraws on the next animation frame
  const image = decodePng(await page.getByTestId('viewer-canvas').screenshot());
  // ±8 per channel absorbs blending and colour-space rounding; grey scan voxels never
  // come within 8 of a saturated label colour.
  return new Map(structures.map((l) => [l.name, countColour(image, l.rgb, 8)]));
}

test('segments a real scan on WebGPU: overlay, volumes, export equal to the CLI; survives a GPU crash', async ({ page, browser }) => {
  test.setTimeout(900_000); // SwiftShader WebGPU: a trial window and two 32³ windows
  // Compute: "WebGPU, even without a GPU": on Auto the studio passes over SwiftShader for wasm.
  await openStudio(page, { backend: 'webgpu' });
  await expect(page.getByTestId('untrained-badge')).toHaveText('untrained test model — output is not a segmentation');
  await pickFile(page, msdScan);
  await expect(page.getByTestId('scan-dims')).toHaveText('32 × 47 × 32');
  expect(await waitForResult(page)).toBe('webgpu');
  await expect(page.getByTestId('backend-reason')).toContainText('WebGPU on');

  const rows = page.getByTestId('volumes-table').locator('tbody tr');
  await expect(rows).toHaveCount(structures.length);
  for (const label of structures) await expect(page.getByTestId('volumes-table')).toContainText(label.name);

  // The masks are drawn: label colours fill the viewer at full opacity and vanish at zero.
  const shown = await labelPixels(page, 1);
  const hidden = await labelPixels(page, 0);
  for (const label of structures) {
    expect(shown.get(label.name), `viewer pixels coloured as ${label.name}`).toBeGreaterThan(100);
    expect(hidden.get(label.name)).toBeLessThan((shown.get(label.name) ?? 0) / 10);
  }

  await expectMaskEqualsCli(page, 'webgpu');

  // The GPU process crashes (a driver reset): the worker's WebGPU device is lost and NiiVue's
  // WebGL context with it. The page says so, redraws the scan and masks, and keeps working.
  const cdp = await browser.newBrowserCDPSession();
  await cdp.send('Browser.crashGpuProcess');
  await expect(page.getByTestId('notice')).toContainText('WebGPU device lost', { timeout: 60_000 });
  await expect
    .poll(async () => (await labelPixels(page, 1)).get(structures[0].name), { timeout: 60_000 })
    .toBeGreaterThan(100);

  // The settings switch to the CPU re-runs the open scan on wasm.
  await page.getByRole('combobox', { name: 'Compute backend' }).selectOption('wasm');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 180_000 });
  await waitForResult(page);
  await expectMaskEqualsCli(page, 'webgpu-then-wasm');
});

test('?backend=wasm forces the wasm fallback, here on two onnxruntime threads: export equal to the CLI', async ({ page }) => {
  // Two threads whatever the cores: the build ships onnxruntime-web's loader as a file of its own, so its thread
  // workers start (inlined in our worker's bundle they never did, and no session opened).
  await openStudio(page, { backend: 'wasm', threads: '2' });
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(page.getByRole('combobox', { name: 'Compute backend' })).toHaveValue('wasm');
  await pickFile(page, msdScan);
  expect(await waitForResult(page)).toBe('wasm');
  await expect(page.getByTestId('backend-reason')).toContainText('wasm was selected (settings or ?backend=wasm); wasm on 2 threads');
  // The whole wait by stage (issue 13): from the pick to the masks drawn, adding up.
  const stages = await expectWaitLine(page, 'the file was picked');
  expect(stages.has('segmenting')).toBe(true);
  await expectMaskEqualsCli(page, 'wasm');

  // A GPU reset takes NiiVue's WebGL context: the viewer comes back on a fresh canvas,
  // scan and masks included.
  const lost = await page.getByTestId('viewer-canvas').evaluate((canvas: HTMLCanvasElement) => {
    const lose = canvas.getContext('webgl2')?.getExtension('WEBGL_lose_context');
    lose?.loseContext();
    return lose !== undefined && lose !== null;
  });
  expect(lost).toBe(true);
  await expect
    .poll(async () => (await labelPixels(page, 1)).get(structures[0].name), { timeout: 60_000 })
    .toBeGreaterThan(100);
});
