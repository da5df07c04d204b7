/**
 * The peer: brainchop's MeshNet pipeline, reproduced step by step for the comparison in
 * `bench/pipeline.ts` (brainchop is MIT; settings from
 * ../shared/data/peers/brainchop/brainchop_model_settings_extracted.json, behaviour read from
 * brainchop's source, nothing copied):
 *
 * 1. Conform (brainchop's `ensureConformed`): a scan already 256³, uint8 and LIA is used as
 *    it is; anything else goes through NiiVue's `conform(volume, toRAS = false)`: FreeSurfer's
 *    LIA 256³ 1 mm uint8 grid, linear interpolation, intensities scaled to 0–255.
 * 2. The voxels as a [k][j][i] tensor (slices, rows, columns: the NIfTI buffer as it is),
 *    min–max scaled to [0, 1] (`enableQuantileNorm: false`).
 * 3. `autoThreshold` a: the bounding box of voxels > a · max, cropped with `cropPadding`
 *    zeros around it (`enableCrop`).
 * 4. `enableTranspose`: the tensor reversed to [i][j][k]: a channels-last [1, i, j, k, 1]
 *    input, which the converted ONNX takes as [1, 1, i, j, k] (src/onnx/tfjs/to-onnx.ts) —
 *    the same layout as our models' tensors.
 * 5. Argmax over the classes (ties to the lower class), pasted back into the 256³ volume;
 *    `isPostProcessEnable` (brainchop's default): only the largest 26-connected component of
 *    all non-background voxels together is kept (its `bwlabel` with binarize).
 */
import { NVImage, Niivue } from '@niivue/niivue';
import { argmax } from '../../src/core/argmax';
import { keepLargestComponentPerLabel } from '../../src/core/components';
import { writeNifti } from '../../src/core/io';
import { axisCodes } from '../../src/core/orientation';
import { identity4, mat4, type Dims3, type Volume } from '../../src/core/volume';

/** brainchop's size for every full-volume MeshNet model. */
export const CONFORMED_SIZE = 256;

/** The settings of one brainchop model entry that its preprocessing reads. */
export interface BrainchopSettings {
  readonly autoThreshold: number;
  readonly cropPadding: number;
  readonly enableCrop: boolean;
  readonly enableTranspose: boolean;
  readonly enableQuantileNorm: boolean;
}

/** Step 1: the scan on brainchop's conformed grid, and whether it had to be resliced. */
export async function brainchopConform(scan: Volume): Promise<{ volume: Volume<Uint8Array>; resliced: boolean }> {
  const n = CONFORMED_SIZE;
  if (scan.dims.every((d) => d === n) && scan.data instanceof Uint8Array && axisCodes(scan.affine) === 'LIA') {
    return { volume: scan as Volume<Uint8Array>, resliced: false };
  }
  const bytes = writeNifti(scan, { gzip: false });
  // NVImage.new's other parameters have defaults in the code but not in the typings.
  const load = NVImage.new.bind(NVImage) as unknown as (buffer: ArrayBuffer, name: string) => Promise<NVImage>;
  const image = await load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, 'scan.nii');
  // conform() needs no canvas: call it on the prototype, with brainchop's arguments.
  const out = await Niivue.prototype.conform.call(Niivue.prototype, image, false);
  const affine = mat4((out.hdr!.affine as number[][]).flat());
  return { volume: { dims: [n, n, n], affine, spacing: [1, 1, 1], data: new Uint8Array(out.img as Uint8Array) }, resliced: true };
}

export interface BrainchopInput {
  /** [1, 1, D, H, W] data with D, H, W = voxel i, j, k of the cropped box. */
  readonly tensor: Float32Array;
  readonly dims: Dims3;
  /** The box's first voxel on the conformed grid (may be negative by the padding). */
  readonly first: Dims3;
}

/** Steps 2–4. */
export function brainchopInput(conformed: Volume<Uint8Array>, settings: BrainchopSettings): BrainchopInput {
  if (settings.enableQuantileNorm) throw new Error('quantile normalisation is not reproduced here (no hippocampus model uses it)');
  if (!settings.enableTranspose) throw new Error('only transposed models are reproduced here');
  const [nx, ny, nz] = conformed.dims;
  const data = conformed.data;
  let min = Infinity;
  let max = -Infinity;
  for (let n = 0; n < data.length; n++) {
    if (data[n] < min) min = data[n];
    if (data[n] > max) max = data[n];
  }
  const range = max - min || 1;
  // After min–max scaling the maximum is 1, so the threshold a · max is a itself.
  const threshold = settings.autoThreshold > 0 && settings.autoThreshold <= 1 ? settings.autoThreshold : 0;
  const lo = [0, 0, 0];
  const hi = [nx - 1, ny - 1, nz - 1];
  if (settings.enableCrop) {
    lo.splice(0, 3, nx, ny, nz);
    hi.splice(0, 3, -1, -1, -1);
    for (let k = 0, n = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, n++) {
          if ((data[n] - min) / range <= threshold) continue;
          lo[0] = Math.min(lo[0], i);
          hi[0] = Math.max(hi[0], i);
          lo[1] = Math.min(lo[1], j);
          hi[1] = Math.max(hi[1], j);
          lo[2] = Math.min(lo[2], k);
          hi[2] = Math.max(hi[2], k);
        }
      }
    }
    if (hi[0] < 0) throw new Error('brainchop would find nothing above its threshold in this scan');
  }
  const pad = settings.enableCrop ? settings.cropPadding : 0;
  const first = lo.map((v) => v - pad) as unknown as Dims3;
  const dims = [0, 1, 2].map((a) => hi[a] - lo[a] + 1 + 2 * pad) as unknown as Dims3;
  const [di, dj, dk] = dims;
  const tensor = new Float32Array(di * dj * dk);
  for (let i = 0, t = 0; i < di; i++) {
    const x = first[0] + i;
    for (let j = 0; j < dj; j++) {
      const y = first[1] + j;
      for (let k = 0; k < dk; k++, t++) {
        const z = first[2] + k;
        if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
        tensor[t] = (data[x + nx * (y + ny * z)] - min) / range;
      }
    }
  }
  return { tensor, dims, first };
}

/** Step 5: labels on the conformed grid (i fastest) from the model's logits [1, C, D, H, W]. */
export function brainchopLabels(logits: Float32Array, input: BrainchopInput, conformedDims: Dims3): Uint8Array {
  const [di, dj, dk] = input.dims;
  const voxels = di * dj * dk;
  const classes = logits.length / voxels;
  if (!Number.isInteger(classes)) throw new Error(`${logits.length} logits for ${voxels} voxels`);
  // Argmax in tensor order (any consistent order will do), then back to the volume's.
  const best = argmax({ dims: input.dims, affine: identity4(), channels: classes, data: logits });
  const [nx, ny, nz] = conformedDims;
  const out = new Uint8Array(nx * ny * nz);
  for (let i = 0, t = 0; i < di; i++) {
    const x = input.first[0] + i;
    for (let j = 0; j < dj; j++) {
      const y = input.first[1] + j;
      for (let k = 0; k < dk; k++, t++) {
        const z = input.first[2] + k;
        if (x >= 0 && y >= 0 && z >= 0 && x < nx && y < ny && z < nz) out[x + nx * (y + ny * z)] = best[t];
      }
    }
  }
  const foreground = new Uint8Array(out.length);
  for (let n = 0; n < out.length; n++) foreground[n] = out[n] !== 0 ? 1 : 0;
  const kept = keepLargestComponentPerLabel(foreground, conformedDims);
  for (let n = 0; n < out.length; n++) if (!kept[n]) out[n] = 0;
  return out;
}
