/**
 * ONNX parity in the browser: the fixture models, prepared for the web by the core ONNX
 * tooling, run on the studio's ORT-web backend; their logits are compared with the fixtures'
 * float64 reference. The Playwright suite calls `window.seahorseParity`; a developer can press
 * the button to check a GPU.
 */
import ortCpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import ortWebGpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { Dims3 } from '../../src/core/volume';
import { configureOrtWeb, createOrtWebBackend, largestBufferBytes, type OrtWebPreference } from '../../src/infer/ort-web';
import { prepareForWeb } from '../../src/onnx';

export type FixtureModel = 'unetr_tiny' | 'swinunetr_tiny';

export interface ParityReport {
  readonly model: FixtureModel;
  readonly backend: string;
  readonly reason: string;
  /** max |logit − reference| over all logits. */
  readonly maxAbs: number;
  /** ‖logits − reference‖₂ / ‖reference‖₂. */
  readonly relL2: number;
  readonly maxAbsReference: number;
  readonly count: number;
  /** Wall time of one run after the session was built, ms (SwiftShader here: not a benchmark). */
  readonly runMs: number;
}

configureOrtWeb({ cpu: ortCpuWasmUrl, webgpu: ortWebGpuWasmUrl });

async function bytesOf(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status} (are the fixtures served?)`);
  return new Uint8Array(await response.arrayBuffer());
}

async function floatsOf(url: string): Promise<Float32Array> {
  const bytes = await bytesOf(url);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

export async function parity(model: FixtureModel, preference: OrtWebPreference): Promise<ParityReport> {
  const dir = `/fixtures/${model}`;
  const [onnx, weights, input, reference, io, config] = await Promise.all([
    bytesOf(`${dir}/model.onnx`),
    bytesOf(`${dir}/weights.bin`),
    floatsOf(`${dir}/input.bin`),
    floatsOf(`${dir}/logits.bin`),
    fetch(`${dir}/io.json`).then((r) => r.json()),
    fetch(`${dir}/config.json`).then((r) => r.json()),
  ]);
  const dims = (io.input.shape as number[]).slice(2) as unknown as Dims3;
  const architecture = model === 'unetr_tiny' ? 'UNETR' : 'SwinUNETR';
  const prepared = prepareForWeb(onnx, new Map([['weights.bin', weights]]));
  const backend = await createOrtWebBackend(prepared, {
    preference,
    inputSize: dims,
    bufferBytes: largestBufferBytes({ architecture, inputSize: dims, config: config.kwargs }),
    // This page checks the logits itself; a trial window would double SwiftShader's time.
    trialRun: false,
  });
  try {
    const start = performance.now();
    const logits = await backend.run(input, dims);
    const runMs = performance.now() - start;
    if (logits.length !== reference.length) {
      throw new Error(`${model}: ${logits.length} logits, the reference has ${reference.length}`);
    }
    let maxAbs = 0;
    let maxAbsReference = 0;
    let diff2 = 0;
    let ref2 = 0;
    for (let i = 0; i < reference.length; i++) {
      const d = logits[i] - reference[i];
      // NaN must fail the comparison, so it is carried into maxAbs explicitly.
      maxAbs = Number.isNaN(d) ? NaN : Math.max(maxAbs, Math.abs(d));
      maxAbsReference = Math.max(maxAbsReference, Math.abs(reference[i]));
      diff2 += d * d;
      ref2 += reference[i] * reference[i];
    }
    return {
      model,
      backend: backend.name,
      reason: backend.reason,
      maxAbs,
      relL2: Math.sqrt(diff2 / ref2),
      maxAbsReference,
      count: reference.length,
      runMs,
    };
  } finally {
    await backend.dispose();
  }
}

declare global {
  interface Window {
    seahorseParity: typeof parity;
  }
}
window.seahorseParity = parity;

document.getElementById('run')?.addEventListener('click', async () => {
  const table = document.getElementById('results') as HTMLTableElement;
  table.innerHTML = '<tr><th>model</th><th>backend</th><th>max abs</th><th>rel L2</th><th>run ms</th><th>why this backend</th></tr>';
  for (const model of ['unetr_tiny', 'swinunetr_tiny'] as const) {
    const row = table.insertRow();
    try {
      const r = await parity(model, 'webgpu');
      for (const cell of [model, r.backend, r.maxAbs.toExponential(2), r.relL2.toExponential(2), r.runMs.toFixed(0), r.reason]) {
        row.insertCell().textContent = cell;
      }
    } catch (error) {
      row.insertCell().textContent = model;
      row.insertCell().textContent = `failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
});
