/**
 * The soft Dice loss when the labels name groups of the model's classes (label-map.ts: a
 * whole-hippocampus target for a head/body model): softmax over the model's classes, the
 * probabilities of each group summed, then the same batch Dice as `diceLoss` (engine/loss.ts,
 * peft-methods.md §1.3) against the one-hot targets of the groups.
 */
import { add, addScalar, concat, DICE_EPS, div, mul, scale, slice, softmax, sum, type Tensor } from '../engine';

/** Probabilities [N, G, …] of the groups: p_g = Σ_{c ∈ groups[g]} softmax(logits)_c. */
export function groupProbabilities(logits: Tensor, groups: readonly (readonly number[])[]): Tensor {
  const classes = logits.shape[1];
  const seen = new Set<number>();
  for (const g of groups) {
    if (g.length === 0) throw new Error('a class group is empty');
    for (const c of g) {
      if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`class ${c} of a group is outside 0..${classes - 1}`);
      if (seen.has(c)) throw new Error(`class ${c} is in two groups`);
      seen.add(c);
    }
  }
  if (seen.size !== classes) throw new Error(`the groups cover ${seen.size} of the model's ${classes} classes; every class must belong to one group`);
  const p = softmax(logits, 1);
  const parts = groups.map((g) => {
    let acc: Tensor | null = null;
    for (const c of g) {
      const s = slice(p, [null, [c, c + 1]]);
      if (acc) {
        const next = add(acc, s);
        acc.dispose();
        s.dispose();
        acc = next;
      } else acc = s;
    }
    return acc!;
  });
  p.dispose();
  const out = concat(parts, 1);
  for (const t of parts) t.dispose();
  return out;
}

/** Σ_g (1 − 2·Σ(p_g·t_g) / (Σp_g + Σt_g + eps)) over the batch and all voxels; target [N, G, …] one-hot. */
export function groupedDiceLoss(logits: Tensor, target: Tensor, groups: readonly (readonly number[])[], eps = DICE_EPS): Tensor {
  const p = groupProbabilities(logits, groups);
  if (p.shape.some((d, i) => d !== target.shape[i]) || p.rank !== target.rank) throw new Error(`grouped Dice: group probabilities [${p.shape}] and target [${target.shape}] differ`);
  const axes = p.shape.map((_, i) => i).filter((i) => i !== 1);
  const pt = mul(p, target);
  const inter = sum(pt, axes);
  const ps = sum(p, axes);
  const ts = sum(target, axes);
  const den = addScalar(add(ps, ts), eps);
  const ratio = div(inter, den);
  const terms = addScalar(scale(ratio, -2), 1);
  const loss = sum(terms);
  for (const t of [p, pt, inter, ps, ts, den, ratio, terms]) t.dispose();
  return loss;
}
