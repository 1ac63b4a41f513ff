/**
 * A bridge's TLV map (OVS's lib/tun-metadata.c): which Geneve option (class, type, length) each
 * OpenFlow field tun_metadata0..63 stands for. OVN maps its logical-port option (class 0x0102,
 * type 0x80, 4 bytes) to tun_metadata0 with NXT_TLV_TABLE_MOD, then matches and sets the field.
 *
 * The datapath key carries one Geneve option per frame: the frame's first, when its data is at
 * most 8 bytes (native/src/flow/key.rs). So a mapping longer than 8 bytes could never be
 * matched or carried, and is refused when it is added, in words that say why; a mapped option
 * that comes after another one in a frame is not seen (README, "Geneve options").
 *
 * In a flow, tun_metadataN is two fields of its own (./flow.ts): tun_metadata_present, one bit
 * per N (bit N set: the frame carries the option mapped to N), and tun_metadata_value, the
 * option's data right-aligned. A frame shows at most one present bit, as it has at most one
 * option the datapath can see.
 */
import type { Action } from './actions.js';
import type { Match } from './match.js';
import { OfpError } from './ofperr.js';

/** OVS's TUN_METADATA_NUM_OPTS and TUN_METADATA_TOT_OPT_SIZE (the reply's max fields and option space). */
export const TUN_METADATA_FIELDS = 64;
export const TUN_METADATA_SPACE = 256;
/** OVS's TLV_MAX_OPT_SIZE: a Geneve option carries at most 124 bytes of data. */
const TLV_MAX_OPT_SIZE = 124;
/** The most data of one option the datapath key holds (tun_geneve_data). */
export const DATAPATH_OPT_BYTES = 8;

/** One mapping: Geneve option class, type and data length (bytes), and the tun_metadata index. */
export interface TlvMapping {
  readonly optClass: number;
  readonly optType: number;
  readonly optLen: number;
  readonly index: number;
}

export type TlvTableCommand = 'add' | 'delete' | 'clear';

/** How a mapping is written in add-tlv-map and in errors: {class=0xffff,type=0,len=4}->tun_metadata0. */
function formatTlvMapping(m: TlvMapping): string {
  return `{class=0x${m.optClass.toString(16)},type=0x${m.optType.toString(16)},len=${m.optLen}}->tun_metadata${m.index}`;
}

/**
 * Checks one mapping as OVS decodes it (NXTTMFC_BAD_OPT_LEN, NXTTMFC_BAD_FIELD_IDX), and what
 * TVS's datapath can carry.
 */
function checkMapping(m: TlvMapping): void {
  if (m.optLen % 4 !== 0 || m.optLen > TLV_MAX_OPT_SIZE) {
    throw new OfpError('NXTTMFC_BAD_OPT_LEN', `${formatTlvMapping(m)}: a Geneve option's length is a multiple of 4 bytes, at most ${TLV_MAX_OPT_SIZE}`);
  }
  if (m.optLen > DATAPATH_OPT_BYTES) {
    throw new OfpError(
      'NXTTMFC_BAD_OPT_LEN',
      `${formatTlvMapping(m)}: TVS's datapath carries Geneve options of at most ${DATAPATH_OPT_BYTES} bytes of data, so this option could never be matched or sent (map a shorter option)`,
    );
  }
  if (m.index >= TUN_METADATA_FIELDS) {
    throw new OfpError('NXTTMFC_BAD_FIELD_IDX', `${formatTlvMapping(m)}: the fields are tun_metadata0 to tun_metadata${TUN_METADATA_FIELDS - 1}`);
  }
}

/** A bridge's TLV map. */
export class TlvMap {
  private readonly byIndex = new Map<number, TlvMapping>();
  /** Changes with every modification: megaflows translated under another map are stale. */
  private seq = 0;

  /**
   * Applies an NXT_TLV_TABLE_MOD, all or nothing, with OVS's errors: an index already mapped
   * (NXTTMFC_ALREADY_MAPPED), an option already mapped to another index (NXTTMFC_DUP_ENTRY),
   * more than 256 bytes of options (NXTTMFC_TABLE_FULL). `inUse(index)` says whether a flow
   * uses tun_metadata<index>: such a mapping cannot be deleted (NXTTMFC_INVALID_TLV_DEL).
   */
  modify(command: TlvTableCommand, mappings: readonly TlvMapping[], inUse: (index: number) => boolean): void {
    for (const m of mappings) checkMapping(m);
    const next = new Map(this.byIndex);
    const refuseInUse = (index: number): void => {
      if (inUse(index)) {
        throw new OfpError('NXTTMFC_INVALID_TLV_DEL', `tun_metadata${index} is used by a flow: delete the flows that match or set it first (del-flows)`);
      }
    };
    switch (command) {
      case 'add':
        for (const m of mappings) {
          const old = next.get(m.index);
          if (old) throw new OfpError('NXTTMFC_ALREADY_MAPPED', `tun_metadata${m.index} is already mapped to ${formatTlvMapping(old).replace(/->.*/, '')} (del-tlv-map it first)`);
          const dup = [...next.values()].find((o) => o.optClass === m.optClass && o.optType === m.optType);
          if (dup) throw new OfpError('NXTTMFC_DUP_ENTRY', `${formatTlvMapping(m)}: that option is already mapped to tun_metadata${dup.index}`);
          next.set(m.index, m);
        }
        if (space(next) > TUN_METADATA_SPACE) throw new OfpError('NXTTMFC_TABLE_FULL', `the mapped options would take ${space(next)} bytes, more than the ${TUN_METADATA_SPACE} a flow holds`);
        break;
      case 'delete':
        // As OVS: deleting an index that is not mapped is not an error.
        for (const m of mappings) {
          if (next.has(m.index)) refuseInUse(m.index);
          next.delete(m.index);
        }
        break;
      case 'clear':
        for (const index of next.keys()) refuseInUse(index);
        next.clear();
        break;
    }
    this.byIndex.clear();
    for (const [i, m] of [...next].sort(([a], [b]) => a - b)) this.byIndex.set(i, m);
    this.seq++;
  }

  /** The mappings, by index. */
  list(): TlvMapping[] {
    return [...this.byIndex.values()];
  }

  /** How many options are mapped. */
  size(): number {
    return this.byIndex.size;
  }

  get(index: number): TlvMapping | undefined {
    return this.byIndex.get(index);
  }

  /** The mapping of a received option, if its class and type are mapped with its length. */
  find(optClass: number, optType: number, optLen: number): TlvMapping | undefined {
    for (const m of this.byIndex.values()) if (m.optClass === optClass && m.optType === optType && m.optLen === optLen) return m;
    return undefined;
  }

  /** A number that changes whenever the map does. */
  version(): number {
    return this.seq;
  }
}

function space(map: ReadonlyMap<number, TlvMapping>): number {
  let n = 0;
  for (const m of map.values()) n += m.optLen;
  return n;
}

/** The indexes whose bits are set in a tun_metadata_present value, lowest first. */
export function presentIndexes(present: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; present >> BigInt(i) !== 0n && i < TUN_METADATA_FIELDS; i++) if ((present >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/** N of tun_metadataN as an action records it (./names.ts: no name is tun_metadata0, the field's first name). */
export function tunMetadataIndex(name: string | undefined): number {
  const m = name === undefined ? undefined : /^tun_metadata(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
}

/** The tun_metadata_present bit of tun_metadataN. */
export function presentBit(index: number): bigint {
  return 1n << BigInt(index);
}

/** All ones in the low `bytes` bytes. */
export function bytesMask(bytes: number): bigint {
  return (1n << BigInt(8 * bytes)) - 1n;
}

/** An exact match on a tun_metadata value, whatever the mapped length: the field's whole width. */
export const TUN_METADATA_EXACT = bytesMask(DATAPATH_OPT_BYTES);

/** `0x` and the hex digits of `v` (0 for zero), as OVS prints option data (ds_put_hex). */
function hexData(v: bigint): string {
  return v ? `0x${v.toString(16)}` : '0';
}

/**
 * The tun_metadata part of a match as ovs-ofctl prints it: tun_metadataN=VALUE[/MASK], or
 * the bare name when only the option's presence is matched.
 */
export function formatTunMetadataMatch(present: { value: bigint; mask: bigint }, data: { value: bigint; mask: bigint }): string[] {
  return presentIndexes(present.mask).map((i) => {
    const name = `tun_metadata${i}`;
    if (!(present.value & presentBit(i))) return `${name}=NP`;
    if (data.mask === 0n) return name;
    return `${name}=${hexData(data.value)}${data.mask === TUN_METADATA_EXACT ? '' : `/${hexData(data.mask)}`}`;
  });
}

/**
 * Checks a flow's tun_metadata match against the bridge's map and puts it in the one form the
 * switch keeps, so that equal matches are equal word for word: the index must be mapped
 * (OFPBMC_BAD_FIELD otherwise: OVS would drop the field from the match silently, and the flow
 * would match every frame), the value is cut to the mapped length, and a mask covering the whole
 * length is written as exact. Only one tun_metadata field per match: the datapath sees one
 * option per frame.
 */
export function resolveTunMetadataMatch(m: Match, map: TlvMap): void {
  const present = m.field('tun_metadata_present');
  if (!present.mask) return;
  const [index, ...more] = presentIndexes(present.mask);
  if (more.length) throw new OfpError('OFPBMC_BAD_FIELD', tooManyOptions(presentIndexes(present.mask)));
  const mapping = map.get(index!);
  if (!mapping) throw new OfpError('OFPBMC_BAD_FIELD', `tun_metadata${index!} is not mapped to a Geneve option: map it first, e.g. add-tlv-map BRIDGE "{class=0x102,type=0x80,len=4}->tun_metadata${index!}"`);
  const data = m.field('tun_metadata_value');
  const width = bytesMask(mapping.optLen);
  if (data.value & ~width) throw new OfpError('OFPBMC_BAD_VALUE', `tun_metadata${index!}=0x${data.value.toString(16)} does not fit in the ${mapping.optLen} bytes of ${formatTlvMapping(mapping)}`);
  const mask = (data.mask & width) === width ? TUN_METADATA_EXACT : data.mask & width;
  m.set('tun_metadata_value', data.value & mask, mask);
}

/** The error for a match or a translation that needs two Geneve options at once. */
export function tooManyOptions(indexes: readonly number[]): string {
  return `${indexes.map((i) => `tun_metadata${i}`).join(' and ')} together need ${indexes.length} Geneve options in one frame, and TVS's datapath carries one: match or set one of them per flow`;
}

/** The tun_metadata indexes `actions` write or read (set_field, load, move, push, pop, output_reg). */
export function tunMetadataInActions(actions: readonly Action[]): number[] {
  const out: number[] = [];
  for (const a of actions) {
    if (a.type === 'set_field' && a.field === 'tun_metadata_value') out.push(tunMetadataIndex(a.name));
    for (const sf of 'src' in a ? [a.src] : []) if (sf.field === 'tun_metadata_value') out.push(tunMetadataIndex(sf.name));
    for (const sf of 'dst' in a ? [a.dst] : []) if (sf.field === 'tun_metadata_value') out.push(tunMetadataIndex(sf.name));
  }
  return out;
}
