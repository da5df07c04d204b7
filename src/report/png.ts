/** PNG bytes of a report picture (fast-png: a maintained, dependency-light encoder). */
import { encode } from 'fast-png';
import type { RgbaImage } from './slices';

export function encodePng(image: RgbaImage): Uint8Array {
  // The pictures are opaque: RGB keeps the files a quarter smaller.
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let p = 0, q = 0; p < image.data.length; p += 4, q += 3) {
    rgb[q] = image.data[p];
    rgb[q + 1] = image.data[p + 1];
    rgb[q + 2] = image.data[p + 2];
  }
  return encode({ width: image.width, height: image.height, data: rgb, channels: 3, depth: 8 });
}
