/**
 * reduceSum's three loop orders against a naive loop that sums each output's terms from 0 in
 * C order over the reduced axes; every order adds the same terms in that order, so they agree bit for bit.
 */
import { describe, expect, it } from 'vitest';
import type { ReduceSpec } from '../backend';
import { stridesOf } from '../shape';
import { reduceSum } from './reduce';
import { uniformArray, offsets } from './testing';

function naive(x: Float64Array, s: ReduceSpec): Float64Array {
  const terms = offsets(s.redShape, s.redStrides);
  return Float64Array.from(offsets(s.outShape, s.outStrides), (o) => {
    let acc = 0;
    for (const r of terms) acc += x[o + r];
    return acc;
  });
}

/** Sum of a contiguous array of `shape` over `axes`. */
function specOf(shape: number[], axes: number[], strides = stridesOf(shape)): ReduceSpec {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return {
    outShape: kept.map((i) => shape[i]),
    outStrides: kept.map((i) => strides[i]),
    redShape: axes.map((i) => shape[i]),
    redStrides: axes.map((i) => strides[i]),
  };
}

describe('cpu reduceSum', () => {
  const cases: [string, number[], number[]][] = [
    ['innermost contiguous axes (one row per output)', [3, 4, 5, 6], [2, 3]],
    ['innermost axis with short rows', [7, 3], [1]],
    ['outer axes (output rows added per reduced index)', [5, 4, 6], [0]],
    ['outer axes, several', [3, 2, 4, 5], [0, 1]],
    ['outer and inner axes (per output, one row at a time)', [3, 4, 5], [0, 2]],
    ['a middle axis', [3, 4, 5], [1]],
    ['every axis (a scalar)', [3, 4, 5], [0, 1, 2]],
    ['no axis (a copy)', [3, 4], []],
    ['size-1 axes', [1, 4, 1, 5], [0, 2, 3]],
    ['empty reduction', [3, 0, 2], [1]],
  ];
  for (const [name, shape, axes] of cases) {
    it(`${name}: [${shape}] over [${axes}] equals a naive loop`, () => {
      const x = uniformArray(shape.reduce((n, d) => n * d, 1), 1);
      const s = specOf(shape, axes);
      expect(reduceSum(x, s)).toEqual(naive(x, s));
    });
  }

  it('reads a transposed input through its strides', () => {
    // x stored [5, 4, 3], read as [3, 4, 5] (axes reversed), summed over the (now strided) last axis and the first.
    const x = uniformArray(60, 2);
    for (const axes of [[2], [0], [0, 2], [1]]) {
      const s = specOf([3, 4, 5], axes, [1, 3, 12]);
      expect(reduceSum(x, s), `axes ${axes}`).toEqual(naive(x, s));
    }
  });
});
