/**
 * Float64 sum over strided axes. Every output accumulates its terms from 0 in C order over the
 * reduced axes, whichever loop order runs, so the result is the same bit for bit; the loop order
 * only picks the inner loop with the smaller memory step: reduced axes innermost walk each
 * output's terms as one row, reduced axes outer (bias gradients, batch sums) add each term to a
 * whole row of outputs.
 */
import type { ReduceSpec } from '../backend';
import { sizeOf } from '../shape';
import type { HostArray } from './elementwise';
import { coalesce, forEachRow } from './strided';

export function reduceSum(x: Float64Array, spec: ReduceSpec): Float64Array {
  const y = new Float64Array(sizeOf(spec.outShape));
  reduceSumInto(x, y, spec);
  return y;
}

/**
 * `reduceSum` into a given output, which must start zeroed. On float32 arrays the sums that
 * run per output accumulate in float64 (rounded once); those that add whole rows of terms
 * (reduced axes outer) accumulate in the float32 output, in the same fixed order.
 */
export function reduceSumInto(x: HostArray, y: HostArray, spec: ReduceSpec): void {
  const out = coalesce(spec.outShape, spec.outStrides);
  const red = coalesce(spec.redShape, spec.redStrides);
  const os = out.strides[0];
  const rs = red.strides[0];
  const redRow = red.shape.length ? red.shape[red.shape.length - 1] : 1;
  const outStep = out.shape.length ? os[os.length - 1] : Infinity;
  const redStep = red.shape.length ? rs[rs.length - 1] : Infinity;
  if (outStep < redStep) {
    // Per reduced index, in C order: add its term to every output, one output row at a time.
    forEachRow(red.shape, rs, rs, 0, 0, (_o, r0, _r, m, dr) => {
      for (let j = 0; j < m; j++) {
        forEachRow(out.shape, os, os, r0 + j * dr, 0, (o, x0, _b, n, dx) => {
          for (let i = 0; i < n; i++) y[o + i] += x[x0 + i * dx];
        });
      }
    });
  } else if (red.shape.length <= 1) {
    // The reduced axes coalesce to one row (dr = 1 when innermost and contiguous): a plain loop per output.
    const dr = red.shape.length ? rs[0] : 0;
    forEachRow(out.shape, os, os, 0, 0, (o, base, _b, n, dOut) => {
      for (let i = 0; i < n; i++) {
        const r0 = base + i * dOut;
        let acc = 0;
        for (let j = 0; j < redRow; j++) acc += x[r0 + j * dr];
        y[o + i] = acc;
      }
    });
  } else {
    // Per output: its terms, one reduced row at a time.
    forEachRow(out.shape, os, os, 0, 0, (o, base, _b, n, dOut) => {
      for (let i = 0; i < n; i++) {
        let acc = 0;
        forEachRow(red.shape, rs, rs, base + i * dOut, 0, (_o, r0, _r, m, dr) => {
          for (let j = 0; j < m; j++) acc += x[r0 + j * dr];
        });
        y[o + i] = acc;
      }
    });
  }
}
