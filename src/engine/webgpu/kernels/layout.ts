/** Data movement: strided gather/scatter (permute, slice, pad, concat, expand), roll, row gather/scatter. */
import { decode, header, main1d } from '../wgsl';

/** out[i] = x[offset + Σ c_d·strides_d]; params: [total, offset, shape[R], strides[R]]. */
export function copyKernel(rank: number): string {
  return `${header([{ name: 'X', access: 'read' }, { name: 'Y', access: 'rw' }])}
${main1d(`${decode('i', rank, 2, [2 + rank], ['pu(1u)'])}
  Y[i] = X[o0];`)}`;
}

/** dst[offset + Σ c_d·strides_d] = src[i]; params as copyKernel. */
export function writeIntoKernel(rank: number): string {
  return `${header([{ name: 'S', access: 'read' }, { name: 'D', access: 'rw' }])}
${main1d(`${decode('i', rank, 2, [2 + rank], ['pu(1u)'])}
  D[o0] = S[i];`)}`;
}

/** out[c] = x[(c − shift) mod n] per axis; params: [total, shape[R], shifts[R]]. */
export function rollKernel(rank: number): string {
  const lines = ['  var rem = i;', '  var src = 0u;', '  var mult = 1u;'];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`  { let n = pu(${1 + d}u); let c = rem % n; rem = rem / n; src += ((c + n - pu(${1 + rank + d}u)) % n) * mult; mult *= n; }`);
  }
  return `${header([{ name: 'X', access: 'read' }, { name: 'Y', access: 'rw' }])}
${main1d(`${lines.join('\n')}
  Y[i] = X[src];`)}`;
}

/** out[i, c] = T[idx[i], c]; params: [total, cols]. */
export function gatherRowsKernel(): string {
  return `${header([{ name: 'T', access: 'read' }, { name: 'I', access: 'read', type: 'i32' }, { name: 'Y', access: 'rw' }])}
${main1d(`  let cols = pu(1u);
  let r = i / cols;
  Y[i] = T[u32(I[r]) * cols + i % cols];`)}`;
}

/**
 * out[r, c] = Σ_{j in rows of r} G[pos[j], c] using a CSR inverse index built on the host, so
 * the scatter is deterministic and needs no float atomics. params: [total, cols].
 */
export function scatterRowsKernel(): string {
  return `${header([
    { name: 'G', access: 'read' },
    { name: 'Off', access: 'read', type: 'i32' },
    { name: 'Pos', access: 'read', type: 'i32' },
    { name: 'Y', access: 'rw' },
  ])}
${main1d(`  let cols = pu(1u);
  let r = i / cols;
  let c = i % cols;
  var acc = 0.0;
  for (var j = Off[r]; j < Off[r + 1u]; j++) { acc += G[u32(Pos[j]) * cols + c]; }
  Y[i] = acc;`)}`;
}
