// Several switches on one machine: each tvs-vswitchd takes its database file, sockets, pidfile
// and log file from TVS_RUNDIR, TVS_DBDIR and TVS_LOGDIR, and every command given the same
// environment reaches that switch and no other; a standalone tvsdb-server and its clients too.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { Overlay, type TvsSwitch } from '../helpers/overlay.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli');

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

describe('a standalone tvsdb-server', () => {
  it('is found by tvsdb-tool, tvsdb-client and tvs-vsctl through TVS_DBDIR and TVS_RUNDIR alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tvs-t-rundir-'));
    const env = { ...process.env, TVS_RUNDIR: dir, TVS_DBDIR: dir };
    const cli = (command: string, args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [join(CLI, `${command}.js`), ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`${command} ${args.join(' ')}: ${stderr}`, { cause: err }));
          else resolve(stdout);
        });
      });
    let server: ChildProcess | undefined;
    try {
      await cli('tvsdb-tool', ['create']);
      expect(existsSync(join(dir, 'conf.db'))).toBe(true);
      server = spawn(process.execPath, [join(CLI, 'tvsdb-server.js'), join(dir, 'conf.db')], { env, stdio: 'ignore' });
      await eventually(() => existsSync(join(dir, 'db.sock')) && readdirSync(dir).some((f) => /^tvsdb-server\.\d+\.ctl$/.test(f)), 15_000, 'tvsdb-server to listen in TVS_RUNDIR');
      expect(await cli('tvsdb-client', ['list-dbs'])).toContain('Open_vSwitch\n');
      await cli('tvs-vsctl', ['--no-wait', 'init']);
      await cli('tvs-vsctl', ['--no-wait', 'add-br', 'br9']);
      expect(await cli('tvs-vsctl', ['list-br'])).toBe('br9\n');
    } finally {
      const exited = server && server.exitCode === null ? new Promise((r) => server!.once('exit', r)) : undefined;
      server?.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

