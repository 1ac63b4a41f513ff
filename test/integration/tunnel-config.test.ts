// Tunnel Interfaces as a user configures them (tvs-vsctl), and the underlay
// views of tvs-appctl, which read the host's own routes: a daemon with dummy
// ports, so that nothing here needs a device but the loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';

describe('tunnel interfaces and the underlay views', () => {
  let sw: TestDaemon;
  beforeAll(async () => {
    sw = await startDaemon(['--enable-dummy=override']);
    await sw.vsctl('add-br', 'br0');
  }, 60_000);
  afterAll(async () => {
    await sw.stop();
  });

  it('lists vxlan, geneve and gre in iface_types', async () => {
    expect(await sw.vsctl('get', 'Open_vSwitch', '.', 'iface_types')).toMatch(/geneve.*gre.*vxlan/);
  });

  it('reports bad tunnel options in the Interface error column in OVS\'s words, and keeps the daemon serving', async () => {
    const r = await sw.vsctlExit('add-port', 'br0', 'vx0', '--', 'set', 'interface', 'vx0', 'type=vxlan', 'options:remote_ip=239.1.1.1');
    expect(r.stderr).toContain('vx0: multicast remote_ip=239.1.1.1 not allowed');
    await sw.vsctlExit('add-port', 'br0', 'gre0', '--', 'set', 'interface', 'gre0', 'type=gre', 'options:local_ip=10.0.0.1');
    await eventually(async () => /requires valid 'remote_ip' argument/.test(await sw.vsctl('get', 'interface', 'gre0', 'error')), 15_000, 'gre0 error');
    expect(await sw.vsctl('get', 'interface', 'gre0', 'ofport')).toBe('-1\n');
    // The daemon still applies the rest of the configuration.
    await sw.vsctl('add-port', 'br0', 'p1');
    expect(Number(await sw.vsctl('get', 'interface', 'p1', 'ofport'))).toBeGreaterThan(0);
  });

  it('looks a tunnel remote up in the host\'s routing table, as ovs/route/lookup does', async () => {
    expect(await sw.appctl('ovs/route/lookup', '127.0.0.1')).toBe('src 127.0.0.1\ngateway ::\ndev lo\n');
    const bad = await sw.appctlExit('ovs/route/lookup', 'banana');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('banana: not an IPv4 or IPv6 address');
  });

  it('looks an IPv6 tunnel remote up too, and shows the IPv6 routes', async () => {
    expect(await sw.appctl('ovs/route/lookup', '::1')).toBe('src ::1\ngateway ::\ndev lo\n');
    expect(await sw.appctl('ovs/route/show')).toMatch(/\nCached: ::1\/128 dev lo (SRC ::1 )?local\n/);
  });

  it('shows the host\'s routes and neighbours in OVS\'s shapes', async () => {
    expect(await sw.appctl('ovs/route/show')).toMatch(/^Route Table:\n(.*\n)*Cached: 127\.0\.0\.0\/8 dev lo SRC 127\.0\.0\.1 local\n/);
    expect(await sw.appctl('tnl/neigh/show')).toMatch(/^IP {44}MAC {17}Device\n={74}\n/);
  });

  it('shows no listening tunnel ports while no tunnel is open', async () => {
    expect(await sw.appctl('tnl/ports/show')).toBe('Listening ports:\n');
  });
});
