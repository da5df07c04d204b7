/**
 * What a newcomer meets in the built studio, in one page load: a real crop segmented by the
 * test model, the Fine-tune dock open, then
 * - layout: at 1024 × 768, 1280 × 800, 1440 × 900 and 1920 × 1080 no control of the header, the
 *   side panel or the dock is clipped, covered, overlapped or squashed (e2e/layout.ts);
 * - accessibility: axe-core finds no serious or critical violation, on the empty page and with
 *   every panel showing; Tab walks the controls in the order they are laid out;
 * - the report: one click gives a PDF holding the figures on screen.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { pdfPages } from '../src/report/pdf-text';
import { hasShared, sharedMissing } from '../src/testing/shared';
import { msdScan, openStudio, pickFile, waitForResult } from './helpers';
import { layoutProblems } from './layout';

test.skip(!hasShared, sharedMissing);

const SIZES = [
  [1024, 768],
  [1280, 800],
  [1440, 900],
  [1920, 1080],
] as const;
/** The page's regions in layout order, left to right and top to bottom. */
const REGIONS = ['header.header', 'section.viewer', 'aside.panel:not(.finetune-panel)', 'aside.finetune-panel'];
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Tabs through the page once; each stop as its region and position in that region's content. */
async function tabStops(page: Page): Promise<{ region: number; top: number; left: number; bottom: number; name: string }[]> {
  // From the first control in the header (the model choice) round to it again.
  await page.getByRole('combobox', { name: 'Model', exact: true }).focus();
  const stops: { region: number; top: number; left: number; bottom: number; name: string }[] = [];
  for (let n = 0; n < 150; n++) {
    if (n > 0) await page.keyboard.press('Tab');
    const stop = await page.evaluate((regions) => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const region = regions.findIndex((r) => el.closest(r));
      const box = region >= 0 ? el.closest(regions[region])! : document.documentElement;
      const r = el.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      const name = `${el.tagName.toLowerCase()} ${el.getAttribute('aria-label') ?? el.innerText?.slice(0, 30) ?? ''}`;
      return { region, top: r.top - b.top + box.scrollTop, bottom: r.bottom - b.top + box.scrollTop, left: r.left - b.left, name };
    }, REGIONS);
    if (!stop) continue; // the browser's own stop between the page's last control and its first
    if (stops.length > 0 && stop.name === stops[0].name && stop.region === stops[0].region) break;
    stops.push(stop);
  }
  return stops;
}

test('first use: layout at four sizes, accessibility, focus order, a one-click PDF report', async ({ page }) => {
  test.setTimeout(600_000);
  await openStudio(page, { backend: 'wasm' });
  expect.soft(await seriousViolations(page), 'axe on the empty studio').toEqual([]);

  await pickFile(page, msdScan);
  await waitForResult(page);
  await page.getByTestId('finetune-open').click();
  await expect(page.getByRole('complementary', { name: 'Fine-tune' })).toBeVisible();
  await expect(page.getByLabel('Method')).toHaveValue('lorapt'); // the test model is a UNETR

  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(200);
    expect.soft(await layoutProblems(page, ['header.header', REGIONS[2], REGIONS[3]]), `layout at ${width} × ${height}`).toEqual([]);
  }

  await page.setViewportSize({ width: 1440, height: 900 });
  expect.soft(await seriousViolations(page), 'axe with the results and the Fine-tune dock').toEqual([]);

  const stops = await tabStops(page);
  expect(stops.length).toBeGreaterThan(20);
  expect(new Set(stops.map((s) => s.region))).toEqual(new Set([0, 2, 3].concat(stops.some((s) => s.region === 1) ? [1] : [])));
  for (let i = 1; i < stops.length; i++) {
    const [a, b] = [stops[i - 1], stops[i]];
    const context = `${a.name} → ${b.name}`;
    expect(b.region, context).toBeGreaterThanOrEqual(a.region);
    // In a region: downwards, or to the right on the same row.
    if (b.region === a.region) expect(b.top >= a.top - 2 || (b.left > a.left && b.top < a.bottom), context).toBe(true);
  }

  const table = page.getByTestId('volumes-table');
  const mm3 = await table.locator('tbody tr td:nth-child(3)').allTextContents();
  const warnings = await page.getByTestId('warnings').locator('li').allTextContents();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Report (PDF)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('hippocampus_205_unetr-tiny-test_report.pdf');
  const pages = await pdfPages(new Uint8Array(readFileSync(await file.path())));
  const text = pages.map((p) => p.text).join('\n');
  for (const needle of [basename(msdScan), '32 × 47 × 32', 'UNETR tiny', 'not recorded in the model', 'UNTRAINED TEST MODEL', 'Not a medical device.', 'wasm']) {
    expect(text).toContain(needle);
  }
  for (const v of mm3) expect(text).toContain(`\n${v}\n`);
  for (const w of warnings) expect(text.replace(/\n/g, ' ')).toContain(`Warning: ${w}`);
  expect(pages.reduce((n, p) => n + p.images, 0)).toBe(3); // a crop: one hippocampus, three views
});
