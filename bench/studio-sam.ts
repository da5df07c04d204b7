/**
 * The prompt tool's wait in the studio, by onnxruntime-web wasm thread count:
 *   npx vite build && npm run bench -- studio-sam [--threads 1,2] [--reps N] [--port P]
 *
 * The production build (`vite preview`, cross-origin isolated) in headless Chromium, 1360 × 820,
 * `?backend=wasm&threads=<n>`, one fresh browser context per run. Each run drops the MSD crop
 * the e2e suite uses, opens the prompt tool in 3-D box mode on two views and drags what e2e/sam.spec.ts drags:
 *   - first drag, a box on the coronal view, `--rest` seconds after the tool opened: SAM's sessions
 *     start and the slice is encoded (ahead of the drag where the rest allows), then decoded;
 *   - second drag, on the sagittal view: the 3-D box's slices on all three planes;
 *   - the same two drags again (a box redone): its slices come from the worker's embedding cache.
 * The times are from the mouse's release to the panel's mask line, as Playwright saw them.
 * Thread counts alternate within a repetition, so both see the same machine.
 */
import { loadavg } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { dragBox, dropFile, msdScan } from '../e2e/helpers';
import { describeRun, launchChromium, startPreview } from './lib/studio-preview';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const threadCounts = (option('--threads') ?? '1,2').split(',').map(Number);
const reps = Number(option('--reps') ?? 1);
const port = Number(option('--port') ?? 4184);
/**
 * Seconds between opening the prompt tool and the first drag (default 0): a user looking for
 * the slice. The tool encodes the crosshair's slice meanwhile, so the first drag then needs
 * only the decoder.
 */
const restS = Number(option('--rest') ?? 0);
const MASK_WAIT_MS = 1_800_000;
/** e2e/sam.spec.ts's two drags, as fractions of the viewer canvas: the coronal view's box, then the sagittal view's. */
const CORONAL_DRAG: [readonly [number, number], readonly [number, number]] = [[0.26, 0.12], [0.32, 0.22]];
const SAGITTAL_DRAG: [readonly [number, number], readonly [number, number]] = [[0.59, 0.12], [0.67, 0.22]];

interface Run {
  readonly threads: number;
  /** First drag's release → its slice's mask line, ms (sessions started, one slice encoded). */
  readonly firstMs: number;
  /** Second drag's release → the 3-D box's mask line, ms. */
  readonly boxMs: number;
  /** The same second drag after the first again → the redone box's mask line, ms. */
  readonly redoMs: number;
  readonly slices: number;
  readonly voxels: number;
  readonly backend: string;
  readonly load: readonly [number, number];
}

async function maskLine(page: Page, pattern: RegExp): Promise<string> {
  const preview = page.getByTestId('sam-preview');
  await preview.filter({ hasText: pattern }).waitFor({ timeout: MASK_WAIT_MS });
  return (await preview.textContent()) ?? '';
}

async function runOnce(browser: Browser, threads: number): Promise<Run> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 820 } });
  const page = await context.newPage();
  const before = loadavg()[0];
  await page.goto(`http://127.0.0.1:${port}/?model=unetr-tiny-test&backend=wasm&threads=${threads}`);
  await dropFile(page, msdScan);
  await page.getByTestId('volumes-table').waitFor({ timeout: MASK_WAIT_MS });
  await page.getByTestId('sam-open').click();
  await page.getByTestId('sam-mode-box3d').click();
  await page.getByTestId('sam-views-2').click(); // as e2e/sam.spec.ts: two views
  await page.waitForTimeout(restS * 1000);

  await dragBox(page, ...CORONAL_DRAG);
  const first = Date.now();
  await maskLine(page, /coronal slice \d+/);
  const firstMs = Date.now() - first;

  await dragBox(page, ...SAGITTAL_DRAG);
  const second = Date.now();
  const line = await maskLine(page, /3-D box of \d+ × \d+ × \d+ voxels, \d+ slices/);
  const boxMs = Date.now() - second;

  await dragBox(page, ...CORONAL_DRAG);
  await maskLine(page, /coronal slice \d+/);
  await dragBox(page, ...SAGITTAL_DRAG);
  const third = Date.now();
  await maskLine(page, /3-D box of \d+ × \d+ × \d+ voxels, \d+ slices/);
  const redoMs = Date.now() - third;
  const backend = (await page.getByTestId('sam-backend').textContent()) ?? '';
  await context.close();
  return {
    threads,
    firstMs,
    boxMs,
    redoMs,
    slices: Number(/(\d+) slices/.exec(line)?.[1]),
    voxels: Number(/Mask: ([\d,]+) voxels/.exec(line)?.[1].replaceAll(',', '')),
    backend,
    load: [before, loadavg()[0]],
  };
}

const server = await startPreview(port);
let browser: Browser | undefined;
try {
  browser = await launchChromium();
  console.log(await describeRun('studio-sam', browser));
  console.log(`1360 × 820, ?backend=wasm, ${msdScan.split('/').pop()}, the prompt tool's default decoder, 3-D box mode, first drag ${restS} s after the tool opened`);
  const runs: Run[] = [];
  for (let r = 0; r < reps; r++) {
    for (const threads of threadCounts) {
      const run = await runOnce(browser, threads);
      runs.push(run);
      console.log(`${threads} thread(s): first drag ${run.firstMs} ms, 3-D box ${run.boxMs} ms, redone ${run.redoMs} ms (${run.slices} slices, ${run.voxels} voxels; load ${run.load.map((l) => l.toFixed(1)).join(' → ')})`);
    }
  }
  console.log('\n| wasm threads | first drag: sessions + 1 slice, s | 3-D box, s | slices | s per slice | the box redone, s | mask voxels | load before/after | the panel says |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of runs) {
    console.log(
      `| ${r.threads} | ${(r.firstMs / 1000).toFixed(1)} | ${(r.boxMs / 1000).toFixed(1)} | ${r.slices} | ${(r.boxMs / 1000 / r.slices).toFixed(2)} | ${(r.redoMs / 1000).toFixed(1)} | ${r.voxels.toLocaleString('en')} | ${r.load.map((l) => l.toFixed(1)).join(' / ')} | ${r.backend} |`,
    );
  }
} finally {
  await browser?.close();
  server.kill();
}
