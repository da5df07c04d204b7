/**
 * `npm run bench -- sam-lora-step [--stages 3,2,1] [--threads 2] [--reps 2] [--profile [--top 12]]`:
 * what one step of SAM's encoder LoRA costs on the wasm engine (src/sam/encoder-lora.ts):
 * forward + backward of the adapted stages and the neck for one prompt at SAM's 1024² input, from
 * the features entering the first adapted stage (random values of the right shape: the cost does
 * not depend on them), LoRA rank 4 on every attention stage from `--stages`' value on. Prints wall
 * and process CPU time per repetition (the first is a warm-up); `--profile` adds the wall time of
 * every backend call by op (as bench/wasm-profile.ts; the `--top` slowest ops). The decoder's share of a training step is
 * not included. Wall time on a shared machine includes the neighbours; CPU time is the cost.
 */
import { cpus, loadavg } from 'node:os';
import { backward, mean, tidy } from '../src/engine';
import { createNodeWasmEngine } from '../src/engine/wasm/node';
import { decodeModel } from '../src/onnx/proto';
import { SamEncoderLora } from '../src/sam/encoder-lora';
import { readSamEncoderWeights } from '../src/sam/encoder-weights';
import { stageInputShape } from '../src/sam/finetune';
import { readSamModel } from '../src/sam/model-files-node';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const firstStages = (opt('stages') ?? '3,2,1').split(',').map(Number);
const threads = Number(opt('threads') ?? 2);
const reps = Number(opt('reps') ?? 2);
const profile = args.includes('--profile');
const top = Number(opt('top') ?? 12);

const e = await createNodeWasmEngine({ threads });
const stats = new Map<string, { ms: number; calls: number }>();
if (profile) {
  const backend = e.backend as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(backend))) {
    const fn = backend[name];
    if (typeof fn !== 'function' || name === 'constructor') continue;
    backend[name] = (...a: unknown[]) => {
      const t0 = performance.now();
      const r = (fn as (...x: unknown[]) => unknown).apply(e.backend, a);
      const key = name === 'unary' || name === 'binary' ? `${name} ${String(a[0])}` : name;
      const st = stats.get(key) ?? { ms: 0, calls: 0 };
      st.ms += performance.now() - t0;
      st.calls++;
      stats.set(key, st);
      return r;
    };
  }
}
const { weights } = readSamEncoderWeights(decodeModel(readSamModel('encoder')));
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load ${loadavg()[0].toFixed(1)}; ${e.description}`);
console.log('| LoRA stages | rep | forward wall ms | forward + backward wall ms | CPU ms |');
console.log('|---|---:|---:|---:|---:|');
for (const first of firstStages) {
  const stages = [1, 2, 3].filter((s) => s >= first);
  const lora = SamEncoderLora.create(e, weights, { rank: 4, alpha: 4, stages, seed: 1 });
  const shape = [1, ...stageInputShape(first)];
  const f = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
  let lastMs = 0;
  for (let rep = 0; rep < reps; rep++) {
    stats.clear();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const x = e.tensor(f, shape);
    const loss = tidy(() => mean(lora.embed(x)));
    const t1 = performance.now();
    backward(loss);
    loss.dispose();
    x.dispose();
    for (const p of lora.params.values()) p.zeroGrad();
    const c = process.cpuUsage(c0);
    lastMs = performance.now() - t0;
    console.log(`| ${stages.join(',')} | ${rep} | ${(t1 - t0).toFixed(0)} | ${(performance.now() - t0).toFixed(0)} | ${((c.user + c.system) / 1000).toFixed(0)} |`);
  }
  if (profile) {
    // Shares of the last repetition's wall time (nested calls, e.g. matmul → gemm, are both listed).
    console.log(`  backend calls of the last repetition (${lastMs.toFixed(0)} ms):`);
    for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`    ${k.padEnd(28)} ${v.ms.toFixed(0).padStart(7)} ms (${((100 * v.ms) / lastMs).toFixed(0)} %) ${v.calls} calls`);
  }
  lora.dispose();
}
e.dispose();
