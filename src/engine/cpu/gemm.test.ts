/**
 * The float64 GEMM kernel and the batched matmul on it, against a naive triple loop. Both sum
 * each output's products in k order in one accumulator, so they must agree bit for bit.
 */
import { describe, expect, it } from 'vitest';
import type { MatmulSpec } from '../backend';
import { gemmNT, transposeInto } from './gemm';
import { matmul } from './matmul';
import { uniformArray } from './testing';

describe('gemmNT', () => {
  // M, N, K around the 2×4 block: below it, not multiples of it, and K = 0.
  const sizes: [number, number, number][] = [[1, 1, 1], [1, 3, 5], [2, 4, 3], [3, 5, 7], [5, 9, 1], [7, 6, 13], [4, 8, 0], [9, 11, 33]];
  for (const [M, N, K] of sizes) {
    it(`M${M} N${N} K${K}, strided rows, accumulating into C`, () => {
      // Row strides larger than the rows and nonzero offsets: the kernel must honour both.
      const lda = K + 2;
      const ldb = K + 1;
      const ldc = N + 3;
      const A = uniformArray(3 + M * lda, 1);
      const B = uniformArray(5 + N * ldb, 2);
      const C = uniformArray(4 + M * ldc, 3);
      const want = C.slice();
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += A[3 + m * lda + k] * B[5 + n * ldb + k];
          want[4 + m * ldc + n] += acc;
        }
      }
      gemmNT(M, N, K, { data: A, offset: 3, rowStride: lda }, { data: B, offset: 5, rowStride: ldb }, { data: C, offset: 4, rowStride: ldc });
      expect(C).toEqual(want);
    });
  }
});

describe('transposeInto', () => {
  it('packs a strided [rows×cols] block as [cols×rows]', () => {
    const src = Float64Array.from({ length: 40 }, (_, i) => i);
    const dst = new Float64Array(6);
    transposeInto(src, 7, 10, 2, 3, dst); // rows 7..9 and 17..19
    expect([...dst]).toEqual([7, 17, 8, 18, 9, 19]);
  });
});

describe('cpu matmul', () => {
  /** C[b] = op(A[b])·op(B[b]) by the definition, k in order. */
  function naive(A: Float64Array, B: Float64Array, s: MatmulSpec, batches: [number, number][]): Float64Array {
    const { M, N, K } = s;
    const C = new Float64Array(batches.length * M * N);
    batches.forEach(([aOff, bOff], t) => {
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) {
            const a = A[aOff + (s.transA ? k * M + m : m * K + k)];
            const b = B[bOff + (s.transB ? n * K + k : k * N + n)];
            acc += a * b;
          }
          C[t * M * N + m * N + n] = acc;
        }
      }
    });
    return C;
  }

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`transA ${transA} transB ${transB}: odd sizes, batch [2, 3] with B broadcast over the first axis`, () => {
        const [M, N, K] = [7, 5, 11];
        // A is [2, 3, …] (strides 3·M·K, M·K); B is [1, 3, …] broadcast (strides 0, N·K).
        const spec: MatmulSpec = { batchShape: [2, 3], aBatchStrides: [3 * M * K, M * K], bBatchStrides: [0, N * K], M, N, K, transA, transB };
        const A = uniformArray(6 * M * K, 4);
        const B = uniformArray(3 * N * K, 5);
        const batches: [number, number][] = [];
        for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) batches.push([(i * 3 + j) * M * K, j * N * K]);
        expect(matmul(A, B, spec)).toEqual(naive(A, B, spec, batches));
      });
    }
  }

  it('a broadcast operand that is packed once serves every batch item', () => {
    // B [K, N] shared by all 4 items (not transB, so it is transposed into the panel once).
    const [M, N, K] = [3, 6, 9];
    const spec: MatmulSpec = { batchShape: [4], aBatchStrides: [M * K], bBatchStrides: [0], M, N, K, transA: false, transB: false };
    const A = uniformArray(4 * M * K, 6);
    const B = uniformArray(N * K, 7);
    expect(matmul(A, B, spec)).toEqual(naive(A, B, spec, [0, 1, 2, 3].map((t) => [t * M * K, 0])));
  });

  it('empty batch and K = 0 give zeros of the right size', () => {
    const base = { aBatchStrides: [6], bBatchStrides: [0], M: 2, N: 3, transA: false, transB: true };
    expect(matmul(new Float64Array(0), new Float64Array(0), { ...base, batchShape: [0], K: 3 })).toEqual(new Float64Array(0));
    expect(matmul(new Float64Array(0), new Float64Array(0), { ...base, batchShape: [2], K: 0 })).toEqual(new Float64Array(12));
  });
});
