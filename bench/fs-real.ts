/**
 * Hippocampus models against FreeSurfer's aseg (17 left, 53 right) on the real
 * FreeSurfer-labelled subjects (validation only, never training):
 *   npm run bench -- fs-real [--models swinunetr-fs,swinunetr] [--json out.json] [--write-manifest]
 *
 * Subjects (../shared/data/fullhead_labelled): bert norm.mgz and brain.mgz (FreeSurfer 7.2,
 * skull-stripped; aseg.mgz), vxm_subject t1 (skull-stripped; aseg.nii.gz).
 * For each model and subject, two localisations:
 *   - pipeline: the full-head path as the CLI runs it (`segmentScan`, path full-head:
 *     registration → MSD-framed crops → model → largest component → paste), or its refusal;
 *   - reference: the crop framed at the aseg hippocampus' own centroid (src/testing/at-reference.ts),
 *     which measures the model without the localiser.
 * Dice of each side's mask against aseg, and volumes (mm³). A model of the MSD protocol is
 * scored on its whole hippocampus (head + body) against aseg: protocols differ, so that row
 * is a reference point, not a like-for-like score.
 * `--write-manifest` stores the figures in each FreeSurfer-protocol manifest's `metrics.real`
 * (the ONNX hash is recorded with them).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { prepareTemplate } from '../src/core/fullhead';
import { readTemplate } from '../src/core/fullhead/template-node';
import { readVolume } from '../src/core/io';
import { dice, maskOf } from '../src/core/metrics';
import { voxelVolumeMm3 } from '../src/core/measure';
import type { Volume } from '../src/core/volume';
import { segmentScan } from '../src/infer/segment-scan';
import { listInstalledModels, loadModelNode, modelsDir } from '../src/infer/registry-node';
import { segmentAtReference } from '../src/testing/at-reference';
import { dataDir } from '../src/testing/shared';

const ASEG = { left: 17, right: 53 } as const;
const SIDES = ['left', 'right'] as const;
const OUTPUT_LABEL = { left: 1, right: 2 } as const;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const installed = listInstalledModels();
const fsModels = installed.filter((m) => m.manifest.protocol === 'freesurfer' && m.manifest.status === 'trained').map((m) => m.manifest.id);
const modelIds = option('--models')?.split(',') ?? [...fsModels, 'swinunetr'];
const dir = join(dataDir, 'fullhead_labelled');
const SUBJECTS = [
  { id: 'bert/norm.mgz', scan: join(dir, 'bert', 'norm.mgz'), aseg: join(dir, 'bert', 'aseg.mgz') },
  { id: 'bert/brain.mgz', scan: join(dir, 'bert', 'brain.mgz'), aseg: join(dir, 'bert', 'aseg.mgz') },
  { id: 'vxm_subject/t1.nii.gz', scan: join(dir, 'vxm_subject', 't1.nii.gz'), aseg: join(dir, 'vxm_subject', 'aseg.nii.gz') },
];

const read = (path: string): Volume => readVolume(new Uint8Array(readFileSync(path)), path.split('/').slice(-2).join('/'));

interface SideFigures {
  dice: number | null;
  mm3: number | null;
  asegMm3: number;
}
interface Row {
  model: string;
  subject: string;
  localisation: 'pipeline' | 'reference';
  refused?: string;
  warnings?: readonly string[];
  left: SideFigures;
  right: SideFigures;
}

const template = prepareTemplate(readTemplate());
const rows: Row[] = [];
for (const modelId of modelIds) {
  const model = await loadModelNode(modelId);
  try {
    for (const s of SUBJECTS) {
      const scan = read(s.scan);
      const aseg = read(s.aseg);
      const mm3 = voxelVolumeMm3(scan.affine);
      const truth = (side: 'left' | 'right') => maskOf(aseg.data, ASEG[side]);
      const asegMm3 = (side: 'left' | 'right') => truth(side).reduce((a, v) => a + v, 0) * mm3;

      const ref = await Promise.all(SIDES.map((side) => segmentAtReference(scan, aseg, ASEG[side], side, model)));
      rows.push({
        model: modelId,
        subject: s.id,
        localisation: 'reference',
        left: { dice: ref[0].dice, mm3: ref[0].mm3, asegMm3: ref[0].referenceMm3 },
        right: { dice: ref[1].dice, mm3: ref[1].mm3, asegMm3: ref[1].referenceMm3 },
      });

      try {
        const result = await segmentScan(scan, model, { path: 'full-head', template: () => template });
        const side = (name: 'left' | 'right'): SideFigures => {
          const pred = maskOf(result.labels.data, OUTPUT_LABEL[name]);
          return { dice: dice(pred, truth(name)), mm3: pred.reduce((a, v) => a + v, 0) * mm3, asegMm3: asegMm3(name) };
        };
        rows.push({ model: modelId, subject: s.id, localisation: 'pipeline', warnings: result.warnings, left: side('left'), right: side('right') });
      } catch (err) {
        const none = (name: 'left' | 'right'): SideFigures => ({ dice: null, mm3: null, asegMm3: asegMm3(name) });
        rows.push({ model: modelId, subject: s.id, localisation: 'pipeline', refused: (err as Error).message, left: none('left'), right: none('right') });
      }
    }
  } finally {
    await model.backend.dispose();
  }
}

const f = (v: number | null, d: number) => (v === null ? '—' : v.toFixed(d));
console.log(`Hippocampus vs FreeSurfer aseg (17/53), ${cpus()[0]?.model ?? 'CPU'} ×${cpus().length}, onnxruntime-node\n`);
console.log('| model | subject | localisation | Dice left | Dice right | mean | mm³ left (aseg) | mm³ right (aseg) | note |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  const mean = r.left.dice !== null && r.right.dice !== null ? (r.left.dice + r.right.dice) / 2 : null;
  const note = r.refused ? `refused: ${r.refused}` : (r.warnings ?? []).join(' ');
  console.log(
    `| ${r.model} | ${r.subject} | ${r.localisation} | ${f(r.left.dice, 3)} | ${f(r.right.dice, 3)} | ${f(mean, 3)} | ` +
      `${f(r.left.mm3, 0)} (${r.left.asegMm3.toFixed(0)}) | ${f(r.right.mm3, 0)} (${r.right.asegMm3.toFixed(0)}) | ${note.replace(/\|/g, '/')} |`,
  );
}
const summary = (model: string, loc: Row['localisation']) => {
  const sel = rows.filter((r) => r.model === model && r.localisation === loc);
  const dices = sel.flatMap((r) => [r.left.dice, r.right.dice]).filter((d): d is number => d !== null);
  const ratios = sel.flatMap((r) => [r.left, r.right]).filter((s) => s.mm3 !== null).map((s) => s.mm3! / s.asegMm3);
  return {
    sides: dices.length,
    of: 2 * sel.length,
    meanDice: dices.length ? dices.reduce((a, b) => a + b, 0) / dices.length : null,
    meanVolumeRatio: ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null,
  };
};
console.log('\n| model | localisation | sides scored | mean Dice | mean volume ÷ aseg |');
console.log('|---|---|---:|---:|---:|');
for (const m of modelIds) {
  for (const loc of ['reference', 'pipeline'] as const) {
    const s = summary(m, loc);
    console.log(`| ${m} | ${loc} | ${s.sides} of ${s.of} | ${f(s.meanDice, 3)} | ${f(s.meanVolumeRatio, 3)} |`);
  }
}

const json = option('--json');
if (json) writeFileSync(json, JSON.stringify(rows, null, 1));
if (args.includes('--write-manifest')) {
  for (const m of installed.filter((i) => modelIds.includes(i.manifest.id) && i.manifest.protocol === 'freesurfer')) {
    const path = join(modelsDir, `${m.manifest.id}.json`);
    const man = JSON.parse(readFileSync(path, 'utf8'));
    man.metrics.real = {
      source:
        'npm run bench -- fs-real: Dice against FreeSurfer aseg 17/53 (validation only; these scans were never used for training or ' +
        'model selection). "reference": crop framed at the aseg hippocampus centroid (src/testing/at-reference.ts); "pipeline": ' +
        'the full-head path (segmentScan, registration localisation), or its refusal.',
      sha256: man.sha256,
      summary: { reference: summary(m.manifest.id, 'reference'), pipeline: summary(m.manifest.id, 'pipeline') },
      rows: rows.filter((r) => r.model === m.manifest.id),
    };
    writeFileSync(path, JSON.stringify(man, null, 1) + '\n');
    console.log(`wrote metrics.real into ${path}`);
  }
}
