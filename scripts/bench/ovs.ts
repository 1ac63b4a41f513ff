// A private Open vSwitch instance (Debian's openvswitch-switch) with a
// userspace (netdev) datapath, for the benchmark's baseline and the tests that
// run a controller against OVS; ovs-daemons.ts keeps its files private.
import { join } from 'node:path';
import { run } from '../../src/lib/netns.js';
import { startOvsDaemons, type OvsDaemons } from './ovs-daemons.js';

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
  /** A bridge name of our own, so a machine's own br0 is never touched. */
  readonly bridge = `tvsb${process.pid % 100000}`;
  /** Another OVS already had the netdev datapath's device: leave it alone. */
  private hadNetdevDatapath = false;
  private daemons: OvsDaemons | undefined;

  /** The private directory holding the instance's database, sockets and logs. */
  get dir(): string {
    return this.started().dir;
  }

  vsctl(...args: string[]): Promise<string> {
    return this.started().vsctl(...args);
  }

  ofctl(command: string, ...args: string[]): Promise<string> {
    return run('ovs-ofctl', [command, `unix:${join(this.dir, `${this.bridge}.mgmt`)}`, ...args]);
  }

  appctl(...args: string[]): Promise<string> {
    return this.started().appctl(...args);
  }

  /** Start ovsdb-server and ovs-vswitchd with a netdev bridge joining `ports`. */
  async start(ports: string[], opts: { tso: boolean }): Promise<void> {
    this.hadNetdevDatapath = await run('ip', ['link', 'show', 'ovs-netdev']).then(
      () => true,
      () => false,
    );
    this.daemons = await startOvsDaemons({
      purpose: 'bench',
      beforeVswitchd: (vsctl) =>
        vsctl('--no-wait', 'set', 'Open_vSwitch', '.', `other_config:userspace-tso-enable=${opts.tso}`,
          'other_config:flow-limit=1000000', 'other_config:max-idle=60000'),
    });
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
    if (!this.daemons) return;
    // OVS's netdev datapath makes its taps persistent: remove the bridge and
    // the datapath through OVS before stopping it, so no device is left behind.
    await this.vsctl('--if-exists', 'del-br', this.bridge).catch(() => undefined);
    await this.appctl('dpctl/del-dp', 'netdev@ovs-netdev').catch(() => undefined);
    await this.daemons.stop();
    this.daemons = undefined;
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    if (!this.hadNetdevDatapath) await run('ip', ['link', 'del', 'ovs-netdev']).catch(() => undefined);
  }

  private started(): OvsDaemons {
    if (!this.daemons) throw new Error('the OVS baseline is not started: call start() first');
    return this.daemons;
  }
}
