/**
 * Odometer over a C-order index space with one or two strided operands: calls `row` once per
 * innermost row with the operands' start offsets, so kernels keep a tight inner loop.
 */
export type RowFn = (outStart: number, a0: number, b0: number, n: number, da: number, db: number) => void;

export function forEachRow(shape: readonly number[], sa: readonly number[], sb: readonly number[], a0: number, b0: number, row: RowFn): void {
  const r = shape.length;
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  if (r === 0) {
    row(0, a0, b0, 1, 0, 0);
    return;
  }
  const n = shape[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  let oa = a0;
  let ob = b0;
  for (let out = 0; out < total; out += n) {
    row(out, oa, ob, n, sa[r - 1], sb[r - 1]);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < shape[d]) break;
      oa -= sa[d] * shape[d];
      ob -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** A C-order index space with one stride list per operand, as `coalesce` returns it. */
export interface Coalesced {
  readonly shape: number[];
  readonly strides: number[][];
}

/**
 * The same index space with size-1 axes dropped and adjacent axes merged wherever every operand
 * steps through them as one (outer stride = inner stride × inner size), so the odometer visits
 * the same offsets in the same order in fewer, longer rows (a contiguous operation becomes one row).
 */
export function coalesce(shape: readonly number[], ...strides: (readonly number[])[]): Coalesced {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}
