/** Reading float weights out of a model by initializer name (MONAI state_dict names in our exports). */
import { DataLocation, DataType, dataTypeName, graphOf, initializersOf, toNumber, type ModelProto, type TensorProto } from './proto';

/** Element count of a tensor's shape. */
export function elementCount(t: TensorProto): number {
  return t.dims.reduce<number>((n, d) => n * toNumber(d), 1);
}

/** A float32 tensor's values (a fresh copy), from raw_data or float_data. */
export function tensorToFloat32(t: TensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) {
    throw new Error(`initializer "${t.name}" is ${dataTypeName(t.dataType)}, not FLOAT`);
  }
  if (t.dataLocation === DataLocation.EXTERNAL) {
    throw new Error(`initializer "${t.name}" is still in an external file; inline the external data first`);
  }
  const n = elementCount(t);
  let out: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    // raw_data is little-endian; copy to an aligned buffer and view it.
    const raw = t.rawData;
    out = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer);
  } else {
    out = Float32Array.from(t.floatData);
  }
  if (out.length !== n) throw new Error(`initializer "${t.name}" holds ${out.length} values for shape [${t.dims.map(toNumber).join(', ')}]`);
  return out;
}

/** The float32 values of the initializer named `name`. */
export function getInitializer(model: ModelProto, name: string): Float32Array {
  const t = initializersOf(graphOf(model)).find((i) => i.name === name);
  if (!t) throw new Error(`the model has no initializer named "${name}"`);
  return tensorToFloat32(t);
}
