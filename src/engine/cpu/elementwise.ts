/**
 * Elementwise host kernels: one tight loop per op (the switch is outside the loop, as a
 * closure call per element costs more than the arithmetic), and binary ops over coalesced
 * broadcast strides, so operands laid out like the output run as one contiguous row. Float64
 * for the cpu backend; the wasm backend runs the same loops on float32 arrays (`…Into`),
 * computing each element in float64 and rounding once when it is stored.
 */
import type { BinaryOp, UnaryOp } from '../backend';
import { sizeOf, stridesOf } from '../shape';
import { erf, gelu, geluGrad } from './math';
import { coalesce, forEachRow } from './strided';

/** A host array of either engine precision. */
export type HostArray = Float64Array | Float32Array;

function unknownOp(op: never): never {
  throw new Error(`cpu: unknown elementwise op ${String(op)}`);
}

/** y[i] = op(x[i]); `affine` is p0·x + p1, `leakyRelu` has slope p0. */
export function unary(op: UnaryOp, x: Float64Array, p0: number, p1: number): Float64Array {
  const y = new Float64Array(x.length);
  unaryInto(op, x, y, p0, p1);
  return y;
}

/** `unary` into a given output of x's length. */
export function unaryInto(op: UnaryOp, x: HostArray, y: HostArray, p0: number, p1: number): void {
  const n = x.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) y[i] = -x[i]; break;
    case 'exp': for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]); break;
    case 'log': for (let i = 0; i < n; i++) y[i] = Math.log(x[i]); break;
    case 'sqrt': for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]); break;
    case 'rsqrt': for (let i = 0; i < n; i++) y[i] = 1 / Math.sqrt(x[i]); break;
    case 'abs': for (let i = 0; i < n; i++) y[i] = Math.abs(x[i]); break;
    case 'square': for (let i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
    case 'reciprocal': for (let i = 0; i < n; i++) y[i] = 1 / x[i]; break;
    case 'relu': for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
    case 'leakyRelu': for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : p0 * x[i]; break;
    case 'gelu': for (let i = 0; i < n; i++) y[i] = gelu(x[i]); break;
    case 'erf': for (let i = 0; i < n; i++) y[i] = erf(x[i]); break;
    case 'sigmoid': for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i])); break;
    case 'tanh': for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); break;
    case 'affine': for (let i = 0; i < n; i++) y[i] = p0 * x[i] + p1; break;
    default: unknownOp(op);
  }
}

/** y[o + i] = op(a[ia + i·da], b[ib + i·db]) for i < n. The grad ops take (x, g). */
function binaryRow(op: BinaryOp, p0: number, y: HostArray, o: number, a: HostArray, ia: number, da: number, b: HostArray, ib: number, db: number, n: number): void {
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) y[o + i] = a[ia + i * da] + b[ib + i * db]; break;
    case 'sub': for (let i = 0; i < n; i++) y[o + i] = a[ia + i * da] - b[ib + i * db]; break;
    case 'mul': for (let i = 0; i < n; i++) y[o + i] = a[ia + i * da] * b[ib + i * db]; break;
    case 'div': for (let i = 0; i < n; i++) y[o + i] = a[ia + i * da] / b[ib + i * db]; break;
    case 'reluGrad': for (let i = 0; i < n; i++) y[o + i] = a[ia + i * da] > 0 ? b[ib + i * db] : 0; break;
    case 'leakyReluGrad':
      for (let i = 0; i < n; i++) y[o + i] = a[ia + i * da] > 0 ? b[ib + i * db] : p0 * b[ib + i * db];
      break;
    case 'geluGrad': for (let i = 0; i < n; i++) y[o + i] = b[ib + i * db] * geluGrad(a[ia + i * da]); break;
    default: unknownOp(op);
  }
}

/** y = op(a, b) over `outShape`, reading a and b through broadcast strides `sa`, `sb` (0 where broadcast). */
export function binary(op: BinaryOp, a: Float64Array, b: Float64Array, outShape: readonly number[], sa: readonly number[], sb: readonly number[], p0: number): Float64Array {
  const y = new Float64Array(sizeOf(outShape));
  binaryInto(op, a, b, y, outShape, sa, sb, p0);
  return y;
}

/** `binary` into a given contiguous output over `outShape`. */
export function binaryInto(op: BinaryOp, a: HostArray, b: HostArray, y: HostArray, outShape: readonly number[], sa: readonly number[], sb: readonly number[], p0: number): void {
  const c = coalesce(outShape, stridesOf(outShape), sa, sb);
  forEachRow(c.shape, c.strides[1], c.strides[2], 0, 0, (o, ia, ib, n, da, db) => binaryRow(op, p0, y, o, a, ia, da, b, ib, db, n));
}
