/**
 * The full-head localiser on the real labelled scans at hand:
 *   npm run bench -- localiser [--reps N] [--threads N] [--models-dir DIR] [--write-manifest]
 *
 * For each scan: the distance from each predicted hippocampus centroid (world RAS mm) to
 * the centroid of the subject's own labels, the coarse volumes, confidences and the
 * intracranial-volume proxy, and the stage times (prepare, run, decode; median of the
 * reps) in onnxruntime-node with `--threads` intra-op threads (default 2, the CLI's
 * machine). `--write-manifest` records the figures as `metrics.real_subjects` in
 * models/localiser.json (the ONNX and its hash are untouched).
 *
 * Beside it, the cross-check the full-head path makes (src/core/fullhead/qc.ts): the template
 * registration's expected hippocampus centroids (registrationCentre: AAL, corrected to the
 * traced outline), their error against the labels, and how far the localiser and the
 * registration disagree, against CROSSCHECK_WARN_MM. Cases without labels (the brainchop
 * sample) give the disagreement only.
 *
 * Wall time on a shared machine measures the neighbours too: the load is printed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { applyToPoint } from '../src/core/affine';
import { readVolume } from '../src/core/io';
import { localise, prepareTemplate } from '../src/core/fullhead';
import { CROSSCHECK_WARN_MM } from '../src/core/fullhead/qc';
import { readTemplate } from '../src/core/fullhead/template-node';
import type { Volume } from '../src/core/volume';
import { registrationCentre } from '../src/infer/fullhead';
import { localiseHippocampi, LOCALISER_ID, type LocaliserResult } from '../src/infer/localiser';
import { loadModelNode, modelsDir } from '../src/infer/registry-node';
import { dataDir } from '../src/testing/shared';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const reps = Number(option('--reps') ?? 3);
const threads = Number(option('--threads') ?? 2);
const read = (path: string) => readVolume(new Uint8Array(readFileSync(path)), path);
type Vec3 = [number, number, number];

function labelCentroid(labels: Volume, value: number): Vec3 {
  const [nx, ny] = labels.dims;
  const s = [0, 0, 0];
  let n = 0;
  for (let p = 0; p < labels.data.length; p++) {
    if (Math.round(labels.data[p]) !== value) continue;
    s[0] += p % nx;
    s[1] += Math.floor(p / nx) % ny;
    s[2] += Math.floor(p / (nx * ny));
    n++;
  }
  return applyToPoint(labels.affine, [s[0] / n, s[1] / n, s[2] / n]);
}
const dist = (a: readonly number[] | null, b: readonly number[]) => (a ? Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) : Infinity);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Case {
  readonly name: string;
  readonly what: string;
  readonly scan: string;
  readonly labels: string | null;
  readonly left: number;
  readonly right: number;
}
const fh = join(dataDir, 'fullhead_labelled');
const CASES: Case[] = [
  { name: 'bert norm.mgz', what: 'FreeSurfer norm.mgz: skull-stripped, WM 110, LIA', scan: join(fh, 'bert', 'norm.mgz'), labels: join(fh, 'bert', 'aseg.mgz'), left: 17, right: 53 },
  { name: 'bert brain.mgz', what: 'FreeSurfer brain.mgz: skull-stripped T1.mgz', scan: join(fh, 'bert', 'brain.mgz'), labels: join(fh, 'bert', 'aseg.mgz'), left: 17, right: 53 },
  { name: 'vxm_subject', what: 'skull-stripped, affinely aligned, [0, 1], LIA', scan: join(fh, 'vxm_subject', 't1.nii.gz'), labels: join(fh, 'vxm_subject', 'aseg.nii.gz'), left: 17, right: 53 },
  { name: 'Colin27 ch2', what: 'full head with skull, RAS (AAL 37/38: coarse)', scan: join(dataDir, 'templates', 'ch2.nii.gz'), labels: join(dataDir, 'templates', 'aal.nii.gz'), left: 37, right: 38 },
  { name: 'Colin27 ch2bet', what: 'skull-stripped Colin27 (AAL 37/38: coarse)', scan: join(dataDir, 'templates', 'ch2bet.nii.gz'), labels: join(dataDir, 'templates', 'aal.nii.gz'), left: 37, right: 38 },
  { name: 'brainchop sample', what: 'full head with skull, 256³ conformed (no labels)', scan: join(dataDir, 'samples', 'brainchop_t1_crop.nii.gz'), labels: null, left: 0, right: 0 },
];

const dir = option('--models-dir') ?? modelsDir;
const model = await loadModelNode(LOCALISER_ID, { threads, modelsDir: dir });
const rows: Record<string, unknown>[] = [];
const prepared = prepareTemplate(readTemplate());
const mm = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; onnxruntime-node, ${threads} threads; median of ${reps}`);
console.log(`cross-check: a warning when localiser and registration disagree by more than ${CROSSCHECK_WARN_MM} mm`);
console.log('| scan | localiser error L / R mm | registration error L / R mm | disagreement L / R mm | warns | left / right coarse mm³ | confidence L / R | ICV proxy L | found | prepare ms | run ms | decode ms |');
console.log('|---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|');
for (const c of CASES) {
  const scan = read(c.scan);
  const labels = c.labels ? read(c.labels) : null;
  const truthL = labels ? labelCentroid(labels, c.left) : null;
  const truthR = labels ? labelCentroid(labels, c.right) : null;
  const runs: LocaliserResult[] = [];
  for (let r = 0; r < reps; r++) runs.push(await localiseHippocampi(scan, model));
  const r = runs[0];
  const loc = localise(scan, prepared);
  const regL = registrationCentre(loc.hippocampi[0]);
  const regR = registrationCentre(loc.hippocampi[1]);
  const t = (k: 'prepare' | 'run' | 'decode') => median(runs.map((x) => x.timingsMs[k]));
  const err = (a: readonly number[] | null, b: Vec3 | null) => (b ? +dist(a, b).toFixed(2) : null);
  const row = {
    scan: c.name,
    what: c.what,
    left_error_mm: err(r.left.centroidMm, truthL),
    right_error_mm: err(r.right.centroidMm, truthR),
    registration_left_error_mm: err(regL, truthL),
    registration_right_error_mm: err(regR, truthR),
    registration_quality: loc.quality,
    disagreement_left_mm: +dist(r.left.centroidMm, regL).toFixed(2),
    disagreement_right_mm: +dist(r.right.centroidMm, regR).toFixed(2),
    left_coarse_mm3: Math.round(r.left.volumeMm3),
    right_coarse_mm3: Math.round(r.right.volumeMm3),
    left_confidence: +r.left.confidence.toFixed(3),
    right_confidence: +r.right.confidence.toFixed(3),
    icv_proxy_ml: Math.round(r.brainVolumeMm3 / 1000),
    found: r.found,
    problems: r.problems,
    ms: { prepare: Math.round(t('prepare')), run: Math.round(t('run')), decode: Math.round(t('decode')) },
  };
  rows.push(row);
  const warns = r.found && loc.quality !== 'failed' && Math.max(row.disagreement_left_mm, row.disagreement_right_mm) > CROSSCHECK_WARN_MM;
  console.log(
    `| ${c.name} | ${mm(row.left_error_mm ?? NaN)} / ${mm(row.right_error_mm ?? NaN)} | ${mm(row.registration_left_error_mm ?? NaN)} / ${mm(row.registration_right_error_mm ?? NaN)} (${loc.quality}) | ` +
      `${mm(row.disagreement_left_mm)} / ${mm(row.disagreement_right_mm)} | ${warns ? 'yes' : 'no'} | ${row.left_coarse_mm3} / ${row.right_coarse_mm3} | ${row.left_confidence} / ${row.right_confidence} | ` +
      `${(row.icv_proxy_ml / 1000).toFixed(2)} | ${r.found ? 'yes' : `no: ${r.problems.join(' ')}`} | ${row.ms.prepare} | ${row.ms.run} | ${row.ms.decode} |`,
  );
}
await model.backend.dispose();

if (args.includes('--write-manifest')) {
  const path = join(dir, 'localiser.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  manifest.metrics = {
    ...manifest.metrics,
    real_subjects: {
      command: `npm run bench -- localiser --reps ${reps} --threads ${threads} --write-manifest`,
      measured: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()[0].toFixed(1)} (shared: times are upper bounds)`,
      reference:
        "distance from each predicted centroid (probability-weighted, largest component) to the centroid of the subject's own hippocampus labels; " +
        "registration: the template registration's expected centroid (registrationCentre); disagreement: localiser vs registration",
      cross_check_warn_mm: CROSSCHECK_WARN_MM,
      cases: rows,
    },
  };
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote metrics.real_subjects into ${path}`);
}
