// Nothing silently ignored: a setting the database stores but TVS does not
// implement is warned about once in the log and named in the status column of
// the row that asks for it, for as long as it stays configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';

describe('settings TVS does not implement', () => {
  let sw: TestDaemon;

  beforeAll(async () => {
    sw = await startDaemon(['--enable-dummy=override']);
    await sw.vsctl('add-br', 'br0', '--', 'add-port', 'br0', 'p1', '--', 'add-port', 'br0', 'p2');
  });

  afterAll(async () => {
    await sw?.stop();
  });

  const warnings = (what: string) => sw.stderr().split('\n').filter((l) => l.includes(what));

  it('names STP on the bridge, in its status and once in the log, and clears the status when STP is turned off', async () => {
    await sw.vsctl('set', 'bridge', 'br0', 'stp_enable=true');
    expect(await sw.vsctl('get', 'bridge', 'br0', 'status:stp_enable')).toBe('"STP is not supported by TVS: this setting has no effect"\n');
    // Another configuration pass does not repeat the warning.
    await sw.vsctl('set', 'bridge', 'br0', 'other_config:mac-aging-time=200');
    expect(warnings('stp_enable')).toEqual([expect.stringMatching(/\|WARN\|.*Bridge br0: stp_enable: STP is not supported by TVS/)]);
    await sw.vsctl('set', 'bridge', 'br0', 'stp_enable=false');
    expect(await sw.vsctl('get', 'bridge', 'br0', 'status')).toBe('{}\n');
  });

  it('leaves sFlow, NetFlow, IPFIX and mirrors out of the bridge status, since TVS implements them', async () => {
    await sw.vsctl(
      '--id=@s', 'create', 'sflow', 'targets="127.0.0.1:6343"', '--', 'set', 'bridge', 'br0', 'sflow=@s',
      '--', '--id=@n', 'create', 'netflow', 'targets="127.0.0.1:2055"', '--', 'set', 'bridge', 'br0', 'netflow=@n',
      '--', '--id=@i', 'create', 'ipfix', 'targets="127.0.0.1:4739"', '--', 'set', 'bridge', 'br0', 'ipfix=@i',
      '--', '--id=@p', 'get', 'port', 'p1', '--', '--id=@m', 'create', 'mirror', 'name=m0', 'select_all=true', 'output_port=@p',
      '--', 'set', 'bridge', 'br0', 'mirrors=@m',
    );
    const status = await sw.vsctl('get', 'bridge', 'br0', 'status');
    expect(status).toBe('{}\n');
    await sw.vsctl('clear', 'bridge', 'br0', 'sflow', 'netflow', 'ipfix', 'mirrors');
    expect(await sw.vsctl('get', 'bridge', 'br0', 'status')).toBe('{}\n');
  });

  it("names QoS, LACP and bond settings on the port, and ingress policing on the interface", async () => {
    await sw.vsctl(
      'set', 'port', 'p1', 'qos=@q', 'lacp=active', 'other_config:bond-rebalance-interval=0',
      '--', '--id=@q', 'create', 'qos', 'type=linux-htb',
      '--', 'set', 'interface', 'p2', 'ingress_policing_rate=1000',
    );
    const port = await sw.vsctl('get', 'port', 'p1', 'status');
    expect(port).toContain('qos="QoS and queues are not supported by TVS');
    expect(port).toContain('lacp="LACP is not supported by TVS');
    expect(port).toContain('"other_config:bond-rebalance-interval"="bonding is not supported by TVS');
    expect(await sw.vsctl('get', 'interface', 'p2', 'status:ingress_policing_rate')).toBe('"ingress policing is not supported by TVS: this setting has no effect"\n');
    expect(warnings('ingress_policing_rate')).toHaveLength(1);
  });

  it('names an active manager target, which nothing connects to (passive ones are served)', async () => {
    await sw.vsctl('set-manager', 'tcp:127.0.0.1:6640');
    expect(await sw.vsctl('get', 'manager', 'tcp:127.0.0.1:6640', 'status:target')).toMatch(/^"active managers \(tcp:, ssl:, unix:\) are not supported by TVS: nothing connects to this target; use a passive target/);
    await sw.vsctl('del-manager');
  });
});
