/**
 * `seahorse eval`: segments each scan of a labelled folder as `seahorse segment` does (crops
 * and full heads alike) and compares it with the reference: Dice per label and for the whole
 * structure (label > 0), HD95 in mm, volumes.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { maxAbsDiff } from '../core/affine';
import { WHOLE_STRUCTURE, type LabelInfo } from '../core/labels';
import { voxelVolumeMm3 } from '../core/measure';
import { dice, hausdorff, maskOf } from '../core/metrics';
import type { Volume } from '../core/volume';
import { loadLocaliserNode } from '../infer/localiser-node';
import { PROTOCOLS, type Protocol } from '../infer/manifest';
import { loadModelNode, type LoadedNodeModel } from '../infer/registry-node';
import { modelCaveat } from '../infer/registry';
import { segmentScan } from '../infer/segment-scan';
import { applyAdapterToOnnx } from '../peft/apply';
import { withAdaptedProtocol } from '../train/label-map';
import { describeAdapter, readAdapterFile } from './adapter';
import { parse } from './args';
import { chooseModel } from './bids-scan';
import { num, table, toJson } from './format';
import type { CliIO } from './main';
import { readScan } from './segment';
import { UsageError } from './usage';
import { cliTemplateOnce } from './template-once';

export const EVAL_USAGE = `Usage: seahorse eval (--model <id | model.onnx> | --protocol freesurfer|msd) --data <dir>
                     [--adapter <file>] [--split <split.json> --set <name>] [--limit <N>] [--json <results.json>]

Segments every scan in <dir>/images as \`seahorse segment\` does (a crop as it is, a full head
through localisation and two crops: labels 1 left, 2 right) and compares it with the reference
labels of the same file name in <dir>/labels: Dice per label and for the whole structure
(label > 0), HD95 in mm (95th-percentile symmetric surface distance, MONAI's definition) and
volumes in mm³. Prints one row per case (for each label and for the whole: Dice, HD95, volume
predicted/reference), the means, then every warning the pipeline gave with its case; --json
writes the same. A scan the pipeline refuses is a row with the reason, the run goes on to
the next, and it ends with an error.

Options:
  --model <id | file>   a model id from models/ or the path of an .onnx file
  --protocol <name>     the labelling protocol: freesurfer (aseg 17/53) or msd. Without
                        --model, the trained model of that protocol; with it, the model must
                        follow it. With freesurfer, reference files in FreeSurfer's codes (an
                        aseg or aparc+aseg: any code above 2) are read as 17 → 1 (left),
                        53 → 2 (right), every other code → 0
  --data <dir>          a folder with images/ and labels/
  --adapter <file>      a fine-tuned adapter (seahorse finetune) merged into the model
                        first, as seahorse segment --adapter does: scores the adapted
                        model on scans it was not trained on. Without --model, the
                        adapter's own base model; adapted, the model follows the
                        protocol of the labels it was trained on (e.g. an MSD model
                        adapted with --labels freesurfer is scored against aseg 17/53)
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
  /** What the pipeline said beside the masks (as `seahorse segment` prints them); with the scores. */
  readonly warnings?: readonly string[];
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

/** FreeSurfer's aseg codes of the left and right hippocampus (FreeSurferColorLUT.txt). */
const ASEG_LEFT_HIPPOCAMPUS = 17;
const ASEG_RIGHT_HIPPOCAMPUS = 53;

/**
 * The reference as integer labels 0–255 on its grid. Under the FreeSurfer protocol, a file in
 * FreeSurfer's codes (any code above the pipeline's 1 left / 2 right) becomes 17 → 1, 53 → 2,
 * the rest 0; one holding neither hippocampus code is refused, as is any non-integer value.
 */
export function referenceLabels(reference: Volume, protocol: Protocol | null): Volume<Uint8Array> {
  const src = reference.data;
  let max = 0;
  for (let n = 0; n < src.length; n++) {
    const v = src[n];
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`the reference labels are not non-negative integers (voxel ${n} is ${v})`);
    if (v > max) max = v;
  }
  const data = new Uint8Array(src.length);
  if (protocol === 'freesurfer' && max > 2) {
    let found = 0;
    for (let n = 0; n < src.length; n++) {
      const v = src[n];
      data[n] = v === ASEG_LEFT_HIPPOCAMPUS ? 1 : v === ASEG_RIGHT_HIPPOCAMPUS ? 2 : 0;
      found += data[n] ? 1 : 0;
    }
    if (!found) throw new Error(`the reference holds FreeSurfer-style codes (up to ${max}) but neither hippocampus (${ASEG_LEFT_HIPPOCAMPUS}, ${ASEG_RIGHT_HIPPOCAMPUS})`);
    return { ...reference, data };
  }
  if (max > 255) throw new Error(`the reference labels exceed 255 (up to ${max}); with FreeSurfer codes, pass --protocol freesurfer`);
  for (let n = 0; n < src.length; n++) data[n] = src[n];
  return { ...reference, data };
}

/** Dice, HD95 and volumes of each label and of the whole structure. */
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
      protocol: { type: 'string' },
      adapter: { type: 'string' },
      data: { type: 'string' },
      split: { type: 'string' },
      set: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'string' },
    },
    EVAL_USAGE,
  );
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, EVAL_USAGE);
  if (!values.model && !values.protocol && !values.adapter) throw new UsageError('choose a model (--model <id | model.onnx>) or a protocol (--protocol freesurfer|msd)', EVAL_USAGE);
  if (values.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(values.protocol)) {
    throw new UsageError(`--protocol takes ${PROTOCOLS.join(' or ')} (got ${values.protocol})`, EVAL_USAGE);
  }
  if (!values.data) throw new UsageError('say where the labelled scans are: --data <dir>', EVAL_USAGE);
  if (values.split && !values.set) throw new UsageError('--split needs --set <name>', EVAL_USAGE);
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!(Number.isInteger(limit) && limit > 0) && limit !== Infinity) throw new UsageError(`--limit must be a positive integer (got ${values.limit})`, EVAL_USAGE);

  const dataDir = resolve(values.data);
  const cases = caseList(dataDir, values.split, values.set).slice(0, limit);
  if (cases.length === 0) throw new Error(`no scans to evaluate in ${join(dataDir, 'images')}`);
  const adapter = values.adapter ? await readAdapterFile(resolve(values.adapter)) : null;
  // An adapter names the model it was trained on (its id, as `seahorse finetune` records it).
  const choice = chooseModel({ model: values.model ?? adapter?.base.label, protocol: values.protocol });
  const opened = await loadModelNode(choice.model, {
    adapt: adapter ? async (bytes) => (await applyAdapterToOnnx(bytes, adapter, `model ${choice.model}`)).bytes : undefined,
  });
  // Adapted, it follows the protocol of the labels it was trained on.
  const model = adapter ? { ...opened, manifest: withAdaptedProtocol(opened.manifest, adapter.training.labelMap) } : opened;
  const { manifest } = model;
  if (choice.protocol && manifest.protocol !== choice.protocol) {
    await model.backend.dispose();
    throw new Error(`model ${manifest.id} follows the ${manifest.protocol ?? 'unknown'} protocol, not ${choice.protocol}; leave out --model or --protocol`);
  }
  const protocol = manifest.protocol ?? choice.protocol;
  const caveat = modelCaveat(manifest);
  const template = cliTemplateOnce();
  let localiser: Promise<LoadedNodeModel | null> | undefined;
  const localiserModel = () => (localiser ??= loadLocaliserNode());
  // The columns are the first scored case's labels (crops: the model's; full heads: 1 left, 2 right).
  let labelSet: readonly LabelInfo[] | null = null;
  const results: CaseResult[] = [];
  try {
    io.out(`Model ${manifest.id} (${manifest.status}${protocol ? `, ${protocol} protocol` : ''}) on ${backendLine(model.backend)}; ${cases.length} cases from ${dataDir}`);
    if (adapter) io.out(`Adapter ${resolve(values.adapter!)}: ${describeAdapter(adapter)}`);
    if (caveat) io.out(caveat);
    const rows: string[][] = [];
    for (const name of cases) {
      try {
        const image = readScan(join(dataDir, 'images', name));
        const refLabels = referenceLabels(readScan(join(dataDir, 'labels', name)), protocol);
        if (refLabels.dims.some((d, a) => d !== image.dims[a]) || maxAbsDiff(refLabels.affine, image.affine) > GRID_TOLERANCE_MM) {
          throw new Error('the reference labels are not on the scan’s grid (different size or affine)');
        }
        const result = await segmentScan(image, model, { template, localiserModel });
        const labels = result.labelInfo;
        labelSet ??= labels;
        if (!sameLabels(labels, labelSet)) {
          throw new Error(`this scan took the ${result.path} path, whose labels (${describeLabels(labels)}) differ from the first case's (${describeLabels(labelSet)}); evaluate crops and full heads separately`);
        }
        const scores = scoreCase(result.labels.data, refLabels, labels);
        results.push({ case: name, scores, warnings: result.warnings });
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
    const header = tableHeader((labelSet ?? manifest.labels).filter((l) => l.value !== 0).map((l) => String(l.value)));
    if (labelSet) io.out(`Labels: ${describeLabels(labelSet)}; all = label > 0. HD95 in mm; volumes in mm³, predicted/reference.`);
    io.out(table([header, ...rows].map((r) => (r.length === header.length ? r : [r[0], r.slice(1).join(' ')]))));
    // A mask is read with its warnings: a scored case without them would look confident.
    const warned = results.filter((r) => r.warnings?.length);
    if (warned.length) io.out(['Warnings:', ...warned.flatMap((r) => r.warnings!.map((w) => `  ${r.case}: ${w}`))].join('\n'));
    if (values.json) {
      writeFileSync(
        resolve(values.json),
        toJson({
          model: { id: manifest.id, name: manifest.name, status: manifest.status, protocol, caveat },
          adapter: adapter ? { file: resolve(values.adapter!), method: adapter.method, base: adapter.base, training: adapter.training } : null,
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

function sameLabels(a: readonly LabelInfo[], b: readonly LabelInfo[]): boolean {
  return a.length === b.length && a.every((l, n) => l.value === b[n].value && l.name === b[n].name);
}

function describeLabels(labels: readonly LabelInfo[]): string {
  return labels.filter((l) => l.value !== 0).map((l) => `${l.value} = ${l.name}`).join(', ');
}

function backendLine(b: { name: string; reason: string }): string {
  return `${b.name} (${b.reason})`;
}
