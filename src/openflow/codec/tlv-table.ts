/**
 * Bodies of OVS's TLV table messages (Nicira NXT_TLV_TABLE_MOD 24, NXT_TLV_TABLE_REQUEST 25,
 * NXT_TLV_TABLE_REPLY 26): the map from Geneve options to tun_metadata0..63. A mod is a command
 * (NXTTMC_ADD 0, DELETE 1, CLEAR 2) and 6 bytes of padding; a reply is the switch's limits
 * (max_option_space, max_fields) and 10 reserved bytes; both are followed by struct nx_tlv_map
 * entries of 8 bytes: class, type, length, index, padding.
 */
import type { TlvMapping, TlvTableCommand } from '../../ofproto/tun-metadata.js';
import type { MessageOf } from '../messages.js';
import { OfDecodeError, type OfReader, OfWriter } from './buffer.js';

/** NXTTMC_* in wire order. */
const COMMANDS: readonly TlvTableCommand[] = ['add', 'delete', 'clear'];
const MAP_LEN = 8;
/** OVS's TLV_MAX_OPT_SIZE. */
const MAX_OPT_LEN = 124;

function putMappings(w: OfWriter, mappings: readonly TlvMapping[]): void {
  for (const m of mappings) w.u16(m.optClass).u8(m.optType).u8(m.optLen).u16(m.index).zeros(2);
}

/** The entries filling `r`, checked as OVS's decode_tlv_table_mappings checks them. */
function pullMappings(r: OfReader, maxFields: number): TlvMapping[] {
  if (r.remaining % MAP_LEN) throw new OfDecodeError('OFPBRC_BAD_LEN', `${r.remaining} bytes of TLV mappings is not a whole number of 8-byte entries`);
  const out: TlvMapping[] = [];
  while (r.remaining) {
    const optClass = r.u16('option class');
    const optType = r.u8('option type');
    const optLen = r.u8('option length');
    const index = r.u16('index');
    r.skip(2);
    if (optLen % 4 || optLen > MAX_OPT_LEN) throw new OfDecodeError('NXTTMFC_BAD_OPT_LEN', `TLV option length ${optLen} is not a multiple of 4 up to ${MAX_OPT_LEN}`);
    if (index >= maxFields) throw new OfDecodeError('NXTTMFC_BAD_FIELD_IDX', `TLV field index ${index} is too large (max ${maxFields - 1})`);
    out.push({ optClass, optType, optLen, index });
  }
  return out;
}

export function encodeTlvTableMod(msg: MessageOf<'nx_tlv_table_mod'>): Buffer {
  const w = new OfWriter().u16(COMMANDS.indexOf(msg.command)).zeros(6);
  putMappings(w, msg.mappings);
  return w.finish();
}

export function decodeTlvTableMod(r: OfReader, maxFields: number): MessageOf<'nx_tlv_table_mod'> {
  const n = r.u16('TLV table command');
  const command = COMMANDS[n];
  if (!command) throw new OfDecodeError('NXTTMFC_BAD_COMMAND', `TLV table mod command ${n} is not add (0), delete (1) or clear (2)`);
  r.skip(6);
  return { type: 'nx_tlv_table_mod', command, mappings: pullMappings(r, maxFields) };
}

export function encodeTlvTableReply(msg: MessageOf<'nx_tlv_table_reply'>): Buffer {
  const w = new OfWriter().u32(msg.maxOptionSpace).u16(msg.maxFields).zeros(10);
  putMappings(w, msg.mappings);
  return w.finish();
}

export function decodeTlvTableReply(r: OfReader): MessageOf<'nx_tlv_table_reply'> {
  const maxOptionSpace = r.u32('max_option_space');
  const maxFields = r.u16('max_fields');
  r.skip(10);
  return { type: 'nx_tlv_table_reply', maxOptionSpace, maxFields, mappings: pullMappings(r, maxFields) };
}
