import type { Backend, Storage } from './backend';
import { DisposedError } from './errors';
import { fmt, sizeOf, type Shape } from './shape';
import { setTensorCheck, track } from './scope';
import type { GradNode } from './autograd';

/** Device memory shared by a tensor and its zero-copy views (reshape); freed at refcount 0. */
export class StorageRef {
  private refs = 1;
  constructor(readonly backend: Backend, readonly storage: Storage) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) this.backend.release(this.storage);
  }
}

export interface TensorInit {
  name?: string;
  requiresGrad?: boolean;
  /** Do not register with the enclosing `tidy` scope (parameters, grads, optimiser state). */
  untracked?: boolean;
}

/**
 * An n-D array on one backend: float64 on `cpu`, float32 on `webgpu`. Immutable except for
 * parameters updated by an optimiser. The creator owns it and must `dispose()` it (or let a
 * `tidy` scope do so).
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  /** Shown in error messages (models name parameters by their MONAI names). */
  name: string | undefined;
  /** Leaf tensors only: gradients accumulate into `grad` during `backward`. */
  readonly requiresGrad: boolean;
  /** Accumulated gradient of a leaf; owned by this tensor. */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor, when it is part of a graph. */
  node: GradNode | null = null;
  private ref: StorageRef | null;

  /** @internal use engine/ops factories. */
  constructor(ref: StorageRef, shape: Shape, init: TensorInit = {}) {
    this.ref = ref;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.name = init.name;
    this.requiresGrad = init.requiresGrad ?? false;
    if (!init.untracked && !this.requiresGrad) track(this);
  }

  get backend(): Backend {
    return this.storageRef.backend;
  }
  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this.ref === null;
  }

  /** @internal */
  get storageRef(): StorageRef {
    if (!this.ref) throw new DisposedError(`tensor ${this.describe()} was used after dispose()`);
    return this.ref;
  }
  /** @internal */
  get storage(): Storage {
    return this.storageRef.storage;
  }

  /** "name [2,3]" or "[2,3]" for messages. */
  describe(): string {
    return this.name ? `"${this.name}" ${fmt(this.shape)}` : fmt(this.shape);
  }

  /** Sets the name used in error messages; returns this. */
  named(name: string): this {
    this.name = name;
    return this;
  }

  /** Copies the values to the host (float32 on webgpu, float64 on cpu). */
  async data(): Promise<Float32Array | Float64Array> {
    return this.backend.read(this.storage);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor ${this.describe()} has ${this.size} elements`);
    return (await this.data())[0];
  }

  /** Frees this handle (idempotent). Storage shared with views lives until the last one goes. */
  dispose(): void {
    if (!this.ref) return;
    this.ref.release();
    this.ref = null;
    this.node?.unref();
    this.node = null;
    this.grad?.dispose();
    this.grad = null;
  }

  /** Drops the accumulated gradient. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

setTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);

/** A new handle on the same storage (refcount +1). */
export function shareStorage(t: Tensor, shape: Shape, init: TensorInit = {}): Tensor {
  return new Tensor(t.storageRef.retain(), shape, init);
}

/** Wraps a freshly produced storage. */
export function wrap(backend: Backend, storage: Storage, shape: Shape, init: TensorInit = {}): Tensor {
  return new Tensor(new StorageRef(backend, storage), shape, init);
}
