/**
 * An InferenceBackend on onnxruntime-web: WebGPU when this machine can run the model on it,
 * the wasm CPU provider otherwise, with the reason recorded for the UI.
 *
 * WebGPU is only chosen after it has proven itself on this model: the adapter must offer the
 * buffer sizes the model needs, the session must build, and one trial window must run and
 * give finite logits (ORT-web can fail at run time, e.g. 3-D ConvTranspose, and some drivers
 * miscompile shaders into NaNs). Any failure falls back to wasm and says why.
 */
import * as ortGpu from 'onnxruntime-web/webgpu';
import * as ortCpu from 'onnxruntime-web/wasm';
import type { Dims3 } from '../core/volume';
import { isSoftwareAdapterInfo } from '../engine/device';
import type { InferenceBackend } from './backend';
import type { ModelManifest } from './manifest';

/**
 * `auto`: a hardware GPU through WebGPU, else wasm. A software adapter is slower than wasm on
 * the same cores: the sample head took 424 s from click to volumes on SwiftShader's WebGPU
 * (313 s computing) against 65 s on wasm (10.4 s computing), headless Chromium on 2 cores, dev
 * server, 2026-12-04. `webgpu`: WebGPU on whatever adapter there is (tests; users who ask for
 * it). `wasm`: the CPU.
 */
export type OrtWebPreference = 'auto' | 'wasm' | 'webgpu';

/** The adapter WebGPU ran on, as the diagnostics panel shows it. */
export interface AdapterReport {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  /** A software renderer (SwiftShader, llvmpipe, a fallback adapter), not a GPU. */
  readonly software: boolean;
}

export interface OrtWebBackend extends InferenceBackend {
  readonly name: 'webgpu' | 'wasm';
  /** Set when the backend is WebGPU. */
  readonly adapter?: AdapterReport;
  /** Resolves with a message if the GPU device is lost while this backend lives. */
  readonly lost: Promise<string>;
}

const bytesPerFloat = 4;

/**
 * onnxruntime-web in two builds, one per provider. The WebGPU build's wasm binary is compiled
 * with asyncify (27 MB), and its CPU kernels run several times slower than the plain SIMD build's
 * (14 MB): one `swinunetr-fs` window took 0.97 s against 0.21 s in Node, with equal logits
 * (`npm run bench -- ort-builds`). So wasm sessions use the plain build, and a machine without a GPU never fetches
 * or compiles the asyncify binary. Each build keeps its own `Tensor` class: a session only takes
 * tensors made by its own build.
 */
export type OrtBuild = typeof ortCpu;
export const ortForWebGpu: OrtBuild = ortGpu;
export const ortForWasm: OrtBuild = ortCpu;

/** Where the bundler put each build's files (production builds must say so explicitly). */
export interface OrtWasmUrls {
  /** `onnxruntime-web/ort-wasm-simd-threaded.wasm?url`: the plain build, for wasm sessions. */
  readonly cpu?: string;
  /**
   * `onnxruntime-web/ort-wasm-simd-threaded.mjs?url`: the plain build's loader as a file of its
   * own. Its thread workers start from the loader's URL; inlined into our worker's bundle, they
   * would start our worker's code instead and the session would never open.
   */
  readonly cpuLoader?: string;
  /** `onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url`: the WebGPU build. */
  readonly webgpu?: string;
}

/**
 * One-time runtime set-up of both builds, before any session: where their files are, and one
 * wasm thread until `setOrtWasmThreads` says more. The WebGPU build keeps one: its CPU kernels
 * only run the odd node WebGPU lacks.
 */
export function configureOrtWeb(urls: OrtWasmUrls = {}): void {
  for (const build of [ortForWasm, ortForWebGpu]) {
    build.env.wasm.numThreads = 1;
    build.env.logLevel = 'error';
  }
  if (urls.cpu) ortForWasm.env.wasm.wasmPaths = { wasm: urls.cpu, ...(urls.cpuLoader ? { mjs: urls.cpuLoader } : {}) };
  if (urls.webgpu) ortForWebGpu.env.wasm.wasmPaths = { wasm: urls.webgpu };
}

/**
 * Every wasm session's options. Between operators onnxruntime's pool threads sleep instead of
 * spinning: on few cores a spinning thread takes the core the page's own work (drawing, the
 * transfers) needs.
 */
const WASM_SESSION_OPTIONS = {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } },
} as const satisfies ortCpu.InferenceSession.SessionOptions;

/** Set by the first wasm session: onnxruntime-web has read its thread count and keeps it. */
let wasmRuntimeStarted = false;

/**
 * The wasm sessions' thread count (`ortWasmThreads`). onnxruntime-web reads it once, when the
 * first wasm session starts its runtime; a different count after that would be ignored, so it
 * is refused.
 */
export function setOrtWasmThreads(threads: number): void {
  const current = ortForWasm.env.wasm.numThreads ?? 1;
  if (wasmRuntimeStarted && threads !== current) {
    throw new Error(`onnxruntime-web's wasm runtime already runs on ${current} thread(s): set the thread count (${threads}) before the first session.`);
  }
  ortForWasm.env.wasm.numThreads = threads;
}

/** A session on the plain wasm build, with every wasm session's options. */
export function createWasmSession(bytes: Uint8Array): Promise<ortCpu.InferenceSession> {
  wasmRuntimeStarted = true;
  return ortForWasm.InferenceSession.create(bytes, WASM_SESSION_OPTIONS);
}

/** The wasm sessions' thread count in words ("2 threads"), for the backend lines the studio shows. */
export function ortWasmThreadsText(): string {
  const threads = ortForWasm.env.wasm.numThreads ?? 1;
  return threads === 1 ? '1 thread' : `${threads} threads`;
}

/**
 * Bytes of the largest single buffer the model needs on the GPU, estimated from its
 * configuration (0 when the architecture is unknown: the trial run then decides).
 * UNETR and SwinUNETR: the decoder's last concatenation holds 2·feature_size channels at the
 * full input resolution. SwinUNETR: stage 1's attention matrix, windows × heads × (tokens per
 * window)², with MONAI's defaults (window 7, patch 2) where the configuration is silent.
 */
export function largestBufferBytes(manifest: Pick<ModelManifest, 'architecture' | 'inputSize' | 'config'>): number {
  const [d, h, w] = manifest.inputSize;
  const config = manifest.config ?? {};
  const featureSize = numberOr(config.feature_size, manifest.architecture === 'UNETR' ? 16 : 48);
  const concat = d * h * w * 2 * featureSize * bytesPerFloat;
  if (manifest.architecture === 'UNETR') return concat;
  if (manifest.architecture === 'SwinUNETR') {
    const window = numberOr(config.window_size, MONAI_SWIN_WINDOW);
    const patch = numberOr(config.patch_size, MONAI_SWIN_PATCH);
    const heads = Array.isArray(config.num_heads) ? numberOr(config.num_heads[0], 3) : 3;
    // Stage 1 runs on the patch grid, padded up to whole windows (MONAI needs inputs divisible
    // by 32, so the grid is never smaller than a window).
    const windows = [d, h, w].reduce((n, size) => n * Math.ceil(size / patch / window), 1);
    const attention = windows * heads * window ** 6 * bytesPerFloat;
    return Math.max(concat, attention);
  }
  return 0;
}

/** MONAI SwinUNETR's constructor defaults. */
const MONAI_SWIN_WINDOW = 7;
const MONAI_SWIN_PATCH = 2;

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export type WebGpuProbe =
  | { readonly ok: true; readonly device: GPUDevice; readonly adapter: AdapterReport; readonly gpuAdapter: GPUAdapter }
  | { readonly ok: false; readonly reason: string };

/** Limits ORT's WebGPU kernels use; we ask for the adapter's maximum of each. */
const requestedLimits = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Optional features ORT's WebGPU provider uses when present. */
const optionalFeatures: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Opens a device on the best adapter, with the adapter's largest limits. */
export async function probeWebGpu(gpu: GPU | undefined = globalThis.navigator?.gpu): Promise<WebGpuProbe> {
  if (!gpu) return { ok: false, reason: 'WebGPU is not available in this browser' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { ok: false, reason: `no WebGPU adapter (${messageOf(error)})` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter (GPU blocklisted or disabled)' };
  const { limits } = adapter;
  const report: AdapterReport = {
    vendor: adapter.info.vendor,
    architecture: adapter.info.architecture,
    description: adapter.info.description,
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    software: isSoftwareAdapterInfo(adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }),
  };
  const requiredLimits: Record<string, number> = {};
  for (const name of requestedLimits) requiredLimits[name] = limits[name];
  try {
    const device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: optionalFeatures.filter((f) => adapter.features.has(f)),
    });
    return { ok: true, device, adapter: report, gpuAdapter: adapter };
  } catch (error) {
    return { ok: false, reason: `the GPU refused a device (${messageOf(error)})` };
  }
}

/** Why a model's largest buffer does not fit this adapter, or null when it does. */
export function bufferShortfall(adapter: AdapterReport, bufferBytes: number): string | null {
  const fits = Math.min(adapter.maxBufferSize, adapter.maxStorageBufferBindingSize);
  return bufferBytes > fits ? `the GPU's largest buffer (${mib(fits)}) is smaller than this model needs (${mib(bufferBytes)})` : null;
}

/**
 * The worker's one GPU device, shared by every session (and later the training engine).
 * Opened on first use; after a device loss the next caller opens a new one.
 */
let sharedDevice: Promise<WebGpuProbe> | undefined;

export function webGpuDevice(): Promise<WebGpuProbe> {
  if (!sharedDevice) {
    const opened = probeWebGpu();
    sharedDevice = opened;
    void opened.then((probe) => {
      // A failed probe is not kept: WebGPU may be back next time (a GPU process restart).
      if (!probe.ok) sharedDevice = undefined;
      else void probe.device.lost.then(() => sharedDevice === opened && (sharedDevice = undefined));
    });
  }
  return sharedDevice;
}

export interface OrtWebOptions {
  readonly preference: OrtWebPreference;
  /** Model input [D, H, W] for the trial run. */
  readonly inputSize: Dims3;
  /** From `largestBufferBytes`. */
  readonly bufferBytes: number;
  /** Why wasm was asked for, when `preference` is `wasm`. */
  readonly forcedReason?: string;
  /**
   * Run one trial window before settling on WebGPU (default true). Only a caller that runs
   * and checks the model itself straight away (the parity page) may skip it.
   */
  readonly trialRun?: boolean;
}

/**
 * The shared GPU device inference may use under `preference`, or why not: `auto` passes over a
 * software adapter, on which the CPU (wasm) path is faster.
 */
export async function inferenceGpu(preference: Exclude<OrtWebPreference, 'wasm'>, device: () => Promise<WebGpuProbe> = webGpuDevice): Promise<WebGpuProbe> {
  const gpu = await device();
  if (gpu.ok && preference === 'auto' && gpu.adapter.software) {
    return { ok: false, reason: `${adapterName(gpu.adapter)} is a software renderer, not a GPU, and slower than the CPU path (choose WebGPU under Compute to use it anyway)` };
  }
  return gpu;
}

/** Builds a session for `modelBytes` (already prepared for the web) on the best provider. */
export async function createOrtWebBackend(modelBytes: Uint8Array, options: OrtWebOptions): Promise<OrtWebBackend> {
  if (options.preference === 'wasm') {
    return wasmBackend(modelBytes, options.forcedReason ?? 'wasm was selected in the settings');
  }
  const gpu = await inferenceGpu(options.preference);
  if (!gpu.ok) return wasmBackend(modelBytes, `WebGPU not used: ${gpu.reason}`);
  const shortfall = bufferShortfall(gpu.adapter, options.bufferBytes);
  if (shortfall) return wasmBackend(modelBytes, `WebGPU not used: ${shortfall}`);
  let session: ortGpu.InferenceSession | undefined;
  try {
    session = await ortForWebGpu.InferenceSession.create(modelBytes, {
      executionProviders: [{ name: 'webgpu', device: gpu.device }],
      graphOptimizationLevel: 'all',
    });
    const lost = gpu.device.lost.then((info) => `WebGPU device lost (${info.reason}): ${info.message}`);
    const backend = sessionBackend('webgpu', ortForWebGpu, session, `WebGPU on ${adapterName(gpu.adapter)}`, lost, gpu.adapter);
    if (options.trialRun ?? true) await trialRun(backend, options.inputSize);
    return backend;
  } catch (error) {
    await session?.release().catch(() => undefined);
    return wasmBackend(modelBytes, `WebGPU failed on this model (${messageOf(error)})`);
  }
}

async function wasmBackend(modelBytes: Uint8Array, reason: string): Promise<OrtWebBackend> {
  const session = await createWasmSession(modelBytes);
  return sessionBackend('wasm', ortForWasm, session, `${reason}; wasm on ${ortWasmThreadsText()}`, new Promise<string>(() => undefined));
}

function sessionBackend(
  name: 'webgpu' | 'wasm',
  ort: OrtBuild,
  session: ortCpu.InferenceSession,
  reason: string,
  lost: Promise<string>,
  adapter?: AdapterReport,
): OrtWebBackend {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  let lostMessage: string | undefined;
  void lost.then((message) => (lostMessage = message));
  // An ORT session runs one call at a time; queue callers instead of failing them.
  let queue: Promise<unknown> = Promise.resolve();
  const runOnce = async (input: Float32Array, dims: Dims3): Promise<Float32Array> => {
    if (lostMessage) throw new Error(lostMessage);
    const feeds = { [inputName]: new ort.Tensor('float32', input, [1, 1, ...dims]) };
    const outputs = await session.run(feeds);
    const logits = outputs[outputName];
    try {
      return new Float32Array((await logits.getData()) as Float32Array);
    } finally {
      logits.dispose();
    }
  };
  return {
    name,
    reason,
    adapter,
    lost,
    run(input, dims) {
      const result = queue.then(() => runOnce(input, dims));
      queue = result.catch(() => undefined);
      return result;
    },
    async dispose() {
      await queue;
      await session.release();
    },
  };
}

/** One window of a fixed pseudo-random input: the output must come back finite. */
async function trialRun(backend: InferenceBackend, dims: Dims3): Promise<void> {
  const input = new Float32Array(dims[0] * dims[1] * dims[2]);
  let state = 1;
  for (let i = 0; i < input.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0; // LCG: reproducible, no Math.random
    input[i] = state / 2 ** 31 - 1;
  }
  const logits = await backend.run(input, dims);
  const bad = logits.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`trial run gave a non-finite logit at index ${bad}`);
}

function adapterName(adapter: AdapterReport): string {
  const name = [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ');
  return name || 'an unnamed adapter';
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
