/**
 * The group QC report: one self-contained HTML page (no scripts, no requests to other
 * hosts), a card per scan with its mosaic, flagged scans first — failures, then outliers,
 * then other flags — and the robust z-scores that flagged them.
 */
import type { GroupFlag, GroupTable } from './group';
import { MIN_SCANS_FOR_OUTLIERS, OUTLIER_Z } from './group';
import { cellText } from './tsv';

export interface ReportOptions {
  readonly title: string;
  /** Per table row: the mosaic's address relative to the report (or a data: URI), or null. */
  readonly mosaics: readonly (string | null)[];
  /** Sentences shown at the top (e.g. the model caveat). */
  readonly caveats?: readonly string[];
  readonly generatedBy: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Lower sorts first: failed, outliers, registration trouble, other flags, clean. */
export function severity(flags: readonly GroupFlag[]): number {
  if (flags.includes('failed')) return 0;
  if (flags.includes('not_run')) return 1;
  if (flags.some((f) => f.startsWith('outlier_'))) return 2;
  if (flags.includes('registration_poor') || flags.includes('empty_side')) return 3;
  if (flags.length) return 4;
  return 5;
}

/** Row indices in report order: severity, then |z| descending, then table order. */
export function reportOrder(table: GroupTable): number[] {
  const z = (i: number) => Math.abs(Number(table.rows[i].total_hippocampus_pct_icv_z ?? 0)) || 0;
  return table.rows.map((_, i) => i).sort((a, b) => severity(table.flags[a]) - severity(table.flags[b]) || z(b) - z(a) || a - b);
}

export function qcReportHtml(table: GroupTable, opts: ReportOptions): string {
  const ok = table.rows.filter((r) => r.status === 'ok').length;
  const flagged = table.flags.filter((f) => f.length > 0).length;
  const cards = reportOrder(table).map((i) => {
    const r = table.rows[i];
    const flags = table.flags[i];
    const id = `${r.participant_id}${r.session_id ? ` ${r.session_id}` : ''}`;
    const mosaic = opts.mosaics[i];
    const body =
      r.status === 'ok'
        ? `<table><tr><th>left mm³</th><th>right mm³</th><th>total mm³</th><th>ICV mL</th><th>total % ICV</th><th>z</th><th>asymmetry</th><th>registration</th></tr>
<tr><td>${cellText(r.left_hippocampus_mm3, 5)}</td><td>${cellText(r.right_hippocampus_mm3, 5)}</td><td>${cellText(r.total_hippocampus_mm3, 5)}</td><td>${typeof r.icv_mm3 === 'number' ? (r.icv_mm3 / 1000).toFixed(0) : 'n/a'}</td><td>${cellText(r.total_hippocampus_pct_icv, 3)}</td><td>${cellText(r.total_hippocampus_pct_icv_z, 2)}</td><td>${cellText(r.asymmetry_index, 2)}</td><td>${esc(cellText(r.registration_quality))} (${cellText(r.registration_ncc, 2)})</td></tr></table>
${mosaic ? `<img src="${esc(mosaic)}" alt="axial, coronal and sagittal slices of ${esc(id)} with the hippocampus labels">` : '<p class="err">No mosaic.</p>'}`
        : r.status === 'failed'
          ? `<p class="err">Failed: ${esc(String(r.error ?? 'unknown error'))}</p>`
          : '<p class="err">No result: the participant level has not been run on this scan.</p>';
    return `<section class="card sev${severity(flags)}" id="${esc(String(r.participant_id))}${r.session_id ? `_${esc(String(r.session_id))}` : ''}">
<h2>${esc(id)} <small>${esc(String(r.source))}</small></h2>
${flags.length ? `<p class="flags">${flags.map((f) => `<span>${esc(f)}</span>`).join(' ')}</p>` : ''}
${body}
</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
.card{background:#fff;border:1px solid #ddd;border-left:6px solid #3a3;margin:1em 0;padding:.6em 1em}
.sev0,.sev1{border-left-color:#c00}.sev2{border-left-color:#e70}.sev3,.sev4{border-left-color:#db0}
h2{font-size:16px;margin:.2em 0}h2 small{color:#777;font-weight:normal}
.flags span{background:#fde6c8;border-radius:3px;padding:1px 6px;margin-right:4px;font-size:12px}
.err{color:#b00}table{border-collapse:collapse;margin:.4em 0}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
img{image-rendering:pixelated;max-width:100%;display:block;margin-top:.4em}.note{background:#eef;padding:.4em .8em}
</style></head><body>
<h1>${esc(opts.title)}</h1>
<p>${table.rows.length} scans: ${ok} segmented, ${table.rows.length - ok} failed or not run; ${flagged} flagged (listed first).
Outliers: modified z-score |z| &gt; ${OUTLIER_Z} of the ICV-normalised volumes and the asymmetry index (from ${MIN_SCANS_FOR_OUTLIERS} scans on).
Each mosaic: axial, coronal and sagittal slices through the left, then the right hippocampus (the single-scan report's views), the subject's left on the image's left, label outlines in colour.</p>
${[...(opts.caveats ?? []), ...table.notes].map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${cards.join('\n')}
<footer><p>${esc(opts.generatedBy)}</p></footer>
</body></html>
`;
}
