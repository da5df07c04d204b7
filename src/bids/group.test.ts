import { describe, expect, it } from 'vitest';
import { decodePng } from '../../e2e/png';
import { mat4, type Volume } from '../core/volume';
import { covariatesFrom, groupTable, MIN_SCANS_FOR_OUTLIERS, OUTLIER_Z, robustZ, type GroupInput } from './group';
import { renderMosaic } from './mosaic';
import { crc32, encodePng } from './png';
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

describe('PNG and mosaic', () => {
  it('encodes RGB that decodes back byte for byte; CRC-32 of "IEND" is the spec value', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
    const rgb = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37) % 256);
    const png = decodePng(Buffer.from(encodePng({ width: 5, height: 3, rgb })));
    expect([png.width, png.height]).toEqual([5, 3]);
    const back = Array.from({ length: 15 }, (_, p) => [...png.pixels.subarray(4 * p, 4 * p + 3)]).flat();
    expect(back).toEqual(Array.from(rgb));
  });

  it('draws the subject’s left on the image’s left, superior up, whatever the voxel order', () => {
    // An LAS grid (i runs right → left): voxel i = 30 is world x = −10, the subject's left.
    const dims = [40, 30, 20] as const;
    const affine = mat4([-1, 0, 0, 20, 0, 1, 0, -15, 0, 0, 1, -10, 0, 0, 0, 1]);
    const n = dims[0] * dims[1] * dims[2];
    const t1: Volume = { dims, spacing: [1, 1, 1], affine, data: new Float32Array(n).fill(100) };
    const labels: Volume<Uint8Array> = { dims, spacing: [1, 1, 1], affine, data: new Uint8Array(n) };
    for (let k = 14; k < 17; k++) for (let j = 10; j < 20; j++) for (let i = 28; i < 32; i++) labels.data[i + 40 * (j + 30 * k)] = 1;
    const img = renderMosaic(t1, labels, [{ value: 1, name: 'left', rgb: [255, 0, 0] }]);
    const red: [number, number][] = [];
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (img.rgb[3 * (y * img.width + x)] > img.rgb[3 * (y * img.width + x) + 1]) red.push([x, y]);
    expect(red.length).toBeGreaterThan(0);
    const panelWidth = (img.width - 4 * 2) / 5;
    const inFirstPanel = red.filter(([x]) => x < panelWidth);
    // The blob is at world x −12…−9, left of the box's centre: the left half of the panel.
    const xs = inFirstPanel.map(([x]) => x);
    expect(Math.max(...xs)).toBeLessThan(panelWidth / 2);
    // Labels at k 14–16 of 0–19 with a 12 mm margin: the box is k 2–19 after clipping; superior (k 19) at the top.
    const ys = inFirstPanel.map(([, y]) => y);
    const scale = img.height / 18;
    expect(Math.min(...ys)).toBe((19 - 16) * scale);
    expect(Math.max(...ys)).toBe((19 - 14 + 1) * scale - 1);
  });
});
