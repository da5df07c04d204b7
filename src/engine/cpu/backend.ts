/**
 * The reference backend: plain float64 loops, obvious over fast (matmul and conv3d on one
 * blocked GEMM, `gemm.ts`, as they dominate model runs). Models run on it to match the golden
 * fixtures (~1e-7) and the WebGPU kernels are tested against it.
 */
import type {
  AdamHyper, Backend, BinaryOp, ConvSpec, IndexStorage, MatmulSpec, MemoryStats, ReduceSpec, SoftmaxSpec, Storage, StridedView, UnaryOp,
} from '../backend';
import { Engine } from '../engine';
import { DisposedError } from '../errors';
import { sizeOf } from '../shape';
import { conv3d, conv3dBackwardData, conv3dBackwardFilter } from './conv';
import { erf, gelu, geluGrad } from './math';
import { matmul } from './matmul';
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

function unaryFn(op: UnaryOp, p0: number, p1: number): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'rsqrt': return (x) => 1 / Math.sqrt(x);
    case 'abs': return Math.abs;
    case 'square': return (x) => x * x;
    case 'reciprocal': return (x) => 1 / x;
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'leakyRelu': return (x) => (x > 0 ? x : p0 * x);
    case 'gelu': return gelu;
    case 'erf': return erf;
    case 'sigmoid': return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh;
    case 'affine': return (x) => p0 * x + p1;
  }
}

function binaryFn(op: BinaryOp, p0: number): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'reluGrad': return (x, g) => (x > 0 ? g : 0);
    case 'leakyReluGrad': return (x, g) => (x > 0 ? g : p0 * g);
    case 'geluGrad': return (x, g) => g * geluGrad(x);
  }
}

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
    const f = unaryFn(op, p0, p1);
    const xa = this.a(x);
    const y = new Float64Array(xa.length);
    for (let i = 0; i < y.length; i++) y[i] = f(xa[i]);
    return this.make(y);
  }

  binary(op: BinaryOp, a: Storage, b: Storage, outShape: readonly number[], sa: readonly number[], sb: readonly number[], p0: number): Storage {
    const f = binaryFn(op, p0);
    const aa = this.a(a);
    const ba = this.a(b);
    const y = new Float64Array(sizeOf(outShape));
    forEachRow(outShape, sa, sb, 0, 0, (o, ia, ib, n, da, db) => {
      for (let i = 0; i < n; i++) y[o + i] = f(aa[ia + i * da], ba[ib + i * db]);
    });
    return this.make(y);
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
    const xa = this.a(x);
    const y = new Float64Array(sizeOf(spec.outShape));
    forEachRow(spec.outShape, spec.outStrides, spec.outStrides, 0, 0, (o, base, _b, n, dOut) => {
      for (let i = 0; i < n; i++) {
        let acc = 0;
        forEachRow(spec.redShape, spec.redStrides, spec.redStrides, base + i * dOut, 0, (_o, r0, _r, m, dr) => {
          for (let j = 0; j < m; j++) acc += xa[r0 + j * dr];
        });
        y[o + i] = acc;
      }
    });
    return this.make(y);
  }

  matmul(a: Storage, b: Storage, s: MatmulSpec): Storage {
    return this.make(matmul(this.a(a), this.a(b), s));
  }

  softmax(x: Storage, s: SoftmaxSpec): Storage {
    const X = this.a(x);
    const Y = new Float64Array(X.length);
    for (let o = 0; o < s.outer; o++) {
      for (let i = 0; i < s.inner; i++) {
        const base = o * s.len * s.inner + i;
        let mx = -Infinity;
        for (let l = 0; l < s.len; l++) mx = Math.max(mx, X[base + l * s.inner]);
        let sum = 0;
        for (let l = 0; l < s.len; l++) sum += Math.exp(X[base + l * s.inner] - mx);
        const lse = Math.log(sum);
        for (let l = 0; l < s.len; l++) {
          const z = X[base + l * s.inner] - mx;
          Y[base + l * s.inner] = s.log ? z - lse : Math.exp(z) / sum;
        }
      }
    }
    return this.make(Y);
  }

  softmaxBackward(y: Storage, g: Storage, s: SoftmaxSpec): Storage {
    const Y = this.a(y);
    const G = this.a(g);
    const D = new Float64Array(Y.length);
    for (let o = 0; o < s.outer; o++) {
      for (let i = 0; i < s.inner; i++) {
        const base = o * s.len * s.inner + i;
        let dot = 0;
        for (let l = 0; l < s.len; l++) {
          const k = base + l * s.inner;
          dot += s.log ? G[k] : G[k] * Y[k];
        }
        for (let l = 0; l < s.len; l++) {
          const k = base + l * s.inner;
          // softmax: y·(g − Σg·y); log-softmax: g − softmax·Σg.
          D[k] = s.log ? G[k] - Math.exp(Y[k]) * dot : Y[k] * (G[k] - dot);
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
