/** A segmentation label as the UI, the exports and the manifests name it. */
export interface LabelInfo {
  /** Voxel value in the label volume (0 is background). */
  readonly value: number;
  readonly name: string;
  /** Display colour, 0–255 RGB. */
  readonly rgb: readonly [number, number, number];
}

/** Volume of one label, measured on the label volume's own grid. */
export interface LabelVolumeMeasure {
  readonly value: number;
  readonly name: string;
  readonly voxels: number;
  readonly mm3: number;
}

/** How metrics name the whole structure, all labels > 0 together (`seahorse eval`, manifests). */
export const WHOLE_STRUCTURE = 'whole (label > 0)';
