/**
 * ONNX external data: initializers whose bytes live in side files (`data_location`
 * EXTERNAL with `location`, `offset`, `length` entries). The files are given as a map
 * keyed by `location` as the model writes it (a path relative to the model file).
 */
import { DataLocation, graphOf, initializersOf, toNumber, type ModelProto, type TensorProto } from './proto';

export type ExternalFiles = ReadonlyMap<string, Uint8Array>;

function entries(t: TensorProto): Map<string, string> {
  return new Map(t.externalData.map((e) => [e.key ?? '', e.value ?? '']));
}

/** Normalises "./a/b.bin" and "a/b.bin" to one key. */
function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/** Every initializer stored outside the model file. */
function externalInitializers(model: ModelProto): TensorProto[] {
  return initializersOf(graphOf(model)).filter((t) => t.dataLocation === DataLocation.EXTERNAL);
}

/** The side files a model needs (the `location`s its initializers name). */
export function externalLocations(model: ModelProto): string[] {
  return [...new Set(externalInitializers(model).map((t) => entries(t).get('location') ?? ''))];
}

/**
 * Moves every external initializer's bytes into the model (raw_data), so the model is
 * self-contained. Throws naming the first missing file or out-of-range slice.
 */
export function inlineExternalData(model: ModelProto, files: ExternalFiles = new Map()): void {
  const byName = new Map([...files].map(([k, v]) => [normalise(k), v]));
  for (const t of externalInitializers(model)) {
    const e = entries(t);
    const location = e.get('location');
    if (!location) throw new Error(`initializer "${t.name}" is external but names no file`);
    const file = byName.get(normalise(location));
    if (!file) {
      throw new Error(`the model keeps its weights in "${location}", which was not provided (give it beside the .onnx file)`);
    }
    const offset = toNumber(e.get('offset') ?? 0);
    const length = e.has('length') ? toNumber(e.get('length')) : file.length - offset;
    if (offset < 0 || offset + length > file.length) {
      throw new Error(`"${location}" is too short for initializer "${t.name}" (needs bytes ${offset}–${offset + length}, file has ${file.length}); is it the right weights file?`);
    }
    t.rawData = file.subarray(offset, offset + length);
    t.externalData = [];
    t.dataLocation = DataLocation.DEFAULT;
  }
}
