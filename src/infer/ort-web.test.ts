import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareForWeb } from '../onnx';
import { fixturesDir, hasShared, sharedMissing } from '../testing/shared';
import { bufferShortfall, configureOrtWeb, inferenceGpu, createOrtWebBackend, largestBufferBytes, ortWasmThreadsText, probeWebGpu, setOrtWasmThreads } from './ort-web';

const dir = join(fixturesDir, 'unetr_tiny');
const dims = [32, 32, 32] as const;
const floats = (file: string) => {
  const b = readFileSync(join(dir, file));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

// Node has no WebGPU, so these cover the wasm path and the fallback decision; the WebGPU
// path runs in Chromium (e2e/parity.spec.ts).
describe.skipIf(!hasShared)(`ORT-web backend in Node ${hasShared ? '' : sharedMissing}`, { timeout: 600_000 }, () => {
  let model: Uint8Array;
  beforeAll(() => {
    configureOrtWeb();
    model = prepareForWeb(readFileSync(join(dir, 'model.onnx')), new Map([['weights.bin', readFileSync(join(dir, 'weights.bin'))]]));
  });

  it('falls back to wasm without WebGPU, says why, and matches the PyTorch logits', async () => {
    const backend = await createOrtWebBackend(model, { preference: 'auto', inputSize: dims, bufferBytes: 0 });
    try {
      expect(backend.name).toBe('wasm');
      expect(backend.reason).toBe('WebGPU not used: WebGPU is not available in this browser; wasm on 1 thread');
      const logits = await backend.run(floats('input.bin'), dims);
      const reference = floats('logits.bin');
      expect(logits.length).toBe(reference.length);
      let maxAbs = 0;
      for (let i = 0; i < reference.length; i++) maxAbs = Math.max(maxAbs, Math.abs(logits[i] - reference[i]));
      // float32 inference against a float64 reference: the fixtures README (§5) measured
      // 3.0e-5 for ORT-web wasm on this model (|logits| ≤ 7.8); 1e-4 leaves room for the
      // rewritten ConvTranspose summing in another order, and is ~1e-5 of the logit range.
      expect(maxAbs).toBeLessThan(1e-4);
    } finally {
      await backend.dispose();
    }
  });

  it('uses wasm when asked, with the given reason, and serves concurrent runs one at a time', async () => {
    const backend = await createOrtWebBackend(model, {
      preference: 'wasm',
      inputSize: dims,
      bufferBytes: 0,
      forcedReason: 'forced by test',
    });
    try {
      expect(backend).toMatchObject({ name: 'wasm', reason: 'forced by test; wasm on 1 thread' });
      const input = floats('input.bin');
      const [a, b] = await Promise.all([backend.run(input, dims), backend.run(input, dims)]);
      expect(b).toEqual(a);
    } finally {
      await backend.dispose();
    }
  });

  it('refuses a new wasm thread count once a session has started the runtime, keeps the same one', async () => {
    const backend = await createOrtWebBackend(model, { preference: 'wasm', inputSize: dims, bufferBytes: 0 });
    await backend.dispose();
    expect(() => setOrtWasmThreads(2)).toThrow(/already runs on 1 thread\(s\): set the thread count \(2\) before the first session/);
    expect(() => setOrtWasmThreads(1)).not.toThrow();
    expect(ortWasmThreadsText()).toBe('1 thread');
  });
});

describe('WebGPU checks', () => {
  it('reports a missing WebGPU API', async () => {
    expect(await probeWebGpu(undefined)).toEqual({ ok: false, reason: 'WebGPU is not available in this browser' });
  });

  it('refuses an adapter whose largest buffer is smaller than the model needs', () => {
    const adapter = { vendor: '', architecture: '', description: '', maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27, software: false };
    expect(bufferShortfall(adapter, 2 ** 27)).toBeNull();
    expect(bufferShortfall(adapter, 176e6)).toBe("the GPU's largest buffer (128 MiB) is smaller than this model needs (168 MiB)");
  });

  it('on auto, passes over a software adapter (SwiftShader, a fallback adapter) for the CPU path; webgpu keeps it', async () => {
    const opened = (info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }) => {
      const gpu = { requestAdapter: async () => ({ info: { vendor: '', architecture: '', description: '', ...info }, limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 }, features: new Set(), requestDevice: async () => ({}) }) };
      return () => probeWebGpu(gpu as unknown as GPU);
    };
    const swiftshader = opened({ vendor: 'google', architecture: 'swiftshader' });
    const auto = await inferenceGpu('auto', swiftshader);
    expect(auto).toEqual({ ok: false, reason: 'google swiftshader is a software renderer, not a GPU, and slower than the CPU path (choose WebGPU under Compute to use it anyway)' });
    expect((await inferenceGpu('webgpu', swiftshader)).ok).toBe(true);
    expect((await inferenceGpu('auto', opened({ vendor: 'intel', architecture: 'gen-12lp', isFallbackAdapter: true }))).ok).toBe(false);
    const hardware = await inferenceGpu('auto', opened({ vendor: 'nvidia', architecture: 'hopper' }));
    expect(hardware.ok && hardware.adapter.software).toBe(false);
  });
});

describe('largestBufferBytes', () => {
  it('sizes the UNETR decoder concatenation: 2·feature_size channels at full resolution', () => {
    const bytes = largestBufferBytes({ architecture: 'UNETR', inputSize: [96, 96, 96], config: { feature_size: 16 } });
    expect(bytes).toBe(96 ** 3 * 32 * 4);
  });

  it('sizes the SwinUNETR stage-1 attention matrix when it is the larger', () => {
    // 64³ input → 32³ tokens → 5³ windows of 7³ tokens, 3 heads, (343 × 343) floats each.
    const bytes = largestBufferBytes({
      architecture: 'SwinUNETR',
      inputSize: [64, 64, 64],
      config: { feature_size: 12, num_heads: [3, 6, 12, 24] },
    });
    expect(bytes).toBe(125 * 3 * 343 * 343 * 4);
  });

  it("uses the model's own window and patch size: the shipped SwinUNETR's window is 4", () => {
    // 32 × 64 × 32 input → 16 × 32 × 16 patches → 4 × 8 × 4 windows of 4³ tokens; 6 heads so
    // that the attention matrix (128 × 6 × 64 × 64 floats) outgrows the concatenation.
    const config = { feature_size: 12, num_heads: [6, 12, 24, 48], window_size: 4, patch_size: 2 };
    expect(largestBufferBytes({ architecture: 'SwinUNETR', inputSize: [32, 64, 32], config })).toBe(128 * 6 * 64 * 64 * 4);
    // The shipped configuration (3 heads): both are 24 floats per voxel, the ONNX's largest
    // tensors ([128, 3, 64, 64] attention, [1, 24, 32, 64, 32] concatenation).
    const shipped = { ...config, num_heads: [3, 6, 12, 24] };
    expect(largestBufferBytes({ architecture: 'SwinUNETR', inputSize: [32, 64, 32], config: shipped })).toBe(32 * 64 * 32 * 24 * 4);
  });

  it('does not guess for unknown architectures', () => {
    expect(largestBufferBytes({ architecture: 'unknown', inputSize: [8, 8, 8] })).toBe(0);
  });
});
