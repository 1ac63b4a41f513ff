#!/usr/bin/env node
// tvsdb-tool: offline work on database files, in the manner of ovsdb-tool. It must not be used
// to change a file that a running tvsdb-server has open.

import { readFile } from 'node:fs/promises';
import { parseJson } from '../lib/json.js';
import { setLogLevel } from '../lib/log.js';
import { convertDatabase, needsConversion } from '../ovsdb/convert.js';
import { changesetToRecord, createDatabaseFile, openDatabaseFile, recordToChangeset, replayRecords, snapshotRecords } from '../ovsdb/db-file.js';
import { Database } from '../ovsdb/database.js';
import { OvsdbError } from '../ovsdb/errors.js';
import { executeTransaction } from '../ovsdb/execute.js';
import { parseSchema, schemaToJSON } from '../ovsdb/schema.js';
import { decodeLog, writeLogAtomically } from '../ovsdb/storage-log.js';
import { vswitchSchemaPath } from '../ovsdb/vswitch-schema.js';
import { defaultDbFile } from '../lib/paths.js';
import { UsageError } from '../lib/usage-error.js';
import { parseTransactionArg } from '../ovsdb/transaction-arg.js';

const USAGE = `usage: tvsdb-tool [OPTIONS] COMMAND ARG...
  create [DB [SCHEMA]]         create database file DB from SCHEMA (default: TVS's Open_vSwitch schema)
  query [DB] TRANSACTION       run TRANSACTION (["DATABASE", OP...]) on DB without committing it
  transact [DB] TRANSACTION    run TRANSACTION on DB and commit it
  compact [DB [DST]]           rewrite DB (or write it to DST) as one snapshot record
  convert DB SCHEMA [DST]      convert DB (or a copy at DST) to SCHEMA, keeping the data both share
  needs-conversion DB SCHEMA   print "yes" if DB's schema differs from SCHEMA, else "no"
  db-name [DB] | db-version [DB]  print DB's schema name or version
  schema-name SCHEMA | schema-version SCHEMA
  show-log [-m] [DB]           print DB's log records (-m: the rows each changed; -mm: their values)
  check [DB]                   check DB's consistency (references, indexes, counts, garbage)
Where DB is optional it defaults to the switch's database, ${defaultDbFile()} (TVS_DBDIR).

  -v, --verbose[=SPEC]         log more ("dbg", or "module:level,...")
  -h, --help                   show this help
`;

async function readSchemaFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read schema ${path}: ${(e as Error).message}`);
  }
  try {
    return parseJson(text);
  } catch (e) {
    throw new OvsdbError('syntax error', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function need(args: string[], n: number, what: string): void {
  if (args.length < n) throw new UsageError(`missing ${what} (see --help)`);
}

async function transact(path: string, text: string | undefined, commit: boolean): Promise<void> {
  const [dbName, ...ops] = parseTransactionArg(text);
  const opened = await openDatabaseFile(path);
  try {
    if (dbName !== opened.db.name) throw new OvsdbError('unknown database', `${path} holds database ${opened.db.name}, not ${JSON.stringify(dbName)}`);
    const out = executeTransaction(opened.db, commit ? ops : [...ops, { op: 'abort' }], { ownsLock: () => false, timedOut: true });
    if (out.kind !== 'done') throw new Error('unreachable: waits time out at once offline');
    if (out.changeset) {
      opened.db.apply(out.changeset);
      await opened.log.append(changesetToRecord(out.changeset));
    }
    process.stdout.write(JSON.stringify(commit ? out.results : out.results.slice(0, ops.length)) + '\n');
  } finally {
    await opened.log.close();
  }
}

async function showLog(path: string, detail: number): Promise<void> {
  const decoded = decodeLog(await readFile(path), path);
  const lines: string[] = [];
  let db: Database | undefined;
  decoded.records.forEach((rec, i) => {
    if (i === 0) {
      const s = parseSchema(rec);
      db = new Database(s);
      lines.push(`record 0: "${s.name}" schema, version="${s.version}"${s.cksum ? `, cksum="${s.cksum}"` : ''}`);
      return;
    }
    const r = rec as { _date?: number; _comment?: string };
    const date = typeof r._date === 'number' ? new Date(r._date).toISOString().replace('T', ' ').replace('Z', '') : '(no date)';
    lines.push(`record ${i}: ${date}${r._comment !== undefined ? ` ${JSON.stringify(r._comment)}` : ''}`);
    const cs = recordToChangeset(db!, rec, i);
    if (detail > 0) {
      for (const ch of cs.changes) {
        const what = !ch.old ? 'insert' : !ch.new ? 'delete' : 'modify';
        lines.push(`  table ${ch.table.schema.name} ${what} row ${ch.uuid}`);
        if (detail > 1 && ch.new) {
          const cols = ((rec as Record<string, Record<string, Record<string, unknown>>>)[ch.table.schema.name] ?? {})[ch.uuid] ?? {};
          for (const [c, v] of Object.entries(cols)) lines.push(`    ${c}=${JSON.stringify(v)}`);
        }
      }
    }
    db!.apply(cs);
  });
  if (decoded.torn) lines.push(`${path}: ${decoded.torn.reason} at offset ${decoded.torn.offset} (${decoded.torn.droppedBytes} bytes a server would discard)`);
  process.stdout.write(lines.join('\n') + '\n');
}

async function run(argv: string[]): Promise<number> {
  const args: string[] = [];
  let detail = 0;
  for (const a of argv) {
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (/^-m+$/.test(a)) detail += a.length - 1;
    else if (a === '--more') detail++;
    else if (a === '-v' || a === '--verbose') setLogLevel('dbg');
    else if (a.startsWith('--verbose=')) setLogLevel(a.slice(10));
    else if (a.startsWith('-') && a.length > 1) throw new UsageError(`unknown option ${a} (see --help)`);
    else args.push(a);
  }
  const cmd = args.shift();
  switch (cmd) {
    case 'create': {
      if (args.length === 0) args.push(defaultDbFile());
      await createDatabaseFile(args[0]!, await readSchemaFile(args[1] ?? vswitchSchemaPath()));
      return 0;
    }
    case 'query':
    case 'transact':
      need(args, 1, 'TRANSACTION');
      if (args.length === 1) args.unshift(defaultDbFile());
      await transact(args[0]!, args[1], cmd === 'transact');
      return 0;
    case 'compact': {
      if (args.length === 0) args.push(defaultDbFile());
      const opened = await openDatabaseFile(args[0]!);
      try {
        if (args[1]) await writeLogAtomically(args[1], snapshotRecords(opened.db, opened.schemaJson));
        else await opened.log.compact();
      } finally {
        await opened.log.close();
      }
      return 0;
    }
    case 'convert': {
      need(args, 2, 'DB and SCHEMA');
      const target = await readSchemaFile(args[1]!);
      const opened = await openDatabaseFile(args[0]!);
      await opened.log.close();
      const converted = convertDatabase(opened.db, parseSchema(target));
      await writeLogAtomically(args[2] ?? args[0]!, snapshotRecords(converted, schemaToJSON(converted.schema)));
      return 0;
    }
    case 'needs-conversion': {
      need(args, 2, 'DB and SCHEMA');
      const opened = await openDatabaseFile(args[0]!);
      await opened.log.close();
      process.stdout.write(needsConversion(opened.db, parseSchema(await readSchemaFile(args[1]!))) ? 'yes\n' : 'no\n');
      return 0;
    }
    case 'db-name':
    case 'db-version': {
      if (args.length === 0) args.push(defaultDbFile());
      const rec = decodeLog(await readFile(args[0]!), args[0]!).records[0];
      if (rec === undefined) throw new OvsdbError('I/O error', `${args[0]!} has no schema record; it is not an OVSDB database file`);
      const s = parseSchema(rec);
      process.stdout.write((cmd === 'db-name' ? s.name : s.version) + '\n');
      return 0;
    }
    case 'schema-name':
    case 'schema-version': {
      need(args, 1, 'SCHEMA');
      const s = parseSchema(await readSchemaFile(args[0]!));
      process.stdout.write((cmd === 'schema-name' ? s.name : s.version) + '\n');
      return 0;
    }
    case 'show-log':
      if (args.length === 0) args.push(defaultDbFile());
      await showLog(args[0]!, detail);
      return 0;
    case 'check': {
      // Read-only: unlike opening for service, a torn tail is reported, not cut off.
      if (args.length === 0) args.push(defaultDbFile());
      const decoded = decodeLog(await readFile(args[0]!), args[0]!);
      if (decoded.records.length === 0) throw new OvsdbError('I/O error', `${args[0]!} has no schema record; it is not an OVSDB database file`);
      const problems = replayRecords(decoded.records, args[0]!).check();
      if (decoded.torn) problems.push(`the last record is incomplete (${decoded.torn.reason}); a server would cut ${decoded.torn.droppedBytes} bytes at offset ${decoded.torn.offset}`);
      for (const p of problems) process.stdout.write(p + '\n');
      return problems.length ? 1 : 0;
    }
    case undefined:
      throw new UsageError('missing COMMAND (see --help)');
    default:
      throw new UsageError(`unknown command "${cmd}" (see --help)`);
  }
}

async function main(argv = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await run(argv);
  } catch (e) {
    process.stderr.write(`tvsdb-tool: ${e instanceof OvsdbError ? `${e.tag}: ${e.details}` : (e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

void main();
