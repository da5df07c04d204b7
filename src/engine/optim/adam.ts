/**
 * Adam as torch.optim.Adam (L2 weight decay coupled into the gradient, optional amsgrad) and
 * AdamW (decoupled decay). The update is one fused kernel per parameter; state lives on the
 * parameter's backend and is freed by `dispose()`. `saveState`/`loadState` carry it through the
 * host, so a checkpointed run resumes exactly where it stopped.
 */
import { ShapeError } from '../errors';
import { sameShape } from '../shape';
import type { Tensor } from '../tensor';
import { wrap } from '../tensor';

export interface AdamOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

/** Host values in the backend's precision (float32 on WebGPU, float64 on cpu), so a save/load round trip is exact. */
export type AdamHostArray = Float32Array | Float64Array;

/** One parameter's moment estimates, as `Adam.saveState` reads them. */
export interface AdamSlotState {
  readonly shape: readonly number[];
  readonly m: AdamHostArray;
  readonly v: AdamHostArray;
  /** The running maximum of v (amsgrad only). */
  readonly vmax: AdamHostArray | null;
}

/** Everything `Adam.step` depends on besides the parameters, gradients and hyperparameters. */
export interface AdamState {
  /** Steps taken: the bias corrections go on from it. */
  readonly t: number;
  /** Per parameter in `params` order; null where it has had no update yet (zero moments). */
  readonly slots: readonly (AdamSlotState | null)[];
}

interface Slot {
  m: Tensor;
  v: Tensor;
  vmax: Tensor | null;
}

export class Adam {
  lr: number;
  protected t = 0;
  private readonly state = new Map<Tensor, Slot>();
  protected readonly decoupled: boolean = false;

  constructor(readonly params: readonly Tensor[], readonly opts: AdamOptions) {
    for (const p of params) if (!p.requiresGrad) throw new ShapeError(`Adam: parameter ${p.describe()} does not have requiresGrad`);
    this.lr = opts.lr;
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.t;
  }

  private slot(p: Tensor): Slot {
    let s = this.state.get(p);
    if (!s) {
      const b = p.backend;
      const z = (name: string) => wrap(b, b.fill(p.size, 0, name), p.shape, { untracked: true });
      s = { m: z('adam.m'), v: z('adam.v'), vmax: this.opts.amsgrad ? z('adam.vmax') : null };
      this.state.set(p, s);
    }
    return s;
  }

  /** Applies one update to every parameter that has a gradient (others are skipped, as torch does). */
  step(): void {
    this.t++;
    const [beta1, beta2] = this.opts.betas ?? [0.9, 0.999];
    const wd = this.opts.weightDecay ?? 0;
    for (const p of this.params) {
      if (!p.grad) continue;
      if (!sameShape(p.grad.shape, p.shape)) throw new ShapeError(`Adam: gradient of ${p.describe()} has shape [${p.grad.shape}]`);
      const s = this.slot(p);
      p.backend.adamStep(p.storage, p.grad.storage, s.m.storage, s.v.storage, s.vmax ? s.vmax.storage : null, {
        lr: this.lr,
        beta1,
        beta2,
        eps: this.opts.eps ?? 1e-8,
        l2: this.decoupled ? 0 : wd,
        decoupled: this.decoupled ? wd : 0,
        bias1: 1 - Math.pow(beta1, this.t),
        bias2: 1 - Math.pow(beta2, this.t),
        amsgrad: this.opts.amsgrad ?? false,
      });
    }
  }

  /** The optimiser's state, read back to the host (await it between steps). */
  async saveState(): Promise<AdamState> {
    const slots = await Promise.all(
      this.params.map(async (p) => {
        const s = this.state.get(p);
        if (!s) return null;
        const [m, v, vmax] = await Promise.all([s.m.data(), s.v.data(), s.vmax ? s.vmax.data() : null]);
        return { shape: [...p.shape], m, v, vmax };
      }),
    );
    return { t: this.t, slots };
  }

  /** Replaces the state with a saved one (from an Adam over parameters of the same shapes and the same amsgrad). */
  loadState(saved: AdamState): void {
    if (!Number.isInteger(saved.t) || saved.t < 0) throw new ShapeError(`Adam.loadState: the step count must be a non-negative integer, got ${saved.t}`);
    if (saved.slots.length !== this.params.length) throw new ShapeError(`Adam.loadState: the state holds ${saved.slots.length} parameters, this optimiser has ${this.params.length}`);
    const amsgrad = this.opts.amsgrad ?? false;
    saved.slots.forEach((s, i) => {
      if (!s) return;
      const p = this.params[i];
      const where = `Adam.loadState: parameter ${i} (${p.describe()})`;
      if (!sameShape(s.shape, p.shape)) throw new ShapeError(`${where} has shape [${p.shape}], the saved state [${s.shape}]`);
      for (const [name, a] of [['m', s.m], ['v', s.v], ['vmax', s.vmax]] as const) {
        if (a && a.length !== p.size) throw new ShapeError(`${where}: saved ${name} holds ${a.length} values, not ${p.size}`);
      }
      if (amsgrad !== (s.vmax !== null)) throw new ShapeError(`${where}: the state was saved ${s.vmax ? 'with' : 'without'} amsgrad, this optimiser runs ${amsgrad ? 'with' : 'without'} it`);
    });
    this.dispose();
    saved.slots.forEach((s, i) => {
      if (!s) return;
      const p = this.params[i];
      const b = p.backend;
      const up = (a: AdamHostArray, name: string) => wrap(b, b.upload(a, name), p.shape, { untracked: true });
      this.state.set(p, { m: up(s.m, 'adam.m'), v: up(s.v, 'adam.v'), vmax: s.vmax ? up(s.vmax, 'adam.vmax') : null });
    });
    this.t = saved.t;
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
      s.vmax?.dispose();
    }
    this.state.clear();
  }
}

/** AdamW (torch.optim.AdamW): p ← p·(1 − lr·wd), then the Adam update without L2 in the gradient. */
export class AdamW extends Adam {
  protected override readonly decoupled = true;
}
