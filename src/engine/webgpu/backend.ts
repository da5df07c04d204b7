/**
 * The WebGPU backend: float32 storages in pooled GPU buffers, WGSL kernels encoded into one
 * command encoder that is submitted every FLUSH_EVERY dispatches or when the host needs a
 * result. Kernel parameters go to a 256-byte slot of a uniform ring written just before submit.
 */
import type {
  AdamHyper, Backend, BinaryOp, ConvSpec, IndexStorage, MatmulSpec, MemoryStats, ReduceSpec, SoftmaxSpec, Storage, StridedView, UnaryOp,
} from '../backend';
import type { EngineDevice } from '../device';
import { Engine } from '../engine';
import { DeviceLostError, DisposedError, EngineLimitError, OutOfMemoryError } from '../errors';
import { sizeOf, stridesOf } from '../shape';
import { BufferPool, bucketBytes } from './pool';
import { adamKernel, binaryKernel, fillKernel, unaryKernel } from './kernels/elementwise';
import {
  chooseTile, convBackwardDataVariant, convBackwardFilterVariant, convForwardVariant, gemmKernel, matmulVariant, type GemmVariant,
} from './kernels/gemm';
import { depthwiseBackwardDataKernel, depthwiseBackwardFilterKernel, depthwiseForwardKernel } from './kernels/depthwise';
import { copyKernel, gatherRowsKernel, rollKernel, scatterRowsKernel, writeIntoKernel } from './kernels/layout';
import { normalizeBackwardKernel, normalizeKernel, reduceSumKernel, softmaxBackwardKernel, softmaxKernel } from './kernels/reduce';
import { grid1d, Params, PARAM_WORDS, WG } from './wgsl';

const F32 = 4;
const SLOT_BYTES = PARAM_WORDS * 4;
const RING_SLOTS = 256;
/** Submit after this many dispatches so the GPU starts early and released buffers return to the pool. */
const FLUSH_EVERY = 32;
/** Reductions with at most this many terms per output run one thread per output. */
const SMALL_REDUCTION = 32;
/** Target workgroup count when splitting a convolution's filter-gradient GEMM along K. */
const SPLIT_K_TARGET_GROUPS = 512;

class GpuStorage implements Storage {
  constructor(public buffer: GPUBuffer | null, readonly size: number, readonly bucket: number) {}
  get buf(): GPUBuffer {
    if (!this.buffer) throw new DisposedError('GPU storage used after release');
    return this.buffer;
  }
}

class GpuIndex implements IndexStorage {
  csr = new Map<number, { off: GpuStorage; pos: GpuStorage }>();
  constructor(readonly store: GpuStorage, readonly host: Int32Array) {}
  get size(): number {
    return this.host.length;
  }
}

export class WebGPUBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly dtype = 'f32' as const;
  readonly description: string;
  readonly maxElements: number;
  private readonly device: GPUDevice;
  private readonly pool: BufferPool;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private readonly uniform: GPUBuffer;
  private readonly stage = new Uint32Array(RING_SLOTS * PARAM_WORDS);
  private slot = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  private pendingFree: { buffer: GPUBuffer; bucket: number }[] = [];
  private errors: { filter: GPUErrorFilter; p: Promise<GPUError | null> }[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  private live = 0;
  private liveBytes = 0;
  private peak = 0;

  constructor(readonly dev: EngineDevice) {
    this.device = dev.device;
    this.description = `webgpu: ${dev.description}`;
    const bind = Math.min(dev.limits.maxStorageBufferBindingSize, dev.limits.maxBufferSize);
    this.maxElements = Math.floor(bind / F32);
    this.pool = new BufferPool(this.device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    this.uniform = this.device.createBuffer({ size: RING_SLOTS * SLOT_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'params ring' });
    void dev.lost.then((info) => {
      this.lostInfo = info;
    });
  }

  // ---- device plumbing -------------------------------------------------------------------

  private checkLost(): void {
    if (this.lostInfo) throw new DeviceLostError(this.lostInfo.reason, `the GPU device was lost (${this.lostInfo.reason}): ${this.lostInfo.message || 'no message'}; create a new engine`);
  }

  private openBatch(): GPUCommandEncoder {
    this.checkLost();
    if (!this.encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits queued work; buffers released meanwhile return to the pool. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.slot > 0) this.device.queue.writeBuffer(this.uniform, 0, this.stage, 0, this.slot * PARAM_WORDS);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slot = 0;
    this.dispatches = 0;
    this.errors.push({ filter: 'validation', p: this.device.popErrorScope() });
    this.errors.push({ filter: 'out-of-memory', p: this.device.popErrorScope() });
    for (const f of this.pendingFree) this.pool.give(f.buffer, f.bucket);
    this.pendingFree = [];
  }

  private async checkErrors(): Promise<void> {
    const errs = this.errors;
    this.errors = [];
    for (const { filter, p } of errs) {
      const e = await p;
      if (!e) continue;
      if (filter === 'out-of-memory') throw new OutOfMemoryError(`the GPU ran out of memory: ${e.message}`);
      throw new Error(`WebGPU error (an engine bug): ${e.message}`);
    }
    this.checkLost();
  }

  private alloc(size: number, label: string): GpuStorage {
    this.openBatch();
    if (size > this.maxElements) throw new EngineLimitError(`${label}: ${size} float32 values exceed this device's largest binding (${this.maxElements * F32} bytes)`);
    // Never round a near-limit request past what the device can allocate.
    const bucket = Math.min(bucketBytes(size * F32), Math.floor(this.dev.limits.maxBufferSize / F32) * F32);
    const { buffer } = this.pool.acquire(bucket, label);
    this.live++;
    this.liveBytes += bucket;
    this.peak = Math.max(this.peak, this.liveBytes + this.pool.pooledBytes + this.pendingBytes());
    return new GpuStorage(buffer, size, bucket);
  }

  private pendingBytes(): number {
    let n = 0;
    for (const s of this.pendingFree) n += s.bucket;
    return n;
  }

  private pipeline(code: string): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(code, p);
    }
    return p;
  }

  private dispatch(op: string, code: string, buffers: readonly GpuStorage[], params: Params, groups: readonly [number, number, number]): void {
    const max = this.dev.limits.maxComputeWorkgroupsPerDimension;
    if (groups.some((g) => g > max)) throw new EngineLimitError(`${op}: needs [${groups}] workgroups; this device allows ${max} per dimension`);
    if (groups.some((g) => g === 0)) return;
    if (this.slot === RING_SLOTS) this.flush();
    const enc = this.openBatch();
    const { pipeline, layout } = this.pipeline(code);
    this.stage.set(params.words, this.slot * PARAM_WORDS);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniform, offset: this.slot * SLOT_BYTES, size: SLOT_BYTES } }];
    buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buf, offset: 0, size: Math.max(b.size, 1) * F32 } }));
    const bindGroup = this.device.createBindGroup({ layout, entries });
    this.pass ??= enc.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.slot++;
    if (++this.dispatches >= FLUSH_EVERY) this.flush();
  }

  private grid(threads: number): [number, number, number] {
    return grid1d(Math.ceil(threads / WG), this.dev.limits.maxComputeWorkgroupsPerDimension);
  }
  private rowsGrid(rows: number): [number, number, number] {
    return grid1d(rows, this.dev.limits.maxComputeWorkgroupsPerDimension);
  }

  private s(x: Storage): GpuStorage {
    return x as GpuStorage;
  }

  // ---- memory --------------------------------------------------------------------------

  upload(data: ArrayLike<number>, label: string): Storage {
    const s = this.alloc(data.length, label);
    if (data.length) this.device.queue.writeBuffer(s.buf, 0, Float32Array.from(data));
    return s;
  }

  fill(size: number, value: number, label: string): Storage {
    const s = this.alloc(size, label);
    this.dispatch('fill', fillKernel(), [s], new Params().u(size).f32(value), this.grid(size));
    return s;
  }

  async read(x: Storage): Promise<Float32Array> {
    const s = this.s(x);
    const bytes = s.size * F32;
    if (bytes === 0) return new Float32Array(0);
    const enc = this.openBatch();
    this.endPass();
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    enc.copyBufferToBuffer(s.buf, 0, staging, 0, bytes);
    this.flush();
    const lost = this.dev.lost.then((info) => {
      throw new DeviceLostError(info.reason, `the GPU device was lost (${info.reason}) while reading back; create a new engine`);
    });
    try {
      await Promise.race([staging.mapAsync(GPUMapMode.READ), lost]);
      const out = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return out;
    } catch (e) {
      await this.checkErrors();
      throw e;
    } finally {
      staging.destroy();
      await this.checkErrors();
    }
  }

  release(x: Storage): void {
    const s = this.s(x);
    const buffer = s.buffer;
    if (!buffer) return;
    s.buffer = null;
    this.live--;
    this.liveBytes -= s.bucket;
    // Work still unsubmitted may read it: it returns to the pool at the next flush.
    if (this.encoder) this.pendingFree.push({ buffer, bucket: s.bucket });
    else this.pool.give(buffer, s.bucket);
  }

  uploadIndex(data: Int32Array, label: string): IndexStorage {
    const s = this.alloc(data.length, label);
    const host = data.slice();
    if (host.length) this.device.queue.writeBuffer(s.buf, 0, host);
    return new GpuIndex(s, host);
  }

  releaseIndex(x: IndexStorage): void {
    const ix = x as GpuIndex;
    this.release(ix.store);
    for (const { off, pos } of ix.csr.values()) {
      this.release(off);
      this.release(pos);
    }
    ix.csr.clear();
  }

  memory(): MemoryStats {
    return { liveStorages: this.live, liveBytes: this.liveBytes, pooledBytes: this.pool.pooledBytes + this.pendingBytes(), peakBytes: this.peak };
  }
  resetPeak(): void {
    this.peak = this.liveBytes + this.pool.pooledBytes + this.pendingBytes();
  }
  /** Frees pooled buffers back to the device. */
  trimPool(): void {
    this.flush();
    this.pool.trim();
  }

  async sync(): Promise<void> {
    this.flush();
    const lost = this.dev.lost.then((info) => {
      throw new DeviceLostError(info.reason, `the GPU device was lost (${info.reason}); create a new engine`);
    });
    await Promise.race([this.device.queue.onSubmittedWorkDone(), lost]);
    await this.checkErrors();
  }

  dispose(): void {
    this.flush();
    this.pool.trim();
    this.uniform.destroy();
  }

  // ---- kernels -------------------------------------------------------------------------

  unary(op: UnaryOp, x: Storage, p0: number, p1: number): Storage {
    const xs = this.s(x);
    const y = this.alloc(xs.size, op);
    this.dispatch(op, unaryKernel(op), [xs, y], new Params().u(xs.size).f32(p0, p1), this.grid(xs.size));
    return y;
  }

  binary(op: BinaryOp, a: Storage, b: Storage, outShape: readonly number[], sa: readonly number[], sb: readonly number[], p0: number): Storage {
    const n = sizeOf(outShape);
    const y = this.alloc(n, op);
    const st = stridesOf(outShape);
    const contiguous = sa.every((v, i) => v === st[i]) && sb.every((v, i) => v === st[i]);
    const p = new Params().u(n).f32(p0).u(...outShape, ...sa, ...sb);
    this.dispatch(op, binaryKernel(op, outShape.length, contiguous), [this.s(a), this.s(b), y], p, this.grid(n));
    return y;
  }

  copy(x: Storage, v: StridedView): Storage {
    const n = sizeOf(v.shape);
    const y = this.alloc(n, 'copy');
    this.dispatch('copy', copyKernel(v.shape.length), [this.s(x), y], new Params().u(n, v.offset, ...v.shape, ...v.strides), this.grid(n));
    return y;
  }

  writeInto(dst: Storage, src: Storage, v: StridedView): void {
    const n = sizeOf(v.shape);
    this.dispatch('writeInto', writeIntoKernel(v.shape.length), [this.s(src), this.s(dst)], new Params().u(n, v.offset, ...v.shape, ...v.strides), this.grid(n));
  }

  reduceSum(x: Storage, spec: ReduceSpec): Storage {
    const outN = sizeOf(spec.outShape);
    const redN = sizeOf(spec.redShape);
    const y = this.alloc(outN, 'sum');
    const p = new Params().u(outN, redN, ...spec.outShape, ...spec.outStrides, ...spec.redShape, ...spec.redStrides);
    const small = redN <= SMALL_REDUCTION;
    const size = redN >= 4096 ? 256 : 64;
    const code = reduceSumKernel(spec.outShape.length, spec.redShape.length, small, size);
    this.dispatch('sum', code, [this.s(x), y], p, small ? this.grid(outN) : this.rowsGrid(outN));
    return y;
  }

  private gemm(op: string, v: GemmVariant, buffers: GpuStorage[], p: Params, M: number, N: number, z: number): void {
    const t = chooseTile(M, N);
    this.dispatch(op, gemmKernel(v, t), buffers, p, [Math.ceil(N / t.TN), Math.ceil(M / t.TM), z]);
  }

  matmul(a: Storage, b: Storage, s: MatmulSpec): Storage {
    const batch = sizeOf(s.batchShape);
    const y = this.alloc(batch * s.M * s.N, 'matmul');
    const p = new Params().u(s.M, s.N, s.K, ...s.batchShape, ...s.aBatchStrides, ...s.bBatchStrides);
    this.gemm('matmul', matmulVariant(s.batchShape.length, s.transA, s.transB), [this.s(a), this.s(b), y], p, s.M, s.N, batch);
    return y;
  }

  conv3d(x: Storage, w: Storage, s: ConvSpec): Storage {
    const P = sizeOf(s.outShape);
    const K = s.Ci * sizeOf(s.kernel);
    const y = this.alloc(s.N * s.Co * P, 'conv3d');
    this.gemm('conv3d', convForwardVariant(s), [this.s(w), this.s(x), y], new Params().u(s.Co, P, K), s.Co, P, s.N);
    return y;
  }

  conv3dBackwardData(g: Storage, w: Storage, s: ConvSpec): Storage {
    const Q = sizeOf(s.inShape);
    const K = s.Co * sizeOf(s.kernel);
    const dx = this.alloc(s.N * s.Ci * Q, 'conv3d.dx');
    this.gemm('conv3d.dx', convBackwardDataVariant(s), [this.s(w), this.s(g), dx], new Params().u(s.Ci, Q, K), s.Ci, Q, s.N);
    return dx;
  }

  conv3dBackwardFilter(g: Storage, x: Storage, s: ConvSpec): Storage {
    const cols = s.Ci * sizeOf(s.kernel);
    const K = s.N * sizeOf(s.outShape);
    const M = s.Co;
    const t = chooseTile(M, cols);
    const tiles = Math.ceil(M / t.TM) * Math.ceil(cols / t.TN);
    let splits = Math.max(1, Math.min(Math.ceil(SPLIT_K_TARGET_GROUPS / tiles), Math.ceil(K / 256), this.dev.limits.maxComputeWorkgroupsPerDimension));
    splits = Math.max(1, Math.min(splits, Math.floor(this.maxElements / (M * cols))));
    const chunk = Math.ceil(Math.ceil(K / splits) / t.TK) * t.TK;
    splits = Math.ceil(K / chunk);
    const part = this.alloc(splits * M * cols, 'conv3d.dw');
    this.gemm('conv3d.dw', convBackwardFilterVariant(s), [this.s(g), this.s(x), part], new Params().u(M, cols, K, chunk), M, cols, splits);
    if (splits === 1) return part;
    const dw = this.reduceSum(part, { outShape: [M * cols], outStrides: [1], redShape: [splits], redStrides: [M * cols] });
    this.release(part);
    return dw;
  }

  depthwiseConv(x: Storage, w: Storage, s: ConvSpec): Storage {
    const n = s.N * s.Co * sizeOf(s.outShape);
    const y = this.alloc(n, 'depthwiseConv');
    this.dispatch('depthwiseConv', depthwiseForwardKernel(s), [this.s(x), this.s(w), y], new Params().u(n), this.grid(n));
    return y;
  }

  depthwiseConvBackwardData(g: Storage, w: Storage, s: ConvSpec): Storage {
    const n = s.N * s.Ci * sizeOf(s.inShape);
    const dx = this.alloc(n, 'depthwiseConv.dx');
    this.dispatch('depthwiseConv.dx', depthwiseBackwardDataKernel(s), [this.s(g), this.s(w), dx], new Params().u(n), this.grid(n));
    return dx;
  }

  depthwiseConvBackwardFilter(g: Storage, x: Storage, s: ConvSpec): Storage {
    const rows = s.Co * sizeOf(s.kernel);
    const dw = this.alloc(rows, 'depthwiseConv.dw');
    const size = s.N * sizeOf(s.outShape) > 2048 ? 256 : 64;
    this.dispatch('depthwiseConv.dw', depthwiseBackwardFilterKernel(s, size), [this.s(g), this.s(x), dw], new Params().u(rows, s.N), this.rowsGrid(rows));
    return dw;
  }

  private softmaxParams(s: SoftmaxSpec): { p: Params; rows: number; small: boolean; size: number } {
    const rows = s.outer * s.inner;
    return { p: new Params().u(rows, s.len, s.inner), rows, small: s.len <= SMALL_REDUCTION, size: s.len > 2048 ? 256 : 64 };
  }

  softmax(x: Storage, spec: SoftmaxSpec): Storage {
    const { p, rows, small, size } = this.softmaxParams(spec);
    const y = this.alloc(spec.outer * spec.len * spec.inner, 'softmax');
    this.dispatch('softmax', softmaxKernel(spec.log, small, size), [this.s(x), y], p, small ? this.grid(rows) : this.rowsGrid(rows));
    return y;
  }

  softmaxBackward(y: Storage, g: Storage, spec: SoftmaxSpec): Storage {
    const { p, rows, small, size } = this.softmaxParams(spec);
    const d = this.alloc(spec.outer * spec.len * spec.inner, 'softmax.dx');
    this.dispatch('softmax.dx', softmaxBackwardKernel(spec.log, small, size), [this.s(y), this.s(g), d], p, small ? this.grid(rows) : this.rowsGrid(rows));
    return d;
  }

  normalize(x: Storage, rows: number, len: number, eps: number): { xhat: Storage; rstd: Storage } {
    const xhat = this.alloc(rows * len, 'normalize');
    const rstd = this.alloc(rows, 'normalize.rstd');
    const size = len > 2048 ? 256 : 64;
    this.dispatch('normalize', normalizeKernel(size), [this.s(x), xhat, rstd], new Params().u(rows, len).f32(eps), this.rowsGrid(rows));
    return { xhat, rstd };
  }

  normalizeBackward(xhat: Storage, rstd: Storage, g: Storage, rows: number, len: number): Storage {
    const d = this.alloc(rows * len, 'normalize.dx');
    const size = len > 2048 ? 256 : 64;
    this.dispatch('normalize.dx', normalizeBackwardKernel(size), [this.s(xhat), this.s(rstd), this.s(g), d], new Params().u(rows, len), this.rowsGrid(rows));
    return d;
  }

  roll(x: Storage, shape: readonly number[], shifts: readonly number[]): Storage {
    const n = sizeOf(shape);
    const y = this.alloc(n, 'roll');
    this.dispatch('roll', rollKernel(shape.length), [this.s(x), y], new Params().u(n, ...shape, ...shifts), this.grid(n));
    return y;
  }

  gatherRows(table: Storage, index: IndexStorage, cols: number): Storage {
    const n = index.size * cols;
    const y = this.alloc(n, 'gatherRows');
    this.dispatch('gatherRows', gatherRowsKernel(), [this.s(table), (index as GpuIndex).store, y], new Params().u(n, cols), this.grid(n));
    return y;
  }

  scatterAddRows(g: Storage, index: IndexStorage, tableRows: number, cols: number): Storage {
    const ix = index as GpuIndex;
    let csr = ix.csr.get(tableRows);
    if (!csr) {
      // Inverse index: positions grouped by table row (counting sort), built once per index.
      const off = new Int32Array(tableRows + 1);
      for (const r of ix.host) off[r + 1]++;
      for (let r = 0; r < tableRows; r++) off[r + 1] += off[r];
      const pos = new Int32Array(ix.host.length);
      const fillAt = off.slice(0, tableRows);
      ix.host.forEach((r, i) => (pos[fillAt[r]++] = i));
      const o = this.alloc(off.length, 'csr.offsets');
      const p = this.alloc(pos.length, 'csr.positions');
      this.device.queue.writeBuffer(o.buf, 0, off);
      if (pos.length) this.device.queue.writeBuffer(p.buf, 0, pos);
      csr = { off: o, pos: p };
      ix.csr.set(tableRows, csr);
    }
    const n = tableRows * cols;
    const y = this.alloc(n, 'scatterAddRows');
    this.dispatch('scatterAddRows', scatterRowsKernel(), [this.s(g), csr.off, csr.pos, y], new Params().u(n, cols), this.grid(n));
    return y;
  }

  adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vmax: Storage | null, h: AdamHyper): void {
    const ps = this.s(p);
    const bufs = [ps, this.s(g), this.s(m), this.s(v), ...(vmax ? [this.s(vmax)] : [])];
    const prm = new Params().u(ps.size).f32(h.lr, h.beta1, h.beta2, h.eps, h.l2, h.decoupled, h.bias1, h.bias2);
    this.dispatch('adam', adamKernel(h.amsgrad), bufs, prm, this.grid(ps.size));
  }
}

/** An engine running WGSL kernels on `device` (from requestEngineDevice or requestNodeDevice). */
export function createWebGPUEngine(device: EngineDevice): Engine {
  return new Engine(new WebGPUBackend(device));
}
