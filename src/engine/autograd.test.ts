/** Tape semantics, ownership and the optimisers on the float64 backend. */
import { describe, expect, it } from 'vitest';
import {
  Adam, AdamW, add, backward, conv3d, createCpuEngine, diceLoss, DisposedError, instanceNorm, keep, leakyRelu, linear, mul, noGrad, oneHot, polyLr,
  randnArray, reshape, ShapeError, sum, tidy, type Tensor,
} from './index';
import { trainStraightAndResumed } from './testing/resume';

const e = createCpuEngine();

describe('autograd tape', () => {
  it('accumulates gradients across backward calls and through shared inputs', async () => {
    const x = e.param([1, 2, 3], [3], 'x');
    const l1 = tidy(() => sum(mul(x, x))); // d/dx = 2x
    backward(l1);
    const l2 = tidy(() => sum(mul(x, x)));
    backward(l2);
    expect(Array.from(await x.grad!.data())).toEqual([4, 8, 12]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    l1.dispose();
    l2.dispose();
    x.dispose();
  });

  it('gives frozen tensors no gradient and skips their backward work', async () => {
    const w = e.tensor([1, 2, 3, 4, 5, 6], [2, 3], { name: 'frozen' });
    const a = e.param([0.5, -0.5], [2], 'trainable bias');
    const x = e.tensor([1, 1, 1], [1, 3]);
    const l = tidy(() => sum(linear(x, w, a)));
    backward(l);
    expect(w.grad).toBeNull();
    expect(Array.from(await a.grad!.data())).toEqual([1, 1]);
    for (const t of [w, a, x, l]) t.dispose();
  });

  it('frees the graph on backward: a second backward through it fails clearly', () => {
    const x = e.param([1, 2], [2]);
    const l = sum(mul(x, x));
    backward(l);
    expect(() => backward(l)).toThrow(DisposedError);
    l.dispose();
    x.dispose();
  });

  it('noGrad records nothing', () => {
    const x = e.param([1, 2], [2]);
    const y = noGrad(() => mul(x, x));
    expect(y.node).toBeNull();
    y.dispose();
    x.dispose();
  });

  it('refuses use after dispose', () => {
    const x = e.tensor([1], [1]);
    x.dispose();
    expect(() => mul(x, x)).toThrow(DisposedError);
  });
});

/** A tiny conv net training step; returns the loss. */
function step(params: Tensor[], opt: Adam, x: Tensor, target: Tensor): Tensor {
  const [w1, w2, b2] = params;
  const loss = tidy(() => {
    const h = leakyRelu(instanceNorm(conv3d(x, w1, null, { padding: 1 })));
    const logits = conv3d(h, w2, b2);
    return diceLoss(logits, target);
  });
  backward(loss);
  opt.step();
  opt.zeroGrad();
  return loss;
}

describe('memory ownership', () => {
  it('a training step leaks nothing: live storages and bytes are equal after N steps', async () => {
    const w1 = e.param(randnArray(108, 1), [4, 1, 3, 3, 3], 'w1');
    const w2 = e.param(new Float64Array(12).map((_, i) => Math.cos(i)), [3, 4, 1, 1, 1], 'w2');
    const b2 = e.param([0, 0, 0], [3], 'b2');
    const x = e.randn([1, 1, 4, 4, 4], { seed: 3 });
    const target = oneHot(e, Array.from({ length: 64 }, (_, i) => i % 3), [1, 4, 4, 4], 3);
    const opt = new Adam([w1, w2, b2], { lr: 0.01, amsgrad: true, weightDecay: 1e-5 });
    const losses: number[] = [];
    step([w1, w2, b2], opt, x, target).dispose(); // first step allocates optimiser state
    const before = e.memory();
    for (let i = 0; i < 5; i++) {
      const l = step([w1, w2, b2], opt, x, target);
      losses.push(await l.item());
      l.dispose();
    }
    const after = e.memory();
    expect(after.liveStorages).toBe(before.liveStorages);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(losses[4]).toBeLessThan(losses[0]);
    opt.dispose();
    for (const t of [w1, w2, b2, x, target]) t.dispose();
  });

  it('tidy disposes temporaries, returns results to the caller, and keep() escapes', () => {
    const start = e.memory().liveStorages;
    let kept: Tensor | null = null;
    const out = tidy(() => {
      const a = e.ones([2, 2]);
      kept = keep(mul(a, a));
      return { r: reshape(mul(a, a), [4]) };
    });
    expect(e.memory().liveStorages).toBe(start + 2);
    out.r.dispose();
    kept!.dispose();
    expect(e.memory().liveStorages).toBe(start);
  });
});

describe('optimisers follow torch semantics', () => {
  // Expected parameters from /usr/bin/python3 torch 1.13 (float64), four steps on
  // loss = Σ c·p² + d·p with c = [1, .5, −.25, 2], d = [.1, −.3, .2, 1], p0 = [.5, −1.25, 2, 0].
  const torchRef: Record<string, number[][]> = {
    adamAmsgradL2: [
      [0.40000000090497734, -1.15000000064, 2.0999999987179487, -0.09999999900000002],
      [0.30101583006284854, -1.0502297545060202, 2.20011234293084, -0.1957274207218043],
      [0.20411703494580388, -0.9508667841818959, 2.3004061674971377, -0.2800976575585056],
      [0.11078470563450689, -0.8521087063619446, 2.400946239293735, -0.342822271365891],
    ],
    adam: [
      [0.4500000454545041, -1.2000000322580437, 2.049999937500078, -0.04999995000005001],
      [0.4001962412722749, -1.1500547442292115, 2.10003892831195, -0.09936657630424256],
      [0.35075054406431333, -1.100202476940229, 2.150140788619076, -0.14738482543120013],
      [0.3018532758566324, -1.0504825095117638, 2.20032717680073, -0.19298576442019635],
    ],
    adamw: [
      [0.39500000090909093, -1.1375000006451614, 2.07999999875, -0.09999999900000002],
      [0.292149376328435, -1.026392005847474, 2.1592973775678233, -0.19474901554862545],
      [0.19258339932396906, -0.9168678317377882, 2.2379585423973753, -0.2774236768250358],
      [0.09786335053357495, -0.8091399919922264, 2.3160451839488454, -0.33831688092146106],
    ],
  };
  const make: Record<string, (p: Tensor) => Adam> = {
    adamAmsgradL2: (p) => new Adam([p], { lr: 0.1, weightDecay: 0.01, amsgrad: true }),
    adam: (p) => new Adam([p], { lr: 0.05, betas: [0.8, 0.9], eps: 1e-6 }),
    adamw: (p) => new AdamW([p], { lr: 0.1, weightDecay: 0.1 }),
  };
  for (const name of Object.keys(torchRef)) {
    it(name, async () => {
      const p = e.param([0.5, -1.25, 2, 0], [4], 'p');
      const c = e.tensor([1, 0.5, -0.25, 2], [4]);
      const d = e.tensor([0.1, -0.3, 0.2, 1], [4]);
      const opt = make[name](p);
      for (const ref of torchRef[name]) {
        const l = tidy(() => sum(mul(p, add(mul(c, p), d))));
        backward(l);
        l.dispose();
        opt.step();
        opt.zeroGrad();
        const got = await p.data();
        ref.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-14));
      }
      opt.dispose();
      for (const t of [p, c, d]) t.dispose();
    });
  }

  for (const [name, make] of [
    ['Adam (amsgrad, L2)', (ps: Tensor[]) => new Adam(ps, { lr: 0.01, amsgrad: true, weightDecay: 1e-5 })],
    ['AdamW', (ps: Tensor[]) => new AdamW(ps, { lr: 0.02, weightDecay: 0.1 })],
  ] as const) {
    it(`${name}: 5 steps straight equal 2 steps + saveState + a fresh optimiser + loadState + 3 steps, exactly`, async () => {
      const { straight, resumed, saved } = await trainStraightAndResumed(e, make, 5, 2);
      expect(saved.t).toBe(2);
      expect(saved.slots.map((s) => s && s.m.constructor.name)).toEqual(['Float64Array', 'Float64Array', 'Float64Array', null]); // "unused" has no gradient
      expect(saved.slots[0]!.vmax === null).toBe(name === 'AdamW');
      // The same float64 arithmetic in the same order: bit for bit.
      resumed.forEach((r, i) => expect(r).toEqual(straight[i]));
      // A resume that starts Adam afresh is a different run: the property above is not vacuous.
      const afresh = await trainStraightAndResumed(e, make, 5, 2, { load: false });
      expect(afresh.resumed[0]).not.toEqual(straight[0]);
    });
  }

  it('loadState refuses a state of another optimiser with messages that say what differs', async () => {
    const p = e.param([1, 2, 3], [3], 'p');
    const q = e.param([1, 2, 3, 4], [2, 2], 'q');
    const opt = new Adam([p, q], { lr: 0.1, amsgrad: true });
    const l = tidy(() => add(sum(mul(p, p)), sum(mul(q, q))));
    backward(l);
    l.dispose();
    opt.step();
    const saved = await opt.saveState();
    expect(() => new Adam([p], { lr: 0.1, amsgrad: true }).loadState(saved)).toThrow(/holds 2 parameters, this optimiser has 1/);
    expect(() => new Adam([q, p], { lr: 0.1, amsgrad: true }).loadState(saved)).toThrow(/parameter 0 .* has shape \[2,2\], the saved state \[3\]/);
    expect(() => new Adam([p, q], { lr: 0.1 }).loadState(saved)).toThrow(/saved with amsgrad, this optimiser runs without it/);
    const short = { ...saved, slots: [{ ...saved.slots[0]!, v: new Float64Array(2) }, saved.slots[1]] };
    expect(() => new Adam([p, q], { lr: 0.1, amsgrad: true }).loadState(short)).toThrow(ShapeError);
    expect(() => new Adam([p, q], { lr: 0.1, amsgrad: true }).loadState({ ...saved, t: -1 })).toThrow(/non-negative integer/);
    opt.dispose();
    p.dispose();
    q.dispose();
  });

  it('poly schedule: base·(1 − epoch/max)^0.9, optionally rounded to 8 decimals', () => {
    expect(polyLr(1e-3, 0, 1000)).toBe(1e-3);
    expect(polyLr(1e-3, 500, 1000)).toBeCloseTo(1e-3 * 0.5 ** 0.9, 15);
    expect(polyLr(1e-3, 999, 1000, { decimals: 8 })).toBe(Math.round(1e-3 * 0.001 ** 0.9 * 1e8) / 1e8);
    expect(() => polyLr(1e-3, 1001, 1000)).toThrow(RangeError);
  });
});

