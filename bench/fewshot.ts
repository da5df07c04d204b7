/**
 * Few-shot transfer benchmark (issue #8):
 *   npm run bench -- fewshot [--models swinunetr,unetr] [--methods full,decoder,lora,pissa,hyps,lorapt:nodecoder]
 *                            [--k 1,3,5,10] [--seeds 1,2,3] [--steps 100] [--lr 1e-3 | full=…,decoder=…,*=…] [--batch 2] [--crop 32,64,32]
 *                            [--test-cases 20] [--domain-seed 1] [--engine wasm|webgpu|cpu] [--threads N]
 *                            [--holdout test|validation] [--val-cases 10] [--out bench/fewshot]
 *                            [--domain scanner|msd|freesurfer]   (--methods none: the zero-shot row only)
 *   real scans: --train-dir <dir> --test-dir <dir> --label-map <preset | code:target,…> [--margin 8]
 *
 * Each base model is adapted to a target domain with k labelled scans by every method, and
 * the merged models are scored on held-out target scans (src/train/compare.ts): Dice per
 * structure and HD95, trainable parameters, time per step and in total, peak engine memory.
 * The zero-shot base model is the first row.
 *
 * Target domain (default): the MSD `fewshot_pool` (training) and a fixed seeded subset of `val`
 * (held out, never trained on) under the simulated scanner of src/train/domain-shift.ts
 * (TARGET_SCANNER; each scan's bias field and noise drawn from --domain-seed and its name).
 * The base model on the same held-out scans without the shift is printed as a reference.
 * `--holdout validation` scores on --val-cases scans drawn (VALIDATION_SUBSET_SEED) from the `val`
 * scans outside the test subset (keep --test-cases as in the test runs), for choosing steps and
 * learning rates without looking at the test scans (a section of its own).
 *
 * `--domain` (issue #16's protocol shift; `scanner`, the default, is the domain above):
 * - `msd`: MSD Task04 as it is (no scanner), its labels as the whole hippocampus (label > 0), the
 *   same training pool and held-out scans: a FreeSurfer-protocol base (`--models swinunetr-fs,unetr-fs`)
 *   adapted to MSD's outline (the reverse protocol shift);
 * - `freesurfer`: an MSD-protocol base adapted to FreeSurfer's hippocampus (aseg 17/53 as one
 *   structure) from synthetic crops of the SynthSeg label maps, held out: the FS models' validation
 *   maps and the real FreeSurfer-labelled subjects (bench/lib/fewshot-fs-domain.ts; make the crops
 *   first with bench/fewshot/fs_synth_crops.py).
 *
 * Engine: `--engine` when given, else the choice of `seahorse finetune` (src/engine/open-node.ts:
 * WebGPU on a hardware GPU, else the wasm engine); `--threads N` sets the wasm engine's threads.
 * Real scans: folders with images/ and labels/ (same file names), any label codes through
 * --label-map; each pair is cropped to its labels' box plus --margin voxels (crop models).
 *
 * Methods: `name[:option…]`, options `r=N` (rank), `d=N` (HyPS adapter width), `nodecoder`,
 * `only=<part>[+<part>…]` (train only the method tensors whose names contain a part, e.g.
 * `lorapt:nodecoder:only=W_sa`, `hyps:nodecoder:only=attn`: which tensors matter).
 * Default per model: full, decoder, lora, pissa and LoRA-PT (UNETR) or HyPS (SwinUNETR), with and
 * without the decoder.
 *
 * Resumable: <out>/results.json holds one section per (base model, target domain, settings,
 * engine) with every finished run, written as each run ends. A rerun with the same command
 * reuses the finished (method, k, seed) runs of its section and computes only the rest; other
 * settings open a section of their own beside the earlier ones. <out>/RESULTS.md and one
 * <out>/fewshot-<section>.svg per section are regenerated from results.json after every run,
 * and by `--report` alone (no training).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolume } from '../src/core/io';
import type { Dims3 } from '../src/core/volume';
import type { Engine } from '../src/engine';
import { drawSubset, TEST_SUBSET_SEED, VALIDATION_SUBSET_SEED } from './lib/fewshot-split';
import { openNodeEngine } from '../src/engine/open-node';
import type { ModelManifest } from '../src/infer/manifest';
import { createOrtNodeBackend } from '../src/infer/ort-node';
import { modelCaveat } from '../src/infer/registry';
import { listInstalledModels, readModelNode } from '../src/infer/registry-node';
import { METHODS, type MethodConfig, type MethodName } from '../src/peft/methods';
import { methodLabel, runComparison, runMean, scoreOnnx, summarise, WHOLE, ZERO_SHOT, type ComparisonResult, type LabelledScan, type RunResult, type Summary } from '../src/train/compare';
import { cropToLabels } from '../src/train/crop-to-labels';
import { caseSeed, simulateScanner, TARGET_SCANNER } from '../src/train/domain-shift';
import { supersededReason, type ShippedWeights } from '../src/train/fewshot-evidence';
import { applyLabelMap, parseLabelMap, type LabelMap } from '../src/train/label-map';
import { asLabels } from '../src/train/samples';
import { msdDir } from '../src/testing/shared';
import { loadFreeSurferDomain } from './lib/fewshot-fs-domain';
import { lineChartSvg } from './lib/line-chart';

const { values: opt } = parseArgs({
  options: {
    models: { type: 'string' },
    methods: { type: 'string' },
    k: { type: 'string', default: '1,3,5,10' },
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '100' },
    lr: { type: 'string', default: '1e-3' },
    batch: { type: 'string', default: '2' },
    crop: { type: 'string' },
    'test-cases': { type: 'string', default: '20' },
    'domain-seed': { type: 'string', default: '1' },
    engine: { type: 'string' },
    threads: { type: 'string' },
    holdout: { type: 'string', default: 'test' },
    'val-cases': { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/fewshot' },
    'train-dir': { type: 'string' },
    'test-dir': { type: 'string' },
    'label-map': { type: 'string' },
    margin: { type: 'string', default: '8' },
    domain: { type: 'string', default: 'scanner' },
    report: { type: 'boolean', default: false },
  },
});

const MiB = 2 ** 20;
const COMMAND = `npm run bench -- fewshot ${process.argv.slice(2).join(' ')}`.trim();

const ints = (s: string, what: string) =>
  s.split(',').map((x) => {
    const v = Number(x);
    if (!Number.isInteger(v)) throw new Error(`${what}: "${x}" is not an integer`);
    return v;
  });
const positive = (s: string, what: string) => {
  const v = Number(s);
  if (!(v > 0)) throw new Error(`${what} must be a positive number, got "${s}"`);
  return v;
};

function parseMethod(token: string): MethodConfig {
  const [name, ...opts] = token.split(':');
  if (!(name in METHODS)) throw new Error(`unknown method "${name}" (methods: ${Object.keys(METHODS).join(', ')})`);
  const cfg: MethodConfig = { method: name as MethodName };
  for (const o of opts) {
    if (o === 'nodecoder') cfg.trainDecoder = false;
    else if (/^r=\d+$/.test(o)) cfg.rank = Number(o.slice(2));
    else if (/^d=\d+$/.test(o)) cfg.adapterDim = Number(o.slice(2));
    else if (/^only=[^+]+(\+[^+]+)*$/.test(o)) cfg.trainOnly = o.slice('only='.length).split('+');
    else throw new Error(`method option "${o}" in "${token}": use r=N, d=N, nodecoder or only=<part>[+<part>…]`);
  }
  return cfg;
}

/**
 * `--lr 1e-4` for every method, or per method name with `*` for the rest, e.g.
 * `full=1e-4,decoder=1e-4,*=1e-3` (a sweep may find different rates for the families). A single
 * number stays a number in the section's settings, so sections written before keep their keys.
 */
function parseLr(text: string): { value: number | string; of: (method: MethodName) => number } {
  if (!text.includes('=')) {
    const lr = positive(text, '--lr');
    return { value: lr, of: () => lr };
  }
  const map = new Map<string, number>();
  for (const pair of text.split(',')) {
    const [name, v] = pair.split('=');
    if (name !== '*' && !(name in METHODS)) throw new Error(`--lr: unknown method "${name}" in "${pair}" (methods: ${Object.keys(METHODS).join(', ')}, or * for the rest)`);
    map.set(name, positive(v ?? '', `--lr ${name}`));
  }
  return {
    value: text,
    of: (method) => {
      const lr = map.get(method) ?? map.get('*');
      if (lr === undefined) throw new Error(`--lr "${text}" gives no rate for ${method} (add ${method}=… or *=…)`);
      return lr;
    },
  };
}

/** Every method of the issue, and the paper method without the decoder (the "< 1 % of the parameters" goal). */
function defaultMethods(architecture: string): MethodConfig[] {
  const own: MethodName = architecture === 'UNETR' ? 'lorapt' : 'hyps';
  return [...(['full', 'decoder', 'lora', 'pissa', own] as MethodName[]).map((method) => ({ method })), { method: own, trainDecoder: false }];
}

function readPair(dir: string, name: string, map: LabelMap | null): LabelledScan {
  const read = (sub: string) => {
    const path = join(dir, sub, name);
    if (!existsSync(path)) throw new Error(`${name}: ${path} not found (a folder needs images/ and labels/ with the same file names)`);
    return readVolume(new Uint8Array(readFileSync(path)), name);
  };
  const image = read('images');
  const raw = read('labels');
  return { id: name, image, labels: map ? applyLabelMap(raw, map, name) : asLabels(raw, name) };
}

function folderCases(dir: string): string[] {
  const images = join(dir, 'images');
  if (!existsSync(images)) throw new Error(`${dir} has no images/ folder`);
  return readdirSync(images).filter((f) => /\.(nii|nii\.gz|mgh|mgz)$/i.test(f)).sort();
}


interface Domain {
  readonly description: string;
  readonly pool: LabelledScan[];
  readonly test: LabelledScan[];
  readonly space: 'classes' | 'whole';
  /** The same held-out scans without the shift (simulated domain only). */
  readonly unshiftedTest?: LabelledScan[];
}

function loadDomain(): Domain {
  if (opt['train-dir'] || opt['test-dir']) {
    if (!opt['train-dir'] || !opt['test-dir']) throw new Error('real-scan mode needs both --train-dir and --test-dir');
    if (!opt['label-map']) throw new Error('real-scan mode needs --label-map (a preset such as freesurfer or msd, or code:target pairs such as 17:whole,53:whole,*:bg)');
    const map = parseLabelMap(opt['label-map']);
    const margin = ints(opt.margin, '--margin')[0];
    const read = (dir: string) => folderCases(resolve(dir)).map((c) => cropToLabels(readPair(resolve(dir), c, map), margin, c));
    return {
      description: `real scans: training ${resolve(opt['train-dir'])}, held out ${resolve(opt['test-dir'])}, label map "${map.text}" (${map.space === 'whole' ? 'whole hippocampus' : 'head/body'}), each pair cropped to its labels' box + ${margin} voxels`,
      pool: read(opt['train-dir']),
      test: read(opt['test-dir']),
      space: map.space,
    };
  }
  if (!['scanner', 'msd', 'freesurfer'].includes(opt.domain)) throw new Error(`--domain must be scanner, msd or freesurfer, got "${opt.domain}"`);
  if (opt.domain === 'freesurfer') {
    if (opt.holdout !== 'test') throw new Error('--domain freesurfer has no validation split (--holdout test only)');
    return { ...loadFreeSurferDomain(), space: 'whole' };
  }
  const split = JSON.parse(readFileSync(join(msdDir, 'split.json'), 'utf8')) as Record<string, string[]>;
  if (opt.domain === 'msd') return msdWholeDomain(split);
  const domainSeed = ints(opt['domain-seed'], '--domain-seed')[0];
  const shift = (s: LabelledScan): LabelledScan => ({ ...s, image: simulateScanner(s.image, TARGET_SCANNER, caseSeed(domainSeed, s.id)) });
  const testCases = drawSubset(split.val, ints(opt['test-cases'], '--test-cases')[0], TEST_SUBSET_SEED);
  if (opt.holdout !== 'test' && opt.holdout !== 'validation') throw new Error(`--holdout must be test or validation, got "${opt.holdout}"`);
  const validation = opt.holdout === 'validation';
  const rest = split.val.filter((c) => !testCases.includes(c));
  const heldOut = validation ? drawSubset(rest, ints(opt['val-cases'], '--val-cases')[0], VALIDATION_SUBSET_SEED) : testCases;
  if (heldOut.length === 0) throw new Error(`--holdout validation: --test-cases ${opt['test-cases']} leaves no scan of val outside the test subset`);
  const unshifted = heldOut.map((c) => readPair(msdDir, c, null));
  const heldOutText = validation
    ? `VALIDATION (not the test scans): ${heldOut.length} of the ${rest.length} val scans outside the test subset (${testCases.length} of val drawn with seed ${TEST_SUBSET_SEED}), drawn with seed ${VALIDATION_SUBSET_SEED}`
    : `${heldOut.length} of val drawn with seed ${TEST_SUBSET_SEED}`;
  return {
    description: `MSD Task04 under the simulated scanner TARGET_SCANNER (src/train/domain-shift.ts: ${JSON.stringify(TARGET_SCANNER)}), domain seed ${domainSeed}; training pool: fewshot_pool (${split.fewshot_pool.length} scans); held out: ${heldOutText}`,
    pool: split.fewshot_pool.map((c) => shift(readPair(msdDir, c, null))),
    test: unshifted.map(shift),
    space: 'classes',
    unshiftedTest: unshifted,
  };
}

/**
 * The reverse protocol shift: MSD scans as they are, MSD's labels as the whole hippocampus (a
 * FreeSurfer-protocol base learns MSD's outline), the scanner domain's pool and held-out scans.
 */
function msdWholeDomain(split: Record<string, string[]>): Domain {
  const whole = parseLabelMap('binary');
  const read = (c: string) => readPair(msdDir, c, whole);
  const testCases = drawSubset(split.val, ints(opt['test-cases'], '--test-cases')[0], TEST_SUBSET_SEED);
  if (opt.holdout !== 'test') throw new Error('--domain msd scores on the test scans only (--holdout test)');
  return {
    description: `MSD Task04 as it is (no scanner shift), labels as the whole hippocampus (label map "${whole.text}"); training pool: fewshot_pool (${split.fewshot_pool.length} scans); held out: ${testCases.length} of val drawn with seed ${TEST_SUBSET_SEED}`,
    pool: split.fewshot_pool.map(read),
    test: testCases.map(read),
    space: 'whole',
  };
}

/** The engine and how it was chosen (recorded in the section). */
async function openEngine(): Promise<{ engine: Engine; how: string }> {
  const threads = opt.threads === undefined ? undefined : ints(opt.threads, '--threads')[0];
  if (threads !== undefined && !(threads > 0)) throw new Error(`--threads must be a positive integer, got "${opt.threads}"`);
  const { engine, fallback } = await openNodeEngine(opt.engine, { threads });
  const how = opt.engine ? `asked for with --engine ${opt.engine}` : fallback ? `the default without a hardware GPU: ${fallback}` : 'the default on a hardware GPU';
  return { engine, how };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const pm = (s: { mean: number; sd: number }, digits = 3) => (Number.isFinite(s.mean) ? `${s.mean.toFixed(digits)}${Number.isFinite(s.sd) ? ` ± ${s.sd.toFixed(digits)}` : ''}` : '–');
const secs = (ms: number) => (Number.isFinite(ms) ? (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`) : '–');

function table(rows: Summary[], structures: readonly string[]): string {
  const head = ['method', 'k', 'seeds', ...structures.map((s) => `Dice ${s}`), `HD95 ${WHOLE} (mm)`, 'trainable (% of model)', 'time/step', 'train total', 'peak engine memory', 'status'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const t = r.trainable;
    lines.push(
      `| ${[
        r.method,
        r.method === ZERO_SHOT ? '0' : String(r.k),
        String(r.seeds),
        ...structures.map((s) => pm(r.dice[s])),
        pm(r.hd95[WHOLE], 2),
        t ? `${t.total.toLocaleString('en')} (${((100 * t.total) / t.modelParams).toFixed(2)} %)` : '–',
        r.method === ZERO_SHOT ? '–' : secs(r.msPerStep),
        r.method === ZERO_SHOT ? '–' : secs(r.trainMs),
        r.method === ZERO_SHOT ? '–' : `${(r.peakBytes / MiB).toFixed(0)} MiB`,
        r.statuses.join(', '),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The smallest change in whole Dice called a change: the papers' question asks for ≥ 1 point, and
 * seeds of one method spread by about that much here.
 */
const CLEAR_CHANGE = 0.01;

/**
 * The acceptance and goal statements of issue #8, computed from the rows; the paper method against
 * each baseline on the seeds both have run (a seed draws the k training scans, so means over
 * different seeds compare different scans).
 */
function verdicts(rows: Summary[], runs: readonly RunResult[], architecture: string): string[] {
  const zero = rows.find((r) => r.method === ZERO_SHOT)?.dice[WHOLE].mean ?? NaN;
  const out: string[] = [];
  const maxK = Math.max(...rows.filter((r) => r.method !== ZERO_SHOT).map((r) => r.k));
  for (const r of rows.filter((r) => r.k === maxK && r.method !== ZERO_SHOT)) {
    const d = r.dice[WHOLE].mean - zero;
    const verdict = d >= CLEAR_CHANGE ? 'improves' : d <= -CLEAR_CHANGE ? 'does NOT improve (worse)' : 'does NOT improve (within ±1 point)';
    out.push(`- ${r.method} at k = ${maxK}: whole Dice ${f3(r.dice[WHOLE].mean)} vs zero-shot ${f3(zero)} (${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)} points): ${verdict}.`);
  }
  const own = architecture === 'UNETR' ? 'LoRA-PT' : 'HyPS';
  for (const k of [...new Set(rows.map((r) => r.k))].filter((k) => k > 0 && k <= 5)) {
    const mine = rows.filter((r) => r.k === k && r.method.startsWith(own));
    for (const m of mine) {
      for (const other of rows.filter((r) => r.k === k && (r.method === 'Decoder only' || r.method === 'LoRA'))) {
        const ofMethod = (method: string) => runs.filter((r) => r.k === k && r.method === method);
        const theirs = new Set(ofMethod(other.method).map((r) => r.seed));
        const seeds = ofMethod(m.method).map((r) => r.seed).filter((s) => theirs.has(s)).sort((a, b) => a - b);
        if (seeds.length === 0) {
          out.push(`- k = ${k}: ${m.method} and ${other.method} have no seed in common yet: not compared.`);
          continue;
        }
        const mean = (method: string) => ofMethod(method).filter((r) => seeds.includes(r.seed)).reduce((a, r) => a + runMean(r, WHOLE, 'dice'), 0) / seeds.length;
        const [a, b] = [mean(m.method), mean(other.method)];
        const d = 100 * (a - b);
        const subset = seeds.length < Math.max(m.seeds, other.seeds) ? ` (on the seed${seeds.length > 1 ? 's' : ''} both ran: ${seeds.join(', ')})` : '';
        out.push(`- k = ${k}: ${m.method} ${f3(a)} vs ${other.method} ${f3(b)}${subset}: ${d >= 0 ? '+' : ''}${d.toFixed(1)} points (goal ≥ +1.0: ${d >= 1 ? 'met' : 'NOT met'}).`);
      }
      if (m.trainable) {
        const pct = (100 * m.trainable.total) / m.trainable.modelParams;
        out.push(`- ${m.method} trains ${pct.toFixed(2)} % of the parameters (goal < 1 %: ${pct < 1 ? 'met' : 'NOT met'}).`);
      }
    }
  }
  return out;
}

/**
 * The papers' comparison seed by seed (the same k scans for every method of a seed): the paper
 * method minus decoder-only and LoRA, in Dice points, so the spread over seeds shows beside the
 * mean. Only where a k ≤ 5 has runs of both for some seed.
 */
function seedDifferences(runs: readonly RunResult[], architecture: string): string[] {
  const own = architecture === 'UNETR' ? 'LoRA-PT' : 'HyPS';
  const dice = (r: RunResult) => runMean(r, WHOLE, 'dice');
  const out: string[] = [];
  for (const k of [...new Set(runs.map((r) => r.k))].filter((k) => k > 0 && k <= 5).sort((a, b) => a - b)) {
    for (const mine of [...new Set(runs.filter((r) => r.k === k && r.method.startsWith(own)).map((r) => r.method))]) {
      for (const other of ['Decoder only', 'LoRA']) {
        const pairs = runs
          .filter((r) => r.k === k && r.method === mine)
          .map((m) => [m, runs.find((o) => o.k === k && o.seed === m.seed && o.method === other)] as const)
          .filter((p): p is readonly [RunResult, RunResult] => p[1] !== undefined)
          .sort((a, b) => a[0].seed - b[0].seed);
        if (pairs.length === 0) continue;
        const d = pairs.map(([m, o]) => 100 * (dice(m) - dice(o)));
        const mean = d.reduce((a, b) => a + b, 0) / d.length;
        const sd = d.length > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1)) : NaN;
        out.push(`- k = ${k}: ${mine} − ${other}, per seed: ${pairs.map(([m], i) => `seed ${m.seed} ${d[i] >= 0 ? '+' : ''}${d[i].toFixed(1)}`).join(', ')} points; mean ${mean >= 0 ? '+' : ''}${mean.toFixed(1)}${Number.isFinite(sd) ? ` ± ${sd.toFixed(1)} (sd over ${d.length} seeds)` : ' (one seed)'}.`);
      }
    }
  }
  return out;
}

/** Held-out crops of `--domain freesurfer` made by the generator (fs_synth_crops.py names them synthNN_side). */
const isSynthetic = (caseId: string) => /^synth\d+_/.test(caseId);

/**
 * Where the held-out scans are of two kinds (synthetic crops and real subjects, `--domain
 * freesurfer`), each run's whole Dice on each kind: the synthetic scans' contrast differs from any
 * real scan's, so the mean over both hides what happens on the real ones.
 */
function byKind(runs: readonly RunResult[]): string[] {
  const cases = runs[0]?.scores.map((c) => c.case) ?? [];
  if (!cases.some(isSynthetic) || cases.every(isSynthetic)) return [];
  const mean = (r: RunResult, synthetic: boolean) => {
    const xs = r.scores.filter((c) => isSynthetic(c.case) === synthetic).map((c) => c.structures.find((x) => x.structure === WHOLE)?.dice ?? NaN);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const nReal = cases.filter((c) => !isSynthetic(c)).length;
  const nSynth = cases.length - nReal;
  const lines = [`| method | k | seed | whole Dice, ${nReal} real (${cases.filter((c) => !isSynthetic(c)).join(', ')}) | whole Dice, ${nSynth} synthetic |`, '|---|---|---|---|---|'];
  for (const r of runs) lines.push(`| ${r.method} | ${r.k} | ${r.method === ZERO_SHOT ? '–' : r.seed} | ${f3(mean(r, false))} | ${f3(mean(r, true))} |`);
  return lines;
}

function plot(rows: Summary[], modelId: string): string {
  const methods = [...new Set(rows.filter((r) => r.method !== ZERO_SHOT).map((r) => r.method))];
  const ks = [...new Set(rows.filter((r) => r.method !== ZERO_SHOT).map((r) => r.k))].sort((a, b) => a - b);
  const zero = rows.find((r) => r.method === ZERO_SHOT)!;
  const all = rows.flatMap((r) => [r.dice[WHOLE].mean - (r.dice[WHOLE].sd || 0), r.dice[WHOLE].mean + (r.dice[WHOLE].sd || 0)]).filter(Number.isFinite);
  const lo = Math.max(0, Math.floor(Math.min(...all) * 20) / 20);
  const hi = Math.min(1, Math.ceil(Math.max(...all) * 20) / 20);
  return lineChartSvg(
    [
      { name: 'zero-shot', dashed: true, points: ks.map((k) => ({ x: k, y: zero.dice[WHOLE].mean })) },
      ...methods.map((m) => ({ name: m, points: rows.filter((r) => r.method === m).map((r) => ({ x: r.k, y: r.dice[WHOLE].mean, err: r.dice[WHOLE].sd })) })),
    ],
    { title: `${modelId}: whole-hippocampus Dice on held-out target scans`, xLabel: 'k (labelled training scans)', yLabel: 'Dice (mean over seeds ± sd)', xTicks: ks.length ? ks : [0, 1], yRange: [lo, hi > lo ? hi : lo + 0.05] },
  );
}

/** The issue's full grid: every method, k = 1, 3, 5, 10, three seeds, the default steps. */
const FULL_GRID = { ks: [1, 3, 5, 10], seeds: 3, steps: 100 };

/** The earlier probes' 3–15 steps (INVESTIGATION.md): too few to tell the methods apart. */
const FEW_STEPS = 20;

/** Says plainly which part of the grid ran, and where the rest has to run. */
function scope(engine: string, config: Record<string, unknown>): string {
  const ks = config.ks as number[];
  const seeds = (config.seeds as number[]).length;
  const steps = config.steps as number;
  const full = FULL_GRID.ks.every((k) => ks.includes(k)) && seeds >= FULL_GRID.seeds && steps >= FULL_GRID.steps;
  const software = /cpu|wasm|llvmpipe|swiftshader|lavapipe|software/i.test(engine);
  if (full) return `Scope: the full grid of issue #8, on ${engine}.`;
  return [
    `Scope: a SUBSET of the issue's grid ran here (k = ${ks.join(', ')}; ${seeds} seed${seeds > 1 ? 's' : ''}; ${steps} steps per run${config.crop ? `; crops ${(config.crop as number[]).join('×')}` : ''}; batch ${String(config.batch)}), on ${engine}${software ? ', a CPU without a GPU' : ''}.`,
    `The full grid (every method, k = ${FULL_GRID.ks.join(', ')}, ${FULL_GRID.seeds} seeds, ${FULL_GRID.steps} steps at the model's input size) is \`npm run bench -- fewshot\` with its defaults (Node WebGPU on a GPU machine, \`SEAHORSE_WEBGPU_BACKEND=vulkan\`; without one the wasm engine, resumable over several sittings).`,
    steps < FEW_STEPS ? `With ${steps} steps the models have barely moved from the base: differences between methods here are within what a few optimiser steps and one draw of training scans can produce, and say nothing about the methods' few-shot ability.` : '',
  ].filter(Boolean).join(' ');
}

/** One base model on one target domain with one set of settings and engine: the unit a rerun resumes. */
interface Section {
  /** Hash of what makes runs comparable (model weights, domain, settings, engine). */
  readonly key: string;
  readonly id: string;
  readonly manifest: ModelManifest;
  /** Every command that ran runs of this section (a grown grid has several). */
  readonly commands: string[];
  readonly started: string;
  written: string;
  readonly engine: string;
  /** How the engine was chosen (absent in sections written before `--engine` had a default). */
  engineChoice?: string;
  machine: string;
  readonly domain: string;
  /** The comparable settings and the union of every grid (methods, ks, seeds) asked of this section. */
  config: Record<string, unknown>;
  planned: number;
  finished: boolean;
  unshiftedWholeDice?: number;
  readonly device: string;
  runs: RunResult[];
}

const RESULTS_FILE = 'results.json';

/** Non-finite numbers (NaN Dice of an empty reference, infinite HD95) survive JSON as strings. */
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

function readSections(out: string): Section[] {
  const path = join(out, RESULTS_FILE);
  if (!existsSync(path)) return [];
  const json = JSON.parse(readFileSync(path, 'utf8'), (_, v) => (typeof v === 'string' && NON_FINITE.has(v) ? Number(v) : v)) as { sections?: Section[] };
  if (!Array.isArray(json.sections)) throw new Error(`${path} is not a results file of this benchmark (no "sections"); move it away to start afresh`);
  return json.sections;
}

/** Written to a side file and renamed, so a run stopped mid-write leaves the last good file. */
function writeSections(out: string, sections: readonly Section[]): void {
  const path = join(out, RESULTS_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify({ sections }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1) + '\n');
  renameSync(`${path}.tmp`, path);
}

function sectionKey(manifest: ModelManifest, domain: string, config: Record<string, unknown>, engine: string): string {
  return createHash('sha256').update(JSON.stringify({ model: manifest.id, sha256: manifest.sha256 ?? null, domain, config, engine })).digest('hex').slice(0, 12);
}

const plotName = (s: Section) => `fewshot-${s.id}-${s.key}.svg`;
const lossPlotName = (s: Section) => `fewshot-${s.id}-${s.key}-loss.svg`;

/** Windows of the loss curves: the mean training loss over each tenth of a run shows whether it flattened. */
const LOSS_WINDOWS = 10;
/** The plotted loss is a moving mean over this many steps (one step's loss is one batch of 2 random crops: noisy). */
const LOSS_SMOOTHING = 10;

const windowMeans = (xs: readonly number[], n: number) =>
  Array.from({ length: Math.min(n, xs.length) }, (_, i) => {
    const part = xs.slice(Math.floor((i * xs.length) / n), Math.floor(((i + 1) * xs.length) / n));
    return part.reduce((a, b) => a + b, 0) / part.length;
  });

/** Each run's mean training loss per tenth of its steps (soft Dice loss summed over the classes). */
function lossTable(runs: readonly RunResult[]): string {
  const trained = runs.filter((r) => r.method !== ZERO_SHOT && r.losses.length > 0);
  const n = Math.min(LOSS_WINDOWS, ...trained.map((r) => r.losses.length));
  const steps = trained[0]?.losses.length ?? 0;
  const head = ['method', 'k', 'seed', ...Array.from({ length: n }, (_, i) => `steps ${Math.floor((i * steps) / n) + 1}–${Math.floor(((i + 1) * steps) / n)}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of trained) lines.push(`| ${[r.method, String(r.k), String(r.seed), ...windowMeans(r.losses, n).map((x) => x.toFixed(3))].join(' | ')} |`);
  return lines.join('\n');
}

function lossPlot(runs: readonly RunResult[], modelId: string): string {
  const trained = runs.filter((r) => r.method !== ZERO_SHOT && r.losses.length > 0);
  const smooth = (xs: readonly number[]) => xs.map((_, i) => {
    const part = xs.slice(Math.max(0, i + 1 - LOSS_SMOOTHING), i + 1);
    return part.reduce((a, b) => a + b, 0) / part.length;
  });
  const all = trained.flatMap((r) => smooth(r.losses));
  const steps = Math.max(1, ...trained.map((r) => r.losses.length));
  const lo = Math.floor(Math.min(...all) * 20) / 20;
  const hi = Math.ceil(Math.max(...all) * 20) / 20;
  return lineChartSvg(
    trained.map((r) => ({ name: trained.filter((x) => x.method === r.method).length > 1 ? `${r.method} k${r.k} s${r.seed}` : r.method, points: smooth(r.losses).map((y, i) => ({ x: i + 1, y })) })),
    { title: `${modelId}: training loss (moving mean of ${LOSS_SMOOTHING} steps)`, xLabel: 'step', yLabel: 'soft Dice loss', xTicks: [1, Math.round(steps / 4), Math.round(steps / 2), Math.round((3 * steps) / 4), steps], yRange: [lo, hi > lo ? hi : lo + 0.05] },
  );
}

/** The shipped weights' SHA-256 per model id (models/<id>.json), to tell sections of earlier weights apart. */
const shippedWeights = (): ShippedWeights => new Map(listInstalledModels().map((m) => [m.manifest.id, m.manifest.sha256]));

function writeReport(out: string, sections: readonly Section[]): void {
  const shipped = shippedWeights();
  const superseded = new Map(sections.map((s) => [s, supersededReason(s, shipped)] as const));
  // The shipped models' sections first; those of earlier weights after them, marked, kept as the record of what ran.
  const ordered = [...sections.filter((s) => !superseded.get(s)), ...sections.filter((s) => superseded.get(s))];
  const md: string[] = [
    '# Few-shot transfer benchmark',
    '',
    'Generated from `results.json` (one section per base model, target domain, settings and engine; every run as it finished). Rerunning a section\'s command resumes it: finished runs are reused, the rest computed. `npm run bench -- fewshot --report` regenerates this file and the plots alone.',
    '',
    'Dice: mean over seeds of each run\'s mean over the held-out scans (± sample sd over seeds; none with one seed). HD95 in mm (MONAI definition). "time/step": median wall time of a training step; "train total": opening the model with the method (SVD/t-SVD initialisation) plus all steps, mean over seeds; peak engine memory: live + pooled engine buffers (on the CPU engine: float64 host arrays). Held-out scoring: onnxruntime-node (CPU) on the merged ONNX of each run, the shipped inference pipeline (sliding window, largest component).',
  ];
  let headedSuperseded = false;
  for (const s of ordered) {
    const reason = superseded.get(s);
    if (reason && !headedSuperseded) {
      md.push('', '# Sections of earlier base-model weights (superseded)', '', "These ran on weights that are no longer the shipped ones; their numbers do not describe today's models. Kept as the record of what ran.");
      headedSuperseded = true;
    }
    // Rows in the grid's method order (zero-shot first), however the runs were spread over commands.
    const order = [ZERO_SHOT, ...((s.config.methods as MethodConfig[] | undefined) ?? []).map(methodLabel)];
    const rank = (m: string) => (order.includes(m) ? order.indexOf(m) : order.length);
    const sorted = [...s.runs].sort((a, b) => rank(a.method) - rank(b.method));
    const result: ComparisonResult = { device: s.device, structures: structuresOfRuns(sorted), runs: sorted };
    const rows = summarise(result);
    md.push('', `## ${s.id} (${s.manifest.architecture}, status ${s.manifest.status}) — section ${s.key}`, '');
    if (reason) md.push(`**Superseded:** ${reason}.`, '');
    md.push(`Command${s.commands.length > 1 ? 's' : ''}: ${s.commands.map((c) => `\`${c}\``).join(', ')}`, '', `Started ${s.started}; last written ${s.written}. Training engine: ${s.engine}${s.engineChoice ? ` (${s.engineChoice})` : ''}. Machine: ${s.machine}.`, '', `Target domain: ${s.domain}.`, '', `Settings: ${JSON.stringify(s.config)}.`, '', scope(s.engine, s.config), '');
    const caveat = modelCaveat(s.manifest);
    if (caveat) md.push(caveat, '');
    const prov = s.manifest.provenance as Record<string, unknown> | undefined;
    if (prov && 'trainingFinished' in prov && !prov.trainingFinished) md.push(`Base model: an interim export of a training run still in progress (epoch ${String(prov.selectedEpoch)}).`, '');
    const trained = s.runs.filter((r) => r.method !== ZERO_SHOT).length;
    md.push(`Runs: ${trained} of ${s.planned} planned fine-tuning runs ${s.finished ? 'done' : 'done so far (INCOMPLETE: still running, or stopped; rerun the command to resume)'}.`, '');
    if (s.unshiftedWholeDice !== undefined) md.push(`Reference: the base model on the same held-out scans without the simulated scanner: whole Dice ${f3(s.unshiftedWholeDice)} (the zero-shot row below is under the shift).`, '');
    if (rows.length === 0) continue;
    md.push(table(rows, result.structures), '', `Plot: [${plotName(s)}](${plotName(s)})`, '', "### Against the issue's acceptance and goal", '', ...verdicts(rows, s.runs, s.manifest.architecture));
    const perSeed = seedDifferences(s.runs, s.manifest.architecture);
    const kinds = byKind(s.runs);
    if (kinds.length) md.push('', '### Real and synthetic held-out scans apart', '', ...kinds);
    if (perSeed.length) md.push('', '### The papers\' question seed by seed', '', 'Whole-hippocampus Dice of the paper method minus each baseline on the same seed (the same k training scans):', '', ...perSeed);
    writeFileSync(join(out, plotName(s)), plot(rows, s.id));
    if (s.runs.some((r) => r.method !== ZERO_SHOT && r.losses.length >= LOSS_WINDOWS)) {
      md.push('', '### Training loss', '', `Mean training loss over each tenth of a run (one step: one batch of ${String(s.config.batch)} random crops, so single steps are noisy; the learning rate decays poly(0.9) to 0 at the last step). Plot (moving mean of ${LOSS_SMOOTHING} steps): [${lossPlotName(s)}](${lossPlotName(s)})`, '', lossTable(s.runs));
      writeFileSync(join(out, lossPlotName(s)), lossPlot(s.runs, s.id));
    }
  }
  writeFileSync(join(out, 'RESULTS.md'), md.join('\n') + '\n');
}

/** Structure names in the order the runs scored them. */
function structuresOfRuns(runs: readonly RunResult[]): string[] {
  return [...new Set(runs[0]?.scores[0]?.structures.map((x) => x.structure) ?? [])];
}

const machine = () => `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at writing`;

async function main(): Promise<void> {
  const out = resolve(opt.out);
  mkdirSync(out, { recursive: true });
  const sections = readSections(out);
  if (opt.report) {
    writeReport(out, sections);
    console.log(`wrote ${join(out, 'RESULTS.md')} from ${sections.length} section(s) of ${join(out, RESULTS_FILE)}`);
    return;
  }
  const modelIds = opt.models ? opt.models.split(',') : listInstalledModels().filter((m) => m.manifest.status === 'trained' && ['swinunetr', 'unetr'].includes(m.manifest.id)).map((m) => m.manifest.id);
  if (modelIds.length === 0) throw new Error('no trained base model installed (models/swinunetr.json, models/unetr.json); name one with --models');
  const ks = ints(opt.k, '--k');
  const seeds = ints(opt.seeds, '--seeds');
  const steps = positive(opt.steps, '--steps');
  const lrs = parseLr(opt.lr);
  const batch = positive(opt.batch, '--batch');
  const crop = opt.crop ? (ints(opt.crop, '--crop') as unknown as Dims3) : undefined;
  const domain = loadDomain();
  const { engine, how } = await openEngine();
  console.error(`few-shot benchmark on ${engine.description}; ${domain.pool.length} training scans, ${domain.test.length} held out`);
  const openBackend = (bytes: Uint8Array) => createOrtNodeBackend(bytes);
  try {
    for (const id of modelIds) {
      const { manifest, bytes } = readModelNode(id);
      // `--methods none`: the zero-shot row alone (a base model as the reference on a domain).
      const methods = opt.methods === 'none' ? [] : opt.methods ? opt.methods.split(',').map(parseMethod) : defaultMethods(manifest.architecture);
      for (const m of methods) lrs.of(m.method); // refuse a missing rate before hours of training
      // Runs are comparable (and reusable) when these agree; the grid itself may grow.
      const comparable = { model: id, steps, lr: lrs.value, batch, crop: crop ?? manifest.inputSize, space: domain.space };
      const key = sectionKey(manifest, domain.description, comparable, engine.description);
      const previous = sections.find((x) => x.key === key);
      const now = new Date().toISOString();
      const section: Section = previous ?? { key, id, manifest, commands: [], started: now, written: now, engine: engine.description, machine: machine(), domain: domain.description, config: {}, planned: 0, finished: false, device: engine.description, runs: [] };
      if (!previous) sections.push(section);
      if (!section.commands.includes(COMMAND)) section.commands.push(COMMAND);
      section.engineChoice = how;
      const grid = section.config as { methods?: MethodConfig[]; ks?: number[]; seeds?: number[] };
      const union = <T>(a: readonly T[] | undefined, b: readonly T[], same: (x: T, y: T) => boolean) => [...(a ?? []), ...b.filter((y) => !(a ?? []).some((x) => same(x, y)))];
      section.config = {
        ...comparable,
        methods: union(grid.methods, methods, (x, y) => methodLabel(x) === methodLabel(y)),
        ks: union(grid.ks, ks, (x, y) => x === y),
        seeds: union(grid.seeds, seeds, (x, y) => x === y),
      };
      const all = section.config as { methods: MethodConfig[]; ks: number[]; seeds: number[] };
      section.planned = all.methods.length * all.ks.length * all.seeds.length;
      section.finished = false;
      const done = [...section.runs];
      if (done.length) console.error(`${id}: resuming section ${key}, ${done.length} run(s) already done`);
      const sameRun = (k: { method: string; k: number; seed: number }) => done.find((r) => r.method === k.method && r.k === k.k && r.seed === k.seed && r.status !== 'aborted');
      const save = () => {
        section.written = new Date().toISOString();
        section.machine = machine();
        writeSections(out, sections);
        writeReport(out, sections);
      };
      if (domain.unshiftedTest && section.unshiftedWholeDice === undefined) {
        const scores = await scoreOnnx(bytes, { manifest, onnxBytes: bytes }, domain.unshiftedTest, 'classes', openBackend);
        section.unshiftedWholeDice = runMean({ scores } as RunResult, WHOLE, 'dice');
        console.error(`${id}: whole Dice without the shift ${f3(section.unshiftedWholeDice)}`);
        save();
      }
      const runs: RunResult[] = [];
      const sameKey = (a: RunResult, b: RunResult) => a.method === b.method && a.k === b.k && a.seed === b.seed;
      let runStart = 0;
      let index = 0;
      const total = 1 + methods.length * ks.length * seeds.length;
      // One comparison per method, in the grid's order (method, k, seed), so each can have its own lr;
      // the zero-shot row is computed by the first and reused by the others.
      for (const method of methods.length ? methods : [null]) {
        await runComparison(
          engine,
          { manifest, onnxBytes: bytes },
          domain.pool,
          domain.test,
          { methods: method ? [method] : [], ks, seeds, steps, lr: method ? lrs.of(method.method) : undefined, batch, crop, space: domain.space },
          openBackend,
          {
            reuse: (k) => runs.find((r) => sameKey(r, k as RunResult)) ?? sameRun(k),
            onRunStart: (key) => {
              runStart = performance.now();
              console.error(`[${key.method === ZERO_SHOT ? 0 : ++index}/${total - 1}] ${id} ${key.method}${key.method === ZERO_SHOT ? '' : ` k=${key.k} seed ${key.seed} lr ${method ? lrs.of(method.method) : '–'}`}`);
            },
            onStep: (_key, s) => console.error(`    step ${s.step}/${steps}  loss ${s.loss.toFixed(4)}  ${(s.ms / 1000).toFixed(1)} s`),
            onRun: (r) => {
              if (r.method !== ZERO_SHOT && done.includes(r)) index++;
              if (runs.some((x) => sameKey(x, r))) return;
              runs.push(r);
              // Runs in grid order: reused ones where they fall, new ones as they finish.
              section.runs = [...runs, ...done.filter((d) => !runs.includes(d))];
              if (!done.includes(r)) console.error(`    ${r.method}: whole Dice ${f3(runMean(r, WHOLE, 'dice'))} (${secs(performance.now() - runStart)})`);
              save();
            },
          },
        );
      }
      section.runs = [...runs, ...done.filter((d) => !runs.includes(d))];
      section.finished = section.runs.filter((r) => r.method !== ZERO_SHOT).length >= section.planned;
      save();
      const result: ComparisonResult = { device: engine.description, structures: structuresOfRuns(runs), runs };
      const rows = summarise(result);
      console.log(`\n${id} on ${engine.description}\n${table(rows, result.structures)}\n${verdicts(rows, runs, manifest.architecture).join('\n')}`);
    }
  } finally {
    engine.dispose();
  }
  console.log(`\nwrote ${join(out, 'RESULTS.md')}`);
}

await main().catch((e: unknown) => {
  // A clear message for bad input (label maps, folders, options); the stack only for bugs.
  const known = e instanceof Error && /LabelMapError|SampleError|DomainShiftError/.test(e.name);
  console.error(known || !(e instanceof Error) ? `fewshot: ${e instanceof Error ? e.message : String(e)}` : e);
  process.exit(1);
});
