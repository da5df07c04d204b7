/** Plain-text output helpers for the CLI. */

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()).join('\n');
}

/** A number for a table: fixed decimals, "–" for NaN, "inf" for Infinity. */
export function num(x: number, digits: number): string {
  if (Number.isNaN(x)) return '–';
  if (!Number.isFinite(x)) return 'inf';
  return x.toFixed(digits);
}

/** JSON where NaN and ±Infinity (no JSON value) become null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

export function ms(x: number): string {
  return `${Math.round(x)} ms`;
}
