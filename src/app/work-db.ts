/**
 * The studio's work database in this browser's IndexedDB: what the user made in the page that must
 * survive a reload or a crashed tab without leaving the computer. Its stores: the prompt tool's
 * label volumes (sam/kept-labels.ts), pen corrections of the studio's masks
 * (finetune/kept-corrections.ts) and batch mode's per-scan results (kept-outcomes.ts), each keyed
 * by the scan file's SHA-256 (`sha256Hex`). No scan and no file name is stored: a record says
 * which file it belongs to only by that hash. The adapters have their own database
 * (src/train/adapter-store.ts).
 */
import { deflateSync, inflateSync } from 'fflate';

const WORK_DB_NAME = 'seahorse-work';
const DB_VERSION = 3;
export const LABELS_STORE = 'prompt-labels';
export const OUTCOMES_STORE = 'batch-outcomes';
export const CORRECTIONS_STORE = 'mask-corrections';

export class WorkStorageError extends Error {
  override readonly name = 'WorkStorageError';
}

/** Opens (creating or upgrading on first use) the work database. */
async function openWorkDb(factory: IDBFactory = globalThis.indexedDB, name = WORK_DB_NAME): Promise<IDBDatabase> {
  if (!factory) throw new WorkStorageError('this browser has no IndexedDB');
  const open = factory.open(name, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains(LABELS_STORE)) db.createObjectStore(LABELS_STORE, { keyPath: 'scanKey' });
    if (!db.objectStoreNames.contains(OUTCOMES_STORE)) db.createObjectStore(OUTCOMES_STORE, { keyPath: 'key' });
    if (!db.objectStoreNames.contains(CORRECTIONS_STORE)) db.createObjectStore(CORRECTIONS_STORE, { keyPath: 'scanKey' });
  };
  return request(open);
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new WorkStorageError(`browser storage failed: ${r.error?.message ?? 'unknown error'}`));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => {
      const quota = tx.error?.name === 'QuotaExceededError';
      reject(new WorkStorageError(quota ? 'browser storage is full' : `browser storage failed: ${tx.error?.message ?? 'aborted'}`));
    };
  });
}

/** A file's identity: SHA-256 of its bytes, hex. */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One store of the work database: records with a `savedAt` (`Date.now()`), keyed by the store's
 * key path; a save drops the oldest records beyond `keep`.
 */
export class WorkStore<R extends { readonly savedAt: number }> {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly name: string,
    private readonly keep: number,
  ) {}

  static async open<R extends { readonly savedAt: number }>(name: string, keep: number, factory?: IDBFactory, dbName?: string): Promise<WorkStore<R>> {
    return new WorkStore<R>(await openWorkDb(factory, dbName), name, keep);
  }

  async get(key: string): Promise<R | undefined> {
    const tx = this.db.transaction(this.name, 'readonly');
    return (await request(tx.objectStore(this.name).get(key))) as R | undefined;
  }

  /** Saves a record (replacing the one under its key) and drops the oldest beyond `keep`. */
  async put(record: R): Promise<void> {
    const tx = this.db.transaction(this.name, 'readwrite');
    const store = tx.objectStore(this.name);
    store.put(record);
    const keyPath = store.keyPath as string;
    const all = (await request(store.getAll())) as (R & Record<string, unknown>)[];
    all
      .sort((a, b) => b.savedAt - a.savedAt)
      .slice(this.keep)
      .forEach((old) => store.delete(old[keyPath] as IDBValidKey));
    await done(tx);
  }

  async delete(key: string): Promise<void> {
    const tx = this.db.transaction(this.name, 'readwrite');
    tx.objectStore(this.name).delete(key);
    await done(tx);
  }

  /** The keys kept, newest first. */
  async keys(): Promise<string[]> {
    const tx = this.db.transaction(this.name, 'readonly');
    const store = tx.objectStore(this.name);
    const keyPath = store.keyPath as string;
    const all = (await request(store.getAll())) as (R & Record<string, unknown>)[];
    return all.sort((a, b) => b.savedAt - a.savedAt).map((r) => r[keyPath] as string);
  }
}

/** A record as `DeflatedStore` stores it: its `F` bytes deflated. */
export type Deflated<R, F extends keyof R> = Omit<R, F> & { readonly deflated: Uint8Array; readonly savedAt: number };

/**
 * A work store whose records each hold one large byte array (a label volume, a mask file), stored
 * deflated: a mask is mostly zeros (16 MB → tens of kB).
 */
export class DeflatedStore<R extends { readonly savedAt: number }, F extends keyof R> {
  protected constructor(
    private readonly store: WorkStore<Deflated<R, F>>,
    private readonly field: F,
  ) {}

  async get(key: string): Promise<R | undefined> {
    const stored = await this.store.get(key);
    if (!stored) return undefined;
    const { deflated, ...rest } = stored;
    return { ...rest, [this.field]: inflateSync(deflated) } as unknown as R;
  }

  /** Saves a record (replacing the one under its key); only the newest records are kept. */
  async put(record: R): Promise<void> {
    const { [this.field]: bytes, ...rest } = record;
    await this.store.put({ ...rest, deflated: deflateSync(bytes as Uint8Array, { level: 1 }) } as unknown as Deflated<R, F>);
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  /** The keys kept, newest first. */
  keys(): Promise<string[]> {
    return this.store.keys();
  }
}

/** The page's handle on a store: opened on first use, shared, and opened again after a failure. */
export function openedOnce<T>(open: () => Promise<T>): () => Promise<T> {
  let opened: Promise<T> | undefined;
  return () => {
    opened ??= open();
    opened.catch(() => (opened = undefined));
    return opened;
  };
}
