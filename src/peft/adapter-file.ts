/**
 * The adapter file: what a fine-tuning run produced, small enough to keep and share, tied to
 * the base model it was trained on.
 *
 * The file is a framed file (src/core/io/framed-file.ts: magic "SEAHADPT", ADAPTER_VERSION, a
 * JSON AdapterHeader, SHA-256); its data section holds LE tensors at their `offset` (relative to
 * the data start, 64-aligned): float32, or float16 where the entry says `dtype: 'float16'`
 * (format version 2; a file without float16 tensors is written as version 1, which older
 * Seahorse versions read). Tensors are float32 in memory either way.
 *
 * Tensors come in two roles: `trained` (the method's tensors and any base parameters it
 * trained, e.g. the decoder, by MONAI name) and `init` (frozen values recorded at
 * initialisation that rebuild the frozen residual from the base weights: LoRA-PT's initial
 * factors, PiSSA/HyPS's A₀, B₀). The base model is identified by its weight fingerprint
 * (fingerprint.ts); applying the adapter to any other weights is refused.
 */
import { FLOAT16_MAX, readFloat16, writeFloat16 } from '../core/io/float16';
import { alignUp, decodeFrame, encodeFrame, type FrameKind } from '../core/io/framed-file';
import type { ModelKind } from '../models/model';
import type { HostTensor, HostTensors } from './adapted-model';
import { AdapterFileError, BaseModelMismatchError } from './errors';
import { invalidResolvedConfig, type ResolvedMethodConfig } from './methods';

export const ADAPTER_MAGIC = 'SEAHADPT';
/** The conventional file extension of adapter files. */
export const ADAPTER_EXTENSION = '.seahorse-adapter';
/** The newest adapter format this code reads: 2 added float16 tensors. */
export const ADAPTER_VERSION = 2;
/** The format version of files with float32 tensors only (what versions before float16 read). */
const FLOAT32_ONLY_VERSION = 1;

/** How tensors are stored in the file: float16 halves the size (rounding: src/core/io/float16.ts). */
export type AdapterDtype = 'float32' | 'float16';
const BYTES: Record<AdapterDtype, number> = { float32: 4, float16: 2 };

/**
 * What an adapter was trained on: a segmentation model, SAM's prompt encoder + mask decoder
 * (`sam-decoder`), or SAM's image encoder (LoRA) + prompt encoder + mask decoder (`sam-lora`);
 * the SAM kinds are written and merged by src/sam/adapter.ts.
 */
export type AdapterBaseKind = ModelKind | 'sam-decoder' | 'sam-lora';

export interface AdapterBase {
  readonly kind: AdapterBaseKind;
  /** The base model's resolved configuration (UNETRConfig / SwinUNETRConfig). */
  readonly config: Record<string, unknown>;
  /** Hex SHA-256 weight fingerprint (fingerprint.ts). */
  readonly fingerprint: string;
  /** Where the base came from (model id or file name): shown to people, and the model `seahorse eval --adapter` opens when none is named; matching is by `fingerprint` alone. */
  readonly label?: string;
}

export interface Adapter {
  readonly method: ResolvedMethodConfig;
  readonly base: AdapterBase;
  /** Provenance: steps, learning rate, data, losses, timings… (JSON). */
  readonly training: Record<string, unknown>;
  readonly trained: HostTensors;
  readonly init: HostTensors;
}

interface TensorEntry {
  name: string;
  role: 'trained' | 'init';
  shape: number[];
  offset: number;
  nbytes: number;
  /** Absent: float32. */
  dtype?: 'float16';
}

interface AdapterHeader {
  format: 'seahorse-adapter';
  version: number;
  method: ResolvedMethodConfig;
  base: AdapterBase;
  training: Record<string, unknown>;
  dataBytes: number;
  tensors: TensorEntry[];
}

function fail(what: string): never {
  throw new AdapterFileError(what);
}

const ADAPTER_FRAME: FrameKind = {
  magic: ADAPTER_MAGIC,
  version: ADAPTER_VERSION,
  noun: 'a Seahorse adapter',
  formatName: 'adapter format',
  maxHeaderBytes: 16 * 1024 * 1024,
  fail,
};

/** Writes an adapter file; `dtype` float16 stores every tensor as halves (refused where a value exceeds ±65504). */
export async function encodeAdapter(a: Adapter, { dtype = 'float32' }: { readonly dtype?: AdapterDtype } = {}): Promise<Uint8Array> {
  const size = BYTES[dtype];
  const list: [TensorEntry['role'], string, HostTensor][] = [
    ...[...a.trained].map(([n, t]) => ['trained', n, t] as [TensorEntry['role'], string, HostTensor]),
    ...[...a.init].map(([n, t]) => ['init', n, t] as [TensorEntry['role'], string, HostTensor]),
  ];
  const entries: TensorEntry[] = [];
  let at = 0;
  for (const [role, name, t] of list) {
    const n = t.shape.reduce((x, d) => x * d, 1);
    if (n !== t.data.length) throw new AdapterFileError(`adapter tensor "${name}": ${t.data.length} values for shape [${t.shape}]`);
    for (let i = 0; i < n; i++) if (!Number.isFinite(t.data[i])) throw new AdapterFileError(`adapter tensor "${name}" holds a non-finite value at element ${i}; refusing to save it`);
    if (dtype === 'float16') for (let i = 0; i < n; i++) if (Math.abs(t.data[i]) > FLOAT16_MAX) throw new AdapterFileError(`adapter tensor "${name}" holds ${t.data[i]} at element ${i}, beyond float16's ±${FLOAT16_MAX}; save it as float32`);
    entries.push({ name, role, shape: [...t.shape], offset: at, nbytes: size * n, ...(dtype === 'float16' ? { dtype } : {}) });
    at = alignUp(at + size * n);
  }
  const data = new Uint8Array(at);
  const view = new DataView(data.buffer);
  list.forEach(([, , t], i) => {
    if (dtype === 'float16') writeFloat16(view, entries[i].offset, t.data);
    else for (let j = 0; j < t.data.length; j++) view.setFloat32(entries[i].offset + 4 * j, t.data[j], true);
  });
  const version = dtype === 'float16' ? ADAPTER_VERSION : FLOAT32_ONLY_VERSION;
  const header: AdapterHeader = {
    format: 'seahorse-adapter',
    version,
    method: a.method,
    base: a.base,
    training: a.training,
    dataBytes: data.length,
    tensors: entries,
  };
  return encodeFrame({ ...ADAPTER_FRAME, version }, header, data);
}

/** Reads and verifies an adapter file (magic, version, header, sizes, SHA-256, finite values). */
export async function decodeAdapter(bytes: Uint8Array, label = 'the adapter file'): Promise<Adapter> {
  const frame = await decodeFrame(bytes, ADAPTER_FRAME, label);
  const header = frame.header as AdapterHeader;
  if (header?.format !== 'seahorse-adapter' || !Array.isArray(header.tensors) || !header.method || !header.base) fail(`${label} is corrupted: its header lacks the adapter fields`);
  const bad = invalidResolvedConfig(header.method);
  if (bad) fail(`${label} cannot be used by this version of Seahorse: ${bad}`);
  if (header.base.kind !== 'unetr' && header.base.kind !== 'swinunetr' && header.base.kind !== 'sam-decoder' && header.base.kind !== 'sam-lora') fail(`${label} is corrupted: unknown base model kind "${String(header.base.kind)}"`);
  if (typeof header.base.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(header.base.fingerprint)) fail(`${label} is corrupted: it names no valid base-model fingerprint`);
  const { data } = frame;
  if (data.length !== header.dataBytes) fail(`${label} is corrupted: ${data.length} bytes of tensor data, the header says ${header.dataBytes}`);
  const trained = new Map<string, HostTensor>();
  const init = new Map<string, HostTensor>();
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const e of header.tensors) {
    const n = Array.isArray(e.shape) ? e.shape.reduce((x, d) => x * d, 1) : NaN;
    if (e.dtype !== undefined && e.dtype !== 'float16') fail(`${label} is corrupted: tensor "${e.name}" has an unknown dtype "${String(e.dtype)}"`);
    if (e.dtype === 'float16' && frame.version < ADAPTER_VERSION) fail(`${label} is corrupted: float16 tensor "${e.name}" in a version ${frame.version} file`);
    const size = BYTES[e.dtype ?? 'float32'];
    if (!Number.isInteger(n) || n < 0 || e.nbytes !== size * n || e.offset < 0 || e.offset % size !== 0 || e.offset + e.nbytes > data.length) {
      fail(`${label} is corrupted: tensor "${e.name}" [${e.shape}] does not fit the data section`);
    }
    const values = e.dtype === 'float16' ? readFloat16(dv, e.offset, n) : new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (e.dtype !== 'float16') values[i] = dv.getFloat32(e.offset + 4 * i, true);
      if (!Number.isFinite(values[i])) fail(`${label}: tensor "${e.name}" holds a non-finite value at element ${i}`);
    }
    const into = e.role === 'trained' ? trained : e.role === 'init' ? init : fail(`${label} is corrupted: tensor "${e.name}" has an unknown role "${e.role}"`);
    if (into.has(e.name)) fail(`${label} is corrupted: tensor "${e.name}" appears twice`);
    into.set(e.name, { shape: e.shape, data: values });
  }
  return { method: header.method, base: header.base, training: header.training ?? {}, trained, init };
}

/** Refuses to apply an adapter to weights other than its base. */
export function checkBase(adapter: Adapter, kind: AdapterBaseKind, fingerprint: string, modelLabel = 'this model'): void {
  const b = adapter.base;
  if (b.kind !== kind || b.fingerprint !== fingerprint) {
    const was = `${b.kind}${b.label ? ` "${b.label}"` : ''}, weights ${b.fingerprint.slice(0, 12)}…`;
    throw new BaseModelMismatchError(`this adapter was trained on a different base model (${was}); ${modelLabel} is a ${kind} with weights ${fingerprint.slice(0, 12)}…. Apply it to the model it was trained on.`);
  }
}
