/**
 * Thin SVD by one-sided (Hestenes) Jacobi rotations, real or complex, in float64. Accurate to
 * a few ulps in every singular triplet; cost ~ sweeps·n²·m, so it is the method for small
 * matrices (fixture sizes, the projected matrices inside Lanczos) and the reference the
 * iterative method is tested against.
 */
import { adjoint, matrix, type Matrix, type Svd } from './matrix';

const EPS = 2.220446049250313e-16;
const MAX_SWEEPS = 80;

/** A = U·diag(s)·Vᴴ with k = min(rows, cols) triplets, s descending. */
export function jacobiSvd(a: Matrix): Svd {
  if (a.rows < a.cols) {
    // Aᴴ = V·S·Uᴴ.
    const t = jacobiSvd(adjoint(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const m = a.rows;
  const n = a.cols;
  const complex = a.im !== null;
  // Column-major working copies: g holds A·V, v holds V.
  const gr = new Float64Array(m * n);
  const gi = complex ? new Float64Array(m * n) : null;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      gr[j * m + i] = a.re[i * n + j];
      if (gi) gi[j * m + i] = a.im![i * n + j];
    }
  }
  const vr = new Float64Array(n * n);
  const vi = complex ? new Float64Array(n * n) : null;
  for (let j = 0; j < n; j++) vr[j * n + j] = 1;

  const tol = m * EPS;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        if (rotate(gr, gi, m, p, q, tol, vr, vi, n)) rotated = true;
      }
    }
    if (!rotated) break;
  }

  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += gr[j * m + i] ** 2 + (gi ? gi[j * m + i] ** 2 : 0);
    norms[j] = Math.sqrt(s);
  }
  const order = [...norms.keys()].sort((x, y) => norms[y] - norms[x] || x - y);
  const u = matrix(m, n, complex);
  const v = matrix(n, n, complex);
  const s = new Float64Array(n);
  order.forEach((j, c) => {
    s[c] = norms[j];
    const inv = norms[j] > 0 ? 1 / norms[j] : 0;
    for (let i = 0; i < m; i++) {
      u.re[i * n + c] = gr[j * m + i] * inv;
      if (gi) u.im![i * n + c] = gi[j * m + i] * inv;
    }
    for (let i = 0; i < n; i++) {
      v.re[i * n + c] = vr[j * n + i];
      if (vi) v.im![i * n + c] = vi[j * n + i];
    }
  });
  for (let c = 0; c < n; c++) if (s[c] === 0) completeColumn(u, c);
  return { u, s, v };
}

/**
 * One Jacobi rotation making columns p and q of g orthogonal (and the same on v); returns
 * whether it rotated. For complex columns, q is first turned by the phase of gₚᴴg_q so the
 * cross term is real, then the real rotation applies.
 */
function rotate(gr: Float64Array, gi: Float64Array | null, m: number, p: number, q: number, tol: number, vr: Float64Array, vi: Float64Array | null, n: number): boolean {
  const op = p * m;
  const oq = q * m;
  let alpha = 0;
  let beta = 0;
  let cr = 0;
  let ci = 0;
  for (let i = 0; i < m; i++) {
    const pr = gr[op + i];
    const qr = gr[oq + i];
    alpha += pr * pr;
    beta += qr * qr;
    cr += pr * qr;
    if (gi) {
      const pim = gi[op + i];
      const qim = gi[oq + i];
      alpha += pim * pim;
      beta += qim * qim;
      // conj(p)·q
      cr += pim * qim;
      ci += pr * qim - pim * qr;
    }
  }
  const gamma = Math.hypot(cr, ci);
  if (gamma === 0 || gamma <= tol * Math.sqrt(alpha * beta)) return false;
  const zeta = (beta - alpha) / (2 * gamma);
  const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
  const c = 1 / Math.sqrt(1 + t * t);
  const s = c * t;
  // e^{-iφ} with φ = arg(gₚᴴ g_q).
  const er = cr / gamma;
  const ei = -ci / gamma;
  apply(gr, gi, m, op, oq, c, s, er, ei);
  apply(vr, vi, n, p * n, q * n, c, s, er, ei);
  return true;
}

/** x_p ← c·x_p − s·e·x_q, x_q ← s·x_p + c·e·x_q (e a unit complex number). */
function apply(xr: Float64Array, xi: Float64Array | null, len: number, op: number, oq: number, c: number, s: number, er: number, ei: number): void {
  for (let i = 0; i < len; i++) {
    const pr = xr[op + i];
    const qr0 = xr[oq + i];
    let qr = qr0 * er;
    if (xi) {
      const pim = xi[op + i];
      const qi0 = xi[oq + i];
      qr -= qi0 * ei;
      const qim = qr0 * ei + qi0 * er;
      xi[op + i] = c * pim - s * qim;
      xi[oq + i] = s * pim + c * qim;
    }
    xr[op + i] = c * pr - s * qr;
    xr[oq + i] = s * pr + c * qr;
  }
}

/**
 * Fills column c of u (whose singular value is 0) with a unit vector orthogonal to the other
 * columns, so U stays orthonormal for a rank-deficient A (Gram–Schmidt of a standard basis vector).
 */
export function completeColumn(u: Matrix, c: number): void {
  const { rows, cols } = u;
  for (let e = 0; e < rows; e++) {
    const xr = new Float64Array(rows);
    const xi = u.im ? new Float64Array(rows) : null;
    xr[e] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let o = 0; o < cols; o++) {
        if (o === c) continue;
        // coefficient = u_oᴴ x
        let dr = 0;
        let di = 0;
        for (let i = 0; i < rows; i++) {
          const ur = u.re[i * cols + o];
          const ui = u.im ? u.im[i * cols + o] : 0;
          const x2 = xi ? xi[i] : 0;
          dr += ur * xr[i] + ui * x2;
          di += ur * x2 - ui * xr[i];
        }
        for (let i = 0; i < rows; i++) {
          const ur = u.re[i * cols + o];
          const ui = u.im ? u.im[i * cols + o] : 0;
          xr[i] -= ur * dr - ui * di;
          if (xi) xi[i] -= ur * di + ui * dr;
        }
      }
    }
    let nrm = 0;
    for (let i = 0; i < rows; i++) nrm += xr[i] ** 2 + (xi ? xi[i] ** 2 : 0);
    nrm = Math.sqrt(nrm);
    if (nrm > 0.5) {
      for (let i = 0; i < rows; i++) {
        u.re[i * cols + c] = xr[i] / nrm;
        if (u.im) u.im[i * cols + c] = xi![i] / nrm;
      }
      return;
    }
  }
}
