// ovs-vsctl's table output (lib/table.c): "list" (the default), "table", "csv", "json" and "html",
// cells as OVS strings, bare words or JSON; tables after the first are preceded by a blank line.

import type { Datum } from '../ovsdb/datum.js';
import { datumToJSON } from '../ovsdb/datum.js';
import type { ColumnType } from '../ovsdb/types.js';
import { datumToBare, datumToString } from './datum-text.js';

export type TableFormat = 'list' | 'table' | 'csv' | 'json' | 'html';
export type CellFormat = 'string' | 'bare' | 'json';

export interface TableStyle {
  format: TableFormat;
  cell: CellFormat;
  headings: boolean;
  pretty: boolean;
  maxColumnWidth: number;
}

export function defaultStyle(): TableStyle {
  return { format: 'list', cell: 'string', headings: true, pretty: false, maxColumnWidth: 0 };
}

export interface Cell {
  type: ColumnType;
  datum: Datum;
}

export class OutTable {
  readonly rows: Cell[][] = [];
  constructor(readonly headings: string[]) {}
}

function cellText(c: Cell, style: TableStyle): string {
  if (style.cell === 'json') return jsonText(datumToJSON(c.type, c.datum));
  return style.cell === 'string' ? datumToString(c.type, c.datum) : datumToBare(c.type, c.datum);
}

function jsonText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  return JSON.stringify(v);
}

/** OVS's JSSF_PRETTY layout: every non-empty array or object breaks its members onto indented lines. */
function prettyJson(v: unknown, indent: number): string {
  const pad = ' '.repeat(indent + 2);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => `${pad}${prettyJson(x, indent + 2)}`).join(',\n')}]`;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${pad}${JSON.stringify(k)}: ${prettyJson(o[k], indent + 2)}`).join(',\n')}}`;
  }
  return JSON.stringify(v);
}

function csvCell(s: string): string {
  return /[\n",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function finishLine(s: string): string {
  return s.replace(/ +$/, '') + '\n';
}

function htmlCell(element: string, content: string): string {
  let out = `    <${element}>`;
  for (let p = 0; p < content.length; ) {
    const m = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/.exec(content.slice(p));
    if (m) {
      out += `<a href="#${m[0]}">${m[0].slice(0, 8)}</a>`;
      p += m[0].length;
    } else {
      out += htmlEscape(content[p]!);
      p++;
    }
  }
  return `${out}</${element}>\n`;
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Formats tables in sequence; tables after the first are preceded by a blank line (except JSON). */
export class TablePrinter {
  private first = true;

  constructor(private readonly style: TableStyle) {}

  format(t: OutTable): string {
    const st = this.style;
    let s = '';
    if (st.format !== 'json' && st.format !== 'html') {
      if (this.first) this.first = false;
      else s += '\n';
    }
    const text = t.rows.map((r) => r.map((c) => cellText(c, st)));
    switch (st.format) {
      case 'list':
        text.forEach((r, y) => {
          if (y > 0) s += '\n';
          r.forEach((c, x) => {
            if (st.headings) s += `${t.headings[x]!.padEnd(20)}: `;
            s += `${c}\n`;
          });
        });
        return s;
      case 'table': {
        const widths = t.headings.map((h, x) => {
          let w = Math.max(0, ...text.map((r) => r[x]!.length));
          if (st.maxColumnWidth > 0 && w > st.maxColumnWidth) w = st.maxColumnWidth;
          if (st.headings) w = Math.max(w, h.length);
          return w;
        });
        if (st.headings) {
          s += finishLine(t.headings.map((h, x) => h.padEnd(widths[x]!)).join(' '));
          s += finishLine(widths.map((w) => '-'.repeat(w)).join(' '));
        }
        for (const r of text) s += finishLine(r.map((c, x) => c.slice(0, widths[x]).padEnd(widths[x]!)).join(' '));
        return s;
      }
      case 'csv':
        if (st.headings) s += t.headings.map(csvCell).join(',') + '\n';
        for (const r of text) s += r.map(csvCell).join(',') + '\n';
        return s;
      case 'json': {
        const data = t.rows.map((r) => r.map((c) => datumToJSON(c.type, c.datum)));
        const o = { data, headings: t.headings };
        return (st.pretty ? prettyJson(o, 0) : `{"data":${jsonText(data)},"headings":${jsonText(t.headings)}}`) + '\n';
      }
      case 'html': {
        s += '<table border=1>\n';
        if (st.headings) s += `  <tr>\n${t.headings.map((h) => htmlCell('th', h)).join('')}  </tr>\n`;
        for (const r of text) {
          s += '  <tr>\n';
          r.forEach((c, x) => {
            s += t.headings[x] === '_uuid' ? `    <td><a name="${htmlEscape(c)}">${htmlEscape(c.slice(0, 8))}</a></td>\n` : htmlCell('td', c);
          });
          s += '  </tr>\n';
        }
        return s + '</table>\n';
      }
    }
  }
}
