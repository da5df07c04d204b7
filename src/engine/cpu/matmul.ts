/** Batched float64 matmul: each batch item is one `gemmNT` call on K-contiguous op(A) and op(B)ᵀ. */
import type { MatmulSpec } from '../backend';
import { sizeOf } from '../shape';
import { gemmNT, transposeInto, type Rows } from './gemm';
import { forEachRow } from './strided';

/**
 * C[b] = op(A[b])·op(B[b]), C contiguous [batch…, M, N]. The kernel wants op(A) as [M×K] rows and
 * op(B) as [N×K] rows: A (unless transA) and B when transB are stored so; otherwise the operand
 * is transposed into a scratch panel, again only when its batch offset changes (an operand
 * broadcast over the innermost batch axis is packed once).
 */
export function matmul(A: Float64Array, B: Float64Array, s: MatmulSpec): Float64Array {
  const { M, N, K } = s;
  const C = new Float64Array(sizeOf(s.batchShape) * M * N);
  const aPanel = s.transA ? new Float64Array(M * K) : null;
  const bPanel = s.transB ? null : new Float64Array(N * K);
  let aPacked = -1;
  let bPacked = -1;
  let batch = 0;
  forEachRow(s.batchShape, s.aBatchStrides, s.bBatchStrides, 0, 0, (_o, a0, b0, n, da, db) => {
    for (let t = 0; t < n; t++, batch++) {
      const aOff = a0 + t * da;
      const bOff = b0 + t * db;
      let opA: Rows = { data: A, offset: aOff, rowStride: K };
      if (aPanel) {
        if (aOff !== aPacked) transposeInto(A, aOff, M, K, M, aPanel);
        aPacked = aOff;
        opA = { data: aPanel, offset: 0, rowStride: K };
      }
      let opB: Rows = { data: B, offset: bOff, rowStride: K };
      if (bPanel) {
        if (bOff !== bPacked) transposeInto(B, bOff, N, K, N, bPanel);
        bPacked = bOff;
        opB = { data: bPanel, offset: 0, rowStride: K };
      }
      gemmNT(M, N, K, opA, opB, { data: C, offset: batch * M * N, rowStride: N });
    }
  });
  return C;
}
