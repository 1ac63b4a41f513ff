// tvs-vswitchd against what should not stop a switch: a restart straight after kill -9, messages
// no well-behaved client sends. Each time the daemon must keep running, or start again, and keep
// its committed configuration.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, testDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/frames.js';
import { nested, RawPeer } from '../helpers/raw-peer.js';
import { killToZombie, spawnUnreaped, type Unreaped } from '../helpers/unreaped.js';

describe('tvs-vswitchd under hostile input', () => {
  let sw: TestDaemon;
  const peers: RawPeer[] = [];

  beforeAll(async () => {
    sw = await startDaemon();
    await sw.vsctl('set', 'Open_vSwitch', '.', 'external_ids:kept=yes');
  });

  afterEach(() => {
    for (const p of peers.splice(0)) p.close();
  });

  afterAll(async () => {
    await sw?.stop();
  });

  async function peer(path: string): Promise<RawPeer> {
    const p = await RawPeer.connect(path);
    peers.push(p);
    return p;
  }

  it('answers a request nested 5 000 levels deep on db.sock with an error, and keeps serving', async () => {
    const db = await peer(join(sw.dir, 'db.sock'));
    db.send(`{"method":"echo","params":${nested(5000)},"id":1}`);
    expect(await db.next()).toEqual({
      result: null,
      error: { error: 'syntax error', details: 'line 0, column 1025, byte 1025: input exceeds maximum nesting depth 1000' },
      id: null,
    });
    db.send('{"method":"echo","params":["still here"],"id":2}');
    expect(await db.next()).toEqual({ result: ['still here'], error: null, id: 2 });
    expect(await sw.vsctl('get', 'Open_vSwitch', '.', 'external_ids:kept')).toBe('yes\n');
    expect(await sw.vsctl('show')).toMatch(/^[0-9a-f-]{36}\n/);
  });

  it('answers deep params on the control socket with an error, and keeps answering tvs-appctl', async () => {
    const ctl = await peer(join(sw.dir, 'tvs-vswitchd.ctl'));
    ctl.send(`{"method":"version","params":${nested(5000)},"id":1}`);
    expect(await ctl.next()).toEqual({ id: null, error: 'syntax error: line 0, column 1028, byte 1028: input exceeds maximum nesting depth 1000\n' });
    await ctl.closed();
    expect(await sw.appctl('version')).toMatch(/^tvs-vswitchd \(TVS\) /);
  });
});

describe('tvs-vswitchd restarts', () => {
  let dir: string;
  let sw: TestDaemon;
  let unreaped: Unreaped | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tvs-t-restart-'));
    sw = testDaemon(dir);
  });

  afterAll(async () => {
    unreaped?.cleanup();
    await sw.stop();
  });

  it('starts again at once after kill -9, while the killed daemon is still an unreaped zombie', async () => {
    unreaped = await spawnUnreaped(sw.argv, { TVS_RUNDIR: dir });
    await eventually(() => sw.appctl('version').then(() => true, () => false), 15_000, 'the first daemon to answer');
    await sw.vsctl('set', 'Open_vSwitch', '.', 'external_ids:kept=yes');
    await killToZombie(unreaped.pid);

    await sw.start();
    expect(sw.stderr()).not.toContain('in use');
    expect(await sw.vsctl('get', 'Open_vSwitch', '.', 'external_ids:kept')).toBe('yes\n');
  });
});
