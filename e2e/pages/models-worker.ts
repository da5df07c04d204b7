/**
 * Runs in a module worker (as training will): the fixture `unetr_tiny` weights loaded by name
 * into Seahorse's UNETR on WebGPU, one forward on `input.bin`, the fixtures' Dice loss on
 * `label.bin`, compared with the float64 reference logits and loss.
 */
import { createWebGPUEngine, diceLoss, noGrad, oneHot, requestEngineDevice } from '../../src/engine';
import { indexedWeightSource, UNETR, type WeightIndex } from '../../src/models';

export interface ModelsCheck {
  readonly adapter: string;
  /** max |logit − reference| and ‖logits − reference‖₂ / ‖reference‖₂. */
  readonly maxAbs: number;
  readonly relL2: number;
  /** |loss − float64 reference loss|. */
  readonly lossErr: number;
  readonly forwardMs: number;
}

const DIR = '/fixtures/unetr_tiny';

async function bytesOf(name: string): Promise<Uint8Array> {
  const r = await fetch(`${DIR}/${name}`);
  if (!r.ok) throw new Error(`${DIR}/${name} answered HTTP ${r.status} (are the fixtures served?)`);
  return new Uint8Array(await r.arrayBuffer());
}

const floats = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);

async function run(): Promise<ModelsCheck> {
  const [index, bin, input, label, logitsRef, lossJson] = await Promise.all([
    bytesOf('weights.json').then((b) => JSON.parse(new TextDecoder().decode(b)) as WeightIndex),
    bytesOf('weights.bin'),
    bytesOf('input.bin').then(floats),
    bytesOf('label.bin'),
    bytesOf('logits.bin').then(floats),
    bytesOf('loss.json').then((b) => JSON.parse(new TextDecoder().decode(b)) as { loss_float64: number }),
  ]);
  const dev = await requestEngineDevice(navigator.gpu);
  const engine = createWebGPUEngine(dev);
  const model = UNETR.load(engine, { inChannels: 1, outChannels: 3, imgSize: 32, featureSize: 8, hiddenSize: 64, mlpDim: 128, numHeads: 4 }, indexedWeightSource(index, bin));
  const x = engine.tensor(input, [1, 1, 32, 32, 32], { name: 'input' });
  const target = oneHot(engine, label, [1, 32, 32, 32], 3);
  const t0 = performance.now();
  const y = noGrad(() => model.forward(x));
  const logits = await y.data();
  const forwardMs = performance.now() - t0;
  const loss = noGrad(() => diceLoss(y, target));
  const lossErr = Math.abs((await loss.item()) - lossJson.loss_float64);
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  logits.forEach((v, i) => {
    maxAbs = Math.max(maxAbs, Math.abs(v - logitsRef[i]));
    num += (v - logitsRef[i]) ** 2;
    den += logitsRef[i] ** 2;
  });
  for (const t of [x, target, y, loss, model]) t.dispose();
  engine.dispose();
  dev.device.destroy();
  return { adapter: dev.description, maxAbs, relL2: Math.sqrt(num / den), lossErr, forwardMs };
}

self.onmessage = async () => {
  try {
    self.postMessage({ ok: true, result: await run() });
  } catch (e) {
    self.postMessage({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
};
