// A private Open vSwitch instance (Debian's openvswitch-switch) with a
// userspace (netdev) datapath, for the benchmark's baseline. Its database,
// sockets and logs live in a temporary directory; nothing touches a system OVS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lib/netns.js';

export async function ensureOvsInstalled(): Promise<boolean> {
  const has = await run('sh', ['-c', 'command -v ovs-vswitchd']).then(
    () => true,
    () => false,
  );
  if (has) return true;
  console.log('  installing Debian openvswitch-switch for the OVS baseline...');
  return run('apt-get', ['install', '-y', '-qq', 'openvswitch-switch'], { timeoutMs: 300_000 }).then(
    () => true,
    (e: unknown) => {
      console.log(`  OVS baseline skipped: ${(e as Error).message}`);
      return false;
    },
  );
}

export class OvsInstance {
  readonly dir = mkdtempSync(join(tmpdir(), 'tvs-bench-ovs-'));
  /** A bridge name of our own, so a machine's own br0 is never touched. */
  readonly bridge = `tvsb${process.pid % 100000}`;
  /** Another OVS already had the netdev datapath's device: leave it alone. */
  private hadNetdevDatapath = false;
  private readonly db = `unix:${join(this.dir, 'db.sock')}`;
  /** `env` arguments that keep this instance's files in its own directory. */
  private readonly envVars = [`OVS_RUNDIR=${this.dir}`, `OVS_LOGDIR=${this.dir}`, `OVS_DBDIR=${this.dir}`];

  vsctl(...args: string[]): Promise<string> {
    return run('ovs-vsctl', [`--db=${this.db}`, '--timeout=20', ...args]);
  }

  ofctl(command: string, ...args: string[]): Promise<string> {
    return run('ovs-ofctl', [command, `unix:${join(this.dir, `${this.bridge}.mgmt`)}`, ...args]);
  }

  appctl(...args: string[]): Promise<string> {
    return run('ovs-appctl', ['-t', join(this.dir, 'vswitchd.ctl'), ...args]);
  }

  /** Start ovsdb-server and ovs-vswitchd with a netdev bridge joining `ports`. */
  async start(ports: string[], opts: { tso: boolean }): Promise<void> {
    const d = this.dir;
    this.hadNetdevDatapath = await run('ip', ['link', 'show', 'ovs-netdev']).then(
      () => true,
      () => false,
    );
    await run('ovsdb-tool', ['create', join(d, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
    await run('env', [
      ...this.envVars,
      'ovsdb-server', join(d, 'conf.db'), `--remote=punix:${join(d, 'db.sock')}`, `--pidfile=${join(d, 'ovsdb.pid')}`,
      `--unixctl=${join(d, 'ovsdb.ctl')}`, `--log-file=${join(d, 'ovsdb.log')}`, '--detach',
    ]);
    await this.vsctl('--no-wait', 'init');
    await this.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', `other_config:userspace-tso-enable=${opts.tso}`,
      'other_config:flow-limit=1000000', 'other_config:max-idle=60000');
    await run('env', [
      ...this.envVars,
      'ovs-vswitchd', this.db, `--pidfile=${join(d, 'vswitchd.pid')}`, `--unixctl=${join(d, 'vswitchd.ctl')}`,
      `--log-file=${join(d, 'vswitchd.log')}`, '--detach',
    ]);
    await this.vsctl('add-br', this.bridge, '--', 'set', 'bridge', this.bridge, 'datapath_type=netdev');
    for (const [i, p] of ports.entries()) {
      await this.vsctl('add-port', this.bridge, p, '--', 'set', 'interface', p, `ofport_request=${i + 1}`);
    }
    await this.ofctl('del-flows');
    await this.ofctl('add-flow', 'in_port=1,actions=output:2');
    await this.ofctl('add-flow', 'in_port=2,actions=output:1');
  }

  /** Flows in the datapath now. */
  async datapathFlows(): Promise<number> {
    const out = await this.appctl('dpctl/show');
    return Number(/flows: (\d+)/.exec(out)?.[1] ?? 0);
  }

  async stop(): Promise<void> {
    // OVS's netdev datapath makes its taps persistent: remove the bridge and
    // the datapath through OVS before stopping it, so no device is left behind.
    await this.vsctl('--if-exists', 'del-br', this.bridge).catch(() => undefined);
    await this.appctl('dpctl/del-dp', 'netdev@ovs-netdev').catch(() => undefined);
    for (const pid of ['vswitchd.pid', 'ovsdb.pid']) {
      await run('sh', ['-c', `kill $(cat ${join(this.dir, pid)}) 2>/dev/null; true`]);
    }
    await new Promise((r) => setTimeout(r, 300));
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    if (!this.hadNetdevDatapath) await run('ip', ['link', 'del', 'ovs-netdev']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
