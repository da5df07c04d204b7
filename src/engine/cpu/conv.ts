/** Direct float64 3-D convolution and its two gradients (the reference for the WGSL kernels). */
import type { ConvSpec } from '../backend';

/**
 * Calls `fn(xBase, yBase, wIndex, ox0, ox1, sx)` for every (n, co, ci, kernel tap, output
 * d, h) with the valid output-w range [ox0, ox1); input w = ow·sx + xBase offset handled by caller.
 */
function forEachTap(
  s: ConvSpec,
  fn: (xRow: number, yRow: number, wi: number, ow0: number, ow1: number) => void,
): void {
  const [ID, IH, IW] = s.inShape;
  const [OD, OH, OW] = s.outShape;
  const [KD, KH, KW] = s.kernel;
  const [sd, sh, sw] = s.stride;
  const [pd, ph, pw] = s.padding;
  const [dd, dh, dw] = s.dilation;
  for (let n = 0; n < s.N; n++) {
    for (let co = 0; co < s.Co; co++) {
      for (let ci = 0; ci < s.Ci; ci++) {
        for (let kd = 0; kd < KD; kd++) {
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const wi = (((co * s.Ci + ci) * KD + kd) * KH + kh) * KW + kw;
              // Output w range whose input w = ow·sw − pw + kw·dw lies in [0, IW).
              const off = kw * dw - pw;
              const ow0 = Math.max(0, Math.ceil(-off / sw));
              const ow1 = Math.min(OW, Math.floor((IW - 1 - off) / sw) + 1);
              if (ow0 >= ow1) continue;
              for (let od = 0; od < OD; od++) {
                const id = od * sd - pd + kd * dd;
                if (id < 0 || id >= ID) continue;
                for (let oh = 0; oh < OH; oh++) {
                  const ih = oh * sh - ph + kh * dh;
                  if (ih < 0 || ih >= IH) continue;
                  const xRow = (((n * s.Ci + ci) * ID + id) * IH + ih) * IW + off;
                  const yRow = (((n * s.Co + co) * OD + od) * OH + oh) * OW;
                  fn(xRow, yRow, wi, ow0, ow1);
                }
              }
            }
          }
        }
      }
    }
  }
}

export function conv3d(x: Float64Array, w: Float64Array, s: ConvSpec): Float64Array {
  const y = new Float64Array(s.N * s.Co * s.outShape[0] * s.outShape[1] * s.outShape[2]);
  const sw = s.stride[2];
  forEachTap(s, (xRow, yRow, wi, ow0, ow1) => {
    const wv = w[wi];
    for (let ow = ow0; ow < ow1; ow++) y[yRow + ow] += wv * x[xRow + ow * sw];
  });
  return y;
}

export function conv3dBackwardData(g: Float64Array, w: Float64Array, s: ConvSpec): Float64Array {
  const dx = new Float64Array(s.N * s.Ci * s.inShape[0] * s.inShape[1] * s.inShape[2]);
  const sw = s.stride[2];
  forEachTap(s, (xRow, yRow, wi, ow0, ow1) => {
    const wv = w[wi];
    for (let ow = ow0; ow < ow1; ow++) dx[xRow + ow * sw] += wv * g[yRow + ow];
  });
  return dx;
}

export function conv3dBackwardFilter(g: Float64Array, x: Float64Array, s: ConvSpec): Float64Array {
  const dw = new Float64Array(s.Co * s.Ci * s.kernel[0] * s.kernel[1] * s.kernel[2]);
  const sw = s.stride[2];
  forEachTap(s, (xRow, yRow, wi, ow0, ow1) => {
    let acc = 0;
    for (let ow = ow0; ow < ow1; ow++) acc += g[yRow + ow] * x[xRow + ow * sw];
    dw[wi] += acc;
  });
  return dw;
}
