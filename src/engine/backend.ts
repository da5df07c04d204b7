/**
 * The kernel contract every backend implements: `cpu` (float64 loops, the reference) and
 * `webgpu` (WGSL, float32). Storages are contiguous, row-major, owned by the backend; the op
 * layer (`ops/`) does shapes, validation and autograd once for both.
 */

/** Opaque device memory holding `size` elements of the backend's dtype. */
export interface Storage {
  readonly size: number;
}

/** An int32 index array on the device (gather indices). Constant once uploaded. */
export interface IndexStorage {
  readonly size: number;
  /** The host copy, kept for validation and for building the scatter (backward) index. */
  readonly host: Int32Array;
}

export type Dtype = 'f32' | 'f64';

/** y = f(x), elementwise. `p0`/`p1` are op parameters: leakyRelu slope; affine y = p0·x + p1. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'square' | 'reciprocal'
  | 'relu' | 'leakyRelu' | 'gelu' | 'erf' | 'sigmoid' | 'tanh' | 'affine';

/**
 * z = f(a, b) with broadcasting. The `*Grad` ops take a = the activation's input x and
 * b = the upstream gradient g, and return g·f'(x) (p0 = leakyRelu slope).
 */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'reluGrad' | 'leakyReluGrad' | 'geluGrad';

/** Reads `x[offset + Σ idx[d]·strides[d]]` for every index of `shape` (C order). */
export interface StridedView {
  readonly shape: readonly number[];
  readonly offset: number;
  readonly strides: readonly number[];
}

/** out[o] = Σ_r x[Σ o_d·outStrides_d + Σ r_d·redStrides_d], out contiguous over outShape. */
export interface ReduceSpec {
  readonly outShape: readonly number[];
  readonly outStrides: readonly number[];
  readonly redShape: readonly number[];
  readonly redStrides: readonly number[];
}

/**
 * Batched C[b] = op(A[b])·op(B[b]), C contiguous [batch…, M, N]. A is stored [M,K]
 * (or [K,M] when transA), B [K,N] (or [N,K] when transB); per-batch element offsets come
 * from `batchShape` with `aBatchStrides`/`bBatchStrides` (0 where broadcast).
 */
export interface MatmulSpec {
  readonly batchShape: readonly number[];
  readonly aBatchStrides: readonly number[];
  readonly bBatchStrides: readonly number[];
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

/** Softmax along one axis of a tensor viewed as [outer, len, inner]. */
export interface SoftmaxSpec {
  readonly outer: number;
  readonly len: number;
  readonly inner: number;
  /** log-softmax instead of softmax. */
  readonly log: boolean;
}

/** 3-D convolution geometry. x [N,Ci,…in], w [Co,Ci,…kernel], y [N,Co,…out]. */
export interface ConvSpec {
  readonly N: number;
  readonly Ci: number;
  readonly Co: number;
  readonly inShape: readonly [number, number, number];
  readonly outShape: readonly [number, number, number];
  readonly kernel: readonly [number, number, number];
  readonly stride: readonly [number, number, number];
  /** Zero padding before each spatial axis (after-padding is implied by outShape). */
  readonly padding: readonly [number, number, number];
  readonly dilation: readonly [number, number, number];
}

export interface AdamHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Coupled L2 decay (torch.optim.Adam): g += wd·p before the moments. */
  readonly l2: number;
  /** Decoupled decay (AdamW): p -= lr·wd·p before the update. */
  readonly decoupled: number;
  /** 1 − beta^t for the current step t. */
  readonly bias1: number;
  readonly bias2: number;
  readonly amsgrad: boolean;
}

export interface MemoryStats {
  /** Storages (tensors, index arrays, optimiser state) alive now. */
  readonly liveStorages: number;
  readonly liveBytes: number;
  /** Bytes held by the buffer pool for reuse (0 on cpu). */
  readonly pooledBytes: number;
  /** Highest live + pooled bytes seen since creation or `resetPeak()`. */
  readonly peakBytes: number;
}

export interface Backend {
  readonly kind: 'cpu' | 'webgpu' | 'wasm';
  readonly dtype: Dtype;
  /** The device in words, for benchmark tables and diagnostics. */
  readonly description: string;
  /** Most elements one storage may hold (binding-size limit on WebGPU). */
  readonly maxElements: number;

  upload(data: ArrayLike<number>, label: string): Storage;
  fill(size: number, value: number, label: string): Storage;
  read(s: Storage): Promise<Float32Array | Float64Array>;
  release(s: Storage): void;
  uploadIndex(data: Int32Array, label: string): IndexStorage;
  releaseIndex(s: IndexStorage): void;

  unary(op: UnaryOp, x: Storage, p0: number, p1: number): Storage;
  binary(op: BinaryOp, a: Storage, b: Storage, outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[], p0: number): Storage;
  /** Materialises a strided view of `x` as a new contiguous storage. */
  copy(x: Storage, view: StridedView): Storage;
  /** dst[view(i)] = src[i] for every i of view.shape, in place (views never overlap themselves). */
  writeInto(dst: Storage, src: Storage, view: StridedView): void;
  reduceSum(x: Storage, spec: ReduceSpec): Storage;
  matmul(a: Storage, b: Storage, spec: MatmulSpec): Storage;
  softmax(x: Storage, spec: SoftmaxSpec): Storage;
  /** Given y = (log)softmax(x) and g = dL/dy, returns dL/dx. */
  softmaxBackward(y: Storage, g: Storage, spec: SoftmaxSpec): Storage;
  /** Per row of length len: xhat = (x − mean)·rstd, rstd = 1/sqrt(var + eps) (biased var). */
  normalize(x: Storage, rows: number, len: number, eps: number): { xhat: Storage; rstd: Storage };
  /** dx = rstd·(g − mean(g) − xhat·mean(g·xhat)) per row. */
  normalizeBackward(xhat: Storage, rstd: Storage, g: Storage, rows: number, len: number): Storage;
  conv3d(x: Storage, w: Storage, spec: ConvSpec): Storage;
  conv3dBackwardData(g: Storage, w: Storage, spec: ConvSpec): Storage;
  conv3dBackwardFilter(g: Storage, x: Storage, spec: ConvSpec): Storage;
  /**
   * Depthwise convolution (groups = channels, one filter per channel): x [N, C, …in],
   * w [C, 1, …kernel], y [N, C, …out], with spec.Ci = spec.Co = C.
   */
  depthwiseConv(x: Storage, w: Storage, spec: ConvSpec): Storage;
  depthwiseConvBackwardData(g: Storage, w: Storage, spec: ConvSpec): Storage;
  depthwiseConvBackwardFilter(g: Storage, x: Storage, spec: ConvSpec): Storage;
  /** Cyclic shift: out[(i + shift) mod n] = x[i] along each axis. */
  roll(x: Storage, shape: readonly number[], shifts: readonly number[]): Storage;
  /** out[i, :] = table[index[i], :], table [rows, cols]. */
  gatherRows(table: Storage, index: IndexStorage, cols: number): Storage;
  /** out[r, :] = Σ_{i: index[i] = r} g[i, :], out [tableRows, cols]. */
  scatterAddRows(g: Storage, index: IndexStorage, tableRows: number, cols: number): Storage;
  /** One Adam/AdamW step, in place on p, m, v (and vmax when amsgrad). */
  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vmax: Storage | null, h: AdamHyper): void;

  memory(): MemoryStats;
  resetPeak(): void;
  /** Resolves when all submitted work has finished (and surfaces device errors). */
  sync(): Promise<void>;
  dispose(): void;
}
