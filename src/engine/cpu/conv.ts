/**
 * Float64 3-D convolution and its two gradients as GEMMs over im2col tiles (the reference for
 * the WGSL kernels). Output positions p = (od·OH + oh)·OW + ow are taken in chunks; for each
 * batch item a chunk's tile holds, for each tap t = ((ci·KD + kd)·KH + kh)·KW + kw (the weight's
 * own order, so w [Co, Ci, kD, kH, kW] is the matrix W [Co×T] as stored) and each position of the
 * chunk, the input value that tap reads there (0 in the padding):
 *   forward        Y[:, chunk] = W·tile          (tile position-major: each position's T taps contiguous)
 *   filter grad    dW += G[:, chunk]·tileᵀ       (tile tap-major: each tap's positions contiguous)
 *   data grad      dtile = Wᵀ·G[:, chunk], then scatter-added back to the input (col2im)
 */
import type { ConvSpec } from '../backend';
import { gemmNT, transposeInto } from './gemm';

/**
 * Elements of one tile: 1 MiB of float64, half the per-core L2 here. Bounds the scratch memory
 * whatever the input (the whole im2col of a 64³ conv with 12 channels would be 680 MB); on that
 * conv, tiles of 2¹⁵…2¹⁹ elements measured within noise of each other.
 */
export const TILE_ELEMENTS = 1 << 17;

export const taps = (s: ConvSpec) => s.Ci * s.kernel[0] * s.kernel[1] * s.kernel[2];
export const positions = (s: ConvSpec) => s.outShape[0] * s.outShape[1] * s.outShape[2];
export const inputSize = (s: ConvSpec) => s.Ci * s.inShape[0] * s.inShape[1] * s.inShape[2];
/** Positions per chunk: as many as fit TILE_ELEMENTS, at least one. */
const chunkOf = (s: ConvSpec) => Math.min(positions(s), Math.max(1, Math.floor(TILE_ELEMENTS / taps(s))));

/** Int32s per run in `tapRuns`: t, j0, xRow, ow0, ow1. */
export const RUN = 5;

/**
 * The runs of positions [p0, p1) whose input lies inside the volume (the same for every batch
 * item): run (t, j0, xRow, ow0, ow1) says tap t reads x[xRow + ow·sw] (relative to the batch
 * item's input) for tile column j0 + ow, ow ∈ [ow0, ow1); one run per (tap, output row). Taps
 * and positions in no run read the zero padding. A flat list, so im2col and col2im are tight loops
 * (here and in the wasm backend's kernels), sorted by tap.
 */
export function tapRuns(s: ConvSpec, p0: number, p1: number): Int32Array {
  const [ID, IH, IW] = s.inShape;
  const [, OH, OW] = s.outShape;
  const [KD, KH, KW] = s.kernel;
  const [sd, sh, sw] = s.stride;
  const [pd, ph, pw] = s.padding;
  const [dd, dh, dw] = s.dilation;
  const rFirst = Math.floor(p0 / OW);
  const rEnd = Math.ceil(p1 / OW);
  const runs = new Int32Array(RUN * taps(s) * (rEnd - rFirst));
  let n = 0;
  let t = 0;
  for (let ci = 0; ci < s.Ci; ci++) {
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++, t++) {
          // Output w range whose input w = ow·sw − pw + kw·dw lies in [0, IW).
          const off = kw * dw - pw;
          const owIn0 = Math.max(0, Math.ceil(-off / sw));
          const owIn1 = Math.min(OW, Math.floor((IW - 1 - off) / sw) + 1);
          for (let r = rFirst; r < rEnd; r++) {
            const od = Math.floor(r / OH);
            const id = od * sd - pd + kd * dd;
            if (id < 0 || id >= ID) continue;
            const ih = (r - od * OH) * sh - ph + kh * dh;
            if (ih < 0 || ih >= IH) continue;
            const j0 = r * OW - p0;
            const ow0 = Math.max(owIn0, -j0);
            const ow1 = Math.min(owIn1, p1 - p0 - j0);
            if (ow0 >= ow1) continue;
            runs[n] = t;
            runs[n + 1] = j0;
            runs[n + 2] = ((ci * ID + id) * IH + ih) * IW + off;
            runs[n + 3] = ow0;
            runs[n + 4] = ow1;
            n += RUN;
          }
        }
      }
    }
  }
  return runs.subarray(0, n);
}

/** tile[t·ts + j·js] = the input tap t reads at position p0 + j (0 in the padding), for the batch item at x[xOff…]. */
function im2col(runs: Int32Array, sw: number, x: Float64Array, xOff: number, tile: Float64Array, ts: number, js: number): void {
  tile.fill(0);
  for (let i = 0; i < runs.length; i += RUN) {
    const t = runs[i] * ts;
    const j0 = runs[i + 1];
    const base = xOff + runs[i + 2];
    const ow1 = runs[i + 4];
    for (let ow = runs[i + 3]; ow < ow1; ow++) tile[t + (j0 + ow) * js] = x[base + ow * sw];
  }
}

/** The adjoint of `im2col`: dx[input tap t reads at p0 + j] += tile[t·ts + j·js]. */
function col2im(runs: Int32Array, sw: number, tile: Float64Array, ts: number, js: number, dx: Float64Array, xOff: number): void {
  for (let i = 0; i < runs.length; i += RUN) {
    const t = runs[i] * ts;
    const j0 = runs[i + 1];
    const base = xOff + runs[i + 2];
    const ow1 = runs[i + 4];
    for (let ow = runs[i + 3]; ow < ow1; ow++) dx[base + ow * sw] += tile[t + (j0 + ow) * js];
  }
}

/** Calls `fn` for each chunk of output positions [p0, p0 + pc) and each batch item n, with the chunk's tap runs. */
function forEachChunk(s: ConvSpec, fn: (p0: number, pc: number, runs: Int32Array, n: number) => void): void {
  const P = positions(s);
  const chunk = chunkOf(s);
  for (let p0 = 0; p0 < P; p0 += chunk) {
    const p1 = Math.min(P, p0 + chunk);
    const runs = tapRuns(s, p0, p1);
    for (let n = 0; n < s.N; n++) fn(p0, p1 - p0, runs, n);
  }
}

export function conv3d(x: Float64Array, w: Float64Array, s: ConvSpec): Float64Array {
  const T = taps(s);
  const P = positions(s);
  const y = new Float64Array(s.N * s.Co * P);
  const tile = new Float64Array(T * chunkOf(s));
  forEachChunk(s, (p0, pc, runs, n) => {
    im2col(runs, s.stride[2], x, n * inputSize(s), tile, 1, T);
    const out = { data: y, offset: n * s.Co * P + p0, rowStride: P };
    gemmNT(s.Co, pc, T, { data: w, offset: 0, rowStride: T }, { data: tile, offset: 0, rowStride: T }, out);
  });
  return y;
}

export function conv3dBackwardData(g: Float64Array, w: Float64Array, s: ConvSpec): Float64Array {
  const T = taps(s);
  const P = positions(s);
  const chunk = chunkOf(s);
  const dx = new Float64Array(s.N * inputSize(s));
  const wT = new Float64Array(T * s.Co);
  transposeInto(w, 0, T, s.Co, T, wT);
  const gT = new Float64Array(chunk * s.Co);
  const dtile = new Float64Array(T * chunk);
  forEachChunk(s, (p0, pc, runs, n) => {
    transposeInto(g, n * s.Co * P + p0, P, s.Co, pc, gT);
    dtile.fill(0);
    gemmNT(T, pc, s.Co, { data: wT, offset: 0, rowStride: s.Co }, { data: gT, offset: 0, rowStride: s.Co }, { data: dtile, offset: 0, rowStride: pc });
    col2im(runs, s.stride[2], dtile, pc, 1, dx, n * inputSize(s));
  });
  return dx;
}

export function conv3dBackwardFilter(g: Float64Array, x: Float64Array, s: ConvSpec): Float64Array {
  const T = taps(s);
  const P = positions(s);
  const dw = new Float64Array(s.Co * T);
  const tile = new Float64Array(T * chunkOf(s));
  forEachChunk(s, (p0, pc, runs, n) => {
    im2col(runs, s.stride[2], x, n * inputSize(s), tile, pc, 1);
    const gRows = { data: g, offset: n * s.Co * P + p0, rowStride: P };
    gemmNT(s.Co, T, pc, gRows, { data: tile, offset: 0, rowStride: pc }, { data: dw, offset: 0, rowStride: T });
  });
  return dw;
}
