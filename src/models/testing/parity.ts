/**
 * One fixture case end to end: the model's forward on `input.bin`, the fixtures' Dice loss on
 * `label.bin`, backward, and everything read back to the host for comparison.
 */
import { backward, diceLoss, keep, noGrad, oneHot, reshape, tidy, type Engine, type Tensor } from '../../engine';
import type { ForwardOptions } from '../context';
import type { SegmentationModel } from '../model';
import { readF32, readU8 } from './fixtures';

export interface ParityRun {
  logits: Float64Array;
  loss: number;
  grads: Map<string, Float64Array>;
  inputGrad: Float64Array;
  /** Wall time of forward + loss + backward, ms. */
  ms: number;
}

/** `dir` is the fixture folder holding input.bin and label.bin; `side` the cube size (32 or 64). */
export async function runFixtureCase(engine: Engine, model: SegmentationModel, dir: string, side: number, classes: number, opts: ForwardOptions = {}): Promise<ParityRun> {
  const t0 = performance.now();
  const x = engine.param(readF32(dir, 'input.bin'), [1, 1, side, side, side], 'input');
  const target = oneHot(engine, readU8(dir, 'label.bin'), [1, side, side, side], classes);
  const { y, loss } = tidy(() => {
    const y = model.forward(x, opts);
    return { y, loss: diceLoss(y, target) };
  });
  backward(loss);
  await engine.sync();
  const ms = performance.now() - t0;
  const grads = new Map<string, Float64Array>();
  for (const [name, p] of model.params.entries()) {
    if (!p.grad) throw new Error(`parameter "${name}" got no gradient`);
    grads.set(name, Float64Array.from(await p.grad.data()));
    p.zeroGrad();
  }
  const run: ParityRun = { logits: Float64Array.from(await y.data()), loss: await loss.item(), grads, inputGrad: Float64Array.from(await x.grad!.data()), ms };
  for (const t of [x, target, y, loss]) t.dispose();
  return run;
}

/** A `tap` hook that keeps a handle on each named intermediate so it can be read after the forward. */
export function collectTaps(names: readonly string[]): { tap: NonNullable<ForwardOptions['tap']>; read: () => Promise<Map<string, Float64Array>> } {
  const held = new Map<string, Tensor>();
  return {
    tap: (name, t) => {
      if (names.includes(name)) held.set(name, keep(noGrad(() => reshape(t, t.shape))));
    },
    async read() {
      const out = new Map<string, Float64Array>();
      for (const [name, t] of held) {
        out.set(name, Float64Array.from(await t.data()));
        t.dispose();
      }
      return out;
    },
  };
}
