/**
 * One tiled GEMM core for matmul and the three convolution GEMMs (implicit im2col, nothing
 * materialised). A workgroup computes a TM×TN tile of C with 256 threads, each holding an
 * RM×RN register block; K advances in TK-deep slabs staged in workgroup memory. Operands come
 * from variant-specific `loadA(m, k)` / `loadB(k, n)` (zero outside the matrix, which is how odd
 * sizes and convolution padding are handled) and results go through `storeC(m, n, v)`.
 */
import type { ConvSpec } from '../../backend';
import { header, type Binding } from '../wgsl';

export interface Tile {
  TM: number;
  TN: number;
  TK: number;
  RM: number;
  RN: number;
}

/** 128×128 tiles, 8×8 per thread: large products (more reuse per load). */
export const TILE_L: Tile = { TM: 128, TN: 128, TK: 8, RM: 8, RN: 8 };
/** 64×64 tiles, 4×4 per thread: mid-sized products. */
export const TILE_S: Tile = { TM: 64, TN: 64, TK: 16, RM: 4, RN: 4 };
/** 16×128 tiles, 2×4 per thread: 9–32 rows, e.g. the output channels of decoder convolutions at feature size 8–16. */
export const TILE_M16: Tile = { TM: 16, TN: 128, TK: 16, RM: 2, RN: 4 };
/** 8×256 tiles, 1×8 per thread: ≤ 8 rows (output heads, single-channel input gradients, a few tokens). */
export const TILE_M8: Tile = { TM: 8, TN: 256, TK: 8, RM: 1, RN: 8 };

/**
 * The tile for an M×N product. Rows past M are computed and thrown away, so a 64-row tile on an
 * 8-row product wastes 7/8 of its work: the row count picks the tile, the largest that does not
 * pad M by more than it must.
 */
export function chooseTile(M: number, N: number): Tile {
  if (M >= TILE_L.TM && N >= TILE_L.TN) return TILE_L;
  if (M > 2 * TILE_M16.TM) return TILE_S;
  return M > TILE_M8.TM ? TILE_M16 : TILE_M8;
}

export interface GemmVariant {
  bindings: Binding[];
  /**
   * WGSL declaring private vars and `fn setup(z: u32)` (sets them and `kEnd`), `fn kRange(z) -> vec2u`
   * (this workgroup's [kBegin, kEnd)), `loadA`, `loadB`, `storeC`; M = pu(0), N = pu(1), K = pu(2).
   */
  code: string;
  /** Consecutive threads load consecutive k of A (A's k axis is contiguous in memory). */
  aKFast: boolean;
  /** Consecutive threads load consecutive n of B. */
  bNFast: boolean;
}

export function gemmKernel(v: GemmVariant, t: Tile): string {
  const TX = t.TN / t.RN;
  const TY = t.TM / t.RM;
  if (TX * TY !== 256) throw new Error('gemm tile must use 256 threads');
  // Staging loads per thread; a slab smaller than the workgroup leaves some threads idle.
  const loadsA = Math.ceil((t.TK * t.TM) / 256);
  const loadsB = Math.ceil((t.TK * t.TN) / 256);
  const guardA = t.TK * t.TM < 256 ? `if (e >= ${t.TK * t.TM}u) { continue; }` : '';
  const guardB = t.TK * t.TN < 256 ? `if (e >= ${t.TK * t.TN}u) { continue; }` : '';
  const aIdx = v.aKFast ? `let kk = e % ${t.TK}u; let mm = e / ${t.TK}u;` : `let mm = e % ${t.TM}u; let kk = e / ${t.TM}u;`;
  const bIdx = v.bNFast ? `let nn = e % ${t.TN}u; let kk = e / ${t.TN}u;` : `let kk = e % ${t.TK}u; let nn = e / ${t.TK}u;`;
  return `${header(v.bindings)}
var<private> kEnd: u32;
${v.code}
var<workgroup> As: array<f32, ${t.TK * t.TM}>;
var<workgroup> Bs: array<f32, ${t.TK * t.TN}>;
@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m0 = wid.y * ${t.TM}u;
  let n0 = wid.x * ${t.TN}u;
  let tid = lid.y * ${TX}u + lid.x;
  setup(wid.z);
  // The K range comes from uniform values only, so the barriers below stay in uniform control flow.
  let kr = kRange(wid.z);
  var acc: array<array<f32, ${t.RN}>, ${t.RM}>;
  for (var k0 = kr.x; k0 < kr.y; k0 += ${t.TK}u) {
    for (var l = 0u; l < ${loadsA}u; l++) {
      let e = tid + l * 256u;
      ${guardA}
      ${aIdx}
      As[kk * ${t.TM}u + mm] = loadA(m0 + mm, k0 + kk);
    }
    for (var l = 0u; l < ${loadsB}u; l++) {
      let e = tid + l * 256u;
      ${guardB}
      ${bIdx}
      Bs[kk * ${t.TN}u + nn] = loadB(k0 + kk, n0 + nn);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${t.TK}u; kk++) {
      var a: array<f32, ${t.RM}>;
      var b: array<f32, ${t.RN}>;
      for (var r = 0u; r < ${t.RM}u; r++) { a[r] = As[kk * ${t.TM}u + lid.y + r * ${TY}u]; }
      for (var c = 0u; c < ${t.RN}u; c++) { b[c] = Bs[kk * ${t.TN}u + lid.x + c * ${TX}u]; }
      for (var r = 0u; r < ${t.RM}u; r++) {
        for (var c = 0u; c < ${t.RN}u; c++) { acc[r][c] = fma(a[r], b[c], acc[r][c]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${t.RM}u; r++) {
    let m = m0 + lid.y + r * ${TY}u;
    if (m >= pu(0u)) { continue; }
    for (var c = 0u; c < ${t.RN}u; c++) {
      let n = n0 + lid.x + c * ${TX}u;
      if (n < pu(1u)) { storeC(m, n, acc[r][c]); }
    }
  }
}`;
}

const IO3 = (a: string, b: string, c: string): Binding[] => [
  { name: a, access: 'read' },
  { name: b, access: 'read' },
  { name: c, access: 'rw' },
];

/**
 * Batched matmul. params: [M, N, K, batchRank-free: batchShape[Rb], aStrides[Rb], bStrides[Rb]]
 * starting at word 3. Batch index = workgroup z.
 */
export function matmulVariant(rank: number, transA: boolean, transB: boolean): GemmVariant {
  const dec: string[] = ['  var rem = z;', '  aOff = 0u;', '  bOff = 0u;'];
  for (let d = rank - 1; d >= 0; d--) {
    dec.push(`  { let s = pu(${3 + d}u); let c = rem % s; rem = rem / s; aOff += c * pu(${3 + rank + d}u); bOff += c * pu(${3 + 2 * rank + d}u); }`);
  }
  return {
    bindings: IO3('A', 'B', 'C'),
    aKFast: !transA,
    bNFast: !transB,
    code: `
var<private> aOff: u32;
var<private> bOff: u32;
var<private> cOff: u32;
fn setup(z: u32) {
${dec.join('\n')}
  cOff = z * pu(0u) * pu(1u);
  kEnd = pu(2u);
}
fn kRange(z: u32) -> vec2u { return vec2u(0u, pu(2u)); }
fn loadA(m: u32, k: u32) -> f32 {
  if (m >= pu(0u) || k >= kEnd) { return 0.0; }
  return A[aOff + ${transA ? 'k * pu(0u) + m' : 'm * pu(2u) + k'}];
}
fn loadB(k: u32, n: u32) -> f32 {
  if (n >= pu(1u) || k >= kEnd) { return 0.0; }
  return B[bOff + ${transB ? 'n * pu(2u) + k' : 'k * pu(1u) + n'}];
}
fn storeC(m: u32, n: u32, v: f32) { C[cOff + m * pu(1u) + n] = v; }`,
  };
}

/**
 * A convolution's geometry, baked into its kernels as constants: the implicit im2col divides
 * and takes remainders by these sizes for every staged element, and division by a runtime
 * value costs tens of instructions on a GPU (and scalarises on CPU adapters) where division by
 * a constant is a multiply and a shift. One pipeline per geometry; a model has a few dozen.
 */
export type ConvGeometry = Omit<ConvSpec, 'N'>;

function convConstants(g: ConvGeometry): string {
  const [ID, IH, IW] = g.inShape;
  const [OD, OH, OW] = g.outShape;
  const [KD, KH, KW] = g.kernel;
  const words: Record<string, number> = {
    Ci: g.Ci, Co: g.Co, ID, IH, IW, OD, OH, OW, KD, KH, KW,
    sd: g.stride[0], sh: g.stride[1], sw: g.stride[2],
    pd: g.padding[0], ph: g.padding[1], pw: g.padding[2],
    dd: g.dilation[0], dh: g.dilation[1], dw: g.dilation[2],
    P: OD * OH * OW, Q: ID * IH * IW, Kvol: KD * KH * KW,
  };
  return Object.entries(words).map(([n, v]) => `fn ${n}() -> u32 { return ${v}u; }`).join('\n');
}

/** Input voxel for output position p and kernel tap t, or −1 (as i32) in the padding. */
const INPUT_AT = `
fn inputAt(p: u32, t: u32) -> i32 {
  let ow = p % OW(); let oh = (p / OW()) % OH(); let od = p / (OW() * OH());
  let kw = t % KW(); let kh = (t / KW()) % KH(); let kd = t / (KW() * KH());
  let id = i32(od * sd() + kd * dd()) - i32(pd());
  let ih = i32(oh * sh() + kh * dh()) - i32(ph());
  let iw = i32(ow * sw() + kw * dw()) - i32(pw());
  if (id < 0 || ih < 0 || iw < 0 || id >= i32(ID()) || ih >= i32(IH()) || iw >= i32(IW())) { return -1; }
  return (id * i32(IH()) + ih) * i32(IW()) + iw;
}`;

/** y[n] = W[Co, Ci·Kvol] · im2col(x[n]); z = batch item n. */
export function convForwardVariant(g: ConvGeometry): GemmVariant {
  return {
    bindings: IO3('Wt', 'X', 'Y'),
    aKFast: true,
    bNFast: true,
    code: `${convConstants(g)}${INPUT_AT}
var<private> n: u32;
fn setup(z: u32) { n = z; kEnd = pu(2u); }
fn kRange(z: u32) -> vec2u { return vec2u(0u, pu(2u)); }
fn loadA(m: u32, k: u32) -> f32 {
  if (m >= pu(0u) || k >= kEnd) { return 0.0; }
  return Wt[m * pu(2u) + k];
}
fn loadB(k: u32, p: u32) -> f32 {
  if (p >= pu(1u) || k >= kEnd) { return 0.0; }
  let q = inputAt(p, k % Kvol());
  if (q < 0) { return 0.0; }
  return X[(n * Ci() + k / Kvol()) * Q() + u32(q)];
}
fn storeC(m: u32, p: u32, v: f32) { Y[(n * Co() + m) * P() + p] = v; }`,
  };
}

/** dx[n] = Σ_{co,t} W[co, ci, t] · g[n, co, o(q, t)] where o·s = q + pad − t·dil; z = n. M = Ci, N = Q, K = Co·Kvol. */
export function convBackwardDataVariant(g: ConvGeometry): GemmVariant {
  return {
    bindings: IO3('Wt', 'G', 'DX'),
    aKFast: true,
    bNFast: true,
    code: `${convConstants(g)}
var<private> n: u32;
fn setup(z: u32) { n = z; kEnd = pu(2u); }
fn kRange(z: u32) -> vec2u { return vec2u(0u, pu(2u)); }
fn loadA(ci: u32, k: u32) -> f32 {
  if (ci >= pu(0u) || k >= kEnd) { return 0.0; }
  return Wt[((k / Kvol()) * Ci() + ci) * Kvol() + k % Kvol()];
}
fn outAxis(i: u32, k: u32, p: u32, d: u32, s: u32, lim: u32) -> i32 {
  let num = i32(i + p) - i32(k * d);
  if (num < 0 || num % i32(s) != 0) { return -1; }
  let o = num / i32(s);
  if (o >= i32(lim)) { return -1; }
  return o;
}
fn loadB(k: u32, q: u32) -> f32 {
  if (q >= pu(1u) || k >= kEnd) { return 0.0; }
  let t = k % Kvol();
  let kw = t % KW(); let kh = (t / KW()) % KH(); let kd = t / (KW() * KH());
  let iw = q % IW(); let ih = (q / IW()) % IH(); let id = q / (IW() * IH());
  let od = outAxis(id, kd, pd(), dd(), sd(), OD());
  let oh = outAxis(ih, kh, ph(), dh(), sh(), OH());
  let ow = outAxis(iw, kw, pw(), dw(), sw(), OW());
  if (od < 0 || oh < 0 || ow < 0) { return 0.0; }
  return G[(n * Co() + k / Kvol()) * P() + (u32(od) * OH() + u32(oh)) * OW() + u32(ow)];
}
fn storeC(ci: u32, q: u32, v: f32) { DX[(n * Ci() + ci) * Q() + q] = v; }`,
  };
}

/**
 * dW[co, (ci,t)] = Σ_{(n,p)} g[n, co, p] · x[n, ci, in(p, t)]; K = N·P is split into chunks
 * (workgroup z), each writing its own partial [z, Co, Ci·Kvol] for a later sum; the chunk
 * length is param word 3.
 */
export function convBackwardFilterVariant(g: ConvGeometry): GemmVariant {
  return {
    bindings: IO3('G', 'X', 'DW'),
    aKFast: true,
    bNFast: false,
    code: `${convConstants(g)}${INPUT_AT}
var<private> zz: u32;
fn kRange(z: u32) -> vec2u { return vec2u(z * pu(3u), min(pu(2u), (z + 1u) * pu(3u))); }
fn setup(z: u32) { zz = z; kEnd = kRange(z).y; }
fn loadA(co: u32, k: u32) -> f32 {
  if (co >= pu(0u) || k >= kEnd) { return 0.0; }
  return G[((k / P()) * Co() + co) * P() + k % P()];
}
fn loadB(k: u32, col: u32) -> f32 {
  if (col >= pu(1u) || k >= kEnd) { return 0.0; }
  let q = inputAt(k % P(), col % Kvol());
  if (q < 0) { return 0.0; }
  return X[((k / P()) * Ci() + col / Kvol()) * Q() + u32(q)];
}
fn storeC(co: u32, col: u32, v: f32) { DW[(zz * pu(0u) + co) * pu(1u) + col] = v; }`,
  };
}
