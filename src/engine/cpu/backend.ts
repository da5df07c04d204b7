/**
 * The reference backend: plain float64 loops, obvious over fast (matmul and conv3d on one
 * blocked GEMM, `gemm.ts`, as they dominate model runs; elementwise ops one loop per op,
 * `elementwise.ts`; the other loops in `host.ts`, shared with the wasm backend). Models run on it to match the golden fixtures (~1e-7) and the WebGPU
 * kernels are tested against it.
 */
import type {
  AdamHyper, Backend, BinaryOp, ConvSpec, IndexStorage, MatmulSpec, MemoryStats, ReduceSpec, SoftmaxSpec, Storage, StridedView, UnaryOp,
} from '../backend';
import { Engine } from '../engine';
import { DisposedError } from '../errors';
import { sizeOf } from '../shape';
import { conv3d, conv3dBackwardData, conv3dBackwardFilter } from './conv';
import { depthwiseConvBackwardDataInto, depthwiseConvBackwardFilterInto, depthwiseConvInto } from './depthwise';
import { binary, unary } from './elementwise';
import { matmul } from './matmul';
import { reduceSum } from './reduce';
import { adamStepInPlace, copyView, gatherRowsInto, normalizeBackwardInto, normalizeInto, rollInto, scatterAddRowsInto, softmaxBackwardInto, softmaxInto, writeView } from './host';

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
    const y = new Float64Array(sizeOf(v.shape));
    copyView(this.a(x), v, y);
    return this.make(y);
  }

  writeInto(dst: Storage, src: Storage, v: StridedView): void {
    writeView(this.a(dst), this.a(src), v);
  }

  reduceSum(x: Storage, spec: ReduceSpec): Storage {
    return this.make(reduceSum(this.a(x), spec));
  }

  matmul(a: Storage, b: Storage, s: MatmulSpec): Storage {
    return this.make(matmul(this.a(a), this.a(b), s));
  }

  softmax(x: Storage, s: SoftmaxSpec): Storage {
    const Y = new Float64Array(x.size);
    softmaxInto(this.a(x), Y, s);
    return this.make(Y);
  }

  softmaxBackward(y: Storage, g: Storage, s: SoftmaxSpec): Storage {
    const D = new Float64Array(y.size);
    softmaxBackwardInto(this.a(y), this.a(g), D, s);
    return this.make(D);
  }

  normalize(x: Storage, rows: number, len: number, eps: number): { xhat: Storage; rstd: Storage } {
    const Y = new Float64Array(x.size);
    const R = new Float64Array(rows);
    normalizeInto(this.a(x), Y, R, rows, len, eps);
    return { xhat: this.make(Y), rstd: this.make(R) };
  }

  normalizeBackward(xhat: Storage, rstd: Storage, g: Storage, rows: number, len: number): Storage {
    const D = new Float64Array(xhat.size);
    normalizeBackwardInto(this.a(xhat), this.a(rstd), this.a(g), D, rows, len);
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

  depthwiseConv(x: Storage, w: Storage, s: ConvSpec): Storage {
    const y = new Float64Array(s.N * s.Co * s.outShape[0] * s.outShape[1] * s.outShape[2]);
    depthwiseConvInto(this.a(x), this.a(w), y, s);
    return this.make(y);
  }
  depthwiseConvBackwardData(g: Storage, w: Storage, s: ConvSpec): Storage {
    const dx = new Float64Array(s.N * s.Ci * s.inShape[0] * s.inShape[1] * s.inShape[2]);
    depthwiseConvBackwardDataInto(this.a(g), this.a(w), dx, s);
    return this.make(dx);
  }
  depthwiseConvBackwardFilter(g: Storage, x: Storage, s: ConvSpec): Storage {
    const dw = new Float64Array(s.Co * s.kernel[0] * s.kernel[1] * s.kernel[2]);
    depthwiseConvBackwardFilterInto(this.a(g), this.a(x), dw, s);
    return this.make(dw);
  }

  roll(x: Storage, shape: readonly number[], shifts: readonly number[]): Storage {
    const Y = new Float64Array(x.size);
    rollInto(this.a(x), Y, shape, shifts);
    return this.make(Y);
  }

  gatherRows(table: Storage, index: IndexStorage, cols: number): Storage {
    const Y = new Float64Array(index.size * cols);
    gatherRowsInto(this.a(table), index.host, cols, Y);
    return this.make(Y);
  }

  scatterAddRows(g: Storage, index: IndexStorage, tableRows: number, cols: number): Storage {
    const Y = new Float64Array(tableRows * cols);
    scatterAddRowsInto(this.a(g), index.host, cols, Y);
    return this.make(Y);
  }

  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vmax: Storage | null, h: AdamHyper): void {
    adamStepInPlace(this.a(p), this.a(g), this.a(m), this.a(v), vmax ? this.a(vmax) : null, h);
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
