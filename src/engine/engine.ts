import type { Backend, IndexStorage, MemoryStats } from './backend';
import { DisposedError, EngineLimitError, ShapeError } from './errors';
import { checkShape, fmt, sizeOf, type Shape } from './shape';
import { wrap, type Tensor, type TensorInit } from './tensor';
import { uniformStream } from '../core/random';

export { uniformStream };

/** Constant int32 indices on the device (e.g. Swin's relative_position_index). */
export class IndexTensor {
  private s: IndexStorage | null;
  constructor(readonly engine: Engine, storage: IndexStorage, readonly name: string) {
    this.s = storage;
  }
  get size(): number {
    return this.storage.size;
  }
  /** @internal */
  get storage(): IndexStorage {
    if (!this.s) throw new DisposedError(`index tensor "${this.name}" was used after dispose()`);
    return this.s;
  }
  dispose(): void {
    if (this.s) this.engine.backend.releaseIndex(this.s);
    this.s = null;
  }
}

/** One backend plus tensor factories. Ops take tensors and run on the tensors' backend. */
export class Engine {
  constructor(readonly backend: Backend) {}

  get kind(): Backend['kind'] {
    return this.backend.kind;
  }
  get description(): string {
    return this.backend.description;
  }

  private checkSize(shape: Shape, what: string): void {
    checkShape(shape, what);
    const n = sizeOf(shape);
    if (n > this.backend.maxElements) {
      throw new EngineLimitError(`${what}: ${fmt(shape)} has ${n} elements; this device holds at most ${this.backend.maxElements} per tensor`);
    }
  }

  /** A tensor from host values (rounded to float32 on webgpu). */
  tensor(data: ArrayLike<number>, shape: Shape, init: TensorInit = {}): Tensor {
    const what = `tensor ${init.name ?? ''}`.trim();
    this.checkSize(shape, what);
    if (data.length !== sizeOf(shape)) throw new ShapeError(`${what}: ${data.length} values for shape ${fmt(shape)}`);
    return wrap(this.backend, this.backend.upload(data, init.name ?? 'tensor'), shape, init);
  }

  full(shape: Shape, value: number, init: TensorInit = {}): Tensor {
    this.checkSize(shape, `full ${init.name ?? ''}`);
    return wrap(this.backend, this.backend.fill(sizeOf(shape), value, init.name ?? 'full'), shape, init);
  }
  zeros(shape: Shape, init: TensorInit = {}): Tensor {
    return this.full(shape, 0, init);
  }
  ones(shape: Shape, init: TensorInit = {}): Tensor {
    return this.full(shape, 1, init);
  }

  /** Host-generated normal values, rounded to float32 so cpu and webgpu see identical data. */
  randn(shape: Shape, opts: { seed: number; std?: number; mean?: number }, init: TensorInit = {}): Tensor {
    return this.tensor(randnArray(sizeOf(shape), opts.seed, opts.std ?? 1, opts.mean ?? 0), shape, init);
  }

  /** Uniform values in [low, high), rounded to float32. */
  rand(shape: Shape, opts: { seed: number; low?: number; high?: number }, init: TensorInit = {}): Tensor {
    const u = uniformStream(opts.seed);
    const lo = opts.low ?? 0;
    const hi = opts.high ?? 1;
    const a = new Float64Array(sizeOf(shape));
    for (let i = 0; i < a.length; i++) a[i] = Math.fround(lo + (hi - lo) * u());
    return this.tensor(a, shape, init);
  }

  /** A trainable leaf (requiresGrad), never disposed by `tidy`. */
  param(data: ArrayLike<number>, shape: Shape, name?: string): Tensor {
    return this.tensor(data, shape, { name, requiresGrad: true, untracked: true });
  }

  index(data: ArrayLike<number>, name = 'index'): IndexTensor {
    const a = Int32Array.from(data);
    for (let i = 0; i < a.length; i++) if (a[i] < 0) throw new ShapeError(`index "${name}": negative entry ${a[i]} at ${i}`);
    return new IndexTensor(this, this.backend.uploadIndex(a, name), name);
  }

  memory(): MemoryStats {
    return this.backend.memory();
  }
  resetPeak(): void {
    this.backend.resetPeak();
  }
  /** Waits for queued device work; throws DeviceLostError / OutOfMemoryError if one occurred. */
  sync(): Promise<void> {
    return this.backend.sync();
  }
  dispose(): void {
    this.backend.dispose();
  }
}

export function randnArray(n: number, seed: number, std = 1, mean = 0): Float64Array {
  const u = uniformStream(seed);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    a[i] = Math.fround(mean + std * r * Math.cos(th));
    if (i + 1 < n) a[i + 1] = Math.fround(mean + std * r * Math.sin(th));
  }
  return a;
}
