/**
 * Pen corrections of the studio's masks, kept in the studio's work database (../work-db.ts) while
 * the user draws: a reload or a crashed tab does not lose a correction, and the same scan file
 * opened again can continue it. One record per scan, keyed by the SHA-256 of the scan file's bytes;
 * the mask is NiiVue's drawing written as a NIfTI on the scan's grid (`ScanViewer.correctedMask`).
 */
import { deflateSync, inflateSync } from 'fflate';
import { CORRECTIONS_STORE, done, openWorkDb, pruneOldest, request } from '../work-db';

/** Scans whose corrections are kept; the least recently saved beyond this are dropped. */
export const MAX_KEPT_CORRECTIONS = 8;

export interface KeptCorrection {
  /** SHA-256 of the scan file's bytes, hex. */
  readonly scanKey: string;
  /** The corrected mask as a NIfTI file on the scan's grid. */
  readonly nifti: Uint8Array;
  /** Page clock (`Date.now()`) of the last save. */
  readonly savedAt: number;
}

/** As stored: the NIfTI deflated (a mask is mostly zeros). */
interface StoredCorrection extends Omit<KeptCorrection, 'nifti'> {
  readonly deflated: Uint8Array;
}

export class KeptCorrectionStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(factory?: IDBFactory, name?: string): Promise<KeptCorrectionStore> {
    return new KeptCorrectionStore(await openWorkDb(factory, name));
  }

  async get(key: string): Promise<KeptCorrection | undefined> {
    const tx = this.db.transaction(CORRECTIONS_STORE, 'readonly');
    const stored = (await request(tx.objectStore(CORRECTIONS_STORE).get(key))) as StoredCorrection | undefined;
    if (!stored) return undefined;
    const { deflated, ...rest } = stored;
    return { ...rest, nifti: inflateSync(deflated) };
  }

  /** Saves a scan's correction (replacing its earlier one) and drops the oldest beyond `MAX_KEPT_CORRECTIONS`. */
  async put(kept: KeptCorrection): Promise<void> {
    const { nifti, ...rest } = kept;
    const tx = this.db.transaction(CORRECTIONS_STORE, 'readwrite');
    const store = tx.objectStore(CORRECTIONS_STORE);
    store.put({ ...rest, deflated: deflateSync(nifti, { level: 1 }) } satisfies StoredCorrection);
    await pruneOldest(store, MAX_KEPT_CORRECTIONS);
    await done(tx);
  }

  async delete(key: string): Promise<void> {
    const tx = this.db.transaction(CORRECTIONS_STORE, 'readwrite');
    tx.objectStore(CORRECTIONS_STORE).delete(key);
    await done(tx);
  }
}

let opened: Promise<KeptCorrectionStore> | undefined;

/** The page's handle on the work database's corrections, opened on first use (a failed open is tried again next time). */
export function keptCorrectionStore(): Promise<KeptCorrectionStore> {
  opened ??= KeptCorrectionStore.open();
  opened.catch(() => (opened = undefined));
  return opened;
}
