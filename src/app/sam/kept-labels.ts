/**
 * The prompt tool's label volumes, kept in the studio's work database (../work-db.ts) so that
 * accepted masks survive a reload or a crashed tab. One record per scan, keyed by the SHA-256 of
 * the scan file's bytes (the same file opened again finds its labels; another scan of the same
 * name and size does not). Nothing leaves the page; the scan itself is not stored.
 */
import { deflateSync, inflateSync } from 'fflate';
import type { LabelInfo } from '../../core/labels';
import type { ScanGrid } from '../../workers/sam-protocol';
import { done, LABELS_STORE, openWorkDb, pruneOldest, request } from '../work-db';

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

/** As stored: the label volume deflated (a label map is mostly zeros: 16 MB → tens of kB). */
interface StoredLabels extends Omit<KeptLabels, 'labels'> {
  readonly deflated: Uint8Array;
}

export class KeptLabelStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(factory?: IDBFactory, name?: string): Promise<KeptLabelStore> {
    return new KeptLabelStore(await openWorkDb(factory, name));
  }

  close(): void {
    this.db.close();
  }

  async get(key: string): Promise<KeptLabels | undefined> {
    const tx = this.db.transaction(LABELS_STORE, 'readonly');
    const stored = (await request(tx.objectStore(LABELS_STORE).get(key))) as StoredLabels | undefined;
    if (!stored) return undefined;
    const { deflated, ...rest } = stored;
    return { ...rest, labels: inflateSync(deflated) };
  }

  /** Saves a scan's labels (replacing its earlier ones) and drops the oldest scans beyond `MAX_KEPT_SCANS`. */
  async put(kept: KeptLabels): Promise<void> {
    const { labels, ...rest } = kept;
    const stored: StoredLabels = { ...rest, deflated: deflateSync(labels, { level: 1 }) };
    const tx = this.db.transaction(LABELS_STORE, 'readwrite');
    const store = tx.objectStore(LABELS_STORE);
    store.put(stored);
    await pruneOldest(store, MAX_KEPT_SCANS);
    await done(tx);
  }

  async delete(key: string): Promise<void> {
    const tx = this.db.transaction(LABELS_STORE, 'readwrite');
    tx.objectStore(LABELS_STORE).delete(key);
    await done(tx);
  }

  /** The keys kept, newest first. */
  async keys(): Promise<string[]> {
    const tx = this.db.transaction(LABELS_STORE, 'readonly');
    const all = (await request(tx.objectStore(LABELS_STORE).getAll())) as StoredLabels[];
    return all.sort((a, b) => b.savedAt - a.savedAt).map((r) => r.scanKey);
  }
}

let opened: Promise<KeptLabelStore> | undefined;

/** The page's handle on the work database, opened on first use (a failed open is tried again next time). */
export function keptLabelStore(): Promise<KeptLabelStore> {
  opened ??= KeptLabelStore.open();
  opened.catch(() => (opened = undefined));
  return opened;
}
