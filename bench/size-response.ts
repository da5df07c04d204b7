/**
 * How a model's hippocampus volumes follow the true size: the real FreeSurfer-labelled subjects
 * with both hippocampi shrunk or grown in place (`shrinkAround`, src/core/perturb: a smooth radial
 * field of σ 10 mm around each aseg centroid; the labels warped the same way), each through the
 * full-head path as `seahorse segment` runs it:
 *   npm run bench -- size-response [--model swinunetr-fs] [--strengths -0.2,0,0.15,0.3,0.45] [--write-manifest]
 *
 * Per subject, strength and side: the labels' and the masks' volume and Dice. The exponent is the
 * slope of log(masks' volume) on log(labels' volume) over one subject's sides and strengths (the
 * same person made larger or smaller), averaged over the subjects: 1 when the masks follow the true
 * size, below 1 when differences in size are under-stated.
 * `--write-manifest` stores it in the model's manifest as `metrics.sizeResponse`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { prepareTemplate } from '../src/core/fullhead';
import { readTemplate } from '../src/core/fullhead/template-node';
import { labelCentroidMm, voxelVolumeMm3 } from '../src/core/measure';
import { dice, maskOf } from '../src/core/metrics';
import { shrinkAround } from '../src/core/perturb';
import type { Vec3 } from '../src/core/affine';
import { loadLocaliserNode } from '../src/infer/localiser-node';
import { loadModelNode, modelsDir } from '../src/infer/registry-node';
import { segmentScan } from '../src/infer/segment-scan';
import { loadSubject, type SubjectName } from '../src/testing/perturb-cases';

/** The field's width, mm: about a hippocampus's half-length, so the whole structure shrinks and the far cortex does not move. */
const SIGMA_MM = 10;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const modelId = option('--model') ?? 'swinunetr-fs';
const strengths = (option('--strengths') ?? '-0.2,0,0.15,0.3,0.45').split(',').map(Number);
const subjects: SubjectName[] = ['bert', 'vxm'];

interface Row {
  subject: SubjectName;
  strength: number;
  side: 'left' | 'right';
  labelsMm3: number;
  masksMm3: number;
  dice: number;
  warnings: number;
}

const template = prepareTemplate(readTemplate());
const model = await loadModelNode(modelId);
const localiser = await loadLocaliserNode();
const rows: Row[] = [];
try {
  for (const name of subjects) {
    const subject = await loadSubject(name);
    const centres = [1, 2].map((v) => labelCentroidMm(subject.truth, v)) as Vec3[];
    const voxelMm3 = voxelVolumeMm3(subject.scan.affine);
    for (const strength of strengths) {
      const scan = strength === 0 ? subject.scan : shrinkAround(subject.scan, centres, strength, SIGMA_MM, 'linear');
      const truth = strength === 0 ? subject.truth : shrinkAround(subject.truth, centres, strength, SIGMA_MM, 'nearest');
      const result = await segmentScan(scan, model, { path: 'full-head', template: () => template, localiserModel: () => localiser });
      for (const [s, side] of (['left', 'right'] as const).entries()) {
        const pred = maskOf(result.labels.data, s + 1);
        const ref = maskOf(truth.data, s + 1);
        const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
        rows.push({ subject: name, strength, side, labelsMm3: count(ref) * voxelMm3, masksMm3: count(pred) * voxelMm3, dice: dice(pred, ref), warnings: result.warnings.length });
      }
      console.log(`${name} strength ${strength}: done`);
    }
  }
} finally {
  await model.backend.dispose();
  await localiser?.backend.dispose();
}

/** Least-squares slope of log(masks) on log(labels). */
function exponent(sel: readonly Row[]): number {
  const x = sel.map((r) => Math.log(r.labelsMm3));
  const y = sel.map((r) => Math.log(r.masksMm3));
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) (sxy += (x[i] - mx) * (y[i] - my)), (sxx += (x[i] - mx) ** 2);
  return sxy / sxx;
}

console.log(`\nVolumes against a hippocampus shrunk or grown in place (σ ${SIGMA_MM} mm), ${modelId}, ${cpus()[0]?.model ?? 'CPU'} ×${cpus().length}, load ${loadavg()[0].toFixed(1)}\n`);
console.log('| subject | strength | side | labels mm³ | masks mm³ | masks ÷ labels | Dice | warnings |');
console.log('|---|---:|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.subject} | ${r.strength} | ${r.side} | ${r.labelsMm3.toFixed(0)} | ${r.masksMm3.toFixed(0)} | ${(r.masksMm3 / r.labelsMm3).toFixed(2)} | ${r.dice.toFixed(3)} | ${r.warnings} |`);
}
const perSubject = Object.fromEntries(subjects.map((s) => [s, exponent(rows.filter((r) => r.subject === s))]));
const withinSubject = subjects.reduce((sum, s) => sum + perSubject[s], 0) / subjects.length;
console.log(`\nexponent (log masks on log labels, within a subject): ${subjects.map((s) => `${s} ${perSubject[s].toFixed(2)}`).join(', ')}; mean ${withinSubject.toFixed(2)}`);

if (args.includes('--write-manifest')) {
  const path = join(modelsDir, `${modelId}.json`);
  const man = JSON.parse(readFileSync(path, 'utf8'));
  man.metrics.sizeResponse = {
    source:
      'npm run bench -- size-response: the real FreeSurfer-labelled subjects (validation only) with both hippocampi shrunk or grown in place ' +
      `(src/core/perturb shrinkAround, σ ${SIGMA_MM} mm around each aseg centroid, labels warped alike), through the full-head path; ` +
      'exponent = slope of log(masks’ volume) on log(labels’ volume) within each subject, averaged: 1 when the masks follow the true size.' +
      (man.protocol === 'freesurfer' ? '' : ` This model follows the ${man.protocol ?? 'unrecorded'} protocol: its whole-hippocampus masks are compared with aseg's, so the exponent measures how they change with size, not the outline.`),
    sha256: man.sha256,
    exponent: withinSubject,
    perSubject,
    rows,
  };
  writeFileSync(path, JSON.stringify(man, null, 1) + '\n');
  console.log(`wrote metrics.sizeResponse into ${path}`);
}
