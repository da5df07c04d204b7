import { describe, expect, it } from 'vitest';
import { rasAffine, rasReorientation, undoReorientation } from '../core/orientation';
import { mat4, type LabelVolume, type Volume } from '../core/volume';
import { centreOfMass, hippocampusStructures, orthogonalViews } from './slices';

const RED = [255, 0, 0] as const;
const structure = { name: 'left hippocampus', labels: [{ value: 1, name: 'left hippocampus', rgb: RED }] };

/** A 40 × 30 × 20 RAS scan (1 × 1 × 2 mm): grey 100, a bright marker at the patient's left (low i), a 10 × 8 × 4 box labelled 1. */
function phantom(): { scan: Volume<Float32Array>; labels: LabelVolume } {
  const dims = [40, 30, 20] as const;
  const affine = rasAffine([1, 1, 2], [-20, -15, -20]);
  const scan = new Float32Array(40 * 30 * 20).fill(100);
  const labels = new Uint8Array(scan.length);
  for (let k = 0; k < 20; k++) {
    for (let j = 0; j < 30; j++) {
      for (let i = 0; i < 40; i++) {
        const p = i + 40 * (j + 30 * k);
        if (i < 3) scan[p] = 200; // patient's left edge (RAS: low i is left)
        if (i >= 15 && i < 25 && j >= 11 && j < 19 && k >= 8 && k < 12) labels[p] = 1;
      }
    }
  }
  return { scan: { dims, spacing: [1, 1, 2], affine, data: scan }, labels: { dims, spacing: [1, 1, 2], affine, data: labels } };
}

const pixel = (img: { width: number; data: Uint8ClampedArray }, x: number, y: number) => Array.from(img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 3));

describe('report slices', () => {
  it('centre of mass of the labelled voxels', () => {
    const { labels } = phantom();
    expect(centreOfMass(labels, new Set([1]))).toEqual([19.5, 14.5, 9.5]);
    expect(centreOfMass(labels, new Set([2]))).toBeNull();
  });

  it('three views in mm proportions, the mask outlined in its colour, inside and outside grey, the patient’s left on the left', () => {
    const { scan, labels } = phantom();
    const views = orthogonalViews(scan, labels, structure, [0, 200], { fovMm: 80, pixels: 40, outlinePx: 1 })!;
    expect(views.map((v) => v.view)).toEqual(['axial', 'coronal', 'sagittal']);
    const [axial, coronal, sagittal] = views.map((v) => v.image);
    // The field of view is cut to the scan: 40 × 30 mm axial, 40 × 40 mm coronal, 30 × 40 mm sagittal, 1 mm a pixel.
    expect([axial.width, axial.height, axial.pixelMm]).toEqual([40, 30, 1]);
    expect([coronal.width, coronal.height]).toEqual([40, 40]);
    expect([sagittal.width, sagittal.height]).toEqual([30, 40]);
    // Axial: i 15–24 → x 15–24; j 11–18 → rows 29 − j = 11–18 (anterior up).
    expect(pixel(axial, 15, 15)).toEqual([...RED]); // left edge of the box
    expect(pixel(axial, 24, 15)).toEqual([...RED]);
    expect(pixel(axial, 20, 11)).toEqual([...RED]); // anterior edge (top)
    expect(pixel(axial, 20, 15)).toEqual([128, 128, 128]); // inside: the scan (100 of 0–200)
    expect(pixel(axial, 10, 15)).toEqual([128, 128, 128]); // outside
    expect(pixel(axial, 1, 15)).toEqual([255, 255, 255]); // the patient's left marker is on the image's left
    // Coronal: k 8–11 at 2 mm → rows 40 − 2k: the box spans 16 mm, rows 16–23.
    expect(pixel(coronal, 20, 16)).toEqual([...RED]);
    expect(pixel(coronal, 20, 23)).toEqual([...RED]);
    expect(pixel(coronal, 20, 20)).toEqual([128, 128, 128]);
    expect(pixel(coronal, 20, 14)).toEqual([128, 128, 128]);
    // Slice positions: world mm of the centre voxel on the fixed axis.
    expect(views.map((v) => v.positionMm)).toEqual([-20 + 2 * 10, -15 + 15, -20 + 20]);
  });

  it('a scan stored in another orientation gives the same pictures', () => {
    const { scan, labels } = phantom();
    // The same world stored LIA (FreeSurfer's conformed order): i → left, j → inferior, k → anterior.
    const liaAffine = mat4([-1, 0, 0, 19, 0, 0, 1, -15, 0, -2, 0, 18, 0, 0, 0, 1]);
    const r = rasReorientation([40, 20, 30], liaAffine);
    expect(r.outputDims).toEqual([40, 30, 20]);
    const liaScan = undoReorientation(scan, r);
    const liaLabels = undoReorientation(labels, r);
    expect(liaScan.spacing).toEqual([1, 2, 1]);
    const views = orthogonalViews(scan, labels, structure, [0, 200], { pixels: 40 })!;
    const same = orthogonalViews(liaScan, liaLabels, structure, [0, 200], { pixels: 40 })!;
    expect(same.map((v) => v.positionMm)).toEqual(views.map((v) => v.positionMm));
    expect(same.map((v) => Array.from(v.image.data))).toEqual(views.map((v) => Array.from(v.image.data)));
  });

  it('structures: one per side on a full head, one for all labels of a crop', () => {
    const sub = [
      { value: 0, name: 'background', rgb: [0, 0, 0] as const },
      { value: 1, name: 'left hippocampus head', rgb: RED },
      { value: 2, name: 'left hippocampus body + tail', rgb: RED },
      { value: 3, name: 'right hippocampus head', rgb: RED },
    ];
    expect(hippocampusStructures(sub, 'full-head').map((s) => [s.name, s.labels.map((l) => l.value)])).toEqual([
      ['left hippocampus', [1, 2]],
      ['right hippocampus', [3]],
    ]);
    expect(hippocampusStructures(sub, 'crop').map((s) => s.labels.length)).toEqual([3]);
  });
});
