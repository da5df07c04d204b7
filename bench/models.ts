/**
 * Model memory plan and step times: `npm run bench -- models [--time cpu,webgpu]`.
 *
 * Memory: runs the real UNETR / SwinUNETR forward (inference, no graph) and forward + Dice +
 * backward (training) on a shape-only backend (bench/lib/shape-backend.ts) that counts every
 * engine allocation at float32 without computing, so the paper configurations at 128³ are
 * measured in seconds on any machine. Reports parameter bytes, peak live bytes (parameters,
 * activations, saved tensors, gradients), the largest single tensor, and how many allocations
 * exceed a 128 MiB binding (Dawn's GL lane in Node) or 1 GiB (typical browsers).
 *
 * --time cpu,webgpu: forward and forward+backward wall time of the fixture-size models on the
 * float64 CPU engine and/or the WebGPU engine (Node `webgpu` package), seeded untrained weights.
 *
 * --paper-forward cpu|webgpu: one real inference forward of each paper configuration at 128³
 * (seeded untrained weights: a construction-and-run check and a time, not a segmentation), with
 * the engine's peak memory; a tensor over the device's binding limit stops it with EngineLimitError.
 */
import { backward, createCpuEngine, createWebGPUEngine, diceLoss, noGrad, oneHot, tidy, type Engine } from '../src/engine';
import type { SegmentationModel } from '../src/models/model';
import { SwinUNETR } from '../src/models/swinunetr';
import { UNETR } from '../src/models/unetr';
import { createShapeEngine } from './lib/shape-backend';

const MiB = 2 ** 20;
const GL_BINDING = 128 * MiB;
const BROWSER_BINDING = 1024 * MiB;

interface Row {
  name: string;
  side: number;
  build: (e: Engine) => SegmentationModel;
}

const PAPER: Row[] = [
  { name: 'UNETR (LoRA-PT: hidden 768, 12 layers, 12 heads, feature 16, 2 classes)', side: 128, build: (e) => UNETR.init(e, { inChannels: 1, outChannels: 2, imgSize: 128, dropoutRate: 0.1 }, 1) },
  { name: 'SwinUNETR-48 (HyPS: depths 2-2-2-2, heads 3-6-12-24, window 7, 2 classes)', side: 128, build: (e) => SwinUNETR.init(e, { inChannels: 1, outChannels: 2, featureSize: 48, downsample: 'legacy' }, 1) },
];
const TINY: Row[] = [
  { name: 'UNETR tiny (fixture: hidden 64, feature 8, 3 classes)', side: 32, build: (e) => UNETR.init(e, { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 }, 1) },
  { name: 'SwinUNETR tiny (fixture: feature 12, 3 classes)', side: 64, build: (e) => SwinUNETR.init(e, { inChannels: 1, outChannels: 3, featureSize: 12 }, 1) },
];

const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

function labels(n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 7919) % classes);
}

async function memoryRow(r: Row): Promise<string> {
  const { engine, backend } = createShapeEngine([GL_BINDING, BROWSER_BINDING]);
  const model = r.build(engine);
  const paramBytes = engine.memory().liveBytes;
  const x = engine.zeros([1, 1, r.side, r.side, r.side]);
  const t = oneHot(engine, labels(r.side ** 3, model.outChannels), [1, r.side, r.side, r.side], model.outChannels);
  const base = engine.memory().liveBytes;

  engine.resetPeak();
  noGrad(() => model.forward(x)).dispose();
  const infer = { peak: engine.memory().peakBytes - base, largest: backend.largest.size * 4, gl: backend.over.get(GL_BINDING) ?? 0, web: backend.over.get(BROWSER_BINDING) ?? 0 };

  engine.resetPeak();
  const l = tidy(() => diceLoss(model.forward(x, { training: true, seed: 1 }), t));
  backward(l);
  const train = { peak: engine.memory().peakBytes - base, largest: backend.largest.size * 4, gl: backend.over.get(GL_BINDING) ?? 0, web: backend.over.get(BROWSER_BINDING) ?? 0 };
  for (const v of [l, x, t, model]) v.dispose();
  return (
    `| ${r.name} | ${r.side}³ | ${mib(paramBytes)} | ${mib(infer.peak)} | ${mib(infer.largest)} | ${infer.gl} / ${infer.web} | ` +
    `${mib(train.peak)} | ${mib(train.largest)} | ${train.gl} / ${train.web} |`
  );
}

async function paperForwardRow(e: Engine, r: Row): Promise<string> {
  let model: SegmentationModel | null = null;
  try {
    model = r.build(e);
    const x = e.randn([1, 1, r.side, r.side, r.side], { seed: 7 });
    e.resetPeak();
    const t0 = performance.now();
    const y = noGrad(() => model!.forward(x));
    const v = await y.data();
    const ms = performance.now() - t0;
    const finite = v.every((a) => Number.isFinite(a));
    for (const t of [x, y]) t.dispose();
    return `| ${r.name} | ${r.side}³ | ${e.description} | ${(ms / 1000).toFixed(1)} s | ${mib(e.memory().peakBytes)} | logits finite: ${finite} |`;
  } catch (err) {
    return `| ${r.name} | ${r.side}³ | ${e.description} | not run | — | ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} |`;
  } finally {
    model?.dispose();
  }
}

async function engineOf(kind: string): Promise<Engine> {
  if (kind !== 'webgpu') return createCpuEngine();
  const { requestNodeDevice } = await import('../src/engine/device-node');
  return createWebGPUEngine(await requestNodeDevice());
}

async function timeRow(e: Engine, r: Row): Promise<string> {
  const model = r.build(e);
  const x = e.randn([1, 1, r.side, r.side, r.side], { seed: 7 });
  const t = oneHot(e, labels(r.side ** 3, model.outChannels), [1, r.side, r.side, r.side], model.outChannels);
  let t0 = performance.now();
  const y = noGrad(() => model.forward(x));
  await y.data();
  const fwd = performance.now() - t0;
  y.dispose();
  t0 = performance.now();
  const l = tidy(() => diceLoss(model.forward(x), t));
  backward(l);
  await l.item();
  await e.sync();
  const step = performance.now() - t0;
  for (const v of [l, x, t, model]) v.dispose();
  return `| ${r.name} | ${r.side}³ | ${e.description} | ${(fwd / 1000).toFixed(1)} s | ${(step / 1000).toFixed(1)} s |`;
}

const args = process.argv.slice(2);
const timeAt = args.indexOf('--time');
const timeOn = timeAt >= 0 ? (args[timeAt + 1] ?? 'cpu,webgpu').split(',') : [];
const paperAt = args.indexOf('--paper-forward');
const paperOn = paperAt >= 0 ? (args[paperAt + 1] ?? 'webgpu') : null;

console.log('## Model memory plan (float32 bytes, batch 1, measured on the shape-only backend)\n');
console.log('Inference = forward without a graph; training = forward (dropout on where configured) + Dice loss + backward, peak including the saved tensors and the parameter gradients; both exclude the parameters themselves and the input/target. "> 128 MiB / > 1 GiB" counts allocations larger than those binding limits.\n');
console.log('| model | input | parameters | inference peak | largest tensor | > 128 MiB / > 1 GiB | training peak | largest tensor | > 128 MiB / > 1 GiB |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of [...PAPER, ...TINY]) console.log(await memoryRow(r));

if (timeOn.length) {
  console.log('\n## Fixture-size models: wall time (seeded untrained weights)\n');
  console.log('| model | input | engine | forward | forward + backward |');
  console.log('|---|---|---|---:|---:|');
  for (const kind of timeOn) {
    const e = await engineOf(kind);
    for (const r of TINY) console.log(await timeRow(e, r));
    e.dispose();
  }
}

if (paperOn) {
  console.log('\n## Paper configurations: one inference forward (seeded untrained weights)\n');
  console.log('| model | input | engine | forward | peak engine memory | note |');
  console.log('|---|---|---|---:|---:|---|');
  const e = await engineOf(paperOn);
  for (const r of PAPER) console.log(await paperForwardRow(e, r));
  e.dispose();
}
