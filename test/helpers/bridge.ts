// A bridge on a real datapath with namespace hosts on its ports: the
// topology issue tests build in a few lines.
import { OfprotoDpif } from '../../src/ofproto/ofproto-dpif.js';
import { XBridge } from '../../src/ofproto/xbridge.js';
import type { PortVlanConfig } from '../../src/ofproto/vlan.js';
import { parseFlowMod } from '../../src/openflow/flow-syntax.js';
import { Lab, type Host } from '../../src/lib/netns.js';

export interface HostSpec {
  role: string;
  ip: string;
  vlan?: PortVlanConfig;
}

export interface BridgeHost extends Host {
  ofport: number;
  dpPort: number;
  switchIf: string;
}

export interface TestBridge {
  of: OfprotoDpif;
  br: XBridge;
  /** The hosts of these roles, in order: `const [a, b] = sw.hosts('a', 'b')`; throws on a role with no host. */
  hosts<const Roles extends readonly string[]>(...roles: Roles): { [I in keyof Roles]: BridgeHost };
  /** Add a host on a new port (ofports are numbered in order of addition from 1). */
  addHost(spec: HostSpec): Promise<BridgeHost>;
  /** An ovs-ofctl style flow_mod: `addFlow('priority=10,ip,actions=drop')`; resolves once the datapath follows it. */
  addFlow(text: string): Promise<void>;
  delFlows(text?: string): Promise<void>;
  close(): void;
}

export async function bridgeWithHosts(lab: Lab, specs: HostSpec[], name = 'br0'): Promise<TestBridge> {
  const of = new OfprotoDpif();
  const br = new XBridge({ name });
  of.addBridge(br);
  const hostsByRole = new Map<string, BridgeHost>();
  let nextOfport = 1;
  const addHost = async (spec: HostSpec): Promise<BridgeHost> => {
    const { host, switchIf } = await lab.addVethHost(spec.role, spec.ip);
    const dpPort = of.datapath.addPort({ type: 'system', name: switchIf }).port;
    const ofport = nextOfport++;
    br.addPort({ ofport, dpPort, name: switchIf, ...(spec.vlan ? { vlan: spec.vlan } : {}) });
    of.attachPort(br, dpPort);
    const added = { ...host, ofport, dpPort, switchIf };
    hostsByRole.set(spec.role, added);
    return added;
  };
  for (const s of specs) await addHost(s);
  return {
    of,
    br,
    hosts: <const Roles extends readonly string[]>(...roles: Roles) =>
      roles.map((role) => {
        const host = hostsByRole.get(role);
        if (!host) throw new Error(`${name} has no host ${role}`);
        return host;
      }) as { [I in keyof Roles]: BridgeHost },
    addHost,
    addFlow: (text) => {
      br.flowMod(parseFlowMod(text, 'add'));
      return of.revalidated();
    },
    delFlows: (text = '') => {
      br.flowMod(parseFlowMod(text, 'delete'));
      return of.revalidated();
    },
    close: () => of.close(),
  };
}
