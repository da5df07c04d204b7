/**
 * What a forward pass can be told: training mode (dropout), and hooks by MONAI module name so
 * that PEFT methods and debugging can change a layer without forking the model.
 *
 * Ownership: tensors returned by `param` are borrowed (the model never disposes them); tensors
 * returned by `linear` and `leakyRelu` are new results the model owns like any op output.
 */
import { add, leakyRelu, linear, mul, uniformStream, type Engine, type Tensor } from '../engine';
import type { ParamSet } from './params';

/** MONAI's LeakyReLU slope in UnetResBlock / UnetBasicBlock. */
export const LEAKY_SLOPE = 0.01;

export interface LeakyReluCall {
  /** 0-based ordinal of this call in forward order (fixtures' `kinks.per_call[].call_ordinal`). */
  readonly ordinal: number;
  /** The module whose `lrelu` this is, e.g. `decoder3.conv_block.lrelu`. */
  readonly module: string;
}

export interface ForwardOptions {
  /** Dropout and stochastic depth active (MONAI `model.train()`); default false (`model.eval()`). */
  training?: boolean;
  /** Seed of the dropout masks of this forward pass (host RNG, so both backends drop the same elements). */
  seed?: number;
  /** Supplies a parameter in place of the stored one (e.g. LoRA-PT's W_res + P); undefined = stored. */
  param?: (name: string) => Tensor | undefined;
  /**
   * Replaces an nn.Linear given its module name (e.g. `swinViT.layers1.0.blocks.0.attn.qkv`),
   * input [..., in] and the (possibly substituted) weight and bias; undefined = plain linear.
   */
  linear?: (module: string, x: Tensor, weight: Tensor, bias: Tensor | null) => Tensor | undefined;
  /** Replaces a LeakyReLU call (a debug hook: e.g. pin near-kink elements to a reference's sign). */
  leakyRelu?: (x: Tensor, call: LeakyReluCall) => Tensor | undefined;
  /** Observes named intermediates (`vit.blocks.3`, `encoder4`, `swinViT.hidden_states_out.2` …); the tensor is borrowed. */
  tap?: (name: string, t: Tensor) => void;
  /**
   * Upper bound on the elements of one attention-score tensor; window attention is computed in
   * chunks of windows below it. Default 2^23 (capped by the backend's per-tensor limit).
   */
  attentionChunkElements?: number;
}

/** 2^23 float32 = 32 MiB per score tensor: few enough dispatches, small enough for any binding limit. */
const DEFAULT_ATTENTION_CHUNK = 2 ** 23;

/** Per-forward state: parameter lookup through the hooks, LeakyReLU ordinals, the dropout stream. */
export class ForwardContext {
  private leakyCalls = 0;
  private readonly rng: () => number;
  constructor(
    readonly engine: Engine,
    private readonly params: ParamSet,
    readonly opts: ForwardOptions,
  ) {
    this.rng = uniformStream(opts.seed ?? 0);
  }

  get training(): boolean {
    return this.opts.training ?? false;
  }

  /** The parameter named `name` (or its substitute from `opts.param`). */
  p(name: string): Tensor {
    return this.opts.param?.(name) ?? this.params.get(name);
  }

  /** Linear layer `module` (weight `module.weight`, optional `module.bias`). */
  linear(module: string, x: Tensor, hasBias: boolean): Tensor {
    const w = this.p(`${module}.weight`);
    const b = hasBias ? this.p(`${module}.bias`) : null;
    return this.opts.linear?.(module, x, w, b) ?? linear(x, w, b);
  }

  leakyRelu(module: string, x: Tensor): Tensor {
    const call = { ordinal: this.leakyCalls++, module };
    return this.opts.leakyRelu?.(x, call) ?? leakyRelu(x, LEAKY_SLOPE);
  }

  tap(name: string, t: Tensor): void {
    this.opts.tap?.(name, t);
  }

  attentionChunk(maxElements: number): number {
    return Math.min(this.opts.attentionChunkElements ?? DEFAULT_ATTENTION_CHUNK, maxElements);
  }

  /**
   * Inverted dropout (torch nn.Dropout in training mode): keep with probability 1 − rate and
   * scale kept elements by 1/(1 − rate). Identity when not training or rate = 0.
   */
  dropout(x: Tensor, rate: number): Tensor {
    if (!this.training || rate === 0) return x;
    if (rate >= 1) return mul(x, this.engine.zeros([1]));
    const keep = 1 / (1 - rate);
    const m = new Float64Array(x.size);
    for (let i = 0; i < m.length; i++) m[i] = this.rng() < rate ? 0 : keep;
    return mul(x, this.engine.tensor(m, x.shape, { name: 'dropout mask' }));
  }

  /**
   * Stochastic depth (MONAI DropPath): zero a whole sample's residual branch with probability
   * `rate`, scale survivors by 1/(1 − rate). x is [B, ...].
   */
  dropPath(x: Tensor, rate: number): Tensor {
    if (!this.training || rate === 0) return x;
    const B = x.shape[0];
    const m = new Float64Array(B);
    for (let i = 0; i < B; i++) m[i] = this.rng() < rate ? 0 : 1 / (1 - rate);
    return mul(x, this.engine.tensor(m, [B, ...x.shape.slice(1).map(() => 1)], { name: 'drop-path mask' }));
  }

  /** a + b where b is a residual branch (kept for symmetry with MONAI's `x + drop_path(f(x))`). */
  residual(a: Tensor, branch: Tensor, dropPathRate: number): Tensor {
    return add(a, this.dropPath(branch, dropPathRate));
  }
}
