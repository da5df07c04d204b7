/**
 * The prompt tool's label volume: masks accepted into it with a label value, each acceptance
 * undoable (the voxels it changed and their old values are kept).
 */
export interface Edit {
  readonly voxels: Uint32Array;
  readonly previous: Uint8Array;
}

export class LabelEdits {
  private readonly history: Edit[] = [];

  constructor(readonly labels: Uint8Array) {}

  get undoable(): number {
    return this.history.length;
  }

  /** Writes `value` into the voxels; returns how many changed. */
  accept(voxels: Uint32Array, value: number): number {
    if (!(Number.isInteger(value) && value >= 1 && value <= 255)) throw new Error(`a label value must be an integer 1–255 (got ${value})`);
    const previous = new Uint8Array(voxels.length);
    let changed = 0;
    for (let n = 0; n < voxels.length; n++) {
      const v = voxels[n];
      if (v >= this.labels.length) throw new RangeError(`voxel ${v} is outside the label volume`);
      previous[n] = this.labels[v];
      if (this.labels[v] !== value) changed++;
      this.labels[v] = value;
    }
    this.history.push({ voxels: voxels.slice(), previous });
    return changed;
  }

  /** Restores the voxels the last acceptance changed; false when there is nothing to undo. */
  undo(): boolean {
    const edit = this.history.pop();
    if (!edit) return false;
    // Reverse order: a voxel listed twice gets its oldest value back.
    for (let n = edit.voxels.length - 1; n >= 0; n--) this.labels[edit.voxels[n]] = edit.previous[n];
    return true;
  }
}

/** The labels with a preview mask drawn over them in `previewValue` (a copy; the labels are untouched). */
export function withPreview(labels: Uint8Array, preview: Uint32Array | null, previewValue: number): Uint8Array {
  const out = labels.slice();
  if (preview) for (const v of preview) out[v] = previewValue;
  return out;
}
