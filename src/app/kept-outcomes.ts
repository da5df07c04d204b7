/**
 * Batch mode's per-scan results, kept in the studio's work database (work-db.ts) as each scan
 * finishes: a folder dropped again after a reload, a crashed tab or a Stop takes the finished
 * scans' results from here and runs only the rest, as `seahorse bids` skips the participants it
 * has finished. A result is kept for one scan file (its SHA-256), model (id and the SHA-256 of its
 * weights) and settings; failures are not kept (they run again).
 */
import type { ScanOutcome } from '../bids/group';
import type { ModelManifest } from '../infer/manifest';
import type { ScanPathChoice } from '../workers/protocol';
import { openedOnce, OUTCOMES_STORE, WorkStore } from './work-db';

/** Results kept; the least recently saved beyond this are dropped (each is a few hundred bytes). */
export const MAX_KEPT_OUTCOMES = 5000;

export type FinishedOutcome = Extract<ScanOutcome, { status: 'ok' }>;

/** What makes a result the same: the file, the model's weights, and the settings of the run. */
export interface OutcomeKeyParts {
  /** SHA-256 of the scan file's bytes, hex. */
  readonly fileSha: string;
  readonly model: Pick<ModelManifest, 'id' | 'sha256'>;
  readonly path: ScanPathChoice;
  readonly sublabels: boolean;
  /** Whether the full-head localiser ran beside the registration. */
  readonly localiser: boolean;
}

export function outcomeKey(p: OutcomeKeyParts): string {
  return [p.fileSha, p.model.id, p.model.sha256 ?? 'weights-unknown', p.path, p.sublabels ? 'sublabels' : 'whole', p.localiser ? 'localiser' : 'no-localiser'].join(':');
}

interface StoredOutcome {
  readonly key: string;
  readonly outcome: FinishedOutcome;
  readonly savedAt: number;
}

export class KeptOutcomeStore {
  private constructor(private readonly store: WorkStore<StoredOutcome>) {}

  static async open(factory?: IDBFactory, name?: string): Promise<KeptOutcomeStore> {
    return new KeptOutcomeStore(await WorkStore.open<StoredOutcome>(OUTCOMES_STORE, MAX_KEPT_OUTCOMES, factory, name));
  }

  async get(key: string): Promise<FinishedOutcome | undefined> {
    return (await this.store.get(key))?.outcome;
  }

  put(key: string, outcome: FinishedOutcome): Promise<void> {
    return this.store.put({ key, outcome, savedAt: Date.now() });
  }
}

/** The page's handle on batch mode's kept results. */
export const keptOutcomeStore = openedOnce(() => KeptOutcomeStore.open());
