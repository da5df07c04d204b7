/**
 * The leading r singular triplets of a real or complex matrix, in the fixtures' phase
 * convention (largest-modulus entry of each U column real and positive). Small matrices go to
 * one-sided Jacobi (exact to rounding), large ones to restarted Lanczos (iterative, converged
 * to a residual ≤ tol·σ₁).
 */
import { PeftConfigError } from '../errors';
import { jacobiSvd } from './jacobi';
import { lanczosSvd, type LanczosOptions } from './lanczos';
import { matrix, normalisePhases, type Matrix, type Svd } from './matrix';

/** Up to this many columns (the smaller side), a full Jacobi SVD is cheaper than Lanczos. */
export const DENSE_SVD_LIMIT = 96;

export interface TruncatedSvd extends Svd {
  /** 'jacobi' (exact) or 'lanczos' (iterative). */
  readonly method: 'jacobi' | 'lanczos';
  /** Lanczos: whether the residual reached the tolerance; Jacobi: always true. */
  readonly converged: boolean;
  /** max ‖Aᴴuᵢ − σᵢvᵢ‖ / σ₁ over the returned triplets (0 for Jacobi, which is exact to rounding). */
  readonly residual: number;
}

/** Throws a clear error when rank r cannot be taken from a rows×cols matrix. */
export function checkRank(r: number, rows: number, cols: number, what: string): void {
  const max = Math.min(rows, cols);
  if (!Number.isInteger(r) || r < 1) throw new PeftConfigError(`${what}: rank must be a positive integer, got ${r}`);
  if (r > max) throw new PeftConfigError(`${what}: rank ${r} is larger than this ${rows}×${cols} weight allows (at most ${max})`);
}

function leading(svd: Svd, r: number): Svd {
  const take = (a: Matrix): Matrix => {
    const out = matrix(a.rows, r, a.im !== null);
    for (let i = 0; i < a.rows; i++) {
      for (let c = 0; c < r; c++) {
        out.re[i * r + c] = a.re[i * a.cols + c];
        if (out.im) out.im[i * r + c] = a.im![i * a.cols + c];
      }
    }
    return out;
  };
  return { u: take(svd.u), s: svd.s.slice(0, r), v: take(svd.v) };
}

export function truncatedSvd(a: Matrix, r: number, opts: LanczosOptions & { what?: string } = {}): TruncatedSvd {
  checkRank(r, a.rows, a.cols, opts.what ?? 'SVD');
  if (Math.min(a.rows, a.cols) <= DENSE_SVD_LIMIT || 4 * r > Math.min(a.rows, a.cols)) {
    return { ...normalisePhases(leading(jacobiSvd(a), r)), method: 'jacobi', converged: true, residual: 0 };
  }
  const l = lanczosSvd(a, r, opts);
  return { ...normalisePhases(l), method: 'lanczos', converged: l.converged, residual: l.residual };
}
