/**
 * Poly learning-rate decay of the reference recipe (peft-methods.md §1.3):
 * lr = base · (1 − epoch/maxEpochs)^power, optionally rounded as the authors' code does
 * (`round(…, 8)`).
 */
export function polyLr(base: number, epoch: number, maxEpochs: number, opts: { power?: number; decimals?: number } = {}): number {
  if (!(maxEpochs > 0) || epoch < 0 || epoch > maxEpochs) throw new RangeError(`polyLr: epoch ${epoch} outside 0..${maxEpochs}`);
  const lr = base * Math.pow(1 - epoch / maxEpochs, opts.power ?? 0.9);
  if (opts.decimals === undefined) return lr;
  const f = 10 ** opts.decimals;
  return Math.round(lr * f) / f;
}
