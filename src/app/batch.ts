/**
 * Batch mode: a dropped folder of scans (a BIDS dataset or any set of NIfTI/MGZ files)
 * segmented one after another in the worker, with a table, progress, and a CSV export of
 * the same per-scan table the CLI's group level writes (src/bids/group.ts, over the same
 * `scanMeasures`), so the studio and `seahorse bids` report the same numbers. Each scan runs with
 * the model a single drop of it would use (Protocol: Auto picks it by the scan's field of view),
 * and each finished scan's result is kept in the browser (kept-outcomes.ts): the same folder
 * dropped again runs only what is not finished.
 */
import { create } from 'zustand';
import { parseBidsName } from '../bids/entities';
import { covariatesFrom, groupTable, type GroupInput, type GroupTable, type ScanOutcome } from '../bids/group';
import { scanMeasures } from '../bids/record';
import { formatCsv, parseTsv } from '../bids/tsv';
import type { ModelManifest } from '../infer/manifest';
import type { BackendPreference, ScanSummary, SegmentSettings } from '../workers/protocol';
import { scanStem } from './files';
import type { InferenceClient } from './inference-client';
import { outcomeKey, type FinishedOutcome, type KeptOutcomeStore } from './kept-outcomes';
import { modelSource } from './models';
import { progressDisplay } from './progress-display';
import { sha256Hex } from './work-db';

export interface BatchEntry {
  readonly file: File;
  /** The path inside the dropped folder (or the file name). */
  readonly source: string;
  readonly participantId: string;
  readonly sessionId: string | null;
}

/** The path a dropped file had inside its folder (set by files.ts's walk), else its name. */
function sourcePath(file: File): string {
  const rel = (file as File & { _webkitRelativePath?: string })._webkitRelativePath || file.webkitRelativePath;
  return rel || file.name;
}

/** Files → entries: BIDS names give participant and session; other files are their own participant (the file stem). */
export function batchEntries(files: readonly File[]): BatchEntry[] {
  return files
    .map((file) => {
      const source = sourcePath(file);
      const bids = parseBidsName(file.name);
      if (bids) return { file, source, participantId: `sub-${bids.entities.sub}`, sessionId: bids.entities.ses ? `ses-${bids.entities.ses}` : null };
      return { file, source, participantId: scanStem(file.name), sessionId: null };
    })
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}

export interface BatchState {
  readonly entries: readonly BatchEntry[];
  /** Per entry: null while queued. */
  readonly outcomes: readonly (ScanOutcome | null)[];
  /** The entry being segmented. */
  readonly current: number | null;
  readonly progress: { readonly fraction: number; readonly label: string } | null;
  readonly running: boolean;
  /** The models the scans ran with so far (one, unless Protocol: Auto chose by field of view). */
  readonly models: readonly Pick<ModelManifest, 'id' | 'status'>[];
  /** Per entry: its result was kept from an earlier run on the same file, model and settings. */
  readonly kept: readonly boolean[];
  /** participants.tsv from the drop, parsed (its columns join the table). */
  readonly participants: { columns: string[]; rows: Record<string, string>[] } | null;
  readonly notice: string | null;
}

export const emptyBatch: BatchState = { entries: [], outcomes: [], current: null, progress: null, running: false, models: [], kept: [], participants: null, notice: null };

export const useBatch = create<BatchState>()(() => emptyBatch);

/** The group table of a batch (queued scans count as not run yet). */
export function batchTable(state: Pick<BatchState, 'entries' | 'outcomes' | 'participants'>): GroupTable {
  const inputs: GroupInput[] = state.entries.map((e, i) => ({
    participantId: e.participantId,
    sessionId: e.sessionId,
    source: e.source,
    outcome: state.outcomes[i] ?? { status: 'missing' },
  }));
  return groupTable(inputs, state.participants ? covariatesFrom(state.participants) : undefined);
}

/** CSV of the batch table: the columns of the CLI's hippocampus_volumes.tsv. */
export function batchCsv(state: Pick<BatchState, 'entries' | 'outcomes' | 'participants'>): string {
  const t = batchTable(state);
  return formatCsv(t.columns, t.rows);
}

export interface BatchDeps {
  readonly client: Pick<InferenceClient, 'open' | 'segment' | 'cancel'>;
  readonly base: string;
  readonly store: { getState(): BatchState; setState(patch: Partial<BatchState>): void };
  /** The model a run on this scan uses (the studio's choice for a single drop of it); throws with the reason when there is none. */
  readonly model: (scan: ScanSummary) => ModelManifest | undefined;
  readonly settings: () => { backend: BackendPreference; settings: SegmentSettings };
  /** Where finished results are kept between sessions; without it a batch always runs every scan. */
  readonly kept?: () => Promise<Pick<KeptOutcomeStore, 'get' | 'put'>>;
}

/** Runs a batch: one scan at a time in the inference worker; a scan that fails is recorded and the next one starts. */
export class BatchRunner {
  private runId: number | undefined;
  private stopped = false;

  constructor(private readonly deps: BatchDeps) {}

  async run(files: readonly File[], participantsTsv: File | null): Promise<void> {
    const set = (patch: Partial<BatchState>) => this.deps.store.setState(patch);
    let participants: BatchState['participants'] = null;
    let notice: string | null = null;
    if (participantsTsv) {
      try {
        participants = parseTsv(await participantsTsv.text());
        covariatesFrom(participants);
      } catch (error) {
        participants = null;
        notice = `participants.tsv was not used: ${messageOf(error)}`;
      }
    }
    const entries = batchEntries(files);
    this.stopped = false;
    set({ entries, outcomes: entries.map(() => null), kept: entries.map(() => false), current: null, progress: null, running: true, models: [], participants, notice });
    const { backend, settings } = this.deps.settings();
    for (let i = 0; i < entries.length && !this.stopped; i++) {
      set({ current: i, progress: { fraction: 0, label: `Reading ${entries[i].file.name}` } });
      let outcome: ScanOutcome;
      let kept = false;
      try {
        const bytes = await entries[i].file.arrayBuffer();
        // Hashed before the bytes move to the worker.
        const fileSha = this.deps.kept ? await sha256Hex(bytes).catch(() => undefined) : undefined;
        const { scan } = await this.deps.client.open(entries[i].file.name, bytes);
        const manifest = this.deps.model(scan);
        if (!manifest) throw new Error('no model is selected');
        this.noteModel(manifest);
        const key = fileSha && outcomeKey({ fileSha, model: manifest, path: settings.path, sublabels: settings.sublabels, localiser: !!settings.localiser });
        const found = key ? await this.findKept(key) : undefined;
        if (found) {
          outcome = found;
          kept = true;
        } else {
          const { id, outcome: pending } = this.deps.client.segment(modelSource(manifest, this.deps.base), backend, settings, {
            onProgress: (p) => set({ progress: progressDisplay(p) }),
          });
          this.runId = id;
          const result = await pending;
          this.runId = undefined;
          if (result.kind === 'cancelled') break;
          const finished: FinishedOutcome = { status: 'ok', measures: scanMeasures(result, manifest.status), modelId: manifest.id };
          outcome = finished;
          if (key) await this.keep(key, finished);
        }
      } catch (error) {
        this.runId = undefined;
        outcome = { status: 'failed', error: messageOf(error) };
      }
      const state = this.deps.store.getState();
      set({ outcomes: state.outcomes.map((o, n) => (n === i ? outcome : o)), kept: state.kept.map((k, n) => (n === i ? kept : k)) });
    }
    const reused = this.deps.store.getState().kept.filter(Boolean).length;
    const from = 'kept in this browser from an earlier run on the same files, model and settings';
    const keptNote = !reused ? null : reused === entries.length ? `All ${reused} results were ${from}.` : `${reused} of ${entries.length} results were ${from}; the other scans ran now.`;
    const goOn = this.deps.kept ? ' (kept in this browser: drop the folder again to go on)' : '';
    const ended = this.stopped ? `Batch stopped; the table holds the scans finished so far${goOn}.` : this.deps.store.getState().notice;
    set({ running: false, current: null, progress: null, notice: [ended, keptNote].filter(Boolean).join(' ') || null });
  }

  private noteModel(manifest: ModelManifest): void {
    const { models } = this.deps.store.getState();
    if (!models.some((m) => m.id === manifest.id)) this.deps.store.setState({ models: [...models, { id: manifest.id, status: manifest.status }] });
  }

  /** A kept result, or undefined (a storage failure is said in the notice, and the scan runs). */
  private async findKept(key: string): Promise<FinishedOutcome | undefined> {
    try {
      return await (await this.deps.kept!()).get(key);
    } catch (error) {
      this.storageTrouble(error);
      return undefined;
    }
  }

  private async keep(key: string, outcome: FinishedOutcome): Promise<void> {
    try {
      await (await this.deps.kept!()).put(key, outcome);
    } catch (error) {
      this.storageTrouble(error);
    }
  }

  private storageTrouble(error: unknown): void {
    const notice = `Results could not be kept in this browser (${messageOf(error)}): export the CSV to keep them.`;
    const current = this.deps.store.getState().notice;
    if (!current?.includes(notice)) this.deps.store.setState({ notice: current ? `${current} ${notice}` : notice });
  }

  /** Stops after cancelling the scan in flight. */
  stop(): void {
    this.stopped = true;
    if (this.runId !== undefined) this.deps.client.cancel(this.runId);
  }

  close(): void {
    this.stop();
    this.deps.store.setState(emptyBatch);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
