/** Test data and a naive index walk shared by the CPU kernels' tests. */
import { uniformStream } from '../../core/random';

/** n seeded values, uniform in [−halfWidth, halfWidth). */
export function uniformArray(n: number, seed: number, halfWidth = 1): Float64Array {
  const next = uniformStream(seed);
  return Float64Array.from({ length: n }, () => halfWidth * (2 * next() - 1));
}

/** Every C-order multi-index of `shape`, as its offset under `strides`. */
export function offsets(shape: readonly number[], strides: readonly number[]): number[] {
  let out = [0];
  shape.forEach((d, ax) => {
    out = out.flatMap((o) => Array.from({ length: d }, (_, i) => o + i * strides[ax]));
  });
  return out;
}
