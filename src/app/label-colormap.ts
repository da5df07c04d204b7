import type { LabelInfo } from '../core/labels';

/** NiiVue's label colour table: parallel arrays indexed by voxel value (`I`). */
export interface NiivueLabelColormap {
  R: number[];
  G: number[];
  B: number[];
  A: number[];
  I: number[];
  labels: string[];
}

const opaque = 255;

/**
 * The manifest's labels as a NiiVue label colormap. Every value from 0 to the largest label
 * gets an entry (NiiVue indexes the table by value); background and unnamed values are
 * transparent, so only the named structures show over the scan.
 */
export function labelColormap(labels: readonly LabelInfo[]): NiivueLabelColormap {
  const top = labels.reduce((max, label) => Math.max(max, label.value), 0);
  const map: NiivueLabelColormap = { R: [], G: [], B: [], A: [], I: [], labels: [] };
  for (let value = 0; value <= top; value++) {
    const label = value === 0 ? undefined : labels.find((l) => l.value === value);
    map.I.push(value);
    map.R.push(label?.rgb[0] ?? 0);
    map.G.push(label?.rgb[1] ?? 0);
    map.B.push(label?.rgb[2] ?? 0);
    map.A.push(label ? opaque : 0);
    map.labels.push(label?.name ?? (value === 0 ? 'background' : ''));
  }
  return map;
}

/** `#rrggbb` for a label swatch in the volumes table. */
export function cssColour(rgb: readonly [number, number, number]): string {
  return `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Label values renumbered 1…n in the order given (0 and values not listed → 0), for display:
 * NiiVue's label table is indexed by value, and a sparse table running up to a large value (the
 * prompt tool's preview, 255) drew the background in a label's colour. The volume written and
 * exported keeps its own values; only what the viewer draws is renumbered.
 */
export function denseLabels(data: Uint8Array, labels: readonly LabelInfo[]): { data: Uint8Array; labels: LabelInfo[] } {
  const index = new Uint8Array(256);
  const dense = labels.map((l, i) => {
    index[l.value] = i + 1;
    return { ...l, value: i + 1 };
  });
  return { data: data.map((v) => index[v]), labels: dense };
}
