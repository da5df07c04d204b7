/**
 * Pen corrections of the studio's masks, kept in the studio's work database (../work-db.ts) while
 * the user draws: a reload or a crashed tab does not lose a correction, and the same scan file
 * opened again can continue it. One record per scan, keyed by the SHA-256 of the scan file's bytes;
 * the mask is NiiVue's drawing written as a NIfTI on the scan's grid (`ScanViewer.correctedMask`).
 */
import { CORRECTIONS_STORE, DeflatedStore, openedOnce, WorkStore, type Deflated } from '../work-db';

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

export class KeptCorrectionStore extends DeflatedStore<KeptCorrection, 'nifti'> {
  static async open(factory?: IDBFactory, name?: string): Promise<KeptCorrectionStore> {
    return new KeptCorrectionStore(await WorkStore.open<Deflated<KeptCorrection, 'nifti'>>(CORRECTIONS_STORE, MAX_KEPT_CORRECTIONS, factory, name), 'nifti');
  }
}

/** The page's handle on the kept corrections. */
export const keptCorrectionStore = openedOnce(() => KeptCorrectionStore.open());
