/**
 * The low-rank baselines on the same encoder Linears as HyPS / LoRA-PT (targets.ts):
 * - LoRA: W' = W + (α/r)·B·A, A [r, n] Kaiming-uniform, B [m, r] zero (so step 0 is the base model);
 * - PiSSA: W' = W_res + A·B with A, B the principal singular factors (W_res = W − A₀B₀).
 * Parameters per layer: LoRA `<module>.lora_A`, `.lora_B` (peft's names); PiSSA `<module>.A`, `.B`.
 */
import type { Tensor } from '../engine';
import type { SegmentationModel } from '../models/model';
import type { ForwardHooks, HostTensors, MethodAdapter } from './adapted-model';
import { LoraBranches, PrincipalBranches, targetWeights } from './lowrank';
import { targetLinears } from './targets';

export class LoraAdapter implements MethodAdapter {
  readonly init: HostTensors = new Map();
  private constructor(
    private readonly model: SegmentationModel,
    private readonly branches: LoraBranches,
  ) {}

  get params(): ReadonlyMap<string, Tensor> {
    return this.branches.params;
  }

  /** `current` holds every layer's lora_A and lora_B (see `loraInit`); scaling = α/r. */
  static attach(model: SegmentationModel, current: HostTensors, scaling: number): LoraAdapter {
    return new LoraAdapter(model, new LoraBranches(model.engine, targetLinears(model), current, scaling, 'LoRA'));
  }

  hooks(): ForwardHooks {
    const w = this.branches.weights((n) => this.model.params.get(n));
    return { param: (name) => w.get(name) };
  }

  dispose(): void {
    this.branches.dispose();
  }
}

export class PissaAdapter implements MethodAdapter {
  private constructor(
    private readonly branches: PrincipalBranches,
    readonly init: HostTensors,
  ) {
    branches.register();
  }

  get params(): ReadonlyMap<string, Tensor> {
    return this.branches.params;
  }

  /** `init` holds A₀, B₀ per layer (see `computePrincipalInit`); `current` the values to train from. */
  static async attach(model: SegmentationModel, init: HostTensors, current: HostTensors = init): Promise<PissaAdapter> {
    const targets = targetLinears(model);
    const weights = await targetWeights(model, targets);
    return new PissaAdapter(new PrincipalBranches(model, targets, weights, init, current, 'PiSSA'), init);
  }

  hooks(): ForwardHooks {
    const w = this.branches.weights();
    return { param: (name) => w.get(name) };
  }

  dispose(): void {
    this.branches.dispose();
  }
}
