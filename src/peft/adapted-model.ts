/**
 * A model with a PEFT method attached: the method's trainable tensors, the base parameters it
 * leaves trainable, and a forward pass that materialises the method's weights (W_res + P, W +
 * s·BA, …) and hooks for that pass. The model itself is unchanged (its stored weights stay the
 * pretrained ones); everything the method adds goes through `ForwardOptions.param/linear`.
 */
import { tidy, type Tensor } from '../engine';
import type { ForwardOptions } from '../models/context';
import type { SegmentationModel } from '../models/model';

/** A host copy of a tensor (float32, C order). */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
export type HostTensors = ReadonlyMap<string, HostTensor>;

/** The hooks one forward pass uses. */
export type ForwardHooks = Pick<ForwardOptions, 'param' | 'linear'>;

/** A method bound to a model on an engine. */
export interface MethodAdapter {
  /** The method's own trainable tensors by name (factors, adapters), in a fixed order. */
  readonly params: ReadonlyMap<string, Tensor>;
  /**
   * Frozen values recorded at initialisation that merging needs to rebuild the frozen part from
   * the base weights (LoRA-PT's initial factors, PiSSA/HyPS's A₀ and B₀); empty for LoRA.
   */
  readonly init: HostTensors;
  /** This pass's weights and hooks. Call inside a `tidy`: materialised weights are temporaries. */
  hooks(): ForwardHooks;
  dispose(): void;
}

export async function toHost(t: Tensor): Promise<HostTensor> {
  return { shape: [...t.shape], data: Float32Array.from(await t.data()) };
}

export class AdaptedModel {
  constructor(
    readonly model: SegmentationModel,
    /** null for methods that only change which base parameters train (full, decoder-only). */
    readonly adapter: MethodAdapter | null,
  ) {}

  /** Logits with the method's weights in place; the caller owns the result (and its graph). */
  forward(x: Tensor, opts: ForwardOptions = {}): Tensor {
    const adapter = this.adapter;
    if (!adapter) return this.model.forward(x, opts);
    return tidy(() => this.model.forward(x, { ...opts, ...adapter.hooks() }));
  }

  /**
   * Every tensor the optimiser updates: the method's tensors (those `only` selects by name, when
   * given), then trainable base parameters.
   */
  trainable(only?: (name: string) => boolean): Tensor[] {
    const method = [...(this.adapter?.params ?? [])].filter(([name]) => !only || only(name)).map(([, t]) => t);
    return [...method, ...this.model.params.trainable()];
  }

  /** The exact number of trainable scalars. */
  trainableCount(): number {
    return this.trainable().reduce((a, t) => a + t.size, 0);
  }

  /** Host copies of every trainable tensor, by name (method tensors, then base parameters by MONAI name). */
  async trainedState(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const [name, t] of this.adapter?.params ?? []) out.set(name, await toHost(t));
    for (const [name, t] of this.model.params.entries()) if (t.requiresGrad) out.set(name, await toHost(t));
    return out;
  }

  dispose(): void {
    this.adapter?.dispose();
  }
}
