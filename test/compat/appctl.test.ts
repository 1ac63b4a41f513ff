// tvs-appctl and tvs-dpctl as users run them: against Debian's ovsdb-server (a real OVS daemon's
// control socket), against our own UnixctlServer, and as built programs with exit codes.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as appctl } from '../../src/cli/tvs-appctl.js';
import { main as dpctl } from '../../src/cli/tvs-dpctl.js';
import { CommandRegistry } from '../../src/lib/command-registry.js';
import { UnixctlServer } from '../../src/lib/unixctl.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const haveOvsdbServer = existsSync('/usr/sbin/ovsdb-server') && existsSync('/usr/bin/ovsdb-tool');

let dir: string;
let rundir: string;
let ovsdb: ChildProcess | undefined;
let ovsdbCtl: string;
let ours: UnixctlServer;
const dpCalls: { method: string; args: string[] }[] = [];
let oldRundir: string | undefined;

async function run(fn: typeof appctl, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await fn(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(path)) throw new Error(`${path} did not appear`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvs-appctl-'));
  rundir = join(dir, 'run');
  oldRundir = process.env.TVS_RUNDIR;
  process.env.TVS_RUNDIR = rundir;
  // Our daemon stand-in: the dpctl/* commands the daemon registers, as stubs with known text.
  const reg = new CommandRegistry();
  const stub = (name: string, min: number, text: string): void =>
    reg.register(`dpctl/${name}`, '', min, 10, (args) => {
      dpCalls.push({ method: `dpctl/${name}`, args });
      if (args.includes('FAIL')) throw new Error('flow not found: no flow is installed with exactly this match');
      return text;
    });
  stub('show', 0, 'netdev@br0:\n  lookups: hit:1 missed:2 lost:0\n  flows: 1\n');
  stub('dump-dps', 0, 'netdev@br0\n');
  stub('dump-flows', 0, 'recirc_id(0),in_port(1),eth_type(0x0800), packets:0, bytes:0, used:never, actions:2\n');
  stub('add-flow', 2, '');
  stub('mod-flow', 2, '');
  stub('del-flow', 1, '');
  stub('del-flows', 0, '');
  stub('get-flow', 1, 'ufid:00000000-0000-0000-0000-000000000001, recirc_id(0),in_port(1), actions:2\n');
  ours = new UnixctlServer({ path: join(rundir, 'tvs-vswitchd.ctl'), registry: reg, version: 'tvs-vswitchd (TVS) 0.1.0' });
  await ours.start();

  if (haveOvsdbServer) {
    const db = join(dir, 'conf.db');
    execFileSync('ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
    ovsdbCtl = join(dir, 'ovsdb-server.ctl');
    ovsdb = spawn('ovsdb-server', [`--unixctl=${ovsdbCtl}`, `--remote=punix:${join(dir, 'db.sock')}`, '--no-chdir', db], {
      stdio: 'ignore',
    });
    await waitFor(ovsdbCtl);
  }
});

afterAll(async () => {
  ovsdb?.kill('SIGKILL');
  await ours?.close();
  if (oldRundir === undefined) delete process.env.TVS_RUNDIR;
  else process.env.TVS_RUNDIR = oldRundir;
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveOvsdbServer)("tvs-appctl against Debian's ovsdb-server", () => {
  it('prints list-commands and version as ovs-appctl does', async () => {
    const v = await run(appctl, ['-t', ovsdbCtl, 'version']);
    expect(v).toMatchObject({ code: 0, err: '' });
    expect(v.out).toMatch(/^ovsdb-server \(Open vSwitch\) \d+\.\d+\.\d+\n$/);
    const list = await run(appctl, [`--target=${ovsdbCtl}`, 'list-commands']);
    expect(list.code).toBe(0);
    expect(list.out.startsWith('The available commands are:\n')).toBe(true);
    expect(list.out).toContain('\n  ovsdb-server/list-dbs   \n');
    const ref = execFileSync('ovs-appctl', ['-t', ovsdbCtl, 'list-commands'], { encoding: 'utf8' });
    expect(list.out).toBe(ref);
  });

  it('passes arguments and reports the server\'s errors with exit code 2', async () => {
    expect(await run(appctl, ['-t', ovsdbCtl, 'ovsdb-server/list-dbs'])).toEqual({ code: 0, out: 'Open_vSwitch\n_Server\n', err: '' });
    expect(await run(appctl, ['-t', ovsdbCtl, 'ovsdb-server/add-db'])).toEqual({
      code: 2,
      out: '',
      err: `"ovsdb-server/add-db" command requires at least 1 arguments\ntvs-appctl: ${ovsdbCtl}: server returned an error\n`,
    });
    expect((await run(appctl, ['-t', ovsdbCtl, 'vlog/set', 'nosuch:dbg'])).err).toContain('no destination, level, or module "nosuch"\n');
  });
});

describe('tvs-appctl', () => {
  it('reaches tvs-vswitchd by default, by name and by path', async () => {
    const want = { code: 0, out: 'tvs-vswitchd (TVS) 0.1.0\n', err: '' };
    expect(await run(appctl, ['version'])).toEqual(want);
    expect(await run(appctl, ['-t', 'tvs-vswitchd', 'version'])).toEqual(want);
    expect(await run(appctl, ['-t', ours.path, 'version'])).toEqual(want);
  });

  it('leaves options after the command to the command', async () => {
    await run(appctl, ['dpctl/dump-flows', '-m']);
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/dump-flows', args: ['-m'] });
  });

  it('says clearly when the daemon is not running', async () => {
    expect(await run(appctl, ['-t', 'tvs-nothing', 'version'])).toEqual({
      code: 1,
      out: '',
      err: `tvs-appctl: cannot connect to "${join(rundir, 'tvs-nothing.ctl')}" (No such file or directory)\n`,
    });
  });

  it('finds <name>.<pid>.ctl through the pidfile', async () => {
    const reg = new CommandRegistry();
    const s = new UnixctlServer({ path: join(rundir, 'tvsdb-server.4321.ctl'), registry: reg, version: 'tvsdb-server (TVS) 0.1.0' });
    await s.start();
    try {
      writeFileSync(join(rundir, 'tvsdb-server.pid'), '4321\n');
      expect((await run(appctl, ['-t', 'tvsdb-server', 'version'])).out).toBe('tvsdb-server (TVS) 0.1.0\n');
    } finally {
      await s.close();
    }
  });

  it('rejects usage errors in ovs-appctl\'s words', async () => {
    expect(await run(appctl, [])).toMatchObject({ code: 1, err: 'tvs-appctl: at least one non-option argument is required (use --help for help)\n' });
    expect((await run(appctl, ['--timeout=x', 'version'])).err).toBe('tvs-appctl: value x on -T or --timeout is invalid\n');
    expect((await run(appctl, ['--bogus', 'version'])).err).toBe("tvs-appctl: unrecognized option '--bogus'\n");
    expect((await run(appctl, ['--help'])).out).toContain('usage: tvs-appctl [TARGET] COMMAND [ARG...]');
  });
});

describe('tvs-dpctl forwards to the daemon\'s dpctl/* commands', () => {
  it('show, dump-dps, dump-flows with their options, and prints the replies', async () => {
    expect(await run(dpctl, ['show'])).toEqual({ code: 0, out: 'netdev@br0:\n  lookups: hit:1 missed:2 lost:0\n  flows: 1\n', err: '' });
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/show', args: [] });
    await run(dpctl, ['-s', 'show', 'netdev@br0']);
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/show', args: ['-s', 'netdev@br0'] });
    expect((await run(dpctl, ['dump-dps'])).out).toBe('netdev@br0\n');
    const flows = await run(dpctl, ['dump-flows', '-m']);
    expect(flows.out).toBe('recirc_id(0),in_port(1),eth_type(0x0800), packets:0, bytes:0, used:never, actions:2\n');
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/dump-flows', args: ['-m'] });
    await run(dpctl, ['--more', 'dump-flows', 'netdev@br0', 'in_port(1)']);
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/dump-flows', args: ['-m', 'netdev@br0', 'in_port(1)'] });
  });

  it('add-flow, mod-flow, get-flow, del-flow and del-flows', async () => {
    const flow = 'in_port(1),eth(src=50:54:00:00:00:01),eth_type(0x0800)';
    expect(await run(dpctl, ['add-flow', flow, '2'])).toEqual({ code: 0, out: '', err: '' });
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/add-flow', args: [flow, '2'] });
    await run(dpctl, ['mod-flow', '--may-create', '--clear', '-s', flow, 'drop']);
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/mod-flow', args: ['--may-create', '--clear', '-s', flow, 'drop'] });
    expect((await run(dpctl, ['get-flow', 'ufid:00000000-0000-0000-0000-000000000001'])).out).toMatch(/^ufid:0+-0000-0000-0000-0+1, /);
    await run(dpctl, ['del-flow', flow]);
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/del-flow', args: [flow] });
    await run(dpctl, ['del-flows']);
    expect(dpCalls.at(-1)).toEqual({ method: 'dpctl/del-flows', args: [] });
  });

  it('prints the daemon\'s error as ovs-dpctl does, exit code 1', async () => {
    expect(await run(dpctl, ['del-flow', 'FAIL'])).toEqual({
      code: 1,
      out: '',
      err: 'tvs-dpctl: flow not found: no flow is installed with exactly this match\n',
    });
  });

  it('checks usage before contacting the daemon, in ovs-dpctl\'s words', async () => {
    const n = dpCalls.length;
    expect((await run(dpctl, [])).err).toBe('tvs-dpctl: missing command name; use --help for help\n');
    expect((await run(dpctl, ['foo'])).err).toBe("tvs-dpctl: unknown command 'foo'; use --help for help\n");
    expect((await run(dpctl, ['toString'])).err).toBe("tvs-dpctl: unknown command 'toString'; use --help for help\n");
    expect((await run(dpctl, ['add-flow'])).err).toBe("tvs-dpctl: 'add-flow' command requires at least 2 arguments\n");
    expect((await run(dpctl, ['add-flow', 'a', 'b', 'c', 'd'])).err).toBe("tvs-dpctl: 'add-flow' command takes at most 3 arguments\n");
    expect((await run(dpctl, ['--bogus', 'show'])).err).toBe("tvs-dpctl: unrecognized option '--bogus'\n");
    expect((await run(dpctl, ['-x', 'show'])).err).toBe("tvs-dpctl: invalid option -- 'x'\n");
    expect((await run(dpctl, ['add-dp', 'x'])).err).toMatch(/^tvs-dpctl: 'add-dp' is not supported by TVS/);
    expect(dpCalls.length).toBe(n);
  });

  it('says the daemon is not running', async () => {
    expect(await run(dpctl, ['--unixctl=tvs-nothing', 'show'])).toEqual({
      code: 1,
      out: '',
      err: `tvs-dpctl: cannot connect to "${join(rundir, 'tvs-nothing.ctl')}" (No such file or directory); is tvs-vswitchd running?\n`,
    });
  });
});

describe('the built programs', () => {
  let out: string;
  beforeAll(() => {
    // Build just these two programs (and what they import) so the test does not depend on the rest
    // of the tree compiling.
    out = join(dir, 'build');
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['--outDir', out, '--rootDir', ROOT, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
        '--strict', '--skipLibCheck', '--types', 'node', join(ROOT, 'src/cli/tvs-appctl.ts'), join(ROOT, 'src/cli/tvs-dpctl.ts')],
      { cwd: ROOT, stdio: 'pipe' },
    );
    writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  });

  const exec = (prog: string, args: string[]): Promise<CliExit> =>
    runForExit(process.execPath, [join(out, 'src/cli', prog), ...args], { env: { TVS_RUNDIR: rundir }, timeoutMs: 10_000 });

  it('tvs-appctl runs as a program with ovs-appctl\'s exit codes', async () => {
    expect(await exec('tvs-appctl.js', ['version'])).toEqual({ code: 0, stdout: 'tvs-vswitchd (TVS) 0.1.0\n', stderr: '' });
    expect(await exec('tvs-appctl.js', ['nope'])).toMatchObject({ code: 2, stderr: expect.stringContaining('"nope" is not a valid command') });
    expect(await exec('tvs-appctl.js', ['-t', 'gone', 'version'])).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot connect to') });
  });

  it('tvs-dpctl runs as a program', async () => {
    expect(await exec('tvs-dpctl.js', ['dump-dps'])).toEqual({ code: 0, stdout: 'netdev@br0\n', stderr: '' });
    expect(readFileSync(join(out, 'src/cli/tvs-dpctl.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
