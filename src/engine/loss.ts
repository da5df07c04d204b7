/**
 * Segmentation losses on logits [N, C, ...spatial] and one-hot targets of the same shape.
 * The soft Dice is peft-methods.md §1.3 generalised to C classes (fixtures README §0).
 */
import type { Engine } from './engine';
import { ShapeError } from './errors';
import { sameShape } from './shape';
import type { Tensor } from './tensor';
import { add, addScalar, div, mul, neg, scale } from './ops/elementwise';
import { logSoftmax, softmax } from './ops/nn';
import { sum } from './ops/reduce';

/** Smoothing term of the reference Dice (criterionsWT.softmax_dice2). */
export const DICE_EPS = 1e-5;

function check(op: string, logits: Tensor, target: Tensor): number[] {
  if (logits.rank < 2 || !sameShape(logits.shape, target.shape)) {
    throw new ShapeError(`${op}: logits ${logits.describe()} and one-hot target ${target.describe()} must both be [N, C, ...spatial]`);
  }
  return logits.shape.map((_, i) => i).filter((i) => i !== 1);
}

/**
 * Per-class Dice loss terms [C]: 1 − 2·Σ(p_c·t_c) / (Σp_c + Σt_c + eps), p = softmax over
 * channels, sums over the batch and all voxels (batch Dice).
 */
export function diceLossTerms(logits: Tensor, target: Tensor, eps = DICE_EPS): Tensor {
  const axes = check('diceLoss', logits, target);
  const p = softmax(logits, 1);
  const pt = mul(p, target);
  const inter = sum(pt, axes);
  const ps = sum(p, axes);
  const ts = sum(target, axes);
  const den = addScalar(add(ps, ts), eps);
  const ratio = div(inter, den);
  const terms = addScalar(scale(ratio, -2), 1);
  for (const t of [p, pt, inter, ps, ts, den, ratio]) t.dispose();
  return terms;
}

/** L = Σ_c terms_c (no mean over classes; background included), as the reference loss. */
export function diceLoss(logits: Tensor, target: Tensor, eps = DICE_EPS): Tensor {
  const terms = diceLossTerms(logits, target, eps);
  const l = sum(terms);
  terms.dispose();
  return l;
}

/** Mean over voxels (and batch) of −Σ_c t_c·log softmax(logits)_c. */
export function crossEntropy(logits: Tensor, target: Tensor): Tensor {
  const axes = check('crossEntropy', logits, target);
  const lp = logSoftmax(logits, 1);
  const tl = mul(lp, target);
  const s = sum(tl);
  const voxels = axes.reduce((a, i) => a * logits.shape[i], 1);
  const l = scale(neg(s), 1 / voxels);
  for (const t of [lp, tl, s]) t.dispose();
  return l;
}

/** One-hot [N, C, ...spatial] from integer labels [N, ...spatial]; labels ≥ C are an error. */
export function oneHot(engine: Engine, labels: ArrayLike<number>, shape: readonly number[], classes: number): Tensor {
  const spatial = shape.slice(1).reduce((a, d) => a * d, 1);
  const n = shape[0];
  if (labels.length !== n * spatial) throw new ShapeError(`oneHot: ${labels.length} labels for shape [${shape}]`);
  const out = new Float64Array(n * classes * spatial);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < spatial; i++) {
      const c = labels[b * spatial + i];
      if (!Number.isInteger(c) || c < 0 || c >= classes) throw new ShapeError(`oneHot: label ${c} at voxel ${i} is outside 0..${classes - 1}`);
      out[(b * classes + c) * spatial + i] = 1;
    }
  }
  return engine.tensor(out, [n, classes, ...shape.slice(1)], { name: 'target' });
}
