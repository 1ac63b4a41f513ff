// tvs-vswitchd against what should not stop a switch: a restart straight after kill -9, messages
// no well-behaved client sends, a log pattern that cannot be printed, a console that goes away,
// timeouts longer than Node's timers hold. Each time the daemon must keep running, or start
// again, and keep its committed configuration.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, testDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { nested, RawPeer } from '../helpers/raw-peer.js';
import { killToZombie, spawnUnreaped, type Unreaped } from '../helpers/unreaped.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli');

/** Runs a CLI to completion, keeping its exit code, stdout and stderr. */
function cli(name: string, args: string[]): Promise<CliExit> {
  return runForExit(process.execPath, [join(CLI, name), ...args]);
}

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

  it('refuses a log pattern with an absurd field width, and goes on logging', async () => {
    const patterns = await sw.appctl('vlog/list-pattern');
    await expect(sw.appctl('vlog/set', 'PATTERN:console:%999999999m')).rejects.toThrow('field width 999999999 in "%999999999m" exceeds the maximum of 1000');
    await expect(sw.appctl('vlog/set', 'PATTERN:file:%999999999m')).rejects.toThrow('field width 999999999');
    expect(await sw.appctl('vlog/list-pattern')).toBe(patterns);
    // A warning on the console: the line the refused pattern would have failed to build.
    const db = await peer(join(sw.dir, 'db.sock'));
    db.send(`{"method":"echo","params":${nested(1001)},"id":1}`);
    await db.next();
    await eventually(() => /\|jsonrpc\|WARN\|unix: syntax error: .*input exceeds maximum nesting depth 1000\n/.test(sw.stderr()), 10_000, 'the warning on stderr');
    expect(await sw.appctl('version')).toMatch(/^tvs-vswitchd/);
  });

  it('waits for a tvs-vsctl --timeout or tvs-appctl -T longer than a Node timer holds', async () => {
    const vsctl = await cli('tvs-vsctl.js', [`--db=${sw.db}`, '--timeout=4294967295', 'get', 'Open_vSwitch', '.', 'external_ids:kept']);
    expect(vsctl).toEqual({ code: 0, stdout: 'yes\n', stderr: '' });
    const appctl = await cli('tvs-appctl.js', ['-t', join(sw.dir, 'tvs-vswitchd.ctl'), '-T', '4294967296', 'version']);
    expect(appctl).toMatchObject({ code: 0, stderr: '' });
    const dpctl = await cli('tvs-dpctl.js', [`--unixctl=${join(sw.dir, 'tvs-vswitchd.ctl')}`, '--timeout=4294967296', 'show']);
    expect(dpctl).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('tvs-vswitchd restarts and its console', () => {
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

  it('keeps running when the reader of its stderr goes away', async () => {
    const own = testDaemon(mkdtempSync(join(tmpdir(), 'tvs-t-console-')));
    const child = spawn(own.argv[0]!, own.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TVS_RUNDIR: own.dir } });
    try {
      await eventually(() => own.appctl('version').then(() => true, () => false), 15_000, 'the daemon to answer');
      child.stderr.destroy();
      // Text that is not JSON-RPC: a warning goes to the console, now a pipe nobody reads.
      const db = await RawPeer.connect(join(own.dir, 'db.sock'));
      db.send('hello');
      expect(await db.next()).toMatchObject({ error: { error: 'syntax error' } });
      await db.closed();
      expect(await own.appctl('version')).toMatch(/^tvs-vswitchd/);
      expect(await own.vsctl('get', 'Open_vSwitch', '.', 'external_ids')).toBe('{}\n');
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill('SIGKILL');
      await own.stop();
    }
  });
});
