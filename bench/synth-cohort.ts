/**
 * The full-head pipeline on a synthetic cohort of held-out heads (issue 13: "never a confident
 * wrong mask"), as `seahorse segment` runs it (onnxruntime-node, localiser when installed):
 *   cd training && nice -n 5 /usr/bin/python3 synth_cohort.py --maps 19,20 --heads 12 --seed 1900 -o /work/cohort/synth-heldout
 *   nice -n 5 npm run bench -- synth-cohort --data /work/cohort/synth-heldout [--protocol freesurfer | --model <id>] [--json out.json]
 *
 * <data>/images and <data>/labels as `seahorse eval` reads them (labels in FreeSurfer codes:
 * 17 left, 53 right), and <data>/draws.json from the generator (what each head drew). For each
 * head: masks (Dice per side against its own 17/53, centroid distance in mm, volumes, every
 * warning) or the refusal's message; the class (src/testing/cohort-outcome.ts); the counts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalisationError, prepareTemplate, ScanKindError } from '../src/core/fullhead';
import { readTemplate } from '../src/core/fullhead/template-node';
import { loadLocaliserNode } from '../src/infer/localiser-node';
import { loadModelNode } from '../src/infer/registry-node';
import { segmentScan } from '../src/infer/segment-scan';
import { chooseModel } from '../src/cli/bids-scan';
import { readScan } from '../src/cli/segment';
import { classifyOutcome, maskQuality, scoreSides, type CohortRun, type OutcomeClass } from '../src/testing/cohort-outcome';
import { sidesOf } from '../src/testing/perturb-cases';

const ASEG = { left: 17, right: 53 } as const;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const dataArg = option('--data');
if (!dataArg) throw new Error('usage: npm run bench -- synth-cohort --data <dir with images/, labels/, draws.json> [--protocol freesurfer | --model <id>] [--json out.json]');
const data = resolve(dataArg);
const cases = readdirSync(join(data, 'images')).filter((f) => /\.(nii|nii\.gz|mgz)$/.test(f)).sort();
interface Draw {
  case: string;
  orientation: string;
  preparation: string;
  look: string;
  voxel_mm: number[];
  pose_rotation_deg: number;
  oblique_deg?: number;
}
const drawsPath = join(data, 'draws.json');
const draws = new Map<string, Draw>(existsSync(drawsPath) ? (JSON.parse(readFileSync(drawsPath, 'utf8')) as Draw[]).map((d) => [d.case, d]) : []);

const machine = () => `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;
console.log(`machine: ${machine()}`);
const choice = chooseModel({ model: option('--model'), protocol: option('--protocol') ?? (option('--model') ? undefined : 'freesurfer') });
const model = await loadModelNode(choice.model);
const localiser = await loadLocaliserNode();
const prepared = prepareTemplate(readTemplate());
console.log(`model: ${model.manifest.id} (${model.manifest.protocol ?? 'protocol unknown'}); localiser: ${localiser ? localiser.manifest.id : 'none'}; ${cases.length} heads from ${data}`);

interface Row {
  case: string;
  draw?: Draw;
  path?: string;
  /** The template registration: quality, similarity overall / inside the brain, and who placed the crops. */
  registration?: { quality: string; ncc: number; brainNcc: number; template: string; startedFrom: string; placedBy: string };
  run: CohortRun | { kind: 'error'; message: string };
  outcome: OutcomeClass | 'ERROR (not a refusal)';
  ms: number;
}
const rows: Row[] = [];
const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const describe = (d?: Draw) =>
  d ? [d.orientation + (d.oblique_deg ? ` ${d.oblique_deg}°` : ''), d.preparation, d.look, d.voxel_mm.join('×'), f(d.pose_rotation_deg, 0)] : ['?', '?', '?', '?', '?'];
const cells = (r: Row): string[] => {
  const sides = r.run.kind === 'mask' ? r.run.sides : null;
  const s = (n: 0 | 1, key: 'dice' | 'distanceMm', d: number) => (sides ? f(sides[n][key], d) : '-');
  const vol = (n: 0 | 1) => (sides ? `${f(sides[n].mm3, 0)} (${f(sides[n].referenceMm3, 0)})` : '-');
  const note = r.run.kind === 'mask' ? r.run.warnings.join(' / ') : r.run.message;
  const g = r.registration;
  const reg = g ? `${g.quality} ${f(g.ncc, 2)}/${f(g.brainNcc, 2)}, ${g.placedBy}` : '-';
  return [r.case, ...describe(r.draw), r.path ?? '-', reg, r.outcome, sides ? maskQuality(sides) : '-', s(0, 'dice', 3), s(1, 'dice', 3), s(0, 'distanceMm', 1), s(1, 'distanceMm', 1), vol(0), vol(1), f(r.ms, 0), note.replace(/\|/g, '/')];
};
const header = ['case', 'header', 'preparation', 'look', 'voxel mm', 'pose °', 'path', 'registration (NCC all/brain), placed by', 'outcome', 'mask', 'Dice L', 'Dice R', 'dist L mm', 'dist R mm', 'mm³ L (labels)', 'mm³ R (labels)', 'ms', 'warnings / message'];

for (const name of cases) {
  const scan = readScan(join(data, 'images', name));
  const truth = sidesOf(readScan(join(data, 'labels', name)), ASEG.left, ASEG.right);
  const t0 = performance.now();
  let row: Row;
  try {
    const result = await segmentScan(scan, model, { template: () => prepared, localiserModel: () => localiser });
    const run: CohortRun = { kind: 'mask', sides: scoreSides(result.labels, truth), warnings: result.warnings };
    // A full head read as a crop gets head/body labels, not left/right: scored as they are, it fails unless warned.
    row = { case: name, path: result.path, run, outcome: classifyOutcome(run), ms: performance.now() - t0 };
    if (result.path === 'full-head') {
      const { localisation: l, placedBy } = result.fullHead;
      row.registration = { quality: l.quality, ncc: l.ncc, brainNcc: l.brainNcc, template: l.template, startedFrom: l.startedFrom, placedBy };
    }
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    const refusal = error instanceof LocalisationError || error instanceof ScanKindError || (error as Error)?.name === 'MaskRefusedError';
    const run = refusal ? ({ kind: 'refused', message } as const) : ({ kind: 'error', message } as const);
    row = { case: name, run, outcome: run.kind === 'refused' ? classifyOutcome(run) : 'ERROR (not a refusal)', ms: performance.now() - t0 };
  }
  row.draw = draws.get(name);
  rows.push(row);
  console.log(cells(row).join(' | '));
}
await model.backend.dispose();
await localiser?.backend.dispose();

console.log(`\nmachine at the end: ${machine()}`);
console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${cells(r).join(' | ')} |`);

const counts = new Map<string, number>();
for (const r of rows) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
const sideDice = (sel: Row[]) => sel.flatMap((r) => (r.run.kind === 'mask' ? r.run.sides.map((s) => s.dice) : []));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const masked = rows.filter((r) => r.run.kind === 'mask');
const unwarned = masked.filter((r) => r.run.kind === 'mask' && r.run.warnings.length === 0);
console.log(`\n${rows.length} heads: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);
console.log(`mean Dice (left and right sides of every head with masks, ${masked.length} heads): ${f(mean(sideDice(masked)), 3)}; of the unwarned ones (${unwarned.length}): ${f(mean(sideDice(unwarned)), 3)}`);
const warned = masked.filter((r) => r.outcome === 'warned');
const quality = new Map<string, number>();
for (const r of warned) if (r.run.kind === 'mask') quality.set(maskQuality(r.run.sides), (quality.get(maskQuality(r.run.sides)) ?? 0) + 1);
console.log(`warned heads by mask quality: ${[...quality].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`);
console.log(`mean time per head: ${f(mean(rows.map((r) => r.ms)), 0)} ms`);

const json = option('--json');
if (json) writeFileSync(json, JSON.stringify({ machine: machine(), model: model.manifest.id, data, rows }, null, 1));
