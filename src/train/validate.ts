/**
 * Validation during fine-tuning: the soft Dice loss and the Dice of the argmax prediction
 * (MONAI's definition, core/metrics.ts) on the centred crop of each validation sample, one
 * sample at a time, without dropout or graph.
 */
import { dice, maskOf } from '../core/metrics';
import { diceLoss, noGrad, oneHot, tidy } from '../engine';
import type { AdaptedModel } from '../peft/adapted-model';
import { groupedDiceLoss } from './grouped-dice';
import { centreBatch, type TrainingSample } from './samples';
import type { Dims3 } from '../core/volume';

export interface ValidationScore {
  /** Mean soft Dice loss over the samples. */
  readonly loss: number;
  /** Mean over samples of the mean Dice of the foreground classes present in the labels; NaN if none has any. */
  readonly dice: number;
}

/** Class per voxel from logits [1, C, …] (C-order, class-major). */
export function argmaxClasses(logits: Float32Array, classes: number): Uint8Array {
  const voxels = logits.length / classes;
  const out = new Uint8Array(voxels);
  for (let v = 0; v < voxels; v++) {
    let best = 0;
    let top = logits[v];
    for (let c = 1; c < classes; c++) {
      const x = logits[c * voxels + v];
      if (x > top) {
        top = x;
        best = c;
      }
    }
    out[v] = best;
  }
  return out;
}

/** Mean Dice over the foreground classes that the truth holds (NaN when it holds none). */
export function meanForegroundDice(pred: Uint8Array, truth: Uint8Array, classes: number): number {
  const scores: number[] = [];
  for (let c = 1; c < classes; c++) {
    const d = dice(maskOf(pred, c), maskOf(truth, c));
    if (!Number.isNaN(d)) scores.push(d);
  }
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : NaN;
}

/** Class per voxel → the index of its group (e.g. head and body → whole hippocampus). */
export function groupClasses(classes: Uint8Array, groups: readonly (readonly number[])[]): Uint8Array {
  const lut = new Uint8Array(256);
  groups.forEach((g, index) => g.forEach((c) => (lut[c] = index)));
  return classes.map((c) => lut[c]);
}

/**
 * With `classGroups` (label-map.ts `targetGroups`: whole-hippocampus labels on a head/body
 * model) the labels are group indices: the loss is the grouped soft Dice the run trains on,
 * and the Dice compares the argmax class's group with them (prediction > 0 against label > 0).
 */
export async function validate(model: AdaptedModel, samples: readonly TrainingSample[], crop: Dims3, classGroups: readonly (readonly number[])[] | null = null): Promise<ValidationScore> {
  if (samples.length === 0) throw new Error('validate: no validation samples');
  const engine = model.model.engine;
  const modelClasses = model.model.outChannels;
  const classes = classGroups ? classGroups.length : modelClasses;
  let loss = 0;
  const dices: number[] = [];
  for (const s of samples) {
    const batch = centreBatch([s], crop);
    const [lossT, logitsT] = noGrad(() =>
      tidy(() => {
        const x = engine.tensor(batch.image, [1, 1, ...crop], { name: 'validation image' });
        const logits = model.forward(x);
        const target = oneHot(engine, batch.label, [1, ...crop], classes);
        return [classGroups ? groupedDiceLoss(logits, target, classGroups) : diceLoss(logits, target), logits] as const;
      }),
    );
    loss += await lossT.item();
    const logits = await logitsT.data();
    lossT.dispose();
    logitsT.dispose();
    const predicted = argmaxClasses(Float32Array.from(logits), modelClasses);
    const d = meanForegroundDice(classGroups ? groupClasses(predicted, classGroups) : predicted, batch.label, classes);
    if (!Number.isNaN(d)) dices.push(d);
  }
  return { loss: loss / samples.length, dice: dices.length ? dices.reduce((a, b) => a + b, 0) / dices.length : NaN };
}
