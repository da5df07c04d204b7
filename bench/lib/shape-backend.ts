/**
 * A measuring backend: it implements the engine's kernel contract with storages that have a
 * size and no data, so the real op layer (shapes, autograd, tidy scopes, the models' own
 * disposal) runs at any input size in seconds while every allocation is counted at float32
 * (4 bytes/element, the WebGPU engine's dtype). Reads return zeros. What it cannot see: the
 * WebGPU backend's buffer-pool rounding and caching, and kernel-internal scratch buffers.
 */
import type {
  AdamHyper, Backend, BinaryOp, ConvSpec, IndexStorage, MatmulSpec, MemoryStats, ReduceSpec, SoftmaxSpec, Storage, StridedView, UnaryOp,
} from '../../src/engine/backend';
import { Engine } from '../../src/engine';

const F32 = 4;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

class Sized implements Storage {
  constructor(readonly size: number, readonly label: string) {}
}

export class ShapeBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly dtype = 'f32' as const;
  readonly description = 'shape-only measuring backend (float32 accounting, no arithmetic)';
  private live = 0;
  private liveBytes = 0;
  private peak = 0;
  /** Largest single storage allocated, in elements, and what made it. */
  largest = { size: 0, label: '' };
  /** Storages above the given binding size (bytes), counted per allocation. */
  private readonly limits: number[];
  readonly over = new Map<number, number>();

  constructor(readonly maxElements = 2 ** 31 - 1, bindingLimitsBytes: number[] = []) {
    this.limits = bindingLimitsBytes;
  }

  private make(size: number, label: string): Storage {
    this.live++;
    this.liveBytes += size * F32;
    this.peak = Math.max(this.peak, this.liveBytes);
    if (size > this.largest.size) this.largest = { size, label };
    for (const l of this.limits) if (size * F32 > l) this.over.set(l, (this.over.get(l) ?? 0) + 1);
    return new Sized(size, label);
  }

  upload(data: ArrayLike<number>, label: string): Storage {
    return this.make(data.length, label);
  }
  fill(size: number, _value: number, label: string): Storage {
    return this.make(size, label);
  }
  async read(s: Storage): Promise<Float32Array> {
    return new Float32Array(s.size);
  }
  release(s: Storage): void {
    this.live--;
    this.liveBytes -= s.size * F32;
  }
  uploadIndex(data: Int32Array): IndexStorage {
    return { size: data.length, host: data };
  }
  releaseIndex(): void {}

  unary(_op: UnaryOp, x: Storage): Storage {
    return this.make(x.size, 'unary');
  }
  binary(op: BinaryOp, _a: Storage, _b: Storage, outShape: readonly number[]): Storage {
    return this.make(prod(outShape), op);
  }
  copy(_x: Storage, v: StridedView): Storage {
    return this.make(prod(v.shape), 'copy');
  }
  writeInto(): void {}
  reduceSum(_x: Storage, spec: ReduceSpec): Storage {
    return this.make(prod(spec.outShape), 'reduceSum');
  }
  matmul(_a: Storage, _b: Storage, s: MatmulSpec): Storage {
    return this.make(prod(s.batchShape) * s.M * s.N, 'matmul');
  }
  softmax(x: Storage, _spec: SoftmaxSpec): Storage {
    return this.make(x.size, 'softmax');
  }
  softmaxBackward(y: Storage): Storage {
    return this.make(y.size, 'softmaxBackward');
  }
  normalize(x: Storage, rows: number): { xhat: Storage; rstd: Storage } {
    return { xhat: this.make(x.size, 'normalize'), rstd: this.make(rows, 'rstd') };
  }
  normalizeBackward(xhat: Storage): Storage {
    return this.make(xhat.size, 'normalizeBackward');
  }
  conv3d(_x: Storage, _w: Storage, s: ConvSpec): Storage {
    return this.make(s.N * s.Co * prod(s.outShape), 'conv3d');
  }
  conv3dBackwardData(_g: Storage, _w: Storage, s: ConvSpec): Storage {
    return this.make(s.N * s.Ci * prod(s.inShape), 'conv3dBackwardData');
  }
  conv3dBackwardFilter(_g: Storage, _x: Storage, s: ConvSpec): Storage {
    return this.make(s.Co * s.Ci * prod(s.kernel), 'conv3dBackwardFilter');
  }
  depthwiseConv(_x: Storage, _w: Storage, s: ConvSpec): Storage {
    return this.make(s.N * s.Co * prod(s.outShape), 'depthwiseConv');
  }
  depthwiseConvBackwardData(_g: Storage, _w: Storage, s: ConvSpec): Storage {
    return this.make(s.N * s.Ci * prod(s.inShape), 'depthwiseConvBackwardData');
  }
  depthwiseConvBackwardFilter(_g: Storage, _x: Storage, s: ConvSpec): Storage {
    return this.make(s.Co * prod(s.kernel), 'depthwiseConvBackwardFilter');
  }
  roll(x: Storage): Storage {
    return this.make(x.size, 'roll');
  }
  gatherRows(_t: Storage, index: IndexStorage, cols: number): Storage {
    return this.make(index.size * cols, 'gatherRows');
  }
  scatterAddRows(_g: Storage, _i: IndexStorage, rows: number, cols: number): Storage {
    return this.make(rows * cols, 'scatterAddRows');
  }
  adamStep(_p: Storage, _g: Storage, _m: Storage, _v: Storage, _vmax: Storage | null, _h: AdamHyper): void {}

  memory(): MemoryStats {
    return { liveStorages: this.live, liveBytes: this.liveBytes, pooledBytes: 0, peakBytes: this.peak };
  }
  resetPeak(): void {
    this.peak = this.liveBytes;
    this.largest = { size: 0, label: '' };
    this.over.clear();
  }
  async sync(): Promise<void> {}
  dispose(): void {}
}

export function createShapeEngine(bindingLimitsBytes: number[] = []): { engine: Engine; backend: ShapeBackend } {
  const backend = new ShapeBackend(2 ** 31 - 1, bindingLimitsBytes);
  return { engine: new Engine(backend), backend };
}
