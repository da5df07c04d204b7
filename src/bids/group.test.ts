import { describe, expect, it } from 'vitest';
import { mat4, type Volume } from '../core/volume';
import { covariatesFrom, groupTable, MIN_SCANS_FOR_OUTLIERS, OUTLIER_Z, robustZ, type GroupInput } from './group';
import { renderMosaic, tileRow } from './mosaic';
import { qcReportHtml, reportOrder } from './qc-report';
import type { ScanMeasures } from './record';
import { parseTsv } from './tsv';

function measures(left: number, right: number, icv: number, extra: Partial<ScanMeasures> = {}): ScanMeasures {
  return {
    path: 'full-head',
    labels: [],
    leftMm3: left,
    rightMm3: right,
    totalMm3: left + right,
    icvMm3: icv,
    registration: { quality: 'good', ncc: 0.8, brainNcc: 0.6, brainCoverage: 1 },
    warnings: [],
    flags: [],
    timingsMs: {},
    ...extra,
  };
}
const ok = (participant: string, left: number, right: number, icv = 1.5e6, extra?: Partial<ScanMeasures>): GroupInput => ({
  participantId: `sub-${participant}`,
  sessionId: null,
  source: `sub-${participant}/anat/sub-${participant}_T1w.nii.gz`,
  outcome: { status: 'ok', measures: measures(left, right, icv, extra), modelId: 'swinunetr' },
});

describe('robust z-scores', () => {
  it('0.6745 (x − median) / MAD, nulls kept, null throughout when MAD is 0', () => {
    const z = robustZ([1, 2, 3, null, 4, 100]);
    expect(z[3]).toBeNull();
    // median 3, |x − 3| = 2, 1, 0, 1, 97 → MAD 1
    expect(z[0]).toBeCloseTo(-2 * 0.6745, 12);
    expect(z[5]).toBeCloseTo(97 * 0.6745, 12);
    expect(robustZ([2, 2, 2, 5])).toEqual([null, null, null, null]);
  });
});

describe('group table', () => {
  const inputs: GroupInput[] = [
    ok('01', 3500, 3600),
    ok('02', 3400, 3450, 1.4e6),
    ok('03', 3300, 3500, 1.5e6, { flags: ['registration_poor'], registration: { quality: 'poor', ncc: 0.4, brainNcc: 0.2, brainCoverage: 0.9 } }),
    ok('04', 3600, 3550),
    ok('05', 1200, 3500), // a gross left failure: left, total and asymmetry are outliers
    { participantId: 'sub-06', sessionId: 'ses-1', source: 'sub-06/ses-1/anat/sub-06_ses-1_T1w.nii.gz', outcome: { status: 'failed', error: 'cut short' } },
    { participantId: 'sub-07', sessionId: null, source: 'sub-07/anat/sub-07_T1w.nii.gz', outcome: { status: 'missing' } },
  ];
  const covariates = covariatesFrom(parseTsv('participant_id\tage\tstatus\tdiagnosis\nsub-01\t70\tx\tAD\nsub-05\t66\ty\tCN\n'));
  const t = groupTable(inputs, covariates);

  it('one row per scan: volumes, ICV-normalised volumes, asymmetry, covariates (clashing names prefixed)', () => {
    expect(t.rows).toHaveLength(7);
    expect(t.rows[0]).toMatchObject({ participant_id: 'sub-01', session_id: null, status: 'ok', total_hippocampus_mm3: 7100, icv_mm3: 1.5e6, age: '70', participants_status: 'x', diagnosis: 'AD' });
    expect(t.rows[0].left_hippocampus_pct_icv).toBeCloseTo((100 * 3500) / 1.5e6, 12);
    expect(t.rows[0].total_hippocampus_pct_icv).toBeCloseTo((100 * 7100) / 1.5e6, 12);
    expect(t.rows[0].asymmetry_index).toBeCloseTo(-100 / 3550, 12);
    expect(t.rows[1].age).toBeNull(); // not in participants.tsv
    expect(t.columns.slice(-3)).toEqual(['age', 'participants_status', 'diagnosis']);
    expect(t.rows[5]).toMatchObject({ session_id: 'ses-1', status: 'failed', error: 'cut short', qc_flags: 'failed', left_hippocampus_mm3: undefined });
    expect(t.rows[6]).toMatchObject({ status: 'missing', qc_flags: 'not_run' });
  });

  it('flags outliers beyond |z| 3.5 from five measured scans on, and says so below that', () => {
    expect(OUTLIER_Z).toBe(3.5);
    expect(t.flags[4]).toEqual(['outlier_left_hippocampus_pct_icv', 'outlier_total_hippocampus_pct_icv', 'outlier_asymmetry_index']);
    expect(t.flags[2]).toEqual(['registration_poor']);
    expect(t.flags[0]).toEqual([]);
    expect(t.notes.join(' ')).toMatch(/1 scan failed/);
    expect(t.notes.join(' ')).toMatch(/1 scan has no result yet/);
    const few = groupTable(inputs.slice(0, MIN_SCANS_FOR_OUTLIERS - 1).concat([ok('09', 100, 3500)]).slice(0, MIN_SCANS_FOR_OUTLIERS - 1));
    expect(few.flags.flat()).toEqual(['registration_poor']);
    expect(few.notes[0]).toMatch(/outliers are flagged from 5 on/);
  });

  it('mixed models are a note; the QC report lists failures, then outliers, then other flags', () => {
    const mixed = groupTable([ok('01', 1, 1), { ...ok('02', 1, 1), outcome: { status: 'ok', measures: measures(1, 1, 1e6), modelId: 'unetr' } }]);
    expect(mixed.notes.join(' ')).toMatch(/different models \(swinunetr, unetr\)/);
    expect(reportOrder(t).slice(0, 4)).toEqual([5, 6, 4, 2]);
    const html = qcReportHtml(t, { title: 'QC <test>', mosaics: t.rows.map((r, i) => (r.status === 'ok' ? `sub-0${i + 1}/figures/m.png` : null)), generatedBy: 'seahorse', caveats: ['caveat & more'] });
    expect(html.indexOf('id="sub-06_ses-1"')).toBeLessThan(html.indexOf('id="sub-05"'));
    expect(html.indexOf('id="sub-05"')).toBeLessThan(html.indexOf('id="sub-01"'));
    expect(html).toContain('Failed: cut short');
    expect(html).toContain('QC &lt;test&gt;');
    expect(html).toContain('caveat &amp; more');
    expect(html.match(/<img /g)).toHaveLength(5);
    expect(html).not.toMatch(/https?:\/\//); // nothing fetched from another host
  });
});

describe('mosaic', () => {
  it('tiles the report’s views of each hippocampus in one row (left first); no mask, no mosaic', () => {
    // An LAS grid (i runs right → left), two blobs: label 1 at world x < 0 (left), label 2 at x > 0.
    const dims = [60, 50, 40] as const;
    const affine = mat4([-1, 0, 0, 30, 0, 1, 0, -25, 0, 0, 1, -20, 0, 0, 0, 1]);
    const n = dims[0] * dims[1] * dims[2];
    const t1: Volume = { dims, spacing: [1, 1, 1], affine, data: Float32Array.from({ length: n }, (_, i) => i % 97) };
    const labels: Volume<Uint8Array> = { dims, spacing: [1, 1, 1], affine, data: new Uint8Array(n) };
    const blob = (i0: number, value: number) => {
      for (let k = 18; k < 22; k++) for (let j = 20; j < 30; j++) for (let i = i0; i < i0 + 4; i++) labels.data[i + 60 * (j + 50 * k)] = value;
    };
    blob(40, 1); // world x = 30 − i: −10 … −13, the left
    blob(16, 2); // x = 14 … 11, the right
    const info = [
      { value: 1, name: 'left hippocampus', rgb: [255, 0, 0] as const },
      { value: 2, name: 'right hippocampus', rgb: [0, 0, 255] as const },
    ];
    const img = renderMosaic(t1, labels, info, 'full-head')!;
    // Six views (axial, coronal, sagittal per side) of at most 120 px, 2 px apart.
    const redColumns = new Set<number>();
    const blueColumns = new Set<number>();
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++) {
        const [r, g, b] = img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 3);
        if (r === 255 && g === 0 && b === 0) redColumns.add(x);
        if (r === 0 && g === 0 && b === 255) blueColumns.add(x);
      }
    expect(redColumns.size).toBeGreaterThan(0);
    expect(blueColumns.size).toBeGreaterThan(0);
    expect(Math.max(...redColumns)).toBeLessThan(Math.min(...blueColumns)); // left's views come first
    expect(renderMosaic(t1, { ...labels, data: new Uint8Array(n) }, info, 'full-head')).toBeNull();
  });

  it('tileRow: side by side on black, top-aligned', () => {
    const a = { width: 2, height: 1, data: new Uint8ClampedArray([1, 1, 1, 255, 2, 2, 2, 255]), pixelMm: 0.5 };
    const b = { width: 1, height: 2, data: new Uint8ClampedArray([3, 3, 3, 255, 4, 4, 4, 255]), pixelMm: 0.5 };
    const t = tileRow([a, b], 1);
    expect([t.width, t.height]).toEqual([4, 2]);
    expect(Array.from(t.data)).toEqual([1, 1, 1, 255, 2, 2, 2, 255, 0, 0, 0, 255, 3, 3, 3, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 4, 4, 4, 255]);
  });
});
