/**
 * Voxel datatypes we read (NIfTI codes; MGH types map onto them) and the decoding of a
 * raw byte block into a typed array in either byte order.
 */
import type { VoxelArray } from '../volume';

export interface Datatype {
  readonly code: number;
  readonly name: string;
  readonly bytes: number;
}

/** NIfTI-1 datatype codes we decode. int64/uint64 become float64 (exact to 2^53). */
export const DATATYPES: ReadonlyMap<number, Datatype> = new Map(
  (
    [
      [2, 'uint8', 1],
      [4, 'int16', 2],
      [8, 'int32', 4],
      [16, 'float32', 4],
      [64, 'float64', 8],
      [256, 'int8', 1],
      [512, 'uint16', 2],
      [768, 'uint32', 4],
      [1024, 'int64', 8],
      [1280, 'uint64', 8],
    ] as const
  ).map(([code, name, bytes]) => [code, { code, name, bytes }]),
);

/** Names of the NIfTI datatypes we refuse, for messages. */
export const UNSUPPORTED_DATATYPES: ReadonlyMap<number, string> = new Map([
  [1, '1-bit binary'],
  [32, 'complex64'],
  [128, 'RGB colour'],
  [1536, 'float128'],
  [1792, 'complex128'],
  [2048, 'complex256'],
  [2304, 'RGBA colour'],
]);

type Ctor = new (n: number) => VoxelArray;

const CONSTRUCTORS: Record<string, Ctor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: Float64Array,
  uint64: Float64Array,
};

const GETTERS: Record<string, (v: DataView, at: number, le: boolean) => number> = {
  uint8: (v, at) => v.getUint8(at),
  int8: (v, at) => v.getInt8(at),
  uint16: (v, at, le) => v.getUint16(at, le),
  int16: (v, at, le) => v.getInt16(at, le),
  uint32: (v, at, le) => v.getUint32(at, le),
  int32: (v, at, le) => v.getInt32(at, le),
  float32: (v, at, le) => v.getFloat32(at, le),
  float64: (v, at, le) => v.getFloat64(at, le),
  int64: (v, at, le) => Number(v.getBigInt64(at, le)),
  uint64: (v, at, le) => Number(v.getBigUint64(at, le)),
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decodes `count` voxels of `type` starting at `offset` of `bytes`; always returns a fresh array. */
export function decodeVoxels(bytes: Uint8Array, offset: number, count: number, type: Datatype, littleEndian: boolean): VoxelArray {
  const Out = CONSTRUCTORS[type.name];
  const start = bytes.byteOffset + offset;
  const direct = type.name !== 'int64' && type.name !== 'uint64' && (type.bytes === 1 || littleEndian === HOST_LITTLE_ENDIAN);
  if (direct) {
    // Copy to a fresh, aligned buffer, then view it with the right type.
    const copy = bytes.buffer.slice(start, start + count * type.bytes) as ArrayBuffer;
    return new (Out as unknown as new (b: ArrayBuffer) => VoxelArray)(copy);
  }
  const view = new DataView(bytes.buffer, start, count * type.bytes);
  const get = GETTERS[type.name];
  const out = new Out(count);
  for (let n = 0; n < count; n++) out[n] = get(view, n * type.bytes, littleEndian);
  return out;
}
