/**
 * Where model weights come from: a name → float32 tensor lookup over MONAI state-dict names.
 * Three sources share the interface: the fixtures' `weights.bin` + `weights.json` index, an
 * ONNX file's initializers (a `torch.onnx.export` of a MONAI model keeps the state-dict names),
 * and the engine checkpoint format (`checkpoint.ts`).
 */
import { getInitializer } from '../onnx/initializers';
import { DataType, graphOf, initializersOf, toNumber, type ModelProto } from '../onnx/proto';
import { WeightsError } from './errors';

export interface WeightInfo {
  readonly name: string;
  readonly shape: readonly number[];
  /** 'float32' for parameters; integer buffers (Swin's relative_position_index) say so. */
  readonly dtype: string;
}

export interface WeightSource {
  /** What the source calls itself in error messages, e.g. `ONNX file "model.onnx"`. */
  readonly label: string;
  /** Every tensor the source holds, in its own order. */
  list(): readonly WeightInfo[];
  /** The float32 values of one tensor; throws naming it when it is absent or not float32. */
  read(name: string): Float32Array;
}

/** A `weights.json`-style index: `{tensors: {name: {offset, nbytes, shape, dtype}}}` (fixtures README §0). */
export interface WeightIndex {
  readonly tensors: Readonly<Record<string, { offset: number; nbytes: number; shape: number[]; dtype: string }>>;
}

/** The fixtures' weight files: a JSON index and the little-endian binary it points into. */
export function indexedWeightSource(index: WeightIndex, bin: Uint8Array, label = 'weights.bin'): WeightSource {
  const infos = Object.entries(index.tensors).map(([name, e]) => ({ name, shape: e.shape, dtype: e.dtype }));
  return {
    label,
    list: () => infos,
    read(name) {
      const e = index.tensors[name];
      if (!e) throw new WeightsError(`${label} has no tensor named "${name}"`);
      if (e.dtype !== 'float32') throw new WeightsError(`${label}: tensor "${name}" is ${e.dtype}, not float32`);
      const n = e.shape.reduce((a, d) => a * d, 1);
      if (e.nbytes !== 4 * n || e.offset < 0 || e.offset + e.nbytes > bin.byteLength) {
        throw new WeightsError(`${label}: tensor "${name}" [${e.shape}] needs bytes ${e.offset}–${e.offset + 4 * n}, the file has ${bin.byteLength}`);
      }
      // Copy: the offset need not be 4-aligned within `bin`'s own buffer.
      return new Float32Array(bin.slice(e.offset, e.offset + e.nbytes).buffer);
    },
  };
}

/**
 * An ONNX model's initializers (external data must already be inlined, see
 * `src/onnx/external-data.ts`). Non-float initializers are listed with their type so the
 * loader can skip buffers such as Swin's int64 relative_position_index.
 */
export function onnxWeightSource(model: ModelProto, label = 'the ONNX model'): WeightSource {
  const inits = initializersOf(graphOf(model));
  const infos = inits.map((t) => ({
    name: t.name,
    shape: t.dims.map(toNumber),
    dtype: t.dataType === DataType.FLOAT ? 'float32' : (DataType[t.dataType] ?? `type ${t.dataType}`).toLowerCase(),
  }));
  return {
    label,
    list: () => infos,
    read(name) {
      try {
        return getInitializer(model, name);
      } catch (e) {
        throw new WeightsError(`${label}: ${e instanceof Error ? e.message : e}`);
      }
    },
  };
}

/** A source over tensors already in memory (tests, checkpoints). */
export function mapWeightSource(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, label: string): WeightSource {
  const infos = [...tensors].map(([name, t]) => ({ name, shape: t.shape, dtype: 'float32' }));
  return {
    label,
    list: () => infos,
    read(name) {
      const t = tensors.get(name);
      if (!t) throw new WeightsError(`${label} has no tensor named "${name}"`);
      return t.data;
    },
  };
}
