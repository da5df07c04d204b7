import { record } from '../autograd';
import { ShapeError } from '../errors';
import { fmt, normAxis, sizeOf, stridesOf, type Shape } from '../shape';
import type { Tensor } from '../tensor';
import { reshapeRaw } from './reduce';
import { backendOf, checkOut, result } from './util';

/** Zero-copy reshape; one dimension may be −1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const free = shape.indexOf(-1);
  let s = [...shape];
  if (free >= 0) {
    const known = shape.reduce((a, d, i) => (i === free ? a : a * d), 1);
    if (known === 0 || x.size % known !== 0) throw new ShapeError(`reshape: ${x.describe()} cannot become ${fmt(shape)}`);
    s[free] = x.size / known;
  }
  s = s.map((d) => d);
  return reshapeRaw(x, s);
}

/** Reorders axes: out.shape[i] = x.shape[perm[i]]. Copies. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const b = backendOf('permute', x);
  const p = perm.map((a) => normAxis(a, x.rank, 'permute'));
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new ShapeError(`permute: [${perm}] is not a permutation of ${x.rank} axes of ${x.describe()}`);
  const st = stridesOf(x.shape);
  const shape = p.map((a) => x.shape[a]);
  const out = result(b, b.copy(x.storage, { shape, offset: 0, strides: p.map((a) => st[a]) }), shape);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record('permute', out, [x], () => (g) => [permute(g, inv)]);
}

/** Swaps two axes. */
export function transpose(x: Tensor, a = -2, c = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normAxis(a, x.rank, 'transpose');
  const j = normAxis(c, x.rank, 'transpose');
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** One axis of a slice: [start, end) with a positive step; negative start/end count from the end. */
export type SliceRange = readonly [start: number, end?: number, step?: number];

interface ResolvedSlice {
  shape: number[];
  offset: number;
  strides: number[];
}

function resolveSlice(x: Tensor, ranges: readonly (SliceRange | null | undefined)[], op: string): ResolvedSlice {
  if (ranges.length > x.rank) throw new ShapeError(`${op}: ${ranges.length} ranges for ${x.describe()}`);
  const st = stridesOf(x.shape);
  const shape: number[] = [];
  const strides: number[] = [];
  let offset = 0;
  x.shape.forEach((d, i) => {
    const r = ranges[i];
    let start = r ? r[0] : 0;
    let end = r && r[1] !== undefined ? r[1] : d;
    const step = r && r[2] !== undefined ? r[2] : 1;
    if (!Number.isInteger(step) || step < 1) throw new ShapeError(`${op}: step ${step} on axis ${i} must be a positive integer`);
    if (start < 0) start += d;
    if (end < 0) end += d;
    start = Math.min(Math.max(start, 0), d);
    end = Math.min(Math.max(end, start), d);
    shape.push(Math.ceil((end - start) / step));
    strides.push(st[i] * step);
    offset += start * st[i];
  });
  return { shape, offset, strides };
}

/** Python-style slicing per axis (`null` keeps an axis whole), e.g. x[:, 1::2] = slice(x, [null, [1, undefined, 2]]). */
export function slice(x: Tensor, ranges: readonly (SliceRange | null | undefined)[]): Tensor {
  const b = backendOf('slice', x);
  const view = resolveSlice(x, ranges, 'slice');
  const out = result(b, b.copy(x.storage, view), view.shape);
  return record('slice', out, [x], () => (g) => {
    const gx = result(b, b.fill(x.size, 0, 'slice.grad'), x.shape);
    b.writeInto(gx.storage, g.storage, view);
    return [gx];
  });
}

/** Zero padding: pads[i] = [before, after] for axis i (missing trailing axes are not padded). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
  const b = backendOf('pad', x);
  if (pads.length > x.rank) throw new ShapeError(`pad: ${pads.length} axes of padding for ${x.describe()}`);
  const p = x.shape.map((_, i) => pads[i] ?? ([0, 0] as const));
  if (p.some(([lo, hi]) => !Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < 0)) throw new ShapeError(`pad: padding must be non-negative integers, got ${JSON.stringify(pads)}`);
  const shape = x.shape.map((d, i) => d + p[i][0] + p[i][1]);
  checkOut('pad', b, sizeOf(shape), shape);
  const st = stridesOf(shape);
  const view = { shape: x.shape, offset: p.reduce((a, [lo], i) => a + lo * st[i], 0), strides: st };
  const s = b.fill(sizeOf(shape), 0, 'pad');
  b.writeInto(s, x.storage, view);
  const out = result(b, s, shape);
  return record('pad', out, [x], () => (g) => [result(b, b.copy(g.storage, view), x.shape)]);
}

/** Joins tensors along `axis` (all other axes equal). */
export function concat(ts: readonly Tensor[], axis: number): Tensor {
  if (ts.length === 0) throw new ShapeError('concat: no tensors');
  const b = backendOf('concat', ...ts);
  const ax = normAxis(axis, ts[0].rank, 'concat');
  for (const t of ts) {
    if (t.rank !== ts[0].rank || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i])) {
      throw new ShapeError(`concat: ${t.describe()} does not match ${ts[0].describe()} outside axis ${ax}`);
    }
  }
  const shape = [...ts[0].shape];
  shape[ax] = ts.reduce((a, t) => a + t.shape[ax], 0);
  checkOut('concat', b, sizeOf(shape), shape);
  const st = stridesOf(shape);
  const views = [] as { shape: readonly number[]; offset: number; strides: number[] }[];
  let at = 0;
  for (const t of ts) {
    views.push({ shape: t.shape, offset: at * st[ax], strides: st });
    at += t.shape[ax];
  }
  const s = b.fill(sizeOf(shape), 0, 'concat');
  ts.forEach((t, i) => b.writeInto(s, t.storage, views[i]));
  const out = result(b, s, shape);
  return record('concat', out, ts, () => (g, needs) => views.map((v, i) => (needs[i] ? result(b, b.copy(g.storage, v), v.shape) : null)));
}

/** Splits along `axis` into pieces of the given sizes. */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const ax = normAxis(axis, x.rank, 'split');
  if (sizes.reduce((a, s) => a + s, 0) !== x.shape[ax]) throw new ShapeError(`split: sizes [${sizes}] do not add up to axis ${ax} of ${x.describe()}`);
  let at = 0;
  return sizes.map((n) => {
    const r: (SliceRange | null)[] = x.shape.map(() => null);
    r[ax] = [at, at + n];
    at += n;
    return slice(x, r);
  });
}

/** Cyclic shift like torch.roll: out[(i + shift) mod n] = x[i] along each axis. */
export function roll(x: Tensor, shifts: readonly number[], axes: readonly number[]): Tensor {
  const b = backendOf('roll', x);
  if (shifts.length !== axes.length) throw new ShapeError(`roll: ${shifts.length} shifts for ${axes.length} axes`);
  const full = x.shape.map(() => 0);
  axes.forEach((a, i) => {
    const ax = normAxis(a, x.rank, 'roll');
    const n = x.shape[ax];
    full[ax] = n === 0 ? 0 : (((full[ax] + shifts[i]) % n) + n) % n;
  });
  const out = result(b, b.roll(x.storage, x.shape, full), x.shape);
  return record('roll', out, [x], () => (g) => [roll(g, full.map((s) => -s), full.map((_, i) => i))]);
}

/** Inserts a length-1 axis. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = normAxis(axis, x.rank + 1, 'unsqueeze');
  const s = [...x.shape];
  s.splice(ax, 0, 1);
  return reshapeRaw(x, s);
}
