/**
 * The wasm backend: float32 tensors in one WebAssembly memory, GEMM and convolution in SIMD
 * kernels (kernels.wat: 4×8 register tiles over packed, cache-blocked panels; relaxed-SIMD FMA
 * where the runtime has it), on several threads when the memory is shared (threads.ts). The
 * common memory-bound ops (add/sub/mul/div, relu/leakyRelu and their gradients, normalisation,
 * Adam) are SIMD kernels there too, giving the host loops' results, and so are GELU, its
 * gradient and erf (float32 polynomials within a few ulps of the float64 reference, README), and
 * softmax along the last axis, strided copies and last-axis sums; the rest are the host loops
 * shared with the float64 reference (`cpu/host.ts`, `cpu/elementwise.ts`, `cpu/reduce.ts`) run
 * on float32 views of the same memory, each element computed in float64 and rounded once.
 *
 * Stride-1 convolutions (forward, and the data gradient when padding ≤ dilation·(kernel − 1))
 * run the direct kernel (`direct`, kernels.wat convDirect) over a zero-padded copy of the input:
 * no im2col tile. The others, and every filter gradient, are GEMMs over im2col tiles of bounded
 * size, as on `cpu` (see cpu/conv.ts):
 *   forward        Y[:, chunk] = W·tile               tile [T × chunk] in the GEMM's packed panels
 *   filter grad    dW += G[:, chunk]·tileᵀ            tileᵀ [chunk × T] in the GEMM's packed panels,
 *                                                     summed in float64 (kernels.wat, gemmAcc64) and rounded once
 *   data grad      dtile = Wᵀ·G[:, chunk], col2im
 * im2col and col2im split the input channels over the threads (disjoint inputs for col2im).
 * Depthwise convolutions (one filter per channel: memory-bound, ~9 multiply-adds per output) are
 * SIMD loops over the same tap runs (kernels.wat "depthwise*"), split over planes or channels.
 * Every output element is summed by one thread in a fixed order: results are identical for any
 * number of threads.
 */
import type {
  AdamHyper, Backend, BinaryOp, ConvSpec, IndexStorage, MatmulSpec, MemoryStats, ReduceSpec, SoftmaxSpec, Storage, StridedView, UnaryOp,
} from '../backend';
import { inputSize, positions, RUN, tapRuns, taps } from '../cpu/conv';
import { binaryInto, unaryInto } from '../cpu/elementwise';
import { copyView, gatherRowsInto, rollInto, scatterAddRowsInto, softmaxBackwardInto, softmaxInto, writeView } from '../cpu/host';
import { reduceSumInto } from '../cpu/reduce';
import { coalesce, forEachRow } from '../cpu/strided';
import { Engine } from '../engine';
import { DisposedError } from '../errors';
import { sizeOf, stridesOf } from '../shape';
import { MAX_PAGES } from './assemble-constants';
import { WasmHeap } from './heap';
import { compileKernels, type KernelExports } from './module';
import { CONTROL_BYTES, KernelThreads, type SpawnKernelWorker } from './threads';

const BYTES = 4;
const ceil8 = (n: number) => (n + 7) & ~7;
type Triple = readonly [number, number, number];
/** Elements of one im2col tile: 1 MiB of float32, as on cpu (there float64, 2 MiB). */
export const TILE_ELEMENTS = 1 << 18;
/**
 * Below this many multiply-adds a GEMM runs on one thread (~0.1 ms of work): every parallel
 * call is a barrier, and on a busy machine a descheduled worker holds it for a time slice.
 */
const PARALLEL_MIN_MACS = 1 << 20;
/** Below this many copied elements im2col and col2im run on one thread. */
const PARALLEL_MIN_COPIES = 1 << 18;
/** Below this many elements the memory-bound kernels (elementwise, normalisation, Adam) run on one thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;
/** Byte offset of the float64 parameter block of the memory-bound kernels (between the control block and the scratch). */
const PARAMS = 512;
const PARAMS_F64 = 64;
/** kernels.wat's codes of the elementwise ops it runs; the others stay on the host loops. */
const UNARY_CODES: Partial<Record<UnaryOp, number>> = { relu: 0, leakyRelu: 1, neg: 2, abs: 3, square: 4, affine: 5, gelu: 6, erf: 7 };
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, reluGrad: 4, leakyReluGrad: 5, geluGrad: 6 };
/** Binary rows shorter than this run on the host loop (a row table entry per few elements does not pay). */
const MIN_ROW = 8;
/** The GEMM's K slice (kernels.wat $KC): the direct convolution sums in the same slices. */
const KC = 256;
/** Taps of one depthwise filter, and the elements of one input plane. */
const filterTaps = (s: ConvSpec) => s.kernel[0] * s.kernel[1] * s.kernel[2];
const planeSize = (s: ConvSpec) => s.inShape[0] * s.inShape[1] * s.inShape[2];

class WasmStorage implements Storage {
  constructor(
    public ptr: number,
    readonly size: number,
  ) {}
}

export interface WasmEngineOptions {
  /** Threads (this one included); > 1 needs `spawn` and shared memory. Default 1. */
  threads?: number;
  /** Starts a kernel worker (wasm/node.ts for worker_threads, wasm/browser.ts for Web Workers). */
  spawn?: SpawnKernelWorker | null;
  /** false forces the plain-SIMD kernels even where relaxed SIMD is available. */
  relaxed?: boolean;
}

export class WasmBackend implements Backend {
  readonly kind = 'wasm' as const;
  readonly dtype = 'f32' as const;
  readonly maxElements = 2 ** 30 - 1;
  readonly description: string;
  private live = 0;
  private disposed = false;

  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly heap: WasmHeap,
    private readonly threads: KernelThreads,
    private readonly scratch: number,
    relaxed: boolean,
  ) {
    const n = threads.size;
    this.description = `wasm (float32, WebAssembly SIMD${relaxed ? ' + relaxed FMA' : ''}, ${n} thread${n > 1 ? 's' : ''})`;
  }

  /** A backend on `threads` threads (1 when threads ≤ 1 or no spawner is given). */
  static async create(opts: WasmEngineOptions = {}): Promise<WasmBackend> {
    const wanted = Math.max(1, Math.floor(opts.threads ?? 1));
    const shared = wanted > 1 && !!opts.spawn;
    const nth = shared ? wanted : 1;
    const compiled = compileKernels(shared, { relaxed: opts.relaxed });
    const scratchBytes = new WebAssembly.Instance(compiled.module, { env: { memory: new WebAssembly.Memory(shared ? { initial: 1, maximum: MAX_PAGES, shared: true } : { initial: 1 }) } });
    const perThread = (scratchBytes.exports as unknown as KernelExports).scratchBytes();
    const control = 64;
    const scratch = 1024;
    const base = scratch + nth * perThread;
    const initial = Math.ceil((base + (64 << 20)) / 65536);
    const memory = new WebAssembly.Memory(shared ? { initial, maximum: MAX_PAGES, shared: true } : { initial, maximum: MAX_PAGES });
    const k = new WebAssembly.Instance(compiled.module, { env: { memory } }).exports as unknown as KernelExports;
    if (control + CONTROL_BYTES > PARAMS || PARAMS + PARAMS_F64 * 8 > scratch) throw new Error('wasm engine: control block, parameters and scratch overlap');
    const threads = await KernelThreads.start(k, compiled.module, memory, control, nth, shared ? opts.spawn! : null);
    return new WasmBackend(memory, new WasmHeap(memory, base, MAX_PAGES), threads, scratch, compiled.relaxed);
  }

  /** Threads the kernels run on. */
  get threadCount(): number {
    return this.threads.size;
  }

  private alloc(size: number): WasmStorage {
    if (this.disposed) throw new DisposedError('wasm engine used after dispose()');
    this.live++;
    return new WasmStorage(this.heap.alloc(Math.max(1, size) * BYTES), size);
  }
  private ptr(s: Storage): number {
    const w = s as WasmStorage;
    if (w.ptr < 0) throw new DisposedError('wasm storage used after release');
    return w.ptr;
  }
  /** A float32 view of s. Take views only after allocating: growing a non-shared memory detaches old views. */
  private f(s: Storage): Float32Array {
    return new Float32Array(this.mem.buffer, this.ptr(s), s.size);
  }
  private i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.mem.buffer, ptr, n);
  }

  upload(data: ArrayLike<number>): Storage {
    const s = this.alloc(data.length);
    this.f(s).set(data);
    return s;
  }
  fill(size: number, value: number): Storage {
    const s = this.alloc(size);
    this.f(s).fill(value);
    return s;
  }
  async read(s: Storage): Promise<Float32Array> {
    return this.f(s).slice();
  }
  release(s: Storage): void {
    const w = s as WasmStorage;
    if (w.ptr < 0) return;
    this.heap.release(w.ptr, Math.max(1, w.size) * BYTES);
    w.ptr = -1;
    this.live--;
  }
  uploadIndex(data: Int32Array): IndexStorage {
    this.live++;
    return { size: data.length, host: data.slice() };
  }
  releaseIndex(): void {
    this.live--;
  }

  /** Writes the memory-bound kernels' float64 parameters; returns their byte pointer. */
  private params(...v: number[]): number {
    new Float64Array(this.mem.buffer, PARAMS, v.length).set(v);
    return PARAMS;
  }

  unary(op: UnaryOp, x: Storage, p0: number, p1: number): Storage {
    const y = this.alloc(x.size);
    const code = UNARY_CODES[op];
    if (code === undefined) unaryInto(op, this.f(x), this.f(y), p0, p1);
    else this.threads.run('unary', [code, this.ptr(y), this.ptr(x), x.size, this.params(p0, p1)], x.size < PARALLEL_MIN_ELEMENTS);
    return y;
  }
  binary(op: BinaryOp, a: Storage, b: Storage, outShape: readonly number[], sa: readonly number[], sb: readonly number[], p0: number): Storage {
    const size = sizeOf(outShape);
    const y = this.alloc(size);
    const code = BINARY_CODES[op];
    const c = coalesce(outShape, stridesOf(outShape), sa, sb);
    const r = c.shape.length;
    const n = r ? c.shape[r - 1] : 1;
    const [da, db] = r ? [c.strides[1][r - 1], c.strides[2][r - 1]] : [0, 0];
    if (code === undefined || n < MIN_ROW || da > 1 || db > 1 || size === 0) {
      binaryInto(op, this.f(a), this.f(b), this.f(y), outShape, sa, sb, p0);
      return y;
    }
    // One (a, b) start per row of n outputs; kernels.wat "binary" runs the rows.
    const rows = size / n;
    const table = this.heap.alloc(rows * 8);
    try {
      const t = this.i32(table, 2 * rows);
      let i = 0;
      forEachRow(c.shape, c.strides[1], c.strides[2], 0, 0, (_o, ia, ib) => {
        t[i++] = ia;
        t[i++] = ib;
      });
      this.threads.run('binary', [code, this.ptr(y), this.ptr(a), this.ptr(b), table, rows, n, da, db, this.params(p0)], size < PARALLEL_MIN_ELEMENTS);
    } finally {
      this.heap.release(table, rows * 8);
    }
    return y;
  }
  copy(x: Storage, v: StridedView): Storage {
    const y = this.alloc(sizeOf(v.shape));
    if (!this.strided(this.ptr(y), this.ptr(x), v, false)) copyView(this.f(x), v, this.f(y));
    return y;
  }
  writeInto(dst: Storage, src: Storage, v: StridedView): void {
    if (!this.strided(this.ptr(src), this.ptr(dst), v, true)) writeView(this.f(dst), this.f(src), v);
  }
  /**
   * The view's coalesced rows by kernels.wat "strided" (c: the contiguous side, s: the strided
   * one; gather c = s[view], or scatter s[view] = c); false (nothing done) when its rows are
   * shorter than MIN_ROW, which the host loop does as fast.
   */
  private strided(c: number, s: number, v: StridedView, scatter: boolean): boolean {
    const size = sizeOf(v.shape);
    const co = coalesce(v.shape, stridesOf(v.shape), v.strides);
    const r = co.shape.length;
    const n = r ? co.shape[r - 1] : 1;
    if (n < MIN_ROW || size === 0) return false;
    const rows = size / n;
    const table = this.heap.alloc(rows * 4);
    try {
      const t = this.i32(table, rows);
      let i = 0;
      forEachRow(co.shape, co.strides[1], co.strides[1], v.offset, 0, (_o, ia) => {
        t[i++] = ia;
      });
      this.threads.run('strided', [c, s, table, rows, n, co.strides[1][r - 1], scatter ? 1 : 0], size < PARALLEL_MIN_ELEMENTS);
    } finally {
      this.heap.release(table, rows * 4);
    }
    return true;
  }
  reduceSum(x: Storage, spec: ReduceSpec): Storage {
    const y = this.alloc(sizeOf(spec.outShape));
    if (this.rowSum(y, x, spec)) return y;
    const Y = this.f(y);
    Y.fill(0);
    reduceSumInto(this.f(x), Y, spec);
    return y;
  }
  /**
   * A sum whose reduced axes coalesce to one contiguous row of ≥ MIN_ROW terms per output, each
   * output's row not a whole output row (as cpu/reduce.ts picks its loops): kernels.wat "rowSum",
   * float64 sums in another order than the host loop's, rounded once. False when not such a sum.
   */
  private rowSum(y: Storage, x: Storage, spec: ReduceSpec): boolean {
    const out = coalesce(spec.outShape, spec.outStrides);
    const red = coalesce(spec.redShape, spec.redStrides);
    const os = out.strides[0];
    const n = red.shape.length ? red.shape[0] : 0;
    const outStep = out.shape.length ? os[os.length - 1] : Infinity;
    if (red.shape.length !== 1 || red.strides[0][0] !== 1 || n < MIN_ROW || outStep < 1 || y.size === 0) return false;
    const table = this.heap.alloc(y.size * 4);
    try {
      const t = this.i32(table, y.size);
      forEachRow(out.shape, os, os, 0, 0, (o, base, _b, m, dOut) => {
        for (let i = 0; i < m; i++) t[o + i] = base + i * dOut;
      });
      this.threads.run('rowSum', [this.ptr(y), this.ptr(x), table, y.size, n], y.size < 2 || y.size * n < PARALLEL_MIN_ELEMENTS);
    } finally {
      this.heap.release(table, y.size * 4);
    }
    return true;
  }
  // Softmax along the last axis (attention's) runs kernels.wat's row kernels; log-softmax and
  // other axes the host loops.
  softmax(x: Storage, s: SoftmaxSpec): Storage {
    const y = this.alloc(x.size);
    if (s.inner !== 1 || s.log || s.len === 0) softmaxInto(this.f(x), this.f(y), s);
    else this.threads.run('softmax', [this.ptr(x), this.ptr(y), s.outer, s.len], s.outer < 2 || x.size < PARALLEL_MIN_ELEMENTS);
    return y;
  }
  softmaxBackward(y: Storage, g: Storage, s: SoftmaxSpec): Storage {
    const d = this.alloc(y.size);
    if (s.inner !== 1 || s.log || s.len === 0) softmaxBackwardInto(this.f(y), this.f(g), this.f(d), s);
    else this.threads.run('softmaxBackward', [this.ptr(y), this.ptr(g), this.ptr(d), s.outer, s.len], s.outer < 2 || y.size < PARALLEL_MIN_ELEMENTS);
    return d;
  }
  normalize(x: Storage, rows: number, len: number, eps: number): { xhat: Storage; rstd: Storage } {
    const xhat = this.alloc(x.size);
    const rstd = this.alloc(rows);
    this.threads.run('normalize', [this.ptr(x), this.ptr(xhat), this.ptr(rstd), rows, len, this.params(eps)], rows < 2 || x.size < PARALLEL_MIN_ELEMENTS);
    return { xhat, rstd };
  }
  normalizeBackward(xhat: Storage, rstd: Storage, g: Storage, rows: number, len: number): Storage {
    const d = this.alloc(xhat.size);
    this.threads.run('normalizeBackward', [this.ptr(xhat), this.ptr(rstd), this.ptr(g), this.ptr(d), rows, len], rows < 2 || xhat.size < PARALLEL_MIN_ELEMENTS);
    return d;
  }
  roll(x: Storage, shape: readonly number[], shifts: readonly number[]): Storage {
    const y = this.alloc(x.size);
    rollInto(this.f(x), this.f(y), shape, shifts);
    return y;
  }
  gatherRows(table: Storage, index: IndexStorage, cols: number): Storage {
    const y = this.alloc(index.size * cols);
    gatherRowsInto(this.f(table), index.host, cols, this.f(y));
    return y;
  }
  scatterAddRows(g: Storage, index: IndexStorage, tableRows: number, cols: number): Storage {
    const y = this.alloc(tableRows * cols);
    const Y = this.f(y);
    Y.fill(0);
    scatterAddRowsInto(this.f(g), index.host, cols, Y);
    return y;
  }
  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vmax: Storage | null, h: AdamHyper): void {
    // The constants exactly as cpu/host.ts adamStepInPlace computes them (kernels.wat "adam").
    const prm = this.params(h.lr / h.bias1, Math.sqrt(h.bias2), h.eps, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.l2, 1 - h.lr * h.decoupled, h.decoupled ? 1 : 0);
    this.threads.run('adam', [this.ptr(p), this.ptr(g), this.ptr(m), this.ptr(v), vmax ? this.ptr(vmax) : 0, p.size, prm], p.size < PARALLEL_MIN_ELEMENTS);
  }

  /**
   * C_i (+)= A_i·B_i for `nb` GEMMs whose byte pointers (a, b, c) are in `ptrs`; element (m, k)
   * of A at a + 4·(m·ars + k·acs), (k, n) of B at b + 4·(k·brs + n·bcs) (or, when bpre = 8K,
   * B already in the GEMM's 8-column panels, as im2col writes it), C rows ldc apart.
   */
  private gemm(ptrs: readonly number[], ars: number, acs: number, brs: number, bcs: number, ldc: number, M: number, N: number, K: number, acc: boolean, bpre = 0): void {
    const nb = ptrs.length / 3;
    const table = this.heap.alloc(ptrs.length * 4);
    try {
      this.i32(table, ptrs.length).set(ptrs);
      const serial = nb * M * N * K < PARALLEL_MIN_MACS;
      this.threads.run('gemm', [table, nb, ars, acs, brs, bcs, ldc, M, N, K, acc ? 1 : 0, M > N ? 1 : 0, bpre, this.scratch], serial);
    } finally {
      this.heap.release(table, ptrs.length * 4);
    }
  }

  matmul(a: Storage, b: Storage, s: MatmulSpec): Storage {
    const { M, N, K } = s;
    const nb = sizeOf(s.batchShape);
    const c = this.alloc(nb * M * N);
    if (K === 0 || M * N === 0) {
      this.f(c).fill(0);
      return c;
    }
    const pa = this.ptr(a);
    const pb = this.ptr(b);
    const pc = this.ptr(c);
    const ptrs: number[] = [];
    forEachRow(s.batchShape, s.aBatchStrides, s.bBatchStrides, 0, 0, (_o, a0, b0, n, da, db) => {
      for (let t = 0; t < n; t++) ptrs.push(pa + (a0 + t * da) * BYTES, pb + (b0 + t * db) * BYTES, pc + (ptrs.length / 3) * M * N * BYTES);
    });
    // A stored [M,K] ([K,M] when transA), B [K,N] ([N,K] when transB).
    const [ars, acs] = s.transA ? [1, M] : [K, 1];
    const [brs, bcs] = s.transB ? [1, K] : [N, 1];
    this.gemm(ptrs, ars, acs, brs, bcs, N, M, N, K, false);
    return c;
  }

  /**
   * Chunks of output positions, each with its spatial tap runs (tapRuns of one input channel;
   * the kernels loop over channels) uploaded; `serial` when the chunk is too small to wake the
   * workers for.
   */
  private forEachChunk(s: ConvSpec, fn: (p0: number, pc: number, cols: (kernel: 'im2col' | 'col2im', x: number, tile: number, ts: number, js: number, mode: 0 | 1 | 2) => void) => void): void {
    const P = positions(s);
    const chunk = this.chunk(s);
    const spatial = { ...s, Ci: 1 };
    const kk = s.kernel[0] * s.kernel[1] * s.kernel[2];
    const inVol = s.inShape[0] * s.inShape[1] * s.inShape[2];
    for (let p0 = 0; p0 < P; p0 += chunk) {
      const p1 = Math.min(P, p0 + chunk);
      const serial = taps(s) * (p1 - p0) < PARALLEL_MIN_COPIES;
      const hostRuns = tapRuns(spatial, p0, p1);
      const runs = this.heap.alloc(Math.max(1, hostRuns.length) * 4);
      try {
        this.i32(runs, hostRuns.length).set(hostRuns);
        fn(p0, p1 - p0, (kernel, x, tile, ts, js, mode) => this.threads.run(kernel, [runs, hostRuns.length / RUN, s.Ci, kk, inVol, s.stride[2], x, tile, ts, js, mode], serial));
      } finally {
        this.heap.release(runs, Math.max(1, hostRuns.length) * 4);
      }
    }
  }

  /** Positions per im2col chunk. */
  private chunk(s: ConvSpec): number {
    return Math.min(positions(s), Math.max(1, Math.floor(TILE_ELEMENTS / taps(s))));
  }
  private zero(ptr: number, n: number): void {
    new Float32Array(this.mem.buffer, ptr, n).fill(0);
  }

  /**
   * A stride-1 convolution by the direct kernel (kernels.wat convDirect): per batch item, the
   * input x [C, …inShape] is zero-padded (`before` on each axis) into a scratch volume whose
   * origin is the output's, then y [Co, …outShape] is computed from it and the weight packed by
   * packDirect (wp, byte pointer). x and y are byte pointers to batch item 0.
   *   forward (data false): k = c·T + t, summed in slices of KC as the im2col GEMM did;
   *   data gradient (x = g, C = the forward's Co): k = t·C + c over the flipped taps, one tap's
   *   channels per slice, as the GEMM (Wᵀ·G over channels) and col2im (over taps) did.
   */
  private direct(x: number, C: number, inShape: Triple, before: Triple, y: number, Co: number, outShape: Triple, kernel: Triple, dilation: Triple, wp: number, N: number, data: boolean): void {
    const P = outShape.map((o, i) => o + dilation[i] * (kernel[i] - 1)) as unknown as Triple;
    const vol = P[0] * P[1] * P[2];
    const T = kernel[0] * kernel[1] * kernel[2];
    const inVol = inShape[0] * inShape[1] * inShape[2];
    const outVol = outShape[0] * outShape[1] * outShape[2];
    // 8 elements of slack: the last tile of a row reads 8 positions whatever Wo is.
    const xpBytes = (C * vol + 8) * BYTES;
    const xp = this.heap.alloc(xpBytes);
    const K = C * T;
    const offs = this.heap.alloc(K * 4);
    try {
      this.zero(xp + C * vol * BYTES, 8);
      const tap: number[] = [];
      for (let kd = 0; kd < kernel[0]; kd++) {
        for (let kh = 0; kh < kernel[1]; kh++) {
          for (let kw = 0; kw < kernel[2]; kw++) tap.push(BYTES * ((kd * dilation[0] * P[1] + kh * dilation[1]) * P[2] + kw * dilation[2]));
        }
      }
      // The byte offset in xp of each k (the order of the packed weight's columns).
      const o = this.i32(offs, K);
      for (let c = 0; c < C; c++) {
        for (let t = 0; t < T; t++) {
          if (data) o[t * C + c] = tap[T - 1 - t] + c * vol * BYTES;
          else o[c * T + t] = tap[t] + c * vol * BYTES;
        }
      }
      const kc = data ? Math.min(C, KC) : KC;
      const serialPad = C * vol < PARALLEL_MIN_COPIES;
      const serial = Co * K * outVol < PARALLEL_MIN_MACS;
      for (let n = 0; n < N; n++) {
        this.threads.run('pad3d', [x + n * C * inVol * BYTES, C, ...inShape, xp, ...P, ...before], serialPad);
        this.threads.run('convDirect', [wp, xp, y + n * Co * outVol * BYTES, offs, K, kc, Co, P[1], P[2], outShape[1], outShape[2], outShape[0] * outShape[1], this.scratch], serial);
      }
    } finally {
      this.heap.release(offs, K * 4);
      this.heap.release(xp, xpBytes);
    }
  }

  /**
   * The weight in convDirect's 4-row panels over K: forward, row co, column ci·T + t is
   * w[co, ci, t]; for the data gradient (`data`), row ci, column t·Co + co is w[co, ci, t] (the
   * adjoint of a stride-1 convolution is the convolution with the flipped, channel-swapped
   * kernel; `direct` flips the taps' offsets).
   */
  private packDirect(w: Storage, s: ConvSpec, data: boolean): { ptr: number; bytes: number } {
    const T = taps(s) / s.Ci;
    const [rows, K] = data ? [s.Ci, s.Co * T] : [s.Co, s.Ci * T];
    const bytes = Math.max(1, ((rows + 3) & ~3) * K) * BYTES;
    const ptr = this.heap.alloc(bytes);
    const d = new Float32Array(this.mem.buffer, ptr, bytes / BYTES);
    const W = this.f(w);
    d.fill(0);
    for (let r = 0; r < rows; r++) {
      const panel = (r >> 2) * K * 4 + (r & 3);
      if (!data) {
        for (let k = 0; k < K; k++) d[panel + 4 * k] = W[r * K + k];
      } else {
        for (let co = 0; co < s.Co; co++) {
          const src = (co * s.Ci + r) * T;
          for (let t = 0; t < T; t++) d[panel + 4 * (t * s.Co + co)] = W[src + t];
        }
      }
    }
    return { ptr, bytes };
  }

  /** Whether the data gradient can use the direct kernel: stride 1, padding ≤ dilation·(kernel − 1). */
  private static directData(s: ConvSpec): boolean {
    return s.stride.every((v) => v === 1) && s.padding.every((p, i) => p <= s.dilation[i] * (s.kernel[i] - 1));
  }

  conv3d(x: Storage, w: Storage, s: ConvSpec): Storage {
    const T = taps(s);
    const P = positions(s);
    const y = this.alloc(s.N * s.Co * P);
    if (s.stride.every((v) => v === 1)) {
      const wp = this.packDirect(w, s, false);
      try {
        this.direct(this.ptr(x), s.Ci, s.inShape, s.padding, this.ptr(y), s.Co, s.outShape, s.kernel, s.dilation, wp.ptr, s.N, false);
      } finally {
        this.heap.release(wp.ptr, wp.bytes);
      }
      return y;
    }
    // The tile is the GEMM's B [T × chunk], written by im2col straight into 8-column panels.
    const tile = this.alloc(T * ceil8(this.chunk(s)));
    try {
      this.forEachChunk(s, (p0, pc, cols) => {
        for (let n = 0; n < s.N; n++) {
          this.zero(tile.ptr, T * ceil8(pc));
          cols('im2col', this.ptr(x) + n * inputSize(s) * BYTES, tile.ptr, 8, 8 * T, 1);
          this.gemm([this.ptr(w), tile.ptr, this.ptr(y) + (n * s.Co * P + p0) * BYTES], T, 1, 0, 0, P, s.Co, pc, T, false, 8 * T);
        }
      });
    } finally {
      this.release(tile);
    }
    return y;
  }

  conv3dBackwardData(g: Storage, w: Storage, s: ConvSpec): Storage {
    const T = taps(s);
    const P = positions(s);
    const dx = this.alloc(s.N * inputSize(s));
    if (WasmBackend.directData(s)) {
      const wp = this.packDirect(w, s, true);
      const before = s.padding.map((p, i) => s.dilation[i] * (s.kernel[i] - 1) - p) as unknown as Triple;
      try {
        this.direct(this.ptr(g), s.Co, s.outShape, before, this.ptr(dx), s.Ci, s.inShape, s.kernel, s.dilation, wp.ptr, s.N, true);
      } finally {
        this.heap.release(wp.ptr, wp.bytes);
      }
      return dx;
    }
    this.f(dx).fill(0);
    const dtile = this.alloc(T * this.chunk(s));
    try {
      this.forEachChunk(s, (p0, pc, cols) => {
        for (let n = 0; n < s.N; n++) {
          // dtile[T × pc] = Wᵀ·G[:, chunk]: A(t, co) = w[co·T + t].
          this.gemm([this.ptr(w), this.ptr(g) + (n * s.Co * P + p0) * BYTES, dtile.ptr], 1, T, P, 1, pc, T, pc, s.Co, false);
          cols('col2im', this.ptr(dx) + n * inputSize(s) * BYTES, dtile.ptr, pc, 1, 0);
        }
      });
    } finally {
      this.release(dtile);
    }
    return dx;
  }

  conv3dBackwardFilter(g: Storage, x: Storage, s: ConvSpec): Storage {
    const T = taps(s);
    const P = positions(s);
    const dw = this.alloc(s.Co * T);
    // The sum runs over every output position and can cancel by 10⁶ (see gemmAcc64 in
    // kernels.wat): it is accumulated in float64, over all chunks, and rounded once.
    const dw64 = this.heap.alloc(s.Co * T * 8);
    new Float64Array(this.mem.buffer, dw64, s.Co * T).fill(0);
    // The tile is the GEMM's B = tileᵀ [chunk × T], written by im2col straight into 8-column panels.
    const chunk = this.chunk(s);
    const tile = this.alloc(ceil8(T) * chunk);
    try {
      this.forEachChunk(s, (p0, pc, cols) => {
        for (let n = 0; n < s.N; n++) {
          this.zero(tile.ptr, ceil8(T) * pc);
          cols('im2col', this.ptr(x) + n * inputSize(s) * BYTES, tile.ptr, 8 * pc, 8, 2);
          // dW[Co × T] += G[:, chunk]·tileᵀ.
          const serial = s.Co * T * pc < PARALLEL_MIN_MACS;
          this.threads.run('gemmAcc64', [this.ptr(g) + (n * s.Co * P + p0) * BYTES, P, 1, tile.ptr, 0, 0, dw64, T, s.Co, T, pc, s.Co > T ? 1 : 0, 8 * pc, this.scratch], serial);
        }
      });
      this.f(dw).set(new Float64Array(this.mem.buffer, dw64, s.Co * T));
    } finally {
      this.release(tile);
      this.heap.release(dw64, s.Co * T * 8);
    }
    return dw;
  }

  /**
   * Runs a depthwise kernel over the spatial tap runs of one channel (tapRuns with Ci = 1),
   * reordered by output row with the taps in order within a row, uploaded: each output row is
   * finished in one visit, where tap order makes 9 passes over each plane for a 3×3 kernel
   * (256 KiB at 256²); the two orders were not timed against each other. Every element still
   * sums its taps in tap order.
   */
  private depthwiseRuns(s: ConvSpec, fn: (runs: number, nruns: number) => void): void {
    const runs = tapRuns({ ...s, Ci: 1 }, 0, positions(s));
    const n = runs.length / RUN;
    const OW = s.outShape[2];
    const row = (i: number) => Math.floor(runs[i * RUN + 1] / OW);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => row(a) - row(b) || a - b);
    const ptr = this.heap.alloc(Math.max(1, n * RUN) * 4);
    try {
      const t = this.i32(ptr, n * RUN);
      order.forEach((i, k) => t.set(runs.subarray(i * RUN, (i + 1) * RUN), k * RUN));
      fn(ptr, n);
    } finally {
      this.heap.release(ptr, Math.max(1, n * RUN) * 4);
    }
  }

  // Depthwise convolutions (kernels.wat "depthwise*"): whole planes (n, c), or for the filter
  // gradient whole channels, per thread; forward and data gradient summed in float32, the filter
  // gradient in float64 and rounded once (bounds in wasm.test.ts).
  depthwiseConv(x: Storage, w: Storage, s: ConvSpec): Storage {
    const P = positions(s);
    const y = this.alloc(s.N * s.Co * P);
    const planes = s.N * s.Co;
    this.depthwiseRuns(s, (runs, nruns) =>
      this.threads.run('depthwise', [runs, nruns, planes, s.Co, filterTaps(s), planeSize(s), P, s.stride[2], this.ptr(x), this.ptr(w), this.ptr(y)], planes < 2 || y.size < PARALLEL_MIN_ELEMENTS),
    );
    return y;
  }
  depthwiseConvBackwardData(g: Storage, w: Storage, s: ConvSpec): Storage {
    const dx = this.alloc(s.N * inputSize(s));
    const planes = s.N * s.Ci;
    this.depthwiseRuns(s, (runs, nruns) =>
      this.threads.run('depthwiseData', [runs, nruns, planes, s.Ci, filterTaps(s), planeSize(s), positions(s), s.stride[2], this.ptr(g), this.ptr(w), this.ptr(dx)], planes < 2 || dx.size < PARALLEL_MIN_ELEMENTS),
    );
    return dx;
  }
  depthwiseConvBackwardFilter(g: Storage, x: Storage, s: ConvSpec): Storage {
    const kk = filterTaps(s);
    const dw = this.alloc(s.Co * kk);
    const acc = this.heap.alloc(s.Co * kk * 8);
    try {
      this.depthwiseRuns(s, (runs, nruns) =>
        this.threads.run(
          'depthwiseFilter',
          [runs, nruns, s.N, s.Co, kk, planeSize(s), positions(s), s.stride[2], this.ptr(g), this.ptr(x), acc, this.ptr(dw)],
          s.Co < 2 || s.N * s.Co * positions(s) < PARALLEL_MIN_ELEMENTS,
        ),
      );
    } finally {
      this.heap.release(acc, s.Co * kk * 8);
    }
    return dw;
  }

  memory(): MemoryStats {
    return { liveStorages: this.live, liveBytes: this.heap.liveBytes, pooledBytes: this.heap.pooledBytes, peakBytes: this.heap.peakBytes };
  }
  resetPeak(): void {
    this.heap.resetPeak();
  }
  async sync(): Promise<void> {}
  dispose(): void {
    this.threads.dispose();
    this.disposed = true;
  }
}

/** An engine on the wasm backend (one thread unless `spawn` and `threads` say otherwise). */
export async function createWasmEngine(opts: WasmEngineOptions = {}): Promise<Engine> {
  return new Engine(await WasmBackend.create(opts));
}
