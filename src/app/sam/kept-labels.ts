/**
 * The prompt tool's label volumes, kept in the studio's work database (../work-db.ts) so that
 * accepted masks survive a reload or a crashed tab. One record per scan, keyed by the SHA-256 of
 * the scan file's bytes (the same file opened again finds its labels; another scan of the same
 * name and size does not). Nothing leaves the page; the scan itself is not stored.
 */
import type { LabelInfo } from '../../core/labels';
import type { ScanGrid } from '../../workers/sam-protocol';
import { DeflatedStore, LABELS_STORE, openedOnce, WorkStore, type Deflated } from '../work-db';

/** Scans whose labels are kept; the least recently saved beyond this are dropped. */
export const MAX_KEPT_SCANS = 8;

/** One scan's working label volume as the prompt tool left it. */
export interface KeptLabels {
  /** SHA-256 of the scan file's bytes, hex (`sha256Hex`). */
  readonly scanKey: string;
  /** The scan's grid (voxel → world mm): a record is only restored onto a scan of the same dims. */
  readonly grid: ScanGrid;
  readonly labels: Uint8Array;
  /** The names and colours of the labels accepted with the tool. */
  readonly names: readonly LabelInfo[];
  /** Page clock (`Date.now()`) of the last save. */
  readonly savedAt: number;
}

export class KeptLabelStore extends DeflatedStore<KeptLabels, 'labels'> {
  static async open(factory?: IDBFactory, name?: string): Promise<KeptLabelStore> {
    return new KeptLabelStore(await WorkStore.open<Deflated<KeptLabels, 'labels'>>(LABELS_STORE, MAX_KEPT_SCANS, factory, name), 'labels');
  }
}

/** The page's handle on the prompt tool's kept labels. */
export const keptLabelStore = openedOnce(() => KeptLabelStore.open());
