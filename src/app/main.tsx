import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { writeNifti } from '../core/io';
import { ortWasmThreads } from '../infer/wasm-threads';
import { cacheSlicesFor } from '../sam/embedding-cache';
import type { BackendPreference } from '../workers/protocol';
import { App } from './App';
import { adapterStore } from './finetune/adapter-store-page';
import { Finetune } from './finetune/finetune';
import { keptCorrectionStore } from './finetune/kept-corrections';
import { useFinetune } from './finetune/store';
import { TrainingClient } from './finetune/training-client';
import { dicomToNifti } from './dicom';
import { downloadBytes } from './download';
import { InferenceClient } from './inference-client';
import { keptOutcomeStore } from './kept-outcomes';
import { keptLabelStore } from './sam/kept-labels';
import { SamClient } from './sam/sam-client';
import { SamTool } from './sam/sam-tool';
import { useSamTool } from './sam/store';
import { initialModelId, localiserManifest, registryModels } from './models';
import { initialState, useStudio } from './store';
import { Studio } from './studio';
import { ScanViewer } from './viewer';
import './styles.css';

const manifestFiles = import.meta.glob('../../models/*.json', { eager: true, import: 'default' });
const models = registryModels(manifestFiles);

// `?backend=wasm` forces the CPU path (tests use it); `?model=<id>` picks a model; `?threads=<n>` sets
// the wasm sessions' thread count (benchmarks compare counts).
const params = new URLSearchParams(window.location.search);
const asked = params.get('backend');
const backend: BackendPreference = asked === 'wasm' || asked === 'webgpu' ? asked : 'auto';
useStudio.setState(initialState(initialModelId(models, params.get('model')), backend));
const askedThreads = params.get('threads');
const wasmThreads = ortWasmThreads({
  isolated: globalThis.crossOriginIsolated,
  cores: navigator.hardwareConcurrency,
  ...(askedThreads ? { asked: Number(askedThreads) } : {}),
});

// The prompt tool's embeddings: a share of the device's memory (Chromium says how much; others are assumed 4 GiB).
const samCacheSlices = cacheSlicesFor((navigator as Navigator & { deviceMemory?: number }).deviceMemory);

const viewer = new ScanViewer();
const client = new InferenceClient(
  () => new Worker(new URL('../workers/inference.worker.ts', import.meta.url), { type: 'module' }),
  (message) => studio.deviceLost(message),
  { wasmThreads, samCacheSlices },
);
const studio: Studio = new Studio({
  client,
  viewer,
  store: useStudio,
  models,
  localiser: localiserManifest(manifestFiles),
  modelRequested: models.some((m) => m.id === params.get('model')),
  base: import.meta.env.BASE_URL,
  convertDicom: dicomToNifti,
  writeNifti,
  download: downloadBytes,
  keptOutcomes: keptOutcomeStore,
});

const training = new TrainingClient(
  () => client.port(),
  (reply) => finetune.onReply(reply),
  (message) => finetune.workerLost(message),
);
const finetune: Finetune = new Finetune({
  client: training,
  openStore: adapterStore,
  studio,
  viewer,
  store: useFinetune,
  models,
  base: import.meta.env.BASE_URL,
  backend: () => useStudio.getState().backendPreference,
  download: downloadBytes,
  promptTool: () => samTool,
  kept: keptCorrectionStore,
});
void finetune.init();

const samTool = new SamTool({
  client: new SamClient(() => client.port()),
  viewer,
  studio: { getState: useStudio.getState, openFileKey: () => studio.openFileKey() },
  store: useSamTool,
  writeNifti,
  download: downloadBytes,
  kept: keptLabelStore,
});
// The prompt tool's labels and a pen correction belong to one scan: another scan closes the tool.
// Once the scan's run has settled, both look for what was kept from an earlier session on that
// scan's file (hashing it then takes nothing from the run).
let lookedForKept: object | null = null;
const lookForKept = () => {
  const { scan, phase } = useStudio.getState();
  if (!scan || scan === lookedForKept || phase === 'opening' || phase === 'loading-model' || phase === 'running') return;
  lookedForKept = scan;
  void samTool.lookForKept();
  void finetune.lookForKept();
};
useStudio.subscribe((state, previous) => {
  if (state.scan !== previous.scan) {
    samTool.scanChanged();
    finetune.scanChanged();
  }
  // After the current task: a scan is 'ready' for a moment before its run starts.
  if (state.scan !== previous.scan || state.phase !== previous.phase) setTimeout(lookForKept, 0);
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');
createRoot(root).render(
  <StrictMode>
    <App studio={studio} viewer={viewer} models={models} finetune={finetune} samTool={samTool} />
  </StrictMode>,
);

// Issue 13: the model's session and the brain template are made while the page is idle, so a
// drop waits for neither (the first run reuses both).
const whenIdle = (f: () => void) => ('requestIdleCallback' in window ? window.requestIdleCallback(() => f(), { timeout: 2000 }) : setTimeout(f, 200));
whenIdle(() => void studio.warmUp());
