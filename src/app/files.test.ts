import { describe, expect, it } from 'vitest';
import { intake, maxScanBytes, scanStem } from './files';

const file = (name: string, size = 10) => new File([new Uint8Array(size)], name);

describe('intake', () => {
  it('takes one scan file as a scan, whatever its extension (the reader judges content)', () => {
    const f = file('sub-01_T1w.nii.gz');
    expect(intake([f])).toEqual({ kind: 'scan', file: f });
    expect(intake([file('notes.txt')]).kind).toBe('scan');
  });

  it('routes several files, or a single .dcm, to DICOM conversion', () => {
    const slices = [file('IM0001'), file('IM0002'), file('IM0003')];
    expect(intake(slices)).toEqual({ kind: 'dicom', files: slices });
    expect(intake([file('slice.dcm')]).kind).toBe('dicom');
  });

  it('ignores hidden files that come with dropped folders', () => {
    const f = file('scan.mgz');
    expect(intake([file('.DS_Store'), f])).toEqual({ kind: 'scan', file: f });
  });

  it('refuses empty and oversized files with a message; several scans go to batch mode', () => {
    const empty = intake([file('empty.nii', 0)]);
    expect(empty).toEqual({ kind: 'refused', message: '“empty.nii” is empty (0 bytes).' });
    const huge = { name: 'huge.nii', size: maxScanBytes + 1 } as File;
    expect(intake([huge])).toMatchObject({ kind: 'refused', message: expect.stringContaining('up to 1 GiB') });
    const a = file('a.nii');
    const b = file('b.nii.gz');
    const participants = file('participants.tsv');
    // Several scans (a folder): batch mode, side files ignored, participants.tsv kept.
    expect(intake([a, file('a.json'), b, participants])).toEqual({ kind: 'batch', files: [a, b], participants });
    // One scan among side files (a BIDS folder of one participant): that scan.
    expect(intake([a, file('a.json')])).toEqual({ kind: 'scan', file: a });
    expect(intake([])).toMatchObject({ kind: 'refused' });
  });
});

describe('scanStem', () => {
  it('drops the scan extension and any folder', () => {
    expect(scanStem('sub-01_T1w.nii.gz')).toBe('sub-01_T1w');
    expect(scanStem('dir/brain.mgz')).toBe('brain');
    expect(scanStem('.nii')).toBe('scan');
  });
});
