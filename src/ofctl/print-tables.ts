/**
 * Table features, table descriptions and group features as ovs-ofctl prints them
 * (`dump-table-features`, `dump-table-desc`, `dump-group-features`): lib/ofp-table.c's
 * ofputil_table_features_format and ofputil_table_desc_format, lib/ofp-group.c's
 * ofputil_group_features_format. Runs of tables with the features of the one before them fold
 * into `tables 1...252: ditto`.
 */
import type { MultipartReply, TableActionFeatures, TableDesc, TableFeatures, TableInstructionFeatures } from '../openflow/messages.js';
import { actionNames, sortFieldNames, sortInstructionNames } from '../openflow/codec/table-features.js';
import { bitNames, title } from './print-common.js';

const sameSet = (a: readonly (string | number)[], b: readonly (string | number)[]): boolean => a.length === b.length && new Set([...a, ...b]).size === a.length && new Set(a).size === a.length;

/** "x0 x1 x2" is "x0...x2" when each name is the one before it plus one (are_names_sequential). */
function sequential(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return false;
  const [sa, sb] = [a.slice(i), b.slice(i)];
  return /^\d{1,9}$/.test(sa) && /^\d{1,9}$/.test(sb) && Number(sa) + 1 === Number(sb);
}

function sequentialRun(ids: readonly string[]): number {
  for (let i = 1; ; i++) {
    // "x0...x1" says no more than "x0 x1".
    if (i >= ids.length || !sequential(ids[i - 1]!, ids[i]!)) return i === 2 ? 1 : i;
  }
}

/** The longest common prefix of `a` and `b` that ends in "_". */
function commonPrefix(a: string, b: string): number {
  let found = 0;
  for (let i = 0; ; i++) {
    if (i >= a.length || i >= b.length || a[i] !== b[i]) return found;
    if (a[i] === '_') found = i + 1;
  }
}

function prefixRun(ids: readonly string[], skip: number): { run: number; extra: number } {
  if (ids.length < 2) return { run: ids.length, extra: 0 };
  let extra = commonPrefix(ids[0]!.slice(skip), ids[1]!.slice(skip));
  if (!extra) return { run: 1, extra: 0 };
  let i = 2;
  for (; i < ids.length; i++) {
    const next = commonPrefix(ids[0]!.slice(skip), ids[i]!.slice(skip));
    if (!next) break;
    extra = Math.min(extra, next);
  }
  return { run: i, extra };
}

/** Field names abbreviated as OVS's print_names does: eth_{src,dst,type}, reg0...reg15. */
function printNames(ids: readonly string[], skip: number): string {
  let s = '';
  let rest = ids;
  for (let group = 0; rest.length > 0; group++) {
    if (group) s += skip ? ',' : ' ';
    const prefix = prefixRun(rest, skip);
    const suffix = sequentialRun(rest);
    const run = Math.max(prefix.run, suffix);
    if (suffix >= prefix.run) {
      s += rest[0]!.slice(skip);
      if (run > 1) s += `...${rest[run - 1]!.slice(skip)}`;
    } else {
      s += `${rest[0]!.slice(skip, skip + prefix.extra)}{${printNames(rest.slice(0, run), skip + prefix.extra)}}`;
    }
    rest = rest.slice(run);
  }
  return s;
}

function fieldList(names: readonly string[]): string {
  return names.length ? ` ${printNames(sortFieldNames(names), 0)}` : '';
}

const actionFeaturesEqual = (a: TableActionFeatures, b: TableActionFeatures): boolean => sameSet(a.actions, b.actions) && sameSet(a.setFields, b.setFields);

/** Next tables equal, ignoring that a table cannot go to itself (table_instruction_features_next_equal). */
function nextEqual(a: readonly number[], aId: number, b: readonly number[], bId: number): boolean {
  if (bId === aId + 1 && a.includes(bId) && !b.includes(bId)) return sameSet(a.filter((t) => t !== bId), b);
  if (aId === bId + 1) return nextEqual(b, bId, a, aId);
  return sameSet(a, b);
}

function instructionFeaturesEqual(a: TableInstructionFeatures, aId: number, b: TableInstructionFeatures, bId: number): boolean {
  return nextEqual(a.nextTables, aId, b.nextTables, bId) && sameSet(a.instructions, b.instructions) && actionFeaturesEqual(a.write, b.write) && actionFeaturesEqual(a.apply, b.apply);
}

const instructionFeaturesEmpty = (f: TableInstructionFeatures): boolean =>
  !f.nextTables.length && !f.instructions.length && !f.write.actions.length && !f.write.setFields.length && !f.apply.actions.length && !f.apply.setFields.length;

function featuresEqual(a: TableFeatures, b: TableFeatures): boolean {
  return (
    a.metadataMatch === b.metadataMatch &&
    a.metadataWrite === b.metadataWrite &&
    a.supportsEviction === b.supportsEviction &&
    a.supportsVacancyEvents === b.supportsVacancyEvents &&
    a.maxEntries === b.maxEntries &&
    instructionFeaturesEqual(a.nonmiss, a.tableId, b.nonmiss, b.tableId) &&
    instructionFeaturesEqual(a.miss, a.tableId, b.miss, b.tableId) &&
    sameSet(a.match, b.match)
  );
}

function actionFeatures(f: TableActionFeatures): string {
  let s = '';
  if (f.actions.length) s += `        actions: ${f.actions.join(' ')}\n`;
  if (f.setFields.length) s += `        supported on Set-Field:${fieldList(f.setFields)}\n`;
  return s;
}

/** `0x...` as C's %#x prints it: a bare 0 for zero. */
const hexAlt = (v: bigint | number): string => (v ? `0x${v.toString(16)}` : '0');

/** Table ids as ranges: 1-253, or 1,3-5. */
function tableRanges(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]!}` : `${sorted[i]!}-${sorted[j]!}`);
    i = j + 1;
  }
  return parts.join(',');
}

function instructionFeatures(f: TableInstructionFeatures, prev: TableInstructionFeatures | undefined): string {
  let s = '';
  if (f.nextTables.length) s += `      next tables: ${tableRanges(f.nextTables)}\n`;
  if (f.instructions.length) {
    if (prev && sameSet(f.instructions, prev.instructions)) s += '      (same instructions)\n';
    else s += `      instructions: ${sortInstructionNames(f.instructions).join(' ')}\n`;
  }
  if (prev && actionFeaturesEqual(f.write, prev.write) && actionFeaturesEqual(f.apply, prev.apply) && f.write.setFields.length) {
    s += '      (same actions)\n';
  } else if (!actionFeaturesEqual(f.write, f.apply)) {
    s += `      Write-Actions features:\n${actionFeatures(f.write)}      Apply-Actions features:\n${actionFeatures(f.apply)}`;
  } else if (f.write.actions.length || f.write.setFields.length) {
    s += `      Write-Actions and Apply-Actions features:\n${actionFeatures(f.write)}`;
  }
  return s;
}

/** The fields in `f.match` that are (or are not) maskable and (or are not) wildcardable. */
function matchLine(f: TableFeatures, mask: boolean, wildcard: boolean, name: string): string {
  const names = f.match.filter((n) => f.maskable.includes(n) === mask && f.wildcards.includes(n) === wildcard);
  return names.length ? `      ${name}:${fieldList(names)}\n` : '';
}

function tableFeatures(f: TableFeatures, prev: TableFeatures | undefined): string {
  let s = '';
  if (f.metadataMatch || f.metadataWrite) s += `    metadata: match=${hexAlt(f.metadataMatch)} write=${hexAlt(f.metadataWrite)}\n`;
  if (f.supportsEviction !== undefined) s += `    eviction: ${f.supportsEviction ? '' : 'not '}supported\n`;
  if (f.supportsVacancyEvents !== undefined) s += `    vacancy events: ${f.supportsVacancyEvents ? '' : 'not '}supported\n`;
  if (f.maxEntries) s += `    max_entries=${f.maxEntries}\n`;
  if (prev && instructionFeaturesEqual(f.nonmiss, f.tableId, prev.nonmiss, prev.tableId) && instructionFeaturesEqual(f.miss, f.tableId, prev.miss, prev.tableId)) {
    if (!instructionFeaturesEmpty(f.nonmiss)) s += '    (same instructions)\n';
  } else if (!instructionFeaturesEqual(f.nonmiss, f.tableId, f.miss, f.tableId)) {
    s += `    instructions (other than table miss):\n${instructionFeatures(f.nonmiss, prev?.nonmiss)}`;
    s += `    instructions (table miss):\n${instructionFeatures(f.miss, prev?.miss)}`;
  } else if (!instructionFeaturesEmpty(f.nonmiss)) {
    s += `    instructions (table miss and others):\n${instructionFeatures(f.nonmiss, prev?.nonmiss)}`;
  }
  if (f.match.length) {
    if (prev && sameSet(f.match, prev.match)) s += '    (same matching)\n';
    else s += `    matching:\n${matchLine(f, true, true, 'arbitrary mask')}${matchLine(f, false, true, 'exact match or wildcard')}${matchLine(f, false, false, 'must exact match')}`;
  }
  return s;
}

/** Every table's features, each starting with a newline, as ofputil_table_features_format strings them together. */
export function formatTableFeatures(tables: readonly TableFeatures[]): string {
  let s = '';
  let dittoFrom = -1;
  let dittoTo = -1;
  const flushDitto = () => {
    if (dittoFrom >= 0) s += dittoFrom === dittoTo ? `\n  table ${dittoFrom}: ditto\n` : `\n  tables ${dittoFrom}...${dittoTo}: ditto\n`;
    dittoFrom = -1;
  };
  let prev: TableFeatures | undefined;
  for (const f of tables) {
    const same = prev !== undefined && featuresEqual(f, prev);
    if (same && !f.name) {
      if (dittoFrom < 0) dittoFrom = f.tableId;
      dittoTo = f.tableId;
    } else {
      flushDitto();
      s += `\n  table ${f.tableId}${f.name ? ` ("${f.name}")` : ''}:`;
      if (same) s += ' ditto';
      else s += `\n${tableFeatures(f, prev)}`;
    }
    prev = f;
  }
  flushDitto();
  return s;
}

const EVICTION_FLAG_NAMES: Readonly<Record<number, string>> = { 1: 'OTHER', 2: 'IMPORTANCE', 4: 'LIFETIME' };

export function formatTableDescReply(tables: readonly TableDesc[], version: number, xid: number): string {
  let s = title('OFPST_TABLE_DESC reply', version, xid);
  for (const t of tables) {
    const flags = t.evictionFlags === 0xffffffff ? '(default)' : bitNames(t.evictionFlags, EVICTION_FLAG_NAMES, '|');
    const vacancy = t.vacancy ? ` vacancy_down=${t.vacancyDown}% vacancy_up=${t.vacancyUp}% vacancy=${t.vacancyNow}%` : '';
    s += `\n  table ${t.tableId}:\n   eviction=${t.eviction ? 'on' : 'off'} eviction_flags=${flags}\n   vacancy=${t.vacancy ? 'on' : 'off'}${vacancy}\n`;
  }
  return s.endsWith('\n') ? s : `${s}\n`;
}

const GROUP_TYPE_NAMES = { all: 'all', select: 'select', indirect: 'indirect', ff: 'fast failover' } as const;
const GROUP_TYPE_BITS = ['all', 'select', 'indirect', 'ff'] as const;

export function formatGroupFeaturesReply(r: Extract<MultipartReply, { kind: 'group_features' }>, version: number, xid: number): string {
  const typeBits = GROUP_TYPE_BITS.reduce((bits, t, i) => (r.types.includes(t) ? bits | (1 << i) : bits), 0);
  let s = `${title('OFPST_GROUP_FEATURES reply', version, xid)}\n Group table:\n    Types:  0x${typeBits.toString(16)}\n    Capabilities:  0x${r.capabilities.toString(16)}\n`;
  for (const t of GROUP_TYPE_BITS) {
    if (!r.types.includes(t)) continue;
    const actions = actionNames(r.actions[t], version);
    s += `    ${GROUP_TYPE_NAMES[t]} group:\n       max_groups=${hexAlt(r.maxGroups[t])}\n       actions: ${actions.length ? actions.join(' ') : '<none>'}\n`;
  }
  return s;
}
