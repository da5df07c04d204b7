import { describe, expect, it } from 'vitest';
import { LabelEdits, withPreview } from './label-edit';

describe('prompt tool label edits', () => {
  it('accept writes a label, undo restores what was there (the hippocampus mask under a new structure included)', () => {
    const edits = new LabelEdits(Uint8Array.from([0, 1, 1, 0, 2, 0]));
    expect(edits.accept(Uint32Array.from([0, 1, 3]), 18)).toBe(3);
    expect(Array.from(edits.labels)).toEqual([18, 18, 1, 18, 2, 0]);
    expect(edits.accept(Uint32Array.from([3, 4, 4]), 54)).toBe(2);
    expect(Array.from(edits.labels)).toEqual([18, 18, 1, 54, 54, 0]);
    expect(edits.undo()).toBe(true);
    expect(Array.from(edits.labels)).toEqual([18, 18, 1, 18, 2, 0]);
    expect(edits.undo()).toBe(true);
    expect(Array.from(edits.labels)).toEqual([0, 1, 1, 0, 2, 0]);
    expect(edits.undo()).toBe(false);
    expect(() => edits.accept(Uint32Array.from([1]), 0)).toThrow(/1–255/);
    expect(() => edits.accept(Uint32Array.from([6]), 3)).toThrow(/outside/);
  });

  it('the preview is drawn over a copy', () => {
    const labels = Uint8Array.from([0, 1, 0]);
    expect(Array.from(withPreview(labels, Uint32Array.from([0, 1]), 255))).toEqual([255, 255, 0]);
    expect(Array.from(labels)).toEqual([0, 1, 0]);
  });
});
