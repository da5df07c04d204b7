/** Typed arrays a test builds voxel by voxel. */
type TypedArray = Uint8Array | Int16Array | Float32Array;

/**
 * out[p] = fn(values[p], p), in voxel order, into a new `Out` array. A plain loop: in V8,
 * `Out.from(values, fn)` takes 3–6 s for a 256³ volume, this about 0.1 s.
 */
export function mapVoxels<T extends TypedArray>(Out: new (length: number) => T, values: ArrayLike<number>, fn: (value: number, index: number) => number): T {
  const out = new Out(values.length);
  for (let p = 0; p < values.length; p++) out[p] = fn(values[p], p);
  return out;
}
