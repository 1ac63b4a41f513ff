// Differential test: a script of everyday ovs-vsctl commands, errors included, run against
// Debian's ovsdb-server and against tvsdb-server; every command must print the same thing.

import { describe, expect, it } from 'vitest';
import { maskUuidsAndLogTimes, sortedLines, transcript } from '../helpers/differential.js';
import type { CliExit } from '../helpers/run-exit.js';
import { run, serverPairForFile } from './ovsdb-harness.js';

const SCRIPT = [
  ['init'],
  ['add-br', 'br0'],
  ['--may-exist', 'add-br', 'br0'],
  ['add-br', 'br0'],
  ['add-port', 'br0', 'p1', 'tag=10'],
  ['add-port', 'br0', 'vx1', '--', 'set', 'Interface', 'vx1', 'type=vxlan', 'options:remote_ip=10.0.0.2', 'options:key=5'],
  ['add-bond', 'br0', 'bond0', 'e1', 'e2', 'lacp=active'],
  ['set-manager', 'ptcp:6640'],
  ['get-manager'],
  ['set-controller', 'br0', 'tcp:1.2.3.4:6653', 'tcp:5.6.7.8:6653'],
  ['get-controller', 'br0'],
  ['set-fail-mode', 'br0', 'secure'],
  ['--id=@m', 'create', 'Mirror', 'name=m1', 'select_all=true', '--', 'add', 'Bridge', 'br0', 'mirrors', '@m'],
  ['list', 'Mirror'],
  ['--columns=name,tag', 'list', 'Port'],
  ['find', 'Port', 'tag=10'],
  ['set', 'Port', 'p1', 'trunks=1,2,3', 'vlan_mode=trunk'],
  ['get', 'Port', 'p1', 'trunks', 'vlan_mode'],
  ['remove', 'Port', 'p1', 'trunks', '2'],
  ['clear', 'Port', 'p1', 'trunks'],
  ['add', 'Interface', 'p1', 'external_ids', 'k=v'],
  ['get', 'Interface', 'p1', 'external_ids'],
  ['set', 'Interface', 'p1', 'ofport_request=70000'],
  ['set', 'Bridge', 'br0', 'protocols=OpenFlow99'],
  ['add-br', 'br1', 'br0', '20'],
  ['br-to-vlan', 'br1'],
  ['br-to-parent', 'br1'],
  ['list-br'],
  ['list-ports', 'br0'],
  ['list-ifaces', 'br0'],
  ['iface-to-br', 'e1'],
  ['del-port', 'br0', 'bond0'],
  ['del-br', 'br1'],
  ['clear', 'Bridge', 'br0', 'mirrors'],
  ['list', 'Mirror'],
  ['del-controller', 'br0'],
  ['del-manager'],
  ['show'],
  ['del-br', 'br0'],
  ['list', 'Interface'],
  ['show'],
];

describe('ovs-vsctl prints the same against tvsdb-server as against Debian ovsdb-server', () => {
  const servers = serverPairForFile();

  it('for every command of the script, in order', async () => {
    const vsctl = (sock: string) => (cmd: string[]) => run('ovs-vsctl', [`--db=unix:${servers.dir.file(sock)}`, '--no-wait', '--timeout=10', ...cmd], { OVS_RUNDIR: servers.dir.path });
    const normalise = (r: CliExit) => sortedLines(r, maskUuidsAndLogTimes);
    const [theirs, ours] = await Promise.all([transcript(SCRIPT, vsctl('theirs.sock'), normalise), transcript(SCRIPT, vsctl('ours.sock'), normalise)]);
    expect(ours).toEqual(theirs);
  });
});
