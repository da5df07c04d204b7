/**
 * The engine's checkpoint format: a model's kind, configuration and float32 parameters by MONAI
 * name, with a SHA-256 of the tensor bytes so corruption is caught on load.
 *
 * Layout (all integers little-endian):
 *   0   8 bytes  magic "SEAHCKPT"
 *   8   u32      format version (CHECKPOINT_VERSION)
 *   12  u32      header length H
 *   16  H bytes  UTF-8 JSON CheckpointHeader
 *   …   zero padding to a multiple of 64
 *   data: each tensor float32 LE at its `offset` (relative to the data start, 64-aligned)
 */
import { WeightsError } from './errors';
import type { ModelKind } from './model';
import { mapWeightSource, type WeightSource } from './weights';

export const CHECKPOINT_MAGIC = 'SEAHCKPT';
export const CHECKPOINT_VERSION = 1;
const ALIGN = 64;
const PREAMBLE = 16;

export interface CheckpointTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Checkpoint {
  readonly kind: ModelKind;
  /** The model's configuration object (UNETRConfig / SwinUNETRConfig), as JSON. */
  readonly config: Record<string, unknown>;
  /** Parameters by MONAI name, in registration order. */
  readonly tensors: ReadonlyMap<string, CheckpointTensor>;
  /** Free-form provenance (training run, epoch, data…). */
  readonly meta?: Record<string, unknown>;
}

interface CheckpointHeader {
  format: 'seahorse-checkpoint';
  version: number;
  kind: ModelKind;
  config: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Hex SHA-256 of the data section. */
  sha256: string;
  dataBytes: number;
  tensors: { name: string; shape: number[]; dtype: 'float32'; offset: number; nbytes: number }[];
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function encodeCheckpoint(ckpt: Checkpoint): Promise<Uint8Array> {
  const entries: CheckpointHeader['tensors'] = [];
  let at = 0;
  for (const [name, t] of ckpt.tensors) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new WeightsError(`checkpoint tensor "${name}": ${t.data.length} values for shape [${t.shape}]`);
    entries.push({ name, shape: [...t.shape], dtype: 'float32', offset: at, nbytes: 4 * n });
    at = alignUp(at + 4 * n);
  }
  const data = new Uint8Array(at);
  const view = new DataView(data.buffer);
  entries.forEach((e, i) => {
    const values = [...ckpt.tensors.values()][i].data;
    for (let j = 0; j < values.length; j++) view.setFloat32(e.offset + 4 * j, values[j], true);
  });
  const header: CheckpointHeader = {
    format: 'seahorse-checkpoint',
    version: CHECKPOINT_VERSION,
    kind: ckpt.kind,
    config: ckpt.config,
    meta: ckpt.meta ?? {},
    sha256: await sha256Hex(data),
    dataBytes: data.length,
    tensors: entries,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = alignUp(PREAMBLE + json.length);
  const out = new Uint8Array(dataStart + data.length);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  const pv = new DataView(out.buffer);
  pv.setUint32(8, CHECKPOINT_VERSION, true);
  pv.setUint32(12, json.length, true);
  out.set(json, PREAMBLE);
  out.set(data, dataStart);
  return out;
}

/** Parses and verifies a checkpoint; every failure says what is wrong with the file. */
export async function decodeCheckpoint(bytes: Uint8Array): Promise<Checkpoint> {
  const bad = (why: string) => new WeightsError(`not a valid Seahorse checkpoint: ${why}`);
  if (bytes.length < PREAMBLE || new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) throw bad('the file does not start with "SEAHCKPT"');
  const pv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = pv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) throw bad(`format version ${version}; this build reads version ${CHECKPOINT_VERSION}`);
  const hlen = pv.getUint32(12, true);
  if (PREAMBLE + hlen > bytes.length) throw bad(`the header claims ${hlen} bytes but the file has ${bytes.length}`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE, PREAMBLE + hlen)));
  } catch {
    throw bad('the header is not valid JSON');
  }
  if (header.format !== 'seahorse-checkpoint' || (header.kind !== 'unetr' && header.kind !== 'swinunetr') || !Array.isArray(header.tensors)) {
    throw bad('the header does not describe a UNETR or SwinUNETR checkpoint');
  }
  const dataStart = alignUp(PREAMBLE + hlen);
  if (dataStart + header.dataBytes !== bytes.length) throw bad(`expected ${dataStart + header.dataBytes} bytes, the file has ${bytes.length} (truncated or padded)`);
  const data = bytes.slice(dataStart);
  if ((await sha256Hex(data)) !== header.sha256) throw bad('the tensor data does not match its SHA-256 (the file is corrupted)');
  const tensors = new Map<string, CheckpointTensor>();
  for (const e of header.tensors) {
    const n = e.shape.reduce((a, d) => a * d, 1);
    if (e.dtype !== 'float32' || e.nbytes !== 4 * n || e.offset % 4 !== 0 || e.offset + e.nbytes > data.length) throw bad(`tensor "${e.name}" has an inconsistent entry`);
    tensors.set(e.name, { shape: e.shape, data: new Float32Array(data.buffer, e.offset, n) });
  }
  return { kind: header.kind, config: header.config, tensors, meta: header.meta };
}

export function checkpointWeightSource(ckpt: Checkpoint, label = 'the checkpoint'): WeightSource {
  return mapWeightSource(ckpt.tensors, label);
}
