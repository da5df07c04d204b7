/**
 * Adam as torch.optim.Adam (L2 weight decay coupled into the gradient, optional amsgrad) and
 * AdamW (decoupled decay). The update is one fused kernel per parameter; state lives on the
 * parameter's backend and is freed by `dispose()`.
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
