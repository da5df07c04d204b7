/**
 * A crop model on a full-head scan with the localisation taken from a reference label map
 * instead of the registration: the crop is MSD-framed (msd-frame.ts) around the reference
 * hippocampus' centroid, exactly as the full-head path frames it once it has found the
 * hippocampus, then segmented, re-cut once around the mask when it lands off-centre (as
 * `segmentFullHead` does), reduced to its largest component and pasted onto the scan grid.
 * It measures the model apart from the localiser: tests and bench/fs-real.ts use it.
 */
import { applyToPoint, invert, multiply, type Vec3 } from '../core/affine';
import { keepLargestComponentPerLabel } from '../core/components';
import { boxToConformed, conformedGrid, extractBox, extractBoxLabels, pasteBoxMasks, type HippocampusBox } from '../core/fullhead';
import { LEFT, RIGHT } from '../core/fullhead';
import { dice, maskOf } from '../core/metrics';
import { labelCentroidMm, voxelVolumeMm3 } from '../core/measure';
import type { LabelVolume, Volume } from '../core/volume';
import { segmentFramedSide } from '../infer/framed-side';
import { msdFrame } from '../infer/msd-frame';
import { segmentVolume, type LoadedModel } from '../infer/pipeline';

export interface AtReferenceResult {
  readonly side: 'left' | 'right';
  readonly dice: number;
  readonly mm3: number;
  readonly referenceMm3: number;
  /** Whether the crop was cut again around the first mask, and whether it is the wider crop. */
  readonly recentred: boolean;
  readonly widened: boolean;
}

/**
 * The side's box (the whole conformed grid, mirrored for the right as roi.ts's boxes are) and
 * the reference hippocampus' centroid in it: where the full-head path would frame the crop
 * once it had found that hippocampus.
 */
export function referenceBox(scan: Volume, reference: Volume, code: number, side: 'left' | 'right'): { box: HippocampusBox; centre: Vec3 } {
  if (reference.dims.some((d, a) => d !== scan.dims[a])) throw new Error('the reference labels must be on the scan grid');
  const centreMm = labelCentroidMm(reference, code);
  if (!centreMm) throw new Error(`the reference has no label ${code}`);
  const conformed = conformedGrid(scan);
  const box: HippocampusBox = {
    side,
    label: side === 'left' ? LEFT : RIGHT,
    grid: { dims: conformed.dims, affine: multiply(conformed.affine, boxToConformed([0, 0, 0], conformed.dims, side)) },
    inView: 1,
    centreMm,
  };
  return { box, centre: applyToPoint(invert(box.grid.affine), centreMm) };
}

/**
 * One side of a labelled full-head scan as a crop model's training or test pair: the image
 * (trilinear) and `labels` (the reference mapped to the model's targets, on the scan grid;
 * nearest) on the MSD-framed crop at the reference hippocampus' centroid, the framing the
 * full-head path gives a crop model (bench/fewshot.ts `--domain freesurfer` adapts and scores on
 * such crops).
 */
export function msdCropAtReference(scan: Volume, reference: Volume, code: number, side: 'left' | 'right', labels: LabelVolume): { image: Volume<Float32Array>; labels: LabelVolume } {
  if (labels.dims.some((d, a) => d !== scan.dims[a])) throw new Error('the labels must be on the scan grid');
  const { box, centre } = referenceBox(scan, reference, code, side);
  const frame = msdFrame(box, centre);
  return { image: extractBox(scan, frame), labels: extractBoxLabels(labels, frame) };
}

/**
 * Segments one side of `scan` with the crop framed at the reference hippocampus `code`
 * (FreeSurfer: 17 left, 53 right) and compares the whole-hippocampus mask (label > 0) with it.
 * `reference` (label codes, any voxel type) must share the scan's grid.
 */
export async function segmentAtReference(
  scan: Volume,
  reference: Volume,
  code: number,
  side: 'left' | 'right',
  model: LoadedModel,
): Promise<AtReferenceResult> {
  const { box, centre } = referenceBox(scan, reference, code, side);
  const asTrained: LoadedModel = { ...model, manifest: { ...model.manifest, orientation: 'as-is' } };
  const segment = async (frame: HippocampusBox) => {
    const result = await segmentVolume(extractBox(scan, frame), asTrained, { largestComponent: false });
    const whole = maskOf(result.labels.data, 'foreground');
    return keepLargestComponentPerLabel(whole, frame.grid.dims);
  };
  const { frame, answer, recentred, widened } = await segmentFramedSide(box, centre, async (f) => ({ mask: await segment(f) }));
  const mask = answer.mask;
  const pasted = pasteBoxMasks(scan, [{ box: frame, mask }]).data;
  const truth = maskOf(reference.data, code);
  let predicted = 0;
  let referenceCount = 0;
  for (let n = 0; n < pasted.length; n++) {
    if (pasted[n]) predicted++;
    if (truth[n]) referenceCount++;
  }
  const mm3 = voxelVolumeMm3(scan.affine);
  return { side, dice: dice(pasted, truth), mm3: predicted * mm3, referenceMm3: referenceCount * mm3, recentred, widened };
}
