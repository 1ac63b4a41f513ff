// The reference switch for differential tests: Debian's ovsdb-server and ovs-vswitchd, started
// privately (scripts/bench/ovs-daemons.ts) with one bridge on the userspace (netdev) datapath and
// dummy ports. `--enable-dummy=override` makes every port, the bridge's own included, a dummy: no
// kernel device is created, so nothing can be left behind on the machine, and several instances
// run side by side. stop() (and a failed start) kills both processes, waits until they are gone
// and removes the directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startOvsDaemons } from '../../scripts/bench/ovs-daemons.js';
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

/** Start the reference switch with `bridge` and dummy ports `ports` numbered 1, 2, ... in order. */
export async function startOvsReference(opts: { bridge?: string; ports?: string[] } = {}): Promise<OvsReference> {
  const bridge = opts.bridge ?? 'br0';
  const daemons = await startOvsDaemons({ purpose: 'reference', vswitchdArgs: ['--enable-dummy=override', '--disable-system'] });
  const ref: OvsReference = {
    dir: daemons.dir,
    bridge,
    // OVS_RUNDIR puts the bridge's mgmt socket in the instance's directory.
    target: `unix:${join(daemons.dir, `${bridge}.mgmt`)}`,
    vsctl: daemons.vsctl,
    ofctl: (...args) => runForExit('ovs-ofctl', args),
    appctl: daemons.appctl,
    stop: daemons.stop,
  };
  try {
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
