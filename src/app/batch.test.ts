import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { groupTable } from '../bids/group';
import { scanMeasures, type SegmentationReport } from '../bids/record';
import { formatCsv } from '../bids/tsv';
import type { ModelManifest } from '../infer/manifest';
import type { ScanSummary } from '../workers/protocol';
import { batchCsv, batchEntries, BatchRunner, emptyBatch, type BatchDeps, type BatchState } from './batch';
import { WorkerFailure } from './inference-client';
import { KeptOutcomeStore } from './kept-outcomes';

const file = (path: string, content = path) => {
  const f = new File([new TextEncoder().encode(content)], path.split('/').pop()!);
  Object.defineProperty(f, '_webkitRelativePath', { value: path });
  return f;
};

const fullHead = (left: number, right: number): SegmentationReport => ({
  path: 'full-head',
  volumes: [
    { value: 1, name: 'left hippocampus', voxels: left, mm3: left, icvFraction: left / 1.4e6 },
    { value: 2, name: 'right hippocampus', voxels: right, mm3: right, icvFraction: right / 1.4e6 },
  ],
  warnings: [],
  timingsMs: { total: 1 },
  registration: { quality: 'good', ncc: 0.8, brainNcc: 0.6, brainCoverage: 1, icvMm3: 1.4e6 },
  hippocampi: [
    { side: 'left', voxels: left, mm3: left },
    { side: 'right', voxels: right, mm3: right },
  ],
});

describe('batch mode', () => {
  it('names scans by their BIDS entities, other files by their stem, in path order', () => {
    const entries = batchEntries([file('ds/sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz'), file('ds/extra/head.mgz'), file('ds/sub-01/anat/sub-01_T1w.nii')]);
    expect(entries.map((e) => [e.source, e.participantId, e.sessionId])).toEqual([
      ['ds/extra/head.mgz', 'head', null],
      ['ds/sub-01/anat/sub-01_T1w.nii', 'sub-01', null],
      ['ds/sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz', 'sub-02', 'ses-1'],
    ]);
  });

  it('runs each scan in the worker, records a failure and goes on; the CSV is the group table the CLI writes', async () => {
    const store = create<BatchState>()(() => emptyBatch);
    const files = [file('ds/sub-01/anat/sub-01_T1w.nii.gz'), file('ds/sub-02/anat/sub-02_T1w.nii.gz'), file('ds/sub-03/anat/sub-03_T1w.nii.gz')];
    const opened: string[] = [];
    let current = '';
    const client = {
      open: async (name: string) => {
        opened.push(name);
        current = name;
        if (name.startsWith('sub-02')) throw new WorkerFailure('open', 'sub-02_T1w.nii.gz is not a NIfTI file.');
        return { scan: { name } } as never;
      },
      segment: () => ({ id: 1, outcome: Promise.resolve({ kind: 'result' as const, ...(current.startsWith('sub-01') ? fullHead(3000, 3100) : fullHead(3500, 3300)), labels: {} as never, labelInfo: [], backend: { name: 'wasm' as const, reason: '' } }) }),
      cancel: () => {},
    };
    const manifest = { id: 'swinunetr', status: 'trained', onnx: 'swinunetr.onnx', externalData: [] } as unknown as ModelManifest;
    const asked: string[] = [];
    const model = (scan: ScanSummary) => (asked.push(scan.name), manifest);
    const runner = new BatchRunner({ client: client as unknown as BatchDeps['client'], base: '/', store, model, settings: () => ({ backend: 'auto', settings: { path: 'auto', sublabels: false } }) });
    const participants = new File(['participant_id\tage\tdiagnosis\nsub-01\t70\tAD\nsub-03\t64\tCN\n'], 'participants.tsv');
    await runner.run(files, participants);
    expect(opened).toEqual(['sub-01_T1w.nii.gz', 'sub-02_T1w.nii.gz', 'sub-03_T1w.nii.gz']);
    const state = store.getState();
    expect(state.running).toBe(false);
    expect(state.outcomes.map((o) => o?.status)).toEqual(['ok', 'failed', 'ok']);
    // The model is chosen for each opened scan, as for a single drop of it.
    expect(asked).toEqual(['sub-01_T1w.nii.gz', 'sub-03_T1w.nii.gz']);
    expect(state.models).toEqual([{ id: 'swinunetr', status: 'trained' }]);

    // The CLI's group level on the same three results (src/cli/bids.ts → groupTable → formatTsv).
    const cli = groupTable(
      [
        { participantId: 'sub-01', sessionId: null, source: 'ds/sub-01/anat/sub-01_T1w.nii.gz', outcome: { status: 'ok', measures: scanMeasures(fullHead(3000, 3100), 'trained'), modelId: 'swinunetr' } },
        { participantId: 'sub-02', sessionId: null, source: 'ds/sub-02/anat/sub-02_T1w.nii.gz', outcome: { status: 'failed', error: 'sub-02_T1w.nii.gz is not a NIfTI file.' } },
        { participantId: 'sub-03', sessionId: null, source: 'ds/sub-03/anat/sub-03_T1w.nii.gz', outcome: { status: 'ok', measures: scanMeasures(fullHead(3500, 3300), 'trained'), modelId: 'swinunetr' } },
      ],
      { columns: ['participant_id', 'age', 'diagnosis'], byParticipant: new Map([['sub-01', { participant_id: 'sub-01', age: '70', diagnosis: 'AD' }], ['sub-03', { participant_id: 'sub-03', age: '64', diagnosis: 'CN' }]]) },
    );
    const csv = batchCsv(state);
    expect(csv).toBe(formatCsv(cli.columns, cli.rows));
    expect(csv.split('\r\n')[0]).toMatch(/^participant_id,session_id,source,status,left_hippocampus_mm3,.*,age,diagnosis$/);
    expect(csv.split('\r\n')[2]).toMatch(/^sub-02,,ds\/sub-02\/anat\/sub-02_T1w.nii.gz,failed,.*,failed,sub-02_T1w.nii.gz is not a NIfTI file.,,,$/);
  });

  it('keeps each finished result in the browser: the same files dropped again run only what is not finished', async () => {
    const factory = new IDBFactory();
    const kept = () => KeptOutcomeStore.open(factory);
    const files = () => [file('ds/sub-01/anat/sub-01_T1w.nii.gz'), file('ds/sub-02/anat/sub-02_T1w.nii.gz'), file('ds/sub-03/anat/sub-03_T1w.nii.gz')];
    /** A page's batch: sub-02 fails to segment while `failing`; the models are chosen by scan name (sub-03 is a crop). */
    const page = (opts: { failing: boolean; weights: string }) => {
      const store = create<BatchState>()(() => emptyBatch);
      const segmented: string[] = [];
      let current = '';
      const client = {
        open: async (name: string) => ((current = name), { scan: { name } } as never),
        segment: () => {
          segmented.push(current);
          if (opts.failing && current.startsWith('sub-02')) return { id: 1, outcome: Promise.reject(new WorkerFailure('segment', 'the device was lost')) };
          return { id: 1, outcome: Promise.resolve({ kind: 'result' as const, ...fullHead(3000, 3100), labels: {} as never, labelInfo: [], backend: { name: 'wasm' as const, reason: '' } }) };
        },
        cancel: () => {},
      };
      const fs = { id: 'swinunetr-fs', status: 'trained', sha256: opts.weights, onnx: 'x.onnx', externalData: [] } as unknown as ModelManifest;
      const msd = { id: 'swinunetr', status: 'trained', sha256: opts.weights, onnx: 'y.onnx', externalData: [] } as unknown as ModelManifest;
      const runner = new BatchRunner({
        client: client as unknown as BatchDeps['client'],
        base: '/',
        store,
        model: (scan) => (scan.name.startsWith('sub-03') ? msd : fs),
        settings: () => ({ backend: 'auto', settings: { path: 'auto', sublabels: false } }),
        kept,
      });
      return { store, runner, segmented };
    };

    const first = page({ failing: true, weights: 'a' });
    await first.runner.run(files(), null);
    expect(first.segmented).toEqual(['sub-01_T1w.nii.gz', 'sub-02_T1w.nii.gz', 'sub-03_T1w.nii.gz']);
    expect(first.store.getState().outcomes.map((o) => o?.status)).toEqual(['ok', 'failed', 'ok']);
    expect(first.store.getState().models.map((m) => m.id)).toEqual(['swinunetr-fs', 'swinunetr']);

    // A reload: the same files in a new page run only the scan that failed.
    const again = page({ failing: false, weights: 'a' });
    await again.runner.run(files(), null);
    expect(again.segmented).toEqual(['sub-02_T1w.nii.gz']);
    const state = again.store.getState();
    expect(state.outcomes.map((o) => o?.status)).toEqual(['ok', 'ok', 'ok']);
    expect(state.kept).toEqual([true, false, true]);
    expect(state.notice).toBe('2 of 3 results were kept in this browser from an earlier run on the same files, model and settings; the other scans ran now.');
    expect(batchCsv(state)).toBe(batchCsv({ ...state, outcomes: [first.store.getState().outcomes[0], state.outcomes[1], first.store.getState().outcomes[2]] }));

    const third = page({ failing: false, weights: 'a' });
    await third.runner.run(files(), null);
    expect(third.segmented).toEqual([]);
    expect(third.store.getState().notice).toBe('All 3 results were kept in this browser from an earlier run on the same files, model and settings.');

    // Other weights under the same model id, or another file under the same name: run again.
    const updated = page({ failing: false, weights: 'b' });
    await updated.runner.run(files(), null);
    expect(updated.segmented).toHaveLength(3);
    const edited = page({ failing: false, weights: 'a' });
    await edited.runner.run([file('ds/sub-01/anat/sub-01_T1w.nii.gz', 'other bytes'), ...files().slice(1)], null);
    expect(edited.segmented).toEqual(['sub-01_T1w.nii.gz']);
  });

  it('a stopped batch goes on where it stopped when the folder is dropped again', async () => {
    const factory = new IDBFactory();
    const manifest = { id: 'swinunetr-fs', status: 'trained', sha256: 'a', onnx: 'x.onnx', externalData: [] } as unknown as ModelManifest;
    const page = () => {
      const store = create<BatchState>()(() => emptyBatch);
      const segmented: string[] = [];
      let current = '';
      let runner: BatchRunner;
      const client = {
        open: async (name: string) => ((current = name), { scan: { name } } as never),
        segment: () => {
          segmented.push(current);
          // The user presses Stop while the first scan runs; it still finishes.
          if (segmented.length === 1) runner.stop();
          return { id: 1, outcome: Promise.resolve({ kind: 'result' as const, ...fullHead(3000, 3100), labels: {} as never, labelInfo: [], backend: { name: 'wasm' as const, reason: '' } }) };
        },
        cancel: () => {},
      };
      runner = new BatchRunner({ client: client as unknown as BatchDeps['client'], base: '/', store, model: () => manifest, settings: () => ({ backend: 'auto', settings: { path: 'auto', sublabels: false } }), kept: () => KeptOutcomeStore.open(factory) });
      return { store, runner, segmented };
    };
    const files = () => [file('ds/a.nii.gz'), file('ds/b.nii.gz'), file('ds/c.nii.gz')];
    const first = page();
    await first.runner.run(files(), null);
    expect(first.segmented).toEqual(['a.nii.gz']);
    expect(first.store.getState().notice).toBe('Batch stopped; the table holds the scans finished so far (kept in this browser: drop the folder again to go on).');
    const again = page();
    await again.runner.run(files(), null);
    // a.nii.gz comes from the browser; the stop in this harness falls on the next scan run.
    expect(again.segmented).toEqual(['b.nii.gz']);
    expect(again.store.getState().kept).toEqual([true, false, false]);
  });

  it('says so when the browser cannot keep results, and runs every scan', async () => {
    const store = create<BatchState>()(() => emptyBatch);
    const client = {
      open: async (name: string) => ({ scan: { name } }) as never,
      segment: () => ({ id: 1, outcome: Promise.resolve({ kind: 'result' as const, ...fullHead(3000, 3100), labels: {} as never, labelInfo: [], backend: { name: 'wasm' as const, reason: '' } }) }),
      cancel: () => {},
    };
    const manifest = { id: 'swinunetr-fs', status: 'trained', onnx: 'x.onnx', externalData: [] } as unknown as ModelManifest;
    const runner = new BatchRunner({
      client: client as unknown as BatchDeps['client'],
      base: '/',
      store,
      model: () => manifest,
      settings: () => ({ backend: 'auto', settings: { path: 'auto', sublabels: false } }),
      kept: async () => {
        throw new Error('browser storage is full');
      },
    });
    await runner.run([file('a/one.nii.gz'), file('a/two.nii.gz')], null);
    const state = store.getState();
    expect(state.outcomes.map((o) => o?.status)).toEqual(['ok', 'ok']);
    expect(state.notice).toBe('Results could not be kept in this browser (browser storage is full): export the CSV to keep them.');
  });
});
