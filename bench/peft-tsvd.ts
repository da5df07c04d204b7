/**
 * LoRA-PT's t-SVD initialisation time: `npm run bench -- peft-tsvd [--rank 1] [--tol <t>]
 * [--weights random | <model.onnx>] [--small] [--browser]`.
 *
 * The paper's UNETR-768 tensors (peft-methods.md §2.3): W_up 12×3072×768, W_sa 48×768×768,
 * W_down 12×768×3072. Per tensor: the stacked-axis DFT, then the top-r triplets of each of the
 * ⌊n3/2⌋+1 Fourier slices (thick-restart Lanczos on the Gram matrix with WebAssembly SIMD
 * products; Jacobi for small slices), then the inverse DFT of the factors. Each run times the
 * slices decomposed serially (one thread) and on a pool of workers (worker_threads in Node, Web
 * Workers nested in the studio-like worker in Chromium), and checks that the pooled factors equal
 * the serial ones bit for bit. The issue's target is < 10 s for the whole model.
 * `--tol` defaults to principalTSVD's (float32 unit roundoff, 2⁻²⁴).
 *
 * Weights: `random` (default) draws every slice from torch's nn.Linear initialisation
 * U(±1/√in): an untrained model, whose flat Marchenko–Pastur spectrum is the slowest case for
 * Lanczos (tiny gaps at the top). A path to a MONAI UNETR ONNX export (external data beside it)
 * times its real weights instead (Node only). `--small` uses UNETR-384 sizes for a quick run.
 * `--browser` also runs the random case in headless Chromium, in a Web Worker.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { createCpuEngine } from '../src/engine';
import { readOnnxModel } from '../src/models/load';
import { UNETR } from '../src/models/unetr';
import { decodeModel, externalLocations } from '../src/onnx';
import { serialSvdPool } from '../src/peft/linalg/svd-pool';
import { nodeSvdPool } from '../src/peft/linalg/svd-pool-node';
import { loraptTensorSpecs, type LoraptTensorSpec } from '../src/peft/targets';
import { FLOAT32_TOLERANCE } from '../src/peft/tsvd';
import { randomLinearWeight, timeTsvds, type TsvdTiming } from './lib/tsvd-tensors';
import type { TsvdJob } from './pages/tsvd-bench.worker';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rank = Number(opt('rank', '1'));
const tol = args.includes('--tol') ? Number(opt('tol', '')) : undefined;
const weights = opt('weights', 'random');
const small = args.includes('--small');
const browser = args.includes('--browser');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

interface Tensors {
  specs: LoraptTensorSpec[];
  shapes: Record<string, [number, number]>;
  read: (param: string) => Float32Array;
  what: string;
}

function tensorsFor(): Tensors {
  if (weights !== 'random') {
    if (!existsSync(weights)) throw new Error(`no such ONNX file: ${weights}`);
    const bytes = new Uint8Array(readFileSync(weights));
    const ext = new Map(externalLocations(decodeModel(bytes)).map((l) => [l, new Uint8Array(readFileSync(join(dirname(weights), l)))]));
    const { spec, source } = readOnnxModel(bytes, { externalData: ext, label: weights });
    if (spec.kind !== 'unetr') throw new Error(`${weights} is a ${spec.kind}; LoRA-PT needs a UNETR`);
    const m = new UNETR(createCpuEngine(), spec.config);
    return { specs: loraptTensorSpecs(m), shapes: {}, read: (p) => source.read(p), what: `weights of ${weights}` };
  }
  const hidden = small ? 384 : 768;
  const m = new UNETR(createCpuEngine(), { inChannels: 1, outChannels: 2, imgSize: 128, hiddenSize: hidden, mlpDim: 4 * hidden, numHeads: 12 });
  const specs = loraptTensorSpecs(m);
  const all = new Map(m.paramSpecs.map((s) => [s.name, s.shape]));
  const shapes: Record<string, [number, number]> = {};
  for (const s of specs) for (const { param } of s.slices) shapes[param] = all.get(param)!.slice(0, 2) as [number, number];
  return { specs, shapes, read: (p) => randomLinearWeight(p, shapes[p][0], shapes[p][1]), what: `random nn.Linear initialisation (untrained; UNETR-${hidden})` };
}

function table(timings: TsvdTiming[]): string {
  const rows = [['pool', 'tensor', 'shape (n3×n1×n2)', 'DFT s', 't-SVD s', 'CPU s', 'max residual', 'converged', '= serial']];
  const modes = [...new Set(timings.map((t) => t.mode))];
  for (const mode of modes) {
    const ts = timings.filter((t) => t.mode === mode);
    for (const t of ts) {
      rows.push([mode, t.tensor, t.shape, t.dftS.toFixed(2), t.wallS.toFixed(2), t.cpuS === null ? '—' : t.cpuS.toFixed(2), t.residual.toExponential(1), String(t.converged), t.identical === null ? '—' : t.identical ? 'bit-identical' : 'DIFFERENT']);
    }
    const sum = (f: (t: TsvdTiming) => number | null) => ts.reduce((a, t) => a + (f(t) ?? 0), 0);
    rows.push([mode, 'total', '', '', sum((t) => t.wallS).toFixed(2), ts[0]?.cpuS === null ? '—' : sum((t) => t.cpuS).toFixed(2), '', '', '']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

async function inChromium(job: TsvdJob): Promise<string> {
  const server = await createServer({ configFile: false, root: process.cwd(), logLevel: 'error', server: { host: '127.0.0.1', port: 0 }, optimizeDeps: { noDiscovery: true } });
  await server.listen();
  const b = await chromium.launch({ executablePath: process.env.SEAHORSE_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await b.newPage();
    page.setDefaultTimeout(0);
    await page.goto(`${server.resolvedUrls!.local[0]}bench/pages/tsvd-bench.html`);
    await page.waitForFunction(() => 'tsvdBench' in window);
    const reply = await page.evaluate((j) => window.tsvdBench.run(j), job);
    return `Chromium ${b.version()} (headless; inside one Web Worker, as the studio's training worker; navigator.hardwareConcurrency ${reply.cores})\n${table(reply.timings)}`;
  } finally {
    await b.close();
    await server.close();
  }
}

const { specs, shapes, read, what } = tensorsFor();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
console.log(`LoRA-PT t-SVD, rank ${rank}, Lanczos tolerance ${tol ?? `${FLOAT32_TOLERANCE.toExponential(2)} (default, float32)`}, ${what}`);
console.log(`Device: ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} logical cores, available parallelism ${availableParallelism()}); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`Node ${process.version}`);
const serial = await timeTsvds(specs, read, rank, tol, cpuMs, 'serial', serialSvdPool());
const pool = nodeSvdPool();
let pooled;
try {
  pooled = await timeTsvds(specs, read, rank, tol, cpuMs, `${pool.size} worker_threads`, pool, serial.factors);
} finally {
  pool.dispose();
}
console.log(table([...serial.timings, ...pooled.timings]));
if (browser) {
  if (weights !== 'random') console.log('(Chromium: random weights only)');
  else console.log(await inChromium({ specs, shapes, rank, tol }));
}
console.log(`Load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('Target: < 10 s for the whole model. Wall time includes waiting for the CPU when the machine is shared; CPU time (all threads) does not. A pool\'s first tensor includes its workers\' start-up.');
