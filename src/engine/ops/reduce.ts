import { record } from '../autograd';
import { ShapeError } from '../errors';
import { fmt, normAxis, sameShape, sizeOf, stridesOf, type Shape } from '../shape';
import { shareStorage, type Tensor } from '../tensor';
import { backendOf, checkOut, result } from './util';

function axesOf(x: Tensor, axes: number | readonly number[] | undefined, op: string): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = (typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, x.rank, op));
  if (new Set(list).size !== list.length) throw new ShapeError(`${op}: repeated axis in [${list}]`);
  return list.sort((a, b) => a - b);
}

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const b = backendOf('sum', x);
  const red = axesOf(x, axes, 'sum');
  const st = stridesOf(x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !red.includes(i));
  const outShape = keepDims ? x.shape.map((d, i) => (red.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]);
  const s = b.reduceSum(x.storage, {
    outShape: kept.map((i) => x.shape[i]),
    outStrides: kept.map((i) => st[i]),
    redShape: red.map((i) => x.shape[i]),
    redStrides: red.map((i) => st[i]),
  });
  const out = result(b, s, outShape);
  return record('sum', out, [x], () => (g) => [broadcastTo(reshapeRaw(g, x.shape.map((d, i) => (red.includes(i) ? 1 : d))), x.shape)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const red = axesOf(x, axes, 'mean');
  const n = red.reduce((a, i) => a * x.shape[i], 1);
  const s = sum(x, red, keepDims);
  const m = affineRaw(s, 1 / n);
  s.dispose();
  return m;
}

/** Sums a broadcast gradient back to `shape` (the inverse of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return reshapeRaw(g, shape);
  const off = g.rank - shape.length;
  if (off < 0) throw new ShapeError(`sumTo: ${fmt(g.shape)} cannot reduce to ${fmt(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = sum(g, axes, true);
  const r = reshapeRaw(s, shape);
  s.dispose();
  return r;
}

/** Broadcasts x to `shape` by copying (stride-0 reads). Gradient: sumTo. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const b = backendOf('broadcastTo', x);
  if (sameShape(x.shape, shape)) return reshapeRaw(x, shape);
  const off = shape.length - x.rank;
  const st = stridesOf(x.shape);
  if (off < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[i + off])) throw new ShapeError(`broadcastTo: ${x.describe()} cannot broadcast to ${fmt(shape)}`);
  checkOut('broadcastTo', b, sizeOf(shape), shape);
  const strides = shape.map((_, i) => (i < off || x.shape[i - off] === 1 ? 0 : st[i - off]));
  const out = result(b, b.copy(x.storage, { shape, offset: 0, strides }), shape);
  return record('broadcastTo', out, [x], () => (g) => [sumTo(g, x.shape)]);
}

/** Zero-copy reshape without validation beyond size (internal; ops/shape.ts has the public one). */
export function reshapeRaw(x: Tensor, shape: Shape): Tensor {
  if (sizeOf(shape) !== x.size) throw new ShapeError(`reshape: ${x.describe()} cannot become ${fmt(shape)}`);
  const out = shareStorage(x, shape);
  return record('reshape', out, [x], () => (g) => [reshapeRaw(g, x.shape)]);
}

/** y = a·x + c (scalars). */
export function affineRaw(x: Tensor, a: number, c = 0): Tensor {
  const b = backendOf('affine', x);
  const out = result(b, b.unary('affine', x.storage, a, c), x.shape);
  return record('affine', out, [x], () => (g) => [affineRaw(g, a)]);
}
