/**
 * Solves (A + λ·diag(A))·x = b for a small symmetric positive semi-definite A (row-major
 * n×n) by Cholesky: the Levenberg–Marquardt step with Marquardt's scaling, which makes
 * the step independent of each parameter's units (mm vs. unitless matrix entries).
 * Returns false when the damped matrix is not positive definite.
 */
export function solveDamped(a: Float64Array, b: Float64Array, lambda: number, n: number, x: Float64Array): boolean {
  const l = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c <= r; c++) {
      let s = a[r * n + c];
      // A tiny floor keeps parameters that no point constrains (zero columns) solvable.
      if (r === c) s += lambda * a[r * n + r] + 1e-12;
      for (let k = 0; k < c; k++) s -= l[r * n + k] * l[c * n + k];
      if (r === c) {
        if (!(s > 0)) return false;
        l[r * n + r] = Math.sqrt(s);
      } else {
        l[r * n + c] = s / l[c * n + c];
      }
    }
  }
  for (let r = 0; r < n; r++) {
    let s = b[r];
    for (let k = 0; k < r; k++) s -= l[r * n + k] * x[k];
    x[r] = s / l[r * n + r];
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= l[k * n + r] * x[k];
    x[r] = s / l[r * n + r];
  }
  return true;
}
