/**
 * How far one output is from a reference, relative to the reference's range (max |reference|):
 * the parity measure of the model tests that compare our engine with onnxruntime.
 */
export function rangeError(ours: ArrayLike<number>, reference: ArrayLike<number>): { readonly max: number; readonly rms: number; readonly range: number } {
  if (ours.length !== reference.length) throw new Error(`${ours.length} values against ${reference.length}`);
  let max = 0;
  let sq = 0;
  let range = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(ours[i] - reference[i]);
    max = Math.max(max, d);
    sq += d * d;
    range = Math.max(range, Math.abs(reference[i]));
  }
  return { max: max / range, rms: Math.sqrt(sq / reference.length) / range, range };
}
