/** SamRuntime on onnxruntime-node (CPU): the CLI, the tests and the benchmark. */
import * as ort from 'onnxruntime-node';
import { checkSamInterface, decoderFeeds, SAM_EMBEDDING_SIZE, type SamRuntime } from './runtime';

export interface SamNodeOptions {
  /** Intra-op threads; default: onnxruntime's choice (all cores). */
  readonly threads?: number;
  /** Every encoder output of each encode by name (e.g. a stage's features added by `encoderWithStageOutput`). */
  readonly onEncoderOutputs?: (outputs: Record<string, Float32Array>) => void;
}

export async function createSamNodeRuntime(encoderBytes: Uint8Array, decoderBytes: Uint8Array, opts: SamNodeOptions = {}): Promise<SamRuntime> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    // Idle pool threads sleep instead of spinning, as in infer/ort-node.ts: the decoder's short runs
    // leave the pool idle between prompts, and a spinning thread takes a core from whatever runs beside.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const encoder = await ort.InferenceSession.create(encoderBytes, options);
  const decoder = await ort.InferenceSession.create(decoderBytes, options).catch(async (err) => {
    await encoder.release();
    throw err;
  });
  try {
    checkSamInterface(encoder.inputNames, decoder.inputNames, decoder.outputNames);
  } catch (err) {
    await Promise.all([encoder.release(), decoder.release()]);
    throw err;
  }
  const [encIn] = encoder.inputNames;
  const [encOut] = encoder.outputNames;
  return {
    name: 'cpu',
    reason: `onnxruntime-node ${ort.env.versions.node} on the CPU${opts.threads ? ` (${opts.threads} thread${opts.threads > 1 ? 's' : ''})` : ''}`,
    async encode(image) {
      const out = await encoder.run({ [encIn]: new ort.Tensor('float32', image, [1, 3, 1024, 1024]) });
      const data = out[encOut].data as Float32Array;
      opts.onEncoderOutputs?.(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array])));
      if (data.length !== SAM_EMBEDDING_SIZE) throw new Error(`the encoder returned ${data.length} values, expected 256 × 64 × 64`);
      return data;
    },
    async decode(input) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(decoderFeeds(input))) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
      const out = await decoder.run(feeds, ['low_res_masks', 'iou_predictions']);
      return { lowRes: out.low_res_masks.data as Float32Array, iou: (out.iou_predictions.data as Float32Array)[0] };
    },
    async dispose() {
      await Promise.all([encoder.release(), decoder.release()]);
    },
  };
}
