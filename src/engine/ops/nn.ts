import { record } from '../autograd';
import type { SoftmaxSpec } from '../backend';
import type { IndexTensor } from '../engine';
import { ShapeError } from '../errors';
import { normAxis, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { add, mul, scale } from './elementwise';
import { matmul } from './matmul';
import { backendOf, checkOut, result } from './util';

function softmaxSpec(x: Tensor, axis: number, log: boolean, op: string): SoftmaxSpec {
  const ax = normAxis(axis, x.rank, op);
  return { outer: sizeOf(x.shape.slice(0, ax)), len: x.shape[ax], inner: sizeOf(x.shape.slice(ax + 1)), log };
}

function softmaxOp(x: Tensor, axis: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const b = backendOf(op, x);
  const spec = softmaxSpec(x, axis, log, op);
  const y = result(b, b.softmax(x.storage, spec), x.shape);
  return record(op, y, [x], (save) => {
    const sy = save(y);
    return (g) => [result(b, b.softmaxBackward(sy.storage, g.storage, spec), x.shape)];
  });
}

/** Softmax along `axis` (max-subtracted, so large logits are safe). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp(x, axis, false);
}

/** log(softmax(x)) computed stably along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp(x, axis, true);
}

/** (x − mean)/sqrt(var + eps) over the last axis of x viewed as [rows, len]. */
function normalizeRows(x: Tensor, len: number, eps: number, op: string): Tensor {
  const b = backendOf(op, x);
  if (len === 0 || x.size % len !== 0) throw new ShapeError(`${op}: cannot normalise ${x.describe()} over ${len} elements`);
  const rows = x.size / len;
  const { xhat, rstd } = b.normalize(x.storage, rows, len, eps);
  const y = result(b, xhat, x.shape);
  const r = result(b, rstd, [rows]);
  const out = record(op, y, [x], (save) => {
    const sy = save(y);
    const sr = save(r);
    return (g) => [result(b, b.normalizeBackward(sy.storage, sr.storage, g.storage, rows, len), x.shape)];
  });
  r.dispose();
  return out;
}

/** LayerNorm over the last axis (torch eps 1e-5); weight/bias [C] or null for affine-free. */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const c = x.shape[x.rank - 1];
  for (const p of [weight, bias]) {
    if (p && (p.rank !== 1 || p.shape[0] !== c)) throw new ShapeError(`layerNorm: parameter ${p.describe()} does not match the last axis of ${x.describe()}`);
  }
  let y = normalizeRows(x, c, eps, 'layerNorm');
  if (weight) {
    const t = mul(y, weight);
    y.dispose();
    y = t;
  }
  if (bias) {
    const t = add(y, bias);
    y.dispose();
    y = t;
  }
  return y;
}

/** InstanceNorm over the spatial axes of [N, C, ...spatial], affine off (MONAI's default, eps 1e-5). */
export function instanceNorm(x: Tensor, eps = 1e-5): Tensor {
  if (x.rank < 3) throw new ShapeError(`instanceNorm: expects [N, C, ...spatial], got ${x.describe()}`);
  return normalizeRows(x, sizeOf(x.shape.slice(2)), eps, 'instanceNorm');
}

/** out[i, :] = table[index[i], :] for table [rows, cols]; e.g. the Swin relative-position bias lookup. */
export function gatherRows(table: Tensor, index: IndexTensor): Tensor {
  const b = backendOf('gatherRows', table);
  if (index.engine.backend !== b) throw new ShapeError(`gatherRows: index "${index.name}" lives on another engine than ${table.describe()}`);
  if (table.rank !== 2) throw new ShapeError(`gatherRows: table ${table.describe()} must be [rows, cols]`);
  const rows = table.shape[0];
  const cols = table.shape[1];
  const host = index.storage.host;
  for (let i = 0; i < host.length; i++) {
    if (host[i] >= rows) throw new ShapeError(`gatherRows: index "${index.name}"[${i}] = ${host[i]} is out of range for table ${table.describe()}`);
  }
  const shape = [index.size, cols];
  checkOut('gatherRows', b, sizeOf(shape), shape);
  const out = result(b, b.gatherRows(table.storage, index.storage, cols), shape);
  return record('gatherRows', out, [table], () => (g) => [result(b, b.scatterAddRows(g.storage, index.storage, rows, cols), table.shape)]);
}

export interface AttentionOptions {
  /** Multiplies q·kᵀ; default 1/sqrt(head dim). */
  scale?: number;
  /** Added to the scores before softmax (broadcast): relative-position bias, the −100 shift mask. */
  bias?: Tensor | null;
}

/** softmax(q·kᵀ·scale + bias)·v over the last two axes; q [..., Nq, d], k/v [..., Nk, d]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const d = q.shape[q.rank - 1];
  if (k.shape[k.rank - 1] !== d) throw new ShapeError(`attention: q ${q.describe()} and k ${k.describe()} differ in head dim`);
  const s0 = matmul(q, k, { transB: true });
  const s1 = scale(s0, opts.scale ?? 1 / Math.sqrt(d));
  s0.dispose();
  let s2 = s1;
  if (opts.bias) {
    s2 = add(s1, opts.bias);
    s1.dispose();
  }
  const p = softmax(s2, -1);
  s2.dispose();
  const o = matmul(p, v);
  p.dispose();
  return o;
}
