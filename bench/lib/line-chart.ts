/**
 * A minimal SVG line chart (Dice against k, one line per method): numeric x, y in a fixed
 * range, optional ± error bars and dashed reference lines. Plain SVG text, no dependencies.
 */
export interface Series {
  readonly name: string;
  readonly points: readonly { x: number; y: number; err?: number }[];
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xTicks: readonly number[];
  readonly yRange: readonly [number, number];
}

/** Okabe–Ito colours: distinguishable with colour-vision deficiencies. */
const COLOURS = ['#000000', '#E69F00', '#56B4E9', '#009E73', '#D55E00', '#0072B2', '#CC79A7', '#F0E442'];
const W = 720;
const H = 440;
const M = { left: 64, right: 200, top: 40, bottom: 52 };
const Y_TICKS = 5;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChartSvg(series: readonly Series[], o: ChartOptions): string {
  const [y0, y1] = o.yRange;
  const xs = o.xTicks;
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const px = (x: number) => M.left + ((x - xMin) / (xMax - xMin || 1)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - M.right / 2 + M.left / 2}" y="22" text-anchor="middle" font-size="14">${esc(o.title)}</text>`);
  for (let t = 0; t <= Y_TICKS; t++) {
    const y = y0 + ((y1 - y0) * t) / Y_TICKS;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(2)}</text>`);
  }
  for (const x of xs) out.push(`<text x="${px(x)}" y="${H - M.bottom + 18}" text-anchor="middle">${x}</text>`);
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="black"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="black"/>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  series.forEach((s, n) => {
    const c = COLOURS[n % COLOURS.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${c}"/>`);
      if (p.err && Number.isFinite(p.err)) out.push(`<line x1="${px(p.x).toFixed(1)}" x2="${px(p.x).toFixed(1)}" y1="${py(p.y - p.err).toFixed(1)}" y2="${py(p.y + p.err).toFixed(1)}" stroke="${c}"/>`);
    }
    const ly = M.top + 10 + 20 * n;
    out.push(`<line x1="${W - M.right + 14}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
