/**
 * The prompt tool's path, headless: one box and "propagate", as a studio user segments a structure.
 *   npm run bench -- sam-propagate [--data <dir with images/ and labels/>] [--subjects a,b] [--plane coronal] [--threads 2]
 *
 * For each of the twelve aseg structures: on the slice of the plane where the structure is
 * largest, its bounding rectangle + 2 pixels as the box (as the user drags it); then propagation
 * both ways (each slice prompted with the previous mask's box, at most PROPAGATE_MAX_SLICES each
 * way, as the studio). Dice over the volume of each structure on its own (a binary mask), and
 * whether the prompt tool warns about the mask (src/sam/propagated-extent.ts: its box is of a size
 * the shape prior has not seen for the structure). The default decoder; embeddings are shared
 * between structures.
 * Without --data: the FreeSurfer-labelled subjects (bert's norm.mgz, vxm_subject's t1).
 */
import { cpus, loadavg } from 'node:os';
import { PROPAGATE_MAX_SLICES } from '../src/app/sam/sam-tool';
import { readBoxPrior, readSamModels } from '../src/sam/model-files-node';
import { createSamNodeRuntime } from '../src/sam/ort-node';
import { propagationWarning } from '../src/sam/propagated-extent';
import { SamVolume, type SliceMask } from '../src/sam/sam-volume';
import { PLANES, sliceVoxelIndices, type PlaneName } from '../src/sam/slice-geometry';
import { labelledScans } from './lib/fullhead-subjects';
import { diceOfVoxels, largestSliceRect, TWELVE_STRUCTURES as STRUCTURES, USER_BOX_MARGIN } from './lib/user-boxes';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const scans = labelledScans(option('--data'), option('--subjects'));
const planeName = (option('--plane') ?? 'coronal') as PlaneName;
if (!PLANES.includes(planeName)) throw new Error(`--plane must be one of ${PLANES.join(', ')}`);
const threads = Number(option('--threads') ?? 2);

const prior = readBoxPrior();
const models = await readSamModels('default');
const runtime = await createSamNodeRuntime(models.encoder, models.decoder, { threads });
const started = new Date();
const load0 = loadavg()[0];
const rows: string[] = [];
const means: { subject: string; dice: number; warned: number; unwarned: number[]; seconds: number }[] = [];
try {
  for (const { name: subject, read } of scans) {
    const { image, labels } = read();
    const t0 = performance.now();
    const sam = new SamVolume(image, runtime, { cacheSlices: 512 });
    const { plane } = sam.plane(planeName);
    const dices: number[] = [];
    const warned: boolean[] = [];
    for (const code of Object.keys(STRUCTURES).map(Number)) {
      const { slice: best, box } = largestSliceRect(plane, labels, code);
      const first = await sam.segmentSlice(planeName, best, { box });
      const masks: SliceMask[] = [first];
      if (first.pixels > 0) for (const direction of [1, -1] as const) masks.push(...(await sam.propagate(planeName, first, { direction, maxSlices: PROPAGATE_MAX_SLICES })));
      const voxels: number[] = [];
      for (const m of masks) {
        const idx = sliceVoxelIndices(plane, image.dims, m.slice);
        for (let p = 0; p < m.mask.length; p++) if (m.mask[p]) voxels.push(idx[p]);
      }
      const d = diceOfVoxels(voxels, labels.data, code);
      const warning = propagationWarning(prior, image.dims, image.affine, plane, masks, code);
      dices.push(d);
      warned.push(warning !== null);
      console.error(`${subject} ${STRUCTURES[code]}: slices ${Math.min(...masks.map((m) => m.slice))}–${Math.max(...masks.map((m) => m.slice))}, Dice ${d.toFixed(3)}${warning ? `; warned: ${warning}` : ''}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push(`| ${subject} | ${dices.map((d, i) => `${d.toFixed(3)}${warned[i] ? ' ⚠' : ''}`).join(' | ')} | **${mean(dices).toFixed(3)}** |`);
    means.push({ subject, dice: mean(dices), warned: warned.filter(Boolean).length, unwarned: dices.filter((_, i) => !warned[i]), seconds });
  }
} finally {
  await runtime.dispose();
}

console.log(`## \`npm run bench -- sam-propagate ${args.join(' ')}\` — ${started.toISOString().slice(0, 10)}\n`);
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; onnxruntime-node CPU, ${threads} threads. Decoder: the default. One box per structure (its rectangle + ${USER_BOX_MARGIN} px on the ${planeName} slice where it is largest), then propagation both ways (at most ${PROPAGATE_MAX_SLICES} slices each), as the prompt tool does. Dice over the volume, each structure on its own; ⚠: the prompt tool warns about the mask (its box is of a size the shape prior has not seen for the structure).\n`);
console.log(`| scan | ${Object.values(STRUCTURES).join(' | ')} | mean |`);
console.log(`|---|${Object.keys(STRUCTURES).map(() => '---:').join('|')}|---:|`);
for (const r of rows) console.log(r);
console.log(`\n| scan | mean Dice | warned | Dice of the unwarned masks | time, s |\n|---|---:|---:|---|---:|`);
for (const m of means) console.log(`| ${m.subject} | ${m.dice.toFixed(3)} | ${m.warned} of 12 | ${m.unwarned.map((d) => d.toFixed(3)).join(', ') || '–'} | ${m.seconds.toFixed(0)} |`);
