/** Seeded test data for the linear-algebra tests: centred uniform numbers, matrices, vectors. */
import { uniformStream } from '../../core/random';
import { vec, type Vec } from './gram';
import { matrix, type Matrix } from './matrix';

/** Uniform on [−0.5, 0.5), deterministic per seed. */
export function centredStream(seed: number): () => number {
  const u = uniformStream(seed);
  return () => u() - 0.5;
}

/** A rows × cols matrix (complex: real and imaginary parts) of centred uniform entries. */
export function randomMatrix(rows: number, cols: number, complex: boolean, seed: number): Matrix {
  const next = centredStream(seed);
  const a = matrix(rows, cols, complex);
  for (let i = 0; i < a.re.length; i++) a.re[i] = next();
  if (a.im) for (let i = 0; i < a.im.length; i++) a.im[i] = next();
  return a;
}

/** A length-n vector of centred uniform entries. */
export function randomVec(n: number, complex: boolean, seed: number): Vec {
  const next = centredStream(seed);
  const x = vec(n, complex);
  for (let i = 0; i < x.re.length; i++) x.re[i] = next();
  if (x.im) for (let i = 0; i < x.im.length; i++) x.im[i] = next();
  return x;
}

/** n3 frontal slices of `len` centred uniform entries: a third-order tensor for the t-SVD tests. */
export function randomSlices(n3: number, len: number, seed: number): Float64Array[] {
  const next = centredStream(seed);
  return Array.from({ length: n3 }, () => Float64Array.from({ length: len }, next));
}
