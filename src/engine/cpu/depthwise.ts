/**
 * Depthwise convolution (one filter per channel, TinyViT's MBConv and local convolutions) and
 * its two gradients as the cpu backend's float64 host loops; the wasm backend runs the same tap
 * runs in kernels.wat "depthwise*" and is tested against these. A depthwise tap is one
 * multiply-add per output element (9 for a 3 × 3 kernel), so this is memory-bound: no GEMM, just
 * the spatial tap runs of `cpu/conv.ts` (`tapRuns` with one input channel) applied to every
 * channel. Sums run in float64 (a scratch row per channel, or a JavaScript number) in a fixed
 * order and each output is rounded once when stored.
 */
import type { ConvSpec } from '../backend';
import { positions, RUN, tapRuns } from './conv';
import type { HostArray } from './elementwise';

const kernelSize = (s: ConvSpec) => s.kernel[0] * s.kernel[1] * s.kernel[2];
const inVolume = (s: ConvSpec) => s.inShape[0] * s.inShape[1] * s.inShape[2];
/** Every output position's spatial taps (one channel's tap runs over all positions). */
const spatialRuns = (s: ConvSpec) => tapRuns({ ...s, Ci: 1 }, 0, positions(s));

/** y[n, c, p] = Σ_t w[c, t] · x[n, c, tap t at p] (0 in the padding). */
export function depthwiseConvInto(x: HostArray, w: HostArray, y: HostArray, s: ConvSpec): void {
  const P = positions(s);
  const kk = kernelSize(s);
  const inV = inVolume(s);
  const sw = s.stride[2];
  const runs = spatialRuns(s);
  const acc = new Float64Array(P);
  for (let n = 0; n < s.N; n++) {
    for (let c = 0; c < s.Co; c++) {
      acc.fill(0);
      const xOff = (n * s.Ci + c) * inV;
      for (let i = 0; i < runs.length; i += RUN) {
        const wt = w[c * kk + runs[i]];
        const j0 = runs[i + 1];
        const base = xOff + runs[i + 2];
        const ow1 = runs[i + 4];
        for (let ow = runs[i + 3]; ow < ow1; ow++) acc[j0 + ow] += wt * x[base + ow * sw];
      }
      y.set(acc, (n * s.Co + c) * P);
    }
  }
}

/** dx[n, c, tap t at p] += w[c, t] · g[n, c, p]: the adjoint of the forward. */
export function depthwiseConvBackwardDataInto(g: HostArray, w: HostArray, dx: HostArray, s: ConvSpec): void {
  const P = positions(s);
  const kk = kernelSize(s);
  const inV = inVolume(s);
  const sw = s.stride[2];
  const runs = spatialRuns(s);
  const acc = new Float64Array(inV);
  for (let n = 0; n < s.N; n++) {
    for (let c = 0; c < s.Co; c++) {
      acc.fill(0);
      const gOff = (n * s.Co + c) * P;
      for (let i = 0; i < runs.length; i += RUN) {
        const wt = w[c * kk + runs[i]];
        const j = gOff + runs[i + 1];
        const base = runs[i + 2];
        const ow1 = runs[i + 4];
        for (let ow = runs[i + 3]; ow < ow1; ow++) acc[base + ow * sw] += wt * g[j + ow];
      }
      dx.set(acc, (n * s.Ci + c) * inV);
    }
  }
}

/** dw[c, t] = Σ_n Σ_p g[n, c, p] · x[n, c, tap t at p]. */
export function depthwiseConvBackwardFilterInto(g: HostArray, x: HostArray, dw: HostArray, s: ConvSpec): void {
  const P = positions(s);
  const kk = kernelSize(s);
  const inV = inVolume(s);
  const sw = s.stride[2];
  const runs = spatialRuns(s);
  const acc = new Float64Array(s.Co * kk);
  for (let n = 0; n < s.N; n++) {
    for (let c = 0; c < s.Co; c++) {
      const xOff = (n * s.Ci + c) * inV;
      const gOff = (n * s.Co + c) * P;
      for (let i = 0; i < runs.length; i += RUN) {
        const j = gOff + runs[i + 1];
        const base = xOff + runs[i + 2];
        const ow1 = runs[i + 4];
        let sum = 0;
        for (let ow = runs[i + 3]; ow < ow1; ow++) sum += g[j + ow] * x[base + ow * sw];
        acc[c * kk + runs[i]] += sum;
      }
    }
  }
  dw.set(acc);
}
