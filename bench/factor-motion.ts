/**
 * Do the t-SVD factors (LoRA-PT) and the principal factors (PiSSA, HyPS) move? (issue #16)
 *   npm run bench -- factor-motion [--model unetr] [--methods lorapt:nodecoder,pissa:nodecoder]
 *                                  [--k 3] [--seed 1] [--steps 80] [--lr 3e-4] [--threads 2]
 *   npm run bench -- factor-motion --plot     (redraws the figure and table from the json)
 *
 * One few-shot run per method, exactly as a cell of the grid (src/train/compare.ts runComparison:
 * the same k scans of the MSD fewshot_pool under the simulated scanner of bench/fewshot.ts's default
 * domain, seed, steps, lr, batch 2 at the model's input size), with the trained tensors read back
 * after every step (`onState`). For each kind of factor (the last part of its name: LoRA-PT's
 * Ur, Sr, Vr; PiSSA/HyPS's A, B, HyPS's Dn, Up; LoRA's lora_A, lora_B) the relative change
 * ‖X_t − X_0‖_F / ‖X_0‖_F over all tensors of that kind (for LoRA's lora_B, zero at the start,
 * ‖X_t‖_F / ‖lora_A_0‖_F instead); the principal part's change, "AB" for PiSSA/HyPS
 * ‖A_t B_t − A_0 B_0‖_F / ‖A_0 B_0‖_F and "P" for LoRA-PT ‖P_t − P_0‖_F / ‖P_0‖_F (P = (Ur * Sr) * Vrᵀ,
 * the t-product); and "W", what the model sees: the change of the merged encoder weights
 * (W_res + AB, W_res + P; W_res is frozen) over their norm, ‖ΔW‖_F / ‖W‖_F summed over every
 * targeted encoder Linear. The held-out Dice of the same run is scored as the grid scores it, so it
 * can be checked against the grid's cell.
 *
 * Writes bench/fewshot/factor-motion.json (appending per model and method) and
 * bench/fewshot/factor-motion.svg / factor-motion.md from it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolume } from '../src/core/io';
import { openNodeEngine } from '../src/engine/open-node';
import { createOrtNodeBackend } from '../src/infer/ort-node';
import { readModelNode } from '../src/infer/registry-node';
import { readOnnxModel } from '../src/models/load';
import { baseReader, modelShapeOf } from '../src/peft/merge';
import { targetLinears } from '../src/peft/targets';
import { tensor3 } from '../src/peft/tproduct';
import { principalPart } from '../src/peft/tsvd';
import { METHODS, type MethodConfig, type MethodName } from '../src/peft/methods';
import type { HostTensor } from '../src/peft/adapted-model';
import { methodLabel, runComparison, runMean, WHOLE, type LabelledScan } from '../src/train/compare';
import { caseSeed, simulateScanner, TARGET_SCANNER } from '../src/train/domain-shift';
import { asLabels } from '../src/train/samples';
import { msdDir } from '../src/testing/shared';
import { drawSubset, TEST_SUBSET_SEED } from './lib/fewshot-split';
import { lineChartSvg } from './lib/line-chart';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: 'unetr' },
    methods: { type: 'string', default: 'lorapt:nodecoder,pissa:nodecoder' },
    k: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    steps: { type: 'string', default: '80' },
    lr: { type: 'string', default: '3e-4' },
    threads: { type: 'string', default: '2' },
    plot: { type: 'boolean', default: false },
  },
});

const OUT = 'bench/fewshot';
const JSON_FILE = join(OUT, 'factor-motion.json');
/** bench/fewshot.ts's default domain seed. */
const DOMAIN_SEED = 1;
const TEST_CASES = 20;

interface MotionRun {
  model: string;
  method: string;
  k: number;
  seed: number;
  lr: number;
  steps: number;
  trainCases: string[];
  wholeDice: number;
  /** The base model on the same held-out scans (the run's zero-shot row). */
  zeroShotDice: number;
  /** Per kind of factor: relative change after step t (index t − 1; step 0 is 0 by definition). */
  relative: Record<string, number[]>;
  losses: number[];
  written: string;
}

const frob = (x: Float32Array | Float64Array) => {
  let s = 0;
  for (const v of x) s += v * v;
  return s;
};

/** The product A·B ([m,r]·[r,n]) of host tensors, float64. */
function product(a: HostTensor, b: HostTensor): Float64Array {
  const [m, r] = a.shape;
  const n = b.shape[1];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let q = 0; q < r; q++) {
    const av = a.data[i * r + q];
    for (let j = 0; j < n; j++) out[i * n + j] += av * b.data[q * n + j];
  }
  return out;
}

const kindOf = (name: string) => name.slice(name.lastIndexOf('.') + 1);

/** LoRA-PT's principal part of tensor `t` (`t.Ur`, `t.Sr`, `t.Vr` in `state`), float64. */
function loraptPart(state: ReadonlyMap<string, HostTensor>, t: string): Float64Array {
  const t3 = (h: HostTensor) => tensor3(h.shape[0], h.shape[1], h.shape[2], h.data);
  return principalPart(t3(state.get(`${t}.Ur`)!), t3(state.get(`${t}.Sr`)!), t3(state.get(`${t}.Vr`)!)).data;
}

const sqDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] - b[i]) ** 2;
  return d;
};


function readRuns(): MotionRun[] {
  return existsSync(JSON_FILE) ? (JSON.parse(readFileSync(JSON_FILE, 'utf8')) as { runs: MotionRun[] }).runs : [];
}

function writeOutputs(runs: MotionRun[]): void {
  writeFileSync(`${JSON_FILE}.tmp`, JSON.stringify({ runs }, null, 1) + '\n');
  renameSync(`${JSON_FILE}.tmp`, JSON_FILE);
  // Log scale: the kinds differ by orders of magnitude (a singular value barely moves while its
  // vectors turn); step 0 is 0 by definition and left out.
  const series = runs.flatMap((r) => Object.entries(r.relative).map(([kind, ys]) => ({ name: `${r.method.replace(' (no decoder)', '')}${runs.some((x) => x.model !== r.model) ? ` ${r.model}` : ''} ${kind === 'W' ? 'W (merged)' : kind}`, dashed: kind === 'W', points: ys.map((y, i) => ({ x: i + 1, y: Math.log10(Math.max(100 * y, 1e-6)) })) })));
  const steps = Math.max(1, ...runs.map((r) => r.steps));
  const ys = series.flatMap((x) => x.points.map((p) => p.y));
  writeFileSync(
    join(OUT, 'factor-motion.svg'),
    lineChartSvg(series, { title: 'How far the factors and the merged weights move (relative change, log scale)', xLabel: 'step', yLabel: 'log10 of ‖X_t − X_0‖ / ‖X_0‖ in % (0 = 1 %, 1 = 10 %)', xTicks: [1, Math.round(steps / 4), Math.round(steps / 2), Math.round((3 * steps) / 4), steps], yRange: [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))] }),
  );
  const at = (ys: number[], f: number) => ys[Math.max(0, Math.round(f * ys.length) - 1)];
  const md = [
    '# Factor motion (issue #16)',
    '',
    'Generated by `npm run bench -- factor-motion` (bench/factor-motion.ts) from `factor-motion.json`: one grid cell per method, re-run with the trained tensors read after every step. Relative change ‖X_t − X_0‖_F / ‖X_0‖_F over all tensors of a kind (LoRA-PT: Ur, Sr, Vr; PiSSA/HyPS: A, B); "P" / "AB": the principal part (Ur * Sr) * Vrᵀ / A·B; "W": the merged encoder weights the model uses (W_res + principal part, W_res frozen), ‖ΔW‖_F / ‖W‖_F over every adapted Linear. HyPS\'s Up starts at zero (no relative change; left out), and its serial adapter\'s output is not part of W. Each run repeats a cell of the grid (same scans, seed, steps, rate), so its held-out Dice must match that cell\'s. Plot: [factor-motion.svg](factor-motion.svg).',
    '',
    '| model | method | k | seed | lr | steps | held-out whole Dice (zero-shot) | factor | after 1 step | 1/4 | 1/2 | 3/4 | end |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.flatMap((r) => Object.entries(r.relative).map(([kind, ys]) => `| ${r.model} | ${r.method} | ${r.k} | ${r.seed} | ${r.lr} | ${r.steps} | ${r.wholeDice.toFixed(3)} (${r.zeroShotDice.toFixed(3)}) | ${kind} | ${[ys[0], at(ys, 0.25), at(ys, 0.5), at(ys, 0.75), ys[ys.length - 1]].map((y) => `${(100 * y).toFixed(2)} %`).join(' | ')} |`)),
    '',
  ];
  writeFileSync(join(OUT, 'factor-motion.md'), md.join('\n'));
}

function parseMethod(token: string): MethodConfig {
  const [name, ...opts] = token.split(':');
  if (!(name in METHODS)) throw new Error(`unknown method "${name}"`);
  return { method: name as MethodName, ...(opts.includes('nodecoder') ? { trainDecoder: false } : {}) };
}

async function main(): Promise<void> {
  const runs = readRuns();
  if (opt.plot) {
    writeOutputs(runs);
    return;
  }
  const k = Number(opt.k);
  const seed = Number(opt.seed);
  const steps = Number(opt.steps);
  const lr = Number(opt.lr);
  const { manifest, bytes } = readModelNode(opt.model);
  // ‖W‖² of the encoder Linears the methods adapt (the same weights for LoRA-PT, PiSSA, LoRA, HyPS).
  const { spec, source } = readOnnxModel(bytes, { label: manifest.id });
  const shape = modelShapeOf(spec.kind, spec.config as unknown as Record<string, unknown>);
  const base = baseReader(source, shape);
  const weightNorm2 = targetLinears(shape).reduce((a, t) => a + frob(base(t.weight)), 0);
  const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as Record<string, string[]>;
  const read = (c: string): LabelledScan => {
    const vol = (sub: string) => readVolume(new Uint8Array(readFileSync(join(msdDir, sub, c))), c);
    const s = { id: c, image: vol('images'), labels: asLabels(vol('labels'), c) };
    return { ...s, image: simulateScanner(s.image, TARGET_SCANNER, caseSeed(DOMAIN_SEED, c)) };
  };
  const pool = split.fewshot_pool.map(read);
  const test = drawSubset(split.val, TEST_CASES, TEST_SUBSET_SEED).map(read);
  const { engine } = await openNodeEngine('wasm', { threads: Number(opt.threads) });
  try {
    for (const token of opt.methods.split(',')) {
      const method = parseMethod(token);
      const label = methodLabel(method);
      let init: Map<string, HostTensor> | null = null;
      const sums: Record<string, { num: number[]; den: number }> = {};
      const principal0 = new Map<string, Float64Array>();
      const track = (state: Map<string, HostTensor>) => {
        if (!init) {
          init = new Map([...state].map(([n, t]) => [n, { data: Float32Array.from(t.data), shape: [...t.shape] }]));
          for (const [n, t] of init) {
            const kind = kindOf(n);
            sums[kind] ??= { num: [], den: 0 };
            sums[kind].den += frob(t.data);
            if (kind === 'A' && init.has(n.replace(/\.A$/, '.B'))) {
              const p = product(t, init.get(n.replace(/\.A$/, '.B'))!);
              principal0.set(n, p);
              sums.AB ??= { num: [], den: 0 };
              sums.AB.den += frob(p);
            }
            if (kind === 'Ur') {
              const p = loraptPart(init, n.slice(0, -3));
              principal0.set(n, p);
              sums.P ??= { num: [], den: 0 };
              sums.P.den += frob(p);
            }
          }
          if (principal0.size) sums.W = { num: [], den: weightNorm2 };
          if (sums.lora_B && sums.lora_A) sums.lora_B.den = sums.lora_A.den; // B starts at 0
          return;
        }
        const step: Record<string, number> = {};
        for (const [n, t] of state) {
          const x0 = init.get(n);
          if (!x0) continue;
          step[kindOf(n)] = (step[kindOf(n)] ?? 0) + sqDiff(t.data, x0.data);
          const p0 = principal0.get(n);
          if (p0) {
            const lorapt = kindOf(n) === 'Ur';
            const dp = sqDiff(lorapt ? loraptPart(state, n.slice(0, -3)) : product(t, state.get(n.replace(/\.A$/, '.B'))!), p0);
            step[lorapt ? 'P' : 'AB'] = (step[lorapt ? 'P' : 'AB'] ?? 0) + dp;
            step.W = (step.W ?? 0) + dp;
          }
        }
        for (const [kind, v] of Object.entries(step)) sums[kind].num.push(v);
      };
      const result = await runComparison(
        engine,
        { manifest, onnxBytes: bytes },
        pool,
        test,
        { methods: [method], ks: [k], seeds: [seed], steps, lr, batch: 2, space: 'classes' },
        (b) => createOrtNodeBackend(b),
        {
          onStep: (_k, s) => console.error(`  ${label} step ${s.step}/${steps} loss ${s.loss.toFixed(4)} ${(s.ms / 1000).toFixed(1)} s`),
          onState: (_k, c) => track(c.state),
        },
      );
      const run = result.runs.find((r) => r.method === label)!;
      const relative = Object.fromEntries(Object.entries(sums).filter(([, s]) => s.den > 0).map(([kind, s]) => [kind, s.num.map((v) => Math.sqrt(v / s.den))]));
      const entry: MotionRun = { model: opt.model, method: label, k, seed, lr, steps, trainCases: [...run.trainCases], zeroShotDice: runMean(result.runs[0], WHOLE, 'dice'), wholeDice: runMean(run, WHOLE, 'dice'), relative, losses: [...run.losses], written: new Date().toISOString() };
      const kept = runs.filter((r) => !(r.model === entry.model && r.method === entry.method && r.k === k && r.seed === seed && r.lr === lr && r.steps === steps));
      runs.splice(0, runs.length, ...kept, entry);
      writeOutputs(runs);
      console.error(`${label}: whole Dice ${entry.wholeDice.toFixed(3)}; end: ${Object.entries(relative).map(([kd, ys]) => `${kd} ${(100 * ys[ys.length - 1]).toFixed(2)} %`).join(', ')}`);
    }
  } finally {
    engine.dispose();
  }
}

await main();
