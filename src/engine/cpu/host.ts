/**
 * The backend kernels that are plain loops over host arrays, written once for both host
 * backends: `cpu` (float64 arrays) and `wasm` (float32 views of its WebAssembly memory). Sums
 * and statistics accumulate in JavaScript numbers (float64) and each output is rounded once
 * when stored; every loop runs in a fixed order, so results do not depend on anything but
 * the inputs. Outputs are given, of the right length (zeroed where a kernel says so).
 */
import type { AdamHyper, SoftmaxSpec, StridedView } from '../backend';
import type { HostArray } from './elementwise';
import { forEachRow } from './strided';

/** y = x viewed through `v` (C order over v.shape). */
export function copyView(x: HostArray, v: StridedView, y: HostArray): void {
  forEachRow(v.shape, v.strides, v.strides, v.offset, 0, (o, ia, _ib, n, da) => {
    for (let i = 0; i < n; i++) y[o + i] = x[ia + i * da];
  });
}

/** d[view(i)] = s[i]. */
export function writeView(d: HostArray, s: HostArray, v: StridedView): void {
  forEachRow(v.shape, v.strides, v.strides, v.offset, 0, (o, id, _ib, n, dd) => {
    for (let i = 0; i < n; i++) d[id + i * dd] = s[o + i];
  });
}

export function softmaxInto(X: HostArray, Y: HostArray, s: SoftmaxSpec): void {
  const { len, inner } = s;
  for (let o = 0; o < s.outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      const end = base + len * inner;
      let mx = -Infinity;
      for (let k = base; k < end; k += inner) mx = Math.max(mx, X[k]);
      let sum = 0;
      if (s.log) {
        for (let k = base; k < end; k += inner) sum += Math.exp(X[k] - mx);
        const lse = Math.log(sum);
        for (let k = base; k < end; k += inner) Y[k] = X[k] - mx - lse;
      } else {
        // exp once per element, kept in Y, then scaled (dividing, not multiplying by 1/sum).
        // The sum adds the unrounded exps (on float32 Y, the stored ones are rounded).
        for (let k = base; k < end; k += inner) {
          const e = Math.exp(X[k] - mx);
          Y[k] = e;
          sum += e;
        }
        for (let k = base; k < end; k += inner) Y[k] /= sum;
      }
    }
  }
}

/** Given y = (log)softmax(x) and g = dL/dy, D = dL/dx. */
export function softmaxBackwardInto(Y: HostArray, G: HostArray, D: HostArray, s: SoftmaxSpec): void {
  const { len, inner } = s;
  for (let o = 0; o < s.outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      const end = base + len * inner;
      let dot = 0;
      if (s.log) {
        // log-softmax: g − softmax·Σg.
        for (let k = base; k < end; k += inner) dot += G[k];
        for (let k = base; k < end; k += inner) D[k] = G[k] - Math.exp(Y[k]) * dot;
      } else {
        // softmax: y·(g − Σg·y).
        for (let k = base; k < end; k += inner) dot += G[k] * Y[k];
        for (let k = base; k < end; k += inner) D[k] = Y[k] * (G[k] - dot);
      }
    }
  }
}

/** Per row of length len: Y = (x − mean)·rstd, R[row] = 1/sqrt(var + eps) (biased var). */
export function normalizeInto(X: HostArray, Y: HostArray, R: HostArray, rows: number, len: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * len;
    let mean = 0;
    for (let i = 0; i < len; i++) mean += X[o + i];
    mean /= len;
    let v = 0;
    for (let i = 0; i < len; i++) v += (X[o + i] - mean) ** 2;
    const rs = 1 / Math.sqrt(v / len + eps);
    R[r] = rs;
    for (let i = 0; i < len; i++) Y[o + i] = (X[o + i] - mean) * rs;
  }
}

/** dx = rstd·(g − mean(g) − xhat·mean(g·xhat)) per row. */
export function normalizeBackwardInto(Y: HostArray, R: HostArray, G: HostArray, D: HostArray, rows: number, len: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * len;
    let mg = 0;
    let mgy = 0;
    for (let i = 0; i < len; i++) {
      mg += G[o + i];
      mgy += G[o + i] * Y[o + i];
    }
    mg /= len;
    mgy /= len;
    for (let i = 0; i < len; i++) D[o + i] = R[r] * (G[o + i] - mg - Y[o + i] * mgy);
  }
}

/** Cyclic shift: Y[(i + shift) mod n] = X[i] along each axis. */
export function rollInto(X: HostArray, Y: HostArray, shape: readonly number[], shifts: readonly number[]): void {
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  const st = new Array<number>(r);
  for (let d = r - 1, acc = 1; d >= 0; acc *= shape[d], d--) st[d] = acc;
  for (let o = 0; o < Y.length; o++) {
    let src = 0;
    for (let d = 0; d < r; d++) src += ((idx[d] - shifts[d] + shape[d]) % shape[d]) * st[d];
    Y[o] = X[src];
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

export function gatherRowsInto(T: HostArray, index: Int32Array, cols: number, Y: HostArray): void {
  for (let i = 0; i < index.length; i++) Y.set(T.subarray(index[i] * cols, index[i] * cols + cols), i * cols);
}

/** Y (zeroed) [r, :] += G[i, :] for every i with index[i] = r, in i order. */
export function scatterAddRowsInto(G: HostArray, index: Int32Array, cols: number, Y: HostArray): void {
  for (let i = 0; i < index.length; i++) {
    const r = index[i] * cols;
    for (let c = 0; c < cols; c++) Y[r + c] += G[i * cols + c];
  }
}

/** One Adam/AdamW step in place (torch.optim.Adam's formulas, see AdamHyper). */
export function adamStepInPlace(P: HostArray, G: HostArray, Mm: HostArray, V: HostArray, VM: HostArray | null, h: AdamHyper): void {
  const stepSize = h.lr / h.bias1;
  const sqrtB2 = Math.sqrt(h.bias2);
  for (let i = 0; i < P.length; i++) {
    if (h.decoupled) P[i] *= 1 - h.lr * h.decoupled;
    const gi = G[i] + h.l2 * P[i];
    Mm[i] = h.beta1 * Mm[i] + (1 - h.beta1) * gi;
    V[i] = h.beta2 * V[i] + (1 - h.beta2) * gi * gi;
    let vv = V[i];
    if (VM) vv = VM[i] = Math.max(VM[i], V[i]);
    P[i] -= (stepSize * Mm[i]) / (Math.sqrt(vv) / sqrtB2 + h.eps);
  }
}
