/**
 * `npm run bench -- engine --cpu [--threads N] [--reps N] [--sizes 512,1024] [--models unetr,swinunetr]`:
 * the wasm engine against PyTorch on this CPU, measured side by side in one run. Rows alternate
 * (our engine, then PyTorch, per case), so both see the same machine load; PyTorch runs in
 * Debian's python3 (bench/torch_cpu_step.py) with the same thread count.
 *
 * - GEMM: float32 size×size·size×size, GFLOP/s of the median of --reps.
 * - Training steps: the shipped UNETR and SwinUNETR (models/*.json configurations), batch 2 at
 *   32×64×32, full fine-tuning: forward, soft Dice, backward, Adam step; median of --reps after
 *   one warm-up step. Seeded untrained weights: speed only. Peak memory: the engine's peak
 *   bytes (live + pooled tensors) and PyTorch's process peak RSS (everything the process holds).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Adam, backward, diceLoss, matmul, oneHot, tidy, type Engine } from '../../src/engine';
import { createNodeWasmEngine } from '../../src/engine/wasm/node';
import type { SegmentationModel } from '../../src/models/model';
import { SwinUNETR } from '../../src/models/swinunetr';
import { UNETR } from '../../src/models/unetr';

const PYTHON = '/usr/bin/python3';
const SIZE = [32, 64, 32] as const;
const BATCH = 2;

interface Row {
  what: string;
  ours: string;
  torch: string;
  ratio: string;
  note: string;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function torchRow(args: string[]): Record<string, number> {
  const r = spawnSync(PYTHON, ['bench/torch_cpu_step.py', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch side failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function manifestConfig(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../models/${id}.json`, import.meta.url), 'utf8')).config;
}

/** The shipped model's configuration (models/<id>.json) with seeded untrained weights, at the benchmark's size. */
function buildBenchModel(e: Engine, id: 'unetr' | 'swinunetr'): SegmentationModel {
  const c = manifestConfig(id) as Record<string, number & number[]>;
  if (id === 'unetr') return UNETR.init(e, { inChannels: 1, outChannels: 3, imgSize: [...SIZE], featureSize: c.feature_size, hiddenSize: c.hidden_size, mlpDim: c.mlp_dim, numHeads: c.num_heads }, 1);
  return SwinUNETR.init(e, { inChannels: 1, outChannels: 3, featureSize: c.feature_size, depths: c.depths, numHeads: c.num_heads, windowSize: c.window_size }, 1);
}

async function gemmGflops(e: Engine, n: number, reps: number): Promise<number> {
  const a = e.rand([n, n], { seed: 1 });
  const b = e.rand([n, n], { seed: 2 });
  const t: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    matmul(a, b).dispose();
    await e.sync();
    if (i) t.push(performance.now() - t0);
  }
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / (median(t) / 1000) / 1e9;
}

/**
 * The benchmark's training step on `id` (bench/wasm-profile.ts profiles the same step) (batch BATCH of SIZE, seeded input, a fixed 3-class
 * target, soft Dice, Adam): `step()` resolves once the loss is read back, so its time is the
 * whole step; `dispose()` frees the model, data and optimiser.
 */
export function benchTrainingStep(e: Engine, id: 'unetr' | 'swinunetr'): { step: () => Promise<void>; dispose: () => void } {
  const model = buildBenchModel(e, id);
  const x = e.randn([BATCH, 1, ...SIZE], { seed: 5 });
  const voxels = SIZE[0] * SIZE[1] * SIZE[2];
  const labels = Array.from({ length: BATCH * voxels }, (_, i) => Math.floor(((i % voxels) / voxels) * 3));
  const target = oneHot(e, labels, [BATCH, ...SIZE], 3);
  const opt = new Adam([...model.params.entries()].map(([, p]) => p).filter((p) => p.requiresGrad), { lr: 1e-4 });
  return {
    async step() {
      const loss = tidy(() => diceLoss(model.forward(x), target));
      backward(loss);
      opt.step();
      opt.zeroGrad();
      await loss.item();
      loss.dispose();
    },
    dispose() {
      opt.dispose();
      for (const t of [x, target, model]) t.dispose();
    },
  };
}

async function stepSeconds(e: Engine, id: 'unetr' | 'swinunetr', reps: number): Promise<{ median: number; peak: number }> {
  const training = benchTrainingStep(e, id);
  const times: number[] = [];
  e.resetPeak();
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    await training.step();
    if (i) times.push((performance.now() - t0) / 1000);
  }
  const peak = e.memory().peakBytes;
  training.dispose();
  return { median: median(times), peak };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export async function wasmVsTorch(args: readonly string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const threads = Number(opt('threads') ?? availableParallelism());
  const reps = Number(opt('reps') ?? 3);
  const sizes = (opt('sizes') ?? '512,1024').split(',').map(Number);
  const models = (opt('models') ?? 'unetr,swinunetr').split(',') as ('unetr' | 'swinunetr')[];
  const e = await createNodeWasmEngine({ threads });
  const load0 = loadavg()[0];
  const rows: Row[] = [];
  for (const n of sizes) {
    const ours = await gemmGflops(e, n, reps * 3);
    const torch = torchRow(['--threads', String(threads), '--case', 'gemm', '--size', String(n), '--reps', String(reps * 3)]);
    rows.push({ what: `GEMM ${n}³ (GFLOP/s)`, ours: ours.toFixed(1), torch: torch.gflops.toFixed(1), ratio: `${(torch.gflops / ours).toFixed(2)}×`, note: '' });
    console.error(`gemm ${n}: ${ours.toFixed(1)} vs ${torch.gflops.toFixed(1)} GFLOP/s`);
  }
  for (const id of models) {
    const ours = await stepSeconds(e, id, reps);
    const torch = torchRow(['--threads', String(threads), '--case', id, '--reps', String(reps)]);
    rows.push({
      what: `${id} step, batch ${BATCH}, ${SIZE.join('×')} (s)`,
      ours: ours.median.toFixed(2),
      torch: torch.median_s.toFixed(2),
      ratio: `${(ours.median / torch.median_s).toFixed(2)}×`,
      note: `peak: ours ${mib(ours.peak)} (tensors), torch ${mib(torch.max_rss_bytes)} (process RSS)`,
    });
    console.error(`${id}: ${ours.median.toFixed(2)} s vs ${torch.median_s.toFixed(2)} s`);
  }
  const load1 = loadavg()[0];
  console.log(`\nwasm engine vs PyTorch on the CPU — ${new Date().toISOString().slice(0, 16)}Z`);
  console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores; load average ${load0.toFixed(1)} → ${load1.toFixed(1)} during the run`);
  console.log(`ours: ${e.description}, Node ${process.versions.node}; PyTorch ${torchRow(['--threads', '1', '--case', 'gemm', '--size', '64', '--reps', '1']).torch} (${threads} thread${threads > 1 ? 's' : ''})`);
  console.log(`ratio: PyTorch's GFLOP/s over ours for GEMM, our step time over PyTorch's for steps (target ≤ 5×)\n`);
  console.log('| case | ours | PyTorch | ratio | note |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.what} | ${r.ours} | ${r.torch} | ${r.ratio} | ${r.note} |`);
  e.dispose();
}
