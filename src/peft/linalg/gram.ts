/**
 * A matrix A held in WebAssembly memory with the two products the Lanczos iteration needs:
 * A·x and the Gram product Aᴴ·A·x (one pass over A, see kernels.wat). Sizes are padded to even
 * with zeros, which changes neither product.
 */
import type { Matrix } from './matrix';
import { KernelWorkspace, type Kernels } from './wasm';

/** A real or complex vector, split like Matrix (`im === null` for real). */
export interface Vec {
  re: Float64Array;
  im: Float64Array | null;
}

export const vec = (n: number, complex: boolean): Vec => ({ re: new Float64Array(n), im: complex ? new Float64Array(n) : null });

const even = (n: number) => n + (n % 2);

interface Plane {
  ptr: number;
  view: Float64Array;
}

export class GramOperator {
  readonly rows: number;
  readonly cols: number;
  readonly complex: boolean;
  private readonly k: Kernels;
  private readonly mp: number;
  private readonly np: number;
  private readonly b: Plane[];
  private readonly x: Plane[];
  private readonly y: Plane[];

  constructor(a: Matrix) {
    this.rows = a.rows;
    this.cols = a.cols;
    this.complex = a.im !== null;
    this.mp = even(this.rows);
    this.np = even(this.cols);
    const planes = this.complex ? 2 : 1;
    const vlen = Math.max(this.mp, this.np);
    const ws = new KernelWorkspace(planes * (this.mp * this.np + 2 * vlen), 3 * planes);
    this.k = ws.kernels;
    this.b = Array.from({ length: planes }, () => ws.alloc(this.mp * this.np));
    this.x = Array.from({ length: planes }, () => ws.alloc(vlen));
    this.y = Array.from({ length: planes }, () => ws.alloc(vlen));
    const [re, im] = this.b;
    for (let i = 0; i < a.rows; i++) {
      re.view.set(a.re.subarray(i * a.cols, (i + 1) * a.cols), i * this.np);
      if (a.im) im.view.set(a.im.subarray(i * a.cols, (i + 1) * a.cols), i * this.np);
    }
  }

  private load(x: Vec, len: number): void {
    this.x[0].view.set(x.re.subarray(0, len));
    if (this.complex) this.x[1].view.set(x.im!.subarray(0, len));
  }

  private store(y: Vec, len: number): void {
    y.re.set(this.y[0].view.subarray(0, len));
    if (this.complex) y.im!.set(this.y[1].view.subarray(0, len));
  }

  /** y = A·x (x of length cols, y of length rows). */
  mul(x: Vec, y: Vec): void {
    this.load(x, this.cols);
    if (this.complex) this.k.mulComplex(this.b[0].ptr, this.b[1].ptr, this.x[0].ptr, this.x[1].ptr, this.y[0].ptr, this.y[1].ptr, this.mp, this.np);
    else this.k.mulReal(this.b[0].ptr, this.x[0].ptr, this.y[0].ptr, this.mp, this.np);
    this.store(y, this.rows);
  }

  /** y = Aᴴ·A·x (x and y of length cols). */
  gram(x: Vec, y: Vec): void {
    this.load(x, this.cols);
    if (this.complex) this.k.gramComplex(this.b[0].ptr, this.b[1].ptr, this.x[0].ptr, this.x[1].ptr, this.y[0].ptr, this.y[1].ptr, this.mp, this.np);
    else this.k.gramReal(this.b[0].ptr, this.x[0].ptr, this.y[0].ptr, this.mp, this.np);
    this.store(y, this.cols);
  }
}
