/**
 * The training loop's guard against divergence, on the float64 engine with a small random
 * UNETR (the loop's mechanics do not depend on the model's size): a NaN entering at step 3
 * stops the run before the optimiser moves, and the checkpoint is the state after step 2. A run
 * stopped and resumed with its checkpoint's optimiser state is the run that never stopped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuEngine } from '../engine';
import { UNETR } from '../models/unetr';
import { baseTrainable, resolveMethod, attachMethod } from '../peft/methods';
import { train } from './loop';
import type { Batch } from './samples';

const SMALL = { inChannels: 1, outChannels: 2, imgSize: 16, featureSize: 4, hiddenSize: 16, mlpDim: 32, numHeads: 2 };

function batch(seed: number, poison = false): Batch {
  const n = 16 ** 3;
  const image = new Float32Array(n);
  const label = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    const x = Math.sin(v * 0.37 + seed);
    image[v] = x;
    label[v] = x > 0.3 ? 1 : 0;
  }
  if (poison) image[123] = Number.NaN;
  return { image, label, size: 1, dims: [16, 16, 16] };
}

describe('training loop', () => {
  const engine = createCpuEngine();
  afterAll(() => engine.dispose());

  it('stops at a non-finite loss, keeps the last good state and leaves the parameters untouched', async () => {
    const shape = new UNETR(engine, SMALL);
    const cfg = resolveMethod(shape, { method: 'lora', rank: 2 });
    const model = UNETR.init(engine, SMALL, 11, { trainable: baseTrainable('unetr', cfg) });
    const adapted = await attachMethod(model, cfg);
    let step = 0;
    const checkpoints: number[] = [];
    const result = await train(adapted, () => batch(step, ++step === 3), { steps: 5, checkpointEvery: 1, onCheckpoint: (c) => void checkpoints.push(c.step) });
    expect(result.status).toBe('non-finite');
    expect(result.message).toMatch(/the loss became NaN at step 3; training stopped and the last good state \(step 2\) was kept/);
    expect(result.reports.map((r) => r.step)).toEqual([1, 2]);
    expect(checkpoints).toEqual([0, 1, 2]);
    expect(result.checkpoint.step).toBe(2);
    // The live tensors still hold exactly the checkpoint: the bad step never reached the optimiser.
    const live = await adapted.trainedState();
    for (const [name, t] of result.checkpoint.state) {
      expect(live.get(name)!.data, name).toEqual(t.data);
      expect(t.data.every(Number.isFinite), name).toBe(true);
    }
    // And the good steps did train: lora_B left zero.
    const b = result.checkpoint.state.get('vit.blocks.0.attn.qkv.lora_B')!.data;
    expect(b.some((v) => v !== 0)).toBe(true);
    adapted.dispose();
    model.dispose();
  });

  it('trains only the method tensors it is told to; the others keep their initial values', async () => {
    const shape = new UNETR(engine, SMALL);
    const cfg = resolveMethod(shape, { method: 'lorapt', trainDecoder: false });
    const model = UNETR.init(engine, SMALL, 14, { trainable: baseTrainable('unetr', cfg) });
    const adapted = await attachMethod(model, cfg);
    const before = await adapted.trainedState();
    const onlySa = (name: string) => name.startsWith('W_sa.');
    expect(adapted.trainable(onlySa)).toHaveLength(3);
    const result = await train(adapted, () => batch(2), { steps: 2, lr: 1e-2, methodTensors: onlySa });
    expect(result.status).toBe('done');
    const after = result.checkpoint.state;
    for (const [name, t] of before) {
      const moved = after.get(name)!.data.some((v, i) => v !== t.data[i]);
      expect(moved, name).toBe(onlySa(name));
    }
    // The held tensors' gradients are dropped each step, not accumulated.
    for (const [name, t] of adapted.adapter!.params) if (!onlySa(name)) expect(t.grad, name).toBeNull();
    adapted.dispose();
    model.dispose();
  });

  it('reports an aborted run with its last checkpoint', async () => {
    const shape = new UNETR(engine, SMALL);
    const cfg = resolveMethod(shape, { method: 'decoder' });
    const model = UNETR.init(engine, SMALL, 12, { trainable: baseTrainable('unetr', cfg) });
    const adapted = await attachMethod(model, cfg);
    const stop = new AbortController();
    const result = await train(adapted, () => batch(1), { steps: 10, onStep: (r) => r.step === 1 && stop.abort(), signal: stop.signal });
    expect(result.status).toBe('aborted');
    expect(result.reports).toHaveLength(1);
    // The state after the last completed step is kept.
    expect(result.checkpoint.step).toBe(1);
    adapted.dispose();
    model.dispose();
  });

  it('reads a stop that arrives as a message (a macrotask) before the next step', async () => {
    const shape = new UNETR(engine, SMALL);
    const cfg = resolveMethod(shape, { method: 'decoder' });
    const model = UNETR.init(engine, SMALL, 13, { trainable: baseTrainable('unetr', cfg) });
    const adapted = await attachMethod(model, cfg);
    const stop = new AbortController();
    // As a worker's Pause: queued as a task while the first step computes. The float64 engine,
    // like the wasm one, resolves its results as microtasks, so only a yield lets it in.
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = () => stop.abort();
    const result = await train(adapted, () => batch(1), {
      steps: 10,
      onStep: (r) => void (r.step === 1 && port1.postMessage('pause')),
      signal: stop.signal,
    });
    port1.close();
    port2.close();
    expect(result.status).toBe('aborted');
    expect(result.reports).toHaveLength(1);
    adapted.dispose();
    model.dispose();
  });

  it("resumed with the checkpoint's optimiser state, a stopped run ends exactly where an unbroken one does", async () => {
    const shape = new UNETR(engine, SMALL);
    const cfg = resolveMethod(shape, { method: 'lora', rank: 2 });
    const open = async () => attachMethod(UNETR.init(engine, SMALL, 13, { trainable: baseTrainable('unetr', cfg) }), cfg);
    const STEPS = 3;
    const unbroken = await open();
    let k = 0;
    const straight = await train(unbroken, () => batch(k++), { steps: STEPS });

    const stopped = await open();
    const stop = new AbortController();
    k = 0;
    const first = await train(stopped, () => batch(k++), { steps: STEPS, saveOptimizer: true, onStep: (r) => r.step === 1 && stop.abort(), signal: stop.signal });
    expect(first).toMatchObject({ status: 'aborted', checkpoint: { step: 1, optimizer: { t: 1 } } });
    const resumed = await train(stopped, () => batch(k++), { steps: STEPS, startStep: 1, optimizer: first.checkpoint.optimizer!, saveOptimizer: true });
    expect(resumed.checkpoint.optimizer?.t).toBe(STEPS);
    // Same float64 arithmetic in the same order on the same live tensors: bit for bit.
    for (const [name, t] of straight.checkpoint.state) expect(resumed.checkpoint.state.get(name)!.data, name).toEqual(t.data);
    expect(straight.checkpoint.optimizer).toBeNull(); // not asked for: no host read

    for (const m of [unbroken, stopped]) {
      m.dispose();
      m.model.dispose();
    }
  });
});
