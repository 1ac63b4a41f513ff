// Several switches on one machine: each tvs-vswitchd takes its database file, sockets, pidfile
// and log file from TVS_RUNDIR, TVS_DBDIR and TVS_LOGDIR, and every command given the same
// environment reaches that switch and no other.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay, type TvsSwitch } from '../helpers/overlay.js';

let overlay: Overlay;
let a: TvsSwitch;
let b: TvsSwitch;

beforeAll(async () => {
  overlay = await Overlay.create();
  // Both started with only the environment to tell them apart: --pidfile and --log-file take no FILE.
  a = await overlay.tvs(overlay.a);
  b = await overlay.tvs(overlay.b);
  await a.addVm('vm', '10.10.0.1/24');
  await a.vsctl('br-set-external-id', 'br0', 'host', 'a');
  await b.vsctl('br-set-external-id', 'br0', 'host', 'b');
});

afterAll(async () => {
  await overlay.cleanup();
});

/** The paths of the unix sockets bound in the network namespace `pid` runs in (a listener's accepted connections repeat its path). */
function unixSocketPaths(pid: number): string[] {
  const paths = readFileSync(`/proc/${pid}/net/unix`, 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[7])
    .filter((path): path is string => path !== undefined && path.startsWith('/'));
  return [...new Set(paths)];
}

describe('TVS_RUNDIR, TVS_DBDIR and TVS_LOGDIR', () => {
  it("keeps each daemon's database, lock, sockets, pidfile and log in the directories its environment names", () => {
    for (const sw of [a, b]) {
      expect(readdirSync(sw.dir).sort()).toEqual(['.conf.db.~lock~', 'br0.mgmt', 'conf.db', 'db.sock', 'tvs-vswitchd.ctl', 'tvs-vswitchd.log', 'tvs-vswitchd.pid']);
    }
  });

  it('binds every socket of a daemon under its own TVS_RUNDIR, none under the other', () => {
    for (const sw of [a, b]) {
      const pid = Number(readFileSync(join(sw.dir, 'tvs-vswitchd.pid'), 'utf8').trim());
      const paths = unixSocketPaths(pid).filter((p) => p.startsWith('/tmp/tvs-t-overlay-') || p.startsWith('/var/run/tvs') || p.startsWith('/run/tvs'));
      expect(paths.sort()).toEqual([join(sw.dir, 'br0.mgmt'), join(sw.dir, 'db.sock'), join(sw.dir, 'tvs-vswitchd.ctl')]);
    }
  });

  it('points tvs-vsctl and tvsdb-client at the database of the switch its TVS_RUNDIR names', async () => {
    expect(await a.vsctl('br-get-external-id', 'br0', 'host')).toBe('a\n');
    expect(await b.vsctl('br-get-external-id', 'br0', 'host')).toBe('b\n');
    const dumpA = await a.cli('tvsdb-client', ['dump', 'Open_vSwitch', 'Bridge', 'external_ids']);
    expect(dumpA.stdout).toContain('{host=a}');
    expect(dumpA.stdout).not.toContain('{host=b}');
  });

  it('points tvs-appctl, tvs-dpctl and tvs-ofctl at the daemon and bridge of the same TVS_RUNDIR', async () => {
    const vmPort = (await a.vsctl('list-ports', 'br0')).trim();
    expect(vmPort).not.toBe('');
    expect(await b.vsctl('list-ports', 'br0')).toBe('');
    expect(await a.appctl('dpif/show')).toContain(vmPort);
    expect(await b.appctl('dpif/show')).not.toContain(vmPort);
    expect(await a.dpctl('show')).toContain(vmPort);
    expect(await b.dpctl('show')).not.toContain(vmPort);
    expect(await a.ofctl('show', 'br0')).toContain(`(${vmPort})`);
    expect(await b.ofctl('show', 'br0')).not.toContain(`(${vmPort})`);
  });

  it('has tvsdb-tool read the database file in TVS_DBDIR when given no DB', async () => {
    const log = await a.cli('tvsdb-tool', ['show-log', '-mm']);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain('"host","a"');
    expect(log.stdout).not.toContain('"host","b"');
  });

  it('writes --log-file with no FILE to TVS_LOGDIR', () => {
    expect(readFileSync(join(a.dir, 'tvs-vswitchd.log'), 'utf8')).toContain('tvs-vswitchd 0.1.0 started');
  });
});
