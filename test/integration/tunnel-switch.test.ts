// A tunnel port configured as a user configures it (tvs-vsctl), end to end
// through tvs-vswitchd: a host behind the switch pings a Linux kernel vxlan
// device across an underlay veth, so the slow path's receive mapping, its
// set(tunnel(...)) on output and NORMAL's learning on a tunnel port all carry
// real frames. The underlay subnet and UDP port are this run's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_TYPE } from '../../src/datapath/abi.js';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';

const RUN = 100 + (process.pid % 100);
const PORT = 30000 + (process.pid % 20000);
const VNI = 77;
/** The datapath's tunnel vports and their set(tunnel) action come from the datapath side of tunnels; without them there is nothing to carry. */
const DATAPATH_HAS_TUNNELS = 'set_tunnel' in ACTION_TYPE;

describe.skipIf(!DATAPATH_HAS_TUNNELS)('a vxlan tunnel port of tvs-vswitchd and a Linux kernel vxlan device', () => {
  let lab: Lab;
  let sw: TestDaemon;
  let vm: Host;
  let underlay: { local: string; remote: string; ns: string };

  beforeAll(async () => {
    lab = new Lab();
    const h = await lab.addVethHost('vm', `192.168.${RUN}.1/24`);
    vm = h.host;
    const u = await lab.addVethHost('u', `10.214.${RUN}.2/24`);
    await run('ip', ['addr', 'add', `10.214.${RUN}.1/24`, 'dev', u.switchIf]);
    underlay = { local: `10.214.${RUN}.1`, remote: `10.214.${RUN}.2`, ns: u.host.ns };
    const ns = underlay.ns;
    await run('ip', ['-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', String(VNI), 'remote', underlay.local, 'local', underlay.remote, 'dstport', String(PORT), 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'addr', 'add', `192.168.${RUN}.2/24`, 'dev', 'vx0']);
    await run('ip', ['-n', ns, 'link', 'set', 'vx0', 'up']);
    sw = await startDaemon();
    await sw.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=standalone', '--', 'add-port', 'br0', h.switchIf);
    await sw.vsctl('add-port', 'br0', 'vx0', '--', 'set', 'interface', 'vx0', 'type=vxlan', `options:remote_ip=${underlay.remote}`, `options:key=${VNI}`, `options:dst_port=${PORT}`);
  }, 60_000);

  afterAll(async () => {
    await sw.stop();
    await lab.cleanup();
  });

  it('gives the tunnel an ofport and lists its vport in tnl/ports/show', async () => {
    expect(Number(await sw.vsctl('get', 'interface', 'vx0', 'ofport'))).toBeGreaterThan(0);
    expect(await sw.appctl('tnl/ports/show')).toBe(`Listening ports:\nvxlan_sys_${PORT} (${PORT}) ref_cnt=1\n`);
  });

  it('carries a ping there and back through NORMAL, and learns the far MAC on the tunnel port', async () => {
    expect(await ping(vm, `192.168.${RUN}.2`, 3)).toBe(3);
    const ofport = (await sw.vsctl('get', 'interface', 'vx0', 'ofport')).trim();
    expect(await sw.appctl('fdb/show', 'br0')).toMatch(new RegExp(`^ +${ofport} +0 `, 'm'));
    const flows = await sw.appctl('dpif/dump-flows', 'br0');
    expect(flows).toContain(`set(tunnel(tun_id=0x${VNI.toString(16)},dst=${underlay.remote},ttl=64,tp_dst=${PORT},flags(df|key)))`);
    expect(flows).toMatch(new RegExp(`tunnel\\(tun_id=0x${VNI.toString(16)},src=${underlay.remote.replace(/\./g, '\\.')},dst=${underlay.local.replace(/\./g, '\\.')}`));
  });

  it('names the host device the remote is routed through in the Interface status', async () => {
    await eventually(async () => (await sw.vsctl('get', 'interface', 'vx0', 'status')).includes('tunnel_egress_iface'), 15_000, 'tunnel status');
    expect(await sw.vsctl('get', 'interface', 'vx0', 'status:tunnel_egress_iface_carrier')).toBe('up\n');
  });

  it('refuses a second tunnel to the same remote with the same key, naming the first, and keeps the first working', async () => {
    await sw.vsctlExit('add-port', 'br0', 'vx1', '--', 'set', 'interface', 'vx1', 'type=vxlan', `options:remote_ip=${underlay.remote}`, `options:key=${VNI}`, `options:dst_port=${PORT}`);
    await eventually(async () => /duplicate tunnel/.test(await sw.vsctl('get', 'interface', 'vx1', 'error')), 15_000, 'duplicate error');
    expect(await sw.vsctl('get', 'interface', 'vx1', 'error')).toContain("attempting to add tunnel port with same config as port 'vx0'");
    expect(await ping(vm, `192.168.${RUN}.2`, 2)).toBe(2);
  });

  it('closes the shared vport when its last tunnel goes', async () => {
    await sw.vsctl('del-port', 'br0', 'vx1', '--', 'del-port', 'br0', 'vx0');
    expect(await sw.appctl('tnl/ports/show')).toBe('Listening ports:\n');
    expect(await sw.dpctl('show')).not.toContain(`vxlan_sys_${PORT}`);
  });
});
