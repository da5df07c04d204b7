import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pdfPages } from '../report/pdf-text';
import { runCli as cli } from '../testing/cli';
import { hasShared, msdDir, sharedMissing } from '../testing/shared';

describe.skipIf(!hasShared)(`seahorse segment --report ${hasShared ? '' : sharedMissing}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'seahorse-report-'));
  const scan = join(msdDir, 'images/hippocampus_003.nii.gz');

  it('writes a PDF with the figures of the run that made it, and an HTML page', async () => {
    const pdf = join(work, 'report.pdf');
    const run = await cli(['segment', scan, '-o', join(work, 'labels.nii.gz'), '--model', 'unetr-tiny-test', '--report', pdf, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.report).toBe(pdf);
    const text = (await pdfPages(new Uint8Array(readFileSync(pdf)))).map((p) => p.text).join('\n');
    expect(text).toContain('hippocampus_003.nii.gz');
    expect(text).toContain(result.grid.dims.join(' × '));
    expect(text).toContain('UNETR tiny');
    expect(text).toContain('UNTRAINED TEST MODEL');
    expect(text).toContain('Not a medical device.');
    for (const v of result.volumes as { name: string; voxels: number; mm3: number }[]) {
      expect(text).toContain(`${v.name}\n${v.voxels.toLocaleString('en')}\n${v.mm3.toLocaleString('en', { maximumFractionDigits: 0 })}`);
    }
    for (const w of result.warnings as string[]) expect(text.replace(/\n/g, ' ')).toContain(`Warning: ${w}`);

    const html = join(work, 'report.html');
    const again = await cli(['segment', scan, '-o', join(work, 'labels.nii.gz'), '--model', 'unetr-tiny-test', '--report', html]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`Report   ${html}`);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<td>hippocampus head</td>');
    expect(page.match(/<img src="data:image\/png;base64,/g)).toHaveLength(3);
  });

  it('refuses a report file that is neither .pdf nor .html, before any work', async () => {
    const run = await cli(['segment', scan, '-o', join(work, 'x.nii.gz'), '--report', join(work, 'report.docx')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/the report must be a \.pdf or \.html file \(got report\.docx\)/);
  });
});
