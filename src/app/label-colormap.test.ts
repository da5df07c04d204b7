import { describe, expect, it } from 'vitest';
import { cssColour, labelColormap } from './label-colormap';

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

describe('cssColour', () => {
  it('writes #rrggbb', () => {
    expect(cssColour([255, 8, 0])).toBe('#ff0800');
  });
});
