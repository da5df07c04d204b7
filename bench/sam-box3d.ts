/**
 * The prompt tool's 3-D box, headless: boxes dragged on two (or three) planes, as a studio user
 * segments a structure in 3-D.
 *   npm run bench -- sam-box3d [--data <dir with images/ and labels/>] [--subjects a,b] [--second sagittal|axial] [--views 2|3] [--threads 2]
 *     [--structures 17,53] [--redo] [--cache <slices>]
 *
 * For each of the twelve aseg structures: on the coronal slice where the structure is largest,
 * its bounding rectangle + 2 pixels (the first drag); on the sagittal (or axial) slice where it is
 * largest, the same (the second drag); with `--views 3`, also on the axial slice where it is largest
 * (the third). They go, as world millimetres, through the studio worker's
 * SAM service (src/workers/sam-service.ts), which makes the 3-D box (src/sam/drag-box.ts) and
 * segments it on all three planes with the shape prior and intensity model where the prior
 * applies. Dice over the volume, each structure on its own, with the default decoder; whether
 * the service warned about the mask.
 * Without --data: the FreeSurfer-labelled subjects (bert's norm.mgz, vxm_subject's t1).
 * `--redo` sends each box twice, as a user redoing it, and reports the second's time and how many
 * of its slices came from the embedding cache (`--cache`: its size in slices, as the studio's page
 * sets it; the CLI's default without).
 */
import { cpus, loadavg } from 'node:os';
import { applyToPoint } from '../src/core/affine';
import type { Volume } from '../src/core/volume';
import { readBoxPrior, readSamModels } from '../src/sam/model-files-node';
import { createSamNodeRuntime } from '../src/sam/ort-node';
import { slicePlane, voxelOfPixel, type PlaneName } from '../src/sam/slice-geometry';
import type { Mm3, SamReply, SliceDragMm } from '../src/workers/sam-protocol';
import { SamService } from '../src/workers/sam-service';
import { labelledScans } from './lib/fullhead-subjects';
import { diceOfVoxels, largestSliceRect, TWELVE_STRUCTURES, USER_BOX_MARGIN } from './lib/user-boxes';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const scans = labelledScans(option('--data'), option('--subjects'));
const FIRST: PlaneName = 'coronal';
const second = (option('--second') ?? 'sagittal') as PlaneName;
if (second !== 'sagittal' && second !== 'axial') throw new Error('--second must be sagittal or axial');
const views = Number(option('--views') ?? 2);
if (views !== 2 && views !== 3) throw new Error('--views must be 2 or 3');
/** The planes dragged on, in order. */
const planes: readonly PlaneName[] = views === 3 ? [FIRST, 'sagittal', 'axial'] : [FIRST, second];
const threads = Number(option('--threads') ?? 2);
const structures = option('--structures')?.split(',').map(Number) ?? Object.keys(TWELVE_STRUCTURES).map(Number);
for (const code of structures) if (!(code in TWELVE_STRUCTURES)) throw new Error(`--structures: ${code} is not one of ${Object.keys(TWELVE_STRUCTURES).join(', ')}`);
const redo = args.includes('--redo');
const cacheSlices = option('--cache') === undefined ? undefined : Number(option('--cache'));

/** The drag a user makes around label `code` on `planeName`: corners of the rectangle on the slice where it is largest, in world mm. */
function userDrag(image: Volume, labels: Volume, planeName: PlaneName, code: number): SliceDragMm {
  const plane = slicePlane(image.dims, image.affine, image.spacing, planeName);
  const { slice, box } = largestSliceRect(plane, labels, code);
  const mm = (x: number, y: number) => applyToPoint(image.affine, voxelOfPixel(plane, slice, x, y)) as Mm3;
  return { plane: planeName, start: mm(box.x0, box.y0), end: mm(box.x1, box.y1) };
}

const models = await readSamModels('default');
const runtime = await createSamNodeRuntime(models.encoder, models.decoder, { threads });
let scan: Volume | undefined;
let last: SamReply | undefined;
/** The last progress message of a box: the redo's says how many slices came from the cache. */
let progress = '';
const service = new SamService({
  post: (r) => (r.type === 'sam-progress' ? (progress = r.message) : (last = r)),
  scan: () => scan,
  createRuntime: async () => runtime,
  boxPrior: async () => readBoxPrior(),
  ...(cacheSlices === undefined ? {} : { cacheSlices: () => cacheSlices }),
});
const redone: { subject: string; structure: string; slices: number; boxS: number; redoS: number; fromCache: number; same: boolean }[] = [];
const started = new Date();
const load0 = loadavg()[0];
const rows: string[] = [];
const means: { subject: string; dice: number; warned: number; anatomy: number; slices: number; seconds: number }[] = [];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
let request = 0;
try {
  for (const { name: subject, read } of scans) {
    const { image, labels } = read();
    scan = image;
    const t0 = performance.now();
    const dices: number[] = [];
    const warned: boolean[] = [];
    let anatomy = 0, slices = 0;
    for (const code of structures) {
      const drags = planes.map((p) => userDrag(image, labels, p, code));
      const tBox = performance.now();
      await service.handle({ type: 'sam-box3d', request: ++request, drags, label: code, backend: 'wasm' });
      const r = last!;
      if (redo && r.type === 'sam-box3d-mask') {
        const tRedo = performance.now();
        await service.handle({ type: 'sam-box3d', request: ++request, drags, label: code, backend: 'wasm' });
        const again = last!;
        redone.push({
          subject,
          structure: TWELVE_STRUCTURES[code],
          slices: r.slices,
          boxS: (tRedo - tBox) / 1000,
          redoS: (performance.now() - tRedo) / 1000,
          fromCache: Number(/(\d+) from the cache/.exec(progress)?.[1] ?? 0),
          same: again.type === 'sam-box3d-mask' && again.voxels.length === r.voxels.length && again.voxels.every((v, i) => v === r.voxels[i]),
        });
      }
      if (r.type !== 'sam-box3d-mask') throw new Error(`${subject} label ${code}: ${r.type === 'sam-failed' ? r.message : r.type}`);
      const d = diceOfVoxels(r.voxels, labels.data, code);
      dices.push(d);
      warned.push(r.warning !== undefined);
      anatomy += +r.anatomy;
      slices += r.slices;
      console.error(`${subject} ${TWELVE_STRUCTURES[code]}: box ${r.lo.join(',')}–${r.hi.join(',')}, ${r.slices} slices, ${r.anatomy ? 'prior + intensity' : 'SAM alone'}, Dice ${d.toFixed(3)}${r.warning ? `; warned: ${r.warning}` : ''}`);
    }
    rows.push(`| ${subject} | ${dices.map((d, i) => `${d.toFixed(3)}${warned[i] ? ' ⚠' : ''}`).join(' | ')} | **${mean(dices).toFixed(3)}** |`);
    means.push({ subject, dice: mean(dices), warned: warned.filter(Boolean).length, anatomy, slices, seconds: (performance.now() - t0) / 1000 });
  }
} finally {
  await runtime.dispose();
}

console.log(`## \`npm run bench -- sam-box3d ${args.join(' ')}\` — ${started.toISOString().slice(0, 10)}\n`);
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; onnxruntime-node CPU, ${threads} threads. Decoder: the default. Per structure, ${views} drags as the prompt tool takes them: its rectangle + ${USER_BOX_MARGIN} px on the ${planes.join(', then the ')} slice where it is largest; the studio worker's SAM service makes the 3-D box and segments it on all three planes. Dice over the volume, each structure on its own; ⚠: the service warned about the mask.\n`);
console.log(`| scan | ${structures.map((c) => TWELVE_STRUCTURES[c]).join(' | ')} | mean |`);
console.log(`|---|${structures.map(() => '---:').join('|')}|---:|`);
for (const r of rows) console.log(r);
if (redo) {
  console.log(`\nEach box redone at once (the same drags), embedding cache of ${cacheSlices ?? 'the default'} slices:\n`);
  console.log('| scan | structure | slices | box, s | redone, s | redone slices from the cache | same mask |\n|---|---|---:|---:|---:|---:|---|');
  for (const r of redone) console.log(`| ${r.subject} | ${r.structure} | ${r.slices} | ${r.boxS.toFixed(1)} | ${r.redoS.toFixed(1)} | ${r.fromCache} | ${r.same ? 'yes' : 'NO'} |`);
}
console.log(`\n| scan | mean Dice | warned | scored with the prior | slices prompted | time, s |\n|---|---:|---:|---:|---:|---:|`);
for (const m of means) console.log(`| ${m.subject} | ${m.dice.toFixed(3)} | ${m.warned} of ${structures.length} | ${m.anatomy} of ${structures.length} | ${m.slices} | ${m.seconds.toFixed(0)} |`);
if (means.length > 1) console.log(`\nMean over the scans: **${mean(means.map((m) => m.dice)).toFixed(3)}**.`);
