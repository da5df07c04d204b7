/**
 * 2-D convolutions (TinyViT, SAM's neck and mask decoder): `conv2d` with groups (dense, depthwise
 * and grouped) and `convTranspose2d` for kernel = stride. Dense 2-D convolutions are `conv3d`
 * with a depth of 1 (zero-copy reshapes, the same GEMM kernels); depthwise ones (groups =
 * channels, one filter per channel) have their own kernels (`depthwiseConv*` in the backends:
 * ~9 multiply-adds per output do not feed a GEMM); other group counts run one `conv3d` per
 * group and concatenate.
 */
import { record } from '../autograd';
import type { ConvSpec } from '../backend';
import { ShapeError } from '../errors';
import { sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { conv3d, convTranspose3d } from './conv';
import { add } from './elementwise';
import { reshapeRaw } from './reduce';
import { concat, slice } from './shape';
import { backendOf, checkOut, result } from './util';

type Pair = readonly [number, number];

function pair(v: number | Pair, what: string): Pair {
  const t = typeof v === 'number' ? ([v, v] as const) : v;
  if (t.length !== 2 || t.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`${what} must be a non-negative integer or two of them, got ${JSON.stringify(v)}`);
  return t;
}

export interface Conv2dOptions {
  stride?: number | Pair;
  /** Symmetric zero padding per spatial axis. */
  padding?: number | Pair;
  dilation?: number | Pair;
  /** torch's `groups`: channels split into this many independent convolutions (= channels: depthwise). Default 1. */
  groups?: number;
}

/** x [N, C, H, W] → [N, C, 1, H, W] (a view). */
const to5d = (t: Tensor) => reshapeRaw(t, [t.shape[0], t.shape[1], 1, ...t.shape.slice(2)]);

/**
 * torch.nn.functional.conv2d: x [N, Ci, H, W], w [Co, Ci / groups, kH, kW], bias [Co].
 * groups must divide Ci and Co.
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const b = backendOf('conv2d', x, w);
  if (x.rank !== 4) throw new ShapeError(`conv2d: input ${x.describe()} must be [N, C, H, W]`);
  if (w.rank !== 4) throw new ShapeError(`conv2d: weight ${w.describe()} must be [Co, Ci / groups, kH, kW]`);
  const groups = opts.groups ?? 1;
  const [N, Ci, H, W] = x.shape;
  const Co = w.shape[0];
  if (!Number.isInteger(groups) || groups < 1 || Ci % groups !== 0 || Co % groups !== 0) {
    throw new ShapeError(`conv2d: groups ${groups} must divide the input channels of ${x.describe()} and the output channels of ${w.describe()}`);
  }
  if (w.shape[1] !== Ci / groups) throw new ShapeError(`conv2d: weight ${w.describe()} expects ${w.shape[1] * groups} input channels in ${groups} group(s), input ${x.describe()} has ${Ci}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Co)) throw new ShapeError(`conv2d: bias ${bias.describe()} does not match weight ${w.describe()}`);
  const stride = pair(opts.stride ?? 1, 'conv2d stride');
  const padding = pair(opts.padding ?? 0, 'conv2d padding');
  const dilation = pair(opts.dilation ?? 1, 'conv2d dilation');
  if (stride.some((s) => s < 1) || dilation.some((d) => d < 1)) throw new ShapeError('conv2d: stride and dilation must be ≥ 1');
  const kernel = [w.shape[2], w.shape[3]] as const;
  const outHW = [H, W].map((n, i) => Math.floor((n + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1);
  if (outHW.some((n) => n < 1)) throw new ShapeError(`conv2d: kernel ${w.describe()} does not fit input ${x.describe()} with padding [${padding}]`);
  const shape = [N, Co, outHW[0], outHW[1]];
  checkOut('conv2d', b, sizeOf(shape), shape);

  let out: Tensor;
  if (groups === Ci && Co === Ci) {
    const spec: ConvSpec = {
      N, Ci, Co, inShape: [1, H, W], outShape: [1, outHW[0], outHW[1]], kernel: [1, kernel[0], kernel[1]],
      stride: [1, stride[0], stride[1]], padding: [0, padding[0], padding[1]], dilation: [1, dilation[0], dilation[1]],
    };
    out = depthwise(x, w, spec, shape);
  } else {
    const o3 = { stride: [1, stride[0], stride[1]] as const, padding: [0, padding[0], padding[1]] as const, dilation: [1, dilation[0], dilation[1]] as const };
    const perGroup = (xg: Tensor, wg: Tensor) => {
      const x5 = to5d(xg);
      const w5 = to5d(wg);
      const y5 = conv3d(x5, w5, null, o3);
      x5.dispose();
      w5.dispose();
      const y = reshapeRaw(y5, [N, wg.shape[0], outHW[0], outHW[1]]);
      y5.dispose();
      return y;
    };
    if (groups === 1) out = perGroup(x, w);
    else {
      const ci = Ci / groups;
      const co = Co / groups;
      const parts: Tensor[] = [];
      for (let g = 0; g < groups; g++) {
        const xg = slice(x, [null, [g * ci, (g + 1) * ci]]);
        const wg = slice(w, [[g * co, (g + 1) * co]]);
        parts.push(perGroup(xg, wg));
        xg.dispose();
        wg.dispose();
      }
      out = concat(parts, 1);
      for (const p of parts) p.dispose();
    }
  }
  if (!bias) return out;
  const bb = reshapeRaw(bias, [1, Co, 1, 1]);
  const z = add(out, bb);
  out.dispose();
  bb.dispose();
  return z;
}

/** One filter per channel: x [N, C, H, W], w [C, 1, kH, kW] (spec in 3-D with depth 1). */
function depthwise(x: Tensor, w: Tensor, spec: ConvSpec, shape: number[]): Tensor {
  const b = x.backend;
  const y = result(b, b.depthwiseConv(x.storage, w.storage, spec), shape);
  return record('depthwiseConv2d', y, [x, w], (save) => {
    const sx = save(x);
    const sw = save(w);
    return (g, needs) => [
      needs[0] ? result(b, b.depthwiseConvBackwardData(g.storage, sw.storage, spec), x.shape) : null,
      needs[1] ? result(b, b.depthwiseConvBackwardFilter(g.storage, sx.storage, spec), w.shape) : null,
    ];
  });
}

/**
 * torch ConvTranspose2d with kernel == stride and no padding (SAM's 2 × 2 up-sampling in the
 * mask decoder): `convTranspose3d` with a depth of 1. w [Ci, Co, kH, kW] (torch layout).
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(`convTranspose2d: expects x [N, Ci, H, W] and w [Ci, Co, kH, kW], got ${x.describe()} and ${w.describe()}`);
  const x5 = to5d(x);
  const w5 = reshapeRaw(w, [w.shape[0], w.shape[1], 1, w.shape[2], w.shape[3]]);
  const y5 = convTranspose3d(x5, w5, bias);
  x5.dispose();
  w5.dispose();
  const y = reshapeRaw(y5, [y5.shape[0], y5.shape[1], y5.shape[3], y5.shape[4]]);
  y5.dispose();
  return y;
}
