// The datapath vports tunnel Interfaces share: one per tunnel type and UDP
// port (`vxlan_sys_4789`), opened when the first tunnel port of that kind
// comes and closed when the last one goes, across every bridge, as OVS's
// kernel datapath shares its tunnel vports.
import type { Datapath } from '../datapath/dpif.js';
import { vportName, type TunnelConfig } from '../ofproto/tunnel.js';

/** What the datapath contract's addPort takes for a tunnel vport. */
interface TunnelVportOptions {
  type: TunnelConfig['type'];
  name: string;
  options: { dstPort?: number };
}

interface Vport {
  dpPort: number;
  /** The tunnel Interfaces using it, by name. */
  users: Set<string>;
}

export class TunnelVports {
  private readonly vports = new Map<string, Vport>();

  constructor(private readonly dp: Datapath) {}

  /** The vport `iface` (configured `c`) goes through, opened if it is the first user. Returns its datapath port. */
  acquire(iface: string, c: TunnelConfig): number {
    const name = vportName(c.type, c.dstPort);
    let v = this.vports.get(name);
    if (!v) {
      const options: TunnelVportOptions = { type: c.type, name, options: c.type === 'gre' ? {} : { dstPort: c.dstPort } };
      // The tunnel vport types are the datapath branch's (tnl-dp) addition to AddPortOptions: until
      // it is merged the addon refuses them, and the Interface's error says so.
      const open = this.dp.addPort.bind(this.dp) as unknown as (o: TunnelVportOptions) => { port: number };
      v = { dpPort: open(options).port, users: new Set() };
      this.vports.set(name, v);
    }
    v.users.add(iface);
    return v.dpPort;
  }

  /** `iface` no longer uses its vport; the vport closes with its last user. */
  release(iface: string): void {
    for (const [name, v] of this.vports) {
      if (!v.users.delete(iface) || v.users.size) continue;
      this.vports.delete(name);
      try {
        this.dp.removePort(v.dpPort);
      } catch {
        // already gone
      }
    }
  }

  /** Every open vport: name, datapath port, and the Interfaces using it. */
  list(): Array<{ name: string; dpPort: number; users: string[] }> {
    return [...this.vports].map(([name, v]) => ({ name, dpPort: v.dpPort, users: [...v.users].sort() }));
  }
}
