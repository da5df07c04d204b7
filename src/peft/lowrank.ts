/**
 * Low-rank updates of single Linear weights, shared by LoRA, PiSSA and HyPS's parallel branch:
 *   LoRA   W' = W + s·B·A        A [r, n] Kaiming-uniform, B [m, r] zero, s = α/r  (W frozen)
 *   PiSSA  W' = W_res + A·B      A = U_r S_r^½ [m, r], B = S_r^½ V_rᵀ [r, n], W_res = W − A₀B₀
 * The update is materialised as a dense weight each pass (m·n·r multiply–adds), which is far
 * cheaper than the factored form x·Bᵀ·Aᵀ once a layer sees more than r·(m+n)/(m·n)… tokens,
 * i.e. always for 3-D inputs.
 */
import { add, matmul, scale, uniformStream, type Engine, type Tensor } from '../engine';
import type { SegmentationModel } from '../models/model';
import type { HostTensor, HostTensors } from './adapted-model';
import { PeftConfigError } from './errors';
import { realMatrix } from './linalg/matrix';
import { truncatedSvd } from './linalg/svd';
import { targetLinears, type LinearTarget } from './targets';

/** Host values of one parameter of the model (float32 on webgpu, float64 on cpu). */
export async function readParam(model: SegmentationModel, name: string): Promise<Float32Array | Float64Array> {
  return model.params.get(name).data();
}

/**
 * PiSSA's split of W [m, n]: A = U_r S_r^½, B = S_r^½ V_rᵀ from the float64 SVD of W, sign
 * convention of the fixtures (largest-|·| entry of each U column positive), rounded to float32.
 */
export function principalFactors(w: ArrayLike<number>, m: number, n: number, r: number, what: string): { a: HostTensor; b: HostTensor } {
  const svd = truncatedSvd(realMatrix(m, n, w), r, { what });
  const a = new Float32Array(m * r);
  const b = new Float32Array(r * n);
  for (let c = 0; c < r; c++) {
    const h = Math.sqrt(svd.s[c]);
    for (let i = 0; i < m; i++) a[i * r + c] = svd.u.re[i * r + c] * h;
    for (let j = 0; j < n; j++) b[c * n + j] = svd.v.re[j * r + c] * h;
  }
  return { a: { shape: [m, r], data: a }, b: { shape: [r, n], data: b } };
}

/** W − A·B in float64 (A [m, r], B [r, n]). */
export function subtractProduct(w: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, r: number): Float64Array {
  const out = Float64Array.from(w);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < r; c++) {
      const aic = a[i * r + c];
      for (let j = 0; j < n; j++) out[i * n + j] -= aic * b[c * n + j];
    }
  }
  return out;
}

/** Kaiming-uniform with torch's a = √5 (nn.Linear's default): U(−1/√fanIn, 1/√fanIn), from a seeded host stream. */
export function kaimingUniform(count: number, fanIn: number, seed: number): Float32Array {
  const u = uniformStream(seed);
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * u() - 1) * bound;
  return out;
}

export function expectShape(t: HostTensor | undefined, name: string, shape: readonly number[], what: string): HostTensor {
  if (!t) throw new PeftConfigError(`${what}: tensor "${name}" is missing`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new PeftConfigError(`${what}: tensor "${name}" has shape [${t.shape}], this model needs [${shape}]`);
  }
  return t;
}

/** The PiSSA parallel part of every target Linear on the engine: trainable A, B; frozen W_res. */
export class PrincipalBranches {
  readonly params = new Map<string, Tensor>();
  private readonly layers: { target: LinearTarget; a: Tensor; b: Tensor; residual: Tensor }[] = [];

  /**
   * `init` holds `<module>.A`, `<module>.B` as initialised (W_res = W − A₀B₀ in float64 from the
   * model's weights); `current` the values to train from (default `init`).
   */
  constructor(model: SegmentationModel, targets: readonly LinearTarget[], weights: ReadonlyMap<string, ArrayLike<number>>, init: HostTensors, current: HostTensors, what: string) {
    const engine = model.engine;
    try {
      for (const t of targets) {
        const r = init.get(`${t.module}.A`)?.shape[1] ?? 0;
        const a0 = expectShape(init.get(`${t.module}.A`), `${t.module}.A`, [t.m, r], what);
        const b0 = expectShape(init.get(`${t.module}.B`), `${t.module}.B`, [r, t.n], what);
        const a = expectShape(current.get(`${t.module}.A`), `${t.module}.A`, [t.m, r], what);
        const b = expectShape(current.get(`${t.module}.B`), `${t.module}.B`, [r, t.n], what);
        const w = weights.get(t.weight);
        if (!w) throw new PeftConfigError(`${what}: no weight for ${t.weight}`);
        const residual = engine.tensor(subtractProduct(w, a0.data, b0.data, t.m, t.n, r), [t.m, t.n], { name: `${t.weight} (W_res)`, untracked: true });
        const pa = engine.param(a.data, [t.m, r], `${t.module}.A`);
        const pb = engine.param(b.data, [r, t.n], `${t.module}.B`);
        this.layers.push({ target: t, a: pa, b: pb, residual });
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The layers' parameters in order A, B per layer (`extra` inserts more per layer after them). */
  register(extra: (module: string) => [string, Tensor][] = () => []): void {
    for (const l of this.layers) {
      this.params.set(`${l.target.module}.A`, l.a);
      this.params.set(`${l.target.module}.B`, l.b);
      for (const [n, t] of extra(l.target.module)) this.params.set(n, t);
    }
  }

  /** W_res + A·B per weight name, for one pass. */
  weights(): Map<string, Tensor> {
    return new Map(this.layers.map((l) => [l.target.weight, add(l.residual, matmul(l.a, l.b))]));
  }

  dispose(): void {
    for (const l of this.layers) for (const t of [l.a, l.b, l.residual]) t.dispose();
    this.layers.length = 0;
    this.params.clear();
  }
}

/** Host weights of the target Linears. */
export async function targetWeights(model: SegmentationModel, targets: readonly LinearTarget[]): Promise<Map<string, Float32Array | Float64Array>> {
  const out = new Map<string, Float32Array | Float64Array>();
  for (const t of targets) out.set(t.weight, await readParam(model, t.weight));
  return out;
}

/** PiSSA/HyPS initial factors `<module>.A`, `<module>.B` for every target of the model. */
export async function computePrincipalInit(model: SegmentationModel, r: number, what: string): Promise<Map<string, HostTensor>> {
  const targets = targetLinears(model);
  const out = new Map<string, HostTensor>();
  for (const t of targets) {
    const { a, b } = principalFactors(await readParam(model, t.weight), t.m, t.n, r, `${what} ${t.weight}`);
    out.set(`${t.module}.A`, a);
    out.set(`${t.module}.B`, b);
  }
  return out;
}

/** LoRA's update ΔW = s·B·A for every target: A [r, n] Kaiming-uniform, B [m, r] zero at initialisation. */
export class LoraBranches {
  readonly params = new Map<string, Tensor>();
  private readonly layers: { target: LinearTarget; a: Tensor; b: Tensor }[] = [];
  constructor(
    engine: Engine,
    targets: readonly LinearTarget[],
    current: HostTensors,
    readonly scaling: number,
    what: string,
  ) {
    try {
      for (const t of targets) {
        const r = current.get(`${t.module}.lora_A`)?.shape[0] ?? 0;
        const a = expectShape(current.get(`${t.module}.lora_A`), `${t.module}.lora_A`, [r, t.n], what);
        const b = expectShape(current.get(`${t.module}.lora_B`), `${t.module}.lora_B`, [t.m, r], what);
        const pa = engine.param(a.data, [r, t.n], `${t.module}.lora_A`);
        const pb = engine.param(b.data, [t.m, r], `${t.module}.lora_B`);
        this.layers.push({ target: t, a: pa, b: pb });
        this.params.set(`${t.module}.lora_A`, pa);
        this.params.set(`${t.module}.lora_B`, pb);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** W + s·B·A per weight name (W the frozen weight `base` gives: a model's parameter, SAM's image encoder's). */
  weights(base: (name: string) => Tensor): Map<string, Tensor> {
    return new Map(this.layers.map((l) => [l.target.weight, add(base(l.target.weight), scale(matmul(l.b, l.a), this.scaling))]));
  }

  dispose(): void {
    for (const l of this.layers) for (const t of [l.a, l.b]) t.dispose();
    this.layers.length = 0;
    this.params.clear();
  }
}

/** LoRA's initial tensors: A Kaiming-uniform (seeded per layer), B zero. */
export function loraInit(targets: readonly LinearTarget[], r: number, seed: number): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  targets.forEach((t, i) => {
    out.set(`${t.module}.lora_A`, { shape: [r, t.n], data: kaimingUniform(r * t.n, t.n, seed + 7919 * i) });
    out.set(`${t.module}.lora_B`, { shape: [t.m, r], data: new Float32Array(t.m * r) });
  });
  return out;
}
