/**
 * The grouped soft Dice (whole-hippocampus targets for a head/body model) on the float64 CPU
 * engine: identical to the engine's Dice with singleton groups, equal to a direct float64
 * computation with merged groups, and its gradient matches central finite differences.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { backward, createCpuEngine, diceLoss, oneHot, uniformStream } from '../engine';
import { groupedDiceLoss, groupProbabilities } from './grouped-dice';

const SHAPE = [2, 3, 2, 3, 2]; // N, C, D, H, W
const SPATIAL = 12;

function logitsData(seed: number): Float64Array {
  const r = uniformStream(seed);
  return Float64Array.from({ length: 2 * 3 * SPATIAL }, () => 4 * r() - 2);
}
const LABELS = Uint8Array.from({ length: 2 * SPATIAL }, (_, v) => v % 3);

/** Direct float64 reference: softmax, group sums, batch Dice summed over groups. */
function reference(x: Float64Array, labels: Uint8Array, groups: number[][], eps = 1e-5): number {
  const C = 3;
  const G = groups.length;
  const inter = new Float64Array(G);
  const ps = new Float64Array(G);
  const ts = new Float64Array(G);
  for (let n = 0; n < 2; n++) {
    for (let v = 0; v < SPATIAL; v++) {
      const z = [0, 1, 2].map((c) => x[(n * C + c) * SPATIAL + v]);
      const m = Math.max(...z);
      const e = z.map((q) => Math.exp(q - m));
      const s = e.reduce((a, b) => a + b, 0);
      groups.forEach((g, gi) => {
        const p = g.reduce((a, c) => a + e[c] / s, 0);
        const t = groups.findIndex((gg) => gg.includes(labels[n * SPATIAL + v])) === gi ? 1 : 0;
        inter[gi] += p * t;
        ps[gi] += p;
        ts[gi] += t;
      });
    }
  }
  let loss = 0;
  for (let g = 0; g < G; g++) loss += 1 - (2 * inter[g]) / (ps[g] + ts[g] + eps);
  return loss;
}

describe('grouped soft Dice', () => {
  const engine = createCpuEngine();
  afterAll(() => engine.dispose());
  const groupLabels = (groups: number[][]) => Uint8Array.from(LABELS, (c) => groups.findIndex((g) => g.includes(c)));

  it('equals the engine Dice with one class per group', async () => {
    const x = engine.tensor(logitsData(1), SHAPE);
    const t = oneHot(engine, LABELS, [2, 2, 3, 2], 3);
    const a = await groupedDiceLoss(x, t, [[0], [1], [2]]).item();
    const b = await diceLoss(x, t).item();
    expect(Math.abs(a - b)).toBeLessThan(1e-14); // same float64 operations in the same order
  });

  it('matches a direct computation for whole = head ∪ body', async () => {
    const groups = [[0], [1, 2]];
    const data = logitsData(2);
    const x = engine.tensor(data, SHAPE);
    const t = oneHot(engine, groupLabels(groups), [2, 2, 3, 2], 2);
    const p = await groupProbabilities(x, groups).data();
    for (let i = 0; i < p.length; i++) expect(p[i]).toBeGreaterThanOrEqual(0);
    expect(Math.abs((await groupedDiceLoss(x, t, groups).item()) - reference(data, LABELS, groups))).toBeLessThan(1e-12); // float64 rounding only
  });

  it('has the gradient of central finite differences', async () => {
    const groups = [[0], [1, 2]];
    const data = logitsData(3);
    const t = oneHot(engine, groupLabels(groups), [2, 2, 3, 2], 2);
    const x = engine.tensor(data, SHAPE, { requiresGrad: true });
    backward(groupedDiceLoss(x, t, groups));
    const g = await x.grad!.data();
    const h = 1e-6;
    for (const i of [0, 5, 13, 30, 47, 71]) {
      const plus = Float64Array.from(data);
      const minus = Float64Array.from(data);
      plus[i] += h;
      minus[i] -= h;
      const fd = (reference(plus, LABELS, groups) - reference(minus, LABELS, groups)) / (2 * h);
      // Central differences with h = 1e-6 in float64: truncation O(h²) and rounding ~1e-10/h.
      expect(Math.abs(g[i] - fd)).toBeLessThan(1e-7);
    }
  });

  it('refuses groups that do not partition the classes', () => {
    const x = engine.tensor(logitsData(4), SHAPE);
    expect(() => groupProbabilities(x, [[0], [1]])).toThrow(/cover 2 of the model's 3 classes/);
    expect(() => groupProbabilities(x, [[0], [1, 1, 2]])).toThrow(/class 1 is in two groups/);
    expect(() => groupProbabilities(x, [[0], [1, 3]])).toThrow(/outside 0..2/);
  });
});
