/**
 * Decoder-only fine-tuning of SAM on cached image embeddings (issue 17's "cheap decoder-only
 * mode"): the image encoder is frozen and runs once per slice (onnxruntime); the prompt
 * encoder + mask decoder (src/models/sam-decoder.ts, 4.06 M parameters) train on the engine.
 *
 * Each step draws (slice, structure) examples, a prompt from the label — a box (the
 * structure's bounding box on the slice, each side moved by a random −1…+`jitter` pixels, so it
 * is mostly a little loose, as a user draws it), a 3-D box's rectangle (the structure's
 * bounding box in the whole scan seen on the slice, each side moved the same way, on any slice
 * of its range ± `jitter`: loose where the structure is small, with an empty target where it is
 * absent, as `seahorse prompt --box` prompts every slice) or points (one positive inside, one
 * negative in the box's ring outside the structure) — and scores the masks the ONNX model would choose
 * from for that prompt (SamOnnxModel.select_masks: token 0 for 3+ points, else tokens 1–3)
 * with soft Dice + BCE on the 256² low-res logits against the label on SAM's padded grid.
 * Learning rate: linear warm-up ("preheating"), then polynomial decay; AdamW.
 * Pure functions + one async loop; the caller supplies embeddings (src/cli/finetune-sam.ts).
 */
import { maskOf } from '../core/metrics';
import {
  abs, add, AdamW, addScalar, backward, exp, log, mean, mul, neg, polyLr, relu, scale, sigmoid, slice, sub, sum, tidy, div,
  type AdamState, type Engine, type Tensor,
} from '../engine';
import { SamMaskDecoder, type SamPromptBatch } from '../models/sam-decoder';
import { TINY_VIT } from '../models/sam-encoder';
import type { HostTensors } from '../peft/adapted-model';
import { SamEncoderLora, type SamLoraConfig } from './encoder-lora';
import type { HostWeight } from './decoder-weights';
import { SAM_IMAGE_SIZE, type ResizeGeometry } from './preprocess';
import { SAM_LOW_RES } from './postprocess';
import type { PlaneExtent } from './label-boxes';
import { encodePrompt, maskBox, type SlicePrompt } from './prompts';
import { yieldToMessages } from '../train/yield-to-messages';

/** One encoded training slice: its embedding and its labels on the slice grid. */
export interface SamTrainSlice {
  /** Where it came from, for logs: "case:plane:slice". */
  readonly id: string;
  /** [256 × 64 × 64] (decoder-only); empty when the run trains encoder LoRA from `features`. */
  readonly embedding: Float32Array;
  /** With encoder LoRA: the features entering the first adapted stage, [C × H × W] (`encoderWithStageOutput`). */
  readonly features?: Float32Array;
  /** Label codes, row-major width × height (the slice grid of slice-geometry.ts). */
  readonly labels: ArrayLike<number>;
  readonly geometry: ResizeGeometry;
  /**
   * Where the slice lies in its scan: its index along the plane and the structures' 3-D
   * bounding boxes seen along it (`planeExtents`). Without it the slice gives no 3-D box prompts.
   */
  readonly volume?: { readonly slice: number; readonly extents: ReadonlyMap<number, PlaneExtent> };
}

/** How a step prompts: a per-slice box, a 3-D box's rectangle, or points. */
export type SamPromptKind = 'box' | 'box3d' | 'points';

export interface SamFinetuneOptions {
  readonly steps: number;
  /** Prompts per step. */
  readonly batch: number;
  /** Peak learning rate. */
  readonly lr: number;
  /** Linear warm-up steps. */
  readonly warmup: number;
  readonly weightDecay: number;
  readonly seed: number;
  /** Fraction of steps prompted with a 3-D box's rectangle (needs slices with `volume`). */
  readonly box3dFraction: number;
  /** Of the other steps, the fraction prompted with per-slice boxes (the rest with points). */
  readonly boxFraction: number;
  /** Box sides move outwards by up to this many slice pixels (and inwards by up to 1); 3-D boxes also reach this many slices beyond the structure. */
  readonly jitter: number;
  /** A structure must cover at least this many pixels of a slice to train on it. */
  readonly minPixels: number;
  readonly onStep?: (r: { step: number; loss: number; lr: number; ms: number; kind: SamPromptKind }) => void;
  /** Stops before the next step (the studio's Cancel); the weights trained so far come back. */
  readonly signal?: AbortSignal;
  /** LoRA on the image encoder too (the encoder's weights and where LoRA sits); the slices then carry `features`. */
  readonly encoderLora?: { readonly weights: ReadonlyMap<string, HostWeight>; readonly cfg: SamLoraConfig; readonly current?: HostTensors };
  /**
   * Peak learning rate of the LoRA factors (default `lr`): B starts at 0, so with Adam the
   * update B·A grows by about lr per step and element; LoRA is commonly trained at a higher rate.
   */
  readonly loraLr?: number;
  /** A paused or interrupted run's state: training goes on from its step, as if it had not stopped. */
  readonly resume?: SamCheckpoint;
  /** Calls `onCheckpoint` every this many steps before the last (the state where the run ends or stops is the result's `checkpoint`). */
  readonly checkpointEvery?: number;
  readonly onCheckpoint?: (c: SamCheckpoint) => Promise<void> | void;
  /** Before the first step: what trains (the counts a checkpoint records). */
  readonly onStart?: (r: Pick<SamFinetuneResult, 'trainable' | 'trainableLora' | 'pairs'>) => void;
}

/**
 * Everything a run's next step depends on besides the data and the options: the steps taken, the
 * trained tensors (decoder + LoRA factors), Adam's state (the decoder's slots, then the LoRA
 * factors'; one step count: both step together) and the prompt sampler's state.
 */
export interface SamCheckpoint {
  readonly step: number;
  readonly trained: Map<string, HostWeight>;
  readonly optimizer: AdamState;
  readonly sampler: number;
}

/** The defaults live beside the training data's (no engine code for the page to load). */
export { SAM_FINETUNE_DEFAULTS } from './training-data';

/** The loss's Dice smoothing (as the engine's diceLoss). */
const DICE_EPS = 1e-5;

/** A seeded generator whose state can be saved (a checkpoint) and restored. */
export interface SeededRng {
  (): number;
  /** The state after the draws so far: `rng(seed, r.state())` draws what `r` draws next. */
  state(): number;
}

/** mulberry32: small, seeded, reproducible; `state` resumes a saved generator. */
export function rng(seed: number, state = seed >>> 0): SeededRng {
  let a = state >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as SeededRng;
  next.state = () => a;
  return next;
}

/**
 * A binary slice mask on SAM's low-res grid: low-res pixel (u, v) covers resized pixels
 * 4u…4u+3; its centre maps back to slice pixel ((4u + 2) / scaleX − ½), nearest; the padding
 * beyond the resized image is background (as the decoder sees it).
 */
export function lowResTarget(mask: ArrayLike<number>, g: ResizeGeometry): Float32Array {
  const out = new Float32Array(SAM_LOW_RES * SAM_LOW_RES);
  const cell = SAM_IMAGE_SIZE / SAM_LOW_RES;
  for (let v = 0; v < SAM_LOW_RES; v++) {
    const yr = cell * v + cell / 2;
    if (yr >= g.resizedHeight) break;
    const y = Math.min(g.height - 1, Math.max(0, Math.round(yr / g.scaleY - 0.5)));
    for (let u = 0; u < SAM_LOW_RES; u++) {
      const xr = cell * u + cell / 2;
      if (xr >= g.resizedWidth) break;
      const x = Math.min(g.width - 1, Math.max(0, Math.round(xr / g.scaleX - 0.5)));
      out[u + SAM_LOW_RES * v] = mask[x + g.width * y] ? 1 : 0;
    }
  }
  return out;
}

/** A box prompt from a mask: its bounding box, each side moved outwards by U{−1…jitter} pixels, clamped. */
export function jitteredBox(mask: ArrayLike<number>, width: number, height: number, jitter: number, r: () => number): SlicePrompt | null {
  const b = maskBox(mask, width, height);
  if (!b) return null;
  const d = () => Math.floor(r() * (jitter + 2)) - 1;
  const x0 = Math.max(0, b.x0 - d());
  const y0 = Math.max(0, b.y0 - d());
  const x1 = Math.min(width - 1, Math.max(x0, b.x1 + d()));
  const y1 = Math.min(height - 1, Math.max(y0, b.y1 + d()));
  return { box: { x0, y0, x1, y1 } };
}

/**
 * A 3-D box prompt's rectangle on a slice: the structure's rectangle along the plane (`extent`,
 * its 3-D bounding box projected), each side moved outwards by U{−1…jitter} pixels, clamped;
 * the same on every slice of the range, whatever the structure covers there.
 */
export function volumeBoxPrompt(extent: PlaneExtent, width: number, height: number, jitter: number, r: () => number): SlicePrompt {
  const d = () => Math.floor(r() * (jitter + 2)) - 1;
  const x0 = Math.min(width - 1, Math.max(0, extent.x0 - d()));
  const y0 = Math.min(height - 1, Math.max(0, extent.y0 - d()));
  const x1 = Math.min(width - 1, Math.max(x0, extent.x1 + d()));
  const y1 = Math.min(height - 1, Math.max(y0, extent.y1 + d()));
  return { box: { x0, y0, x1, y1 } };
}

/**
 * The (slice, structure) pairs a 3-D box prompts: every slice within `reach` slices of the
 * structure's range (its 3-D box grown by a margin), whatever the structure covers there (none:
 * the target is empty).
 */
export function volumeBoxPairs(slices: readonly SamTrainSlice[], structures: readonly number[], reach: number): { slice: number; label: number }[] {
  const out: { slice: number; label: number }[] = [];
  slices.forEach((s, i) => {
    if (!s.volume) return;
    for (const l of structures) {
      const e = s.volume.extents.get(l);
      if (e && s.volume.slice >= e.s0 - reach && s.volume.slice <= e.s1 + reach) out.push({ slice: i, label: l });
    }
  });
  return out;
}

/** Which prompt a step uses, from one uniform draw `u`: 3-D box first, then per-slice box, then points (with no 3-D boxes, as before they existed). */
export function promptKind(u: number, box3dFraction: number, boxFraction: number): SamPromptKind {
  if (u < box3dFraction) return 'box3d';
  return u < box3dFraction + (1 - box3dFraction) * boxFraction ? 'box' : 'points';
}

/** One positive point inside the mask and one negative in the 5-pixel ring around it (none if the ring is off the slice). */
export function samplePoints(mask: ArrayLike<number>, width: number, height: number, r: () => number): SlicePrompt | null {
  const inside: number[] = [];
  for (let p = 0; p < width * height; p++) if (mask[p]) inside.push(p);
  if (!inside.length) return null;
  const b = maskBox(mask, width, height)!;
  const ring: number[] = [];
  for (let y = Math.max(0, b.y0 - 5); y <= Math.min(height - 1, b.y1 + 5); y++)
    for (let x = Math.max(0, b.x0 - 5); x <= Math.min(width - 1, b.x1 + 5); x++) if (!mask[x + width * y]) ring.push(x + width * y);
  const pos = inside[Math.floor(r() * inside.length)];
  const points = [{ x: pos % width, y: Math.floor(pos / width), positive: true }];
  if (ring.length) {
    const neg = ring[Math.floor(r() * ring.length)];
    points.push({ x: neg % width, y: Math.floor(neg / width), positive: false });
  }
  return { points };
}

/** Which mask tokens the ONNX model chooses among for a prompt of `points` points (SamOnnxModel.select_masks). */
export function candidateTokens(points: number): [number, number] {
  return points >= 3 ? [0, 1] : [1, 4];
}

/** Soft Dice + BCE-with-logits, averaged over the candidate masks: logits [B, k, H, W], target [B, 1, H, W]. */
export function samMaskLoss(logits: Tensor, target: Tensor): Tensor {
  return tidy(() => {
    const p = sigmoid(logits);
    const inter = sum(mul(p, target), [2, 3]);
    const denom = add(sum(p, [2, 3]), sum(target, [2, 3]));
    const dice = mean(addScalar(neg(div(addScalar(scale(inter, 2), DICE_EPS), addScalar(denom, DICE_EPS))), 1));
    // BCE with logits, stable: max(x, 0) − x·y + log(1 + e^−|x|).
    const bce = mean(add(sub(relu(logits), mul(logits, target)), log(addScalar(exp(neg(abs(logits))), 1))));
    return add(dice, bce);
  });
}

/** Warm-up then polynomial decay (power 0.9). */
export function warmupLr(base: number, step: number, steps: number, warmup: number): number {
  if (step < warmup) return (base * (step + 1)) / warmup;
  return polyLr(base, step - warmup, Math.max(1, steps - warmup));
}

/** The one decoder parameter that stays frozen: the prompt encoder's random Fourier matrix. */
export function isFrozenSamParam(name: string): boolean {
  return name.endsWith('positional_encoding_gaussian_matrix');
}

/** The (slice, structure) pairs worth training on. */
export function trainingPairs(slices: readonly SamTrainSlice[], structures: readonly number[], minPixels: number): { slice: number; label: number }[] {
  const out: { slice: number; label: number }[] = [];
  slices.forEach((s, i) => {
    const counts = new Map<number, number>();
    for (let p = 0; p < s.labels.length; p++) counts.set(s.labels[p], (counts.get(s.labels[p]) ?? 0) + 1);
    for (const l of structures) if ((counts.get(l) ?? 0) >= minPixels) out.push({ slice: i, label: l });
  });
  return out;
}

export interface SamFinetuneResult {
  /** The trained parameters, by our (SAM state-dict) names; with encoder LoRA also `<module>.lora_A/B`. */
  readonly trained: Map<string, HostWeight>;
  readonly trainable: number;
  /** Of `trainable`: the encoder's LoRA factors (0 for decoder-only). */
  readonly trainableLora: number;
  /** One per step taken in this call (fewer than asked when stopped by the signal; from `resume.step` on for a resumed run). */
  readonly losses: number[];
  /** The state at the last step taken (the run's total steps in `step`): a later call resumes from it. */
  readonly checkpoint: SamCheckpoint;
  readonly pairs: number;
  readonly ms: number;
}

/** How a run trained, as the adapter file records it (the CLI and the studio add their own facts). */
export function samRecipe(opts: SamFinetuneOptions, result: Pick<SamFinetuneResult, 'pairs'>) {
  return {
    model: 'sam',
    mode: opts.encoderLora ? `LoRA (rank ${opts.encoderLora.cfg.rank}, α ${opts.encoderLora.cfg.alpha}) on the image encoder's attention qkv/proj of stages ${opts.encoderLora.cfg.stages.join(', ')} + decoder, from cached stage-${opts.encoderLora.cfg.stages[0]} features` : 'decoder-only on cached embeddings',
    pairs: result.pairs,
    batch: opts.batch,
    lr: opts.lr,
    warmup: opts.warmup,
    weightDecay: opts.weightDecay,
    prompts: { box3dFraction: opts.box3dFraction, boxFraction: opts.boxFraction, jitter: opts.jitter },
    ...(opts.encoderLora ? { loraLr: opts.loraLr ?? opts.lr } : {}),
    seed: opts.seed,
    loss: 'soft Dice + BCE on the 256² low-res logits',
  };
}

/** [C, H, W] of the features entering attention stage 1–3 for SAM's 1024² input (stage 3 keeps stage 2's 64²: PatchMerging with stride 1). */
export function stageInputShape(stage: number): number[] {
  const side = stage === 1 ? 128 : 64;
  return [TINY_VIT.embedDims[stage], side, side];
}

/**
 * Trains the decoder (every parameter but the frozen Fourier matrix) and, with `encoderLora`,
 * LoRA factors on the image encoder's attention projections (each step runs the adapted stages
 * and the neck from the slices' cached features, then the decoder); returns the new weights.
 */
export async function finetuneSamDecoder(
  engine: Engine,
  weights: ReadonlyMap<string, HostWeight>,
  slices: readonly SamTrainSlice[],
  structures: readonly number[],
  opts: SamFinetuneOptions,
): Promise<SamFinetuneResult> {
  const pairs = trainingPairs(slices, structures, opts.minPixels);
  if (!pairs.length) throw new Error(`none of the structures ${structures.join(', ')} covers ${opts.minPixels} pixels of any training slice`);
  const pairs3d = opts.box3dFraction > 0 ? volumeBoxPairs(slices, structures, opts.jitter) : [];
  if (opts.box3dFraction > 0 && !pairs3d.length) throw new Error('3-D box prompts need the training slices\' places in their scans (and a structure there); give --box3d-fraction 0 to train without them');
  const lora = opts.encoderLora;
  const stage = lora ? lora.cfg.stages[0] : 0;
  const featureShape = lora ? stageInputShape(stage) : [];
  const featureSize = featureShape.reduce((a, b) => a * b, 1);
  if (lora) for (const s of slices) if (s.features?.length !== featureSize) throw new Error(`slice ${s.id}: encoder LoRA from stage ${stage} needs its [${featureShape}] features, got ${s.features?.length ?? 'none'}`);
  const resume = opts.resume;
  const start = resume?.step ?? 0;
  // A resumed run starts from its trained tensors (the decoder's over the base's, and its LoRA factors).
  const decoderWeights = resume ? new Map([...weights].map(([n, w]) => [n, resume.trained.get(n) ?? w])) : weights;
  const loraStart = resume && lora ? new Map([...resume.trained].filter(([n]) => /\.lora_[AB]$/.test(n))) : lora?.current;
  const model = SamMaskDecoder.fromWeights(engine, decoderWeights, (n) => !isFrozenSamParam(n));
  let encoder: SamEncoderLora | null = null;
  try {
    encoder = lora ? SamEncoderLora.create(engine, lora.weights, lora.cfg, loraStart) : null;
  } catch (e) {
    model.dispose();
    throw e;
  }
  const loraParams = encoder ? [...encoder.params.values()] : [];
  const decoderParams = model.trainable();
  const trainable = [...decoderParams, ...loraParams].reduce((n, t) => n + t.size, 0);
  const trainableLora = loraParams.reduce((n, t) => n + t.size, 0);
  const loraLr = opts.loraLr ?? opts.lr;
  // One optimiser per learning rate, both on the warm-up schedule.
  const opt = new AdamW(decoderParams, { lr: opts.lr, weightDecay: opts.weightDecay });
  const loraOpt = loraParams.length ? new AdamW(loraParams, { lr: loraLr, weightDecay: opts.weightDecay }) : null;
  const r = rng(opts.seed, resume?.sampler);
  const losses: number[] = [];
  const t0 = performance.now();
  const checkpoint = async (step: number): Promise<SamCheckpoint> => {
    const trained = new Map<string, HostWeight>();
    for (const [name, t] of model.params) {
      if (!t.requiresGrad) continue;
      trained.set(name, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    }
    if (encoder) for (const [name, t] of encoder.params) trained.set(name, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    const d = await opt.saveState();
    const l = loraOpt ? await loraOpt.saveState() : null;
    return { step, trained, optimizer: { t: d.t, slots: [...d.slots, ...(l?.slots ?? [])] }, sampler: r.state() };
  };
  try {
    if (resume) {
      // One saved state for both optimisers: the decoder's slots first.
      const n = decoderParams.length;
      if (resume.optimizer.slots.length !== n + loraParams.length) throw new Error(`this checkpoint's optimiser state holds ${resume.optimizer.slots.length} parameters, the run trains ${n + loraParams.length}`);
      opt.loadState({ t: resume.optimizer.t, slots: resume.optimizer.slots.slice(0, n) });
      loraOpt?.loadState({ t: resume.optimizer.t, slots: resume.optimizer.slots.slice(n) });
    }
    opts.onStart?.({ trainable, trainableLora, pairs: pairs.length });
    let step = start;
    for (; step < opts.steps; step++) {
      if (opts.signal?.aborted) break;
      const s0 = performance.now();
      const kind = promptKind(r(), opts.box3dFraction, opts.boxFraction);
      const from = kind === 'box3d' ? pairs3d : pairs;
      const emb = new Float32Array(opts.batch * (lora ? featureSize : 256 * 64 * 64));
      const targets = new Float32Array(opts.batch * SAM_LOW_RES * SAM_LOW_RES);
      const coords: number[] = [];
      const labels: number[] = [];
      let points = -1;
      for (let b = 0, tries = 0; b < opts.batch; ) {
        if (++tries > 1000 * opts.batch) throw new Error(`could not draw ${opts.batch} ${kind} prompts with the same point count from the training slices`);
        const pair = from[Math.floor(r() * from.length)];
        const s = slices[pair.slice];
        const { width, height } = s.geometry;
        const mask = maskOf(s.labels, pair.label);
        // Points: a positive + a negative + SAM's padding point = 3 → token 0 (without the negative: 2 → tokens 1–3).
        const prompt =
          kind === 'box3d' ? volumeBoxPrompt(s.volume!.extents.get(pair.label)!, width, height, opts.jitter, r)
          : kind === 'box' ? jitteredBox(mask, width, height, opts.jitter, r)
          : samplePoints(mask, width, height, r);
        if (!prompt) continue;
        const dp = encodePrompt(prompt, s.geometry);
        if (points >= 0 && dp.count !== points) continue; // one point count per batch (a negative may be missing)
        points = dp.count;
        if (lora) emb.set(s.features!, b * featureSize);
        else emb.set(s.embedding, b * s.embedding.length);
        targets.set(lowResTarget(mask, s.geometry), b * SAM_LOW_RES * SAM_LOW_RES);
        coords.push(...dp.coords);
        labels.push(...dp.labels);
        b++;
      }
      const batch: SamPromptBatch = { coords, labels, batch: opts.batch, points };
      const lr = warmupLr(opts.lr, step, opts.steps, opts.warmup);
      opt.lr = lr;
      if (loraOpt) loraOpt.lr = warmupLr(loraLr, step, opts.steps, opts.warmup);
      const [t0k, t1k] = candidateTokens(points);
      const loss = tidy(() => {
        const x = encoder ? encoder.embed(engine.tensor(emb, [opts.batch, ...featureShape])) : engine.tensor(emb, [opts.batch, 256, 64, 64]);
        const y = engine.tensor(targets, [opts.batch, 1, SAM_LOW_RES, SAM_LOW_RES]);
        const out = model.forward(x, batch);
        return samMaskLoss(slice(out.masks, [null, [t0k, t1k]]), y);
      });
      backward(loss);
      opt.step();
      opt.zeroGrad();
      loraOpt?.step();
      loraOpt?.zeroGrad();
      const v = await loss.item();
      loss.dispose();
      if (!Number.isFinite(v)) throw new Error(`SAM fine-tuning diverged at step ${step + 1} (loss ${v}); try a smaller --lr`);
      losses.push(v);
      opts.onStep?.({ step: step + 1, loss: v, lr, ms: performance.now() - s0, kind });
      await yieldToMessages();
      if (opts.onCheckpoint && opts.checkpointEvery && (step + 1) % opts.checkpointEvery === 0 && step + 1 < opts.steps) await opts.onCheckpoint(await checkpoint(step + 1));
    }
    const last = await checkpoint(step);
    return { trained: last.trained, trainable, trainableLora, losses, checkpoint: last, pairs: pairs.length, ms: performance.now() - t0 };
  } finally {
    model.dispose();
    encoder?.dispose();
  }
}
