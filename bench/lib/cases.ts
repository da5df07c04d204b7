/** The operations the engine benchmark times, shared by the Node driver and the browser page. */

export type BenchCase =
  | { kind: 'matmul'; label: string; M: number; N: number; K: number }
  | { kind: 'conv3d'; label: string; x: [number, number, number, number, number]; w: [number, number, number, number, number]; pad: number };

export function flops(c: BenchCase): number {
  if (c.kind === 'matmul') return 2 * c.M * c.N * c.K;
  const [n, ci, d, h, w] = c.x;
  const [co, , kd, kh, kw] = c.w;
  return 2 * n * co * ci * kd * kh * kw * d * h * w; // stride 1, 'same' padding
}

export function shapeOf(c: BenchCase): string {
  return c.kind === 'matmul' ? `${c.M}×${c.K} · ${c.K}×${c.N}` : `x [${c.x}] w [${c.w}]`;
}

/**
 * Matmul at n³, and the first conv of each UNETR decoder UnetResBlock in the paper configuration
 * (feature size 16, 128³ input): decoderK takes the concatenation (2·Co channels) to Co.
 * `scale` divides the spatial size (software adapters).
 */
export function benchCases(matmulSizes: readonly number[], scale: number): BenchCase[] {
  const out: BenchCase[] = matmulSizes.map((n) => ({ kind: 'matmul', label: `matmul ${n}³`, M: n, N: n, K: n }));
  const decoders: [string, number, number][] = [['decoder5', 128, 16], ['decoder4', 64, 32], ['decoder3', 32, 64], ['decoder2', 16, 128]];
  for (const [name, co, res] of decoders) {
    const r = Math.max(1, Math.round(res / scale));
    out.push({ kind: 'conv3d', label: `conv3d ${name} k3 ${2 * co}→${co} @${r}³`, x: [1, 2 * co, r, r, r], w: [co, 2 * co, 3, 3, 3], pad: 1 });
  }
  return out;
}
