/** Scalar float64 math the CPU reference needs and JavaScript lacks. */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
/** Below this |x| the all-positive series converges fast without cancellation; above, the continued fraction does. */
const SERIES_LIMIT = 3;
const CF_TERMS = 80;

/**
 * erf to ~1e-15: for |x| < 3 the series erf x = 2/√π·e^{−x²}·Σ (2x²)ⁿ·x/(2n+1)!! (all terms
 * positive); beyond, erfc by its continued fraction e^{−x²}/√π / (x + ½/(x + 1/(x + 3/2/(x + …)))).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < SERIES_LIMIT) {
    const x2 = 2 * ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
    }
    return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
  }
  let f = ax;
  for (let k = CF_TERMS; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const INV_SQRT2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * INV_SQRT2));
}

/** d/dx x·Φ(x) = Φ(x) + x·φ(x). */
export function geluGrad(x: number): number {
  return 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
