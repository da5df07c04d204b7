/**
 * `seahorse stats <output_dir> --classify <column>`: how well hippocampal volumes separate
 * the classes of a participants.tsv column (e.g. AD vs CN), as cross-validated accuracy.
 * Reads the group table (`seahorse bids … group`); the statistics are src/bids/stats.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crossValidate, datasetFromRows, type Method } from '../bids/stats';
import { parseTsv } from '../bids/tsv';
import { parse } from './args';
import { table, toJson } from './format';
import type { CliIO } from './main';
import { UsageError } from './usage';

export const STATS_USAGE = `Usage: seahorse stats <output_dir> --classify <column> [--classes <a,b>] [--method lda|logistic]
                      [--features <c1,c2,…>] [--folds K] [--repeats R] [--permutations P]
                      [--seed S] [--exclude-flagged] [--json]

Cross-validated accuracy of a classifier that predicts <column> (a participants.tsv column
in hippocampus_volumes.tsv, e.g. diagnosis) from hippocampal volumes. Features are
standardised on each training fold; folds are stratified by class and keep each
participant's sessions together. Reported beside the majority-class baseline and a
label-permutation p-value.

Options:
  --classify <column>   the class column (required)
  --classes <a,b,…>     only rows of these classes (e.g. AD,CN when MCI is also present)
  --method <m>          lda (default; any number of classes) or logistic (two classes)
  --features <list>     columns to use (default: left_hippocampus_pct_icv,
                        right_hippocampus_pct_icv, and age when every row has it)
  --folds <K>           K-fold cross-validation (default 5)
  --repeats <R>         repeat with new folds and average (default 10)
  --permutations <P>    label permutations for the p-value (default 200; 0 for none)
  --seed <S>            fold and permutation seed (default 1)
  --exclude-flagged     leave out rows with QC flags (outliers, poor registration, …)
  --json                machine-readable output
  -h, --help            show this help`;

/** Fewer scans per class than this: the accuracy is printed with a warning that it is unstable. */
export const MIN_PER_CLASS = 10;

const int = (v: string | undefined, fallback: number, name: string, min: number) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number ≥ ${min} (got "${v}")`, STATS_USAGE);
  return n;
};

export async function runStats(args: readonly string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(
    args,
    {
      classify: { type: 'string' },
      classes: { type: 'string' },
      method: { type: 'string' },
      features: { type: 'string' },
      folds: { type: 'string' },
      repeats: { type: 'string' },
      permutations: { type: 'string' },
      seed: { type: 'string' },
      'exclude-flagged': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    STATS_USAGE,
  );
  if (positionals.length !== 1) throw new UsageError(`give the BIDS App's output folder (got ${positionals.length} arguments)`, STATS_USAGE);
  if (!values.classify) throw new UsageError('say which column to predict: --classify <column> (e.g. diagnosis)', STATS_USAGE);
  const method = (values.method ?? 'lda') as Method;
  if (method !== 'lda' && method !== 'logistic') throw new UsageError(`--method is lda or logistic (got "${values.method}")`, STATS_USAGE);
  const folds = int(values.folds, 5, 'folds', 2);
  const repeats = int(values.repeats, 10, 'repeats', 1);
  const permutations = int(values.permutations, 200, 'permutations', 0);
  const seed = int(values.seed, 1, 'seed', 0);

  const path = join(resolve(positionals[0]), 'hippocampus_volumes.tsv');
  if (!existsSync(path)) throw new Error(`${path} not found: run "seahorse bids <bids_dir> ${positionals[0]} group" first`);
  const parsed = parseTsv(readFileSync(path, 'utf8'));
  const column = values.classify;
  if (!parsed.columns.includes(column)) {
    throw new Error(`hippocampus_volumes.tsv has no column "${column}" (participants.tsv supplies covariates; columns: ${parsed.columns.join(', ')})`);
  }
  let rows = parsed.rows;
  const notes: string[] = [];
  if (values.classes) {
    const keep = new Set(values.classes.split(',').map((c) => c.trim()));
    rows = rows.filter((r) => keep.has(r[column]));
  }
  if (values['exclude-flagged']) {
    const before = rows.length;
    rows = rows.filter((r) => r.qc_flags === 'n/a' || r.qc_flags === '');
    if (before > rows.length) notes.push(`${before - rows.length} flagged rows left out (--exclude-flagged).`);
  }
  let features = values.features?.split(',').map((f) => f.trim()).filter(Boolean);
  if (!features) {
    features = ['left_hippocampus_pct_icv', 'right_hippocampus_pct_icv'];
    const ok = rows.filter((r) => r.status === 'ok' && r[column] && r[column] !== 'n/a');
    if (parsed.columns.includes('age') && ok.length && ok.every((r) => Number.isFinite(Number(r.age)) && r.age !== 'n/a' && r.age !== '')) features.push('age');
  }
  const missingColumns = features.filter((f) => !parsed.columns.includes(f));
  if (missingColumns.length) throw new Error(`hippocampus_volumes.tsv has no column ${missingColumns.join(', ')}`);
  const { data, dropped } = datasetFromRows(rows, column, features);
  for (const d of dropped) notes.push(`${d.count} row${d.count === 1 ? '' : 's'} left out: ${d.reason}.`);
  const result = crossValidate(data, { method, folds, repeats, permutations, seed });
  const perClass = result.classes.map((c) => data.y.filter((y) => y === c).length);
  const warnings: string[] = [];
  if (Math.min(...perClass) < MIN_PER_CLASS) {
    warnings.push(`Only ${Math.min(...perClass)} scans in the smallest class: a cross-validated accuracy from so few is unstable (fewer than ${MIN_PER_CLASS} per class).`);
  }
  if (result.pValue !== null && result.pValue > 0.05) warnings.push(`The accuracy is not distinguishable from chance (permutation p = ${result.pValue.toFixed(3)}).`);
  if (values.json) {
    io.out(toJson({ table: path, column, features, classCounts: Object.fromEntries(result.classes.map((c, i) => [c, perClass[i]])), ...result, notes, warnings }));
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  io.out(
    [
      `Table     ${path}`,
      `Predict   ${column}: ${result.classes.map((c, i) => `${c} ${perClass[i]}`).join(', ')} (${result.n} scans, ${result.participants} participants)`,
      `Features  ${features.join(', ')} (standardised per training fold)`,
      `Method    ${method === 'lda' ? 'linear discriminant analysis' : 'logistic regression (L2)'}, ${folds}-fold CV by participant, stratified, ${repeats} repeat${repeats === 1 ? '' : 's'}`,
      ...notes.map((n) => `Note      ${n}`),
      '',
      table([
        ['measure', 'value'],
        ['accuracy', `${pct(result.accuracy)} ± ${pct(result.foldAccuracySd)} (fold SD)`],
        ['balanced accuracy', pct(result.balancedAccuracy)],
        ['majority-class baseline', pct(result.majorityBaseline)],
        ...(result.pValue !== null ? [['permutation p', `${result.pValue.toFixed(4)} (${result.permutations} permutations)`]] : []),
      ]),
      '',
      'Confusion (rows true, columns predicted; first repeat)',
      table([['', ...result.classes], ...result.confusion.map((r, i) => [result.classes[i], ...r.map(String)])]),
      ...warnings.map((w) => `\nWarning   ${w}`),
    ].join('\n'),
  );
}
