// tvs-vsctl waits, as ovs-vsctl does, until the switch has applied its change (Open_vSwitch
// cur_cfg reaches the next_cfg its transaction set), gives up by dying of SIGALRM at --timeout,
// and retries its transaction when a value it verified was changed underneath it.

import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { DEBIAN_SCHEMA, ServerProcess, TempDir, createDb, ensureOvsTools, ensureVsctlBuilt, TVS_VSCTL } from './ovsdb-harness.js';

interface Exit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[]): Promise<Exit> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
      done({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** A stand-in for tvs-vswitchd: applies every new next_cfg at once and gives new interfaces an ofport. */
async function fakeDaemon(db: string): Promise<OvsdbClient> {
  const client = await OvsdbClient.connect(db, { reconnect: false });
  const replica = await client.monitor('Open_vSwitch', { Open_vSwitch: { columns: ['next_cfg', 'cur_cfg'] }, Interface: { columns: ['ofport'] } });
  let busy = false;
  const react = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      for (const row of replica.rows('Open_vSwitch')) {
        const next = row.get('next_cfg').keys[0] as number;
        if (next === row.get('cur_cfg').keys[0]) continue;
        const ops: unknown[] = replica
          .rows('Interface')
          .filter((i) => i.get('ofport').keys.length === 0)
          .map((i, n) => ({ op: 'update', table: 'Interface', where: [['_uuid', '==', ['uuid', i.uuid]]], row: { ofport: 100 + n } }));
        ops.push({ op: 'update', table: 'Open_vSwitch', where: [['_uuid', '==', ['uuid', row.uuid]]], row: { cur_cfg: next } });
        await client.transact('Open_vSwitch', ops);
      }
    } finally {
      busy = false;
    }
  };
  replica.on('update', () => void react());
  return client;
}

describe('waiting for the switch', () => {
  let dir: TempDir;
  let server: ServerProcess;
  let db: string;

  beforeAll(async () => {
    ensureOvsTools();
    ensureVsctlBuilt();
    dir = new TempDir();
    await createDb(dir.file('conf.db'), DEBIAN_SCHEMA);
    server = await ServerProcess.start(dir.file('conf.db'), [`punix:${dir.file('db.sock')}`]);
    db = `--db=unix:${dir.file('db.sock')}`;
    expect((await exec(process.execPath, [TVS_VSCTL, db, '--no-wait', 'init'])).code).toBe(0);
  });

  afterAll(async () => {
    await server?.stop();
    dir?.remove();
  });

  it('dies of SIGALRM at --timeout with OVS\'s message when nobody applies the change, as ovs-vsctl does', async () => {
    const [ovs, tvs] = await Promise.all([exec('ovs-vsctl', [db, '--timeout=1', 'add-br', 'brA']), exec(process.execPath, [TVS_VSCTL, db, '--timeout=1', 'add-br', 'brB'])]);
    expect(ovs.signal).toBe('SIGALRM');
    expect(tvs.signal).toBe('SIGALRM');
    const mask = (s: string): string => s.replace(/^[0-9TZ:.-]+\|\d+\|/gm, '');
    expect(mask(tvs.stderr)).toBe(mask(ovs.stderr));
    expect(mask(tvs.stderr)).toBe('fatal_signal|WARN|terminating with signal 14 (Alarm clock)\n');
    // The change itself was committed, and next_cfg counted up once per command.
    const next = await exec(process.execPath, [TVS_VSCTL, db, '--no-wait', 'get', 'Open_vSwitch', '.', 'next_cfg', 'cur_cfg']);
    expect(next.stdout).toBe('2\n0\n');
  });

  it('does not wait (nor count next_cfg up) for a command that changes nothing', async () => {
    const r = await exec(process.execPath, [TVS_VSCTL, db, '--timeout=1', 'list-br']);
    expect(r).toMatchObject({ code: 0, stdout: 'brA\nbrB\n' });
  });

  it('returns once the switch has caught up (cur_cfg >= next_cfg), with or without a timeout', async () => {
    const daemon = await fakeDaemon(`unix:${dir.file('db.sock')}`);
    try {
      const t0 = Date.now();
      const tvs = await exec(process.execPath, [TVS_VSCTL, db, 'add-br', 'br0', '--', 'add-port', 'br0', 'p1']);
      expect(tvs).toMatchObject({ code: 0, signal: null, stdout: '', stderr: '' });
      const ovs = await exec('ovs-vsctl', [db, '--timeout=5', 'add-br', 'br1']);
      expect(ovs).toMatchObject({ code: 0, signal: null, stderr: '' });
      const tvs2 = await exec(process.execPath, [TVS_VSCTL, db, '--timeout=5', 'set', 'Bridge', 'br0', 'other_config:k=v']);
      expect(tvs2).toMatchObject({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(5000);
      const cfg = await exec(process.execPath, [TVS_VSCTL, db, '--no-wait', 'get', 'Open_vSwitch', '.', 'next_cfg', 'cur_cfg']);
      expect(cfg.stdout).toBe('5\n5\n');
    } finally {
      daemon.close();
    }
  });

  it('retries when a verified value changed underneath it: concurrent add-ports all land on the bridge', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `c${i}`);
    const results = await Promise.all(names.map((n) => exec(process.execPath, [TVS_VSCTL, db, '--no-wait', 'add-port', 'br0', n])));
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
    const ports = await exec(process.execPath, [TVS_VSCTL, db, '--no-wait', 'list-ports', 'br0']);
    expect(ports.stdout).toBe(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'p1', ''].join('\n'));
  });
});
