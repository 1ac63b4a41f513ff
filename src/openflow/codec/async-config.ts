/**
 * The asynchronous-message configuration on the wire (lib/ofp-connection.c): the three pairs of
 * masks of OpenFlow 1.3's OFPT_SET_ASYNC / GET_ASYNC_REPLY and NXT_SET_ASYNC_CONFIG, and the
 * properties of OpenFlow 1.4's messages and NXT_SET_ASYNC_CONFIG2, one per kind and role:
 * type 2k for a slave's mask of kind k, 2k+1 for a master's.
 */
import { ASYNC_KINDS, OFP14, type AsyncConfig, type AsyncConfigChange, type AsyncKind } from '../messages.js';
import { OfDecodeError, OfWriter, type OfReader } from './buffer.js';

/** The reasons each kind may name before 1.4 and from 1.4 (OVS's async_props allowed10/allowed14). */
const ALLOWED: Record<AsyncKind, [before14: number, since14: number]> = {
  packetIn: [0x7, 0x3f],
  portStatus: [0x7, 0x7],
  flowRemoved: [0x3f, 0x3f],
  roleStatus: [0x7, 0x7],
  tableStatus: [0x18, 0x18],
  requestForward: [0x3, 0x3],
};

function allowed(kind: AsyncKind, version: number): number {
  return ALLOWED[kind][version >= OFP14 ? 1 : 0];
}

/** The masks of OpenFlow 1.3's messages: packet-in, port-status, flow-removed, master then slave each. */
const LEGACY_KINDS = ['packetIn', 'portStatus', 'flowRemoved'] as const;

export function writeAsyncMasks(w: OfWriter, c: AsyncConfigChange, version: number): void {
  for (const kind of LEGACY_KINDS) w.u32((c[kind]?.[0] ?? 0) & allowed(kind, version)).u32((c[kind]?.[1] ?? 0) & allowed(kind, version));
}

/** Every mask; what legacy messages cannot carry is none (as OVS resets it). Masks are cut to what the version allows. */
export function readAsyncMasks(r: OfReader, version: number): AsyncConfig {
  const c = noAsync();
  for (const kind of LEGACY_KINDS) c[kind] = [r.u32('async mask') & allowed(kind, version), r.u32('async mask') & allowed(kind, version)];
  return c;
}

export function asyncProperties(c: AsyncConfigChange, version: number): Buffer {
  const w = new OfWriter();
  ASYNC_KINDS.forEach((kind, k) => {
    const [master, slave] = c[kind] ?? [];
    if (slave !== undefined) w.u16(2 * k).u16(8).u32(slave & allowed(kind, version));
    if (master !== undefined) w.u16(2 * k + 1).u16(8).u32(master & allowed(kind, version));
  });
  return w.finish();
}

/**
 * The masks a property list sets. `strict` (a switch reading a controller's request) refuses an
 * unknown property with OFPACFC_UNSUPPORTED and a reason the kind lacks with OFPACFC_INVALID;
 * otherwise (a controller reading a reply) they are left out, as OVS does.
 */
export function readAsyncProperties(r: OfReader, version: number, strict: boolean): AsyncConfigChange {
  const c: AsyncConfigChange = {};
  while (r.remaining > 0) {
    const type = r.u16('async property type');
    const len = r.u16('async property length');
    if (len < 4 || len - 4 > r.remaining) throw new OfDecodeError('OFPBPC_BAD_LEN', `async property of ${len} bytes`);
    const prop = r.sub(len - 4, 'async property');
    r.skip(Math.min((8 - (len % 8)) % 8, r.remaining));
    const kind = ASYNC_KINDS[type >> 1];
    if (!kind || type >= 0xfffe) {
      if (strict) throw new OfDecodeError('OFPACFC_UNSUPPORTED', `async config property ${type} is not one TVS knows (0-${2 * ASYNC_KINDS.length - 1})`);
      continue;
    }
    if (len !== 8) throw new OfDecodeError('OFPBPC_BAD_LEN', `async property ${type} of ${len} bytes, not 8`);
    const mask = prop.u32('async mask');
    if (strict && mask & ~allowed(kind, version)) {
      throw new OfDecodeError('OFPACFC_INVALID', `async ${kind} mask 0x${mask.toString(16)} names reasons OpenFlow 1.${version - 1} does not have (allowed: 0x${allowed(kind, version).toString(16)})`);
    }
    const pair = (c[kind] ??= []);
    pair[type & 1 ? 0 : 1] = mask & allowed(kind, version);
  }
  return c;
}

/** No asynchronous messages at all. */
export function noAsync(): AsyncConfig {
  return { packetIn: [0, 0], portStatus: [0, 0], flowRemoved: [0, 0], roleStatus: [0, 0], tableStatus: [0, 0], requestForward: [0, 0] };
}

/** `base` with `change`'s masks put in. */
export function applyAsyncChange(base: AsyncConfig, change: AsyncConfigChange): AsyncConfig {
  const out = structuredClone(base);
  for (const kind of ASYNC_KINDS) {
    const [master, slave] = change[kind] ?? [];
    if (master !== undefined) out[kind][0] = master;
    if (slave !== undefined) out[kind][1] = slave;
  }
  return out;
}
