/**
 * onnxruntime-web's two builds on the wasm provider, for a shipped model:
 *   npm run bench -- ort-builds [--model swinunetr-fs] [--windows 5]
 * The studio's worker runs wasm sessions on the plain SIMD build (`ortForWasm`) and WebGPU
 * sessions on the WebGPU build (`ortForWebGpu`), whose wasm binary is compiled with asyncify.
 * This times, for each build, session creation (the first one also compiles its wasm module)
 * and the median of N windows, one wasm thread (`configureOrtWeb`; the worker's count without isolation),
 * and checks that both give the same logits. Node, not a browser: the ratio is what it measures.
 */
import { cpus, loadavg } from 'node:os';
import { configureOrtWeb, ortForWasm, ortForWebGpu, type OrtBuild } from '../src/infer/ort-web';
import { webModelWindow } from './lib/web-model-window';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const id = option('--model') ?? 'swinunetr-fs';
const windows = Number(option('--windows') ?? 5);
configureOrtWeb();
const { web, dims, input } = webModelWindow(id);
const [x, y, z] = dims;
console.log(`ort-builds: ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, model ${id}, window ${x}×${y}×${z}, ${windows} windows`);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const logits = new Map<string, Float32Array>();
const rows: string[] = [];
for (const [name, ort] of [
  ['plain (wasm sessions)', ortForWasm],
  ['asyncify (WebGPU build)', ortForWebGpu],
] as [string, OrtBuild][]) {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(web, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const sessionMs = performance.now() - t0;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 1, x, y, z]) };
  const times: number[] = [];
  for (let i = 0; i < windows; i++) {
    const t = performance.now();
    const out = await session.run(feeds);
    times.push(performance.now() - t);
    if (i === 0) logits.set(name, (out[session.outputNames[0]].data as Float32Array).slice());
  }
  await session.release();
  rows.push(`| ${name} | ${Math.round(sessionMs)} | ${Math.round(median(times))} | ${times.map(Math.round).join(', ')} |`);
}
console.log('\n| build | session ms (incl. wasm compile) | window ms, median | windows ms |\n|---|---:|---:|---|');
for (const row of rows) console.log(row);
const [a, b] = [...logits.values()];
let maxDiff = 0;
for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
console.log(`\nmax |Δlogit| between the builds: ${maxDiff.toExponential(2)}`);
