/**
 * Shared WGSL scaffolding. Every kernel binds its parameters as one uniform block of u32 words
 * (`pu(i)`, `pf(i)` reads a float via bitcast) at binding 0, then storage buffers in order.
 */

/** Threads per workgroup for 1-D kernels: WebGPU's default limit, and the Vulkan SwiftShader lane's maximum. */
export const WG = 256;
/** Uniform words per dispatch (one 256-byte slot of the uniform ring). */
export const PARAM_WORDS = 64;

export interface Binding {
  name: string;
  /** 'read' for inputs, 'rw' for outputs. */
  access: 'read' | 'rw';
  type?: 'f32' | 'i32';
}

export function header(bindings: readonly Binding[]): string {
  const decl = bindings
    .map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access === 'rw' ? 'read_write' : 'read'}> ${b.name}: array<${b.type ?? 'f32'}>;`)
    .join('\n');
  return `struct Params { u: array<vec4<u32>, ${PARAM_WORDS / 4}> }
@group(0) @binding(0) var<uniform> params: Params;
${decl}
fn pu(i: u32) -> u32 { return params.u[i >> 2u][i & 3u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }
`;
}

/** Entry point of a 1-D kernel over `total` (param word 0) threads; 2-D grid past 65535 groups. */
export function main1d(body: string): string {
  return `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= pu(0u)) { return; }
${body}
}`;
}

/**
 * Unrolled decode of the C-order index `idx` over a rank-`rank` shape at param words
 * [shapeAt, shapeAt+rank), accumulating offsets `o_k += c·stride` with strides at `strideAt[k]`.
 * Declares `var o{k}` initialised from `init[k]`.
 */
export function decode(idx: string, rank: number, shapeAt: number, strideAt: readonly number[], init: readonly string[]): string {
  const lines = [`  var rem = ${idx};`];
  strideAt.forEach((_, k) => lines.push(`  var o${k}: u32 = ${init[k]};`));
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`  { let s = pu(${shapeAt + d}u); let c = rem % s; rem = rem / s;`);
    strideAt.forEach((at, k) => lines.push(`    o${k} += c * pu(${at + d}u);`));
    lines.push('  }');
  }
  return lines.join('\n');
}

/** Workgroup counts for `groups` 1-D groups within the per-dimension limit. */
export function grid1d(groups: number, maxPerDim: number): [number, number, number] {
  if (groups <= maxPerDim) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y, 1];
}

/** Packs kernel parameters into u32 words; floats are stored by bit pattern. */
export class Params {
  readonly words = new Uint32Array(PARAM_WORDS);
  private readonly f = new Float32Array(this.words.buffer);
  private n = 0;
  u(...vs: readonly number[]): this {
    for (const v of vs) {
      if (this.n >= PARAM_WORDS) throw new Error('kernel parameters exceed one uniform slot');
      this.words[this.n++] = v >>> 0;
    }
    return this;
  }
  f32(...vs: readonly number[]): this {
    for (const v of vs) {
      if (this.n >= PARAM_WORDS) throw new Error('kernel parameters exceed one uniform slot');
      this.f[this.n++] = v;
    }
    return this;
  }
}
