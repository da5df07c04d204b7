/** Reductions: general strided sum, softmax along an axis, row normalisation; all two-level (threads, then workgroup tree). */
import { decode, header, main1d } from '../wgsl';

/**
 * Workgroup-wide tree reductions over `size` lanes, one function per call site, each with its
 * own workgroup array: on Dawn's OpenGL lane a second reduction through the same array read
 * stale values (measured: variance off by 2×), so call sites never share scratch memory.
 * Call `wg_<name>(v, lid)` from uniform control flow.
 */
export function treeFns(size: number, sites: readonly [name: string, op: 'sum' | 'max'][]): string {
  return sites
    .map(([name, op]) => `
var<workgroup> red_${name}: array<f32, ${size}>;
fn wg_${name}(v: f32, lid: u32) -> f32 {
  red_${name}[lid] = v;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_${name}[lid] = ${op === 'sum' ? `red_${name}[lid] + red_${name}[lid + s]` : `max(red_${name}[lid], red_${name}[lid + s])`}; }
    workgroupBarrier();
  }
  let r = red_${name}[0];
  workgroupBarrier();
  return r;
}`)
    .join('\n');
}

/** Workgroup-per-row entry: `row` = linear workgroup index; rows beyond `rowsWord` return (uniformly). */
export function mainRows(size: number, rowsWord: number, body: string): string {
  return `@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= pu(${rowsWord}u)) { return; }
${body}
}`;
}

/**
 * Sum over the reduced index space for each output. params: [outTotal, redTotal,
 * outShape[Ro], outStrides[Ro], redShape[Rr], redStrides[Rr]].
 * `perThread`: one thread per output (small reductions); otherwise one workgroup per output.
 */
export function reduceSumKernel(outRank: number, redRank: number, perThread: boolean, size: number): string {
  const outAt = 2;
  const redAt = 2 + 2 * outRank;
  const base = (idx: string) => decode(idx, outRank, outAt, [outAt + outRank], ['0u']).replace(/\bo0\b/g, 'ob').replace(/\brem\b/g, 'remo');
  const red = (idx: string) => decode(idx, redRank, redAt, [redAt + redRank], ['ob']);
  const io = [{ name: 'X', access: 'read' as const }, { name: 'Y', access: 'rw' as const }];
  if (perThread) {
    return `${header(io)}
${main1d(`${base('i')}
  var acc = 0.0;
  for (var j = 0u; j < pu(1u); j++) {
  ${red('j')}
    acc += X[o0];
  }
  Y[i] = acc;`)}`;
  }
  return `${header(io)}${treeFns(size, [['sum', 'sum']])}
${mainRows(size, 0, `${base('row')}
  var acc = 0.0;
  for (var j = lid; j < pu(1u); j += ${size}u) {
  ${red('j')}
    acc += X[o0];
  }
  let s = wg_sum(acc, lid);
  if (lid == 0u) { Y[row] = s; }`)}`;
}

/** Row r of [outer, len, inner] starts at (r / inner)·len·inner + r % inner with stride inner. */
const ROW_BASE = `  let len = pu(1u); let inner = pu(2u);
  let base = (R / inner) * len * inner + R % inner;`;

/** params: [rows, len, inner]. Thread-per-row for short rows (e.g. softmax over 3 classes), else workgroup-per-row. */
export function softmaxKernel(log: boolean, perThread: boolean, size: number): string {
  const io = header([{ name: 'X', access: 'read' }, { name: 'Y', access: 'rw' }]);
  const write = log ? 'X[k] - mx - log(s)' : 'exp(X[k] - mx) / s';
  if (perThread) {
    return `${io}
${main1d(`  let R = i;
${ROW_BASE}
  var mx = -3.402823e38;
  for (var l = 0u; l < len; l++) { mx = max(mx, X[base + l * inner]); }
  var s = 0.0;
  for (var l = 0u; l < len; l++) { s += exp(X[base + l * inner] - mx); }
  for (var l = 0u; l < len; l++) { let k = base + l * inner; Y[k] = ${write}; }`)}`;
  }
  return `${io}${treeFns(size, [['max', 'max'], ['sum', 'sum']])}
${mainRows(size, 0, `  let R = row;
${ROW_BASE}
  var m = -3.402823e38;
  for (var l = lid; l < len; l += ${size}u) { m = max(m, X[base + l * inner]); }
  let mx = wg_max(m, lid);
  var a = 0.0;
  for (var l = lid; l < len; l += ${size}u) { a += exp(X[base + l * inner] - mx); }
  let s = wg_sum(a, lid);
  for (var l = lid; l < len; l += ${size}u) { let k = base + l * inner; Y[k] = ${write}; }`)}`;
}

/** dx from y = (log)softmax(x) and g. params: [rows, len, inner]. */
export function softmaxBackwardKernel(log: boolean, perThread: boolean, size: number): string {
  const io = header([{ name: 'Yv', access: 'read' }, { name: 'G', access: 'read' }, { name: 'D', access: 'rw' }]);
  const term = log ? 'G[k]' : 'G[k] * Yv[k]';
  const write = log ? 'G[k] - exp(Yv[k]) * dot' : 'Yv[k] * (G[k] - dot)';
  if (perThread) {
    return `${io}
${main1d(`  let R = i;
${ROW_BASE}
  var dot = 0.0;
  for (var l = 0u; l < len; l++) { let k = base + l * inner; dot += ${term}; }
  for (var l = 0u; l < len; l++) { let k = base + l * inner; D[k] = ${write}; }`)}`;
  }
  return `${io}${treeFns(size, [['sum', 'sum']])}
${mainRows(size, 0, `  let R = row;
${ROW_BASE}
  var a = 0.0;
  for (var l = lid; l < len; l += ${size}u) { let k = base + l * inner; a += ${term}; }
  let dot = wg_sum(a, lid);
  for (var l = lid; l < len; l += ${size}u) { let k = base + l * inner; D[k] = ${write}; }`)}`;
}

/** Two-pass mean/variance per contiguous row. params: [rows, len, eps]. Writes xhat and rstd. */
export function normalizeKernel(size: number): string {
  return `${header([{ name: 'X', access: 'read' }, { name: 'Y', access: 'rw' }, { name: 'Rs', access: 'rw' }])}${treeFns(size, [['mean', 'sum'], ['var', 'sum']])}
${mainRows(size, 0, `  let len = pu(1u); let eps = pf(2u);
  let base = row * len;
  var a = 0.0;
  for (var l = lid; l < len; l += ${size}u) { a += X[base + l]; }
  let mean = wg_mean(a, lid) / f32(len);
  var v = 0.0;
  for (var l = lid; l < len; l += ${size}u) { let d = X[base + l] - mean; v += d * d; }
  let rstd = inverseSqrt(wg_var(v, lid) / f32(len) + eps);
  for (var l = lid; l < len; l += ${size}u) { Y[base + l] = (X[base + l] - mean) * rstd; }
  if (lid == 0u) { Rs[row] = rstd; }`)}`;
}

/** dx = rstd·(g − mean(g) − xhat·mean(g·xhat)) per row. params: [rows, len]. */
export function normalizeBackwardKernel(size: number): string {
  return `${header([{ name: 'Xh', access: 'read' }, { name: 'Rs', access: 'read' }, { name: 'G', access: 'read' }, { name: 'D', access: 'rw' }])}${treeFns(size, [['g', 'sum'], ['gx', 'sum']])}
${mainRows(size, 0, `  let len = pu(1u);
  let base = row * len;
  var a = 0.0;
  var b = 0.0;
  for (var l = lid; l < len; l += ${size}u) { let g = G[base + l]; a += g; b += g * Xh[base + l]; }
  let mg = wg_g(a, lid) / f32(len);
  let mgx = wg_gx(b, lid) / f32(len);
  let r = Rs[row];
  for (var l = lid; l < len; l += ${size}u) { D[base + l] = r * (G[base + l] - mg - Xh[base + l] * mgx); }`)}`;
}
