import { record } from '../autograd';
import type { ConvSpec } from '../backend';
import { ShapeError } from '../errors';
import { sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { add } from './elementwise';
import { matmul } from './matmul';
import { reshapeRaw } from './reduce';
import { permute } from './shape';
import { backendOf, checkOut, result } from './util';

type Triple = readonly [number, number, number];

function triple(v: number | Triple, what: string): Triple {
  const t = typeof v === 'number' ? ([v, v, v] as const) : v;
  if (t.length !== 3 || t.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`${what} must be a non-negative integer or three of them, got ${JSON.stringify(v)}`);
  return t;
}

export interface Conv3dOptions {
  stride?: number | Triple;
  /** Symmetric zero padding per spatial axis. */
  padding?: number | Triple;
  dilation?: number | Triple;
}

/** torch.nn.functional.conv3d: x [N, Ci, D, H, W], w [Co, Ci, kD, kH, kW], bias [Co]. */
export function conv3d(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv3dOptions = {}): Tensor {
  const b = backendOf('conv3d', x, w);
  if (x.rank !== 5) throw new ShapeError(`conv3d: input ${x.describe()} must be [N, C, D, H, W]`);
  if (w.rank !== 5) throw new ShapeError(`conv3d: weight ${w.describe()} must be [Co, Ci, kD, kH, kW]`);
  if (w.shape[1] !== x.shape[1]) throw new ShapeError(`conv3d: weight ${w.describe()} expects ${w.shape[1]} input channels, input ${x.describe()} has ${x.shape[1]}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) throw new ShapeError(`conv3d: bias ${bias.describe()} does not match weight ${w.describe()}`);
  const stride = triple(opts.stride ?? 1, 'conv3d stride');
  const padding = triple(opts.padding ?? 0, 'conv3d padding');
  const dilation = triple(opts.dilation ?? 1, 'conv3d dilation');
  if (stride.some((s) => s < 1) || dilation.some((d) => d < 1)) throw new ShapeError('conv3d: stride and dilation must be ≥ 1');
  const kernel = [w.shape[2], w.shape[3], w.shape[4]] as const;
  const inShape = [x.shape[2], x.shape[3], x.shape[4]] as const;
  const outShape = inShape.map((n, i) => Math.floor((n + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1) as unknown as Triple;
  if (outShape.some((n) => n < 1)) throw new ShapeError(`conv3d: kernel ${w.describe()} does not fit input ${x.describe()} with padding [${padding}]`);
  const spec: ConvSpec = { N: x.shape[0], Ci: x.shape[1], Co: w.shape[0], inShape, outShape, kernel, stride, padding, dilation };
  const shape = [spec.N, spec.Co, ...outShape];
  checkOut('conv3d', b, sizeOf(shape), shape);
  const y = result(b, b.conv3d(x.storage, w.storage, spec), shape);
  const out = record('conv3d', y, [x, w], (save) => {
    const sx = save(x);
    const sw = save(w);
    return (g, needs) => [
      needs[0] ? result(b, b.conv3dBackwardData(g.storage, sw.storage, spec), x.shape) : null,
      needs[1] ? result(b, b.conv3dBackwardFilter(g.storage, sx.storage, spec), w.shape) : null,
    ];
  });
  if (!bias) return out;
  const bb = reshapeRaw(bias, [1, spec.Co, 1, 1, 1]);
  const z = add(out, bb);
  out.dispose();
  bb.dispose();
  return z;
}

/**
 * torch ConvTranspose3d with kernel == stride and no padding (UNETR/SwinUNETR's k2 s2 up-sampling,
 * any k = s): a GEMM over channels then depth-to-space. w [Ci, Co, k, k, k] (torch layout).
 */
export function convTranspose3d(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  if (x.rank !== 5 || w.rank !== 5) throw new ShapeError(`convTranspose3d: expects x [N, Ci, D, H, W] and w [Ci, Co, k, k, k], got ${x.describe()} and ${w.describe()}`);
  if (w.shape[0] !== x.shape[1]) throw new ShapeError(`convTranspose3d: weight ${w.describe()} expects ${w.shape[0]} input channels, input ${x.describe()} has ${x.shape[1]}`);
  const [N, Ci, D, H, W] = x.shape;
  const [, Co, k0, k1, k2] = w.shape;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Co)) throw new ShapeError(`convTranspose3d: bias ${bias.describe()} does not match weight ${w.describe()}`);
  const kv = k0 * k1 * k2;
  // y[n, co·kv + t, s] = Σ_ci w[ci, co·kv + t] · x[n, ci, s]: one GEMM per batch item.
  const x2 = reshapeRaw(x, [N, Ci, D * H * W]);
  const w2 = reshapeRaw(w, [Ci, Co * kv]);
  const cols = matmul(w2, x2, { transA: true });
  x2.dispose();
  w2.dispose();
  // [N, Co, k0, k1, k2, D, H, W] → [N, Co, D, k0, H, k1, W, k2] (depth-to-space).
  const c8 = reshapeRaw(cols, [N, Co, k0, k1, k2, D, H, W]);
  cols.dispose();
  const p = permute(c8, [0, 1, 5, 2, 6, 3, 7, 4]);
  c8.dispose();
  const y = reshapeRaw(p, [N, Co, D * k0, H * k1, W * k2]);
  p.dispose();
  if (!bias) return y;
  const bb = reshapeRaw(bias, [1, Co, 1, 1, 1]);
  const z = add(y, bb);
  y.dispose();
  bb.dispose();
  return z;
}

