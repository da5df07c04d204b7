/**
 * "Compare methods": the few-shot experiment that `npm run bench -- fewshot` runs (the studio
 * shows its findings beside each method: fewshot-evidence.ts). For every method, number of
 * training scans k and seed: a fresh copy of the base model is fine-tuned on k scans drawn
 * (seeded) from the training pool, the adapter is merged into the base ONNX (peft/apply.ts,
 * exactly what a user would then run), and the merged model segments every held-out scan with
 * the inference pipeline; Dice and HD95 per structure. The zero-shot base model is scored the
 * same way first.
 *
 * Environment-neutral: the caller gives the engine to train on and `openBackend`, which opens
 * an inference session on ONNX bytes, and reads the scans itself.
 */
import type { LabelInfo } from '../core/labels';
import { dice, hausdorff, maskOf } from '../core/metrics';
import type { Dims3, LabelVolume, Volume } from '../core/volume';
import { uniformStream, type Engine } from '../engine';
import type { InferenceBackend } from '../infer/backend';
import type { ModelManifest } from '../infer/manifest';
import { segmentVolume } from '../infer/pipeline';
import { applyAdapterToOnnx, makeAdapter } from '../peft/apply';
import { modelShapeOf } from '../peft/merge';
import { countTrainable, methodTensorSelector, METHODS, type MethodConfig, type ResolvedMethodConfig, type TrainableCount } from '../peft/methods';
import { classGroupsFor, type TargetSpace } from './label-map';
import { train, type Checkpoint, type StepReport } from './loop';
import { batches, makeSample } from './samples';
import { openForFineTuning } from './setup';

/** A scan with its labels in target classes (label-map.ts `applyLabelMap`), on the scan's grid. */
export interface LabelledScan {
  readonly id: string;
  readonly image: Volume;
  readonly labels: LabelVolume;
}

export interface ComparisonConfig {
  readonly methods: readonly MethodConfig[];
  /** Numbers of training scans. */
  readonly ks: readonly number[];
  /** Each seed draws its own training scans, initialisation, crops and augmentation. */
  readonly seeds: readonly number[];
  readonly steps: number;
  /** Default 1e-3 (the base models' recipe). */
  readonly lr?: number;
  /** Scans per step (default 2). */
  readonly batch?: number;
  /** Training crop [D, H, W] (default the manifest's input size). */
  readonly crop?: Dims3;
  /** `whole`: the labels are 0/1 whole hippocampus (trained on head ∪ body, scored as whole only). Default `classes`. */
  readonly space?: TargetSpace;
}

export interface ComparisonBase {
  readonly manifest: ModelManifest;
  /** Self-contained ONNX bytes (external data inlined). */
  readonly onnxBytes: Uint8Array;
}

/** Dice and HD95 (mm) of one structure in one held-out scan. */
export interface StructureScore {
  readonly structure: string;
  /** NaN when the reference is empty. */
  readonly dice: number;
  /** Infinity when exactly one mask is empty. */
  readonly hd95: number;
}

export interface RunKey {
  /** Method label, or "zero-shot". */
  readonly method: string;
  readonly k: number;
  readonly seed: number;
}

export interface RunResult extends RunKey {
  readonly config: ResolvedMethodConfig | null;
  /** A which-tensor probe (`MethodConfig.trainOnly`): only these method tensors trained. */
  readonly trainOnly?: readonly string[];
  readonly trainCases: readonly string[];
  readonly trainable: TrainableCount | null;
  /** `done`, `non-finite`, `aborted`, or `zero-shot`. */
  readonly status: string;
  readonly message?: string;
  readonly steps: number;
  readonly losses: readonly number[];
  /** Median wall time of a training step (ms). */
  readonly msPerStep: number;
  /** Opening the model with the method (initialisation, t-SVD) plus training (ms). */
  readonly trainMs: number;
  /** Merging and scoring the held-out scans (ms). */
  readonly evalMs: number;
  /** Highest engine memory (live + pooled) during the run, bytes. */
  readonly peakBytes: number;
  /** Per held-out scan: one score per structure. */
  readonly scores: readonly { readonly case: string; readonly structures: readonly StructureScore[] }[];
}

export interface ComparisonCallbacks {
  /**
   * A run finished earlier with the same base, data and settings (a resumed benchmark): it is
   * reported through `onRun` again instead of being trained and scored anew.
   */
  reuse?: (run: RunKey) => RunResult | undefined;
  onRunStart?: (run: RunKey, index: number, total: number) => void;
  onStep?: (run: RunKey, report: StepReport) => void;
  onRun?: (result: RunResult) => void;
  /**
   * The trained tensors before the first step and after every step (a host read each step:
   * for measuring how far they move, bench/factor-motion.ts; leave unset otherwise).
   */
  onState?: (run: RunKey, checkpoint: Checkpoint) => void;
  signal?: AbortSignal;
}

export interface ComparisonResult {
  readonly device: string;
  readonly structures: readonly string[];
  readonly runs: readonly RunResult[];
}

export const ZERO_SHOT = 'zero-shot';
const DEFAULT_LR = 1e-3;
const DEFAULT_BATCH = 2;
export const WHOLE = 'whole';

/** A method's name in tables: its label plus the options that differ from the defaults. */
export function methodLabel(cfg: MethodConfig): string {
  const opts = [
    cfg.rank !== undefined ? `r=${cfg.rank}` : '',
    cfg.adapterDim !== undefined ? `d=${cfg.adapterDim}` : '',
    cfg.trainDecoder === false ? 'no decoder' : '',
    cfg.trainOnly ? `only ${cfg.trainOnly.join(' + ')}` : '',
  ].filter(Boolean);
  return opts.length ? `${METHODS[cfg.method].label} (${opts.join(', ')})` : METHODS[cfg.method].label;
}

/** Structures scored: each non-background label and the whole (label > 0), or the whole only. */
export function structuresOf(labels: readonly LabelInfo[], space: TargetSpace): { name: string; value: number | 'foreground' }[] {
  const whole = { name: WHOLE, value: 'foreground' as const };
  if (space === 'whole') return [whole];
  return [...labels.filter((l) => l.value !== 0).map((l) => ({ name: l.name, value: l.value })), whole];
}

/** The k training scans of a seed: the pool shuffled with the seed, its first k (so k = 1 ⊂ 3 ⊂ 5 …). */
export function drawTrainingSet<T>(pool: readonly T[], k: number, seed: number): T[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  if (k > pool.length) throw new Error(`k = ${k} training scans asked for, but the pool holds ${pool.length}`);
  const rand = uniformStream(seed);
  const order = [...pool.keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, k).map((i) => pool[i]);
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Segments every held-out scan with the model in `onnx` and scores each structure. */
export async function scoreOnnx(onnx: Uint8Array, base: ComparisonBase, test: readonly LabelledScan[], space: TargetSpace, openBackend: (onnx: Uint8Array) => Promise<InferenceBackend>, signal?: AbortSignal): Promise<RunResult['scores']> {
  const backend = await openBackend(onnx);
  const structures = structuresOf(base.manifest.labels, space);
  try {
    const out: { case: string; structures: StructureScore[] }[] = [];
    for (const scan of test) {
      const seg = await segmentVolume(scan.image, { manifest: base.manifest, backend }, { signal });
      out.push({
        case: scan.id,
        structures: structures.map(({ name, value }) => {
          const p = maskOf(seg.labels.data, value);
          const r = maskOf(scan.labels.data, value);
          return { structure: name, dice: dice(p, r), hd95: hausdorff(p, r, scan.labels.dims, scan.labels.spacing) };
        }),
      });
    }
    return out;
  } finally {
    await backend.dispose();
  }
}

/**
 * Runs the whole grid: the zero-shot base, then every method × k × seed. Aborting (the
 * signal) stops the run in progress at its next step and returns the runs finished before it.
 */
export async function runComparison(
  engine: Engine,
  base: ComparisonBase,
  pool: readonly LabelledScan[],
  test: readonly LabelledScan[],
  config: ComparisonConfig,
  openBackend: (onnx: Uint8Array) => Promise<InferenceBackend>,
  callbacks: ComparisonCallbacks = {},
): Promise<ComparisonResult> {
  const space = config.space ?? 'classes';
  if (test.length === 0) throw new Error('no held-out scans to score the methods on');
  const classes = base.manifest.labels.length;
  const crop = config.crop ?? base.manifest.inputSize;
  const groups = classGroupsFor(space, classes);
  const samples = pool.map((s) => makeSample(s.id, s.image, s.labels, classes, base.manifest));
  for (const k of config.ks) drawTrainingSet(samples, k, 0); // refuse an impossible k before hours of training
  const runs: RunResult[] = [];
  const total = 1 + config.methods.length * config.ks.length * config.seeds.length;
  const emit = (r: RunResult) => {
    runs.push(r);
    callbacks.onRun?.(r);
  };

  const zeroKey = { method: ZERO_SHOT, k: 0, seed: 0 };
  const zeroDone = callbacks.reuse?.(zeroKey);
  if (zeroDone) emit(zeroDone);
  else {
    callbacks.onRunStart?.(zeroKey, 0, total);
    const t0 = performance.now();
    const zeroScores = await scoreOnnx(base.onnxBytes, base, test, space, openBackend, callbacks.signal);
    emit({ ...zeroKey, config: null, trainCases: [], trainable: null, status: 'zero-shot', steps: 0, losses: [], msPerStep: NaN, trainMs: 0, evalMs: performance.now() - t0, peakBytes: 0, scores: zeroScores });
  }

  let index = 1;
  for (const methodCfg of config.methods) {
    for (const k of config.ks) {
      for (const seed of config.seeds) {
        callbacks.signal?.throwIfAborted();
        const key = { method: methodLabel(methodCfg), k, seed };
        const done = callbacks.reuse?.(key);
        if (done) {
          index++;
          emit(done);
          continue;
        }
        callbacks.onRunStart?.(key, index++, total);
        const trainSet = drawTrainingSet(samples, k, seed);
        engine.resetPeak();
        const tOpen = performance.now();
        const setup = await openForFineTuning(engine, base.onnxBytes, { ...methodCfg, seed }, { label: base.manifest.id });
        const { adapted, method, fingerprint } = setup;
        const model = adapted.model;
        let result;
        let methodTensors: ((name: string) => boolean) | undefined;
        try {
          methodTensors = methodCfg.trainOnly ? methodTensorSelector(methodCfg.method, [...(adapted.adapter?.params.keys() ?? [])], methodCfg.trainOnly) : undefined;
          result = await train(adapted, batches(trainSet, config.batch ?? DEFAULT_BATCH, crop, seed), {
            methodTensors,
            steps: config.steps,
            lr: config.lr ?? DEFAULT_LR,
            seed,
            classGroups: groups,
            signal: callbacks.signal,
            onStep: (r) => callbacks.onStep?.(key, r),
            ...(callbacks.onState ? { checkpointEvery: 1, onCheckpoint: (c: Checkpoint) => callbacks.onState?.(key, c) } : {}),
          });
        } catch (e) {
          adapted.dispose();
          model.dispose();
          throw e;
        }
        const trainMs = performance.now() - tOpen;
        const peakBytes = engine.memory().peakBytes;
        if (result.status === 'aborted') {
          adapted.dispose();
          model.dispose();
          return { device: engine.description, structures: structuresOf(base.manifest.labels, space).map((s) => s.name), runs };
        }
        const adapter = await makeAdapter(adapted, method, { fingerprint, label: base.manifest.id }, result.checkpoint.state);
        const trainedMethodScalars = methodTensors ? [...(adapted.adapter?.params ?? [])].reduce((a, [name, t]) => a + (methodTensors(name) ? t.size : 0), 0) : null;
        adapted.dispose();
        model.dispose();
        const tEval = performance.now();
        const merged = await applyAdapterToOnnx(base.onnxBytes, adapter, base.manifest.id);
        const scores = await scoreOnnx(merged.bytes, base, test, space, openBackend, callbacks.signal);
        emit({
          ...key,
          config: method,
          ...(methodCfg.trainOnly ? { trainOnly: methodCfg.trainOnly } : {}),
          trainCases: trainSet.map((s) => s.id),
          trainable: trainedCount(countTrainable(modelShapeOf(setup.spec.kind, setup.spec.config as unknown as Record<string, unknown>), method), trainedMethodScalars),
          status: result.status,
          message: result.message,
          steps: result.checkpoint.step,
          losses: result.reports.map((r) => r.loss),
          msPerStep: median(result.reports.map((r) => r.ms)),
          trainMs,
          evalMs: performance.now() - tEval,
          peakBytes,
          scores,
        });
      }
    }
  }
  return { device: engine.description, structures: structuresOf(base.manifest.labels, space).map((s) => s.name), runs };
}

/** The count with only `methodScalars` of the method's tensors trained (a `trainOnly` probe), or as configured. */
function trainedCount(count: TrainableCount, methodScalars: number | null): TrainableCount {
  return methodScalars === null ? count : { ...count, method: methodScalars, total: methodScalars + count.base };
}

export interface Summary {
  readonly method: string;
  readonly k: number;
  readonly seeds: number;
  /** Per structure: mean and sample sd over seeds of the per-run mean over held-out scans. */
  readonly dice: Record<string, { mean: number; sd: number }>;
  readonly hd95: Record<string, { mean: number; sd: number }>;
  readonly trainable: TrainableCount | null;
  readonly msPerStep: number;
  readonly trainMs: number;
  readonly peakBytes: number;
  readonly statuses: readonly string[];
}

function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const ok = xs.filter(Number.isFinite);
  if (ok.length === 0) return { mean: NaN, sd: NaN };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const sd = ok.length > 1 ? Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1)) : NaN;
  return { mean, sd };
}

/** Mean over held-out scans of one structure's metric in one run (finite values only: MONAI's ignore_empty). */
export function runMean(run: RunResult, structure: string, metric: 'dice' | 'hd95'): number {
  const xs = run.scores.map((c) => c.structures.find((s) => s.structure === structure)?.[metric] ?? NaN).filter(Number.isFinite);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** One row per (method, k), in the order the runs happened; the zero-shot row first. */
export function summarise(result: ComparisonResult): Summary[] {
  const keys: string[] = [];
  const byKey = new Map<string, RunResult[]>();
  for (const r of result.runs) {
    const key = `${r.method}\u0000${r.k}`;
    if (!byKey.has(key)) {
      byKey.set(key, []);
      keys.push(key);
    }
    byKey.get(key)!.push(r);
  }
  return keys.map((key) => {
    const rs = byKey.get(key)!;
    const stat = (metric: 'dice' | 'hd95') => Object.fromEntries(result.structures.map((s) => [s, meanSd(rs.map((r) => runMean(r, s, metric)))]));
    return {
      method: rs[0].method,
      k: rs[0].k,
      seeds: rs.length,
      dice: stat('dice'),
      hd95: stat('hd95'),
      trainable: rs[0].trainable,
      msPerStep: median(rs.map((r) => r.msPerStep)),
      trainMs: rs.reduce((a, r) => a + r.trainMs, 0) / rs.length,
      peakBytes: Math.max(...rs.map((r) => r.peakBytes)),
      statuses: [...new Set(rs.map((r) => r.status))],
    };
  });
}
