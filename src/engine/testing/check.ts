/**
 * Test helpers: finite-difference gradient checks on the float64 backend and cross-backend
 * comparisons. Errors are reported relative to max|reference| so one tolerance fits any scale.
 */
import { backward } from '../grad';
import { noGrad } from '../autograd';
import { randnArray, type Engine } from '../engine';
import { mul, sum } from '../index';
import type { Tensor } from '../tensor';

export interface InputSpec {
  shape: readonly number[];
  /** Explicit values; default: N(0,1) from `seed`. */
  data?: ArrayLike<number>;
  /** No gradient for this input (e.g. a one-hot target). */
  constant?: boolean;
}

/** max|a − b| / max(max|b|, floor). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let ref = floor;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return err / ref;
}

export function inputData(specs: readonly InputSpec[], seed: number): Float64Array[] {
  return specs.map((s, i) => (s.data ? Float64Array.from(s.data) : randnArray(s.shape.reduce((a, d) => a * d, 1), seed + 101 * i)));
}

function makeInputs(engine: Engine, specs: readonly InputSpec[], data: readonly Float64Array[]): Tensor[] {
  return specs.map((s, i) => (s.constant ? engine.tensor(data[i], s.shape, { untracked: true }) : engine.param(data[i], s.shape, `in${i}`)));
}

/** Scalar probe loss Σ f(x)·r with fixed random weights r, so every output element matters. */
function probe(engine: Engine, y: Tensor, seed: number): Tensor {
  const r = engine.tensor(randnArray(y.size, seed), y.shape);
  const m = mul(y, r);
  const l = sum(m);
  r.dispose();
  m.dispose();
  return l;
}

export interface RunResult {
  out: Float64Array;
  grads: (Float64Array | null)[];
}

/** Forward `f`, then backward of the probe loss; returns the output and the input gradients. */
export async function runWithGrads(engine: Engine, f: (xs: Tensor[]) => Tensor, specs: readonly InputSpec[], seed: number): Promise<RunResult> {
  const data = inputData(specs, seed);
  const xs = makeInputs(engine, specs, data);
  const y = f(xs);
  const l = probe(engine, y, seed + 7);
  backward(l);
  const out = Float64Array.from(await y.data());
  const grads = await Promise.all(xs.map(async (x) => (x.grad ? Float64Array.from(await x.grad.data()) : null)));
  y.dispose();
  l.dispose();
  for (const x of xs) x.dispose();
  return { out, grads };
}

/**
 * Central finite differences of the probe loss on the float64 engine versus autograd.
 * Returns the worst error over all inputs, relative to max|analytic gradient|.
 */
export async function gradCheck(engine: Engine, f: (xs: Tensor[]) => Tensor, specs: readonly InputSpec[], seed = 1, h = 1e-6): Promise<number> {
  const { grads } = await runWithGrads(engine, f, specs, seed);
  const data = inputData(specs, seed);
  const lossAt = async (vals: Float64Array[]): Promise<number> => {
    const xs = specs.map((s, i) => engine.tensor(vals[i], s.shape));
    const v = noGrad(() => {
      const y = f(xs);
      const l = probe(engine, y, seed + 7);
      y.dispose();
      return l;
    });
    const out = await v.item();
    v.dispose();
    for (const x of xs) x.dispose();
    return out;
  };
  let worst = 0;
  for (let i = 0; i < specs.length; i++) {
    if (specs[i].constant) continue;
    const g = grads[i];
    if (!g) throw new Error(`input ${i} got no gradient`);
    const num = new Float64Array(g.length);
    for (let j = 0; j < g.length; j++) {
      const plus = data.map((d) => d.slice());
      const minus = data.map((d) => d.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      num[j] = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * h);
    }
    worst = Math.max(worst, relErr(g, num));
  }
  return worst;
}
