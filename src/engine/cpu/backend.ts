/**
 * The reference backend: plain float64 loops, obvious over fast (matmul and conv3d on one
 * blocked GEMM, `gemm.ts`, as they dominate model runs; elementwise ops one loop per op,
 * `elementwise.ts`). Models run on it to match the golden fixtures (~1e-7) and the WebGPU
 * kernels are tested against it.
 */
import type {
  AdamHyper, Backend, BinaryOp, ConvSpec, IndexStorage, MatmulSpec, MemoryStats, ReduceSpec, SoftmaxSpec, Storage, StridedView, UnaryOp,
} from '../backend';
import { Engine } from '../engine';
import { DisposedError } from '../errors';
import { sizeOf } from '../shape';
import { conv3d, conv3dBackwardData, conv3dBackwardFilter } from './conv';
import { binary, unary } from './elementwise';
import { matmul } from './matmul';
import { reduceSum } from './reduce';
import { forEachRow } from './strided';

class CpuStorage implements Storage {
  constructor(public data: Float64Array | null) {}
  get size(): number {
    return this.arr.length;
  }
  get arr(): Float64Array {
    if (!this.data) throw new DisposedError('cpu storage used after release');
    return this.data;
  }
}

const BYTES = 8;

export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly dtype = 'f64' as const;
  readonly description = 'cpu (float64 reference)';
  readonly maxElements = 2 ** 31 - 1;
  private live = 0;
  private liveBytes = 0;
  private peak = 0;

  private make(data: Float64Array): CpuStorage {
    this.live++;
    this.liveBytes += data.length * BYTES;
    this.peak = Math.max(this.peak, this.liveBytes);
    return new CpuStorage(data);
  }
  private a(s: Storage): Float64Array {
    return (s as CpuStorage).arr;
  }

  upload(data: ArrayLike<number>): Storage {
    return this.make(Float64Array.from(data));
  }
  fill(size: number, value: number): Storage {
    return this.make(new Float64Array(size).fill(value));
  }
  async read(s: Storage): Promise<Float64Array> {
    return this.a(s).slice();
  }
  release(s: Storage): void {
    const c = s as CpuStorage;
    if (!c.data) return;
    this.live--;
    this.liveBytes -= c.data.length * BYTES;
    c.data = null;
  }
  uploadIndex(data: Int32Array): IndexStorage {
    this.live++;
    this.liveBytes += data.length * 4;
    return { size: data.length, host: data.slice() };
  }
  releaseIndex(s: IndexStorage): void {
    this.live--;
    this.liveBytes -= s.size * 4;
  }

  unary(op: UnaryOp, x: Storage, p0: number, p1: number): Storage {
    return this.make(unary(op, this.a(x), p0, p1));
  }

  binary(op: BinaryOp, a: Storage, b: Storage, outShape: readonly number[], sa: readonly number[], sb: readonly number[], p0: number): Storage {
    return this.make(binary(op, this.a(a), this.a(b), outShape, sa, sb, p0));
  }

  copy(x: Storage, v: StridedView): Storage {
    const xa = this.a(x);
    const y = new Float64Array(sizeOf(v.shape));
    forEachRow(v.shape, v.strides, v.strides, v.offset, 0, (o, ia, _ib, n, da) => {
      for (let i = 0; i < n; i++) y[o + i] = xa[ia + i * da];
    });
    return this.make(y);
  }

  writeInto(dst: Storage, src: Storage, v: StridedView): void {
    const d = this.a(dst);
    const s = this.a(src);
    forEachRow(v.shape, v.strides, v.strides, v.offset, 0, (o, id, _ib, n, dd) => {
      for (let i = 0; i < n; i++) d[id + i * dd] = s[o + i];
    });
  }

  reduceSum(x: Storage, spec: ReduceSpec): Storage {
    return this.make(reduceSum(this.a(x), spec));
  }

  matmul(a: Storage, b: Storage, s: MatmulSpec): Storage {
    return this.make(matmul(this.a(a), this.a(b), s));
  }

  softmax(x: Storage, s: SoftmaxSpec): Storage {
    const X = this.a(x);
    const Y = new Float64Array(X.length);
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
          // exp once per element, kept in Y, then scaled (dividing, as before, not multiplying by 1/sum).
          for (let k = base; k < end; k += inner) {
            Y[k] = Math.exp(X[k] - mx);
            sum += Y[k];
          }
          for (let k = base; k < end; k += inner) Y[k] /= sum;
        }
      }
    }
    return this.make(Y);
  }

  softmaxBackward(y: Storage, g: Storage, s: SoftmaxSpec): Storage {
    const Y = this.a(y);
    const G = this.a(g);
    const D = new Float64Array(Y.length);
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
    return this.make(D);
  }

  normalize(x: Storage, rows: number, len: number, eps: number): { xhat: Storage; rstd: Storage } {
    const X = this.a(x);
    const Y = new Float64Array(X.length);
    const R = new Float64Array(rows);
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
    return { xhat: this.make(Y), rstd: this.make(R) };
  }

  normalizeBackward(xhat: Storage, rstd: Storage, g: Storage, rows: number, len: number): Storage {
    const Y = this.a(xhat);
    const R = this.a(rstd);
    const G = this.a(g);
    const D = new Float64Array(Y.length);
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
    return this.make(D);
  }

  conv3d(x: Storage, w: Storage, s: ConvSpec): Storage {
    return this.make(conv3d(this.a(x), this.a(w), s));
  }
  conv3dBackwardData(g: Storage, w: Storage, s: ConvSpec): Storage {
    return this.make(conv3dBackwardData(this.a(g), this.a(w), s));
  }
  conv3dBackwardFilter(g: Storage, x: Storage, s: ConvSpec): Storage {
    return this.make(conv3dBackwardFilter(this.a(g), this.a(x), s));
  }

  roll(x: Storage, shape: readonly number[], shifts: readonly number[]): Storage {
    const X = this.a(x);
    const Y = new Float64Array(X.length);
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
    return this.make(Y);
  }

  gatherRows(table: Storage, index: IndexStorage, cols: number): Storage {
    const T = this.a(table);
    const Y = new Float64Array(index.size * cols);
    for (let i = 0; i < index.size; i++) Y.set(T.subarray(index.host[i] * cols, index.host[i] * cols + cols), i * cols);
    return this.make(Y);
  }

  scatterAddRows(g: Storage, index: IndexStorage, tableRows: number, cols: number): Storage {
    const G = this.a(g);
    const Y = new Float64Array(tableRows * cols);
    for (let i = 0; i < index.size; i++) {
      const r = index.host[i] * cols;
      for (let c = 0; c < cols; c++) Y[r + c] += G[i * cols + c];
    }
    return this.make(Y);
  }

  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vmax: Storage | null, h: AdamHyper): void {
    const P = this.a(p);
    const G = this.a(g);
    const Mm = this.a(m);
    const V = this.a(v);
    const VM = vmax ? this.a(vmax) : null;
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

  memory(): MemoryStats {
    return { liveStorages: this.live, liveBytes: this.liveBytes, pooledBytes: 0, peakBytes: this.peak };
  }
  resetPeak(): void {
    this.peak = this.liveBytes;
  }
  async sync(): Promise<void> {}
  dispose(): void {}
}

/** An engine on the float64 reference backend. */
export function createCpuEngine(): Engine {
  return new Engine(new CpuBackend());
}
