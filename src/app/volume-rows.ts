import type { Segmentation } from './store';

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
 * The volumes table: one row per label, in the label table's colours; on a full head with
 * head/body sub-labels, each whole hippocampus (head + body) is added below its parts.
 */
export function volumeRows(segmentation: Pick<Segmentation, 'labelInfo' | 'volumes' | 'hippocampi'>): VolumeRow[] {
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
