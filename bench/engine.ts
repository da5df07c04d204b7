/**
 * Engine benchmark: `npm run bench -- engine [--full] [--sizes 1024,2048] [--scale N] [--reps N] [--ops matmul|conv3d]
 *   [--no-browser] [--no-models]`; `npm run bench -- engine --cpu` compares the wasm engine with
 *   PyTorch on the CPU instead (bench/lib/wasm-vs-torch.ts).
 *
 * Prints, for the device it runs on, matmul and Conv3d GFLOP/s of the WGSL engine (in Node via
 * the `webgpu` package, and in headless Chromium) beside onnxruntime-web's WebGPU EP measured
 * in the same Chromium page on the same GPUDevice; then forward+backward step time and peak
 * engine memory of UNETR and SwinUNETR at batch 1. On software adapters (no GPU) the default
 * sizes are scaled down and the table says so; `--full` runs the sizes anyway.
 */
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { conv3d, createWebGPUEngine, matmul, type Engine, type Tensor } from '../src/engine';
import { nodeLane, requestNodeDevice } from '../src/engine/device-node';
import { benchCases, flops, shapeOf, type BenchCase } from './lib/cases';
import { modelSteps } from './lib/engine-models';
import type { BrowserTiming } from './pages/engine-bench-page';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
if (flag('cpu')) {
  // No GPU: the wasm engine against PyTorch on the same cores (bench/lib/wasm-vs-torch.ts).
  const { wasmVsTorch } = await import('./lib/wasm-vs-torch');
  await wasmVsTorch(args);
  process.exit(0);
}
const num = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];

/** Adapters that run on the CPU (no GPU): sizes are scaled down unless --full. */
function isSoftware(description: string): boolean {
  return /swiftshader|llvmpipe|softpipe|lavapipe|software/i.test(description);
}

async function median(run: () => Promise<void>, reps: number): Promise<number> {
  await run();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function nodeTiming(engine: Engine, c: BenchCase, reps: number): Promise<number> {
  const [sa, sb] = c.kind === 'matmul' ? [[c.M, c.K], [c.K, c.N]] : [c.x, c.w];
  const a = engine.rand(sa, { seed: 1 });
  const b = engine.rand(sb, { seed: 2 });
  const op = (): Tensor => (c.kind === 'matmul' ? matmul(a, b) : conv3d(a, b, null, { padding: c.pad }));
  try {
    return await median(async () => {
      op().dispose();
      await engine.sync();
    }, reps);
  } finally {
    a.dispose();
    b.dispose();
  }
}

async function browserSide(cases: BenchCase[], reps: number): Promise<{ adapter: string; timings: (BrowserTiming | string)[] }> {
  const server = await createServer({
    configFile: false,
    root: process.cwd(),
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0 },
    // No dependency discovery: a late discovery makes Vite reload the page mid-benchmark.
    optimizeDeps: { noDiscovery: true, include: ['onnx-proto'], exclude: ['onnxruntime-web'] },
  });
  await server.listen();
  const browser = await chromium.launch({ executablePath: process.env.SEAHORSE_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    await page.goto(`${server.resolvedUrls!.local[0]}bench/pages/engine-bench.html`);
    await page.waitForFunction(() => 'engineBench' in window);
    const adapter = await page.evaluate(() => window.engineBench.adapter());
    const timings: (BrowserTiming | string)[] = [];
    for (const c of cases) {
      process.stderr.write(`  browser: ${c.label}…\n`);
      await page.waitForFunction(() => 'engineBench' in window);
      timings.push(await page.evaluate(([cc, r]) => window.engineBench.benchCase(cc, r), [c, reps] as const).catch((e: Error) => e.message.split('\n')[0]));
    }
    return { adapter, timings };
  } finally {
    await browser.close();
    await server.close();
  }
}

const gflops = (c: BenchCase, ms: number | null | undefined) => (ms ? (flops(c) / (ms * 1e6)).toPrecision(3) : '—');

async function main(): Promise<void> {
  const dev = await requestNodeDevice();
  const engine = createWebGPUEngine(dev);
  const software = isSoftware(dev.description) || nodeLane() === 'opengl' && !/nvidia|amd|intel|apple/i.test(dev.description);
  const full = flag('full');
  const scale = num('scale', software && !full ? 4 : 1);
  const i = args.indexOf('--sizes');
  const sizes = i >= 0 ? args[i + 1].split(',').map(Number) : software && !full ? [256, 512, 1024] : [1024, 2048, 4096];
  const reps = num('reps', software ? 3 : 10);
  const only = args.includes('--ops') ? args[args.indexOf('--ops') + 1] : 'all';
  const cases = benchCases(sizes, scale).filter((c) => only === 'all' || c.kind === only);
  console.log(`# engine benchmark — ${new Date().toISOString()}`);
  console.log(`Node device: ${dev.description} (lane ${nodeLane()}); maxStorageBufferBindingSize ${dev.limits.maxStorageBufferBindingSize}, maxBufferSize ${dev.limits.maxBufferSize}`);
  if (software && !full) console.log(`Software adapter: matmul at ${sizes.join('/')}³ and decoder convs at 1/${scale} of the paper resolution (--full for the issue's sizes).`);
  const node: (number | string)[] = [];
  for (const c of cases) {
    process.stderr.write(`  node: ${c.label}…\n`);
    node.push(await nodeTiming(engine, c, reps).catch((e: Error) => `${e.name}: ${e.message}`));
  }
  const browser = flag('no-browser') ? null : await browserSide(cases, reps);
  if (browser) console.log(`Chromium device: ${browser.adapter}`);
  console.log(`\nMedian of ${reps} runs after a warm-up; GFLOP/s = 2·MACs / time.\n`);
  console.log('| op | shape | GFLOP | engine, Node | engine, Chromium | ORT-web WebGPU, Chromium | engine / ORT |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  cases.forEach((c, i) => {
    const n = node[i];
    const b = browser?.timings[i];
    const bt = typeof b === 'object' ? b : null;
    const ratio = bt?.ortMs ? (bt.ortMs / bt.engineMs).toFixed(2) : '—';
    const nodeCell = typeof n === 'number' ? gflops(c, n) : n;
    const ortCell = bt ? (bt.ortMs ? gflops(c, bt.ortMs) : `failed: ${bt.ortError}`) : typeof b === 'string' ? b : 'not run';
    console.log(`| ${c.label} | ${shapeOf(c)} | ${(flops(c) / 1e9).toFixed(2)} | ${nodeCell} | ${bt ? gflops(c, bt.engineMs) : '—'} | ${ortCell} | ${ratio} |`);
  });
  if (!flag('no-models')) {
    console.log('\n| model (batch 1) | input | forward+backward step | peak engine memory | note |');
    console.log('|---|---|---:|---:|---|');
    for (const row of await modelSteps(engine, { software: software && !full })) console.log(row);
  }
  engine.dispose();
}

await main();
process.exit(0);
