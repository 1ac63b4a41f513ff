// The three tools as users run them: built, as child processes, on real files and sockets.

import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ServerProcess, ensureBuilt, run } from '../../compat/ovsdb-harness.js';
import { TEST_SCHEMA, tempDir } from './helpers.js';

const tool = (...args: string[]) => run(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-tool.js'), ...args]);
const client = (...args: string[]) => run(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-client.js'), ...args]);

let dir: ReturnType<typeof tempDir>;
let schemaPath: string;

beforeAll(() => {
  ensureBuilt();
  dir = tempDir();
  schemaPath = dir.file('test.ovsschema');
  writeFileSync(schemaPath, JSON.stringify(TEST_SCHEMA));
});

afterAll(() => dir.remove());

describe('tvsdb-tool', () => {
  it('creates a database and reports its name and version', async () => {
    const db = dir.file('a.db');
    expect(await tool('create', db, schemaPath)).toMatchObject({ code: 0, stderr: '' });
    expect((await tool('db-name', db)).stdout).toBe('Test\n');
    expect((await tool('db-version', db)).stdout).toBe('1.0.0\n');
    expect((await tool('schema-version', schemaPath)).stdout).toBe('1.0.0\n');
    expect(await tool('create', db, schemaPath)).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
  });

  it('creates our Open_vSwitch schema by default', async () => {
    const db = dir.file('ovs.db');
    await tool('create', db);
    expect((await tool('db-name', db)).stdout).toBe('Open_vSwitch\n');
  });

  it('refuses a schema file with errors, naming the member at fault', async () => {
    const bad = dir.file('bad.ovsschema');
    writeFileSync(bad, JSON.stringify({ name: 'X', tables: { A: { columns: { r: { type: { key: { type: 'uuid', refTable: 'B' } } } } } } }));
    expect(await tool('create', dir.file('bad.db'), bad)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tvsdb-tool: syntax error: schema.tables.A.columns.r: refTable "B" is not a table of this schema\n',
    });
    writeFileSync(bad, '{"name": "X", ');
    expect((await tool('create', dir.file('bad.db'), bad)).stderr).toMatch(/^tvsdb-tool: syntax error: .*bad.ovsschema is not valid JSON/);
  });

  it('transacts, queries without committing, shows the log, compacts and checks', async () => {
    const db = dir.file('b.db');
    await tool('create', db, schemaPath);
    const ins = await tool('transact', db, JSON.stringify(['Test', { op: 'insert', table: 'Free', row: { n: 1 } }, { op: 'comment', comment: 'first' }]));
    expect(JSON.parse(ins.stdout)).toEqual([{ uuid: ['uuid', expect.any(String)] }, {}]);
    expect(JSON.parse((await tool('query', db, JSON.stringify(['Test', { op: 'delete', table: 'Free', where: [] }]))).stdout)).toEqual([{ count: 1 }]);
    await tool('transact', db, JSON.stringify(['Test', { op: 'update', table: 'Free', where: [], row: { n: 2 } }]));
    const log = (await tool('show-log', '-m', db)).stdout;
    expect(log).toMatch(/^record 0: "Test" schema, version="1.0.0"\nrecord 1: \S+ \S+ "first"\n {2}table Free insert row [0-9a-f-]{36}\nrecord 2: \S+ \S+\n {2}table Free modify row [0-9a-f-]{36}\n$/);
    expect(await tool('compact', db)).toMatchObject({ code: 0 });
    expect((await tool('show-log', db)).stdout).toMatch(/^record 0: .*\nrecord 1: .* "compacted"\n$/);
    expect(JSON.parse((await tool('query', db, JSON.stringify(['Test', { op: 'select', table: 'Free', where: [], columns: ['n'] }]))).stdout)).toEqual([{ rows: [{ n: 2 }] }]);
    expect(await tool('check', db)).toMatchObject({ code: 0, stdout: '' });
  });

  it('check reports a torn last record without changing the file', async () => {
    const db = dir.file('c.db');
    await tool('create', db, schemaPath);
    appendFileSync(db, 'OVSDB JSON 99 ');
    const r = await tool('check', db);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/the last record is incomplete \(record header is incomplete\); a server would cut 14 bytes/);
  });

  it('converts to a new schema, keeping shared columns, and says when conversion is needed', async () => {
    const db = dir.file('d.db');
    await tool('create', db, schemaPath);
    await tool('transact', db, JSON.stringify(['Test', { op: 'insert', table: 'Free', row: { n: 5 } }]));
    const v2 = dir.file('v2.ovsschema');
    const next = structuredClone(TEST_SCHEMA) as Omit<typeof TEST_SCHEMA, 'tables'> & { tables: { Free: { columns: Record<string, unknown> } } };
    next.version = '1.1.0';
    next.tables.Free.columns.label = { type: 'string' };
    writeFileSync(v2, JSON.stringify(next));
    expect((await tool('needs-conversion', db, v2)).stdout).toBe('yes\n');
    expect(await tool('convert', db, v2)).toMatchObject({ code: 0 });
    expect((await tool('needs-conversion', db, v2)).stdout).toBe('no\n');
    expect((await tool('db-version', db)).stdout).toBe('1.1.0\n');
    expect(JSON.parse((await tool('query', db, JSON.stringify(['Test', { op: 'select', table: 'Free', where: [], columns: ['n', 'label'] }]))).stdout)).toEqual([{ rows: [{ n: 5, label: '' }] }]);
    // A value the new type cannot hold is named in the error.
    next.tables.Free.columns.n = { type: { key: { type: 'integer', maxInteger: 3 } } };
    writeFileSync(v2, JSON.stringify(next));
    expect((await tool('convert', db, v2)).stderr).toMatch(/constraint violation: cannot convert: table Free row \S+ column n: 5 is greater than the maximum 3/);
  });
});

describe('tvsdb-server and tvsdb-client', () => {
  let server: ServerProcess | undefined;
  let remote: string;

  beforeAll(async () => {
    const db = dir.file('served.db');
    await tool('create', db, schemaPath);
    remote = `unix:${dir.file('s.sock')}`;
    server = await ServerProcess.start(db, [`punix:${dir.file('s.sock')}`]);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('tvsdb-server refuses a file that is not a database, and an unknown option', async () => {
    const junk = dir.file('junk.db');
    writeFileSync(junk, 'hello\n');
    const r = await run(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-server.js'), `--remote=punix:${dir.file('j.sock')}`, junk]);
    expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining('has no schema record') });
    expect(await run(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-server.js'), '--bogus', junk])).toMatchObject({ code: 1, stderr: 'tvsdb-server: unknown option --bogus (see --help)\n' });
  });

  it('tvsdb-tool and a second server will not write to a database that the server has open, and name its pid', async () => {
    const db = dir.file('served.db');
    const inUse = `${db} is in use by process ${server!.pid} (lock file ${dir.file('.served.db.~lock~')}); stop that process first\n`;
    const r = await tool('transact', db, JSON.stringify(['Test', { op: 'insert', table: 'Free', row: { n: 1 } }]));
    expect(r).toEqual({ code: 1, stdout: '', stderr: `tvsdb-tool: I/O error: ${inUse}` });
    const second = await run(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-server.js'), `--remote=punix:${dir.file('second.sock')}`, db]);
    expect(second).toEqual({ code: 1, stdout: '', stderr: `tvsdb-server: ${inUse}` });
  });

  it('lists databases, tables and columns', async () => {
    expect((await client('list-dbs', remote)).stdout).toBe('_Server\nTest\n');
    expect((await client('list-tables', remote, 'Test')).stdout).toBe('Table\n-----\nChild\nFree\nPin\nRoot\n');
    expect((await client('list-columns', remote, 'Test', 'Free')).stdout).toBe('Column Type\n------ -------\nn      integer\n');
  });

  it('transacts, queries, and dumps in table, csv and json formats', async () => {
    const t = await client('transact', remote, JSON.stringify(['Test', { op: 'insert', table: 'Free', row: { n: 42 } }]));
    expect(JSON.parse(t.stdout)).toEqual([{ uuid: ['uuid', expect.any(String)] }]);
    expect(JSON.parse((await client('query', remote, JSON.stringify(['Test', { op: 'delete', table: 'Free', where: [] }]))).stdout)).toEqual([{ count: 1 }]);
    expect((await client('dump', remote, 'Test', 'Free', 'n')).stdout).toBe('Free table\nn\n--\n42\n');
    expect((await client('--format=csv', 'dump', remote, 'Test', 'Free', 'n')).stdout).toBe('n\n42\n');
    expect(JSON.parse((await client('--format=json', 'dump', remote, 'Test', 'Free', 'n')).stdout)).toEqual({ headings: ['n'], data: [[42]] });
  });

  it('prints errors from the server and usage errors distinctly', async () => {
    expect(await client('get-schema', remote, 'Nope')).toMatchObject({ code: 1, stderr: 'tvsdb-client: unknown database: "Nope" is not served here (databases: _Server, Test)\n' });
    expect(await client('transact', remote, '{"op":1}')).toMatchObject({ code: 2, stderr: expect.stringContaining('first element is the database name') });
    expect(await client('list-dbs', `unix:${dir.file('nobody.sock')}`)).toMatchObject({ code: 1, stderr: expect.stringContaining('ENOENT') });
  });

  it('refuses a TRANSACTION argument nested deeper than 1000 levels with OVS\'s message, not a stack overflow', async () => {
    const deep = `["Test",${'['.repeat(5000)}${']'.repeat(5000)}]`;
    const expected = { code: 2, stderr: expect.stringContaining('input exceeds maximum nesting depth 1000') };
    expect(await client('transact', remote, deep)).toMatchObject(expected);
    expect(await tool('transact', dir.file('never-made.db'), deep)).toMatchObject(expected);
  });

  it('monitor prints the rows, then each change as it happens', async () => {
    const mon = spawn(process.execPath, [join(ROOT, 'dist/src/cli/tvsdb-client.js'), '--format=csv', 'monitor', remote, 'Test', 'Free', 'n'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    mon.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const waitFor = async (re: RegExp): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while (!re.test(out)) {
          if (Date.now() > deadline) throw new Error(`monitor output never matched ${re}: ${out}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await waitFor(/,initial,42\n/);
      await client('transact', remote, JSON.stringify(['Test', { op: 'update', table: 'Free', where: [], row: { n: 43 } }]));
      await waitFor(/[0-9a-f-]{36},old,42\n,new,43\n/);
    } finally {
      mon.kill();
    }
  });
});
