/**
 * `seahorse finetune`: fine-tunes a base model on labelled scans with a PEFT method on
 * Seahorse's engine, and writes an adapter file that `seahorse segment --adapter` applies.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Engine } from '../engine';
import { EngineChoiceError, openNodeEngine } from '../engine/open-node';
import { readModelNode } from '../infer/registry-node';
import { modelCaveat } from '../infer/registry';
import type { Adapter } from '../peft/adapter-file';
import { encodeAdapter } from '../peft/adapter-file';
import { makeAdapter } from '../peft/apply';
import { nodeSvdPool } from '../peft/linalg/svd-pool-node';
import { countTrainable, METHODS, type MethodConfig, type MethodName } from '../peft/methods';
import { train, type TrainResult } from '../train/loop';
import { DECODER_FROM_SCANS, DEFAULT_BATCH, DEFAULT_STEPS, defaultLr, defaultTrainDecoder, hasDecoderChoice } from '../train/finetune-defaults';
import { readTemplate } from '../core/fullhead/template-node';
import { templateOnce } from '../infer/segment-scan';
import { describeLabelMap, targetGroups } from '../train/label-map';
import { batches, type TrainingSample } from '../train/samples';
import { openForFineTuning } from '../train/setup';
import { validate } from '../train/validate';
import { ADAPTER_EXTENSION, describeMethod } from './adapter';
import { parse } from './args';
import { caseList } from './eval';
import { caseSamples, chooseLabelMap } from './finetune-data';
import { ms, num, table, toJson } from './format';
import type { CliIO } from './main';
import { readScan } from './segment';
import { runFinetuneSam } from './finetune-sam';
import { UsageError } from './usage';

export const FINETUNE_USAGE = `Usage: seahorse finetune --model <id | model.onnx> --train <dir> -o <adapter${ADAPTER_EXTENSION}> [options]

Fine-tunes a segmentation model on labelled scans with a parameter-efficient method on
Seahorse's own engine, and writes an adapter file (small; tied to that base model) that
"seahorse segment --adapter" merges into the model. Scans are prepared exactly as for
inference (the model manifest's orientation, voxel size and normalisation; a full head is
localised and cut into one crop per hippocampus) and cropped to the model's input size with
random flips and intensity jitter.

Options:
  --model <id | file>       the base model: an id from models/ or an .onnx file (required)
  --train <dir>             a folder with images/ and labels/ (same file names)
  --data <dir>              the same as --train
  --labels <map>            how the label files' codes become training targets: msd (1 head,
                            2 body + tail), freesurfer (17, 53), lpba40 (165, 166), aal
                            (37, 38), binary (any non-zero), or code:target pairs such as
                            17:whole,53:whole,*:bg (targets bg, head, body, whole); a map
                            with whole targets trains head + body as one structure.
                            Default: the preset that fits the first label file's codes
  --val <dir>               a folder like --train to validate on: the soft Dice loss and
                            the Dice of the centred crops, before and after training
  --split <file>            JSON mapping set names to lists of file names
  --set <name>              which list of --split to train on
  --limit <N>               use only the first N cases
  -o, --output <file>       where to write the adapter
  --method <name>           lorapt, hyps, lora, pissa, decoder or full
                            (default: lorapt for UNETR, hyps for SwinUNETR)
  --rank <r>                the method's rank (LoRA-PT: all three tensors)
  --adapter-dim <d>         HyPS: serial adapter width (default 2)
  --alpha <a>               LoRA: scaling numerator (update scaled by alpha/rank)
  --no-decoder, --decoder   adapter methods: keep the decoder frozen, or train it too. Default:
                            frozen below ${DECODER_FROM_SCANS} labelled scans, trained from ${DECODER_FROM_SCANS} up (the few-shot
                            benchmark; see src/train/finetune-defaults.ts)
  --steps <N>               optimiser steps (default ${DEFAULT_STEPS})
  --epochs <N>              passes over the training scans instead (N × ⌈scans / batch⌉ steps)
  --batch <N>               scans per step (default ${DEFAULT_BATCH})
  --lr <x>                  learning rate, decayed poly(0.9). Default: the few-shot benchmark's
                            validation sweep: 3e-4 for UNETR; for SwinUNETR 1e-4 (full,
                            decoder) or 1e-3 (adapter methods)
  --weight-decay <x>        Adam L2 weight decay (default 1e-5)
  --seed <N>                seed of crops, augmentation and initialisation (default 1000)
  --engine <wasm | webgpu | cpu>
                            wasm: float32 WebAssembly SIMD on all cores; webgpu: WebGPU
                            through Dawn; cpu: the float64 reference (slow). Default: webgpu
                            on a hardware GPU, else wasm (software adapters count as none)
  --json                    print machine-readable JSON
  -h, --help                show this help

Segment Anything: seahorse finetune --model sam --train <dir> --structures 17,53,… -o <adapter>
fine-tunes SAM's prompt encoder + mask decoder on slices of the scans (any label codes);
--method lora --rank R [--lora-stages 3] adds LoRA on the image encoder's attention;
options --axis, --slices, --cache, --warmup, --threads apply there (see src/cli/finetune-sam.ts).`;

const DEFAULT_SEED = 1000;

function numberOption(v: string | undefined, what: string, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x)) || x <= 0) throw new UsageError(`${what} must be a positive ${integer ? 'integer' : 'number'}, got "${v}"`, FINETUNE_USAGE);
  return x;
}

/** The engine to train on (src/engine/open-node.ts: WebGPU on a hardware GPU, else wasm), saying so when it fell back. */
async function openEngine(kind: string | undefined, io: CliIO, quiet: boolean): Promise<Engine> {
  let choice;
  try {
    choice = await openNodeEngine(kind);
  } catch (e) {
    if (e instanceof EngineChoiceError) throw new UsageError(e.message, FINETUNE_USAGE);
    throw e;
  }
  if (choice.fallback && !quiet) io.err(`No hardware GPU: ${choice.fallback}. Training on the ${choice.engine.description} engine; --engine webgpu forces WebGPU.`);
  return choice.engine;
}

export async function runFinetune(args: readonly string[], io: CliIO): Promise<void> {
  const { values } = parse(
    args,
    {
      model: { type: 'string' },
      data: { type: 'string' },
      train: { type: 'string' },
      val: { type: 'string' },
      labels: { type: 'string' },
      epochs: { type: 'string' },
      split: { type: 'string' },
      set: { type: 'string' },
      limit: { type: 'string' },
      output: { type: 'string', short: 'o' },
      method: { type: 'string' },
      rank: { type: 'string' },
      'adapter-dim': { type: 'string' },
      alpha: { type: 'string' },
      'no-decoder': { type: 'boolean' },
      decoder: { type: 'boolean' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      seed: { type: 'string' },
      engine: { type: 'string' },
      json: { type: 'boolean' },
      structures: { type: 'string' },
      axis: { type: 'string' },
      slices: { type: 'string' },
      cache: { type: 'string' },
      warmup: { type: 'string' },
      threads: { type: 'string' },
      'lora-stages': { type: 'string' },
      'lora-lr': { type: 'string' },
    },
    FINETUNE_USAGE,
  );
  if (!values.model) throw new UsageError('name the base model: --model <id | model.onnx>', FINETUNE_USAGE);
  if (values.model === 'sam') {
    // Segment Anything: decoder-only on cached embeddings, or encoder LoRA + decoder (finetune-sam.ts).
    await runFinetuneSam(values, () => openEngine(values.engine, io, values.json ?? false), io);
    return;
  }
  for (const o of ['axis', 'slices', 'cache', 'warmup', 'threads', 'lora-stages', 'lora-lr'] as const) if (values[o] !== undefined) throw new UsageError(`--${o} is for --model sam (Segment Anything)`, FINETUNE_USAGE);
  if (values.structures !== undefined) throw new UsageError('--structures is for --model sam (Segment Anything)', FINETUNE_USAGE);
  if (values.data && values.train && resolve(values.data) !== resolve(values.train)) throw new UsageError('give the training scans once: --train <dir> (or its old name --data)', FINETUNE_USAGE);
  const trainDir = values.train ?? values.data;
  if (!trainDir) throw new UsageError('give the labelled scans: --train <dir> (with images/ and labels/)', FINETUNE_USAGE);
  if (values.steps !== undefined && values.epochs !== undefined) throw new UsageError('give --steps or --epochs, not both', FINETUNE_USAGE);
  if (!values.output) throw new UsageError(`say where to write the adapter: -o <file${ADAPTER_EXTENSION}>`, FINETUNE_USAGE);
  if (values.decoder && values['no-decoder']) throw new UsageError('give --decoder or --no-decoder, not both', FINETUNE_USAGE);
  if (values.method !== undefined && !(values.method in METHODS)) throw new UsageError(`--method must be one of ${Object.keys(METHODS).join(', ')}, got "${values.method}"`, FINETUNE_USAGE);
  const output = resolve(values.output);
  if (!existsSync(dirname(output))) throw new Error(`the output folder does not exist: ${dirname(output)}`);
  const batchSize = numberOption(values.batch, '--batch', true) ?? DEFAULT_BATCH;
  const epochs = numberOption(values.epochs, '--epochs', true);
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`, FINETUNE_USAGE);
  const limit = numberOption(values.limit, '--limit', true);

  const dataDir = resolve(trainDir);
  const cases = caseList(dataDir, values.split, values.set).slice(0, limit);
  if (cases.length === 0) throw new Error(`no scans to train on in ${dataDir}`);
  const steps = epochs !== undefined ? epochs * Math.ceil(cases.length / batchSize) : (numberOption(values.steps, '--steps', true) ?? DEFAULT_STEPS);
  const valDir = values.val === undefined ? undefined : resolve(values.val);
  const valCases = valDir ? caseList(valDir, undefined, undefined) : [];
  if (valDir && valCases.length === 0) throw new Error(`no scans to validate on in ${valDir}`);

  const firstLabels = join(dataDir, 'labels', cases[0]);
  if (!existsSync(firstLabels)) throw new Error(`case ${cases[0]} has no labels: ${firstLabels} not found`);
  const { map, guessed } = chooseLabelMap(values.labels, readScan(firstLabels), cases[0]);

  const { manifest, bytes } = readModelNode(values.model);
  const engine = await openEngine(values.engine, io, values.json ?? false);
  try {
    const kind = manifest.architecture === 'SwinUNETR' ? 'swinunetr' : 'unetr';
    const methodName = (values.method as MethodName | undefined) ?? (kind === 'swinunetr' ? 'hyps' : 'lorapt');
    const decoderChosen = values['no-decoder'] ? false : values.decoder ? true : undefined;
    const cfg: MethodConfig = {
      method: methodName,
      rank: numberOption(values.rank, '--rank', true),
      adapterDim: numberOption(values['adapter-dim'], '--adapter-dim', true),
      alpha: numberOption(values.alpha, '--alpha', false),
      trainDecoder: hasDecoderChoice(methodName) ? (decoderChosen ?? defaultTrainDecoder(cases.length)) : undefined,
      seed,
    };
    const t0 = performance.now();
    // LoRA-PT's t-SVD decomposes its Fourier slices on worker threads (one per core).
    const pool = nodeSvdPool();
    let setup;
    try {
      setup = await openForFineTuning(engine, bytes, cfg, { label: manifest.id, tsvd: { pool } });
    } finally {
      pool.dispose();
    }
    const initMs = performance.now() - t0;
    const { adapted, method, fingerprint } = setup;
    const model = adapted.model;
    const counts = countTrainable(model, method);

    const classGroups = targetGroups(map, model.outChannels);
    const template = templateOnce(readTemplate);
    const notes: string[] = [];
    const read = async (dir: string, names: readonly string[]): Promise<TrainingSample[]> => {
      const out: TrainingSample[] = [];
      for (const c of names) {
        const got = await caseSamples(dir, c, readScan, map, manifest, template);
        out.push(...got.samples);
        notes.push(...got.notes);
      }
      return out;
    };
    const samples = await read(dataDir, cases);
    const valSamples = valDir ? await read(valDir, valCases) : [];
    if (!values.json) {
      io.err(`Labels   ${describeLabelMap(map)}${guessed ? ' (guessed from the codes; say --labels to choose)' : ''}`);
      for (const n of notes) io.err(`Note     ${n}`);
      if (hasDecoderChoice(methodName) && decoderChosen === undefined) {
        const scans = `${cases.length} labelled scan${cases.length === 1 ? '' : 's'}`;
        io.err(
          cfg.trainDecoder
            ? `Decoder  trains with the adapters: ${scans} (from ${DECODER_FROM_SCANS} up it helped in the few-shot benchmark; --no-decoder freezes it)`
            : `Decoder  frozen: ${scans} (below ${DECODER_FROM_SCANS}, training it lowered Dice in the few-shot benchmark; --decoder trains it)`,
        );
      }
    }
    const crop = [...manifest.inputSize] as [number, number, number];
    const valBefore = valSamples.length ? await validate(adapted, valSamples, crop, classGroups) : null;
    const next = batches(samples, batchSize, crop, seed);

    const lr = numberOption(values.lr, '--lr', false) ?? defaultLr(kind, methodName);
    const weightDecay = values['weight-decay'] === undefined ? undefined : Number(values['weight-decay']);
    if (weightDecay !== undefined && !(weightDecay >= 0)) throw new UsageError(`--weight-decay must be a number ≥ 0, got "${values['weight-decay']}"`, FINETUNE_USAGE);
    const result: TrainResult = await train(adapted, next, {
      steps,
      lr,
      weightDecay,
      seed,
      classGroups,
      onStep: values.json ? undefined : (r) => io.err(`step ${r.step}/${steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${ms(r.ms)}`),
    });
    const trainMs = performance.now() - t0 - initMs;
    const valAfter = valSamples.length ? await validate(adapted, valSamples, crop, classGroups) : null;
    const validation = valBefore && valAfter ? { cases: valCases.length, before: valBefore, after: valAfter } : undefined;
    const adapter: Adapter = await makeAdapter(
      adapted,
      method,
      {
        fingerprint,
        label: manifest.id,
        training: {
          steps: result.checkpoint.step,
          requestedSteps: steps,
          status: result.status,
          batch: batchSize,
          lr,
          weightDecay: weightDecay ?? 1e-5,
          seed,
          cases,
          labelMap: map.text,
          crop,
          engine: engine.description,
          losses: result.reports.map((r) => r.loss),
          trainableParameters: counts.total,
          validation,
          finished: new Date().toISOString(),
        },
      },
      result.checkpoint.state,
    );
    writeFileSync(output, await encodeAdapter(adapter));
    adapted.dispose();
    model.dispose();

    const losses = result.reports.map((r) => r.loss);
    const summary = {
      model: { id: manifest.id, status: manifest.status, architecture: manifest.architecture },
      caveat: modelCaveat(manifest),
      method,
      trainable: counts,
      cases: cases.length,
      samples: samples.length,
      labels: { map: map.text, description: describeLabelMap(map), guessed },
      notes,
      engine: engine.description,
      steps: result.checkpoint.step,
      status: result.status,
      message: result.message,
      loss: { first: losses[0] ?? null, last: losses[losses.length - 1] ?? null },
      validation: validation ?? null,
      timingsMs: { initialise: initMs, train: trainMs },
      adapter: output,
    };
    if (values.json) io.out(toJson(summary));
    else {
      io.out(
        [
          `Model    ${manifest.id}: ${manifest.name}`,
          ...(summary.caveat ? [`         ${summary.caveat}`] : []),
          `Method   ${describeMethod(method)}: ${counts.total.toLocaleString('en')} trainable of ${counts.modelParams.toLocaleString('en')} parameters (${num((100 * counts.total) / counts.modelParams, 3)}%)`,
          `Engine   ${engine.description}`,
          `Data     ${cases.length} labelled scan${cases.length === 1 ? '' : 's'} from ${dataDir} (${samples.length} training crops), crops ${crop.join('×')}, batch ${batchSize}`,
          `Labels   ${describeLabelMap(map)}`,
          '',
          table([
            ['', 'value'],
            ['steps', String(result.checkpoint.step)],
            ['loss, first step', losses.length ? num(losses[0], 4) : '–'],
            ['loss, last step', losses.length ? num(losses[losses.length - 1], 4) : '–'],
            ...(validation
              ? [
                  [`validation loss (${validation.cases} scans)`, `${num(validation.before.loss, 4)} → ${num(validation.after.loss, 4)}`],
                  ['validation Dice', `${num(validation.before.dice, 3)} → ${num(validation.after.dice, 3)}`],
                ]
              : []),
            ['initialise', ms(initMs)],
            ['train', ms(trainMs)],
          ]),
          '',
          `Adapter  ${output} (${basename(output)})`,
        ].join('\n'),
      );
    }
    if (result.status === 'non-finite') throw new Error(`${result.message}. The adapter holds that last good state.`);
  } finally {
    engine.dispose();
  }
}
