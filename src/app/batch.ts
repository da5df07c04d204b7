/**
 * Batch mode: a dropped folder of scans (a BIDS dataset or any set of NIfTI/MGZ files)
 * segmented one after another in the worker, with a table, progress, and a CSV export of
 * the same per-scan table the CLI's group level writes (src/bids/group.ts, over the same
 * `scanMeasures`), so the studio and `seahorse bids` report the same numbers.
 */
import { create } from 'zustand';
import { parseBidsName } from '../bids/entities';
import { covariatesFrom, groupTable, type GroupInput, type GroupTable, type ScanOutcome } from '../bids/group';
import { scanMeasures } from '../bids/record';
import { formatCsv, parseTsv } from '../bids/tsv';
import type { ModelManifest } from '../infer/manifest';
import type { BackendPreference, SegmentSettings } from '../workers/protocol';
import { scanStem } from './files';
import type { InferenceClient } from './inference-client';
import { modelSource } from './models';
import { progressDisplay } from './progress-display';

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
  readonly modelId: string;
  readonly modelStatus: string;
  /** participants.tsv from the drop, parsed (its columns join the table). */
  readonly participants: { columns: string[]; rows: Record<string, string>[] } | null;
  readonly notice: string | null;
}

export const emptyBatch: BatchState = { entries: [], outcomes: [], current: null, progress: null, running: false, modelId: '', modelStatus: '', participants: null, notice: null };

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
  readonly model: () => ModelManifest | undefined;
  readonly settings: () => { backend: BackendPreference; settings: SegmentSettings };
}

/** Runs a batch: one scan at a time in the inference worker; a scan that fails is recorded and the next one starts. */
export class BatchRunner {
  private runId: number | undefined;
  private stopped = false;

  constructor(private readonly deps: BatchDeps) {}

  async run(files: readonly File[], participantsTsv: File | null): Promise<void> {
    const manifest = this.deps.model();
    const set = (patch: Partial<BatchState>) => this.deps.store.setState(patch);
    if (!manifest) {
      set({ ...emptyBatch, notice: 'Choose a model first.' });
      return;
    }
    let participants: BatchState['participants'] = null;
    let notice: string | null = null;
    if (participantsTsv) {
      try {
        participants = parseTsv(await participantsTsv.text());
        covariatesFrom(participants);
      } catch (error) {
        participants = null;
        notice = `participants.tsv was not used: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const entries = batchEntries(files);
    this.stopped = false;
    set({ entries, outcomes: entries.map(() => null), current: null, progress: null, running: true, modelId: manifest.id, modelStatus: manifest.status, participants, notice });
    const { backend, settings } = this.deps.settings();
    for (let i = 0; i < entries.length && !this.stopped; i++) {
      set({ current: i, progress: { fraction: 0, label: `Reading ${entries[i].file.name}` } });
      let outcome: ScanOutcome;
      try {
        const bytes = await entries[i].file.arrayBuffer();
        await this.deps.client.open(entries[i].file.name, bytes);
        const { id, outcome: pending } = this.deps.client.segment(modelSource(manifest, this.deps.base), backend, settings, {
          onProgress: (p) => set({ progress: progressDisplay(p) }),
        });
        this.runId = id;
        const result = await pending;
        this.runId = undefined;
        if (result.kind === 'cancelled') break;
        outcome = { status: 'ok', measures: scanMeasures(result, manifest.status), modelId: manifest.id };
      } catch (error) {
        this.runId = undefined;
        outcome = { status: 'failed', error: error instanceof Error ? error.message : String(error) };
      }
      const outcomes = [...this.deps.store.getState().outcomes];
      outcomes[i] = outcome;
      set({ outcomes });
    }
    set({ running: false, current: null, progress: null, notice: this.stopped ? 'Batch stopped; the table holds the scans finished so far.' : this.deps.store.getState().notice });
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
