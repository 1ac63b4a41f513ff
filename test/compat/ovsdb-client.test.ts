// The real ovsdb-client (Debian's openvswitch-common) against tvsdb-server: dump, transact, monitor.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_SCHEMA, ServerProcess, TempDir, createDb, ensureBuilt, ensureOvsTools, run } from './ovsdb-harness.js';

describe("ovsdb-client against tvsdb-server serving Debian's vswitch.ovsschema", () => {
  let dir: TempDir;
  let server: ServerProcess | undefined;
  let remote: string;
  const children: { kill(): boolean }[] = [];

  const client = (...args: string[]) => run('ovsdb-client', args);
  const transact = async (ops: unknown[]): Promise<unknown[]> => {
    const r = await client('transact', remote, JSON.stringify(['Open_vSwitch', ...ops]));
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as unknown[];
  };

  beforeAll(async () => {
    ensureOvsTools();
    ensureBuilt();
    dir = new TempDir();
    remote = `unix:${dir.file('db.sock')}`;
    await createDb(dir.file('conf.db'), DEBIAN_SCHEMA);
    server = await ServerProcess.start(dir.file('conf.db'), [`punix:${dir.file('db.sock')}`]);
  });

  afterAll(async () => {
    for (const c of children) c.kill();
    await server?.stop();
    dir?.remove();
  });

  it('lists the served databases, _Server included', async () => {
    const r = await client('list-dbs', remote);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['Open_vSwitch', '_Server']);
  });

  it('transact inserts rows with forward named-uuid references and reports each result', async () => {
    const res = await transact([
      { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'b'] } },
      { op: 'insert', table: 'Bridge', 'uuid-name': 'b', row: { name: 'br-int', ports: ['named-uuid', 'p'] } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p', row: { name: 'br-int', interfaces: ['named-uuid', 'i'] } },
      { op: 'insert', table: 'Interface', 'uuid-name': 'i', row: { name: 'br-int', type: 'internal' } },
      { op: 'select', table: 'Bridge', where: [['name', '==', 'br-int']], columns: ['name'] },
    ]);
    expect(res).toHaveLength(5);
    expect(res[1]).toEqual({ uuid: ['uuid', expect.stringMatching(/^[0-9a-f-]{36}$/)] });
    expect(res[4]).toEqual({ rows: [{ name: 'br-int' }] });
  });

  it('transact reports a constraint violation for a duplicate index value and commits nothing', async () => {
    const res = await transact([
      { op: 'insert', table: 'Bridge', 'uuid-name': 'b2', row: { name: 'br-int' } },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['named-uuid', 'b2']]] },
    ]);
    expect(res).toHaveLength(3);
    expect(res[2]).toMatchObject({ error: 'constraint violation', details: expect.stringContaining('br-int') });
    const sel = await transact([{ op: 'select', table: 'Bridge', where: [], columns: ['name'] }]);
    expect(sel).toEqual([{ rows: [{ name: 'br-int' }] }]);
  });

  it('transact reports a referential integrity violation for a dangling strong reference', async () => {
    const res = await transact([{ op: 'update', table: 'Open_vSwitch', where: [], row: { bridges: ['uuid', '11111111-2222-3333-4444-555555555555'] } }]);
    expect(res[1]).toMatchObject({ error: 'referential integrity violation', details: expect.stringContaining('11111111-2222-3333-4444-555555555555') });
  });

  it('dump shows every table with the rows inserted', async () => {
    const r = await client('dump', remote, 'Open_vSwitch');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Bridge table$/m);
    expect(r.stdout).toMatch(/^Interface table$/m);
    expect(r.stdout).toMatch(/"br-int"|br-int/);
    const one = await client('dump', remote, 'Open_vSwitch', 'Interface', 'name', 'type');
    expect(one.stdout).toMatch(/br-int\s+internal/);
  });

  it('monitor streams the initial rows, then an insert and a delete made by another client', async () => {
    const mon = spawn('ovsdb-client', ['monitor', remote, 'Open_vSwitch', 'Bridge', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(mon);
    let out = '';
    mon.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`monitor output never matched ${re}: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/initial\s+br-int/);
    await transact([
      { op: 'insert', table: 'Bridge', 'uuid-name': 'b3', row: { name: 'br-ex' } },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['named-uuid', 'b3']]] },
    ]);
    await waitFor(/insert\s+br-ex/);
    // Removing the reference is enough: Bridge is not a root table, so the row is collected.
    const [brEx] = (await transact([{ op: 'select', table: 'Bridge', where: [['name', '==', 'br-ex']], columns: ['_uuid'] }])) as { rows: { _uuid: [string, string] }[] }[];
    await transact([{ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'delete', brEx!.rows[0]!._uuid]] }]);
    await waitFor(/delete\s+br-ex/);
    mon.kill();
  });

  it('monitor-cond follows only the rows its condition selects', async () => {
    const mon = spawn('ovsdb-client', ['monitor-cond', remote, 'Open_vSwitch', '[["name","==","br-cond"]]', 'Bridge', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(mon);
    let out = '';
    mon.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await transact([
      { op: 'insert', table: 'Bridge', 'uuid-name': 'x', row: { name: 'br-other' } },
      { op: 'insert', table: 'Bridge', 'uuid-name': 'y', row: { name: 'br-cond' } },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['set', [['named-uuid', 'x'], ['named-uuid', 'y']]]]] },
    ]);
    const deadline = Date.now() + 10_000;
    // Whether the monitor started before or after the commit, br-cond shows up and nothing else.
    while (!/(initial|insert)\s+br-cond/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/(initial|insert)\s+br-cond/);
    expect(out).not.toMatch(/br-other/);
    expect(out).not.toMatch(/br-int/);
    mon.kill();
  });
});
