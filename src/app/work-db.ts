/**
 * The studio's work database in this browser's IndexedDB: what the user made in the page that must
 * survive a reload or a crashed tab without leaving the computer. Its stores: the prompt tool's
 * label volumes (sam/kept-labels.ts), pen corrections of the studio's masks
 * (finetune/kept-corrections.ts) and batch mode's per-scan results (kept-outcomes.ts), each keyed
 * by the scan file's SHA-256 (`sha256Hex`). No scan and no file name is stored: a record says
 * which file it belongs to only by that hash. The adapters have their own database
 * (src/train/adapter-store.ts).
 */
export const WORK_DB_NAME = 'seahorse-work';
const DB_VERSION = 3;
export const LABELS_STORE = 'prompt-labels';
export const OUTCOMES_STORE = 'batch-outcomes';
export const CORRECTIONS_STORE = 'mask-corrections';

export class WorkStorageError extends Error {
  override readonly name = 'WorkStorageError';
}

/** Opens (creating or upgrading on first use) the work database. */
export async function openWorkDb(factory: IDBFactory = globalThis.indexedDB, name = WORK_DB_NAME): Promise<IDBDatabase> {
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

export function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new WorkStorageError(`browser storage failed: ${r.error?.message ?? 'unknown error'}`));
  });
}

export function done(tx: IDBTransaction): Promise<void> {
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

/** Deletes, in `store`, the records beyond the `keep` newest by `savedAt` (inside the caller's transaction). */
export async function pruneOldest(store: IDBObjectStore, keep: number): Promise<void> {
  const keyPath = store.keyPath as string;
  const all = (await request(store.getAll())) as ({ savedAt: number } & Record<string, unknown>)[];
  all
    .sort((a, b) => b.savedAt - a.savedAt)
    .slice(keep)
    .forEach((old) => store.delete(old[keyPath] as IDBValidKey));
}
