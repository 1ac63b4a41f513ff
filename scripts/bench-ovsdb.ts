/**
 * OVSDB benchmark: tvsdb-server beside Debian's ovsdb-server on the same work in the same run.
 *  - small inserts: single-row transactions that ask for durability ("commit" with durable:true,
 *    so both servers fsync before replying), one client sequentially and 8 clients concurrently;
 *  - 10 000 Interface rows (with their Ports, on one Bridge): time to load them, time for a cold
 *    server start until a monitor has them all, and time to monitor them on a warm server.
 *
 * `runOvsdbBench()` is called by the main bench; run alone with
 * `npx tsc -p tsconfig.json && node dist/scripts/bench-ovsdb.js`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OvsdbClient } from '../src/ovsdb/client.js';
import { createDatabaseFile } from '../src/ovsdb/db-file.js';

const DEBIAN_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const TVSDB_SERVER = fileURLToPath(new URL('../src/cli/tvsdb-server.js', import.meta.url));
const INTERFACES = 10_000;
const BATCH = 500;

interface Impl {
  name: string;
  create(db: string): Promise<void>;
  start(db: string, sock: string, dir: string): ChildProcess;
}

const impls: Impl[] = [
  {
    name: 'tvsdb-server',
    create: (db) => createDatabaseFile(db, JSON.parse(readFileSync(DEBIAN_SCHEMA, 'utf8'))).then(() => undefined),
    start: (db, sock) => spawn(process.execPath, [TVSDB_SERVER, `--remote=punix:${sock}`, db], { stdio: 'ignore' }),
  },
  {
    name: 'ovsdb-server (Debian)',
    create: async (db) => void execFileSync('ovsdb-tool', ['create', db, DEBIAN_SCHEMA]),
    start: (db, sock, dir) =>
      spawn('ovsdb-server', [`--remote=punix:${sock}`, `--unixctl=${join(dir, 'ctl')}`, '--no-chdir', '-vconsole:off', '-vsyslog:off', '-vfile:off', db], { stdio: 'ignore' }),
  },
];

async function waitForSocket(sock: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(sock);
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`server did not listen on ${sock}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const durable = { op: 'commit', durable: true };

async function smallInserts(c: OvsdbClient, n: number, tag: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    // QoS is a root table, so the row stays (a Manager nobody refers to would be collected at once).
    await c.transact('Open_vSwitch', [{ op: 'insert', table: 'QoS', row: { type: 'linux-htb', external_ids: ['map', [['seq', `${tag}-${i}`]]] } }, durable]);
  }
}

async function populate(c: OvsdbClient): Promise<void> {
  await c.transact('Open_vSwitch', [
    { op: 'update', table: 'Open_vSwitch', where: [], row: { bridges: ['named-uuid', 'br'] } },
    { op: 'insert', table: 'Bridge', 'uuid-name': 'br', row: { name: 'br-bench' } },
  ]);
  for (let b = 0; b < INTERFACES; b += BATCH) {
    const ops: unknown[] = [];
    const ports: unknown[] = [];
    for (let i = b; i < b + BATCH; i++) {
      ops.push({ op: 'insert', table: 'Interface', 'uuid-name': `i${i}`, row: { name: `eth${i}`, type: 'internal', ofport: i + 1, external_ids: ['map', [['owner', 'bench']]] } });
      ops.push({ op: 'insert', table: 'Port', 'uuid-name': `p${i}`, row: { name: `eth${i}`, interfaces: ['named-uuid', `i${i}`] } });
      ports.push(['named-uuid', `p${i}`]);
    }
    ops.push({ op: 'mutate', table: 'Bridge', where: [['name', '==', 'br-bench']], mutations: [['ports', 'insert', ['set', ports]]] });
    await c.transact('Open_vSwitch', ops);
  }
}

async function measure(impl: Impl): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'tvsdb-bench-'));
  const db = join(dir, 'conf.db');
  const sock = join(dir, 'db.sock');
  let child: ChildProcess | undefined;
  try {
    await impl.create(db);
    child = impl.start(db, sock, dir);
    await waitForSocket(sock, child);
    const c = await OvsdbClient.connect(`unix:${sock}`, { reconnect: false });
    await c.transact('Open_vSwitch', [{ op: 'insert', table: 'Open_vSwitch', row: {} }]);
    let t = performance.now();
    await smallInserts(c, 1000, 1);
    const seqPerSec = 1000 / ((performance.now() - t) / 1000);
    const many = await Promise.all(Array.from({ length: 8 }, () => OvsdbClient.connect(`unix:${sock}`, { reconnect: false })));
    t = performance.now();
    await Promise.all(many.map((m, k) => smallInserts(m, 250, 10 + k)));
    const concPerSec = 2000 / ((performance.now() - t) / 1000);
    for (const m of many) m.close();
    await c.transact('Open_vSwitch', [{ op: 'delete', table: 'QoS', where: [] }]);

    t = performance.now();
    await populate(c);
    const loadMs = performance.now() - t;
    t = performance.now();
    const warm = await c.monitor('Open_vSwitch', { Interface: {} });
    const warmMonitorMs = performance.now() - t;
    if (warm.rows('Interface').length !== INTERFACES) throw new Error(`${impl.name}: monitor saw ${warm.rows('Interface').length} interfaces`);
    c.close();
    await stop(child);

    t = performance.now();
    child = impl.start(db, sock, dir);
    await waitForSocket(sock, child);
    const c2 = await OvsdbClient.connect(`unix:${sock}`, { reconnect: false });
    const cold = await c2.monitor('Open_vSwitch', { Interface: {} });
    const coldStartMonitorMs = performance.now() - t;
    if (cold.rows('Interface').length !== INTERFACES) throw new Error(`${impl.name}: cold monitor saw ${cold.rows('Interface').length} interfaces`);
    c2.close();
    return {
      durableInsertsPerSec1Client: Math.round(seqPerSec),
      durableInsertsPerSec8Clients: Math.round(concPerSec),
      load10kInterfacesMs: Math.round(loadMs),
      monitor10kInterfacesWarmMs: Math.round(warmMonitorMs),
      restartAndMonitor10kMs: Math.round(coldStartMonitorMs),
    };
  } finally {
    if (child) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runOvsdbBench(): Promise<object> {
  if (!existsSync(DEBIAN_SCHEMA)) {
    throw new Error(`${DEBIAN_SCHEMA} is missing: install openvswitch-common (apt-get install -y openvswitch-common openvswitch-switch)`);
  }
  const results: Record<string, Record<string, number> | { skipped: string }> = {};
  for (const impl of impls) {
    const tool = impl.name.startsWith('ovsdb-server') ? 'ovsdb-server' : undefined;
    if (tool && !['/usr/sbin', '/usr/bin'].some((d) => existsSync(join(d, tool)))) {
      results[impl.name] = { skipped: `${tool} is not installed` };
      continue;
    }
    results[impl.name] = await measure(impl);
  }
  console.log(`ovsdb (${INTERFACES} Interface rows in batches of ${BATCH}; inserts ask for durable commits)`);
  const metrics = Object.keys(Object.values(results).find((r) => !('skipped' in r)) ?? {});
  const table: Record<string, Record<string, number | string>> = {};
  for (const m of metrics) {
    table[m] = {};
    for (const [name, r] of Object.entries(results)) table[m][name] = 'skipped' in r ? r.skipped : r[m]!;
  }
  console.table(table);
  return { ovsdb: results };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runOvsdbBench()));
}
