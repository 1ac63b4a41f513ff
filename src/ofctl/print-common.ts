/**
 * What every tvs-ofctl printer shares with ovs-ofctl's (lib/ofp-print.c): the title line of a
 * message (`OFPST_PORT reply (OF1.3) (xid=0x2):`), durations, port numbers, counters a switch
 * does not keep (`?`) and bit sets printed by name.
 */
import { OFP10 } from '../openflow/messages.js';
import { PORT_NAMES } from '../ofproto/names.js';

/** ` (OF1.3)` for every version but 1.0, which ovs-ofctl leaves unmarked. */
function versionTag(version: number): string {
  return version === OFP10 ? '' : ` (OF1.${version - 1})`;
}

/** `NAME (OF1.x) (xid=0x2):` — the title ovs-ofctl prints before a message's body. */
export function title(name: string, version: number, xid: number): string {
  return `${name}${versionTag(version)} (xid=0x${xid.toString(16)}):`;
}

// The flow printer in ofproto prints durations too; ofproto never imports ofctl, so it owns them.
export { formatDuration } from '../ofproto/print.js';

/** A port number as ovs-ofctl writes it: LOCAL, CONTROLLER, ... or the number. */
export function formatPortNo(port: number): string {
  const named = PORT_NAMES.find(([, p]) => p === port);
  return named ? named[0] : String(port);
}

const UNKNOWN_COUNTER = 0xffff_ffff_ffff_ffffn;

/** A counter, or `?` for all-ones: the switch does not count it. */
export function counter(v: bigint): string {
  return v === UNKNOWN_COUNTER ? '?' : String(v);
}

/** Names of the set bits joined by `sep`, unnamed ones as one 0x... at the end, "0" for none (ofp_print_bit_names). */
export function bitNames(bits: number, names: Readonly<Record<number, string>>, sep = ' '): string {
  if (!bits) return '0';
  const out: string[] = [];
  let rest = bits >>> 0;
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    const name = names[bit];
    if (rest & bit && name !== undefined) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join(sep);
}
