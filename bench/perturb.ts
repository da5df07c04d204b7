/**
 * The perturbation grid (issue 13, item 5) on every labelled subject at hand:
 *   npm run bench -- perturb [--model <id | model.onnx>] [--subjects bert,vxm,ch2,sample] [--cases <name>,…] [--no-localiser] [--no-turn]
 *
 * For each subject × perturbation (src/testing/perturb-cases.ts): the full-head pipeline as
 * `seahorse segment` runs it (onnxruntime-node), then the outcome: masks (distance of each
 * side's centroid from the true one, Dice against the subject's own labels, warnings) or a
 * refusal (its message), and whether the case passes its stated criteria. The test
 * (src/infer/perturbation.test.ts) runs a representative subset of the same cases.
 */
import { cpus, loadavg } from 'node:os';
import { LocalisationError, prepareTemplate, ScanKindError } from '../src/core/fullhead';
import { readTemplate } from '../src/core/fullhead/template-node';
import type { Volume } from '../src/core/volume';
import { loadLocaliserNode } from '../src/infer/localiser-node';
import { loadModelNode } from '../src/infer/registry-node';
import { segmentScan } from '../src/infer/segment-scan';
import { defaultModelId } from '../src/cli/segment';
import {
  judge,
  loadSubject,
  MAX_DISTANCE_MM,
  PERTURBATIONS,
  truthCentroids,
  type RunOutcome,
  type SubjectName,
} from '../src/testing/perturb-cases';
import { criteriaFor } from '../src/testing/perturb-criteria';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const subjects = (option('--subjects') ?? 'bert,vxm,ch2,sample').split(',') as SubjectName[];
const only = option('--cases')?.split(',');
const modelSpec = option('--model') ?? defaultModelId();

console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const prepared = prepareTemplate(readTemplate());
const model = await loadModelNode(modelSpec);
// As `seahorse segment` runs: with the learned localiser when it is installed (--no-localiser: without).
const localiser = args.includes('--no-localiser') ? null : await loadLocaliserNode();
// The crops on the scan's RAS grid however the head is tilted: the comparison for core/fullhead/head-pose.ts.
const turnCrops = !args.includes('--no-turn');
console.log(`localiser: ${localiser ? localiser.manifest.id : 'none (registration alone)'}`);
console.log(`model: ${model.manifest.id} (${model.manifest.protocol ?? 'protocol unknown'}); crops ${turnCrops ? 'turned with a head tilted beyond training' : 'on the scan RAS grid whatever the tilt (--no-turn)'}; criteria: each side within ${MAX_DISTANCE_MM} mm of the true centroid and Dice ≥ the subject's stated minimum, or a clear refusal where allowed`);

async function run(scan: Volume): Promise<RunOutcome> {
  try {
    const result = await segmentScan(scan, model, { template: () => prepared, localiserModel: () => localiser, turnCrops });
    if (result.path !== 'full-head') return { kind: 'refused', message: `took the crop path (${result.classification.reason})` };
    return { kind: 'mask', labels: result.labels, warnings: result.warnings };
  } catch (error) {
    if (error instanceof LocalisationError || error instanceof ScanKindError || (error as Error)?.name === 'MaskRefusedError') {
      return { kind: 'refused', message: (error as Error).message };
    }
    throw error;
  }
}

const rows: string[][] = [['subject', 'perturbation', 'outcome', 'dist L', 'dist R', 'Dice L', 'Dice R', 'warn', 'pass', 'ms', 'why / message']];
let passed = 0;
let total = 0;
for (const name of subjects) {
  const subject = await loadSubject(name, async (scan) => {
    const r = await run(scan);
    if (r.kind !== 'mask') throw new Error(`the sample's own run was refused: ${r.message}`);
    return r.labels;
  });
  const criteria = criteriaFor(subject.truthKind, model.manifest.protocol);
  console.log(`${name}: ${subject.scan.dims.join('×')}, truth ${subject.truthKind}; criteria ${JSON.stringify(criteria)}`);
  for (const c of PERTURBATIONS) {
    if (!c.applies(subject) || (only && !only.includes(c.name))) continue;
    const perturbed = c.apply(subject);
    const t0 = performance.now();
    const outcome = await run(perturbed.scan);
    const ms = performance.now() - t0;
    const centres = c.name.startsWith('noise: not') ? null : truthCentroids(subject);
    const j = judge(c, perturbed, outcome, criteria, centres);
    total++;
    if (j.pass) passed++;
    const f = (x: number, d: number) => (Number.isNaN(x) ? '-' : x.toFixed(d));
    rows.push([
      name,
      c.name,
      j.outcome,
      f(j.distanceMm[0], 1),
      f(j.distanceMm[1], 1),
      f(j.dice[0], 3),
      f(j.dice[1], 3),
      String(j.warnings.length),
      j.pass ? 'yes' : 'NO',
      ms.toFixed(0),
      (j.why || j.message || j.warnings.join(' | ')).slice(0, 160),
    ]);
    console.log(rows[rows.length - 1].join(' | '));
  }
}
await model.backend.dispose();
await localiser?.backend.dispose();
console.log(`\n| ${rows[0].join(' | ')} |\n|${rows[0].map(() => '---').join('|')}|`);
for (const r of rows.slice(1)) console.log(`| ${r.join(' | ')} |`);
console.log(`\n${passed} of ${total} cases pass.`);
