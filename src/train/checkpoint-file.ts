/**
 * The training checkpoint file (`seahorse finetune --checkpoint / --resume`): what the studio's
 * adapter record keeps to resume a run (src/train/adapter-store.ts: the encoded adapter file,
 * Adam's state, SAM's prompt-sampler state, the losses, the run's settings), in one file.
 * The trained tensors travel as an adapter file (src/peft/adapter-file.ts, the one format
 * every caller reads back with `openAdapter` or `decodeAdapter`); Adam's moments in the
 * backend's own precision (float32 on wasm and WebGPU, float64 on cpu), so they come back
 * without rounding.
 *
 * The file is a framed file like the adapter file (src/core/io/framed-file.ts: magic "SEAHCKPT",
 * CHECKPOINT_VERSION, a JSON CheckpointHeader, SHA-256); its data section holds the adapter
 * file, then each moment array (m, v, vmax) at its `offset`, 64-aligned.
 */
import { alignUp, decodeFrame, encodeFrame, type FrameKind } from '../core/io/framed-file';
import type { AdamHostArray, AdamState } from '../engine';

export const CHECKPOINT_MAGIC = 'SEAHCKPT';
export const CHECKPOINT_VERSION = 1;

/** Everything a run's next step depends on besides the data and the base model. */
export interface TrainingCheckpoint {
  /** Optimiser steps applied to the saved state. */
  readonly step: number;
  /** What the run was asked to do (JSON); a resume asking for something else is refused (`runMismatch`). */
  readonly run: Record<string, unknown>;
  /** The trained tensors (and the method's initial ones) as an encoded adapter file. */
  readonly adapter: Uint8Array;
  /** Adam's state after `step` steps. */
  readonly optimizer: AdamState;
  /** SAM runs: the prompt sampler's state (src/sam/finetune.ts `SamCheckpoint.sampler`). */
  readonly sampler?: number;
  /** Training loss of every step so far. */
  readonly losses: readonly number[];
  /** Facts the caller carries to the end of the run (JSON), e.g. validation before training. */
  readonly extra?: Record<string, unknown>;
}

/** A checkpoint file that cannot be read: not one, truncated, corrupted, or a newer format. */
export class CheckpointFileError extends Error {
  override readonly name = 'CheckpointFileError';
}

type Dtype = 'float32' | 'float64';

interface ArrayEntry {
  dtype: Dtype;
  offset: number;
  length: number;
}

interface SlotEntry {
  shape: number[];
  m: ArrayEntry;
  v: ArrayEntry;
  vmax: ArrayEntry | null;
}

interface CheckpointHeader {
  format: 'seahorse-checkpoint';
  version: number;
  step: number;
  run: Record<string, unknown>;
  sampler?: number;
  losses: number[];
  extra?: Record<string, unknown>;
  adapter: { offset: number; nbytes: number };
  optimizer: { t: number; slots: (SlotEntry | null)[] };
  dataBytes: number;
}

const BYTES: Record<Dtype, number> = { float32: 4, float64: 8 };

function fail(what: string): never {
  throw new CheckpointFileError(what);
}

const CHECKPOINT_FRAME: FrameKind = {
  magic: CHECKPOINT_MAGIC,
  version: CHECKPOINT_VERSION,
  noun: 'a Seahorse training checkpoint',
  formatName: 'checkpoint format',
  // The losses of a long run are in the header.
  maxHeaderBytes: 64 * 1024 * 1024,
  fail,
};

export async function encodeCheckpoint(c: TrainingCheckpoint): Promise<Uint8Array> {
  const arrays: [ArrayEntry, AdamHostArray][] = [];
  let at = alignUp(c.adapter.length);
  const place = (a: AdamHostArray): ArrayEntry => {
    const dtype: Dtype = a instanceof Float64Array ? 'float64' : 'float32';
    const e = { dtype, offset: at, length: a.length };
    arrays.push([e, a]);
    at = alignUp(at + BYTES[dtype] * a.length);
    return e;
  };
  const slots = c.optimizer.slots.map((s) => (s ? { shape: [...s.shape], m: place(s.m), v: place(s.v), vmax: s.vmax ? place(s.vmax) : null } : null));
  const data = new Uint8Array(at);
  data.set(c.adapter, 0);
  const view = new DataView(data.buffer);
  for (const [e, a] of arrays) {
    if (e.dtype === 'float64') for (let i = 0; i < a.length; i++) view.setFloat64(e.offset + 8 * i, a[i], true);
    else for (let i = 0; i < a.length; i++) view.setFloat32(e.offset + 4 * i, a[i], true);
  }
  const header: CheckpointHeader = {
    format: 'seahorse-checkpoint',
    version: CHECKPOINT_VERSION,
    step: c.step,
    run: c.run,
    ...(c.sampler === undefined ? {} : { sampler: c.sampler }),
    losses: [...c.losses],
    ...(c.extra ? { extra: c.extra } : {}),
    adapter: { offset: 0, nbytes: c.adapter.length },
    optimizer: { t: c.optimizer.t, slots },
    dataBytes: data.length,
  };
  return encodeFrame(CHECKPOINT_FRAME, header, data);
}

/** Reads and verifies a checkpoint file (magic, version, SHA-256, header, sizes). */
export async function decodeCheckpoint(bytes: Uint8Array, label = 'the checkpoint file'): Promise<TrainingCheckpoint> {
  const frame = await decodeFrame(bytes, CHECKPOINT_FRAME, label);
  const h = frame.header as CheckpointHeader;
  if (h?.format !== 'seahorse-checkpoint' || !Number.isInteger(h.step) || h.step < 0 || !h.run || !Array.isArray(h.losses) || !h.adapter || !h.optimizer || !Array.isArray(h.optimizer.slots)) {
    fail(`${label} is corrupted: its header lacks the checkpoint fields`);
  }
  const { data } = frame;
  if (data.length !== h.dataBytes) fail(`${label} is corrupted: ${data.length} bytes of data, the header says ${h.dataBytes}`);
  const within = (offset: number, nbytes: number) => Number.isInteger(offset) && offset >= 0 && Number.isInteger(nbytes) && nbytes >= 0 && offset + nbytes <= data.length;
  if (!within(h.adapter.offset, h.adapter.nbytes)) fail(`${label} is corrupted: its adapter does not fit the data section`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = (e: ArrayEntry, what: string): AdamHostArray => {
    const size = BYTES[e?.dtype];
    if (!size || !within(e.offset, size * e.length) || e.offset % size !== 0) fail(`${label} is corrupted: Adam's ${what} does not fit the data section`);
    const out = e.dtype === 'float64' ? new Float64Array(e.length) : new Float32Array(e.length);
    if (e.dtype === 'float64') for (let i = 0; i < e.length; i++) out[i] = dv.getFloat64(e.offset + 8 * i, true);
    else for (let i = 0; i < e.length; i++) out[i] = dv.getFloat32(e.offset + 4 * i, true);
    return out;
  };
  const slots = h.optimizer.slots.map((s, i) =>
    s ? { shape: s.shape, m: read(s.m, `m of parameter ${i}`), v: read(s.v, `v of parameter ${i}`), vmax: s.vmax ? read(s.vmax, `vmax of parameter ${i}`) : null } : null,
  );
  return {
    step: h.step,
    run: h.run,
    adapter: data.slice(h.adapter.offset, h.adapter.offset + h.adapter.nbytes),
    optimizer: { t: h.optimizer.t, slots },
    ...(h.sampler === undefined ? {} : { sampler: h.sampler }),
    losses: h.losses,
    ...(h.extra ? { extra: h.extra } : {}),
  };
}

/**
 * The settings in which a resume differs from the checkpoint's run, as "name: now, was" lines
 * (empty when they agree). Values compare as JSON; a setting only one side has differs too.
 */
export function runMismatch(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    const a = JSON.stringify(now[key]);
    const b = JSON.stringify(saved[key]);
    if (a !== b) out.push(`${key}: ${a ?? 'not set'} now, ${b ?? 'not set'} in the checkpoint`);
  }
  return out;
}
