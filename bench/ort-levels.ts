/**
 * onnxruntime-web's wasm session for a shipped model at each graph optimisation level:
 *   npm run bench -- ort-levels [--model swinunetr-fs] [--levels disabled,basic,extended,all]
 * Times session creation and one window (the studio's worker configuration on one wasm thread,
 * `configureOrtWeb`), and compares each level's logits and argmax with 'all' (what the studio
 * uses). In Node, on the build the studio's wasm sessions use (`ortForWasm`), without a
 * browser's scheduling.
 */
import { loadavg, cpus } from 'node:os';
import { configureOrtWeb, ortForWasm as ort } from '../src/infer/ort-web';
import { webModelWindow } from './lib/web-model-window';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const id = option('--model') ?? 'swinunetr-fs';
const levels = (option('--levels') ?? 'disabled,basic,extended,all').split(',') as ('disabled' | 'basic' | 'extended' | 'all')[];
configureOrtWeb();
const { web, dims, input } = webModelWindow(id);
const [x, y, z] = dims;
console.log(`ort-levels: ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, model ${id} (${web.length} bytes), window ${x}×${y}×${z}`);
const outputs = new Map<string, Float32Array>();
for (const level of levels) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(web, { executionProviders: ['wasm'], graphOptimizationLevel: level });
  const t1 = performance.now();
  const cpu1 = process.cpuUsage(cpu0);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 1, x, y, z]) };
  const result = await session.run(feeds);
  const t2 = performance.now();
  const cpu2 = process.cpuUsage(cpu0);
  outputs.set(level, (result[session.outputNames[0]].data as Float32Array).slice());
  await session.release();
  console.log(`${level.padEnd(9)} session ${Math.round(t1 - t0)} ms wall / ${Math.round((cpu1.user + cpu1.system) / 1000)} ms CPU; window ${Math.round(t2 - t1)} ms wall / ${Math.round((cpu2.user + cpu2.system - cpu1.user - cpu1.system) / 1000)} ms CPU`);
}
const ref = outputs.get('all');
if (ref) {
  const classes = ref.length / (x * y * z);
  for (const [level, out] of outputs) {
    let maxDiff = 0;
    let argmaxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - ref[i]));
    const n = x * y * z;
    for (let v = 0; v < n; v++) {
      let a = 0;
      let b = 0;
      for (let c = 1; c < classes; c++) {
        if (ref[c * n + v] > ref[a * n + v]) a = c;
        if (out[c * n + v] > out[b * n + v]) b = c;
      }
      if (a !== b) argmaxDiff++;
    }
    console.log(`${level.padEnd(9)} vs all: max |Δlogit| ${maxDiff.toExponential(2)}, argmax differs at ${argmaxDiff} of ${n} voxels`);
  }
}
