import { describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { groupTable } from '../bids/group';
import { scanMeasures, type SegmentationReport } from '../bids/record';
import { formatCsv } from '../bids/tsv';
import type { ModelManifest } from '../infer/manifest';
import { batchCsv, batchEntries, BatchRunner, emptyBatch, type BatchDeps, type BatchState } from './batch';
import { WorkerFailure } from './inference-client';

const file = (path: string) => {
  const f = new File([new Uint8Array(4)], path.split('/').pop()!);
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
        return {} as never;
      },
      segment: () => ({ id: 1, outcome: Promise.resolve({ kind: 'result' as const, ...(current.startsWith('sub-01') ? fullHead(3000, 3100) : fullHead(3500, 3300)), labels: {} as never, labelInfo: [], backend: { name: 'wasm' as const, reason: '' } }) }),
      cancel: () => {},
    };
    const manifest = { id: 'swinunetr', status: 'trained', onnx: 'swinunetr.onnx', externalData: [] } as unknown as ModelManifest;
    const runner = new BatchRunner({ client: client as unknown as BatchDeps['client'], base: '/', store, model: () => manifest, settings: () => ({ backend: 'auto', settings: { path: 'auto', sublabels: false } }) });
    const participants = new File(['participant_id\tage\tdiagnosis\nsub-01\t70\tAD\nsub-03\t64\tCN\n'], 'participants.tsv');
    await runner.run(files, participants);
    expect(opened).toEqual(['sub-01_T1w.nii.gz', 'sub-02_T1w.nii.gz', 'sub-03_T1w.nii.gz']);
    const state = store.getState();
    expect(state.running).toBe(false);
    expect(state.outcomes.map((o) => o?.status)).toEqual(['ok', 'failed', 'ok']);

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
});
