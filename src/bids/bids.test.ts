import { describe, expect, it } from 'vitest';
import { datasetDescription, derivativePaths, sameModel, type ModelIdentity } from './derivatives';
import { formatEntities, normaliseLabel, parseBidsName } from './entities';
import { findT1wScans, participantLabels, unknownLabels } from './layout';
import { cellText, formatCsv, formatTsv, numberCell, parseTsv } from './tsv';

describe('BIDS file names', () => {
  it('parses entities, suffix and extension, and formats them back in BIDS order', () => {
    const n = parseBidsName('sub-01_ses-pre_acq-mprage_run-2_T1w.nii.gz')!;
    expect(n).toEqual({ entities: { sub: '01', ses: 'pre', acq: 'mprage', run: '2' }, suffix: 'T1w', extension: '.nii.gz' });
    expect(formatEntities({ run: '2', sub: '01', acq: 'mprage', ses: 'pre' })).toBe('sub-01_ses-pre_acq-mprage_run-2');
  });

  it('refuses names that are not BIDS', () => {
    for (const bad of ['T1w.nii.gz', 'ses-1_sub-01_T1w.nii.gz', 'sub-01_foo-1_T1w.nii.gz', 'sub-0_1_T1w.nii', 'sub-01_sub-02_T1w.nii', 'sub-01_T1w', 'sub-a.b_T1w.nii']) {
      expect(parseBidsName(bad), bad).toBeNull();
    }
  });

  it('participant labels with or without the prefix', () => {
    expect(normaliseLabel('sub-01', 'sub')).toBe('01');
    expect(normaliseLabel('01', 'sub')).toBe('01');
    expect(normaliseLabel('ses-A', 'ses')).toBe('A');
    expect(normaliseLabel('0 1', 'sub')).toBeNull();
  });
});

describe('layout: finding T1w scans', () => {
  const files = [
    'dataset_description.json',
    'participants.tsv',
    'sub-02/ses-2/anat/sub-02_ses-2_T1w.nii.gz',
    'sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz',
    'sub-02/ses-1/anat/sub-02_ses-1_T1w.json',
    'sub-02/ses-1/func/sub-02_ses-1_task-rest_bold.nii.gz',
    'sub-01/anat/sub-01_run-2_T1w.nii',
    'sub-01/anat/sub-01_run-1_T1w.nii.gz',
    'sub-01/anat/sub-01_T2w.nii.gz',
    'sub-03/anat/sub-04_T1w.nii.gz', // name and folder disagree
    'sub-03/ses-1/anat/sub-03_T1w.nii.gz', // session folder, no session in the name
    'sub-05/anat/sub-05_T1w.mgz',
  ];

  it('finds each T1w whose folder agrees with its name, sorted by subject, session, path', () => {
    expect(findT1wScans(files).map((s) => [s.subject, s.session, s.path])).toEqual([
      ['01', null, 'sub-01/anat/sub-01_run-1_T1w.nii.gz'],
      ['01', null, 'sub-01/anat/sub-01_run-2_T1w.nii'],
      ['02', '1', 'sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz'],
      ['02', '2', 'sub-02/ses-2/anat/sub-02_ses-2_T1w.nii.gz'],
    ]);
  });

  it('filters by participant and session; lists participants; names unknown labels', () => {
    expect(findT1wScans(files, { participants: ['02'], sessions: ['2'] }).map((s) => s.path)).toEqual(['sub-02/ses-2/anat/sub-02_ses-2_T1w.nii.gz']);
    expect(findT1wScans(files, { sessions: ['1'] }).map((s) => s.subject)).toEqual(['02']);
    expect(participantLabels(files)).toEqual(['01', '02', '03', '05']);
    expect(unknownLabels(['01', '09'], participantLabels(files))).toEqual(['09']);
  });
});

describe('derivative naming and metadata', () => {
  const [scan] = findT1wScans(['sub-02/ses-1/anat/sub-02_ses-1_acq-fast_run-3_T1w.nii.gz']);

  it('keeps the source entities and adds space-T1w, desc-hippocampus', () => {
    expect(derivativePaths(scan)).toEqual({
      dseg: 'sub-02/ses-1/anat/sub-02_ses-1_acq-fast_run-3_space-T1w_desc-hippocampus_dseg.nii.gz',
      sidecar: 'sub-02/ses-1/anat/sub-02_ses-1_acq-fast_run-3_space-T1w_desc-hippocampus_dseg.json',
      volumes: 'sub-02/ses-1/anat/sub-02_ses-1_acq-fast_run-3_space-T1w_desc-hippocampus_volumes.tsv',
      mosaic: 'sub-02/figures/sub-02_ses-1_acq-fast_run-3_desc-hippocampus_mosaic.png',
      error: 'logs/sub-02_ses-1_acq-fast_run-3_error.json',
    });
    const [plain] = findT1wScans(['sub-01/anat/sub-01_T1w.nii']);
    expect(derivativePaths(plain).dseg).toBe('sub-01/anat/sub-01_space-T1w_desc-hippocampus_dseg.nii.gz');
    // The derivative names parse as BIDS again.
    expect(parseBidsName(derivativePaths(scan).dseg.split('/').pop()!)?.entities).toMatchObject({ space: 'T1w', desc: 'hippocampus', run: '3' });
  });

  it('dataset_description says derivative and who generated it; model identity compares what changes volumes', () => {
    const model: ModelIdentity = { id: 'swinunetr', name: 'S', status: 'trained', sha256: 'ab', protocol: 'msd', adapter: null };
    const d = datasetDescription({ version: '0.1.0', model, sourceName: 'cohort', rawLink: '../..' });
    expect(d.DatasetType).toBe('derivative');
    // The sidecars' bids:raw:… sources resolve through DatasetLinks (BIDS URIs).
    expect(d).toMatchObject({ SourceDatasets: [{ URL: 'bids:raw:' }], DatasetLinks: { raw: '../..' } });
    expect(d.GeneratedBy[0]).toMatchObject({ Name: 'seahorse', Version: '0.1.0' });
    expect(d.BIDSVersion).toMatch(/^1\.\d+\.\d+$/);
    expect(sameModel(model, { ...model, name: 'renamed' })).toBe(true);
    expect(sameModel(model, { ...model, sha256: 'cd' })).toBe(false);
    expect(sameModel(model, { ...model, adapter: { file: 'a', method: 'lora', sha256: 'ef' } })).toBe(false);
  });
});

describe('TSV and CSV', () => {
  it('writes n/a for missing values, strips tabs, and parses back', () => {
    const text = formatTsv(['a', 'b', 'c'], [{ a: 1.23456789, b: null, c: 'x\ty' }, { a: NaN, b: 2, c: true }]);
    expect(text).toBe('a\tb\tc\n1.23457\tn/a\tx y\nn/a\t2\ttrue\n');
    expect(parseTsv(text).rows).toEqual([{ a: '1.23457', b: 'n/a', c: 'x y' }, { a: 'n/a', b: '2', c: 'true' }]);
    expect(numberCell('n/a')).toBeNull();
    expect(numberCell('3.5')).toBe(3.5);
    expect(cellText(undefined)).toBe('n/a');
    expect(() => parseTsv('a\tb\n1\n')).toThrow(/row 2 has 1 cells/);
  });

  it('CSV quotes commas and quotes, leaves missing cells empty', () => {
    expect(formatCsv(['a', 'b'], [{ a: 'x, "y"', b: null }])).toBe('a,b\r\n"x, ""y""",\r\n');
  });
});
