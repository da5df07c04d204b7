import { describe, expect, it } from 'vitest';
import { cssColour, denseLabels, labelColormap } from './label-colormap';

describe('labelColormap', () => {
  it('indexes every value up to the largest label; background and gaps are transparent', () => {
    const map = labelColormap([
      { value: 3, name: 'right hippocampus', rgb: [255, 80, 0] },
      { value: 1, name: 'left hippocampus', rgb: [0, 200, 255] },
    ]);
    expect(map.I).toEqual([0, 1, 2, 3]);
    expect(map.A).toEqual([0, 255, 0, 255]);
    expect([map.R[1], map.G[1], map.B[1]]).toEqual([0, 200, 255]);
    expect([map.R[3], map.G[3], map.B[3]]).toEqual([255, 80, 0]);
    expect(map.labels).toEqual(['background', 'left hippocampus', '', 'right hippocampus']);
  });

  it('gives a lone background entry when there are no labels', () => {
    expect(labelColormap([])).toEqual({ R: [0], G: [0], B: [0], A: [0], I: [0], labels: ['background'] });
  });
});

describe('denseLabels', () => {
  it('renumbers the listed labels 1…n in their order for the viewer; background and unlisted values become 0', () => {
    const labels = [
      { value: 2, name: 'right hippocampus', rgb: [0, 0, 255] as [number, number, number] },
      { value: 255, name: 'SAM mask (not accepted)', rgb: [255, 64, 64] as [number, number, number] },
      { value: 17, name: 'Left-Hippocampus', rgb: [220, 216, 20] as [number, number, number] },
    ];
    const out = denseLabels(Uint8Array.of(0, 2, 255, 17, 9, 2), labels);
    expect(Array.from(out.data)).toEqual([0, 1, 2, 3, 0, 1]);
    expect(out.labels.map((l) => [l.value, l.name])).toEqual([[1, 'right hippocampus'], [2, 'SAM mask (not accepted)'], [3, 'Left-Hippocampus']]);
    expect(labelColormap(out.labels).I).toEqual([0, 1, 2, 3]);
  });
});

describe('cssColour', () => {
  it('writes #rrggbb', () => {
    expect(cssColour([255, 8, 0])).toBe('#ff0800');
  });
});
