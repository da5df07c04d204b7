/**
 * Dense float64 matrices for the PEFT initialisers: real or complex, row-major, with the real
 * and imaginary parts in separate arrays (`im === null` for a real matrix, so real inputs pay
 * for real arithmetic only). Pure functions; nothing here touches the engine.
 */

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Real parts, row-major: element (i, j) at i·cols + j. */
  readonly re: Float64Array;
  /** Imaginary parts (same layout), or null for a real matrix. */
  readonly im: Float64Array | null;
}

export function matrix(rows: number, cols: number, complex: boolean): Matrix {
  return { rows, cols, re: new Float64Array(rows * cols), im: complex ? new Float64Array(rows * cols) : null };
}

/** A real matrix over existing values (copied to float64). */
export function realMatrix(rows: number, cols: number, values: ArrayLike<number>): Matrix {
  if (values.length !== rows * cols) throw new RangeError(`realMatrix: ${values.length} values for ${rows}×${cols}`);
  return { rows, cols, re: Float64Array.from(values), im: null };
}

/** Aᴴ (the transpose for a real matrix). */
export function adjoint(a: Matrix): Matrix {
  const t = matrix(a.cols, a.rows, a.im !== null);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      t.re[j * a.rows + i] = a.re[i * a.cols + j];
      if (a.im) t.im![j * a.rows + i] = -a.im[i * a.cols + j];
    }
  }
  return t;
}

/**
 * A thin SVD (or its leading part): A ≈ U·diag(s)·Vᴴ with U [rows×k], V [cols×k] column
 * blocks stored as matrices, s descending.
 */
export interface Svd {
  readonly u: Matrix;
  readonly s: Float64Array;
  readonly v: Matrix;
}

/** U·diag(s)·Vᴴ as a dense matrix (tests and residuals). */
export function reconstruct({ u, s, v }: Svd): Matrix {
  const m = u.rows;
  const n = v.rows;
  const k = s.length;
  const complex = u.im !== null || v.im !== null;
  const out = matrix(m, n, complex);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < m; i++) {
      const ur = u.re[i * u.cols + c] * s[c];
      const ui = u.im ? u.im[i * u.cols + c] * s[c] : 0;
      const row = i * n;
      for (let j = 0; j < n; j++) {
        // (ur + i·ui)·conj(vr + i·vi)
        const vr = v.re[j * v.cols + c];
        const vi = v.im ? v.im[j * v.cols + c] : 0;
        out.re[row + j] += ur * vr + ui * vi;
        if (out.im) out.im[row + j] += ui * vr - ur * vi;
      }
    }
  }
  return out;
}

/** max over elements of |a − b| (complex modulus). */
export function maxAbsDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`maxAbsDiff: ${a.rows}×${a.cols} vs ${b.rows}×${b.cols}`);
  let m = 0;
  for (let i = 0; i < a.re.length; i++) {
    const dr = a.re[i] - b.re[i];
    const di = (a.im ? a.im[i] : 0) - (b.im ? b.im[i] : 0);
    m = Math.max(m, Math.hypot(dr, di));
  }
  return m;
}

/** max over elements of |a|. */
export function maxAbs(a: Matrix): number {
  let m = 0;
  for (let i = 0; i < a.re.length; i++) m = Math.max(m, Math.hypot(a.re[i], a.im ? a.im[i] : 0));
  return m;
}

/**
 * The fixtures' phase convention (README §C item 4): in each column of U, the entry of largest
 * modulus (the first one on ties) is made real and positive, and the same unit factor is applied
 * to the column of V, so U·diag(s)·Vᴴ is unchanged. Makes factors comparable across SVD codes.
 */
export function normalisePhases({ u, s, v }: Svd): Svd {
  for (let c = 0; c < s.length; c++) {
    let best = -1;
    let at = 0;
    for (let i = 0; i < u.rows; i++) {
      const mag = Math.hypot(u.re[i * u.cols + c], u.im ? u.im[i * u.cols + c] : 0);
      if (mag > best) {
        best = mag;
        at = i;
      }
    }
    if (best === 0) continue;
    // Multiply both columns by conj(phase), phase = u[at]/|u[at]|.
    const pr = u.re[at * u.cols + c] / best;
    const pi = u.im ? u.im[at * u.cols + c] / best : 0;
    for (const m of [u, v]) {
      for (let i = 0; i < m.rows; i++) {
        const k = i * m.cols + c;
        const xr = m.re[k];
        const xi = m.im ? m.im[k] : 0;
        m.re[k] = xr * pr + xi * pi;
        if (m.im) m.im[k] = xi * pr - xr * pi;
      }
    }
    // The pivot is now exactly real (avoid a rounding-level imaginary residue).
    if (u.im) u.im[at * u.cols + c] = 0;
  }
  return { u, s, v };
}
