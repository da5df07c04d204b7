/**
 * The fine-tuning loop shared by the CLI and the studio (peft-methods.md §1.3): batch soft Dice
 * over all classes on softmax outputs, Adam with L2-coupled weight decay and amsgrad, poly(0.9)
 * learning-rate decay. It guards against divergence: a non-finite loss or gradient stops the run
 * before the optimiser touches the parameters, so the model still holds the last good step,
 * which is returned as the checkpoint.
 */
import { add, Adam, backward, diceLoss, noGrad, oneHot, polyLr, square, sum, tidy, type AdamState, type Tensor } from '../engine';
import type { AdaptedModel, HostTensor } from '../peft/adapted-model';
import { groupedDiceLoss } from './grouped-dice';
import type { Batch } from './samples';
import { yieldToMessages } from './yield-to-messages';

export interface TrainOptions {
  /** Optimiser steps to run (the total, counting `startStep`). */
  steps: number;
  /**
   * Steps already applied to the model (a resumed run): training continues at this step, so the
   * learning-rate schedule, dropout seeds and step numbers carry on. With `optimizer` (the state
   * saved in the checkpoint at this step) Adam carries on too and the run is the one that
   * stopped; without it Adam's moment estimates start afresh. The caller continues the batch
   * stream (`batches(…, from = startStep)`).
   */
  startStep?: number;
  /** Adam's state to start from (`Checkpoint.optimizer` of the checkpoint at `startStep`). */
  optimizer?: AdamState;
  /**
   * Read Adam's state into every checkpoint (default false): a host read of 2–3× the trainable
   * values per checkpoint, worth it where a run must resume exactly (the studio).
   */
  saveOptimizer?: boolean;
  /** Base learning rate (default 1e-3). */
  lr?: number;
  /** L2 weight decay coupled into the gradient (default 1e-5, LoRA-PT's; HyPS used 2e-5). */
  weightDecay?: number;
  /** Default true (the papers' Adam). */
  amsgrad?: boolean;
  /** Poly decay over this many steps (default `steps`); lr = base·(1 − step/decaySteps)^0.9. */
  decaySteps?: number;
  /** Dropout active during training (default true: the model's configured rates). */
  dropout?: boolean;
  /** Seed of the dropout masks (per step: seed + step). */
  seed?: number;
  /**
   * Labels name groups of the model's classes (label-map.ts `targetGroups`, e.g. whole
   * hippocampus = head ∪ body): label g trains the summed probabilities of `classGroups[g]`.
   */
  classGroups?: readonly (readonly number[])[] | null;
  /**
   * Which of the method's own tensors the optimiser updates (by name; default all). The others
   * keep their initial values; their gradients are computed and dropped each step.
   */
  methodTensors?: (name: string) => boolean;
  /** Snapshot the trained tensors to the host every N steps (default: only at the end). */
  checkpointEvery?: number;
  /** Called after every step; a returned promise is awaited (e.g. validation at an epoch's end). */
  onStep?: (r: StepReport) => unknown;
  /** Called with every snapshot (to persist it, e.g. in browser storage). */
  onCheckpoint?: (c: Checkpoint) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface StepReport {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  /** ‖∇‖₂ over every trainable tensor. */
  readonly gradNorm: number;
  readonly ms: number;
}

export interface Checkpoint {
  /** Optimiser steps applied to these values. */
  readonly step: number;
  readonly state: Map<string, HostTensor>;
  /** Adam's state after the same steps (with `saveOptimizer`, else null). */
  readonly optimizer: AdamState | null;
}

export interface TrainResult {
  /** `done`: all steps ran; `non-finite`: stopped at a NaN/Inf (see message); `aborted`: the signal fired. */
  readonly status: 'done' | 'non-finite' | 'aborted';
  readonly message?: string;
  readonly reports: StepReport[];
  /** The trained tensors after the last good step (finite by construction). */
  readonly checkpoint: Checkpoint;
}

const DEFAULT_LR = 1e-3;
export const DEFAULT_WEIGHT_DECAY = 1e-5;

/** Σ‖g‖² over the gradients, as one device scalar (one read per step). */
function gradSquares(params: readonly Tensor[]): Tensor | null {
  return noGrad(() =>
    tidy(() => {
      let total: Tensor | null = null;
      for (const p of params) {
        if (!p.grad) continue;
        const s = sum(square(p.grad));
        total = total ? add(total, s) : s;
      }
      return total;
    }),
  );
}

function finiteState(state: Map<string, HostTensor>): string | null {
  for (const [name, t] of state) for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) return name;
  return null;
}

/**
 * Trains `model` on batches from `next` (images [B, 1, …crop], labels [B, …crop]). The classes
 * are the model's output channels.
 */
export async function train(model: AdaptedModel, next: () => Batch, opts: TrainOptions): Promise<TrainResult> {
  const engine = model.model.engine;
  const params = model.trainable(opts.methodTensors);
  const held = model.trainable().filter((t) => !params.includes(t));
  if (params.length === 0) throw new Error('nothing to train: the method leaves no trainable tensor');
  const groups = opts.classGroups ?? null;
  const classes = groups ? groups.length : model.model.outChannels;
  const lr0 = opts.lr ?? DEFAULT_LR;
  const decay = opts.decaySteps ?? opts.steps;
  const start = opts.startStep ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > opts.steps) throw new Error(`startStep must be an integer in 0..${opts.steps}, got ${start}`);
  const opt = new Adam(params, { lr: lr0, weightDecay: opts.weightDecay ?? DEFAULT_WEIGHT_DECAY, amsgrad: opts.amsgrad ?? true });
  const optimizerState = async () => (opts.saveOptimizer ? opt.saveState() : null);
  const reports: StepReport[] = [];
  let checkpoint!: Checkpoint;
  const finish = async (status: TrainResult['status'], message?: string): Promise<TrainResult> => {
    opt.dispose();
    return { status, message, reports, checkpoint };
  };
  try {
    if (opts.optimizer) opt.loadState(opts.optimizer);
    checkpoint = { step: start, state: await model.trainedState(), optimizer: await optimizerState() };
    // A resumed run starts from a state that was saved already.
    if (start === 0) await opts.onCheckpoint?.(checkpoint);
    for (let step = start; step < opts.steps; step++) {
      if (opts.signal?.aborted) {
        if (step > checkpoint.step) {
          const state = await model.trainedState();
          if (!finiteState(state)) checkpoint = { step, state, optimizer: await optimizerState() };
        }
        return await finish('aborted', `stopped by the user after ${step} steps`);
      }
      const t0 = performance.now();
      opt.lr = polyLr(lr0, step, decay);
      const batch = next();
      const spatial = [...batch.dims];
      const x = engine.tensor(batch.image, [batch.size, 1, ...spatial], { name: 'batch image' });
      const target = oneHot(engine, batch.label, [batch.size, ...spatial], classes);
      const logits = model.forward(x, { training: opts.dropout ?? true, seed: (opts.seed ?? 0) + step });
      const loss = groups ? groupedDiceLoss(logits, target, groups) : diceLoss(logits, target);
      x.dispose();
      target.dispose();
      logits.dispose();
      const value = await loss.item();
      if (!Number.isFinite(value)) {
        loss.dispose();
        return await finish('non-finite', `the loss became ${value} at step ${step + 1}; training stopped and the last good state (step ${step}) was kept`);
      }
      backward(loss);
      loss.dispose();
      const sq = gradSquares(params);
      const g2 = sq ? await sq.item() : 0;
      sq?.dispose();
      if (!Number.isFinite(g2)) {
        opt.zeroGrad();
        for (const t of held) t.zeroGrad();
        checkpoint = { step, state: await model.trainedState(), optimizer: await optimizerState() };
        return await finish('non-finite', `a gradient became non-finite at step ${step + 1}; training stopped and the last good state (step ${step}) was kept`);
      }
      opt.step();
      opt.zeroGrad();
      for (const t of held) t.zeroGrad();
      const report = { step: step + 1, loss: value, lr: opt.lr, gradNorm: Math.sqrt(g2), ms: performance.now() - t0 };
      reports.push(report);
      await opts.onStep?.(report);
      await yieldToMessages();
      const last = step + 1 === opts.steps;
      if (last || (opts.checkpointEvery && (step + 1) % opts.checkpointEvery === 0)) {
        const state = await model.trainedState();
        const bad = finiteState(state);
        if (bad) return await finish('non-finite', `"${bad}" became non-finite at step ${step + 1}; training stopped and the last good state (step ${checkpoint.step}) was kept`);
        checkpoint = { step: step + 1, state, optimizer: await optimizerState() };
        await opts.onCheckpoint?.(checkpoint);
      }
    }
    return await finish('done');
  } catch (e) {
    opt.dispose();
    throw e;
  }
}

/** The loss on one batch without training (no dropout, no graph): validation. */
export async function evaluateLoss(model: AdaptedModel, batch: Batch): Promise<number> {
  const engine = model.model.engine;
  const loss = noGrad(() =>
    tidy(() => {
      const x = engine.tensor(batch.image, [batch.size, 1, ...batch.dims], { name: 'batch image' });
      const target = oneHot(engine, batch.label, [batch.size, ...batch.dims], model.model.outChannels);
      return diceLoss(model.forward(x), target);
    }),
  );
  const v = await loss.item();
  loss.dispose();
  return v;
}
