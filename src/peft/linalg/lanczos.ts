/**
 * The leading r singular triplets of a large matrix by Golub–Kahan–Lanczos bidiagonalisation
 * with full reorthogonalisation and thick restarts (Baglama & Reichel's augmented restarted
 * scheme, "IRLBA"). Costs two matrix–vector products per Krylov step, so the top triplet of a
 * 768×768 complex matrix takes a few dozen products instead of a full O(n³) SVD.
 *
 * Invariants of a cycle (exact arithmetic): A·Vₖ = Pₖ·Bₖ and Aᴴ·Pₖ = Vₖ·Bₖᵀ + β·v₊·eₖᵀ with
 * Bₖ real upper triangular (bidiagonal apart from the restart row), so for an SVD
 * Bₖ = X·Σ·Yᵀ the Ritz triplets (σᵢ, Pₖxᵢ, Vₖyᵢ) satisfy ‖Aᴴuᵢ − σᵢvᵢ‖ = β·|X[k−1, i]|:
 * that residual is the convergence test.
 */
import { jacobiSvd } from './jacobi';
import { matrix, realMatrix, type Matrix, type Svd } from './matrix';

export interface LanczosOptions {
  /** Converged when every wanted residual ≤ tol·σ₁. Default 1e-10. */
  tol?: number;
  /** Krylov dimension per cycle; default max(2r + 20, 24), capped by min(rows, cols). */
  krylov?: number;
  /** Restart cycles before giving up (the best estimate is returned, `converged: false`). Default 400. */
  maxCycles?: number;
  /** Seed of the start vector (deterministic results). */
  seed?: number;
}

export interface LanczosResult extends Svd {
  readonly converged: boolean;
  /** max over the wanted triplets of ‖Aᴴuᵢ − σᵢvᵢ‖ / σ₁. */
  readonly residual: number;
  /** Matrix–vector products with A and Aᴴ, together. */
  readonly products: number;
}

interface Vec {
  re: Float64Array;
  im: Float64Array | null;
}

const vec = (n: number, complex: boolean): Vec => ({ re: new Float64Array(n), im: complex ? new Float64Array(n) : null });

/** y = A·x (A rows×cols, x of length cols). */
function mulA(a: Matrix, x: Vec, y: Vec): void {
  const { rows, cols, re, im } = a;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let sr = 0;
    let si = 0;
    if (im) {
      const xr = x.re;
      const xi = x.im!;
      for (let j = 0; j < cols; j++) {
        const ar = re[o + j];
        const ai = im[o + j];
        sr += ar * xr[j] - ai * xi[j];
        si += ar * xi[j] + ai * xr[j];
      }
      y.im![i] = si;
    } else {
      const xr = x.re;
      for (let j = 0; j < cols; j++) sr += re[o + j] * xr[j];
    }
    y.re[i] = sr;
  }
}

/** x = Aᴴ·y (y of length rows). */
function mulAH(a: Matrix, y: Vec, x: Vec): void {
  const { rows, cols, re, im } = a;
  x.re.fill(0);
  x.im?.fill(0);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    const yr = y.re[i];
    if (im) {
      const yi = y.im![i];
      const xr = x.re;
      const xi = x.im!;
      for (let j = 0; j < cols; j++) {
        const ar = re[o + j];
        const ai = im[o + j];
        xr[j] += ar * yr + ai * yi;
        xi[j] += ar * yi - ai * yr;
      }
    } else {
      const xr = x.re;
      for (let j = 0; j < cols; j++) xr[j] += re[o + j] * yr;
    }
  }
}

function norm(x: Vec): number {
  let s = 0;
  for (let i = 0; i < x.re.length; i++) s += x.re[i] * x.re[i];
  if (x.im) for (let i = 0; i < x.im.length; i++) s += x.im[i] * x.im[i];
  return Math.sqrt(s);
}

function scaleInPlace(x: Vec, s: number): void {
  for (let i = 0; i < x.re.length; i++) x.re[i] *= s;
  if (x.im) for (let i = 0; i < x.im.length; i++) x.im[i] *= s;
}

/** x ← x − c·b for a real coefficient c. */
function axpyReal(x: Vec, c: number, b: Vec): void {
  for (let i = 0; i < x.re.length; i++) x.re[i] -= c * b.re[i];
  if (x.im) for (let i = 0; i < x.im.length; i++) x.im[i] -= c * b.im![i];
}

/** Two passes of classical Gram–Schmidt of x against the orthonormal basis (full reorthogonalisation). */
function orthogonalise(x: Vec, basis: readonly Vec[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const b of basis) {
      // c = bᴴx
      let cr = 0;
      let ci = 0;
      for (let i = 0; i < x.re.length; i++) cr += b.re[i] * x.re[i];
      if (x.im) {
        for (let i = 0; i < x.re.length; i++) {
          cr += b.im![i] * x.im[i];
          ci += b.re[i] * x.im[i] - b.im![i] * x.re[i];
        }
        for (let i = 0; i < x.re.length; i++) {
          x.re[i] -= b.re[i] * cr - b.im![i] * ci;
          x.im[i] -= b.re[i] * ci + b.im![i] * cr;
        }
      } else {
        for (let i = 0; i < x.re.length; i++) x.re[i] -= b.re[i] * cr;
      }
    }
  }
}

/** Deterministic uniform stream (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random unit vector orthogonal to `basis` (start vector, or a restart after an invariant subspace). */
function randomUnit(n: number, complex: boolean, next: () => number, basis: readonly Vec[]): Vec {
  for (;;) {
    const x = vec(n, complex);
    for (let i = 0; i < n; i++) x.re[i] = next() - 0.5;
    if (x.im) for (let i = 0; i < n; i++) x.im[i] = next() - 0.5;
    orthogonalise(x, basis);
    const nx = norm(x);
    if (nx > 1e-8) {
      scaleInPlace(x, 1 / nx);
      return x;
    }
  }
}

/** Σ_c coef[c]·basis[c] (real coefficients). */
function combine(basis: readonly Vec[], coef: (c: number) => number, len: number, complex: boolean): Vec {
  const out = vec(len, complex);
  basis.forEach((b, c) => {
    const w = coef(c);
    for (let i = 0; i < len; i++) out.re[i] += w * b.re[i];
    if (out.im) for (let i = 0; i < len; i++) out.im[i] += w * b.im![i];
  });
  return out;
}

/** The r leading singular triplets of A (s descending). */
export function lanczosSvd(a: Matrix, r: number, opts: LanczosOptions = {}): LanczosResult {
  const { rows: m, cols: n } = a;
  const minDim = Math.min(m, n);
  if (!Number.isInteger(r) || r < 1 || r > minDim) throw new RangeError(`lanczosSvd: rank ${r} is outside 1..${minDim} for a ${m}×${n} matrix`);
  const complex = a.im !== null;
  const tol = opts.tol ?? 1e-10;
  const k = Math.min(minDim, opts.krylov ?? Math.max(2 * r + 20, 24));
  // Ritz vectors kept across a restart: the wanted ones plus as many again, for convergence speed.
  const keep = Math.min(k - 1, Math.max(r, Math.floor(k / 2)));
  const maxCycles = opts.maxCycles ?? 400;
  const next = uniform(opts.seed ?? 0x5eed);

  let V: Vec[] = [randomUnit(n, complex, next, [])];
  let P: Vec[] = [];
  const B = new Float64Array(k * k);
  let locked = 0; // Ritz pairs carried into this cycle
  let rho: Float64Array = new Float64Array(0);
  let products = 0;
  let best: LanczosResult | null = null;

  for (let cycle = 0; cycle < maxCycles; cycle++) {
    let beta = 0;
    for (let j = locked; j < k; j++) {
      const p = vec(m, complex);
      mulA(a, V[j], p);
      products++;
      if (j === locked && locked > 0) rho.forEach((c, i) => axpyReal(p, c, P[i]));
      else if (j > 0) axpyReal(p, beta, P[j - 1]);
      orthogonalise(p, P);
      const alpha = norm(p);
      B[j * k + j] = alpha;
      if (alpha > 0) scaleInPlace(p, 1 / alpha);
      else Object.assign(p, randomUnit(m, complex, next, P));
      P.push(p);

      const q = vec(n, complex);
      mulAH(a, p, q);
      products++;
      axpyReal(q, alpha, V[j]);
      orthogonalise(q, V);
      beta = norm(q);
      const scaleRef = Math.max(alpha, B[0]);
      if (beta <= 1e-13 * scaleRef) {
        // An invariant subspace: continue from a fresh direction; the coupling is zero.
        beta = 0;
        V.push(randomUnit(n, complex, next, V));
      } else {
        scaleInPlace(q, 1 / beta);
        V.push(q);
      }
      if (j + 1 < k) B[j * k + j + 1] = beta;
    }

    const svd = jacobiSvd(realMatrix(k, k, B));
    const X = svd.u;
    const Y = svd.v;
    const sigma = svd.s;
    const s1 = sigma[0] || 1;
    let residual = 0;
    for (let i = 0; i < r; i++) residual = Math.max(residual, (beta * Math.abs(X.re[(k - 1) * k + i])) / s1);
    const converged = residual <= tol;
    if (converged || cycle === maxCycles - 1) {
      const u = matrix(m, r, complex);
      const v = matrix(n, r, complex);
      for (let i = 0; i < r; i++) {
        const ui = combine(P, (c) => X.re[c * k + i], m, complex);
        const vi = combine(V.slice(0, k), (c) => Y.re[c * k + i], n, complex);
        for (let t = 0; t < m; t++) {
          u.re[t * r + i] = ui.re[t];
          if (u.im) u.im[t * r + i] = ui.im![t];
        }
        for (let t = 0; t < n; t++) {
          v.re[t * r + i] = vi.re[t];
          if (v.im) v.im[t * r + i] = vi.im![t];
        }
      }
      best = { u, s: sigma.slice(0, r), v, converged, residual, products };
      break;
    }

    // Thick restart: keep `keep` Ritz pairs and the continuation vector.
    const newP = Array.from({ length: keep }, (_, i) => combine(P, (c) => X.re[c * k + i], m, complex));
    const newV = Array.from({ length: keep }, (_, i) => combine(V.slice(0, k), (c) => Y.re[c * k + i], n, complex));
    newV.push(V[k]);
    rho = new Float64Array(keep);
    for (let i = 0; i < keep; i++) rho[i] = beta * X.re[(k - 1) * k + i];
    B.fill(0);
    for (let i = 0; i < keep; i++) {
      B[i * k + i] = sigma[i];
      B[i * k + keep] = rho[i];
    }
    P = newP;
    V = newV;
    locked = keep;
  }
  return best!;
}
