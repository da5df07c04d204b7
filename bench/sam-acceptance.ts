/**
 * Issue 17's acceptance protocol on the labelled scans at hand: one `seahorse prompt` run per
 * scan with a 3-D box per structure (its aseg bounding box + 2 voxels, all twelve at once, as
 * `--box LABEL:i0,j0,k0,i1,j1,k1`), then the Dice of each structure over the whole volume.
 *   npm run bench -- sam-acceptance [--subjects bert,vxm_subject | --data <dir with images/ and labels/>]
 *                                   [--adapter <file> | --adapter none] [--structures 17,53,…] [--threads 2]
 *                                   [--axis all|sagittal|coronal|axial]   (the CLI's; default all)
 *                                   [--prior auto|none]                   (the CLI's; default auto)
 *                                   [--margin N]   voxels around each bounding box (default 2, the issue's; more: a looser box)
 * Beside the output as written, the same labels with each structure kept to its largest
 * 26-connected component ("largest piece"), to see what the ends of a box's range cost.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { caseList } from '../src/cli/eval';
import { main } from '../src/cli/main';
import { keepLargestComponentPerLabel } from '../src/core/components';
import { readVolume } from '../src/core/io';
import type { Volume } from '../src/core/volume';
import { labelBoxes } from '../src/sam/label-boxes';
import { dataDir } from '../src/testing/shared';
import { FULLHEAD_SUBJECTS } from './lib/fullhead-subjects';
import { TWELVE_STRUCTURES as STRUCTURES } from './lib/user-boxes';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
/** The issue's box: a structure's bounding box + 2 voxels. */
const ACCEPTANCE_MARGIN = 2;
const MARGIN = Number(option('--margin') ?? ACCEPTANCE_MARGIN);
if (!(Number.isInteger(MARGIN) && MARGIN >= 0)) throw new Error(`--margin must be a whole number of voxels (got ${option('--margin')})`);
const SUBJECT_FILES = Object.fromEntries(Object.entries(FULLHEAD_SUBJECTS).map(([name, files]) => [name, files.map((f) => join('fullhead_labelled', f))]));
const dataFolder = option('--data');
const subjects = option('--subjects')?.split(',') ?? (dataFolder ? caseList(resolve(dataFolder), undefined, undefined) : Object.keys(SUBJECT_FILES));
const structures = (option('--structures') ?? Object.keys(STRUCTURES).join(',')).split(',').map(Number);
const adapter = option('--adapter');
const threads = option('--threads') ?? '2';
const axis = option('--axis') ?? 'all';
const prior = option('--prior') ?? 'auto';

const files = (subject: string): [string, string] => {
  if (dataFolder) return [join(resolve(dataFolder), 'images', subject), join(resolve(dataFolder), 'labels', subject)];
  const f = SUBJECT_FILES[subject];
  if (!f) throw new Error(`unknown subject ${subject}; known: ${Object.keys(SUBJECT_FILES).join(', ')} (or give --data <dir>)`);
  return [join(dataDir, f[0]), join(dataDir, f[1])];
};
const read = (path: string): Volume => readVolume(new Uint8Array(readFileSync(path)), path);

function dice(pred: ArrayLike<number>, truth: ArrayLike<number>, label: number): number {
  let inter = 0, np = 0, nt = 0;
  for (let p = 0; p < truth.length; p++) {
    const a = pred[p] === label;
    const b = truth[p] === label;
    np += +a;
    nt += +b;
    inter += +(a && b);
  }
  return np + nt === 0 ? NaN : (2 * inter) / (np + nt);
}

const load0 = loadavg()[0];
const work = mkdtempSync(join(tmpdir(), 'seahorse-sam-acceptance-'));
const rows: string[][] = [];
const means: { subject: string; asWritten: number; largest: number; seconds: number }[] = [];
for (const subject of subjects) {
  const [imagePath, labelPath] = files(subject);
  const seg = read(labelPath);
  const boxes = labelBoxes(seg.data, seg.dims, structures, MARGIN);
  const out = join(work, `${basename(subject).replace(/\W+/g, '_')}.nii.gz`);
  const boxArgs = [...boxes].flatMap(([l, b]) => ['--box', `${l}:${b.lo.join(',')},${b.hi.join(',')}`]);
  const t0 = performance.now();
  const status = await main(['prompt', imagePath, ...boxArgs, '-o', out, '--threads', threads, '--axis', axis, '--prior', prior, ...(adapter ? ['--adapter', adapter] : [])], {
    out: () => {},
    err: (s: string) => process.stderr.write(`${s}\n`),
  });
  if (status !== 0) throw new Error(`seahorse prompt failed on ${subject} (exit ${status})`);
  const seconds = (performance.now() - t0) / 1000;
  const labels = read(out);
  const largest = keepLargestComponentPerLabel(Uint8Array.from(labels.data as ArrayLike<number>), labels.dims);
  const per = structures.map((l) => [dice(labels.data, seg.data, l), dice(largest, seg.data, l)]);
  rows.push([subject, ...per.map(([a, b]) => `${a.toFixed(3)} / ${b.toFixed(3)}`)]);
  const mean = (k: 0 | 1) => per.reduce((s, d) => s + d[k], 0) / per.length;
  means.push({ subject, asWritten: mean(0), largest: mean(1), seconds });
  console.error(`${subject}: mean ${mean(0).toFixed(3)} as written, ${mean(1).toFixed(3)} largest piece (${seconds.toFixed(0)} s)`);
}
rmSync(work, { recursive: true, force: true });

console.log(`## \`npm run bench -- sam-acceptance ${args.join(' ')}\` — ${new Date().toISOString().slice(0, 10)}\n`);
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; onnxruntime-node CPU, ${threads} threads. Decoder: ${adapter ?? 'the default'}. Boxes: each structure's aseg bounding box + ${MARGIN} voxels, all in one run, \`--axis ${axis}\` (${axis === 'all' ? 'each box on sagittal, coronal and axial slices, logits averaged' : `${axis} slices`}), \`--prior ${prior}\` (${prior === 'auto' ? "each structure's shape prior in its box" : 'no shape prior'}).\n`);
console.log(`Dice over the whole volume, as written / each structure's largest piece:\n`);
console.log(`| scan | ${structures.map((l) => `${STRUCTURES[l] ?? l} (${l})`).join(' | ')} |`);
console.log(`|---|${structures.map(() => '---:').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log('');
console.log('| scan | mean of the structures, as written | largest piece | time, s |');
console.log('|---|---:|---:|---:|');
for (const m of means) console.log(`| ${m.subject} | ${m.asWritten.toFixed(3)} | ${m.largest.toFixed(3)} | ${m.seconds.toFixed(0)} |`);
const avg = (k: 'asWritten' | 'largest') => means.reduce((s, m) => s + m[k], 0) / means.length;
console.log(`| mean | **${avg('asWritten').toFixed(3)}** | ${avg('largest').toFixed(3)} | |`);
