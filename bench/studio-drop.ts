/**
 * The studio's whole wait, drop to masks on screen, by stage (issue 13 item 4):
 *   npx vite build && npm run bench -- studio-drop [--reps N] [--scenarios cold-click,warm-click,warm-drop,next-drop] [--threads N] [--port P] [--no-marks 1 --warm-wait S] [--profile 1]
 *
 * Serves the production build (`vite preview`: cross-origin isolated, as shipped) and drives
 * Debian's headless Chromium (/usr/bin/chromium, or SEAHORSE_CHROMIUM; WebGL on SwiftShader,
 * no GPU) at 1440 × 900 with `?backend=wasm` (the studio's CPU fallback) on the default model.
 * Each run is a fresh browser context, so a fresh worker:
 *   - cold-click: "Try a sample scan" as soon as it shows (the idle warm-up may still run);
 *   - warm-click: the same click after the warm-up's mark (`seahorse:warmed`);
 *   - warm-drop: the sample file dropped on the page after the warm-up (read from disk, not fetched);
 *   - next-drop: the same drop onto a studio already showing a scan and its masks (a warm click on the
 *     sample first): what opening a second scan costs, the first one taken off the viewer included.
 * The figures are the studio's own (`seahorse:masks-on-screen` mark: src/app/wait-stages.ts),
 * the same numbers its side panel prints. The machine, its load average before and after each
 * run, the browser and its WebGL renderer are printed with the table; `--profile 1` also samples the
 * page's main thread (Chrome's CPU profiler, 2 ms) from the click to the masks and prints the
 * functions with the most self time (GPU calls such as texSubImage3D wait for the GPU process). On a shared machine the
 * wall times measure the neighbours too, so compare stage shares and ratios within one run.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describeRun, launchChromium, startPreview } from './lib/studio-preview';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const reps = Number(option('--reps') ?? 1);
/** The page's `?threads=`: onnxruntime-web's wasm thread count (the studio's own choice when absent). */
const threads = option('--threads');
// Not 4190: the Fetch standard lists it as a bad port (ManageSieve), and both Node's fetch and Chromium refuse it.
const port = Number(option('--port') ?? 4183);
type Scenario = 'cold-click' | 'warm-click' | 'warm-drop' | 'next-drop';
const scenarios = (option('--scenarios') ?? 'cold-click,warm-click,warm-drop').split(',') as Scenario[];
const sampleFile = join(root, 'public', 'samples', 'brainchop_t1_crop.nii.gz');

interface Breakdown {
  readonly totalMs: number;
  readonly stages: readonly { readonly stage: string; readonly ms: number }[];
  readonly scanShownMs?: number;
  readonly start: string;
}

interface Run {
  readonly scenario: Scenario;
  readonly breakdown: Breakdown;
  /** From just before the click (or drop) to the volumes table on screen, as Playwright saw it, ms. */
  readonly tableMs: number;
  /** The side panel's "Computed in" (the pipeline alone), s. */
  readonly computedS: number;
  readonly backend: string;
  /** Page load to the warm-up's end, ms, and its parts (absent when the run began before it ended). */
  readonly warmedMs?: number;
  readonly warmup?: Readonly<Record<string, number>>;
  readonly load: readonly [number, number];
}

async function warmedMark(page: Page): Promise<{ at: number; detail: Record<string, number> }> {
  await page.waitForFunction(() => performance.getEntriesByName('seahorse:warmed').length > 0, undefined, { timeout: 600_000, polling: 100 });
  return page.evaluate(() => {
    const mark = performance.getEntriesByName('seahorse:warmed')[0] as PerformanceMark;
    return { at: mark.startTime, detail: mark.detail as Record<string, number> };
  });
}

async function dropSample(page: Page): Promise<void> {
  const base64 = readFileSync(sampleFile).toString('base64');
  const transfer = await page.evaluateHandle(
    ([data, name]) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const t = new DataTransfer();
      t.items.add(new File([bytes], name));
      return t;
    },
    [base64, 'brainchop_t1_crop.nii.gz'] as const,
  );
  await page.dispatchEvent('.viewer', 'dragenter', { dataTransfer: transfer });
  await page.dispatchEvent('.viewer', 'drop', { dataTransfer: transfer });
}

async function runOnce(browser: Browser, scenario: Scenario): Promise<Run> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const before = loadavg()[0];
  await page.goto(`http://127.0.0.1:${port}/?backend=wasm${threads ? `&threads=${threads}` : ''}`);
  await page.getByTestId('try-sample').waitFor();
  let warmed: { at: number; detail: Record<string, number> } | undefined;
  if (scenario !== 'cold-click') {
    // An older studio has no warm-up mark: wait a fixed time instead.
    if (option('--no-marks')) await page.waitForTimeout(Number(option('--warm-wait') ?? 60) * 1000);
    else warmed = await warmedMark(page);
  }
  const cdp = option('--profile') ? await context.newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 2000 });
    await cdp.send('Profiler.start');
  }
  // next-drop: a scan and its masks on screen first; the mark counted is the drop's, the second.
  const marks = scenario === 'next-drop' ? 2 : 1;
  if (scenario === 'next-drop') {
    await page.getByTestId('try-sample').click();
    await page.waitForFunction(() => performance.getEntriesByName('seahorse:masks-on-screen').length > 0, undefined, { timeout: 900_000, polling: 100 });
  }
  const clicked = Date.now();
  if (scenario === 'warm-drop' || scenario === 'next-drop') await dropSample(page);
  else await page.getByTestId('try-sample').click();
  if (scenario === 'next-drop') await page.waitForFunction(() => performance.getEntriesByName('seahorse:masks-on-screen').length > 1, undefined, { timeout: 900_000, polling: 100 });
  await page.getByTestId('volumes-table').waitFor({ timeout: 900_000 });
  const tableMs = Date.now() - clicked;
  // A build without the stage marks (an older studio, for comparison) gives only the table time.
  const marked = await page
    .waitForFunction((n) => performance.getEntriesByName('seahorse:masks-on-screen').length >= n, marks, { timeout: option('--no-marks') ? 1 : 120_000, polling: 100 })
    .then(() => true, () => false);
  const breakdown = marked
    ? await page.evaluate(() => (performance.getEntriesByName('seahorse:masks-on-screen').at(-1) as PerformanceMark).detail as Breakdown)
    : { totalMs: NaN, stages: [], start: scenario };
  if (cdp) printProfile(scenario, (await cdp.send('Profiler.stop')).profile);
  const computed = (await page.getByText(/^Computed in [\d.]+ s/).textContent()) ?? '';
  const backend = (await page.getByTestId('backend-name').textContent()) ?? '';
  if (!option('--no-marks')) warmed ??= await warmedMark(page).catch(() => undefined);
  const after = loadavg()[0];
  await context.close();
  return {
    scenario,
    breakdown,
    tableMs,
    computedS: Number(/Computed in ([\d.]+) s/.exec(computed)?.[1] ?? NaN),
    backend,
    ...(warmed ? { warmedMs: warmed.at, warmup: warmed.detail } : {}),
    load: [before, after],
  };
}

/** The main thread's functions by self time, ms (top 15). */
function printProfile(scenario: string, profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples?: number[]; timeDeltas?: number[] }): void {
  const perNode = new Map<number, number>();
  profile.samples?.forEach((id, i) => perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0)));
  const self = new Map<string, number>();
  for (const n of profile.nodes) {
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop() ?? ''}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (perNode.get(n.id) ?? 0) / 1000);
  }
  console.log(`${scenario}: the page's main thread, self time`);
  for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${Math.round(ms).toLocaleString('en').padStart(9)} ms  ${name}`);
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (ms: number | undefined) => (ms === undefined ? '—' : Math.round(ms).toLocaleString('en')).padStart(7);
const share = (ms: number | undefined, total: number) => (ms === undefined ? '' : `${((100 * ms) / total).toFixed(0)} %`).padStart(5);

function printTable(runs: readonly Run[]): void {
  const stageNames = [...new Set(runs.flatMap((r) => r.breakdown.stages.map((s) => s.stage)))];
  const head = runs.map((r, i) => pad(`${r.scenario} #${i + 1}`, 14)).join(' ');
  console.log(`\n${pad('stage (ms, share)', 22)} ${head}`);
  for (const name of stageNames) {
    const cells = runs.map((r) => {
      const ms = r.breakdown.stages.find((s) => s.stage === name)?.ms;
      return pad(`${num(ms)} ${share(ms, r.breakdown.totalMs)}`, 14);
    });
    console.log(`${pad(name, 22)} ${cells.join(' ')}`);
  }
  console.log(`${pad('TOTAL, drop → masks', 22)} ${runs.map((r) => pad(`${num(r.breakdown.totalMs)}`, 14)).join(' ')}`);
  console.log(`${pad('volumes table (Playwright)', 22)} ${runs.map((r) => pad(num(r.tableMs), 14)).join(' ')}`);
  console.log(`${pad('scan on screen at', 22)} ${runs.map((r) => pad(num(r.breakdown.scanShownMs), 14)).join(' ')}`);
  console.log(`${pad('"Computed in" (s)', 22)} ${runs.map((r) => pad(String(r.computedS).padStart(7), 14)).join(' ')}`);
  console.log(`${pad('backend', 22)} ${runs.map((r) => pad(r.backend.padStart(7), 14)).join(' ')}`);
  console.log(`${pad('load avg before/after', 22)} ${runs.map((r) => pad(`${r.load[0].toFixed(1)}/${r.load[1].toFixed(1)}`.padStart(9), 14)).join(' ')}`);
  for (const [i, r] of runs.entries()) {
    if (r.warmup) {
      const parts = Object.entries(r.warmup).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ');
      console.log(`#${i + 1} ${r.scenario}: warm-up ended ${Math.round(r.warmedMs!)} ms after page load (${parts} ms)`);
    }
  }
}

const server = await startPreview(port);
let browser: Browser | undefined;
try {
  browser = await launchChromium();
  console.log(await describeRun('studio-drop', browser));
  console.log(`1440 × 900, ?backend=wasm${threads ? `&threads=${threads}` : ''}, sample ${sampleFile.split('/').pop()}`);
  const runs: Run[] = [];
  for (let r = 0; r < reps; r++) {
    for (const scenario of scenarios) {
      const run = await runOnce(browser, scenario);
      runs.push(run);
      console.log(`${scenario}: ${Math.round(run.breakdown.totalMs)} ms drop → masks, ${run.tableMs} ms to the volumes table (load ${run.load.map((l) => l.toFixed(1)).join(' → ')})`);
    }
  }
  printTable(runs);
} finally {
  await browser?.close();
  server.kill();
}
