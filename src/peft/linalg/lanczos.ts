/**
 * The leading r singular triplets of a large matrix by thick-restart Lanczos (Wu & Simon) on
 * the Gram matrix G = AᴴA (n×n), with full reorthogonalisation. The Krylov space of G from v₁
 * is the one Golub–Kahan bidiagonalisation builds with the same products, so convergence is the
 * same; what changes is that one Gram product reads A once (kernels.wat), where A·v then Aᴴ·p
 * read it twice. (For a wide A, G has n − m extra zero eigenvalues, which do not slow the
 * leading ones; the vectors are longer, but the Gram product dominates.)
 *
 * Invariants of a cycle (exact arithmetic): G·Vₖ = Vₖ·Tₖ + β·v₊·eₖᵀ with Tₖ real symmetric
 * (tridiagonal apart from the restart row and column); for Tₖ = X·Θ·Xᵀ the Ritz pair (θᵢ, Vₖxᵢ)
 * has ‖G·y − θ·y‖ = β·|X[k−1, i]|, which is the convergence test. At the end a Rayleigh–Ritz
 * step with A itself (W = A·Y, a small exact SVD of W) gives triplets with A·v = σ·u to
 * rounding, and the residual ‖Aᴴu − σv‖ = ‖G·v − σ²·v‖/σ is measured with one more product.
 *
 * Squaring costs accuracy only for singular values far below σ₁ (absolute error ~ ε·σ₁²/σᵢ);
 * the leading triplets wanted here are accurate to rounding.
 */
import { uniformStream } from '../../core/random';
import { GramOperator, vec, type Vec } from './gram';
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
  /** max over the returned triplets of ‖Aᴴuᵢ − σᵢvᵢ‖ / σ₁, measured (Avᵢ = σᵢuᵢ to rounding). */
  readonly residual: number;
  /** Products with A or Aᴴ (a Gram product counts two). */
  readonly products: number;
}

/** An invariant subspace: β below this fraction of ‖Tₖ‖ is rounding. */
const INVARIANT = 1e-13;

/** Lanczos steps between convergence tests (each an SVD of a ≤ k×k matrix, cheap next to a product). */
const CHECK_EVERY = 2;

function norm(x: Vec): number {
  let s = 0;
  for (let i = 0; i < x.re.length; i++) s += x.re[i] * x.re[i];
  if (x.im) for (let i = 0; i < x.im.length; i++) s += x.im[i] * x.im[i];
  return Math.sqrt(s);
}

/** Re(bᴴx). */
function realDot(b: Vec, x: Vec): number {
  let s = 0;
  for (let i = 0; i < x.re.length; i++) s += b.re[i] * x.re[i];
  if (x.im) for (let i = 0; i < x.im.length; i++) s += b.im![i] * x.im[i];
  return s;
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

/**
 * Classical Gram–Schmidt of x against the orthonormal basis (full reorthogonalisation), with a
 * second pass when the first removed more than 1 − 1/√2 of x's norm (Daniel–Gragg–Kaufman–
 * Stewart: "twice is enough"; one pass is enough when little cancels).
 */
function orthogonalise(x: Vec, basis: readonly Vec[]): void {
  const n = x.re.length;
  let before = norm(x);
  for (let pass = 0; pass < 2; pass++) {
    for (const b of basis) {
      // c = bᴴx
      let cr = 0;
      let ci = 0;
      if (x.im) {
        const br = b.re;
        const bi = b.im!;
        const xr = x.re;
        const xi = x.im;
        for (let i = 0; i < n; i++) {
          cr += br[i] * xr[i] + bi[i] * xi[i];
          ci += br[i] * xi[i] - bi[i] * xr[i];
        }
        for (let i = 0; i < n; i++) {
          xr[i] -= br[i] * cr - bi[i] * ci;
          xi[i] -= br[i] * ci + bi[i] * cr;
        }
      } else {
        for (let i = 0; i < n; i++) cr += b.re[i] * x.re[i];
        for (let i = 0; i < n; i++) x.re[i] -= b.re[i] * cr;
      }
    }
    const after = norm(x);
    if (after > Math.SQRT1_2 * before) return;
    before = after;
  }
}

/** A random unit vector orthogonal to `basis` (fewer than n vectors): the start, or a restart after an invariant subspace. */
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

/** Σ_c coef(c)·basis[c] (real coefficients). */
function combine(basis: readonly Vec[], coef: (c: number) => number, len: number, complex: boolean): Vec {
  const out = vec(len, complex);
  basis.forEach((b, c) => {
    const w = coef(c);
    for (let i = 0; i < len; i++) out.re[i] += w * b.re[i];
    if (out.im) for (let i = 0; i < len; i++) out.im[i] += w * b.im![i];
  });
  return out;
}

/** Column c of m as a vector, and back. */
function column(m: Matrix, c: number): Vec {
  const x = vec(m.rows, m.im !== null);
  for (let i = 0; i < m.rows; i++) {
    x.re[i] = m.re[i * m.cols + c];
    if (x.im) x.im[i] = m.im![i * m.cols + c];
  }
  return x;
}
function setColumn(m: Matrix, c: number, x: Vec): void {
  for (let i = 0; i < m.rows; i++) {
    m.re[i * m.cols + c] = x.re[i];
    if (m.im) m.im[i * m.cols + c] = x.im![i];
  }
}

/** The r leading singular triplets of A (s descending). */
export function lanczosSvd(a: Matrix, r: number, opts: LanczosOptions = {}): LanczosResult {
  const { rows: m, cols: n } = a;
  const d = Math.min(m, n);
  if (!Number.isInteger(r) || r < 1 || r > d) throw new RangeError(`lanczosSvd: rank ${r} is outside 1..${d} for a ${m}×${n} matrix`);
  const complex = a.im !== null;
  const tol = opts.tol ?? 1e-10;
  const k = Math.min(d, opts.krylov ?? Math.max(2 * r + 20, 24));
  // Ritz vectors kept across a restart: the wanted ones plus as many again, for convergence speed.
  const keep = Math.min(k - 1, Math.max(r, Math.floor(k / 2)));
  const maxCycles = opts.maxCycles ?? 400;
  const next = uniformStream(opts.seed ?? 0x5eed);
  const op = new GramOperator(a);

  let V: Vec[] = [randomUnit(n, complex, next, [])];
  const T = new Float64Array(k * k);
  let locked = 0; // Ritz pairs carried into this cycle
  let couplings = new Float64Array(0);
  let products = 0;
  let scale = 0; // largest |Tₖ| entry seen: the reference for an invariant subspace

  for (let cycle = 0; ; cycle++) {
    let beta = 0;
    let ritz: RitzPairs | null = null;
    for (let j = locked; j < k; j++) {
      const w = vec(n, complex);
      op.gram(V[j], w);
      products += 2;
      if (j === locked && locked > 0) couplings.forEach((c, i) => axpyReal(w, c, V[i]));
      else if (j > 0) axpyReal(w, beta, V[j - 1]);
      const alpha = realDot(V[j], w);
      axpyReal(w, alpha, V[j]);
      orthogonalise(w, V);
      beta = norm(w);
      scale = Math.max(scale, Math.abs(alpha));
      T[j * k + j] = alpha;
      const exhausted = j + 1 === n; // V spans the whole space: G·V = V·T exactly.
      if (exhausted) beta = 0;
      else if (beta <= INVARIANT * scale) {
        // An invariant subspace: continue from a fresh direction; the coupling is zero.
        beta = 0;
        V.push(randomUnit(n, complex, next, V));
      } else {
        scaleInPlace(w, 1 / beta);
        V.push(w);
      }
      if (j + 1 < k) T[j * k + j + 1] = T[(j + 1) * k + j] = beta;
      // Test every CHECK_EVERY steps (not only at the end of a cycle), so a slice stops
      // within a step or two of converging.
      if (exhausted || j + 1 === k || (j + 1 - locked) % CHECK_EVERY === 0) {
        ritz = ritzPairs(T, k, j + 1, beta, r);
        if (exhausted || ritz.estimate <= tol) break;
      }
    }
    const { X, theta, size, estimate } = ritz!;
    if (estimate <= tol || cycle === maxCycles - 1) {
      const y = Array.from({ length: r }, (_, i) => combine(V.slice(0, size), (c) => X.re[c * size + i], n, complex));
      const out = rayleighRitz(op, y);
      return { ...out, converged: out.residual <= tol, products: products + 3 * r };
    }

    // Thick restart (size = k here): keep `keep` Ritz vectors and the continuation vector.
    const kept = Array.from({ length: keep }, (_, i) => combine(V.slice(0, k), (c) => X.re[c * k + i], n, complex));
    kept.push(V[k]);
    couplings = Float64Array.from({ length: keep }, (_, i) => beta * X.re[(k - 1) * k + i]);
    T.fill(0);
    for (let i = 0; i < keep; i++) {
      T[i * k + i] = theta[i];
      T[i * k + keep] = T[keep * k + i] = couplings[i];
    }
    V = kept;
    locked = keep;
  }
}

interface RitzPairs {
  /** Eigenvectors of the leading size×size block of T (columns), eigenvalues descending. */
  readonly X: Matrix;
  readonly theta: Float64Array;
  readonly size: number;
  /** max over the wanted pairs of ‖Aᴴu − σv‖/σ₁ = ‖G·y − θ·y‖/(σᵢ·σ₁), σ = √θ. */
  readonly estimate: number;
}

function ritzPairs(T: Float64Array, k: number, size: number, beta: number, r: number): RitzPairs {
  const block = new Float64Array(size * size);
  for (let i = 0; i < size; i++) block.set(T.subarray(i * k, i * k + size), i * size);
  // T is symmetric positive semidefinite: its SVD is its eigendecomposition.
  const eig = jacobiSvd(realMatrix(size, size, block));
  const theta = eig.s;
  let estimate = 0;
  for (let i = 0; i < Math.min(r, size); i++) {
    const res = beta * Math.abs(eig.u.re[(size - 1) * size + i]);
    estimate = Math.max(estimate, res === 0 ? 0 : res / Math.sqrt(theta[i] * theta[0]));
  }
  return { X: eig.u, theta, size, estimate: size < r ? Infinity : estimate };
}

/**
 * Triplets of A from orthonormal Ritz vectors Y of AᴴA: W = A·Y = Ũ·Σ·Zᴴ (exact SVD of the
 * small W), u = Ũ, v = Y·Z, so A·v = σ·u to rounding; the residual ‖Aᴴu − σv‖ = ‖G·v − σ²·v‖/σ
 * is measured with one Gram product per triplet.
 */
function rayleighRitz(op: GramOperator, y: readonly Vec[]): Svd & { residual: number } {
  const r = y.length;
  const { rows, cols, complex } = op;
  const w = matrix(rows, r, complex);
  const bv = vec(rows, complex);
  y.forEach((yi, i) => {
    op.mul(yi, bv);
    setColumn(w, i, bv);
  });
  const small = jacobiSvd(w);
  const u = matrix(rows, r, complex);
  const v = matrix(cols, r, complex);
  const g = vec(cols, complex);
  let residual = 0;
  for (let i = 0; i < r; i++) {
    setColumn(u, i, column(small.u, i));
    // v_i = Σ_c Y_c · Z[c, i] (complex coefficients)
    const vi = vec(cols, complex);
    for (let c = 0; c < r; c++) {
      const zr = small.v.re[c * r + i];
      const zi = small.v.im ? small.v.im[c * r + i] : 0;
      const yc = y[c];
      for (let t = 0; t < cols; t++) {
        const yr = yc.re[t];
        const yim = yc.im ? yc.im[t] : 0;
        vi.re[t] += yr * zr - yim * zi;
        if (vi.im) vi.im[t] += yr * zi + yim * zr;
      }
    }
    setColumn(v, i, vi);
    const s = small.s[i];
    op.gram(vi, g);
    axpyReal(g, s * s, vi);
    residual = Math.max(residual, s > 0 ? norm(g) / s : 0);
  }
  return { u, s: small.s.slice(0, r), v, residual: residual / (small.s[0] || 1) };
}
