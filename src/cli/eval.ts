/**
 * `seahorse eval`: segments each scan of a labelled folder and compares it with the
 * reference: Dice per label and for the whole structure (label > 0), HD95 in mm, volumes.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { maxAbsDiff } from '../core/affine';
import { WHOLE_STRUCTURE, type LabelInfo } from '../core/labels';
import { voxelVolumeMm3 } from '../core/measure';
import { dice, hausdorff, maskOf } from '../core/metrics';
import type { Volume } from '../core/volume';
import { segmentVolume } from '../infer/pipeline';
import { loadModelNode } from '../infer/registry-node';
import { modelCaveat } from '../infer/registry';
import { parse } from './args';
import { num, table, toJson } from './format';
import type { CliIO } from './main';
import { readScan } from './segment';
import { UsageError } from './usage';

export const EVAL_USAGE = `Usage: seahorse eval --model <id | model.onnx> --data <dir> [--split <split.json> --set <name>]
                     [--limit <N>] [--json <results.json>]

Segments every scan in <dir>/images and compares it with the reference labels of the same
file name in <dir>/labels: Dice per label and for the whole structure (label > 0), HD95 in
mm (95th-percentile symmetric surface distance, MONAI's definition) and volumes in mm³.
Prints one row per case (for each label and for the whole: Dice, HD95, volume predicted/
reference) and the means; --json writes the same numbers.

Options:
  --model <id | file>   a model id from models/ or the path of an .onnx file (required)
  --data <dir>          a folder with images/ and labels/
  --split <file>        JSON mapping set names to lists of file names
  --set <name>          which list of --split to evaluate (required with --split)
  --limit <N>           evaluate only the first N cases
  --json <file>         also write every number as JSON
  -h, --help            show this help`;

const SCAN = /\.(nii|nii\.gz|mgh|mgz)$/i;
/** Reference labels must lie on the scan's grid: affines equal to well below a voxel. */
const GRID_TOLERANCE_MM = 1e-3;

/** Scores of one structure (one label, or all labels > 0) in one case. */
export interface StructureScore {
  readonly label: number | 'all';
  readonly name: string;
  /** NaN when the reference is empty. */
  readonly dice: number;
  /** mm; Infinity when exactly one of the two is empty, NaN when both are. */
  readonly hd95: number;
  readonly mm3Predicted: number;
  readonly mm3Reference: number;
}

export interface CaseResult {
  readonly case: string;
  readonly scores?: StructureScore[];
  readonly error?: string;
}

export function caseList(dataDir: string, split: string | undefined, set: string | undefined): string[] {
  if (split) {
    const sets = JSON.parse(readFileSync(resolve(split), 'utf8')) as Record<string, unknown>;
    const list = set ? sets[set] : undefined;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      const names = Object.keys(sets).filter((k) => Array.isArray(sets[k]));
      throw new Error(`${split} has no list "${set}" (it has: ${names.join(', ')})`);
    }
    return list as string[];
  }
  const images = join(dataDir, 'images');
  if (!existsSync(images)) throw new Error(`${dataDir} has no images/ folder`);
  return readdirSync(images).filter((f) => SCAN.test(f)).sort();
}

/** Dice, HD95 and volumes of each manifest label and of the whole structure. */
export function scoreCase(predicted: Uint8Array, reference: Volume<Uint8Array>, labels: readonly LabelInfo[]): StructureScore[] {
  const structures: { label: number | 'all'; name: string }[] = [
    ...labels.filter((l) => l.value !== 0).map((l) => ({ label: l.value, name: l.name })),
    { label: 'all', name: WHOLE_STRUCTURE },
  ];
  const voxelMm3 = voxelVolumeMm3(reference.affine);
  return structures.map(({ label, name }) => {
    const p = maskOf(predicted, label === 'all' ? 'foreground' : label);
    const r = maskOf(reference.data, label === 'all' ? 'foreground' : label);
    let np = 0;
    let nr = 0;
    for (let n = 0; n < p.length; n++) {
      np += p[n];
      nr += r[n];
    }
    return {
      label,
      name,
      dice: dice(p, r),
      hd95: hausdorff(p, r, reference.dims, reference.spacing),
      mm3Predicted: np * voxelMm3,
      mm3Reference: nr * voxelMm3,
    };
  });
}

/** Mean of the finite values, and how many there were. */
function finiteMean(xs: number[]): { mean: number; n: number } {
  const ok = xs.filter(Number.isFinite);
  return { mean: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN, n: ok.length };
}

export async function runEval(args: readonly string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(
    args,
    {
      model: { type: 'string' },
      data: { type: 'string' },
      split: { type: 'string' },
      set: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'string' },
    },
    EVAL_USAGE,
  );
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, EVAL_USAGE);
  if (!values.model) throw new UsageError('choose a model: --model <id | model.onnx>', EVAL_USAGE);
  if (!values.data) throw new UsageError('say where the labelled scans are: --data <dir>', EVAL_USAGE);
  if (values.split && !values.set) throw new UsageError('--split needs --set <name>', EVAL_USAGE);
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!(Number.isInteger(limit) && limit > 0) && limit !== Infinity) throw new UsageError(`--limit must be a positive integer (got ${values.limit})`, EVAL_USAGE);

  const dataDir = resolve(values.data);
  const cases = caseList(dataDir, values.split, values.set).slice(0, limit);
  if (cases.length === 0) throw new Error(`no scans to evaluate in ${join(dataDir, 'images')}`);
  const model = await loadModelNode(values.model);
  const { manifest } = model;
  const caveat = modelCaveat(manifest);
  const foreground = manifest.labels.filter((l) => l.value !== 0);
  const header = tableHeader(foreground.map((l) => String(l.value)));
  const results: CaseResult[] = [];
  try {
    io.out(`Model ${manifest.id} (${manifest.status}) on ${backendLine(model.backend)}; ${cases.length} cases from ${dataDir}`);
    if (caveat) io.out(caveat);
    io.out(`Labels: ${foreground.map((l) => `${l.value} = ${l.name}`).join(', ')}; all = label > 0. HD95 in mm; volumes in mm³, predicted/reference.`);
    const rows: string[][] = [header];
    for (const name of cases) {
      try {
        const image = readScan(join(dataDir, 'images', name));
        const reference = readScan(join(dataDir, 'labels', name));
        if (!(reference.data instanceof Uint8Array) && !reference.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
          throw new Error('the reference labels are not integers 0–255');
        }
        const refLabels: Volume<Uint8Array> = { ...reference, data: Uint8Array.from(reference.data) };
        if (reference.dims.some((d, a) => d !== image.dims[a]) || maxAbsDiff(reference.affine, image.affine) > GRID_TOLERANCE_MM) {
          throw new Error('the reference labels are not on the scan’s grid (different size or affine)');
        }
        const result = await segmentVolume(image, model);
        const scores = scoreCase(result.labels.data, refLabels, manifest.labels);
        results.push({ case: name, scores });
        rows.push([name, ...tableCells(scores)]);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        results.push({ case: name, error: message });
        rows.push([name, `error: ${message}`]);
      }
    }
    const ok = results.filter((r): r is Required<CaseResult> => r.scores !== undefined);
    const structures = ok[0]?.scores ?? [];
    const mean = structures.map((s, i) => ({
      label: s.label,
      name: s.name,
      dice: finiteMean(ok.map((r) => r.scores[i].dice)),
      hd95: finiteMean(ok.map((r) => r.scores[i].hd95)),
      mm3Predicted: finiteMean(ok.map((r) => r.scores[i].mm3Predicted)),
      mm3Reference: finiteMean(ok.map((r) => r.scores[i].mm3Reference)),
    }));
    if (mean.length) {
      const means = mean.map((m) => ({ dice: m.dice.mean, hd95: m.hd95.mean, mm3Predicted: m.mm3Predicted.mean, mm3Reference: m.mm3Reference.mean }));
      rows.push([`mean of ${ok.length}`, ...tableCells(means)]);
    }
    io.out(table(rows.map((r) => (r.length === header.length ? r : [r[0], r.slice(1).join(' ')]))));
    if (values.json) {
      writeFileSync(
        resolve(values.json),
        toJson({
          model: { id: manifest.id, name: manifest.name, status: manifest.status, caveat },
          backend: { name: model.backend.name, reason: model.backend.reason },
          data: dataDir,
          split: values.split ? { file: resolve(values.split), set: values.set } : null,
          cases: results,
          mean,
        }),
      );
    }
    const failed = results.length - ok.length;
    if (failed) throw new Error(`${failed} of ${results.length} cases could not be evaluated (see the table)`);
  } finally {
    await model.backend.dispose();
  }
}

/** Columns per structure (each label, then `all`): Dice, HD95 in mm, volumes predicted/reference in mm³. */
function tableHeader(labels: readonly string[]): string[] {
  const structures = [...labels, 'all'];
  return ['case', ...structures.map((l) => `Dice ${l}`), ...structures.map((l) => `HD95 ${l}`), ...structures.map((l) => `mm³ ${l}`)];
}

function tableCells(scores: readonly Pick<StructureScore, 'dice' | 'hd95' | 'mm3Predicted' | 'mm3Reference'>[]): string[] {
  return [
    ...scores.map((s) => num(s.dice, 3)),
    ...scores.map((s) => num(s.hd95, 2)),
    ...scores.map((s) => `${num(s.mm3Predicted, 0)}/${num(s.mm3Reference, 0)}`),
  ];
}

function backendLine(b: { name: string; reason: string }): string {
  return `${b.name} (${b.reason})`;
}
