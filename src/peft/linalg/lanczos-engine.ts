/**
 * The leading r singular triplets of a batch of K complex matrices on the engine: the same
 * restarted Golub–Kahan–Lanczos as lanczos.ts (thick restart, full reorthogonalisation), with
 * every vector operation batched over the K matrices, so one pass of the loop is a few dozen
 * dispatches whatever K is. On WebGPU this moves LoRA-PT's t-SVD onto the GPU; on the float64
 * CPU engine it is the reference the tests compare with Jacobi.
 *
 * Layout: matrices `re`, `im` [K, m, n]; vectors [K, len, 1]; bases [K, len, j]. Only the small
 * bidiagonal projections (K × k numbers per cycle) travel to the host, where each is decomposed
 * by Jacobi to test convergence and to form the restart.
 */
import { add, addScalar, concat, div, keep, matmul, mul, noGrad, reshape, slice, sqrt, square, sub, sum, tidy, type Engine, type Tensor } from '../../engine';
import { jacobiSvd } from './jacobi';
import { matrix, realMatrix, type Svd } from './matrix';

export interface EngineLanczosOptions {
  /** Converged when every slice's wanted residuals ≤ tol·σ₁ (default 1e-10 on float64, 2e-5 on float32). */
  tol?: number;
  /** Krylov dimension per cycle (default max(2r + 20, 24), capped by min(m, n)). */
  krylov?: number;
  /** Restart cycles before giving up (default 200). */
  maxCycles?: number;
  seed?: number;
  /** Slices known to be real (their imaginary part is exactly 0): their start vectors are real too, so their triplets stay exactly real. */
  realSlices?: readonly boolean[];
}

export interface EngineLanczosResult {
  /** One SVD per slice (host, float64 copies of the engine's values). */
  readonly svds: Svd[];
  readonly converged: boolean;
  /** Worst residual ‖Aᴴuᵢ − σᵢvᵢ‖/σ₁ over slices and wanted triplets. */
  readonly residual: number;
  readonly cycles: number;
}

interface CVec {
  re: Tensor;
  im: Tensor;
}

/** Guards a norm of an exactly zero vector (a zero slice) from a division by zero. */
const TINY_SQUARED = 1e-36;

function dispose(...vs: (CVec | Tensor | undefined)[]): void {
  for (const v of vs) {
    if (!v) continue;
    if ('re' in v) {
      v.re.dispose();
      v.im.dispose();
    } else v.dispose();
  }
}

/** op(A)·x for complex A [K, rows, cols] and x [K, ·, c]; op = Aᴴ when `adjoint`. */
function cmul(ar: Tensor, ai: Tensor, x: CVec, adjoint: boolean): CVec {
  if (!adjoint) return { re: sub(matmul(ar, x.re), matmul(ai, x.im)), im: add(matmul(ar, x.im), matmul(ai, x.re)) };
  const t = { transA: true };
  return { re: add(matmul(ar, x.re, t), matmul(ai, x.im, t)), im: sub(matmul(ar, x.im, t), matmul(ai, x.re, t)) };
}

/** x − Q·(Qᴴx), twice (classical Gram–Schmidt with reorthogonalisation). */
function orthogonalise(x: CVec, basis: CVec | null): CVec {
  if (!basis) return x;
  let y = x;
  for (let pass = 0; pass < 2; pass++) {
    const c = cmul(basis.re, basis.im, y, true);
    const qc = cmul(basis.re, basis.im, c, false);
    y = { re: sub(y.re, qc.re), im: sub(y.im, qc.im) };
  }
  return y;
}

/** Per-slice 2-norm [K, 1, 1]. */
function norm(x: CVec): Tensor {
  return sqrt(addScalar(add(sum(square(x.re), [1, 2], true), sum(square(x.im), [1, 2], true)), TINY_SQUARED));
}

const scaleBy = (x: CVec, d: Tensor): CVec => ({ re: div(x.re, d), im: div(x.im, d) });
const axpy = (x: CVec, c: Tensor, y: CVec): CVec => ({ re: sub(x.re, mul(c, y.re)), im: sub(x.im, mul(c, y.im)) });

function joinColumns(vs: readonly CVec[]): CVec | null {
  if (vs.length === 0) return null;
  return { re: concat(vs.map((v) => v.re), 2), im: concat(vs.map((v) => v.im), 2) };
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

/** A [K, len, 1] complex start vector of unit norm per slice (real where asked). */
function startVector(engine: Engine, K: number, len: number, seed: number, real: readonly boolean[]): CVec {
  const next = uniform(seed);
  const re = new Float64Array(K * len);
  const im = new Float64Array(K * len);
  for (let s = 0; s < K; s++) {
    let ss = 0;
    for (let i = 0; i < len; i++) {
      re[s * len + i] = next() - 0.5;
      im[s * len + i] = real[s] ? 0 : next() - 0.5;
      ss += re[s * len + i] ** 2 + im[s * len + i] ** 2;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let i = 0; i < len; i++) {
      re[s * len + i] *= inv;
      im[s * len + i] *= inv;
    }
  }
  return { re: engine.tensor(re, [K, len, 1]), im: engine.tensor(im, [K, len, 1]) };
}

/** Basis · X for a complex basis [K, len, k] and real coefficients X [K, k, c]. */
function combine(basis: CVec, x: Tensor): CVec {
  return { re: matmul(basis.re, x), im: matmul(basis.im, x) };
}

function columns(v: CVec, count: number): CVec[] {
  return Array.from({ length: count }, (_, i) => ({ re: slice(v.re, [null, null, [i, i + 1]]), im: slice(v.im, [null, null, [i, i + 1]]) }));
}

/**
 * The r leading triplets of each of the K matrices re + i·im. Runs without autograd; the inputs
 * are only read.
 */
export async function batchedLanczosSvd(engine: Engine, re: Tensor, im: Tensor, r: number, opts: EngineLanczosOptions = {}): Promise<EngineLanczosResult> {
  const [K, m, n] = re.shape;
  const minDim = Math.min(m, n);
  if (!Number.isInteger(r) || r < 1 || r > minDim) throw new RangeError(`batchedLanczosSvd: rank ${r} is outside 1..${minDim} for ${m}×${n} matrices`);
  const tol = opts.tol ?? (engine.kind === 'cpu' ? 1e-10 : 2e-5);
  const k = Math.min(minDim, opts.krylov ?? Math.max(2 * r + 20, 24));
  const keepN = Math.min(k - 1, Math.max(r, Math.floor(k / 2)));
  const maxCycles = opts.maxCycles ?? 200;
  const real = opts.realSlices ?? new Array<boolean>(K).fill(false);

  let V: CVec[] = [startVector(engine, K, n, opts.seed ?? 0x5eed, real)];
  let P: CVec[] = [];
  // Host copies of the small projection: B per slice (k×k), filled cycle by cycle.
  const B = Array.from({ length: K }, () => new Float64Array(k * k));
  let locked = 0;
  let rho: Float64Array[] = []; // per slice, keepN couplings of the restart column
  let result: EngineLanczosResult | null = null;

  try {
    for (let cycle = 0; cycle < maxCycles && !result; cycle++) {
      const alphas: Tensor[] = [];
      const betas: Tensor[] = [];
      let prevBeta: Tensor | null = null;
      for (let j = locked; j < k; j++) {
        const step = noGrad(() =>
          tidy(() => {
            let p = cmul(re, im, V[j], false);
            if (j === locked && locked > 0) {
              for (let i = 0; i < locked; i++) p = axpy(p, engine.tensor(rho.map((x) => x[i]), [K, 1, 1]), P[i]);
            } else if (j > 0) p = axpy(p, prevBeta!, P[j - 1]);
            p = orthogonalise(p, joinColumns(P));
            const alpha = norm(p);
            p = scaleBy(p, alpha);
            let q = cmul(re, im, p, true);
            q = axpy(q, alpha, V[j]);
            q = orthogonalise(q, joinColumns(V));
            const beta = norm(q);
            q = scaleBy(q, beta);
            return { p, q, alpha, beta };
          }),
        );
        for (const t of [step.p.re, step.p.im, step.q.re, step.q.im, step.alpha, step.beta]) keep(t);
        P.push(step.p);
        V.push(step.q);
        alphas.push(step.alpha);
        betas.push(step.beta);
        prevBeta = step.beta;
      }
      // One read of this cycle's α and β for all slices.
      const ab = noGrad(() => concat([...alphas, ...betas].map((t) => reshape(t, [K, 1])), 1));
      const host = await ab.data();
      ab.dispose();
      dispose(...alphas, ...betas);
      const steps = k - locked;
      const width = 2 * steps;
      const svds: Svd[] = [];
      let worst = 0;
      const lastBeta = new Float64Array(K);
      for (let s = 0; s < K; s++) {
        const b = B[s];
        for (let t = 0; t < steps; t++) {
          const j = locked + t;
          b[j * k + j] = host[s * width + t];
          if (j + 1 < k) b[j * k + j + 1] = host[s * width + steps + t];
        }
        lastBeta[s] = host[s * width + width - 1];
        const svd = jacobiSvd(realMatrix(k, k, b));
        svds.push(svd);
        const s1 = svd.s[0] || 1;
        for (let i = 0; i < r; i++) worst = Math.max(worst, (lastBeta[s] * Math.abs(svd.u.re[(k - 1) * k + i])) / s1);
      }
      const done = worst <= tol || cycle === maxCycles - 1;
      const take = done ? r : keepN;
      // Ritz coefficients X[:, :take] and Y[:, :take] per slice, uploaded as [K, k, take].
      const coef = (which: 'u' | 'v') => {
        const a = new Float64Array(K * k * take);
        svds.forEach((svd, s) => {
          for (let c = 0; c < k; c++) for (let i = 0; i < take; i++) a[(s * k + c) * take + i] = svd[which].re[c * k + i];
        });
        return engine.tensor(a, [K, k, take]);
      };
      const x = coef('u');
      const y = coef('v');
      const ritz = noGrad(() =>
        tidy(() => {
          const u = combine(joinColumns(P)!, x);
          const v = combine(joinColumns(V.slice(0, k))!, y);
          return { u, v };
        }),
      );
      for (const t of [ritz.u.re, ritz.u.im, ritz.v.re, ritz.v.im]) keep(t);
      dispose(x, y);
      if (done) {
        const [ur, ui, vr, vi] = await Promise.all([ritz.u.re.data(), ritz.u.im.data(), ritz.v.re.data(), ritz.v.im.data()]);
        dispose(ritz.u, ritz.v);
        const out: Svd[] = svds.map((svd, s) => {
          const u = matrix(m, r, !real[s]);
          const v = matrix(n, r, !real[s]);
          u.re.set(ur.subarray(s * m * r, (s + 1) * m * r));
          v.re.set(vr.subarray(s * n * r, (s + 1) * n * r));
          if (!real[s]) {
            u.im!.set(ui.subarray(s * m * r, (s + 1) * m * r));
            v.im!.set(vi.subarray(s * n * r, (s + 1) * n * r));
          }
          return { u, s: svd.s.slice(0, r), v } as Svd;
        });
        result = { svds: out, converged: worst <= tol, residual: worst, cycles: cycle + 1 };
        break;
      }
      // Thick restart: keep `keepN` Ritz pairs per slice and the continuation vector V[k].
      const newP = columns(ritz.u, keepN);
      const newV = columns(ritz.v, keepN);
      for (const c of [...newP, ...newV]) {
        keep(c.re);
        keep(c.im);
      }
      dispose(ritz.u, ritz.v);
      const cont = V[k];
      dispose(...P, ...V.slice(0, k));
      P = newP;
      V = [...newV, cont];
      rho = svds.map((svd, s) => Float64Array.from({ length: keepN }, (_, i) => lastBeta[s] * svd.u.re[(k - 1) * k + i]));
      for (let s = 0; s < K; s++) {
        B[s].fill(0);
        for (let i = 0; i < keepN; i++) {
          B[s][i * k + i] = svds[s].s[i];
          B[s][i * k + keepN] = rho[s][i];
        }
      }
      locked = keepN;
    }
  } finally {
    dispose(...P, ...V);
  }
  return result!;
}
