/**
 * SamRuntime on onnxruntime-web, for the studio's inference worker: each of the two models on
 * WebGPU when it proves itself there (the session builds and one trial run gives finite
 * output), else on wasm, with the reason for each. The shared worker GPU device
 * (infer/ort-web.ts `webGpuDevice`) is reused. One session runs one call at a time: calls queue.
 */
import type { InferenceSession } from 'onnxruntime-web/wasm';
import { createWasmSession, inferenceGpu, ortForWasm, ortForWebGpu, ortWasmThreadsText, type OrtBuild, type OrtWebPreference } from '../infer/ort-web';
import { encodePrompt } from './prompts';
import { resizeGeometry } from './preprocess';
import { checkSamInterface, decoderFeeds, SAM_EMBEDDING_SIZE, type SamRuntime } from './runtime';

type Provider = 'webgpu' | 'wasm';

interface OpenSession {
  readonly session: InferenceSession;
  /** The build the session belongs to: its tensors must be made by it. */
  readonly ort: OrtBuild;
  readonly provider: Provider;
  readonly why: string;
}

/** `reason`: why not WebGPU. */
async function wasmSession(bytes: Uint8Array, reason: string): Promise<OpenSession> {
  const session = await createWasmSession(bytes);
  return { session, ort: ortForWasm, provider: 'wasm', why: `wasm, ${ortWasmThreadsText()} (${reason})` };
}

async function openSession(bytes: Uint8Array, preference: OrtWebPreference): Promise<OpenSession> {
  if (preference === 'wasm') return wasmSession(bytes, 'selected in the settings or by ?backend=wasm');
  const gpu = await inferenceGpu(preference);
  if (!gpu.ok) return wasmSession(bytes, gpu.reason);
  try {
    const session = await ortForWebGpu.InferenceSession.create(bytes, { executionProviders: [{ name: 'webgpu', device: gpu.device }], graphOptimizationLevel: 'all' });
    return { session, ort: ortForWebGpu, provider: 'webgpu', why: 'WebGPU' };
  } catch (err) {
    return wasmSession(bytes, `WebGPU failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function queued() {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(f: () => Promise<T>): Promise<T> => {
    const result = queue.then(f);
    queue = result.catch(() => undefined);
    return result;
  };
}

function finite(data: Float32Array, what: string): Float32Array {
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${what} gave a non-finite value at index ${bad}`);
  return data;
}

export interface SamWebOptions {
  /** Every encoder output of each encode by name (e.g. a stage's features added by `encoderWithStageOutput`: encoder LoRA training). */
  readonly onEncoderOutputs?: (outputs: Record<string, Float32Array>) => void;
  /** Which encoder weights these are (`SamRuntime.encoderKey`; default the base's). */
  readonly encoderKey?: string;
}

export async function createSamWebRuntime(encoderBytes: Uint8Array, decoderBytes: Uint8Array, preference: OrtWebPreference, opts: SamWebOptions = {}): Promise<SamRuntime> {
  let enc = await openSession(encoderBytes, preference);
  let dec = await openSession(decoderBytes, preference);
  checkSamInterface(enc.session.inputNames, dec.session.inputNames, dec.session.outputNames);
  const encodeRaw = async (image: Float32Array, all = false) => {
    const out = await enc.session.run({ [enc.session.inputNames[0]]: new enc.ort.Tensor('float32', image, [1, 3, 1024, 1024]) });
    try {
      const embedding = new Float32Array((await out[enc.session.outputNames[0]].getData()) as Float32Array);
      if (all && opts.onEncoderOutputs) {
        const outputs: Record<string, Float32Array> = {};
        for (const [name, t] of Object.entries(out)) outputs[name] = new Float32Array((await t.getData()) as Float32Array);
        opts.onEncoderOutputs(outputs);
      }
      return embedding;
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  };
  const decodeRaw = async (input: Parameters<SamRuntime['decode']>[0]) => {
    const feeds: Record<string, InstanceType<OrtBuild['Tensor']>> = {};
    for (const [n, t] of Object.entries(decoderFeeds(input))) feeds[n] = new dec.ort.Tensor('float32', t.data, t.dims);
    const out = await dec.session.run(feeds, ['low_res_masks', 'iou_predictions']);
    try {
      const lowRes = new Float32Array((await out.low_res_masks.getData()) as Float32Array);
      const iou = ((await out.iou_predictions.getData()) as Float32Array)[0];
      return { lowRes, iou };
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  };
  // Trial runs on WebGPU: some drivers miscompile into NaNs; such a model moves to wasm.
  if (enc.provider === 'webgpu') {
    try {
      const emb = finite(await encodeRaw(new Float32Array(3 * 1024 * 1024)), 'the encoder');
      if (emb.length !== SAM_EMBEDDING_SIZE) throw new Error(`the encoder returned ${emb.length} values`);
      if (dec.provider === 'webgpu') {
        try {
          const prompt = encodePrompt({ box: { x0: 10, y0: 10, x1: 100, y1: 100 } }, resizeGeometry(256, 256));
          finite((await decodeRaw({ embedding: emb, prompt, sliceSize: [256, 256] })).lowRes, 'the decoder');
        } catch (err) {
          await dec.session.release();
          dec = { ...(await openSession(decoderBytes, 'wasm')), why: `wasm (WebGPU trial failed: ${err instanceof Error ? err.message : String(err)})` };
        }
      }
    } catch (err) {
      await enc.session.release();
      enc = { ...(await openSession(encoderBytes, 'wasm')), why: `wasm (WebGPU trial failed: ${err instanceof Error ? err.message : String(err)})` };
    }
  }
  const encQueue = queued();
  const decQueue = queued();
  return {
    name: enc.provider,
    ...(opts.encoderKey ? { encoderKey: opts.encoderKey } : {}),
    reason: `encoder on ${enc.why}; decoder on ${dec.why}`,
    encode: (image) => encQueue(() => encodeRaw(image, true)),
    decode: (input) => decQueue(() => decodeRaw(input)),
    async dispose() {
      await Promise.all([encQueue(() => enc.session.release()), decQueue(() => dec.session.release())]);
    },
  };
}
