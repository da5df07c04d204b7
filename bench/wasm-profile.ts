/**
 * `npm run bench -- wasm-profile [--threads N] [--model unetr|swinunetr] [--reps N] [--cpu-profile out.cpuprofile]`:
 * where a training step of a shipped model (batch 2, 32×64×32, full fine-tuning, as in
 * `engine --cpu`) spends its time on the wasm engine. Prints the wall time of every backend call,
 * by op (convolutions by geometry, with GFLOP/s), averaged over --reps steps after a warm-up;
 * with --cpu-profile also writes a V8 CPU profile of those steps (main thread: with --threads 1
 * that is all the work; open it in Chrome DevTools or read its self times). Wall times move with
 * the machine's load; shares within one run, and CPU profiles, are the figures to compare.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { ConvSpec, MatmulSpec } from '../src/engine/backend';
import { createNodeWasmEngine } from '../src/engine/wasm/node';
import { benchTrainingStep } from './lib/wasm-vs-torch';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const threads = Number(opt('threads') ?? 2);
const id = (opt('model') ?? 'unetr') as 'unetr' | 'swinunetr';
const reps = Number(opt('reps') ?? 2);
const profileOut = opt('cpu-profile');

const e = await createNodeWasmEngine({ threads });
const backend = e.backend as unknown as Record<string, unknown>;
const stats = new Map<string, { ms: number; calls: number; flops: number }>();
const TIMED = ['unary', 'binary', 'copy', 'writeInto', 'reduceSum', 'matmul', 'softmax', 'softmaxBackward', 'normalize', 'normalizeBackward', 'conv3d', 'conv3dBackwardData', 'conv3dBackwardFilter', 'roll', 'gatherRows', 'scatterAddRows', 'adamStep'];
for (const name of TIMED) {
  const fn = backend[name] as (...a: unknown[]) => unknown;
  backend[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = fn.apply(e.backend, a);
    const ms = performance.now() - t0;
    let key = name;
    let flops = 0;
    if (name === 'unary' || name === 'binary') key += ` ${String(a[0])}`;
    if (name === 'matmul') {
      const s = a[2] as MatmulSpec;
      key += ` ${s.M}×${s.N}×${s.K}`;
    }
    if (name.startsWith('conv3d')) {
      const s = a[2] as ConvSpec;
      key += ` k${s.kernel.join('')} s${s.stride.join('')} ${s.Ci}→${s.Co} at ${s.outShape.join('×')}`;
      flops = 2 * s.N * s.Co * s.Ci * s.kernel[0] * s.kernel[1] * s.kernel[2] * s.outShape[0] * s.outShape[1] * s.outShape[2];
    }
    const st = stats.get(key) ?? { ms: 0, calls: 0, flops: 0 };
    st.ms += ms;
    st.calls++;
    st.flops += flops;
    stats.set(key, st);
    return r;
  };
}

const training = benchTrainingStep(e, id);
const session = profileOut ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
}
const times: number[] = [];
for (let i = 0; i <= reps; i++) {
  if (i === 1) {
    stats.clear();
    if (session) await session.post('Profiler.start');
  }
  const t0 = performance.now();
  await training.step();
  if (i) times.push(performance.now() - t0);
}
if (session && profileOut) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profileOut, JSON.stringify(profile));
}
const step = times.reduce((a, b) => a + b, 0) / reps;
const rows = [...stats].map(([k, s]) => ({ k, ms: s.ms / reps, calls: s.calls / reps, gflops: s.flops ? s.flops / (s.ms / 1000) / 1e9 : 0 })).sort((a, b) => b.ms - a.ms);
console.log(`${id} on ${e.description}: ${step.toFixed(0)} ms per step (mean of ${reps} after a warm-up), ${rows.reduce((a, r) => a + r.ms, 0).toFixed(0)} ms in backend calls`);
console.log('| op | ms per step | share | calls | GFLOP/s |\n|---|---:|---:|---:|---:|');
for (const r of rows.filter((r) => r.ms >= 0.005 * step)) console.log(`| ${r.k} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / step).toFixed(1)} % | ${r.calls} | ${r.gflops ? r.gflops.toFixed(1) : ''} |`);
training.dispose();
e.dispose();
