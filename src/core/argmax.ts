import type { ChannelVolume } from './resample';
import { voxelCount } from './volume';

/** Per-voxel index of the highest score (ties go to the lower class), on the scores' own grid. */
export function argmax(scores: ChannelVolume): Uint8Array {
  if (scores.channels > 256) throw new Error(`${scores.channels} classes do not fit a uint8 label volume`);
  const plane = voxelCount(scores.dims);
  const out = new Uint8Array(plane);
  const best = scores.data.slice(0, plane);
  for (let c = 1; c < scores.channels; c++) {
    const offset = c * plane;
    for (let v = 0; v < plane; v++) {
      const s = scores.data[offset + v];
      if (s > best[v]) {
        best[v] = s;
        out[v] = c;
      }
    }
  }
  return out;
}
