/**
 * The report as one self-contained HTML file: the pictures inline as PNG data URLs, the styles
 * inline, no script and no reference to any other file or host.
 */
import { encodePng } from './png';
import { viewCaption, type Report } from './report';

export function reportHtml(report: Report): string {
  const facts = (rows: readonly (readonly [string, string])[]) =>
    `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
  const figures = report.figures
    .map((f) => {
      const body = f.views
        ? `<div class="views">${f.views
            .map((v) => {
              const widthMm = v.image.width * v.image.pixelMm;
              const heightMm = v.image.height * v.image.pixelMm;
              return `<figure><img src="data:image/png;base64,${base64(encodePng(v.image))}" width="${Math.round(widthMm * 3)}" height="${Math.round(heightMm * 3)}" alt="${esc(`${f.structure}: ${viewCaption(v)}`)}"><figcaption>${esc(viewCaption(v))}</figcaption></figure>`;
            })
            .join('')}</div>`
        : '<p class="warn">The mask holds no voxel of this structure: nothing to show.</p>';
      return `<section><h2>${esc(capitalise(f.structure))}</h2>${body}</section>`;
    })
    .join('');
  const warnings = report.qc.warnings.length > 0 ? `<ul class="warn">${report.qc.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '<p>Warnings: none.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(`${report.title}: ${report.scan[0]?.[1] ?? ''}`)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #1a1a1f; max-width: 60em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.15em; margin: 1.4em 0 0.4em; }
.muted { color: #60656f; } .warn { color: #9e5900; } .disclaimer { font-weight: 600; color: #9e5900; }
dl { display: grid; grid-template-columns: 9em 1fr; gap: 0.15em 1em; margin: 0; } dt { color: #60656f; } dd { margin: 0; }
table { border-collapse: collapse; } th, td { padding: 0.2em 0.8em 0.2em 0; text-align: right; } th:first-child, td:first-child { text-align: left; }
th { border-bottom: 1px solid #ccc; } .views { display: flex; flex-wrap: wrap; gap: 0.8em; } figure { margin: 0; } figcaption { font-size: 0.85em; color: #60656f; }
img { image-rendering: pixelated; display: block; }
</style>
</head>
<body>
<h1>${esc(report.title)}</h1>
<p class="muted">${esc(report.subtitle)}</p>
<p class="disclaimer">${esc(report.disclaimer)}</p>
<h2>Scan</h2>${facts(report.scan)}
<h2>Model</h2>${facts(report.model)}
<h2>Quality control</h2>
<p><strong>${esc(report.qc.status)}</strong></p>
${report.qc.lines.map((l) => `<p>${esc(l)}</p>`).join('')}
${warnings}
<h2>Volumes</h2>
<table><thead><tr>${report.volumes.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>${report.volumes.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>
${figures}
<p class="muted">${esc(report.orientationNote)}</p>
<p class="disclaimer">${esc(report.disclaimer)}</p>
</body>
</html>
`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Base64 without Buffer (the studio runs this too). */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
