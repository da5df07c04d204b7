/**
 * Tab-separated values as BIDS writes them (BIDS 1.9, "Tabular files"): a header row, tabs
 * between cells, `n/a` for a missing value, no quoting. Tabs and newlines inside a cell
 * would break the format, so they become spaces. CSV (RFC 4180) for spreadsheet export.
 */

export type Cell = string | number | boolean | null | undefined;
export type Row = Readonly<Record<string, Cell>>;

export const NA = 'n/a';

/** A cell as text: `n/a` for null, undefined and non-finite numbers; up to 6 significant digits kept by `digits`. */
export function cellText(value: Cell, digits?: number): string {
  if (value === null || value === undefined) return NA;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return NA;
    return digits === undefined || Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(digits)));
  }
  return String(value).replace(/[\t\r\n]+/g, ' ');
}

/** Rows → TSV text with the given column order (every row may lack some columns). */
export function formatTsv(columns: readonly string[], rows: readonly Row[], digits = 6): string {
  const lines = [columns.join('\t'), ...rows.map((r) => columns.map((c) => cellText(r[c], digits)).join('\t'))];
  return `${lines.join('\n')}\n`;
}

/** TSV text → header and rows of strings (`n/a` stays `n/a`: the caller decides what it means). */
export function parseTsv(text: string): { columns: string[]; rows: Record<string, string>[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) return { columns: [], rows: [] };
  const columns = lines[0].split('\t').map((c) => c.trim());
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split('\t');
    if (cells.length !== columns.length) throw new Error(`TSV row ${i + 2} has ${cells.length} cells; the header has ${columns.length}`);
    return Object.fromEntries(columns.map((c, j) => [c, cells[j].trim()]));
  });
  return { columns, rows };
}

/** A TSV cell as a number, or null for `n/a`, empty or non-numeric text. */
export function numberCell(text: string | undefined): number | null {
  if (text === undefined || text === '' || text === NA) return null;
  const x = Number(text);
  return Number.isFinite(x) ? x : null;
}

/** Rows → CSV (RFC 4180: quotes around cells with commas, quotes or newlines); missing cells empty. */
export function formatCsv(columns: readonly string[], rows: readonly Row[], digits = 6): string {
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cell = (v: Cell) => (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : quote(typeof v === 'number' ? cellText(v, digits) : String(v)));
  return `${[columns.map(quote).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n')}\r\n`;
}
