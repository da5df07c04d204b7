/** Runs one function with gradients on two engines (webgpu vs the float64 reference). */
import type { Engine } from '../engine';
import type { Tensor } from '../tensor';
import { relErr, runWithGrads, type InputSpec } from './check';

export interface Comparison {
  /** Forward error relative to max|reference output|. */
  out: number;
  /** Worst input-gradient error, each relative to max|reference gradient|. */
  grad: number;
}

export async function compareEngines(test: Engine, ref: Engine, f: (xs: Tensor[]) => Tensor, specs: readonly InputSpec[], seed = 1): Promise<Comparison> {
  const a = await runWithGrads(test, f, specs, seed);
  const b = await runWithGrads(ref, f, specs, seed);
  let grad = 0;
  b.grads.forEach((g, i) => {
    if (!g) return;
    const t = a.grads[i];
    if (!t) throw new Error(`input ${i}: no gradient on ${test.kind}`);
    grad = Math.max(grad, relErr(t, g));
  });
  return { out: relErr(a.out, b.out), grad };
}
