/**
 * Does hippocampal volume tell the diagnoses apart? Cross-validated accuracy of a small
 * volume-based classifier, as HyPS (AD vs CN on ADNI volumes, 83.78 %) reports it:
 * features are ICV-normalised volumes (+ age), standardised on each training fold.
 *
 * - Folds are stratified by class and grouped by participant: the sessions of one
 *   participant never sit in both training and test (that would leak their anatomy).
 * - Two classifiers: linear discriminant analysis (shared covariance, any number of
 *   classes) and L2-regularised logistic regression (two classes, Newton/IRLS).
 * - Chance is not 50 %: the majority-class rate is the baseline, and a label-permutation
 *   test gives the probability of the accuracy under no association (Ojala & Garriga 2010).
 */
import { uniformStream } from '../core/random';

export type Method = 'lda' | 'logistic';

export interface Dataset {
  /** Row-major features, one row per sample. */
  readonly x: readonly (readonly number[])[];
  /** Class label per sample. */
  readonly y: readonly string[];
  /** Participant per sample (the CV grouping). */
  readonly groups: readonly string[];
}

/** Logistic regression's L2 penalty on standardised weights (not the intercept): a mild ridge that keeps separable folds finite. */
export const LOGISTIC_L2 = 1e-2;
/** LDA's covariance shrinkage towards its mean variance (fraction), so a singular pooled covariance still inverts. */
export const LDA_SHRINKAGE = 1e-3;

interface Model {
  predict(row: readonly number[]): number;
}

/** Solves A x = b (A square) by Gaussian elimination with partial pivoting. */
export function solve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (Math.abs(m[p][c]) < 1e-300) throw new Error('singular matrix');
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/** Linear discriminant analysis; `y` holds class indices 0..k−1. */
export function fitLda(x: readonly (readonly number[])[], y: readonly number[], k: number): Model {
  const p = x[0].length;
  const n = x.length;
  const means = Array.from({ length: k }, () => new Array<number>(p).fill(0));
  const counts = new Array<number>(k).fill(0);
  x.forEach((row, i) => {
    counts[y[i]]++;
    row.forEach((v, j) => (means[y[i]][j] += v));
  });
  means.forEach((m, c) => m.forEach((_, j) => (m[j] /= Math.max(counts[c], 1))));
  const cov = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  x.forEach((row, i) => {
    const d = row.map((v, j) => v - means[y[i]][j]);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) cov[a][b] += (d[a] * d[b]) / Math.max(n - k, 1);
  });
  const meanVar = cov.reduce((s, r, i) => s + r[i], 0) / p || 1;
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) cov[a][b] *= 1 - LDA_SHRINKAGE;
    cov[a][a] += LDA_SHRINKAGE * meanVar;
  }
  // δ_c(x) = xᵀ Σ⁻¹ μ_c − ½ μ_cᵀ Σ⁻¹ μ_c + log π_c
  const w = means.map((m) => solve(cov, m));
  const b = means.map((m, c) => -0.5 * dot(m, w[c]) + Math.log(Math.max(counts[c], 1e-12) / n));
  return { predict: (row) => argmax(w.map((wc, c) => dot(row, wc) + b[c])) };
}

/** Two-class L2 logistic regression by Newton's method (IRLS); `y` is 0/1. */
export function fitLogistic(x: readonly (readonly number[])[], y: readonly number[], l2 = LOGISTIC_L2): Model & { weights: number[] } {
  const p = x[0].length + 1;
  const rows = x.map((r) => [1, ...r]);
  let w = new Array<number>(p).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const grad = new Array<number>(p).fill(0);
    const hess = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    rows.forEach((r, i) => {
      const mu = sigmoid(dot(r, w));
      const s = Math.max(mu * (1 - mu), 1e-10);
      for (let a = 0; a < p; a++) {
        grad[a] += (mu - y[i]) * r[a];
        for (let b = 0; b < p; b++) hess[a][b] += s * r[a] * r[b];
      }
    });
    for (let a = 1; a < p; a++) {
      grad[a] += l2 * rows.length * w[a];
      hess[a][a] += l2 * rows.length;
    }
    const step = solve(hess, grad);
    w = w.map((v, a) => v - step[a]);
    if (Math.max(...step.map(Math.abs)) < 1e-10) break;
  }
  return { weights: w, predict: (row) => (dot([1, ...row], w) > 0 ? 1 : 0) };
}

/**
 * k folds over participants, stratified by each participant's (first) class: the
 * participants of each class are shuffled and dealt round-robin, so every fold holds
 * about the same class mix. Returns the fold index per sample.
 */
export function stratifiedGroupFolds(y: readonly string[], groups: readonly string[], k: number, seed: number): number[] {
  const rand = uniformStream(seed);
  const classOf = new Map<string, string>();
  groups.forEach((g, i) => classOf.has(g) || classOf.set(g, y[i]));
  const byClass = new Map<string, string[]>();
  for (const [g, c] of classOf) byClass.set(c, [...(byClass.get(c) ?? []), g]);
  const foldOf = new Map<string, number>();
  let next = 0;
  for (const c of [...byClass.keys()].sort()) {
    const members = byClass.get(c)!;
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    // Continue dealing where the last class stopped, so small classes do not all start at fold 0.
    for (const g of members) foldOf.set(g, next++ % k);
  }
  return groups.map((g) => foldOf.get(g)!);
}

export interface CvResult {
  readonly method: Method;
  readonly classes: readonly string[];
  readonly n: number;
  readonly participants: number;
  readonly folds: number;
  /** Correct predictions ÷ samples, pooled over the test folds (mean over repeats). */
  readonly accuracy: number;
  /** Mean per-class recall (pooled, mean over repeats). */
  readonly balancedAccuracy: number;
  /** SD of accuracy across the folds of all repeats. */
  readonly foldAccuracySd: number;
  /** Always predicting the most frequent class. */
  readonly majorityBaseline: number;
  /** confusion[true][predicted], first repeat. */
  readonly confusion: readonly (readonly number[])[];
  /** Permutation p-value of the first pass's accuracy; null when no permutations were asked for. */
  readonly pValue: number | null;
  readonly permutations: number;
}

export interface CvOptions {
  readonly method: Method;
  readonly folds: number;
  readonly repeats?: number;
  readonly permutations?: number;
  readonly seed?: number;
}

/** Pooled test predictions of one k-fold pass (features standardised on each training fold). */
function predictFolds(d: Dataset, yIdx: readonly number[], k: number, method: Method, foldOf: readonly number[], nFolds: number): number[] {
  const pred = new Array<number>(d.y.length).fill(-1);
  for (let f = 0; f < nFolds; f++) {
    const train = foldOf.flatMap((g, i) => (g === f ? [] : [i]));
    const test = foldOf.flatMap((g, i) => (g === f ? [i] : []));
    if (test.length === 0) continue;
    const { mean, sd } = columnStats(train.map((i) => d.x[i]));
    const z = (row: readonly number[]) => row.map((v, j) => (v - mean[j]) / sd[j]);
    const xs = train.map((i) => z(d.x[i]));
    const ys = train.map((i) => yIdx[i]);
    const model = method === 'lda' ? fitLda(xs, ys, k) : fitLogistic(xs, ys);
    for (const i of test) pred[i] = model.predict(z(d.x[i]));
  }
  return pred;
}

export function crossValidate(d: Dataset, opts: CvOptions): CvResult {
  const classes = [...new Set(d.y)].sort();
  const k = classes.length;
  if (k < 2) throw new Error(`classification needs two classes or more; found ${k === 1 ? `only "${classes[0]}"` : 'none'}`);
  if (opts.method === 'logistic' && k !== 2) throw new Error(`logistic regression separates two classes; found ${k} (${classes.join(', ')}): use --method lda or --positive`);
  const participants = new Set(d.groups).size;
  if (participants < opts.folds) throw new Error(`${opts.folds}-fold cross-validation needs at least ${opts.folds} participants; there are ${participants}`);
  const yIdx = d.y.map((c) => classes.indexOf(c));
  const repeats = opts.repeats ?? 1;
  const seed = opts.seed ?? 1;
  const score = (labels: readonly number[], yStrings: readonly string[], rep: number) => {
    const foldOf = stratifiedGroupFolds(yStrings, d.groups, opts.folds, seed + rep);
    const pred = predictFolds(d, labels, k, opts.method, foldOf, opts.folds);
    return { pred, foldOf };
  };
  let accSum = 0;
  let balSum = 0;
  const foldAccs: number[] = [];
  let confusion: number[][] = [];
  let firstAccuracy = 0;
  for (let rep = 0; rep < repeats; rep++) {
    const { pred, foldOf } = score(yIdx, d.y, rep);
    const acc = accuracyOf(pred, yIdx);
    if (rep === 0) firstAccuracy = acc;
    accSum += acc;
    balSum += balancedAccuracy(pred, yIdx, k);
    for (let f = 0; f < opts.folds; f++) {
      const idx = foldOf.flatMap((g, i) => (g === f ? [i] : []));
      if (idx.length) foldAccs.push(idx.filter((i) => pred[i] === yIdx[i]).length / idx.length);
    }
    if (rep === 0) {
      confusion = classes.map(() => new Array<number>(k).fill(0));
      pred.forEach((p, i) => confusion[yIdx[i]][p]++);
    }
  }
  const accuracy = accSum / repeats;
  const permutations = opts.permutations ?? 0;
  let pValue: number | null = null;
  if (permutations > 0) {
    // Permute labels between participants (a participant keeps one label), then one CV pass
    // each, compared with the first (unpermuted) pass: like for like.
    const rand = uniformStream(seed + 1_000_003);
    const people = [...new Set(d.groups)];
    const labelOf = new Map(people.map((g) => [g, d.y[d.groups.indexOf(g)]]));
    let atLeast = 0;
    for (let p = 0; p < permutations; p++) {
      const shuffled = people.map((g) => labelOf.get(g)!);
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      const perm = new Map(people.map((g, i) => [g, shuffled[i]]));
      const yp = d.groups.map((g) => perm.get(g)!);
      const { pred } = score(yp.map((c) => classes.indexOf(c)), yp, p);
      if (accuracyOf(pred, yp.map((c) => classes.indexOf(c))) >= firstAccuracy - 1e-12) atLeast++;
    }
    pValue = (1 + atLeast) / (1 + permutations);
  }
  const counts = classes.map((c) => d.y.filter((v) => v === c).length);
  return {
    method: opts.method,
    classes,
    n: d.y.length,
    participants,
    folds: opts.folds,
    accuracy,
    balancedAccuracy: balSum / repeats,
    foldAccuracySd: sdOf(foldAccs),
    majorityBaseline: Math.max(...counts) / d.y.length,
    confusion,
    pValue,
    permutations,
  };
}

function accuracyOf(pred: readonly number[], y: readonly number[]): number {
  return pred.filter((p, i) => p === y[i]).length / y.length;
}

function balancedAccuracy(pred: readonly number[], y: readonly number[], k: number): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const idx = y.flatMap((v, i) => (v === c ? [i] : []));
    if (!idx.length) continue;
    present++;
    sum += idx.filter((i) => pred[i] === c).length / idx.length;
  }
  return sum / present;
}

function columnStats(rows: readonly (readonly number[])[]): { mean: number[]; sd: number[] } {
  const p = rows[0].length;
  const mean = new Array<number>(p).fill(0);
  rows.forEach((r) => r.forEach((v, j) => (mean[j] += v / rows.length)));
  const sd = mean.map((m, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j] - m) ** 2, 0) / Math.max(rows.length - 1, 1)) || 1);
  return { mean, sd };
}

function sdOf(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const sigmoid = (t: number) => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));
const argmax = (xs: readonly number[]) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

/**
 * The dataset for `--classify <column>` from group-table rows (strings as in the TSV):
 * scans with status ok, the class column and every feature present. Returns what was
 * dropped and why, so the caller can say it.
 */
export function datasetFromRows(rows: readonly Readonly<Record<string, string>>[], classColumn: string, features: readonly string[]): { data: Dataset; dropped: { reason: string; count: number }[] } {
  const dropped = new Map<string, number>();
  const drop = (why: string) => dropped.set(why, (dropped.get(why) ?? 0) + 1);
  const x: number[][] = [];
  const y: string[] = [];
  const groups: string[] = [];
  for (const r of rows) {
    if (r.status !== 'ok') {
      drop(`status ${r.status}`);
      continue;
    }
    const label = r[classColumn];
    if (label === undefined || label === '' || label === 'n/a') {
      drop(`no ${classColumn}`);
      continue;
    }
    const values = features.map((f) => Number(r[f]));
    const missing = features.filter((_, i) => r[features[i]] === 'n/a' || r[features[i]] === undefined || !Number.isFinite(values[i]));
    if (missing.length) {
      drop(`no ${missing.join(', ')}`);
      continue;
    }
    x.push(values);
    y.push(label);
    groups.push(r.participant_id);
  }
  return { data: { x, y, groups }, dropped: [...dropped].map(([reason, count]) => ({ reason, count })) };
}
