/**
 * The bridge commands `tvs-appctl` offers, as OVS names them:
 *   fdb/show BRIDGE            the MAC learning table
 *   fdb/flush [BRIDGE]         empty it (every bridge's without an argument)
 *   ofproto/trace BRIDGE FLOW [PACKET]
 */
import type { CommandRegistry } from '../lib/command-registry.js';
import { ofprotoTrace, type MatchParser } from './trace.js';
import type { XBridge } from './xbridge.js';

/**
 * Registers the commands for the bridges in `bridges`, looked up by name at call time;
 * ofproto/trace reads its FLOW argument with `parseMatch`.
 */
export function registerOfprotoCommands(registry: CommandRegistry, bridges: ReadonlyMap<string, XBridge>, parseMatch: MatchParser): void {
  const find = (name: string): XBridge => {
    const b = bridges.get(name);
    if (!b) throw new Error(`no such bridge`);
    return b;
  };
  registry.register('fdb/show', 'bridge', 1, 1, ([name]) => {
    const b = find(name!);
    return b.mac.format(undefined, (p) => b.portName(p));
  });
  registry.register('fdb/flush', '[bridge]', 0, 1, ([name]) => {
    if (name !== undefined) find(name).mac.flush();
    else for (const b of bridges.values()) b.mac.flush();
    return 'table successfully flushed\n';
  });
  registry.register('ofproto/trace', 'bridge br_flow [packet]', 2, 3, ([name, ...rest]) => {
    const b = bridges.get(name!);
    if (!b) throw new Error(`${name!}: unknown bridge`);
    return ofprotoTrace(b, rest, parseMatch);
  });
}
