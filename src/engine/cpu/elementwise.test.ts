/**
 * The per-op elementwise loops and the coalesced broadcast iteration, against a naive loop over
 * every multi-index. Each element is the same one-op expression either way, so they agree bit for bit.
 */
import { describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../backend';
import { stridesOf } from '../shape';
import { binary, unary } from './elementwise';
import { erf, gelu, geluGrad } from './math';
import { coalesce } from './strided';
import { uniformArray, offsets } from './testing';

const LEAK = 0.1;

const binaryRef: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  reluGrad: (x, g) => (x > 0 ? g : 0),
  leakyReluGrad: (x, g) => (x > 0 ? g : LEAK * g),
  geluGrad: (x, g) => g * geluGrad(x),
};

const unaryRef: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  relu: (x) => (x > 0 ? x : 0),
  leakyRelu: (x) => (x > 0 ? x : LEAK * x),
  gelu,
  erf,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  affine: (x) => LEAK * x - 0.5,
};

describe('coalesce', () => {
  it('merges a contiguous operation into one row and keeps broadcast axes apart', () => {
    const shape = [2, 3, 4, 5];
    const st = stridesOf(shape);
    expect(coalesce(shape, st, st)).toEqual({ shape: [120], strides: [[1], [1]] });
    // A per-channel bias [1, 3, 1, 1] over [2, 3, 4, 5]: batch, channel and the merged spatial axes.
    expect(coalesce(shape, st, [0, 1, 0, 0])).toEqual({ shape: [2, 3, 20], strides: [[60, 20, 1], [0, 1, 0]] });
    // Size-1 axes vanish; a scalar space has no axes.
    expect(coalesce([1, 4, 1], [4, 1, 1], [0, 1, 0])).toEqual({ shape: [4], strides: [[1], [1]] });
    expect(coalesce([1, 1], [1, 1])).toEqual({ shape: [], strides: [[]] });
  });
});

describe('cpu binary', () => {
  // [output shape, a's shape, b's shape] (NumPy broadcasting, a and b contiguous in their own shapes).
  const cases: [number[], number[], number[]][] = [
    [[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]], // contiguous with the output: one row
    [[2, 3, 4, 5], [2, 3, 4, 5], [1, 3, 1, 1]], // per-channel bias
    [[2, 3, 4, 5], [1, 3, 4, 5], [2, 3, 4, 5]], // broadcast over the batch (attention-mask style)
    [[2, 3, 4, 5], [2, 3, 4, 1], [1, 1, 1, 5]], // both broadcast, innermost row of stride 0 in a
    [[3, 1, 7], [3, 1, 7], [7]], // size-1 axis and a lower-rank operand
    [[], [], []], // scalars
    [[2, 0, 3], [2, 0, 3], [1, 0, 1]], // empty
  ];
  const bcast = (shape: number[], out: number[]): number[] => {
    const st = stridesOf(shape);
    const off = out.length - shape.length;
    return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
  };
  for (const [out, as, bs] of cases) {
    it(`[${out}] from [${as}] and [${bs}], every op, equals a naive loop`, () => {
      const a = uniformArray(as.reduce((n, d) => n * d, 1), 1, 2);
      const b = uniformArray(bs.reduce((n, d) => n * d, 1), 2, 2);
      const sa = bcast(as, out);
      const sb = bcast(bs, out);
      const ia = offsets(out, sa);
      const ib = offsets(out, sb);
      for (const op of Object.keys(binaryRef) as BinaryOp[]) {
        const want = Float64Array.from(ia, (o, i) => binaryRef[op](a[o], b[ib[i]]));
        expect(binary(op, a, b, out, sa, sb, LEAK), op).toEqual(want);
      }
    });
  }

  it('honours arbitrary (transposed) operand strides', () => {
    const a = uniformArray(12, 3, 2);
    const b = uniformArray(12, 4, 2);
    // a read as the transpose of a [4, 3] array; b contiguous.
    const want = Float64Array.from(offsets([3, 4], [1, 3]), (o, i) => a[o] - b[i]);
    expect(binary('sub', a, b, [3, 4], [1, 3], [4, 1], 0)).toEqual(want);
  });
});

describe('cpu unary', () => {
  it('every op equals the scalar formula', () => {
    const x = uniformArray(37, 5, 2);
    for (const op of Object.keys(unaryRef) as UnaryOp[]) {
      expect(unary(op, x, LEAK, -0.5), op).toEqual(Float64Array.from(x, unaryRef[op]));
    }
  });
});
