import type { Backend, Storage } from '../backend';
import { EngineLimitError, ShapeError } from '../errors';
import type { Shape } from '../shape';
import { wrap, type Tensor } from '../tensor';

/** The common backend of an op's inputs (all must live on one engine, none disposed). */
export function backendOf(op: string, ...ts: Tensor[]): Backend {
  const b = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== b) throw new ShapeError(`${op}: ${t.describe()} lives on another engine (${t.backend.kind}) than ${ts[0].describe()} (${b.kind})`);
  }
  return b;
}

/** Checks an op's output against the backend's per-tensor limit before any work is queued. */
export function checkOut(op: string, b: Backend, size: number, shape: Shape): void {
  if (size > b.maxElements) {
    throw new EngineLimitError(`${op}: output [${shape.join(',')}] has ${size} elements; this device holds at most ${b.maxElements} per tensor (maxStorageBufferBindingSize)`);
  }
}

export function result(b: Backend, s: Storage, shape: Shape): Tensor {
  return wrap(b, s, shape);
}
