import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { rasAffine } from '../core/orientation';
import type { LabelVolume, Volume } from '../core/volume';
import { SIDE_LABELS } from '../infer/fullhead';
import { parseManifest } from '../infer/registry';
import { buildReport, NOT_A_MEDICAL_DEVICE, reportHtml, reportPdf, type ReportInput } from '.';
import { pdfPages } from './pdf-text';
import { encodePng } from './png';

const repo = join(import.meta.dirname, '..', '..');
const manifest = parseManifest(JSON.parse(readFileSync(join(repo, 'models', 'swinunetr.json'), 'utf8')), 'models/swinunetr.json');

/** A 48³ RAS “head” at 1 mm with a left (label 1) and a right (label 2) box. */
function input(overrides: Partial<ReportInput> = {}): ReportInput {
  const dims = [48, 48, 48] as const;
  const affine = rasAffine([1, 1, 1], [-24, -24, -24]);
  const data = new Float32Array(48 ** 3);
  const labels = new Uint8Array(48 ** 3);
  for (let p = 0; p < data.length; p++) {
    const i = p % 48;
    const j = Math.floor(p / 48) % 48;
    const k = Math.floor(p / 48 / 48);
    data[p] = (i * 7 + j * 3 + k) % 50;
    if (j >= 20 && j < 30 && k >= 20 && k < 26) {
      if (i >= 8 && i < 14) labels[p] = 1;
      if (i >= 34 && i < 41) labels[p] = 2;
    }
  }
  const scan: Volume = { dims, spacing: [1, 1, 1], affine, data };
  const lab: LabelVolume = { dims, spacing: [1, 1, 1], affine, data: labels };
  const icvMm3 = 1.4e6;
  return {
    scanName: 'sub-01_T1w.nii.gz',
    scan,
    labels: lab,
    labelInfo: SIDE_LABELS,
    volumes: [
      { value: 1, name: 'left hippocampus', voxels: 360, mm3: 360, icvFraction: 360 / icvMm3 },
      { value: 2, name: 'right hippocampus', voxels: 420, mm3: 420, icvFraction: 420 / icvMm3 },
    ],
    path: 'full-head',
    fieldOfView: { kind: 'full-head', extentMm: [48, 48, 48] },
    model: manifest,
    caveat: null,
    backend: { name: 'webgpu', reason: 'WebGPU on SwiftShader' },
    registration: { quality: 'poor', ncc: 0.41, brainNcc: 0.22, brainCoverage: 0.97, icvMm3 },
    warnings: ['The registration is poor: check the outline before trusting the masks.'],
    software: 'Seahorse 0.1.0 (test)',
    createdAt: new Date('2026-12-04T06:00:00Z'),
    ...overrides,
  };
}

describe('segmentation report', () => {
  it('holds the scan, the model with its protocol and version, QC with its warnings, volumes in mm³ and % of ICV, two figures', () => {
    const report = buildReport(input());
    expect(report.scan).toContainEqual(['File', 'sub-01_T1w.nii.gz']);
    expect(report.scan).toContainEqual(['Orientation', 'RAS (voxel axes → world RAS+)']);
    expect(report.model).toContainEqual(['Protocol', 'MSD Task04 (Vanderbilt manual labels: hippocampus head, body + tail)']);
    expect(report.model.find(([k]) => k === 'Version')?.[1]).toBe(`trained, ONNX sha256 ${manifest.sha256!.slice(0, 16)}`);
    expect(report.qc.status).toBe('CHECK BEFORE USE: 1 warning');
    expect(report.qc.warnings).toEqual(input().warnings);
    expect(report.qc.lines[0]).toMatch(/^Registration to the brain template: poor \(similarity 0\.41 overall/);
    expect(report.qc.lines[1]).toMatch(/^Intracranial volume \(estimate from the registration\): \d\.\d\d L$/);
    // After a failed registration the localiser's coarse brain volume is the ICV, and the line says so.
    const fromLocaliser = buildReport(input({ registration: { quality: 'failed', ncc: 0.3, brainNcc: 0.1, brainCoverage: 0.9, icvMm3: 1.5e6, icvFrom: 'localiser' } }));
    expect(fromLocaliser.qc.lines[1]).toBe("Intracranial volume (the localiser's coarse brain volume: the registration failed): 1.50 L");
    expect(report.volumes.header).toEqual(['Structure', 'Voxels', 'Volume (mm³)', '% of ICV']);
    expect(report.volumes.rows).toEqual([
      ['left hippocampus', '360', '360', '0.026'],
      ['right hippocampus', '420', '420', '0.030'],
    ]);
    expect(report.figures.map((f) => [f.structure, f.views?.length])).toEqual([
      ['left hippocampus', 3],
      ['right hippocampus', 3],
    ]);
    // A model whose volumes under-state size differences says so beside its name (src/infer/size-response.ts); one measured to follow size, or not measured, says nothing.
    const withResponse = (exponent: number) => buildReport(input({ model: { ...manifest, metrics: { sizeResponse: { exponent, perSubject: { a: exponent, b: exponent } } } } }));
    expect(withResponse(0.63).model.find(([k]) => k === 'Volumes')?.[1]).toMatch(/^Differences in size are under-stated: a hippocampus 35 % smaller than the same person's reads about 24 % smaller/);
    expect(withResponse(0.97).model.find(([k]) => k === 'Volumes')).toBeUndefined();
    expect(buildReport(input({ model: { ...manifest, metrics: {} } })).model.find(([k]) => k === 'Volumes')).toBeUndefined();
    expect(report.disclaimer).toBe(NOT_A_MEDICAL_DEVICE);
    // No warning and a trained model: the verdict says so, and no more.
    expect(buildReport(input({ warnings: [], registration: null })).qc.status).toMatch(/^No warnings/);
    // A model without a protocol says it is not recorded; an empty side is said in words.
    const bare = buildReport(input({ model: { ...manifest, protocol: undefined }, volumes: [] , labels: { ...input().labels, data: new Uint8Array(48 ** 3) } }));
    expect(bare.model).toContainEqual(['Protocol', 'not recorded in the model’s manifest']);
    expect(bare.figures.map((f) => f.views)).toEqual([null, null]);
  });

  it('PNG pictures decode to the pixels drawn', () => {
    const view = buildReport(input()).figures[0].views![0];
    const png = decode(encodePng(view.image));
    expect([png.width, png.height, png.channels]).toEqual([view.image.width, view.image.height, 3]);
    for (let p = 0; p < png.width * png.height; p += 97) {
      for (let c = 0; c < 3; c++) expect(png.data[3 * p + c]).toBe(view.image.data[4 * p + c]);
    }
  });

  it('the PDF reads back with the figures of the report and six pictures', async () => {
    const report = buildReport(input());
    const pages = await pdfPages(await reportPdf(report));
    const text = pages.map((p) => p.text).join('\n');
    for (const needle of ['Hippocampus segmentation report', 'sub-01_T1w.nii.gz', 'SwinUNETR v1', 'MSD Task04', manifest.sha256!.slice(0, 16), 'CHECK BEFORE USE: 1 warning', 'Warning: The registration is poor', '% of ICV', '0.026', '0.030', 'Not a medical device.', 'Axial, z =']) {
      expect(text).toContain(needle);
    }
    expect(text).toMatch(/left hippocampus\n360\n360\n0\.026/);
    expect(pages.reduce((n, p) => n + p.images, 0)).toBe(6);
  });

  it('the HTML is one file: pictures inline, nothing fetched, text escaped', () => {
    const html = reportHtml(buildReport(input({ scanName: 'a<b>.nii' })));
    expect(html).toContain('a&lt;b&gt;.nii');
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(6);
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/https?:/);
    expect(html).toContain('<td>0.026</td>');
    expect(html).toContain(NOT_A_MEDICAL_DEVICE);
  });
});
