/**
 * The t-product of third-order tensors (Kilmer–Martin), in the real domain, as fixtures §C and
 * peft-methods.md §2.8 define it:
 *   (A * B)_j = Σ_a A_a · B_{(j−a) mod n3}            (slice-wise matrix products, circular in j)
 *   (Aᵀ)_0 = A_0ᵀ,  (Aᵀ)_j = A_{n3−j}ᵀ                  (tensor transpose)
 * Two forms: host float64 functions (initialisation, merging, tests) and engine ops with
 * autograd (`tproductOp`, `tproductTransposedSlices`), where the circulant is a row gather, so
 * the product is one batched matmul and its gradient flows into both operands.
 */
import { gatherRows, matmul, permute, reshape, tidy, type IndexTensor, type Tensor } from '../engine';
import { PeftConfigError } from './errors';

/** A real third-order tensor (n3, rows, cols), C order: slice j, row i, column c at (j·rows + i)·cols + c. */
export interface Tensor3 {
  readonly n3: number;
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function tensor3(n3: number, rows: number, cols: number, data?: ArrayLike<number>): Tensor3 {
  const n = n3 * rows * cols;
  if (data && data.length !== n) throw new RangeError(`tensor3: ${data.length} values for (${n3}, ${rows}, ${cols})`);
  return { n3, rows, cols, data: data ? Float64Array.from(data) : new Float64Array(n) };
}

/** Tensor transpose: slice j of the result is slice (n3 − j) mod n3 of A, transposed. */
export function ttranspose(a: Tensor3): Tensor3 {
  const out = tensor3(a.n3, a.cols, a.rows);
  for (let j = 0; j < a.n3; j++) {
    const src = ((a.n3 - j) % a.n3) * a.rows * a.cols;
    const dst = j * a.rows * a.cols;
    for (let i = 0; i < a.rows; i++) for (let c = 0; c < a.cols; c++) out.data[dst + c * a.rows + i] = a.data[src + i * a.cols + c];
  }
  return out;
}

/** A * B for A (n3, p, q), B (n3, q, s). Cost n3²·p·q·s multiply–adds. */
export function tproduct(a: Tensor3, b: Tensor3): Tensor3 {
  if (a.n3 !== b.n3 || a.cols !== b.rows) throw new RangeError(`tproduct: (${a.n3}, ${a.rows}, ${a.cols}) * (${b.n3}, ${b.rows}, ${b.cols})`);
  const { n3, rows: p, cols: q } = a;
  const s = b.cols;
  const out = tensor3(n3, p, s);
  for (let j = 0; j < n3; j++) {
    const o = out.data.subarray(j * p * s, (j + 1) * p * s);
    for (let t = 0; t < n3; t++) {
      const A = a.data.subarray(t * p * q, (t + 1) * p * q);
      const jb = (((j - t) % n3) + n3) % n3;
      const B = b.data.subarray(jb * q * s, (jb + 1) * q * s);
      for (let i = 0; i < p; i++) {
        const row = i * s;
        for (let k = 0; k < q; k++) {
          const aik = A[i * q + k];
          if (aik === 0) continue;
          const bo = k * s;
          for (let c = 0; c < s; c++) o[row + c] += aik * B[bo + c];
        }
      }
    }
  }
  return out;
}

/**
 * Circular gather indices for the engine form: for each output slice j in `slices`, rows
 * j·n3 + a pick slice (j − a) mod n3 of B — or, for B = Vᵀ, slice (a − j) mod n3 of V.
 */
export function circulantIndex(n3: number, transposed: boolean, slices: readonly number[] = [...Array(n3).keys()]): Int32Array {
  const idx = new Int32Array(slices.length * n3);
  slices.forEach((j, s) => {
    for (let a = 0; a < n3; a++) idx[s * n3 + a] = (((transposed ? a - j : j - a) % n3) + n3) % n3;
  });
  return idx;
}

function check3(t: Tensor, what: string): [number, number, number] {
  if (t.rank !== 3) throw new PeftConfigError(`t-product: ${what} ${t.describe()} must be (n3, rows, cols)`);
  return [t.shape[0], t.shape[1], t.shape[2]];
}

/** The left operand A (n3, p, q) laid out as [p, n3·q] (slice a in columns a·q…), the form every circulant product takes. */
export function unfoldLeft(a: Tensor): Tensor {
  const [n3, p, q] = check3(a, 'left operand');
  return tidy(() => reshape(permute(a, [1, 0, 2]), [p, n3 * q]));
}

/** A * B on the engine for small operands (all slices), differentiable in both. A (n3, p, q), B (n3, q, s). */
export function tproductOp(a: Tensor, b: Tensor, index: IndexTensor): Tensor {
  const [n3, , q] = check3(a, 'left operand');
  const [nb, qb, s] = check3(b, 'right operand');
  if (nb !== n3 || qb !== q || index.size !== n3 * n3) throw new PeftConfigError(`t-product: ${a.describe()} * ${b.describe()} do not match (index of ${index.size})`);
  return tidy(() => matmul(unfoldLeft(a), reshape(gatherRows(reshape(b, [n3, q * s]), index), [n3, n3 * q, s])));
}

/**
 * Selected slices of A * Vᵀ, differentiable in A and V: `left` = unfoldLeft(A) [p, n3·q], V
 * (n3, s, q), `index` = circulantIndex(n3, true, slices). Returns [L, p, s] for the L slices.
 * Computing only the slices one layer needs keeps the backward pass small: gradients flow into
 * the factors, never through a full (n3, p, s) tensor.
 */
export function tproductTransposedSlices(left: Tensor, v: Tensor, index: IndexTensor): Tensor {
  const [n3, s, q] = check3(v, 'right operand');
  if (left.rank !== 2 || left.shape[1] !== n3 * q || index.size % n3 !== 0) {
    throw new PeftConfigError(`t-product: left ${left.describe()} and ${v.describe()}ᵀ do not match (index of ${index.size})`);
  }
  const L = index.size / n3;
  return tidy(() => {
    const g = reshape(gatherRows(reshape(v, [n3, s * q]), index), [L * n3, s, q]);
    const gt = reshape(permute(g, [0, 2, 1]), [L, n3 * q, s]);
    return matmul(left, gt);
  });
}
