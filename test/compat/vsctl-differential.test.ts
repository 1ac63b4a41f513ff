// Differential test of tvs-vsctl against the real ovs-vsctl: the same command scripts run, each
// tool on its own fresh tvsdb-server database, and every command must print the same stdout and
// stderr and exit with the same status (uuids, log timestamps and program names masked).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskToolName, maskUuidsAndLogTimes, sortedLines, transcript } from '../helpers/differential.js';
import type { CliExit } from '../helpers/run-exit.js';
import { DEBIAN_SCHEMA, ServerProcess, TempDir, createDb, ensureOvsTools, ensureVsctlBuilt, TVS_VSCTL, run } from './ovsdb-harness.js';

/** Masks what legitimately differs; rows come out in uuid (so random) order, hence sorted lines and rows. */
function normalize(r: CliExit): string {
  return sortedLines(r, (line) => {
    const masked = maskUuidsAndLogTimes(line);
    if (masked.startsWith('{"data":')) {
      const o = JSON.parse(masked) as { data: unknown[]; headings: string[] };
      o.data = o.data.map((d) => JSON.stringify(d)).sort();
      return JSON.stringify(o);
    }
    return maskToolName(maskToolName(masked, 'vsctl', 'PROG'), 'vswitchd', 'DAEMON');
  });
}

/** Each tool on a fresh tvsdb-server of its own. */
class Pair {
  private dir = new TempDir();
  private servers: ServerProcess[] = [];

  async start(): Promise<void> {
    for (const s of ['ovs', 'tvs']) {
      await createDb(this.dir.file(`${s}.db`), DEBIAN_SCHEMA);
      this.servers.push(await ServerProcess.start(this.dir.file(`${s}.db`), [`punix:${this.dir.file(`${s}.sock`)}`]));
    }
  }

  async stop(): Promise<void> {
    for (const s of this.servers) await s.stop();
    this.dir.remove();
  }

  /** ovs-vsctl or tvs-vsctl on its own database. */
  vsctl(side: 'ovs' | 'tvs'): (args: string[]) => Promise<CliExit> {
    const db = `--db=unix:${this.dir.file(`${side}.sock`)}`;
    const env = { OVS_RUNDIR: this.dir.path };
    return side === 'ovs' ? (args) => run('ovs-vsctl', [db, '--no-wait', ...args], env) : (args) => run(process.execPath, [TVS_VSCTL, db, '--no-wait', ...args], env);
  }
}

/** A script is some forty runs of each tool, each a node or ovs-vsctl start: minutes on a busy machine. */
const SCRIPT_TIMEOUT_MS = 240_000;

async function differential(script: string[][]): Promise<void> {
  const pair = new Pair();
  await pair.start();
  try {
    const [theirs, ours] = await Promise.all([transcript(script, pair.vsctl('ovs'), normalize), transcript(script, pair.vsctl('tvs'), normalize)]);
    expect(ours).toEqual(theirs);
  } finally {
    await pair.stop();
  }
}

beforeAll(() => {
  ensureOvsTools();
  ensureVsctlBuilt();
});

const BRIDGES_AND_PORTS = [
  ['init'],
  ['list-br'],
  ['show'],
  ['add-br', 'br0'],
  ['--may-exist', 'add-br', 'br0'],
  ['add-br', 'br0'],
  ['add-br', ''],
  ['add-port', 'br0', 'p1', 'tag=10'],
  ['add-port', 'br0', 'p1'],
  ['--may-exist', 'add-port', 'br0', 'p1'],
  ['add-port', 'br0', 'br0'],
  ['add-port', 'br9', 'p9'],
  ['add-port', 'br0', 'vx1', '--', 'set', 'Interface', 'vx1', 'type=vxlan', 'options:remote_ip=10.0.0.2', 'options:key=5'],
  ['add-port', 'br0', 'p2', 'trunks=[1,2]', 'other_config:stp-enable=true', 'external_ids={a=b, c="d e"}'],
  ['add-bond', 'br0', 'bond0', 'e1', 'e2', 'lacp=active'],
  ['add-bond', 'br0', 'bond1', 'e3'],
  ['add-br', 'br1', 'br0', '20'],
  ['add-br', 'br2', 'br0', '20'],
  ['add-br', 'br3', 'br1', '30'],
  ['add-br', 'br4', 'br9', '30'],
  ['add-br', 'br4', 'br0', '5000'],
  ['add-br', 'br4', 'br0'],
  ['--may-exist', 'add-br', 'br1', 'br0', '20'],
  ['--may-exist', 'add-br', 'br1', 'br0', '21'],
  ['--may-exist', 'add-br', 'br1'],
  ['--may-exist', 'add-br', 'br0', 'br1', '20'],
  ['add-port', 'br1', 'p20'],
  ['--may-exist', 'add-port', 'br0', 'p20'],
  ['list-br'],
  ['--real', 'list-br'],
  ['--fake', 'list-br'],
  ['br-exists', 'br0'],
  ['br-exists', 'br1'],
  ['br-exists', 'nope'],
  ['br-to-vlan', 'br0'],
  ['br-to-vlan', 'br1'],
  ['br-to-vlan', 'br9'],
  ['br-to-parent', 'br0'],
  ['br-to-parent', 'br1'],
  ['list-ports', 'br0'],
  ['list-ports', 'br1'],
  ['list-ports', 'br9'],
  ['list-ifaces', 'br0'],
  ['list-ifaces', 'br1'],
  ['port-to-br', 'p1'],
  ['port-to-br', 'p20'],
  ['port-to-br', 'br0'],
  ['port-to-br', 'e1'],
  ['iface-to-br', 'e1'],
  ['iface-to-br', 'p20'],
  ['iface-to-br', 'bond0'],
  ['br-set-external-id', 'br0', 'k', 'v'],
  ['br-set-external-id', 'br1', 'k', 'v1'],
  ['br-get-external-id', 'br0'],
  ['br-get-external-id', 'br1', 'k'],
  ['br-set-external-id', 'br0', 'k'],
  ['br-get-external-id', 'br0'],
  ['show'],
  ['del-port', 'br0', 'p20'],
  ['del-port', 'br1', 'p20'],
  ['del-port', 'br0', 'br0'],
  ['del-port', 'nope'],
  ['--if-exists', 'del-port', 'nope'],
  ['--with-iface', 'del-port', 'e1'],
  ['del-port', 'p1'],
  ['del-br', 'br1'],
  ['del-br', 'br1'],
  ['--if-exists', 'del-br', 'br1'],
  ['list-br'],
  ['show'],
  ['del-br', 'br0'],
  ['list', 'Port'],
  ['list', 'Interface'],
  ['show'],
];

const CONTROLLERS_AND_MODES = [
  ['add-br', 'br0', '--', 'add-br', 'br1', 'br0', '7'],
  ['get-controller', 'br0'],
  ['set-controller', 'br0', 'tcp:1.2.3.4:6653', 'tcp:5.6.7.8:6653'],
  ['get-controller', 'br0'],
  ['get-controller', 'br1'],
  ['set-controller', 'br1', 'tcp:1.1.1.1:6653'],
  ['set-controller', 'br0', 'bogus:1'],
  ['--inactivity-probe=3000', 'set-controller', 'br0', 'ptcp:6653'],
  ['list', 'Controller'],
  ['get', 'Controller', 'br0', 'target', 'inactivity_probe'],
  ['show'],
  ['del-controller', 'br1'],
  ['del-controller', 'br0'],
  ['get-controller', 'br0'],
  ['get-fail-mode', 'br0'],
  ['set-fail-mode', 'br0', 'secure'],
  ['get-fail-mode', 'br0'],
  ['get-fail-mode', 'br1'],
  ['set-fail-mode', 'br0', 'bogus'],
  ['set-fail-mode', 'br1', 'standalone'],
  ['del-fail-mode', 'br0'],
  ['get-fail-mode', 'br0'],
  ['set-manager', 'ptcp:6640', 'tcp:1.2.3.4:6640'],
  ['get-manager'],
  ['del-manager'],
  ['get-manager'],
  ['set-controller', 'br0', 'tcp:1.2.3.4:6653', '--', 'set-fail-mode', 'br0', 'secure', '--', 'set', 'Bridge', 'br0', 'other_config:hwaddr=00:11:22:33:44:55', 'other_config:x=y'],
  ['set-manager', 'ptcp:6640'],
  ['add-port', 'br0', 'p1', '--', 'set', 'Interface', 'p1', 'ingress_policing_rate=100'],
  ['emer-reset'],
  ['show'],
  ['list', 'Bridge'],
  ['list', 'Interface', 'p1'],
];

const SSL_COMMANDS = [
  ['get-ssl'],
  ['del-ssl'],
  ['set-ssl', '/etc/tvs/key.pem', '/etc/tvs/cert.pem', '/etc/tvs/cacert.pem'],
  ['get-ssl'],
  ['--bootstrap', 'set-ssl', '/k.pem', '/c.pem', '/learned-ca.pem'],
  ['get-ssl'],
  ['--columns=private_key,certificate,ca_cert,bootstrap_ca_cert', 'list', 'SSL'],
  ['set-ssl', 'too', 'few'],
  ['del-ssl'],
  ['get-ssl'],
  ['list', 'SSL'],
];

const DATABASE_COMMANDS = [
  ['add-br', 'br0', '--', 'add-port', 'br0', 'p1', '--', 'add-port', 'br0', 'p2', 'tag=5'],
  ['list', 'Open_vSwitch'],
  ['list', 'Bridge'],
  ['list', 'br'],
  ['list', 'int', 'p1'],
  ['list', 'i', 'p1'],
  ['list', 'nosuch'],
  ['list', 'Interface', 'nosuch'],
  ['--if-exists', 'list', 'Interface', 'nosuch', 'p1'],
  ['--columns=name,ofport_request', 'list', 'Interface'],
  ['--columns=name,bogus', 'list', 'Interface'],
  ['--columns=', 'list', 'Interface'],
  ['--columns=name,_uuid', 'find', 'Port', 'tag=5'],
  ['find', 'Port', 'tag!=5'],
  ['--columns=name', 'find', 'Port', 'tag{in}[5,6]'],
  ['--columns=name', 'find', 'Port', 'name=p1'],
  ['--columns=name', 'find', 'Interface', 'type=internal'],
  ['--columns=name', 'find', 'Port', 'tag'],
  ['--columns=name', 'find', 'Port', 'bogus=1'],
  ['get', 'Bridge', 'br0', 'name', 'datapath_type', 'ports', 'external_ids', 'fail_mode', '_uuid'],
  ['get', 'Open_vSwitch', '.', 'bridges', 'cur_cfg', 'next_cfg'],
  ['get', 'Bridge', 'br9', 'name'],
  ['--if-exists', 'get', 'Bridge', 'br9', 'name'],
  ['get', 'Bridge', 'br0', 'nosuch'],
  ['get', 'Bridge', 'br0', 'name:x'],
  ['get', 'Bridge', 'br0', 'other_config:missing'],
  ['--if-exists', 'get', 'Bridge', 'br0', 'other_config:missing'],
  ['set', 'Bridge', 'br0', 'other_config:a=1', 'other_config:b="two words"', 'external_ids={x=y, "1"="2"}'],
  ['get', 'Bridge', 'br0', 'other_config', 'other_config:b', 'external_ids'],
  ['set', 'Port', 'p1', 'trunks=1,2,3', 'vlan_mode=trunk'],
  ['get', 'Port', 'p1', 'trunks', 'vlan_mode', 'tag'],
  ['set', 'Port', 'p1', 'trunks=[]'],
  ['set', 'Port', 'p1', 'trunks='],
  ['set', 'Port', 'p1', 'trunks=1,1'],
  ['set', 'Port', 'p1', 'tag=abc'],
  ['set', 'Port', 'p1', 'tag=5000'],
  ['set', 'Port', 'p1', 'vlan_mode=bogus'],
  ['set', 'Port', 'p1', 'name=x'],
  ['set', 'Port', 'p1', 'xyz=1'],
  ['set', 'Port', 'p1', 'tag'],
  ['set', 'Port', 'p1', 'tag:k=1'],
  ['set', 'Interface', 'p1', 'ofport_request=70000'],
  ['set', 'Bridge', 'br0', 'protocols=OpenFlow99'],
  ['set', 'Bridge', 'br0', 'protocols=OpenFlow10,OpenFlow13', 'stp_enable=yes', 'mcast_snooping_enable=on'],
  ['get', 'Bridge', 'br0', 'protocols', 'stp_enable', 'mcast_snooping_enable'],
  ['set', 'Bridge', 'br0', 'stp_enable=maybe'],
  ['set', 'Bridge', 'br9', 'stp_enable=true'],
  ['--if-exists', 'set', 'Bridge', 'br9', 'stp_enable=true'],
  ['set', 'Interface', 'p1', 'options:remote_ip=10.0.0.1', 'options:key=flow', 'mac="aa:bb:cc:dd:ee:ff"'],
  ['get', 'Interface', 'p1', 'options', 'mac'],
  ['add', 'Port', 'p1', 'trunks', '7', '8'],
  ['add', 'Port', 'p1', 'trunks', 'x'],
  ['add', 'Port', 'p1', 'tag', '7'],
  ['add', 'Bridge', 'br0', 'other_config', 'a=99', 'c=3'],
  ['get', 'Bridge', 'br0', 'other_config'],
  ['remove', 'Bridge', 'br0', 'other_config', 'a'],
  ['remove', 'Bridge', 'br0', 'other_config', 'b=wrong', 'c=3'],
  ['get', 'Bridge', 'br0', 'other_config'],
  ['remove', 'Port', 'p1', 'trunks', '7'],
  ['get', 'Port', 'p1', 'trunks'],
  ['remove', 'Port', 'p1', 'interfaces', 'x'],
  ['clear', 'Port', 'p1', 'trunks', 'vlan_mode'],
  ['clear', 'Port', 'p1', 'interfaces'],
  ['clear', 'Port', 'p1', 'name'],
  ['get', 'Port', 'p1', 'trunks', 'vlan_mode'],
  ['create', 'Mirror', 'name=m1'],
  ['--id=@m', 'create', 'Mirror', 'name=m1', 'select_all=true', '--', 'add', 'Bridge', 'br0', 'mirrors', '@m'],
  ['--id=@q', 'create', 'QoS', 'type=linux-htb', 'other_config:max-rate=1000000', '--', 'set', 'Port', 'p1', 'qos=@q'],
  ['list', 'QoS'],
  ['list', 'QoS', 'p1'],
  ['--columns=name,select_all', 'list', 'Mirror'],
  ['--columns=name', 'list', 'Mirror', 'm1'],
  ['set', 'Port', 'p2', 'qos=@nope'],
  ['--id=@x', 'create', 'Mirror', 'name=m2'],
  ['--id=x', 'create', 'Mirror', 'name=m2'],
  ['--id=@a', 'create', 'Mirror', 'name=m3', '--', '--id=@a', 'create', 'Mirror', 'name=m4'],
  ['--id=@c', 'get', 'Bridge', 'br0', '--', 'set', 'Port', 'p2', 'other_config:br=@c'],
  ['--id=@c', 'get', 'Bridge', 'br0', '--', 'set', 'Bridge', 'br0', 'mirrors=@c'],
  ['destroy', 'QoS', 'p1'],
  ['clear', 'Port', 'p1', 'qos', '--', 'destroy', 'QoS', 'p1'],
  ['--if-exists', 'destroy', 'Mirror', 'nope'],
  ['destroy', 'Mirror', 'nope'],
  ['destroy', 'Mirror'],
  ['--all', 'destroy', 'Mirror', 'm1'],
  ['clear', 'Bridge', 'br0', 'mirrors', '--', '--all', 'destroy', 'Mirror'],
  ['list', 'Mirror'],
  ['wait-until', 'Bridge', 'br0', 'name=br0'],
  ['comment', 'hello', 'world'],
  ['show'],
];

const INTEGER_RANGES = [
  ['add-br', 'br0', '--', 'add-port', 'br0', 'p1', 'tag=10'],
  ['set', 'port', 'p1', 'tag=5000'],
  ['set', 'Port', 'p1', 'tag=-1'],
  ['set', 'Port', 'p1', 'tag=4096'],
  ['get', 'Port', 'p1', 'tag'],
  ['add-port', 'br0', 'p2', 'tag=4096'],
  ['--id=@p', 'create', 'Port', 'name=p9', 'tag=5000'],
  ['--columns=name', 'find', 'Port', 'tag=5000'],
  ['set', 'Interface', 'p1', 'ofport_request=0'],
  ['set', 'Interface', 'p1', 'ofport_request=65280'],
  ['set', 'Interface', 'p1', 'mtu_request=0'],
  ['set', 'Bridge', 'br0', 'flood_vlans=4096'],
  ['set', 'Port', 'p1', 'trunks=1-5'],
  ['set', 'Port', 'p1', 'trunks=[1-3, 10-12]'],
  ['get', 'Port', 'p1', 'trunks'],
  ['set', 'Port', 'p1', 'trunks=4090-4100'],
  ['set', 'Port', 'p1', 'trunks=-5--1'],
  ['set', 'Port', 'p1', 'trunks=5-1'],
  ['set', 'Port', 'p1', 'trunks=1-5,3'],
  ['set', 'Port', 'p1', 'trunks=1-5-7'],
  ['add', 'Port', 'p1', 'trunks', '20-22'],
  ['remove', 'Port', 'p1', 'trunks', '1-2'],
  ['get', 'Port', 'p1', 'trunks'],
  ['--columns=name', 'find', 'Port', 'trunks{>=}20-21'],
  ['set', 'Port', 'p1', 'tag=7-7'],
  ['set', 'Port', 'p1', 'tag=1-3'],
  ['get', 'Port', 'p1', 'tag'],
  ['set', 'Interface', 'p1', 'cfm_remote_mpids=0-4096'],
  ['set', 'Interface', 'p1', 'mtu_request=1-5000'],
  ['set', 'Interface', 'p1', 'statistics={rx=1-5}'],
];

const FORMATS = [
  ['add-br', 'br0', '--', 'add-port', 'br0', 'p1', 'tag=10', '--', 'set', 'Interface', 'p1', 'options:k="a,b"'],
  ['--format=table', 'list', 'Port'],
  ['--format=table', '--columns=name,tag', 'list', 'Port'],
  ['--format=csv', '--columns=name,tag,_uuid', 'list', 'Port'],
  ['--format=csv', '--columns=name,options', 'list', 'Interface'],
  ['--format=json', '--columns=name,tag,interfaces', 'list', 'Port'],
  ['--format=json', '--columns=name,options', 'find', 'Interface', 'name=p1'],
  ['--format=list', '--columns=name,tag', 'list', 'Port'],
  ['--format=html', '--columns=name,tag', 'list', 'Port'],
  ['--format=bogus', 'list', 'Port'],
  ['--bare', '--columns=name,tag', 'list', 'Port'],
  ['--bare', '--columns=options', 'list', 'Interface', 'p1'],
  ['--data=bare', '--columns=name,tag', 'list', 'Port'],
  ['--data=json', '--columns=name,tag', 'list', 'Port'],
  ['--no-headings', '--format=table', '--columns=name,tag', 'list', 'Port'],
  ['-f', 'table', '-d', 'bare', '--columns=name', 'list', 'Port'],
  ['--oneline', 'list-br', '--', 'list-ports', 'br0', '--', 'get', 'Port', 'p1', 'tag'],
  ['--columns=name', 'list', 'Bridge', '--', '--columns=name,tag', 'list', 'Port'],
  ['--format=table', '--columns=name', 'list', 'Bridge', '--', '--columns=name,tag', 'find', 'Port', 'tag=10'],
  ['--columns=name', 'list', 'Bridge', '--', 'list-br'],
];

const USAGE_ERRORS = [
  [],
  ['--'],
  ['foo'],
  ['add-br'],
  ['add-br', 'a', 'b', 'c', 'd'],
  ['list-br', 'x'],
  ['list-br', '--fake'],
  ['--if-exists', 'list-br'],
  ['--may-exist', '--may-exist', 'add-br', 'x'],
  ['--bogus'],
  ['--no', 'list-br'],
  ['--db'],
  ['--no-wait=1', 'list-br'],
  ['-x', 'list-br'],
  ['--timeout=0', 'list-br'],
  ['--timeout=abc', 'list-br'],
  ['-t', 'x', 'list-br'],
  ['--columns', 'list', 'Bridge'],
  ['--id', 'create', 'Bridge', 'name=x'],
  ['--if-exists=1', 'del-br', 'x'],
  ['list-br', '--', '--', 'list-br'],
  ['--may-exist', '--'],
  ['add-br', 'x', 'y'],
];

describe('tvs-vsctl prints what ovs-vsctl prints, command by command', () => {
  it('bridges, VLAN bridges, ports, bonds and interfaces', () => differential(BRIDGES_AND_PORTS), SCRIPT_TIMEOUT_MS);
  it('controllers, fail modes, managers and emer-reset', () => differential(CONTROLLERS_AND_MODES), SCRIPT_TIMEOUT_MS);
  it('set-ssl, get-ssl and del-ssl (--bootstrap included)', () => differential(SSL_COMMANDS), SCRIPT_TIMEOUT_MS);
  it('list/find/get/set/add/remove/clear/create/destroy with OVS value syntax and --id references', () => differential(DATABASE_COMMANDS), SCRIPT_TIMEOUT_MS);
  it('--format, --columns, --bare, --data, --oneline, and blank lines between tables', () => differential(FORMATS), SCRIPT_TIMEOUT_MS);
  it('integers out of the schema\'s range refused, committed values kept, and integer ranges (trunks=1-5)', () => differential(INTEGER_RANGES), SCRIPT_TIMEOUT_MS);
  it('usage errors: unknown commands and options, argument counts, misplaced options', () => differential(USAGE_ERRORS), SCRIPT_TIMEOUT_MS);
  it('database connection failure', async () => {
    const [a, b] = await Promise.all([
      run('ovs-vsctl', ['--db=unix:/nonexistent/db.sock', '--no-wait', 'list-br']),
      run(process.execPath, [TVS_VSCTL, '--db=unix:/nonexistent/db.sock', '--no-wait', 'list-br']),
    ]);
    expect(normalize(b)).toEqual(normalize(a));
  });
  it('--help is ovs-vsctl\'s help with our names', async () => {
    const [a, b] = await Promise.all([run('ovs-vsctl', ['--help']), run(process.execPath, [TVS_VSCTL, '--help'])]);
    const mask = (s: string): string => s.replace(/\b[ot]vs-(vsctl|vswitchd)\b/g, 'X-$1').replace(/unix:\/var\/run\/(openvswitch|tvs)\/db.sock/g, 'DB');
    expect(b.code).toBe(0);
    expect(mask(b.stdout)).toEqual(mask(a.stdout));
  });
});

afterAll(() => undefined);
