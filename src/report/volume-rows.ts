import type { LabelInfo } from '../core/labels';
import type { SideMeasure } from '../infer/fullhead';

/** A label's volume, with its share of the intracranial volume on the full-head path. */
export interface LabelVolumeWithIcv {
  readonly value: number;
  readonly name: string;
  readonly voxels: number;
  readonly mm3: number;
  readonly icvFraction?: number;
}

/** What the table is made from: the studio's segmentation and the CLI's result both have it. */
export interface VolumeSource {
  readonly labelInfo: readonly LabelInfo[];
  readonly volumes: readonly LabelVolumeWithIcv[];
  readonly hippocampi?: readonly SideMeasure[];
}

/** One line of the volumes table. */
export interface VolumeRow {
  readonly key: string;
  readonly name: string;
  readonly rgb?: readonly [number, number, number];
  readonly voxels: number;
  readonly mm3: number;
  /** Percent of the intracranial-volume estimate (full head only). */
  readonly icvPercent?: number;
}

/**
 * The volumes table (the studio's and the report's): one row per label, in the label table's colours; on a full head with
 * head/body sub-labels, each whole hippocampus (head + body) is added below its parts.
 */
export function volumeRows(segmentation: VolumeSource): VolumeRow[] {
  const colours = new Map(segmentation.labelInfo.map((l) => [l.value, l.rgb]));
  const percent = (fraction: number | undefined) => (fraction === undefined ? undefined : 100 * fraction);
  const rows: VolumeRow[] = segmentation.volumes.map((v) => ({
    key: `label-${v.value}`,
    name: v.name,
    rgb: colours.get(v.value),
    voxels: v.voxels,
    mm3: v.mm3,
    icvPercent: percent(v.icvFraction),
  }));
  const sides = segmentation.hippocampi ?? [];
  // Without sub-labels the label rows already are the two sides.
  if (sides.length > 0 && segmentation.volumes.length > sides.length) {
    for (const side of sides) {
      rows.push({ key: `whole-${side.side}`, name: `${side.side} hippocampus (whole)`, voxels: side.voxels, mm3: side.mm3, icvPercent: percent(side.icvFraction) });
    }
  }
  return rows;
}
