/**
 * The 2-D convolutions on the float64 reference: forward against a naive grouped-convolution
 * loop, gradients against central finite differences, and forward + gradients against torch
 * 1.13 (`testing/torch-conv2d.json`, from training/torch_conv2d_reference.py). The float32
 * backends are checked against this reference by the shared op suite (testing/op-suite.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { backward, conv2d, convTranspose2d, createCpuEngine, mul, randnArray, sum, tidy, type Tensor } from './index';
import { gradCheck, relErr } from './testing/check';

const e = createCpuEngine();
/** Finite differences (h = 1e-6) on float64: truncation and rounding leave ~1e-9 relative. */
const FD_TOL = 1e-6;
/** Float64 on both sides: only summation order differs. */
const FWD_TOL = 1e-12;
/** torch's values are stored to 10 significant digits. */
const TORCH_TOL = 1e-9;

async function values(t: Tensor): Promise<Float64Array> {
  const v = Float64Array.from(await t.data());
  t.dispose();
  return v;
}

/** torch.nn.functional.conv2d by its definition: y[n, co, i, j] = Σ_{ci in co's group} Σ_{a, b} w·x. */
function naiveConv2d(x: Float64Array, w: Float64Array, xs: number[], ws: number[], st: number[], pd: number[], dl: number[], groups: number): Float64Array {
  const [N, Ci, H, W] = xs;
  const [Co, Cg, KH, KW] = ws;
  const OH = Math.floor((H + 2 * pd[0] - dl[0] * (KH - 1) - 1) / st[0]) + 1;
  const OW = Math.floor((W + 2 * pd[1] - dl[1] * (KW - 1) - 1) / st[1]) + 1;
  const coPerGroup = Co / groups;
  const y = new Float64Array(N * Co * OH * OW);
  for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const g = Math.floor(co / coPerGroup);
    let acc = 0;
    for (let c = 0; c < Cg; c++) for (let a = 0; a < KH; a++) for (let b = 0; b < KW; b++) {
      const i = oh * st[0] - pd[0] + a * dl[0];
      const j = ow * st[1] - pd[1] + b * dl[1];
      if (i < 0 || j < 0 || i >= H || j >= W) continue;
      acc += w[((co * Cg + c) * KH + a) * KW + b] * x[((n * Ci + g * Cg + c) * H + i) * W + j];
    }
    y[((n * Co + co) * OH + oh) * OW + ow] = acc;
  }
  return y;
}

describe('conv2d', () => {
  const configs: { name: string; x: number[]; w: number[]; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number }[] = [
    { name: 'dense k3 s2 p1 (TinyViT patch embed), batch 2', x: [2, 3, 7, 6], w: [4, 3, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 },
    { name: 'dense 1×1 (MBConv expansion)', x: [1, 3, 4, 5], w: [5, 3, 1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
    { name: 'depthwise k3 s1 p1 (MBConv, local conv)', x: [1, 4, 5, 6], w: [4, 1, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 4 },
    { name: 'depthwise k3 s2 p1, odd sizes, batch 2 (patch merging)', x: [2, 3, 7, 5], w: [3, 1, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 3 },
    { name: 'depthwise anisotropic kernel, stride, padding, dilation', x: [1, 2, 6, 7], w: [2, 1, 3, 2], stride: [1, 2], padding: [2, 0], dilation: [2, 1], groups: 2 },
    { name: 'grouped: 2 groups, 4 → 6 channels', x: [1, 4, 5, 4], w: [6, 2, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 },
    { name: 'depthwise multiplier 2 (groups = Ci, Co = 2·Ci)', x: [1, 2, 4, 4], w: [4, 1, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 },
  ];
  for (const c of configs) {
    it(`${c.name}: forward vs naive, gradients of x, w, bias`, async () => {
      const xd = randnArray(c.x.reduce((a, b) => a * b), 1);
      const wd = randnArray(c.w.reduce((a, b) => a * b), 2);
      const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
      const y = await values(conv2d(e.tensor(xd, c.x), e.tensor(wd, c.w), null, opts));
      expect(relErr(y, naiveConv2d(xd, wd, c.x, c.w, c.stride, c.padding, c.dilation, c.groups))).toBeLessThan(FWD_TOL);
      expect(await gradCheck(e, ([x, w, b]) => conv2d(x, w, b, opts), [{ shape: c.x }, { shape: c.w }, { shape: [c.w[0]] }])).toBeLessThan(FD_TOL);
    });
  }

  it('convTranspose2d k2 s2: gradients against finite differences', async () => {
    expect(await gradCheck(e, ([x, w, b]) => convTranspose2d(x, w, b), [{ shape: [2, 3, 2, 3] }, { shape: [3, 4, 2, 2] }, { shape: [4] }])).toBeLessThan(FD_TOL);
  });

  it('refuses mismatched groups and channels, naming the tensors', () => {
    const x = e.tensor(new Float64Array(4 * 9), [1, 4, 3, 3]);
    const w = e.param(new Float64Array(4 * 9), [4, 1, 3, 3], 'layers.0.blocks.0.conv2.c.weight');
    expect(() => conv2d(x, w, null)).toThrow(/layers\.0\.blocks\.0\.conv2\.c\.weight.*expects 1 input channels in 1 group\(s\), input \[1,4,3,3\] has 4/);
    expect(() => conv2d(x, w, null, { groups: 3 })).toThrow(/groups 3 must divide/);
    expect(() => conv2d(x, w, null, { groups: 4, stride: 0 })).toThrow(/stride and dilation must be ≥ 1/);
    x.dispose();
    w.dispose();
  });
});

describe('2-D convolutions against torch 1.13 (float64)', () => {
  interface Golden { x: number[]; w: number[]; y_shape: number[]; y: number[]; dx: number[]; dw: number[]; db: number[] }
  const golden = JSON.parse(readFileSync(new URL('./testing/torch-conv2d.json', import.meta.url), 'utf8')) as Record<string, Golden>;
  // The closed-form inputs of training/torch_conv2d_reference.py.
  const wave = (shape: number[], a: number, b: number, s = 1, f = Math.sin) => Array.from({ length: shape.reduce((p, q) => p * q) }, (_, i) => s * f(a * i + b));
  const cases: [string, (x: Tensor, w: Tensor, b: Tensor) => Tensor][] = [
    ['depthwise_s2_p1', (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1, groups: 3 })],
    ['grouped_g2_p1', (x, w, b) => conv2d(x, w, b, { padding: 1, groups: 2 })],
    ['convTranspose2d', (x, w, b) => convTranspose2d(x, w, b)],
  ];
  for (const [key, f] of cases) {
    it(`${key}: output and gradients of sum(y·r)`, async () => {
      const g = golden[key];
      const co = key === 'convTranspose2d' ? g.w[1] : g.w[0];
      const x = e.param(wave(g.x, 0.7, 0.3), g.x, 'x');
      const w = e.param(wave(g.w, 1.3, 0, 0.5, Math.cos), g.w, 'w');
      const b = e.param(Array.from({ length: co }, (_, i) => 0.1 * i - 0.2), [co], 'b');
      const r = e.tensor(wave(g.y_shape, 0.37, 1), g.y_shape);
      const y = f(x, w, b);
      expect(y.shape).toEqual(g.y_shape);
      const loss = tidy(() => sum(mul(y, r)));
      backward(loss);
      expect(relErr(await y.data(), g.y)).toBeLessThan(TORCH_TOL);
      expect(relErr(await x.grad!.data(), g.dx)).toBeLessThan(TORCH_TOL);
      expect(relErr(await w.grad!.data(), g.dw)).toBeLessThan(TORCH_TOL);
      expect(relErr(await b.grad!.data(), g.db)).toBeLessThan(TORCH_TOL);
      for (const t of [x, w, b, r, y, loss]) t.dispose();
    });
  }
});
