/**
 * Full-head pipeline benchmark:
 *   npm run bench -- pipeline [scan.nii.gz …] [--reps N] [--model <id | model.onnx>]
 *                             [--runtimes cpu,wasm,webgpu] [--peer <brainchop model> | --peer none] [--peer-reps N]
 *
 * Times every stage from a dropped file to both hippocampus masks on the scan's grid, on the
 * full-head sample by default: read, classify, conformed grid, localise (pyramid and each
 * registration level), crop, segment left, segment right, paste (with the largest component
 * and volumes), total. The model (default: the registry's default trained model) runs on
 *   - cpu: onnxruntime-node on all cores (the CLI's runtime), and
 *   - wasm: onnxruntime-web's wasm provider with one thread, configured as the studio's worker
 *     configures it on a page without cross-origin isolation (`configureOrtWeb`,
 *     src/infer/ort-web.ts). It runs in Node: same wasm binary and the same JS pipeline as
 *     in the worker, without a browser's scheduling noise.
 *   - webgpu (only when asked for): onnxruntime-web's WebGPU provider, set up as the studio's
 *     worker sets it up (`createOrtWebBackend` with preference `webgpu`, trial window included), in Node on Dawn
 *     (bench/lib/ort-webgpu-node.ts; lane `SEAHORSE_WEBGPU_BACKEND`, `vulkan` on a GPU machine).
 *     If the provider falls back to wasm the run stops with the reason: no wasm figure is
 *     printed as a WebGPU one. On a software adapter (SwiftShader, llvmpipe) the table says so.
 * The template is prepared once per session (worker start / CLI run) and timed apart.
 *
 * Peer: brainchop's MeshNet (default `model18cls`, hippocampus = class 14, left and right
 * merged) converted from TF.js with src/onnx/tfjs and run with brainchop's own preprocessing
 * (bench/lib/brainchop.ts) on the same scan and the same runtimes; its time beside ours and
 * the Dice agreement of the two whole-hippocampus masks (ours: left + right merged).
 *
 * Wall time on a shared machine measures the neighbours too: the machine, its load and the
 * process's CPU time are printed with the tables. Stage figures are medians over the runs.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { classifyScan, conformedGrid, LEVELS_MM, prepareTemplate } from '../src/core/fullhead';
import { readTemplate } from '../src/core/fullhead/template-node';
import { readVolume } from '../src/core/io';
import { dice, maskOf } from '../src/core/metrics';
import { resampleNearest } from '../src/core/resample';
import type { Dims3, Volume } from '../src/core/volume';
import type { InferenceBackend } from '../src/infer/backend';
import { segmentFullHead, type FullHeadResult } from '../src/infer/fullhead';
import type { ModelManifest } from '../src/infer/manifest';
import { configureOrtWeb, createOrtWebBackend, largestBufferBytes } from '../src/infer/ort-web';
import { listInstalledModels, readModelNode } from '../src/infer/registry-node';
import { prepareForWeb, serializeModel } from '../src/onnx';
import { layersToOnnx, readLayersModel } from '../src/onnx/tfjs';
import { dataDir } from '../src/testing/shared';
import { brainchopConform, brainchopInput, brainchopLabels, CONFORMED_SIZE, type BrainchopSettings } from './lib/brainchop';

type Runtime = 'cpu' | 'wasm' | 'webgpu';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const valued = new Set(['--reps', '--model', '--runtimes', '--peer', '--peer-reps']);
const files = args.filter((a, n) => !a.startsWith('--') && !valued.has(args[n - 1]));
const scans = files.length > 0 ? files : [join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz')];
const reps = Number(option('--reps') ?? 3);
const peerReps = Number(option('--peer-reps') ?? 1);
const runtimes = (option('--runtimes') ?? 'cpu,wasm').split(',') as Runtime[];
const peerName = option('--peer') ?? 'model18cls';
const modelSpec = option('--model') ?? listInstalledModels().find((m) => m.manifest.status === 'trained')?.manifest.id;
if (!modelSpec) throw new Error('no trained model is installed: name one with --model <id | model.onnx>');
if (runtimes.some((r) => r !== 'cpu' && r !== 'wasm' && r !== 'webgpu')) throw new Error(`--runtimes takes cpu, wasm and/or webgpu, got ${runtimes.join(',')}`);

/** brainchop's hippocampus class in its 18-class atlas models (left and right merged). */
const MESHNET_HIPPOCAMPUS: Record<string, number> = { model18cls: 14, model30chan18cls: 14 };

interface Timing {
  wall: number;
  cpu: number;
}

async function timed<T>(f: () => T | Promise<T>): Promise<[T, Timing]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [out, { wall, cpu: (c.user + c.system) / 1000 }];
}

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cell = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(0)).padStart(10);

async function openBackend(runtime: Runtime, bytes: Uint8Array, inputSize: Dims3, bufferBytes = 0): Promise<InferenceBackend> {
  // onnxruntime-node is loaded only when asked for (a GPU machine may carry ORT-web alone).
  if (runtime === 'cpu') return (await import('../src/infer/ort-node')).createOrtNodeBackend(bytes);
  if (runtime === 'wasm') return createOrtWebBackend(prepareForWeb(bytes), { preference: 'wasm', inputSize, bufferBytes: 0, forcedReason: 'benchmark: the studio’s wasm fallback' });
  const backend = await createOrtWebBackend(prepareForWeb(bytes), { preference: 'webgpu', inputSize, bufferBytes });
  if (backend.name !== 'webgpu') {
    await backend.dispose();
    throw new Error(`the WebGPU execution provider was not used: ${backend.reason}`);
  }
  return backend;
}

/** Prints rows of stage → one column per runtime (wall ms, median). */
function printTable(title: string, columns: readonly string[], rows: Map<string, Map<string, number>>): void {
  console.log(`\n${title}`);
  console.log(`  ${'stage'.padEnd(34)}${columns.map((c) => c.padStart(10)).join('')}`);
  for (const [stage, byColumn] of rows) console.log(`  ${stage.padEnd(34)}${columns.map((c) => cell(byColumn.get(c))).join('')}`);
}

function addRow(rows: Map<string, Map<string, number>>, stage: string, column: string, ms: number): void {
  if (!rows.has(stage)) rows.set(stage, new Map());
  rows.get(stage)!.set(column, ms);
}

console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const described: Record<Runtime, string> = {
  cpu: `onnxruntime-node ${runtimes.includes('cpu') ? (await import('onnxruntime-node')).env.versions.node : ''} (cpu, all cores)`,
  wasm: "onnxruntime-web wasm, 1 thread (the studio's fallback)",
  webgpu: 'onnxruntime-web WebGPU EP',
};
if (runtimes.includes('webgpu')) {
  // Dawn (a native module) is loaded only for this runtime.
  const { installNodeWebGpu } = await import('./lib/ort-webgpu-node');
  const { nodeLane } = await import('../src/engine/device-node');
  const adapter = await installNodeWebGpu();
  const software = /swiftshader|llvmpipe|lavapipe|softpipe/i.test(adapter);
  described.webgpu += ` in Node on Dawn (${nodeLane()} lane): ${adapter}${software ? ' — a SOFTWARE adapter: not a GPU figure' : ''}`;
}
console.log(`${runtimes.map((r) => described[r]).join('; ')}.`);
const [prepared, prep] = await timed(() => prepareTemplate(readTemplate()));
console.log(`template: read + prepare, once per session: wall ${prep.wall.toFixed(0)} ms, cpu ${prep.cpu.toFixed(0)} ms`);

configureOrtWeb();
const { manifest, bytes: modelBytes } = readModelNode(modelSpec);
console.log(`model: ${manifest.id} (${manifest.status}), input ${manifest.inputSize.join('×')}`);
const backends = new Map<Runtime, InferenceBackend>();
/** Session creation per runtime, ms (wall): part of a cold drop's wait, unless made while the page is idle. */
const modelLoadMs = new Map<Runtime, number>();
for (const runtime of runtimes) {
  const [backend, load] = await timed(() => openBackend(runtime, modelBytes, manifest.inputSize as unknown as Dims3, largestBufferBytes(manifest)));
  backends.set(runtime, backend);
  modelLoadMs.set(runtime, load.wall);
  console.log(`model load (${runtime} session): wall ${load.wall.toFixed(0)} ms, cpu ${load.cpu.toFixed(0)} ms`);
}

let meshnet: { bytes: Uint8Array; settings: BrainchopSettings; hippocampus: number } | undefined;
if (peerName !== 'none') {
  const dir = join(dataDir, 'peers', 'brainchop', peerName);
  const json = readFileSync(join(dir, 'model.json'), 'utf8');
  const paths = (JSON.parse(json).weightsManifest as { paths: string[] }[]).flatMap((g) => g.paths);
  const [bytes, convert] = await timed(() => serializeModel(layersToOnnx(readLayersModel(json, new Map(paths.map((p) => [p, new Uint8Array(readFileSync(join(dir, p)))]))), peerName)));
  const all = JSON.parse(readFileSync(join(dataDir, 'peers', 'brainchop', 'brainchop_model_settings_extracted.json'), 'utf8')).models as (BrainchopSettings & { path: string; preModelId: number | null })[];
  // The entry brainchop runs this model with by default: no pre-model (brain mask) in front.
  const settings = all.find((m) => m.path.includes(`/${peerName}/`) && m.preModelId === null);
  if (!settings) throw new Error(`no brainchop settings entry for ${peerName} without a pre-model`);
  const hippocampus = MESHNET_HIPPOCAMPUS[peerName];
  if (hippocampus === undefined) throw new Error(`which class of ${peerName} is the hippocampus? Known: ${Object.keys(MESHNET_HIPPOCAMPUS).join(', ')}`);
  meshnet = { bytes, settings, hippocampus };
  const { autoThreshold, cropPadding, enableCrop, enableTranspose, enableQuantileNorm } = settings;
  console.log(
    `peer: brainchop ${peerName} converted to ONNX in ${convert.wall.toFixed(0)} ms (once); its settings: ` +
      JSON.stringify({ autoThreshold, cropPadding, enableCrop, enableTranspose, enableQuantileNorm }),
  );
}

for (const path of scans) {
  const fileBytes = new Uint8Array(readFileSync(path));
  const rows = new Map<string, Map<string, number>>();
  let last: { scan: Volume; result: FullHeadResult } | undefined;
  for (const runtime of runtimes) {
    const model = { manifest: manifest as ModelManifest, backend: backends.get(runtime)! };
    const runs: Map<string, number>[] = [];
    const cpuRuns: Map<string, number>[] = [];
    for (let r = 0; r < reps; r++) {
      const row = new Map<string, number>();
      const [scan, read] = await timed(() => readVolume(fileBytes, path));
      row.set('read (gunzip + parse)', read.wall);
      const [, classify] = await timed(() => classifyScan(scan));
      row.set('classify (field of view)', classify.wall);
      row.set('conform (conformed grid)', (await timed(() => conformedGrid(scan)))[1].wall);
      // CPU time per stage (this process, all threads: onnxruntime-node's included).
      const stageCpu = new Map<string, number>();
      let c0 = cpuMs();
      const onStageEnd = (stage: string) => {
        const c = cpuMs();
        stageCpu.set(stage, c - c0);
        c0 = c;
      };
      const [result, run] = await timed(() => segmentFullHead(scan, model, prepared, { onStageEnd }));
      const t = result.timingsMs;
      const loc = result.localisation;
      row.set('localise', t.localise);
      row.set(`  pyramid (${LEVELS_MM.join('/')} mm)`, loc.timingsMs.pyramid);
      row.set('  template choice (head / skull-stripped, 8 mm)', loc.timingsMs['template choice']);
      for (const level of loc.levels) row.set(`  level ${level.levelMm} mm (${level.iterations} it)`, level.ms);
      row.set('  checks, boxes', loc.timingsMs['checks and boxes']);
      for (const stage of ['crop', 'segment left', 'segment right', 'paste']) row.set(stage, t[stage]);
      row.set('total: drop → masks (warm: session and template made at idle)', read.wall + classify.wall + t.total);
      row.set('total: drop → masks (cold: + model load + template)', read.wall + classify.wall + t.total + modelLoadMs.get(runtime)! + prep.wall);
      const cpuRow = new Map<string, number>([
        ['read (gunzip + parse)', read.cpu],
        ['classify (field of view)', classify.cpu],
        ['total: drop → masks (warm: session and template made at idle)', read.cpu + classify.cpu + run.cpu],
      ]);
      for (const [stage, ms] of stageCpu) cpuRow.set(stage, ms);
      runs.push(row);
      cpuRuns.push(cpuRow);
      last = { scan, result };
    }
    for (const stage of runs[0].keys()) {
      addRow(rows, stage, `${runtime} wall`, median(runs.map((row) => row.get(stage)!)));
      if (cpuRuns[0].has(stage)) addRow(rows, stage, `${runtime} cpu`, median(cpuRuns.map((row) => row.get(stage)!)));
    }
  }
  const { scan, result } = last!;
  const loc = result.localisation;
  console.log(`\n${path}`);
  console.log(
    `  ${classifyScan(scan).kind}, ${scan.dims.join('×')}; registration ${loc.quality} to the ${loc.template} template (NCC ${loc.ncc.toFixed(3)}, brain ${loc.brainNcc.toFixed(3)}); ` +
      `ICV ${(loc.icvMm3 / 1e6).toFixed(2)} L; boxes ${loc.hippocampi.map((b) => `${b.side} ${b.grid.dims.join('×')}`).join(', ')}; ` +
      `volumes ${result.hippocampi.map((h) => `${h.side} ${h.mm3.toFixed(0)} mm³`).join(', ')}`,
  );
  printTable(
    `  Seahorse (${manifest.id}), ms, median of ${reps} (cpu: process CPU time, all threads)`,
    runtimes.flatMap((r) => [`${r} wall`, `${r} cpu`]),
    rows,
  );

  if (!meshnet) continue;
  const peerRows = new Map<string, Map<string, number>>();
  const [{ volume: conformed, resliced }, conform] = await timed(() => brainchopConform(scan));
  const [input, pre] = await timed(() => brainchopInput(conformed, meshnet!.settings));
  let labels: Uint8Array | undefined;
  const add = (stage: string, runtime: Runtime, t: Timing) => {
    addRow(peerRows, stage, `${runtime} wall`, t.wall);
    addRow(peerRows, stage, `${runtime} cpu`, t.cpu);
  };
  for (const runtime of runtimes) {
    add(resliced ? 'conform (NiiVue, LIA 256³ uint8)' : 'conform (already conformed: none)', runtime, conform);
    add(`preprocess (min–max, crop ${input.dims.join('×')})`, runtime, pre);
    const backend = await openBackend(runtime, meshnet.bytes, input.dims);
    try {
      const times: Timing[] = [];
      let logits: Float32Array | undefined;
      for (let r = 0; r < peerReps; r++) {
        const [out, run] = await timed(() => backend.run(input.tensor, input.dims));
        logits = out;
        times.push(run);
      }
      const inference = { wall: median(times.map((t) => t.wall)), cpu: median(times.map((t) => t.cpu)) };
      add('MeshNet inference', runtime, inference);
      const [out, post] = await timed(() => brainchopLabels(logits!, input, conformed.dims));
      labels = out;
      add('argmax, paste, largest component', runtime, post);
      add('total (scan in memory → labels)', runtime, {
        wall: conform.wall + pre.wall + inference.wall + post.wall,
        cpu: conform.cpu + pre.cpu + inference.cpu + post.cpu,
      });
    } finally {
      await backend.dispose();
    }
  }
  printTable(`  brainchop ${peerName} (MeshNet on ${CONFORMED_SIZE}³), ms, median of ${peerReps}`, runtimes.flatMap((r) => [`${r} wall`, `${r} cpu`]), peerRows);
  // Both masks on the scan's own grid: MeshNet's come back from the conformed grid by nearest neighbour.
  const peerOnScan = resliced
    ? resampleNearest({ ...conformed, data: labels! }, scan.dims, scan.affine).data
    : labels!;
  const theirs = maskOf(peerOnScan, meshnet.hippocampus);
  const ours = maskOf(result.labels.data, 'foreground');
  const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);
  console.log(
    `  hippocampus, left + right: Seahorse ${count(ours)} voxels, MeshNet class ${meshnet.hippocampus} ${count(theirs)} voxels; ` +
      `Dice agreement ${dice(ours, theirs).toFixed(3)} (ours: ${manifest.protocol ?? 'unknown'} protocol; MeshNet: FreeSurfer aseg classes)`,
  );
}
for (const backend of backends.values()) await backend.dispose();
