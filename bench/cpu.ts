/**
 * Float64 CPU backend benchmark: `npm run bench -- cpu [--reps N] [--model]`.
 *
 * Prints, for the CPU it runs on, time and GFLOP/s of the CPU backend's matmul and conv3d
 * kernels (forward, data and filter gradients) on the shapes that dominate the swinunetr_tiny
 * golden-fixture parity run (64³, 12 channels; Swin attention with head dim 4), wall and
 * process-CPU time (the CPU time is steadier on a shared machine), median of --reps. With
 * `--model`, also one swinunetr_tiny forward + Dice loss + backward on the fixture (needs ../shared).
 */
import { cpus, loadavg } from 'node:os';
import type { ConvSpec, MatmulSpec } from '../src/engine/backend';
import { conv3d, conv3dBackwardData, conv3dBackwardFilter } from '../src/engine/cpu/conv';
import { matmul } from '../src/engine/cpu/matmul';
import { createCpuEngine } from '../src/engine';
import { uniformStream } from '../src/core/random';
import { hasShared } from '../src/testing/shared';

const args = process.argv.slice(2);
const repsArg = args.indexOf('--reps');
const REPS = repsArg >= 0 ? Number(args[repsArg + 1]) : 3;

interface Case {
  label: string;
  /** Multiply-adds. */
  fma: number;
  run: () => void;
}

const random = (n: number, seed: number) => {
  const next = uniformStream(seed);
  return Float64Array.from({ length: n }, () => 2 * next() - 1);
};

function convCases(C: number, side: number, k: number): Case[] {
  const p = (k - 1) / 2;
  const cube = (v: number) => [v, v, v] as [number, number, number];
  const s: ConvSpec = { N: 1, Ci: C, Co: C, inShape: cube(side), outShape: cube(side), kernel: cube(k), stride: cube(1), padding: cube(p), dilation: cube(1) };
  const x = random(C * side ** 3, 1);
  const w = random(C * C * k ** 3, 2);
  const g = random(C * side ** 3, 3);
  const fma = C * C * k ** 3 * side ** 3;
  const name = `conv3d ${C}→${C} ${side}³ k${k}`;
  return [
    { label: `${name} forward`, fma, run: () => conv3d(x, w, s) },
    { label: `${name} data grad`, fma, run: () => conv3dBackwardData(g, w, s) },
    { label: `${name} filter grad`, fma, run: () => conv3dBackwardFilter(g, x, s) },
  ];
}

function matmulCase(batch: number, M: number, N: number, K: number, transA: boolean, transB: boolean): Case {
  const s: MatmulSpec = { batchShape: [batch], aBatchStrides: [M * K], bBatchStrides: [N * K], M, N, K, transA, transB };
  const a = random(batch * M * K, 4);
  const b = random(batch * N * K, 5);
  const op = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
  return { label: `matmul ${batch}× ${M}×${K}·${K}×${N} ${op}`, fma: batch * M * N * K, run: () => matmul(a, b, s) };
}

const median = (t: number[]) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)];

function time(run: () => void): { wall: number; cpu: number } {
  run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const cases: Case[] = [
  ...convCases(12, 64, 3),
  ...convCases(12, 32, 3),
  ...convCases(48, 8, 3),
  ...convCases(12, 64, 1),
  // Swin window attention, 3 heads of dim 4 over 343-token windows: q·kᵀ, p·v, and p's gradient.
  matmulCase(69, 343, 343, 4, false, true),
  matmulCase(69, 343, 4, 343, false, false),
  matmulCase(69, 343, 4, 343, true, false),
  // A Linear layer: tokens × in · (out × in)ᵀ.
  matmulCase(1, 4096, 96, 48, false, true),
];

const cpu = cpus()[0];
console.log(`CPU backend (float64) on ${cpu?.model ?? 'unknown CPU'}, ${cpus().length} cores; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${REPS}`);
console.log(`${'case'.padEnd(44)} ${'wall ms'.padStart(9)} ${'cpu ms'.padStart(9)} ${'GFLOP/s (cpu)'.padStart(14)}`);
for (const c of cases) {
  const t = time(c.run);
  console.log(`${c.label.padEnd(44)} ${t.wall.toFixed(1).padStart(9)} ${t.cpu.toFixed(1).padStart(9)} ${((2 * c.fma) / t.cpu / 1e6).toFixed(2).padStart(14)}`);
}

if (args.includes('--model')) {
  if (!hasShared) {
    console.log('--model: ../shared fixtures not found, skipped');
  } else {
    const { SwinUNETR } = await import('../src/models/swinunetr');
    const { FIXTURE_CONFIGS, fixtureWeights } = await import('../src/models/testing/fixtures');
    const { runFixtureCase } = await import('../src/models/testing/parity');
    const engine = createCpuEngine();
    const model = SwinUNETR.load(engine, FIXTURE_CONFIGS.swinunetr_tiny, fixtureWeights('swinunetr_tiny'));
    const c0 = process.cpuUsage();
    const run = await runFixtureCase(engine, model, 'swinunetr_tiny', 64, 3);
    const c = process.cpuUsage(c0);
    console.log(`swinunetr_tiny 64³ forward + Dice + backward: ${(run.ms / 1000).toFixed(1)} s wall, ${((c.user + c.system) / 1e6).toFixed(1)} s cpu; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  }
}
