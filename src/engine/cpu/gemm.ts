/**
 * The float64 GEMM under the CPU backend's matmul and conv3d: one register-blocked kernel on
 * K-contiguous operands, and the transpose that packs other layouts into that form.
 */

/** A row-major matrix inside a larger array: element (r, c) at data[offset + r·rowStride + c]. */
export interface Rows {
  readonly data: Float64Array;
  readonly offset: number;
  readonly rowStride: number;
}

/**
 * C[M×N] += A[M×K]·B[N×K]ᵀ: every C element adds the K products of its A row and B row, summed
 * in k order in one accumulator (deterministic; into a zero C it equals the textbook loop bit
 * for bit). C is computed in 2×4 blocks held in locals, so each loaded A value serves 4 products
 * and each B value 2. Measured in V8 on this project's shapes: 2×4, 4×2, 3×4 and 4×4 blocks
 * within noise of each other (1.0–1.5 G multiply-adds/s), ~3× the 1×1 loop, 2×2 ~25% slower;
 * 2×4 keeps the fewest accumulators (8 of x64's 16 float registers). Rows and columns past the
 * last whole block take the plain dot-product loop.
 */
export function gemmNT(M: number, N: number, K: number, a: Rows, b: Rows, c: Rows): void {
  const A = a.data;
  const B = b.data;
  const C = c.data;
  const lda = a.rowStride;
  const ldb = b.rowStride;
  const ldc = c.rowStride;
  const M2 = M - (M % 2);
  const N4 = N - (N % 4);
  for (let m = 0; m < M2; m += 2) {
    const a0 = a.offset + m * lda;
    const a1 = a0 + lda;
    for (let n = 0; n < N4; n += 4) {
      const b0 = b.offset + n * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        let y = B[b0 + k];
        c00 += x0 * y;
        c10 += x1 * y;
        y = B[b1 + k];
        c01 += x0 * y;
        c11 += x1 * y;
        y = B[b2 + k];
        c02 += x0 * y;
        c12 += x1 * y;
        y = B[b3 + k];
        c03 += x0 * y;
        c13 += x1 * y;
      }
      const r0 = c.offset + m * ldc + n;
      const r1 = r0 + ldc;
      C[r0] += c00;
      C[r0 + 1] += c01;
      C[r0 + 2] += c02;
      C[r0 + 3] += c03;
      C[r1] += c10;
      C[r1 + 1] += c11;
      C[r1 + 2] += c12;
      C[r1 + 3] += c13;
    }
  }
  // The edges: columns N4… of the blocked rows, then the last row when M is odd.
  for (let m = 0; m < M; m++) {
    for (let n = m < M2 ? N4 : 0; n < N; n++) {
      const ar = a.offset + m * lda;
      const br = b.offset + n * ldb;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[ar + k] * B[br + k];
      C[c.offset + m * ldc + n] += acc;
    }
  }
}

/** dst[c·rows + r] = src[offset + r·rowStride + c]: the [rows×cols] matrix at `offset`, transposed into a packed [cols×rows]. */
export function transposeInto(src: Float64Array, offset: number, rowStride: number, rows: number, cols: number, dst: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const s = offset + r * rowStride;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[s + c];
  }
}
