import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandRegistry } from '../../../src/lib/command-registry.js';
import { registerVlogCommands, setLogSink } from '../../../src/lib/log.js';
import { UnixctlClient, UnixctlConnectError, UnixctlServer, resolveTarget, unixctlCall } from '../../../src/lib/unixctl.js';
import { eventually } from '../../helpers/eventually.js';
import { runForExit, type CliExit } from '../../helpers/run-exit.js';

const OVS_APPCTL = '/usr/bin/ovs-appctl';
const haveOvsAppctl = existsSync(OVS_APPCTL);

let dir: string;
let sock: string;
let server: UnixctlServer;
const cleanups: (() => unknown)[] = [];
const logged: string[] = [];
setLogSink((l) => logged.push(l));

/** How many `slow` commands the servers have started and finished. */
const slow = { started: 0, finished: 0 };

function makeRegistry(): CommandRegistry {
  const reg = new CommandRegistry();
  reg.register('fdb/show', 'bridge', 1, 1, ([br]) => ` port  VLAN  MAC                Age\n    1     0  50:54:00:00:00:01    3\n(${br!})`);
  reg.register('echo', '[arg...]', 0, 10, (args) => args.join(' '));
  reg.register('fail', '', 0, 0, () => {
    throw new Error('it failed');
  });
  reg.register('slow', 'ms', 1, 1, ([ms]) => {
    slow.started++;
    return new Promise((r) =>
      setTimeout(() => {
        slow.finished++;
        r(`slept ${ms!}`);
      }, Number(ms)),
    );
  });
  registerVlogCommands(reg);
  return reg;
}

function appctl(args: string[]): Promise<CliExit> {
  return runForExit(OVS_APPCTL, args, { timeoutMs: 10_000 });
}

/**
 * Sends raw bytes and collects what comes back until `until` replies have
 * come (every reply starts `{"id":`), or until the server closes the
 * connection ('close'); at a generous deadline it returns what it has.
 */
function raw(data: string, until: number | 'close'): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const c = createConnection(sock);
    let text = '';
    let closed = false;
    const done = () => {
      clearTimeout(deadline);
      c.destroy();
      resolve({ text, closed });
    };
    const deadline = setTimeout(done, 10_000);
    c.on('data', (d) => {
      text += d.toString();
      if (until !== 'close' && text.split('{"id":').length - 1 >= until) done();
    });
    c.on('error', () => undefined);
    c.on('close', () => {
      closed = true;
      done();
    });
    c.on('connect', () => c.write(data));
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvs-unixctl-'));
  sock = join(dir, 'run', 'tvs-test.ctl');
  server = new UnixctlServer({ path: sock, registry: makeRegistry(), version: 'tvs-test (TVS) 0.1.0' });
  await server.start();
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveOvsAppctl)("Debian's ovs-appctl against our server", () => {
  it('runs version, list-commands and a registered command', async () => {
    expect(await appctl(['-t', sock, 'version'])).toEqual({ code: 0, stdout: 'tvs-test (TVS) 0.1.0\n', stderr: '' });
    const list = await appctl(['-t', sock, 'list-commands']);
    expect(list.code).toBe(0);
    expect(list.stdout.startsWith('The available commands are:\n')).toBe(true);
    expect(list.stdout).toContain('\n  fdb/show                bridge\n');
    expect(list.stdout).toContain('\n  list-commands           \n');
    expect(list.stdout).toContain('\n  vlog/set                {spec | PATTERN:destination:pattern}\n');
    const fdb = await appctl(['-t', sock, 'fdb/show', 'br0']);
    expect(fdb).toEqual({ code: 0, stdout: ' port  VLAN  MAC                Age\n    1     0  50:54:00:00:00:01    3\n(br0)\n', stderr: '' });
  });

  it('gets OVS error texts and exit code 2 for bad argument counts, unknown commands and failures', async () => {
    expect(await appctl(['-t', sock, 'fdb/show'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `"fdb/show" command requires at least 1 arguments\novs-appctl: ${sock}: server returned an error\n`,
    });
    expect((await appctl(['-t', sock, 'fdb/show', 'a', 'b'])).stderr).toContain('"fdb/show" command takes at most 1 arguments\n');
    expect((await appctl(['-t', sock, 'foo'])).stderr).toContain(
      '"foo" is not a valid command (use "list-commands" to see a list of valid commands)\n',
    );
    expect(await appctl(['-t', sock, 'fail'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^it failed\n/) });
  });

  it('changes log levels with vlog/set and shows them with vlog/list', async () => {
    expect((await appctl(['-t', sock, 'vlog/set', 'unixctl:file:dbg'])).code).toBe(0);
    const list = await appctl(['-t', sock, 'vlog/list']);
    expect(list.stdout).toMatch(/\nunixctl\s+WARN\s+OFF\s+DBG\n/);
    expect((await appctl(['-t', sock, 'vlog/set', 'bogus'])).stderr).toContain('no destination, level, or module "bogus"');
  });

  it('serves twenty ovs-appctl processes at once', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => appctl(['-t', sock, 'echo', `n${i}`])));
    expect(rs.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}\n`));
  });
});

describe('UnixctlServer', () => {
  it('creates the socket private to its owner and group, and removes it on close', async () => {
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o750);
    await server.close();
    expect(existsSync(sock)).toBe(false);
    await server.start(); // so afterEach has something to close
  });

  it('replaces a stale socket file left by a crashed daemon, but not a live one or a plain file', async () => {
    // A socket nobody listens on, as a killed daemon leaves it: bound by a process that is gone.
    const stale = join(dir, 'stale.ctl');
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale]);
    expect(statSync(stale).isSocket()).toBe(true);
    const second = new UnixctlServer({ path: stale, registry: makeRegistry(), version: 'x' });
    await second.start();
    cleanups.push(() => second.close());
    expect(await unixctlCall(stale, 'version')).toEqual({ ok: true, output: 'x\n' });
    await expect(new UnixctlServer({ path: sock, registry: makeRegistry(), version: 'y' }).start()).rejects.toThrow(/already listening/);
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'data');
    await expect(new UnixctlServer({ path: plain, registry: makeRegistry(), version: 'y' }).start()).rejects.toThrow(/not a socket/);
  });

  it('answers in OVS reply layout and adds the final newline', async () => {
    const r = await raw('{"method":"echo","params":["a","b"],"id":7}', 1);
    expect(r.text).toBe('{"id":7,"result":"a b\\n","error":null}');
    const e = await raw('{"method":"nope","params":[],"id":"x"}', 1);
    expect(e.text).toBe('{"id":"x","error":"\\"nope\\" is not a valid command (use \\"list-commands\\" to see a list of valid commands)\\n"}');
    expect((await raw('{"method":"echo","params":[],"id":1}', 1)).text).toBe('{"id":1,"result":"","error":null}');
  });

  it('answers several requests on one connection in order, even when the first is slow', async () => {
    const r = await raw('{"method":"slow","params":["80"],"id":1}{"method":"echo","params":["fast"],"id":2}', 2);
    expect(r.text).toBe('{"id":1,"result":"slept 80\\n","error":null}{"id":2,"result":"fast\\n","error":null}');
  });

  it('answers malformed input with an error, drops only that connection and keeps serving', async () => {
    const garbage = await raw('garbage}', 'close');
    expect(garbage.closed).toBe(true);
    expect(JSON.parse(garbage.text)).toMatchObject({ id: null, error: expect.stringContaining('syntax error') });
    expect(logged.some((l) => /\|unixctl\|WARN\|unix#\d+: syntax error/.test(l))).toBe(true);
    const badJson = await raw('{"method": "echo", params: []}', 'close');
    expect(badJson.closed).toBe(true);
    expect((JSON.parse(badJson.text) as { error: string }).error).toMatch(/invalid JSON/);
    const notification = await raw('{"method":"echo","params":[]}', 'close');
    expect(notification).toMatchObject({ closed: true, text: expect.stringContaining('unexpected notification') });
    const reply = await raw('{"result":"x","error":null,"id":1}', 'close');
    expect(reply).toMatchObject({ closed: true, text: expect.stringContaining('unexpected reply') });
    // A well-formed request with bad params gets an error, and the connection stays usable.
    const params = await raw('{"method":"echo","params":[1],"id":1}{"method":"echo","id":2}{"method":"echo","params":["ok"],"id":3}', 3);
    expect(params.closed).toBe(false);
    expect(params.text).toBe(
      '{"id":1,"error":"command has non-string argument: 1\\n"}{"id":2,"error":"request must have \\"params\\"\\n"}{"id":3,"result":"ok\\n","error":null}',
    );
    expect(await unixctlCall(sock, 'echo', ['still', 'here'])).toEqual({ ok: true, output: 'still here\n' });
  });

  it('survives a client that disconnects before its reply', async () => {
    const c = createConnection(sock);
    await new Promise((r) => c.on('connect', r));
    const finished = slow.finished;
    c.write('{"method":"slow","params":["50"],"id":1}');
    c.destroy();
    // The command runs to its end and its reply finds the connection gone.
    await eventually(() => slow.finished > finished, 5000, 'the slow command to finish');
    expect(await unixctlCall(sock, 'version')).toEqual({ ok: true, output: 'tvs-test (TVS) 0.1.0\n' });
  });

  it('serves 200 clients at once, each with several requests in flight', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => UnixctlClient.connect(sock)));
    cleanups.push(() => clients.forEach((c) => c.close()));
    const replies = await Promise.all(
      clients.flatMap((c, i) => [c.call('echo', [`c${i}`, 'a']), c.call('slow', ['5']), c.call('echo', [`c${i}`, 'b'])]),
    );
    expect(replies.filter((_, k) => k % 3 !== 1).map((r) => r.output)).toEqual(
      Array.from({ length: 200 }, (_, i) => [`c${i} a\n`, `c${i} b\n`]).flat(),
    );
    expect(replies.every((r) => r.ok)).toBe(true);
  });

  it('drops its connections on close, and clients see the failure', async () => {
    const c = await UnixctlClient.connect(sock);
    const started = slow.started;
    const pending = c.call('slow', ['1000']);
    await eventually(() => slow.started > started, 5000, 'the slow command to start');
    await server.close();
    await expect(pending).rejects.toThrow(/closed/);
    await server.start();
  });
});

describe('unixctl client', () => {
  it('says "cannot connect" with the reason when nothing listens', async () => {
    const missing = join(dir, 'none.ctl');
    const e = await unixctlCall(missing, 'version').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnixctlConnectError);
    expect((e as Error).message).toBe(`cannot connect to "${missing}" (No such file or directory)`);
  });

  it('times out when the daemon does not answer', async () => {
    const mute = join(dir, 'mute.ctl');
    const held: Socket[] = [];
    const s = createServer((c) => held.push(c));
    await new Promise<void>((r) => s.listen(mute, r));
    cleanups.push(() => {
      held.forEach((c) => c.destroy());
      return new Promise((r) => s.close(r));
    });
    await expect(unixctlCall(mute, 'version', [], { timeoutMs: 100 })).rejects.toThrow(/no reply within/);
  });

  it('resolves a daemon name to <rundir>/<name>.ctl or, through its pidfile, <rundir>/<name>.<pid>.ctl', () => {
    const old = process.env.TVS_RUNDIR;
    process.env.TVS_RUNDIR = join(dir, 'run');
    try {
      expect(resolveTarget('tvs-test')).toBe(sock);
      expect(resolveTarget('other')).toBe(join(dir, 'run', 'other.ctl'));
      writeFileSync(join(dir, 'run', 'other.pid'), '4242\n');
      writeFileSync(join(dir, 'run', 'other.4242.ctl'), '');
      expect(resolveTarget('other')).toBe(join(dir, 'run', 'other.4242.ctl'));
      expect(resolveTarget(sock)).toBe(sock);
    } finally {
      if (old === undefined) delete process.env.TVS_RUNDIR;
      else process.env.TVS_RUNDIR = old;
    }
  });
});
