/** Elementwise WGSL: unary and broadcasting binary maps, fill, and the fused Adam update. */
import type { BinaryOp, UnaryOp } from '../../backend';
import { decode, header, main1d } from '../wgsl';

/**
 * erf for f32: a Taylor series near 0 (keeps relative accuracy for small x) and Abramowitz &
 * Stegun 7.1.26 elsewhere (absolute error ≤ 1.5e-7, below float32 resolution of erf near 1).
 */
export const ERF_WGSL = `
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let x2 = x * x;
    return 1.1283791671 * x * (1.0 + x2 * (-0.3333333333 + x2 * (0.1 + x2 * (-0.0238095238 + x2 * (0.0046296296 - x2 * 0.0007575758)))));
  }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - p * exp(-a * a));
}
fn gelu_f32(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_f32(x * 0.70710678118654752)); }
fn gelu_grad_f32(x: f32) -> f32 { return 0.5 * (1.0 + erf_f32(x * 0.70710678118654752)) + x * 0.39894228040143268 * exp(-0.5 * x * x); }
fn tanh_f32(x: f32) -> f32 { let t = exp(-2.0 * abs(x)); return sign(x) * (1.0 - t) / (1.0 + t); }
`;

const UNARY: Record<UnaryOp, string> = {
  neg: '-x',
  exp: 'exp(x)',
  log: 'log(x)',
  sqrt: 'sqrt(x)',
  rsqrt: 'inverseSqrt(x)',
  abs: 'abs(x)',
  square: 'x * x',
  reciprocal: '1.0 / x',
  relu: 'select(0.0, x, x > 0.0)',
  leakyRelu: 'select(p0 * x, x, x > 0.0)',
  gelu: 'gelu_f32(x)',
  erf: 'erf_f32(x)',
  sigmoid: '1.0 / (1.0 + exp(-x))',
  tanh: 'tanh_f32(x)',
  affine: 'p0 * x + p1',
};

/** params: [total, p0, p1] */
export function unaryKernel(op: UnaryOp): string {
  return `${header([{ name: 'x', access: 'read' }, { name: 'y', access: 'rw' }])}${ERF_WGSL}
${main1d(`  let p0 = pf(1u); let p1 = pf(2u); let x = x[i];
  y[i] = ${UNARY[op]};`)}`;
}

const BINARY: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  reluGrad: 'select(0.0, b, a > 0.0)',
  leakyReluGrad: 'select(p0 * b, b, a > 0.0)',
  geluGrad: 'b * gelu_grad_f32(a)',
};

/** params: [total, p0, shape[R], aStrides[R], bStrides[R]]; `contiguous` = same shape, no broadcast. */
export function binaryKernel(op: BinaryOp, rank: number, contiguous: boolean): string {
  const body = contiguous
    ? '  let a = A[i]; let b = B[i];'
    : `${decode('i', rank, 2, [2 + rank, 2 + 2 * rank], ['0u', '0u'])}
  let a = A[o0]; let b = B[o1];`;
  return `${header([{ name: 'A', access: 'read' }, { name: 'B', access: 'read' }, { name: 'C', access: 'rw' }])}${ERF_WGSL}
${main1d(`  let p0 = pf(1u);
${body}
  C[i] = ${BINARY[op]};`)}`;
}

/** params: [total, value] */
export function fillKernel(): string {
  return `${header([{ name: 'y', access: 'rw' }])}
${main1d('  y[i] = pf(1u);')}`;
}

/** params: [total, lr, beta1, beta2, eps, l2, decoupled, bias1, bias2]; torch.optim.Adam/AdamW order of operations. */
export function adamKernel(amsgrad: boolean): string {
  const bindings = [
    { name: 'P', access: 'rw' as const },
    { name: 'G', access: 'read' as const },
    { name: 'Mo', access: 'rw' as const },
    { name: 'V', access: 'rw' as const },
    ...(amsgrad ? [{ name: 'VM', access: 'rw' as const }] : []),
  ];
  return `${header(bindings)}
${main1d(`  let lr = pf(1u); let b1 = pf(2u); let b2 = pf(3u); let eps = pf(4u);
  let l2 = pf(5u); let dec = pf(6u); let bias1 = pf(7u); let bias2 = pf(8u);
  var p = P[i];
  p = p * (1.0 - lr * dec);
  let g = G[i] + l2 * p;
  let m = b1 * Mo[i] + (1.0 - b1) * g;
  let v = b2 * V[i] + (1.0 - b2) * g * g;
  Mo[i] = m;
  V[i] = v;
  ${amsgrad ? 'let vv = max(VM[i], v); VM[i] = vv;' : 'let vv = v;'}
  P[i] = p - (lr / bias1) * m / (sqrt(vv) / sqrt(bias2) + eps);`)}`;
}
