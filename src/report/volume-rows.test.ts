import { describe, expect, it } from 'vitest';
import { SIDE_LABELS, SUBLABEL_INFO } from '../infer/fullhead';
import type { SideMeasure } from '../infer/fullhead';
import { volumeRows } from './volume-rows';

const icvMm3 = 1.5e6;
const side = (s: 'left' | 'right', voxels: number): SideMeasure => ({ side: s, voxels, mm3: voxels, icvFraction: voxels / icvMm3, centroidMm: [0, 0, 0] });
const measure = (value: number, name: string, voxels: number) => ({ value, name, voxels, mm3: voxels, icvFraction: voxels / icvMm3 });

describe('volumeRows', () => {
  it('lists a crop’s labels in the model’s colours, without ICV', () => {
    const labelInfo = [
      { value: 0, name: 'background', rgb: [0, 0, 0] as const },
      { value: 1, name: 'hippocampus head', rgb: [230, 159, 0] as const },
    ];
    const rows = volumeRows({ labelInfo, volumes: [{ value: 1, name: 'hippocampus head', voxels: 10, mm3: 12.5 }] });
    expect(rows).toEqual([{ key: 'label-1', name: 'hippocampus head', rgb: [230, 159, 0], voxels: 10, mm3: 12.5, icvPercent: undefined }]);
  });

  it('gives left and right in % of ICV on a full head, and adds whole sides to sub-labels', () => {
    const sides = [side('left', 3000), side('right', 3300)];
    const whole = volumeRows({ labelInfo: SIDE_LABELS, volumes: [measure(1, 'left hippocampus', 3000), measure(2, 'right hippocampus', 3300)], hippocampi: sides });
    expect(whole.map((r) => r.name)).toEqual(['left hippocampus', 'right hippocampus']);
    // 3000 mm³ of 1.5 L is 0.2 %: only float rounding apart.
    expect(whole[0].icvPercent).toBeCloseTo(0.2, 12);
    expect(whole[1].icvPercent).toBeCloseTo(0.22, 12);
    expect(whole[0].rgb).toEqual(SIDE_LABELS[1].rgb);

    const sub = volumeRows({
      labelInfo: SUBLABEL_INFO,
      volumes: [measure(1, 'left head', 1200), measure(2, 'left body', 1800), measure(3, 'right head', 1300), measure(4, 'right body', 2000)],
      hippocampi: sides,
    });
    expect(sub.map((r) => r.name).slice(4)).toEqual(['left hippocampus (whole)', 'right hippocampus (whole)']);
    expect(sub[4].mm3).toBe(sub[0].mm3 + sub[1].mm3);
    expect(sub[3].rgb).toEqual(SUBLABEL_INFO[4].rgb);
  });
});
