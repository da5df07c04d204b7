/** Scalar float64 math the CPU reference needs and JavaScript lacks. */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
/** Below this |x| the all-positive series converges fast without cancellation; above, the continued fraction does. */
const SERIES_LIMIT = 3;
const CF_TERMS = 80;

/**
 * erf to ~1e-15: for |x| < 3 the series erf x = 2/√π·e^{−x²}·Σ (2x²)ⁿ·x/(2n+1)!! (all terms
 * positive); beyond, 1 − erfc.
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
  return Math.sign(x) * (1 - erfcTail(ax));
}

/** erfc for x ≥ 3 by its continued fraction e^{−x²}/√π / (x + ½/(x + 1/(x + 3/2/(x + …)))): relative error ~1e-15. */
function erfcTail(ax: number): number {
  let f = ax;
  for (let k = CF_TERMS; k >= 1; k--) f = ax + k / 2 / f;
  return (Math.exp(-ax * ax) * INV_SQRT_PI) / f;
}

/**
 * erfc = 1 − erf with relative accuracy where it is small (x ≥ 3: the continued fraction; below,
 * 1 − erf, whose ~1e-16 absolute error is ≤ 5e-12 of erfc there).
 */
export function erfc(x: number): number {
  return x >= SERIES_LIMIT ? erfcTail(x) : 1 - erf(x);
}

const INV_SQRT2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** The normal CDF Φ(x) = ½·erfc(−x/√2): relative accuracy in the lower tail too (½(1 + erf) cancels there). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * INV_SQRT2);
}

/** Exact GELU x·Φ(x) (torch's nn.GELU() default). */
export function gelu(x: number): number {
  return x * normalCdf(x);
}

/** d/dx x·Φ(x) = Φ(x) + x·φ(x). */
export function geluGrad(x: number): number {
  return normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
