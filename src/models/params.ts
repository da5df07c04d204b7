/**
 * A model's parameters: MONAI state-dict names → engine tensors, in the registration order of
 * MONAI's `named_parameters()` (so optimiser state and PEFT tensorisation can iterate it), and
 * the rules for filling them from a weight source.
 *
 * Loading rules (what `loadParams` accepts):
 * 1. Every parameter of the configuration must be present, float32, with exactly its shape;
 *    otherwise the error names the tensor (and, for a missing one, a similar name the source has).
 * 2. Ignored by rule, because MONAI registers them but the model never reads them:
 *    - `vit.blocks.<i>.norm_cross_attn.*` and `vit.blocks.<i>.cross_attn.*` (MONAI ≥ 1.4
 *      `TransformerBlock` always registers cross-attention; UNETR never uses it);
 *    - `*.relative_position_index` (Swin buffers; we compute the same index from the window size);
 *    - non-float tensors and ONNX-generated names (containing `::` or starting with `/`).
 * 3. A leading `module.` (torch DataParallel) on every name is stripped.
 * 4. Any other tensor the configuration does not use is an error ("unexpected tensor"): it means
 *    the configuration and the weights disagree (e.g. 16 transformer blocks given to a 12-block model).
 */
import { randnArray, uniformStream, type Engine, type Tensor } from '../engine';
import { WeightsError } from './errors';
import type { WeightInfo, WeightSource } from './weights';

/** How a parameter is initialised when no weights are given (benchmarks, training from scratch). */
export type ParamInit =
  | 'fanIn' // weights: U(−1/√fanIn, 1/√fanIn), torch's default bound for Linear/Conv
  | 'zeros' // biases, LayerNorm bias
  | 'ones' // LayerNorm weight
  | 'normal02'; // N(0, 0.02²): position embeddings, relative-position tables (MONAI uses trunc_normal std 0.02)

export interface ParamSpec {
  /** MONAI state-dict name, e.g. `vit.blocks.3.attn.qkv.weight`. */
  readonly name: string;
  /** torch layout: Linear [out, in], Conv3d [Co, Ci, k, k, k], ConvTranspose3d [Ci, Co, k, k, k]. */
  readonly shape: readonly number[];
  readonly init: ParamInit;
  /** Elements that share one input (the fan-in) for 'fanIn'. */
  readonly fanIn?: number;
}

/** Parameters by name, in MONAI registration order. Owns its tensors. */
export class ParamSet {
  private readonly map: Map<string, Tensor>;
  constructor(entries: Iterable<readonly [string, Tensor]>) {
    this.map = new Map(entries);
  }
  get names(): string[] {
    return [...this.map.keys()];
  }
  get size(): number {
    return this.map.size;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  /** The tensor named `name`; throws naming it when the model has no such parameter. */
  get(name: string): Tensor {
    const t = this.map.get(name);
    if (!t) throw new WeightsError(`the model has no parameter "${name}"`);
    return t;
  }
  entries(): IterableIterator<[string, Tensor]> {
    return this.map.entries();
  }
  /** All tensors in registration order (e.g. for an optimiser). */
  tensors(): Tensor[] {
    return [...this.map.values()];
  }
  /** The tensors that receive gradients. */
  trainable(): Tensor[] {
    return this.tensors().filter((t) => t.requiresGrad);
  }
  /** Total element count. */
  count(): number {
    let n = 0;
    for (const t of this.map.values()) n += t.size;
    return n;
  }
  dispose(): void {
    for (const t of this.map.values()) t.dispose();
    this.map.clear();
  }
}

export interface LoadOptions {
  /** Which parameters get gradients (default: all). Frozen ones are plain tensors: no grad, no backward work. */
  trainable?: (name: string) => boolean;
}

const IGNORED = [/^vit\.blocks\.\d+\.norm_cross_attn\./, /^vit\.blocks\.\d+\.cross_attn\./, /\.relative_position_index$/];
const DP_PREFIX = 'module.';

/** `name` is the source name after prefix stripping. */
function isIgnored(name: string, info: WeightInfo): boolean {
  return info.dtype !== 'float32' || name.includes('::') || name.startsWith('/') || IGNORED.some((r) => r.test(name));
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The unexpected source name most like a missing one (most leading plus trailing name parts in common). */
function similar(missing: string, unexpected: readonly string[]): string | undefined {
  const a = missing.split('.');
  let best: string | undefined;
  let bestScore = 1;
  for (const name of unexpected) {
    const b = name.split('.');
    let lead = 0;
    while (lead < a.length && lead < b.length && a[lead] === b[lead]) lead++;
    let tail = 0;
    while (tail < a.length - lead && tail < b.length - lead && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
    if (lead + tail > bestScore) {
      best = name;
      bestScore = lead + tail;
    }
  }
  return best;
}

/** Checks a source against the specs (rules above) and returns the source name for each spec. */
export function matchWeights(specs: readonly ParamSpec[], source: WeightSource, what: string): Map<string, string> {
  const infos = source.list();
  const strip = infos.length > 0 && infos.every((i) => i.name.startsWith(DP_PREFIX));
  const byName = new Map(infos.map((i) => [strip ? i.name.slice(DP_PREFIX.length) : i.name, i]));
  const out = new Map<string, string>();
  const expected = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    const info = byName.get(spec.name);
    if (!info) {
      const hint = similar(spec.name, [...byName.keys()].filter((n) => !expected.has(n)));
      throw new WeightsError(`${source.label} is missing the ${what} weight "${spec.name}" ${fmt(spec.shape)}${hint ? ` (it has "${hint}"; misnamed?)` : ''}`);
    }
    if (info.dtype !== 'float32') throw new WeightsError(`${source.label}: weight "${spec.name}" is ${info.dtype}, expected float32`);
    if (info.shape.length !== spec.shape.length || info.shape.some((d, i) => d !== spec.shape[i])) {
      throw new WeightsError(`${source.label}: weight "${spec.name}" has shape ${fmt(info.shape)}, the ${what} configuration needs ${fmt(spec.shape)}`);
    }
    out.set(spec.name, info.name);
  }
  for (const [name, info] of byName) {
    if (!expected.has(name) && !isIgnored(name, info)) {
      throw new WeightsError(`${source.label} holds "${name}" ${fmt(info.shape)}, which the ${what} configuration does not use; the weights and the configuration disagree`);
    }
  }
  return out;
}

/** Uploads the parameters named by `specs` from `source` (see the loading rules above). */
export function loadParams(engine: Engine, specs: readonly ParamSpec[], source: WeightSource, what: string, opts: LoadOptions = {}): ParamSet {
  const names = matchWeights(specs, source, what);
  const made: [string, Tensor][] = [];
  try {
    for (const spec of specs) {
      const data = source.read(names.get(spec.name)!);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new WeightsError(`${source.label}: weight "${spec.name}" holds a non-finite value (${data[i]}) at element ${i}`);
      }
      made.push([spec.name, makeParam(engine, spec, data, opts)]);
    }
  } catch (e) {
    for (const [, t] of made) t.dispose();
    throw e;
  }
  return new ParamSet(made);
}

function makeParam(engine: Engine, spec: ParamSpec, data: ArrayLike<number>, opts: LoadOptions): Tensor {
  const trainable = opts.trainable ? opts.trainable(spec.name) : true;
  return trainable ? engine.param(data, spec.shape, spec.name) : engine.tensor(data, spec.shape, { name: spec.name, untracked: true });
}

/**
 * Fresh parameters from a seed (see ParamInit). For benchmarks and for training from scratch;
 * a model with these weights is untrained and must never be presented as a working model.
 */
export function initParams(engine: Engine, specs: readonly ParamSpec[], seed: number, opts: LoadOptions = {}): ParamSet {
  return new ParamSet(
    specs.map((spec, i) => {
      const n = spec.shape.reduce((a, d) => a * d, 1);
      let data: Float64Array;
      if (spec.init === 'zeros' || spec.init === 'ones') data = new Float64Array(n).fill(spec.init === 'ones' ? 1 : 0);
      else if (spec.init === 'normal02') data = randnArray(n, seed + 7919 * i, 0.02);
      else {
        const bound = 1 / Math.sqrt(spec.fanIn ?? 1);
        const u = uniformStream(seed + 7919 * i);
        data = new Float64Array(n);
        for (let j = 0; j < n; j++) data[j] = Math.fround((2 * u() - 1) * bound);
      }
      return [spec.name, makeParam(engine, spec, data, opts)] as const;
    }),
  );
}

/** Sum of element counts of `specs` (MONAI's parameter count for the configuration). */
export function countParams(specs: readonly ParamSpec[]): number {
  return specs.reduce((a, s) => a + s.shape.reduce((b, d) => b * d, 1), 0);
}
