/**
 * HyPS (peft-methods.md §3, working form §3.7) on every encoder Linear (targets.ts): a PiSSA
 * split into frozen W_res and trainable A = U_r S_r^½, B = S_r^½ V_rᵀ (the parallel branch),
 * followed by a serial adapter on the layer's output:
 *   h = x·W_resᵀ + (x·Bᵀ)·Aᵀ + b,    y = h + (1/d)·ReLU(h·Dn)·Up
 * with Dn [m, d] Kaiming-uniform and Up [d, m] zero. The ReLU acts on activations (the released
 * code's ReLU on the zero-initialised Up weight never trains, §3.6). Parameters per layer:
 * `<module>.A`, `.B`, `.Dn`, `.Up` (the fixtures' names).
 */
import { add, linear, matmul, relu, scale, type Tensor } from '../engine';
import type { SegmentationModel } from '../models/model';
import type { ForwardHooks, HostTensor, HostTensors, MethodAdapter } from './adapted-model';
import { expectShape, kaimingUniform, PrincipalBranches, targetWeights } from './lowrank';
import { targetLinears, type LinearTarget } from './targets';

export const DEFAULT_HYPS_RANK = 2;
export const DEFAULT_HYPS_ADAPTER_DIM = 2;

/** Serial adapters' initial values: Dn Kaiming-uniform (fan-in d, torch's a = √5), Up zero. */
export function hypsSerialInit(targets: readonly LinearTarget[], d: number, seed: number): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  targets.forEach((t, i) => {
    out.set(`${t.module}.Dn`, { shape: [t.m, d], data: kaimingUniform(t.m * d, d, seed + 7919 * i) });
    out.set(`${t.module}.Up`, { shape: [d, t.m], data: new Float32Array(d * t.m) });
  });
  return out;
}

/** The serial adapter y = h + s·ReLU(h·Dn)·Up. */
export function serialAdapter(h: Tensor, dn: Tensor, up: Tensor, s: number): Tensor {
  return add(h, scale(matmul(relu(matmul(h, dn)), up), s));
}

export class HypsAdapter implements MethodAdapter {
  private readonly principal: PrincipalBranches;
  private readonly serial: Map<string, { dn: Tensor; up: Tensor }>;
  readonly scaling: number;

  private constructor(
    principal: PrincipalBranches,
    serial: Map<string, { dn: Tensor; up: Tensor }>,
    readonly adapterDim: number,
    readonly init: HostTensors,
  ) {
    this.principal = principal;
    this.serial = serial;
    this.scaling = 1 / adapterDim;
    principal.register((module) => {
      const s = serial.get(module)!;
      return [
        [`${module}.Dn`, s.dn],
        [`${module}.Up`, s.up],
      ];
    });
  }

  get params(): ReadonlyMap<string, Tensor> {
    return this.principal.params;
  }

  /**
   * `init` holds each layer's A₀, B₀ (W_res = W − A₀B₀); `current` the A, B, Dn, Up to train
   * from (every name must be present; d is read from Dn's shape).
   */
  static async attach(model: SegmentationModel, init: HostTensors, current: HostTensors): Promise<HypsAdapter> {
    const what = 'HyPS';
    const targets = targetLinears(model);
    const weights = await targetWeights(model, targets);
    const d = current.get(`${targets[0]?.module}.Dn`)?.shape[1] ?? 0;
    const serial = new Map<string, { dn: Tensor; up: Tensor }>();
    const engine = model.engine;
    const principal = new PrincipalBranches(model, targets, weights, init, current, what);
    try {
      for (const t of targets) {
        const dn = expectShape(current.get(`${t.module}.Dn`), `${t.module}.Dn`, [t.m, d], what);
        const up = expectShape(current.get(`${t.module}.Up`), `${t.module}.Up`, [d, t.m], what);
        serial.set(t.module, { dn: engine.param(dn.data, [t.m, d], `${t.module}.Dn`), up: engine.param(up.data, [d, t.m], `${t.module}.Up`) });
      }
    } catch (e) {
      principal.dispose();
      for (const s of serial.values()) [s.dn, s.up].forEach((x) => x.dispose());
      throw e;
    }
    const initAB = new Map<string, HostTensor>();
    for (const t of targets) for (const k of ['A', 'B']) initAB.set(`${t.module}.${k}`, init.get(`${t.module}.${k}`)!);
    return new HypsAdapter(principal, serial, d, initAB);
  }

  hooks(): ForwardHooks {
    const w = this.principal.weights();
    return {
      param: (name) => w.get(name),
      linear: (module, x, weight, bias) => {
        const s = this.serial.get(module);
        if (!s) return undefined;
        const h = linear(x, weight, bias);
        return serialAdapter(h, s.dn, s.up, this.scaling);
      },
    };
  }

  dispose(): void {
    this.principal.dispose();
    for (const s of this.serial.values()) [s.dn, s.up].forEach((x) => x.dispose());
    this.serial.clear();
  }
}
