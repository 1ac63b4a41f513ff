// Output formats for the tools' tables (dump, list-tables, monitor, query results):
// "table" is aligned text like ovsdb-client's, "csv" is RFC 4180, "json" is {"headings","data"}.

export type OutputFormat = 'table' | 'csv' | 'json';

export interface TextTable {
  caption?: string;
  headings: string[];
  /** Cells in wire JSON (as returned by select) or plain strings. */
  rows: unknown[][];
}

export function parseFormat(s: string): OutputFormat {
  if (s === 'table' || s === 'csv' || s === 'json') return s;
  throw new Error(`unknown format "${s}" (use table, csv or json)`);
}

const BARE = /^[A-Za-z0-9_.:/@-]+$/;

function atomText(a: unknown): string {
  if (Array.isArray(a) && a[0] === 'uuid') return String(a[1]);
  if (typeof a === 'string') return BARE.test(a) && a !== 'true' && a !== 'false' && !/^-?\d/.test(a) ? a : JSON.stringify(a);
  return String(a);
}

/** A datum in wire JSON rendered the way OVS tools print values: a, [a, b], {k=v}. */
function cellText(v: unknown): string {
  if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1])) return `[${(v[1] as unknown[]).map(atomText).join(', ')}]`;
  if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) return `{${(v[1] as unknown[][]).map(([k, x]) => `${atomText(k)}=${atomText(x)}`).join(', ')}}`;
  return atomText(v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatTable(t: TextTable, format: OutputFormat): string {
  if (format === 'json') return JSON.stringify({ headings: t.headings, data: t.rows }) + '\n';
  const cells = t.rows.map((r) => r.map((c) => (typeof c === 'string' ? c : cellText(c))));
  if (format === 'csv') return [t.headings, ...cells].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
  const widths = t.headings.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(' ').trimEnd();
  const out = [line(t.headings), widths.map((w) => '-'.repeat(w)).join(' '), ...cells.map(line)];
  return (t.caption ? `${t.caption}\n` : '') + out.join('\n') + '\n';
}
