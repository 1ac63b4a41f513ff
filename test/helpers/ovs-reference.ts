// The reference switch for differential tests: Debian's ovsdb-server and ovs-vswitchd, started in
// a temporary directory of their own with one bridge on the userspace (netdev) datapath and dummy
// ports, as scripts/bench/ovs.ts starts them for the benchmark. `--enable-dummy=override` makes
// every port, the bridge's own included, a dummy: no kernel device is created, so nothing can be
// left behind on the machine, and several instances run side by side. stop() (and a failed start)
// kills both processes, waits until they are gone and removes the directory.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lib/netns.js';
import { eventually } from './eventually.js';
import { runForExit, type CliExit } from './run-exit.js';

export interface OvsReference {
  dir: string;
  bridge: string;
  /** The bridge's OpenFlow management socket, as `unix:PATH`: what `ovs-ofctl show br0` would use. */
  target: string;
  vsctl(...args: string[]): Promise<string>;
  /** The real ovs-ofctl, with its exit status and both outputs. */
  ofctl(...args: string[]): Promise<CliExit>;
  appctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Whether Debian's Open vSwitch is installed (openvswitch-switch and openvswitch-common). */
export function ovsReferenceAvailable(): boolean {
  return ['/usr/sbin/ovs-vswitchd', '/usr/sbin/ovsdb-server', '/usr/bin/ovs-ofctl', '/usr/bin/ovs-vsctl'].every((f) => existsSync(f));
}

/** Whether process `pid` still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start the reference switch with `bridge` and dummy ports `ports` numbered 1, 2, ... in order. */
export async function startOvsReference(opts: { bridge?: string; ports?: string[] } = {}): Promise<OvsReference> {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-t-ovsref-'));
  const bridge = opts.bridge ?? 'br0';
  const db = `unix:${join(dir, 'db.sock')}`;
  // OVS_RUNDIR puts the bridge's mgmt socket in `dir`; the others keep every file there too.
  const env = [`OVS_RUNDIR=${dir}`, `OVS_LOGDIR=${dir}`, `OVS_DBDIR=${dir}`];
  const pids: number[] = [];

  const ref: OvsReference = {
    dir,
    bridge,
    target: `unix:${join(dir, `${bridge}.mgmt`)}`,
    vsctl: (...args) => run('ovs-vsctl', [`--db=${db}`, '--timeout=20', ...args]),
    ofctl: (...args) => runForExit('ovs-ofctl', args),
    appctl: (...args) => run('ovs-appctl', ['-t', join(dir, 'ovs-vswitchd.ctl'), ...args]),
    async stop() {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
      await eventually(() => !pids.some(alive), 10_000, 'the reference ovsdb-server and ovs-vswitchd to exit');
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const daemon = async (name: string, args: string[]) => {
    const pidfile = join(dir, `${name}.pid`);
    await run('env', [...env, name, ...args, `--pidfile=${pidfile}`, `--unixctl=${join(dir, `${name}.ctl`)}`, `--log-file=${join(dir, `${name}.log`)}`, '--detach']);
    // --detach returns once the daemon is up and its pidfile written.
    pids.push(Number(readFileSync(pidfile, 'utf8').trim()));
  };

  try {
    await run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
    await daemon('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`]);
    await ref.vsctl('--no-wait', 'init');
    await daemon('ovs-vswitchd', [db, '--enable-dummy=override', '--disable-system']);
    // Without --no-wait, ovs-vsctl returns once ovs-vswitchd has applied the change: the bridge
    // and its mgmt socket exist.
    const ports = (opts.ports ?? []).flatMap((p, i) => ['--', 'add-port', bridge, p, '--', 'set', 'interface', p, 'type=dummy', `ofport_request=${i + 1}`]);
    await ref.vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev', ...ports);
  } catch (e) {
    await ref.stop();
    throw e;
  }
  return ref;
}
