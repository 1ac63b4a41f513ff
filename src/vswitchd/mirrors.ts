// A bridge's Mirror rows made into the mirrors ofproto runs (OVS's
// mirror_configure in bridge.c): port names resolved to OpenFlow ports, and
// rows that cannot work refused with OVS's words and the fix. A refused row is
// logged once while it stays as it is; the bridge's other mirrors run.
import { getLogger } from '../lib/log.js';
import type { MirrorSpec } from '../ofproto/mirror.js';
import type { XBridge } from '../ofproto/xbridge.js';
import type { MirrorConfig } from './db-config.js';

const log = getLogger('bridge');

export interface MirrorStatus {
  uuid: string;
  txPackets: bigint;
  txBytes: bigint;
}

/** The mirrors of every bridge: what each row was last found to be, so each problem is logged once. */
export class BridgeMirrors {
  /** Per bridge, the problems last logged for each of its Mirror rows (by uuid). */
  private readonly logged = new Map<string, Map<string, string>>();

  /**
   * Applies bridge `xb`'s Mirror rows; `ofportOf` gives the OpenFlow port of a Port of this
   * bridge by name (undefined for a port not on it, or whose interface is not open).
   */
  apply(xb: XBridge, rows: readonly MirrorConfig[], ofportOf: (port: string) => number | undefined): void {
    const specs: MirrorSpec[] = [];
    const problems = new Map<string, string[]>();
    const problem = (m: MirrorConfig, text: string) => problems.set(m.uuid, [...(problems.get(m.uuid) ?? []), `bridge ${xb.name}: mirror ${m.name}: ${text}`]);
    for (const m of rows) {
      const spec: MirrorSpec = {
        id: m.uuid,
        name: m.name,
        selectAll: m.selectAll,
        // As OVS: selected ports not on the bridge are left out.
        srcPorts: m.selectSrcPorts.map(ofportOf).filter((p) => p !== undefined),
        dstPorts: m.selectDstPorts.map(ofportOf).filter((p) => p !== undefined),
        vlans: m.selectVlans,
      };
      if (m.snaplen !== undefined) problem(m, `snaplen=${m.snaplen} is not supported by TVS: copies are sent whole (clear snaplen)`);
      if (m.outputPort !== undefined) {
        const outPort = ofportOf(m.outputPort);
        if (outPort === undefined) {
          problem(m, `outputs to port ${m.outputPort}, which is not on the bridge or not open: mirror ignored (set output_port to a port of ${xb.name})`);
          continue;
        }
        if (m.outputVlan !== undefined) problem(m, `specifies both output port and output vlan; ignoring output vlan ${m.outputVlan}`);
        specs.push({ ...spec, outPort });
      } else if (m.outputVlan !== undefined) {
        specs.push({ ...spec, outVlan: m.outputVlan });
      } else {
        problem(m, 'does not specify output; ignoring (set output_port or output_vlan)');
      }
    }
    for (const { spec, why } of xb.setMirrors(specs)) problem(rows.find((m) => m.uuid === spec.id)!, why);
    const before = this.logged.get(xb.name);
    const logged = new Map<string, string>();
    for (const [uuid, lines] of problems) {
      const text = lines.join('\n');
      if (before?.get(uuid) !== text) for (const line of lines) log.warn(line);
      logged.set(uuid, text);
    }
    this.logged.set(xb.name, logged);
  }

  /** What each running mirror of `xb` has sent (Mirror.statistics). */
  static status(xb: XBridge): MirrorStatus[] {
    return xb.mirrors.list().map((m) => ({ uuid: m.spec.id, txPackets: m.txPackets, txBytes: m.txBytes }));
  }
}
