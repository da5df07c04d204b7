/**
 * Memory scopes: `tidy(fn)` disposes every tensor created inside `fn` except those it
 * returns (which move to the enclosing scope) and those passed to `keep`. Parameters,
 * gradients and optimiser state are never tracked. Scopes are synchronous: enqueue GPU
 * work inside, `await` reads outside (or on kept tensors).
 */
import type { Tensor } from './tensor';

const stack: Set<Tensor>[] = [];

/** Called by Tensor's constructor. */
export function track(t: Tensor): void {
  if (stack.length > 0) stack[stack.length - 1].add(t);
}

function untrackAll(t: Tensor): void {
  for (const s of stack) s.delete(t);
}

/** Removes `t` from every open scope so that `tidy` will not dispose it; the caller owns it. */
export function keep<T extends Tensor>(t: T): T {
  untrackAll(t);
  return t;
}

function collect(value: unknown, into: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of items) collect(v, into, isTensor, depth + 1);
}

let isTensorFn: ((v: unknown) => v is Tensor) | null = null;
/** tensor.ts registers its `instanceof` check here (avoids an import cycle). */
export function setTensorCheck(fn: (v: unknown) => v is Tensor): void {
  isTensorFn = fn;
}

export function tidy<T>(fn: () => T): T {
  if (!isTensorFn) throw new Error('tidy: engine not initialised');
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) throw new Error('tidy: the function must be synchronous (await outside tidy)');
  const out = new Set<Tensor>();
  collect(result, out, isTensorFn);
  for (const t of scope) {
    if (out.has(t)) track(t);
    else t.dispose();
  }
  return result;
}
