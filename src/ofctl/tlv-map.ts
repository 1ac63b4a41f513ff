/**
 * tvs-ofctl's TLV map commands, as ovs-ofctl's: `add-tlv-map SWITCH MAP`, `del-tlv-map SWITCH
 * [MAP]` (no map: clear the table) and `dump-tlv-map SWITCH`, where MAP is
 * `{class=0xffff,type=0,len=4}->tun_metadata0[,...]`. The reply prints as ovs-ofctl prints
 * NXT_TLV_TABLE_REPLY (lib/ofp-match.c, ofputil_format_tlv_table_reply).
 */
import type { MessageOf } from '../openflow/messages.js';
import { TUN_METADATA_FIELDS, type TlvMapping, type TlvTableCommand } from '../ofproto/tun-metadata.js';
import { title } from './print-common.js';
import { OfctlError, sendBatch, withSwitch, type CommandContext } from './session.js';

type Command = (ctx: CommandContext) => Promise<number>;

/** An integer as C's %i reads it: 0x... hexadecimal, a leading 0 octal, else decimal. */
const C_INTEGER = '(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)';
const MAPPING = new RegExp(`^\\{class=${C_INTEGER},type=${C_INTEGER},len=${C_INTEGER}\\}->tun_metadata${C_INTEGER}`);

function cInteger(text: string): number {
  if (/^0[xX]/.test(text)) return Number.parseInt(text.slice(2), 16);
  if (text.startsWith('0')) return Number.parseInt(text, 8);
  return Number.parseInt(text, 10);
}

/**
 * The mappings of a MAP argument. Values must fit their fields (class 16 bits, type and length 8,
 * index 16) where ovs-ofctl would wrap them silently; the switch checks lengths and indexes.
 */
export function parseTlvMap(text: string): TlvMapping[] {
  const out: TlvMapping[] = [];
  let rest = text;
  while (rest) {
    if (rest.startsWith(',')) rest = rest.slice(1);
    const m = MAPPING.exec(rest);
    if (!m) throw new OfctlError(`invalid tlv mapping "${rest}": write {class=0xffff,type=0,len=4}->tun_metadata0, several separated by commas`);
    const [optClass, optType, optLen, index] = [m[1]!, m[2]!, m[3]!, m[4]!].map(cInteger) as [number, number, number, number];
    const limit = (name: string, v: number, max: number): void => {
      if (v > max) throw new OfctlError(`invalid tlv mapping "${m[0]}": ${name}=${v} does not fit in ${max === 0xff ? 8 : 16} bits`);
    };
    limit('class', optClass, 0xffff);
    limit('type', optType, 0xff);
    limit('len', optLen, 0xff);
    limit('tun_metadata index', index, 0xffff);
    out.push({ optClass, optType, optLen, index });
    rest = rest.slice(m[0].length);
  }
  return out;
}

/** C's printf("%#Nx"): 0x and the hex digits, but a bare 0 for zero, right-aligned in `width`. */
function altHex(v: number, width: number): string {
  return (v ? `0x${v.toString(16)}` : '0').padStart(width);
}

/** The mapping table of a mod or a reply, as ovs-ofctl prints it (print_tlv_table). */
function mappingTable(mappings: readonly TlvMapping[]): string {
  let s = ' mapping table:\n  class  type  length  match field\n ------  ----  ------  --------------';
  for (const m of mappings) s += `\n ${altHex(m.optClass, 6)}  ${altHex(m.optType, 4)}  ${String(m.optLen).padStart(6)}  tun_metadata${m.index}`;
  return s;
}

/** OVS's decode_tlv_table_mappings refusals, which ovs-ofctl meets decoding a mod a switch echoes. */
function decodeProblem(m: MessageOf<'nx_tlv_table_mod'>): string | undefined {
  if (m.mappings.some((x) => x.optLen % 4 || x.optLen > 124)) return 'NXTTMFC_BAD_OPT_LEN';
  if (m.mappings.some((x) => x.index >= TUN_METADATA_FIELDS)) return 'NXTTMFC_BAD_FIELD_IDX';
  return undefined;
}

/**
 * An NXT_TLV_TABLE_MOD as ovs-ofctl prints the request a switch refused; one it cannot decode
 * as its title, the decode error and `hexDump` of the bytes.
 */
export function formatTlvTableMod(m: MessageOf<'nx_tlv_table_mod'>, head: string, hexDump: () => string): string {
  const problem = decodeProblem(m);
  if (problem) return `${head} ***decode error: ${problem}***\n${hexDump()}`;
  const command = { add: 'ADD', delete: 'DEL', clear: 'CLEAR' }[m.command];
  return `${head}\n ${command}${m.command === 'clear' ? '' : mappingTable(m.mappings)}\n`;
}

/** An NXT_TLV_TABLE_REPLY as ovs-ofctl prints it. */
export function formatTlvTableReply(r: MessageOf<'nx_tlv_table_reply'>, version: number, xid: number): string {
  const allocated = r.mappings.reduce((n, m) => n + m.optLen, 0);
  let s = `${title('NXT_TLV_TABLE_REPLY', version, xid)}\n`;
  s += ` max option space=${r.maxOptionSpace} max fields=${r.maxFields}\n`;
  s += ` allocated option space=${allocated}\n\n`;
  return `${s}${mappingTable(r.mappings)}\n`;
}


function tlvMod(command: (ctx: CommandContext) => TlvTableCommand): Command {
  return async (ctx) => {
    const cmd = command(ctx);
    const mappings = cmd === 'clear' ? [] : parseTlvMap(ctx.inv.args[1] ?? '');
    return withSwitch(ctx, async (ch) => ((await sendBatch(ch, [{ type: 'nx_tlv_table_mod', command: cmd, mappings }], ctx.io)) ? 0 : 1));
  };
}

const dumpTlvMap: Command = (ctx) =>
  withSwitch(ctx, async (ch) => {
    const { reply, xid } = await ch.transact({ type: 'nx_tlv_table_request' });
    if (reply.type !== 'nx_tlv_table_reply') throw new OfctlError(`${ctx.inv.args[0]!}: the switch answered a TLV table request with ${reply.type}`);
    ctx.io.out(formatTlvTableReply(reply, ch.session.version, xid));
    return 0;
  });

export const TLV_COMMANDS: Readonly<Record<string, Command>> = {
  'add-tlv-map': tlvMod(() => 'add'),
  'del-tlv-map': tlvMod((ctx) => (ctx.inv.args[1] === undefined ? 'clear' : 'delete')),
  'dump-tlv-map': dumpTlvMap,
};
