/**
 * A base model's identity: SHA-256 over its parameters (MONAI name, shape, float32 bytes) in
 * registration order. Independent of packaging (ONNX with or without external data, engine
 * checkpoint, fixture files): the same weights give the same fingerprint. Each tensor is hashed
 * on its own and the digests are hashed together, so no copy of the whole model is ever made.
 */
import type { SegmentationModel } from '../models/model';
import { matchWeights, type ParamSpec } from '../models/params';
import type { WeightSource } from '../models/weights';

const encoder = new TextEncoder();

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

/** Little-endian float32 bytes of values (float64 inputs are rounded to float32, which is exact for loaded weights). */
function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  const out = new Uint8Array(f.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < f.length; i++) view.setFloat32(4 * i, f[i], true);
  return out;
}

export interface FingerprintEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

/** Hex SHA-256 fingerprint of named tensors, in the given order. */
export async function fingerprintTensors(entries: Iterable<FingerprintEntry> | AsyncIterable<FingerprintEntry>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const e of entries) {
    parts.push(encoder.encode(`${e.name}\u0000${e.shape.join(',')}\u0000`));
    parts.push(await sha256(float32Bytes(e.data)));
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return hex(await sha256(all));
}

/**
 * Fingerprint of a model's parameters (`specs`, e.g. `model.paramSpecs`) read from a weight
 * source, one tensor in memory at a time. The source is checked against the specs first (the
 * model loader's rules), so a source that could not load as this model is refused.
 */
export function fingerprintSource(source: WeightSource, specs: readonly ParamSpec[], what: string): Promise<string> {
  const names = matchWeights(specs, source, what);
  async function* entries(): AsyncIterable<FingerprintEntry> {
    for (const spec of specs) yield { name: spec.name, shape: spec.shape, data: source.read(names.get(spec.name)!) };
  }
  return fingerprintTensors(entries());
}

/** Fingerprint of a loaded model's current parameters (read back from its engine). */
export function fingerprintModel(model: SegmentationModel): Promise<string> {
  async function* entries(): AsyncIterable<FingerprintEntry> {
    for (const [name, t] of model.params.entries()) yield { name, shape: t.shape, data: await t.data() };
  }
  return fingerprintTensors(entries());
}
