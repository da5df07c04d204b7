/**
 * One hippocampus segmented in the crops the full-head path gives a crop model: MSD-framed
 * where the hippocampus is expected, cut again around a first mask that lands off-centre, and
 * segmented once more in a wider crop when the mask reaches the crop's faces (a hippocampus
 * larger than MSD's). The full-head pipeline (fullhead.ts) and the reference measure
 * (testing/at-reference.ts) both go through it, so they frame alike.
 */
import type { Vec3 } from '../core/affine';
import type { HippocampusBox } from '../core/fullhead';
import { EDGE_FRACTION_WARNING, frameToBox, maskGeometry, msdFrame, RECENTRE_VOXELS, WIDE_CROP_DIMS, type MaskGeometry } from './msd-frame';

/** What a model made of one crop: `mask` is the whole hippocampus (label > 0, after any component filter). */
export interface CropAnswer {
  readonly mask: Uint8Array;
}

export interface FramedSide<A extends CropAnswer> {
  readonly frame: HippocampusBox;
  readonly answer: A;
  /** The kept mask's centroid and share on the crop's faces; null when it is empty. */
  readonly geometry: MaskGeometry | null;
  /** Cut again around the first mask. */
  readonly recentred: boolean;
  /** Segmented again in a `WIDE_CROP_DIMS` crop, which cut less of the mask. */
  readonly widened: boolean;
}

/**
 * Segments one side. `centre`: the expected hippocampus centroid in `box` voxels; `first`: the
 * first crop when the caller has it framed already; `run` segments a crop (called once, twice
 * or three times).
 */
export async function segmentFramedSide<A extends CropAnswer>(
  box: HippocampusBox,
  centre: Vec3,
  run: (frame: HippocampusBox) => Promise<A>,
  first: HippocampusBox = msdFrame(box, centre),
): Promise<FramedSide<A>> {
  let frame = first;
  let answer = await run(frame);
  let geometry = maskGeometry(answer.mask, frame.grid.dims);
  let recentred = false;
  let widened = false;
  const found = geometry && frameToBox(frame, box, geometry.centroid);
  if (found && found.some((c, a) => Math.abs(c - centre[a]) > RECENTRE_VOXELS)) {
    // The hippocampus is not where it was expected: frame it again around the mask.
    frame = msdFrame(box, found);
    answer = await run(frame);
    geometry = maskGeometry(answer.mask, frame.grid.dims);
    recentred = true;
  }
  if (geometry && geometry.edgeFraction > EDGE_FRACTION_WARNING) {
    // The crop may have cut the hippocampus: a wider one, kept if it cuts less.
    const wide = msdFrame(box, frameToBox(frame, box, geometry.centroid), WIDE_CROP_DIMS);
    const wideAnswer = await run(wide);
    const wideGeometry = maskGeometry(wideAnswer.mask, wide.grid.dims);
    if (wideGeometry && wideGeometry.edgeFraction < geometry.edgeFraction) {
      frame = wide;
      answer = wideAnswer;
      geometry = wideGeometry;
      widened = true;
    }
  }
  return { frame, answer, geometry, recentred, widened };
}
