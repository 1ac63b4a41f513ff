// OfConnection against the real Open vSwitch: Debian's ovs-vswitchd, with the userspace
// datapath (which needs root for its ovs-netdev device, hence a privileged test).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOvsInstalled, OvsInstance } from '../../scripts/bench/ovs.js';
import { OfConnection } from '../../src/openflow/connection.js';

describe('OfConnection.connect against Debian\u2019s ovs-vswitchd', () => {
  const ovs = new OvsInstance();
  let started = false;

  beforeAll(async () => {
    if (!(await ensureOvsInstalled())) throw new Error('Debian openvswitch-switch is needed for this test');
    await ovs.start([], { tso: false });
    started = true;
  }, 60_000);

  afterAll(async () => {
    if (started) await ovs.stop();
  }, 30_000);

  const mgmt = (): string => `unix:${join(ovs.dir, `${ovs.bridge}.mgmt`)}`;

  for (const [name, versions] of [['OpenFlow 1.0', [0x01]], ['OpenFlow 1.3', [0x04]], ['the highest common version, 1.5', undefined]] as const) {
    it(`reads features, port_desc and desc on ${name}`, async () => {
      const conn = await OfConnection.connect(mgmt(), versions ? { versions: [...versions] } : {});
      expect(conn.session.version).toBe(versions?.[0] ?? 0x06);
      const features = await conn.request({ type: 'features_request' });
      expect(features).toMatchObject({ type: 'features_reply', nTables: 254 });
      const portDesc = await conn.request({ type: 'multipart_request', request: { kind: 'port_desc' } });
      const ports = portDesc.type === 'multipart_reply' && portDesc.reply.kind === 'port_desc' ? portDesc.reply.ports : [];
      // The bridge's own internal port, with the bridge's name.
      expect(ports.map((p) => [p.portNo, p.name])).toEqual([[0xfffe, ovs.bridge]]);
      if (conn.session.version === 0x01 && features.type === 'features_reply') expect(features.ports).toEqual(ports);
      const desc = await conn.request({ type: 'multipart_request', request: { kind: 'desc' } });
      expect(desc).toMatchObject({ type: 'multipart_reply', reply: { kind: 'desc', desc: { mfr: 'Nicira, Inc.', hw: 'Open vSwitch' } } });
      conn.close();
    });
  }
});
