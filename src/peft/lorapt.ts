/**
 * LoRA-PT on UNETR (peft-methods.md §2, working form §2.8): the ViT's Linear weights are
 * stacked into three third-order tensors (targets.ts), each split by t-SVD into a frozen
 * residual and principal factors Ur, Sr, Vr of tubal rank r. Every training step rebuilds the
 * layer weights as W = W_res + (Ur * Sr) * Vrᵀ, with autograd into the factors; at step 0 that
 * is the pretrained weight (W_res is defined as T − P₀).
 *
 * Engine layout per tensor: the factors are parameters `<tensor>.Ur` (n3, n1, r), `.Sr`
 * (n3, r, r), `.Vr` (n3, n2, r) (the fixtures' names); W_res is kept per layer weight, because
 * each layer weight is a contiguous run of slices (qkv = the three slices Q, K, V).
 */
import { add, keep, noGrad, reshape, sub, type Engine, type IndexTensor, type Tensor } from '../engine';
import type { SegmentationModel } from '../models/model';
import { type ForwardHooks, type HostTensor, type HostTensors, type MethodAdapter } from './adapted-model';
import { PeftConfigError } from './errors';
import { checkRank } from './linalg/svd';
import { defaultSvdPool } from './linalg/svd-pool';
import { circulantIndex, tproductOp, tproductTransposedSlices, unfoldLeft } from './tproduct';
import { principalTSVD, type TsvdOptions } from './tsvd';
import { LORAPT_TENSORS, loraptTensorSpecs, slicesByParam, type LoraptTensorName, type LoraptTensorSpec } from './targets';

export type LoraptRanks = Readonly<Record<LoraptTensorName, number>>;

export const DEFAULT_LORAPT_RANK = 1;

export const factorNames = (t: LoraptTensorName) => [`${t}.Ur`, `${t}.Sr`, `${t}.Vr`] as const;

/** Trainable scalars of one tensor: n3·r·(n1 + n2 + r) (Ur, full r×r Sr, Vr). */
export function loraptTensorCount(spec: LoraptTensorSpec, r: number): number {
  return spec.slices.length * r * (spec.n1 + spec.n2 + r);
}

export function checkLoraptRanks(specs: readonly LoraptTensorSpec[], ranks: LoraptRanks): void {
  for (const s of specs) checkRank(ranks[s.name], s.n1, s.n2, `LoRA-PT ${s.name} (${s.slices.length} slices of ${s.n1}×${s.n2})`);
}

interface Group {
  /** The layer weight this run of slices forms. */
  readonly param: string;
  readonly rows: number;
  readonly cols: number;
  /** Circulant gather for these slices of A * Vᵀ. */
  readonly index: IndexTensor;
  /** Frozen residual [rows, cols] for this weight. */
  residual: Tensor | null;
}

interface TensorState {
  readonly spec: LoraptTensorSpec;
  readonly r: number;
  readonly ur: Tensor;
  readonly sr: Tensor;
  readonly vr: Tensor;
  /** Circulant gather of all slices (for Ur * Sr). */
  readonly all: IndexTensor;
  readonly groups: Group[];
}

/** Factors Ur, Sr, Vr by tensor as host arrays, named like the fixtures (`W_sa.Ur`, …). */
export type LoraptFactors = HostTensors;

/**
 * Computes the principal factors of a UNETR's three tensors from its current weights
 * (float32-rounded). Without `opts.pool`, one `defaultSvdPool()` serves the three tensors.
 */
export async function computeLoraptFactors(model: SegmentationModel, ranks: LoraptRanks, opts: TsvdOptions = {}): Promise<Map<string, HostTensor>> {
  const specs = loraptTensorSpecs(model);
  checkLoraptRanks(specs, ranks);
  const pool = opts.pool ?? defaultSvdPool();
  try {
    return await factorsOf(model, specs, ranks, { ...opts, pool });
  } finally {
    if (!opts.pool) pool.dispose();
  }
}

async function factorsOf(model: SegmentationModel, specs: readonly LoraptTensorSpec[], ranks: LoraptRanks, opts: TsvdOptions): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const spec of specs) {
    const weights = new Map<string, Float32Array | Float64Array>();
    for (const s of spec.slices) if (!weights.has(s.param)) weights.set(s.param, await model.params.get(s.param).data());
    const slices = spec.slices.map((s) => weights.get(s.param)!.subarray(s.rows[0] * spec.n2, s.rows[1] * spec.n2));
    const r = ranks[spec.name];
    const f = await principalTSVD(slices, spec.n1, spec.n2, r, { ...opts, what: `LoRA-PT ${spec.name}` });
    const [u, s, v] = factorNames(spec.name);
    const n3 = spec.slices.length;
    out.set(u, { shape: [n3, spec.n1, r], data: Float32Array.from(f.ur.data) });
    out.set(s, { shape: [n3, r, r], data: Float32Array.from(f.sr.data) });
    out.set(v, { shape: [n3, spec.n2, r], data: Float32Array.from(f.vr.data) });
  }
  return out;
}

function factor(factors: HostTensors, name: string, shape: readonly number[]): HostTensor {
  const f = factors.get(name);
  if (!f) throw new PeftConfigError(`LoRA-PT: factor "${name}" is missing`);
  if (f.shape.length !== shape.length || f.shape.some((d, i) => d !== shape[i])) {
    throw new PeftConfigError(`LoRA-PT: factor "${name}" has shape [${f.shape}], this model needs [${shape}]`);
  }
  return f;
}

/** The rank each tensor's factors carry (from Sr's shape). */
export function ranksOf(factors: HostTensors): LoraptRanks {
  const r = {} as Record<LoraptTensorName, number>;
  for (const t of LORAPT_TENSORS) {
    const s = factors.get(`${t}.Sr`);
    if (!s) throw new PeftConfigError(`LoRA-PT: factor "${t}.Sr" is missing`);
    r[t] = s.shape[1];
  }
  return r;
}

export class LoraptAdapter implements MethodAdapter {
  readonly params: ReadonlyMap<string, Tensor>;
  private constructor(
    private readonly states: TensorState[],
    readonly init: HostTensors,
  ) {
    this.params = new Map(states.flatMap((s) => factorNames(s.spec.name).map((n, i) => [n, [s.ur, s.sr, s.vr][i]] as const)));
  }

  /**
   * Attaches LoRA-PT to a UNETR. `init` are the initial factors (from `computeLoraptFactors`, or
   * an adapter file); W_res = T − P(init) is formed on the engine from the model's weights, unless
   * `residuals` (by layer weight name, e.g. the fixtures' stored W_res) are given. `current`
   * factors (default: `init`) are the trainable starting point.
   */
  static attach(model: SegmentationModel, init: LoraptFactors, opts: { current?: LoraptFactors; residuals?: ReadonlyMap<string, ArrayLike<number>> } = {}): LoraptAdapter {
    const engine = model.engine;
    const specs = loraptTensorSpecs(model);
    const ranks = ranksOf(init);
    checkLoraptRanks(specs, ranks);
    const states: TensorState[] = [];
    try {
      for (const spec of specs) states.push(makeState(engine, spec, ranks[spec.name], init, opts.current ?? init));
      for (const st of states) {
        for (const g of st.groups) {
          const given = opts.residuals?.get(g.param);
          if (given) {
            if (given.length !== g.rows * g.cols) throw new PeftConfigError(`LoRA-PT: residual for "${g.param}" has ${given.length} values, expected ${g.rows}×${g.cols}`);
            g.residual = engine.tensor(given, [g.rows, g.cols], { name: `${g.param} (W_res)`, untracked: true });
          }
        }
      }
      residualsFromInit(engine, model, states, init);
    } catch (e) {
      disposeStates(states);
      throw e;
    }
    const initCopy = new Map<string, HostTensor>();
    for (const st of states) for (const n of factorNames(st.spec.name)) initCopy.set(n, init.get(n)!);
    return new LoraptAdapter(states, initCopy);
  }

  /** Layer weights W_res + P for this pass, by parameter name (differentiable in the factors). */
  weights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const st of this.states) {
      const left = unfoldLeft(tproductOp(st.ur, st.sr, st.all));
      for (const g of st.groups) {
        const p = reshape(tproductTransposedSlices(left, st.vr, g.index), [g.rows, g.cols]);
        out.set(g.param, add(g.residual!, p));
      }
    }
    return out;
  }

  hooks(): ForwardHooks {
    const w = this.weights();
    return { param: (name) => w.get(name) };
  }

  dispose(): void {
    disposeStates(this.states);
  }
}

function makeState(engine: Engine, spec: LoraptTensorSpec, r: number, init: HostTensors, current: HostTensors): TensorState {
  const n3 = spec.slices.length;
  const [un, sn, vn] = factorNames(spec.name);
  // Validate the init factors' shapes too: W_res is built from them.
  factor(init, un, [n3, spec.n1, r]);
  factor(init, sn, [n3, r, r]);
  factor(init, vn, [n3, spec.n2, r]);
  const ur = engine.param(factor(current, un, [n3, spec.n1, r]).data, [n3, spec.n1, r], un);
  const sr = engine.param(factor(current, sn, [n3, r, r]).data, [n3, r, r], sn);
  const vr = engine.param(factor(current, vn, [n3, spec.n2, r]).data, [n3, spec.n2, r], vn);
  const all = engine.index(circulantIndex(n3, false), `${spec.name} circulant`);
  const groups = slicesByParam(spec).map(({ param, first, count }) => ({
    param,
    rows: count * spec.n1,
    cols: spec.n2,
    index: engine.index(circulantIndex(n3, true, Array.from({ length: count }, (_, i) => first + i)), `${param} circulant`),
    residual: null,
  }));
  return { spec, r, ur, sr, vr, all, groups };
}

/** W_res = T − P(init) for every group without a given residual, evaluated without autograd. */
function residualsFromInit(engine: Engine, model: SegmentationModel, states: TensorState[], init: HostTensors): void {
  noGrad(() => {
    for (const st of states) {
      if (st.groups.every((g) => g.residual)) continue;
      const [un, sn, vn] = factorNames(st.spec.name);
      const t = (n: string) => engine.tensor(init.get(n)!.data, init.get(n)!.shape, { name: `${n} (init)` });
      const u0 = t(un);
      const s0 = t(sn);
      const v0 = t(vn);
      const c = tproductOp(u0, s0, st.all);
      const left = unfoldLeft(c);
      for (const g of st.groups) {
        if (g.residual) continue;
        const p = tproductTransposedSlices(left, v0, g.index);
        const p2 = reshape(p, [g.rows, g.cols]);
        // The residual lives as long as the adapter, beyond any enclosing tidy.
        g.residual = keep(sub(model.params.get(g.param), p2));
        p.dispose();
        p2.dispose();
      }
      for (const x of [u0, s0, v0, c, left]) x.dispose();
    }
  });
}

function disposeStates(states: TensorState[]): void {
  for (const st of states) {
    for (const t of [st.ur, st.sr, st.vr]) t.dispose();
    st.all.dispose();
    for (const g of st.groups) {
      g.index.dispose();
      g.residual?.dispose();
    }
  }
}

