/**
 * A shipped model in the browser: the studio's segmentation pipeline (`segmentVolume`) on the
 * studio's ORT-web backend, on a scan the Playwright suite passes in. Every window's input and
 * logits are recorded so the suite can run the same inputs on onnxruntime-node and compare.
 */
import ortCpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import ortWebGpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { registryModels, modelSource } from '../../src/app/models';
import { readVolume } from '../../src/core/io';
import { largestBufferBytes, configureOrtWeb, createOrtWebBackend, ortForWebGpu, type AdapterReport } from '../../src/infer/ort-web';
import { segmentVolume } from '../../src/infer/pipeline';
import { prepareForWeb } from '../../src/onnx';

export interface ShippedRequest {
  readonly id: string;
  readonly scanName: string;
  /** The scan file's bytes, base64. */
  readonly scanBase64: string;
}

export interface ShippedReport {
  readonly backend: 'webgpu' | 'wasm';
  readonly reason: string;
  readonly adapter?: AdapterReport;
  /** Per window: its input [1, 1, D, H, W] and logits [1, C, D, H, W], float32 as base64. */
  readonly windows: readonly { readonly inputBase64: string; readonly logitsBase64: string; readonly runMs: number }[];
  /** The pipeline's labels on the scan's grid (i fastest), base64. */
  readonly labelsBase64: string;
  /** Building the session (after download and graph preparation), ms. */
  readonly sessionMs: number;
  /** Null when ORT puts every node of the graph on WebGPU; otherwise its refusal. */
  readonly cpuNodes: string | null;
}

configureOrtWeb({ cpu: ortCpuWasmUrl, webgpu: ortWebGpuWasmUrl });
const models = registryModels(import.meta.glob('../../models/*.json', { eager: true, import: 'default' }));

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const floatBytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function bytesOf(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Whether ORT runs the whole graph on WebGPU: with CPU fallback disabled, a session only
 * builds when no node is assigned to the CPU provider (ORT would otherwise place unsupported
 * or shape-computing nodes there silently, copying tensors between GPU and CPU).
 */
async function cpuNodes(model: Uint8Array): Promise<string | null> {
  try {
    const session = await ortForWebGpu.InferenceSession.create(model, {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
      extra: { session: { disable_cpu_ep_fallback: '1' } },
    });
    await session.release();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export async function runShipped(request: ShippedRequest): Promise<ShippedReport> {
  const manifest = models.find((m) => m.id === request.id);
  if (!manifest) throw new Error(`this build has no model "${request.id}" (it has: ${models.map((m) => m.id).join(', ')})`);
  const source = modelSource(manifest, import.meta.env.BASE_URL);
  const [onnx, ...external] = await Promise.all([bytesOf(source.onnxUrl), ...source.externalData.map((f) => bytesOf(f.url))]);
  const externalData = new Map(source.externalData.map((f, i) => [f.path, external[i]]));
  const prepared = prepareForWeb(onnx, externalData.size > 0 ? externalData : undefined);
  const start = performance.now();
  const backend = await createOrtWebBackend(prepared, {
    preference: 'webgpu',
    inputSize: manifest.inputSize,
    bufferBytes: largestBufferBytes(manifest),
    // The suite compares every logit with onnxruntime-node, which is a stricter check than
    // the trial window's finiteness test; skipping it halves SwiftShader's time.
    trialRun: false,
  });
  const sessionMs = performance.now() - start;
  const windows: { inputBase64: string; logitsBase64: string; runMs: number }[] = [];
  const recording = {
    ...backend,
    async run(input: Float32Array, dims: readonly [number, number, number]) {
      const t = performance.now();
      const logits = await backend.run(input, dims);
      windows.push({ inputBase64: toBase64(floatBytes(input)), logitsBase64: toBase64(floatBytes(logits)), runMs: performance.now() - t });
      return logits;
    },
  };
  let labels: Uint8Array;
  try {
    const scan = readVolume(fromBase64(request.scanBase64), request.scanName);
    labels = (await segmentVolume(scan, { manifest, backend: recording })).labels.data;
  } finally {
    await backend.dispose();
  }
  return {
    backend: backend.name,
    reason: backend.reason,
    adapter: backend.adapter,
    windows,
    labelsBase64: toBase64(labels),
    sessionMs,
    cpuNodes: await cpuNodes(prepared),
  };
}

declare global {
  interface Window {
    seahorseShipped: typeof runShipped;
  }
}
window.seahorseShipped = runShipped;
