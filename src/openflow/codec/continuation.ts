/**
 * A paused pipeline on the wire: the nested properties of NXT_PACKET_IN2's and NXT_RESUME's
 * NXPINT_CONTINUATION, as OVS lays them out (lib/ofp-packet.c, NXCPT_*). The controller treats
 * them as opaque bytes and sends them back unchanged; `ovs-ofctl ofp-print` shows them as
 * `continuation.*` lines.
 *
 * What TVS puts in OVS's properties:
 * - NXCPT_BRIDGE: the bridge's uuid, so a resume on another bridge or after a restart is stale.
 * - NXCPT_STACK: one per push:/pop: stack entry, top first, each the value's big-endian bytes.
 * - NXCPT_TABLE_ID, NXCPT_COOKIE, NXCPT_ACTIONS: one ACTIONS per frame of the continuation
 *   (innermost first), each after the TABLE_ID and COOKIE of its rule where they differ from
 *   the frame before (both start at 0), as OVS groups its actions by unroll_xlate.
 * - NXCPT_ACTION_SET: the action set.
 * Actions are OpenFlow actions of the message's version. The pipeline fields (in_port,
 * registers, metadata, tun_id) are not in the continuation: they are the packet-in's metadata,
 * which NXT_RESUME carries back.
 */
import type { Action } from '../../ofproto/actions.js';
import type { Continuation, ResumeFrame } from '../../ofproto/xlate.js';
import { pullActions, putActions } from './actions.js';
import { OfDecodeError, OfReader, OfWriter } from './buffer.js';

/** OVS's nx_continuation_prop_type. MIRRORS, CONNTRACKED and ODP_PORT are OVS's alone. */
const NXCPT = { BRIDGE: 0x8000, STACK: 0x8001, MIRRORS: 0x8002, CONNTRACKED: 0x8003, TABLE_ID: 0x8004, COOKIE: 0x8005, ACTIONS: 0x8006, ACTION_SET: 0x8007, ODP_PORT: 0x8008 } as const;
const NXCPT_NAMES = new Map<number, string>(Object.entries(NXCPT).map(([name, type]) => [type, `NXCPT_${name}`]));

/** The widest value the stack holds: TVS's widest field, a 128-bit xxreg. */
const MAX_STACK_BYTES = 16;

const NOT_OURS = "this continuation is not one this switch sent (send back the packet-in's continuation unchanged)";

function fail(name: string, detail: string): never {
  throw new OfDecodeError(name, `${detail}: ${NOT_OURS}`);
}

/** The actions of an ACTIONS or ACTION_SET property, with the codec's own error and the hint. */
function pullPropActions(r: OfReader, version: number, name: string): Action[] {
  try {
    return pullActions(r, version);
  } catch (e) {
    if (!(e instanceof OfDecodeError)) throw e;
    fail(e.name, `${name}: ${e.message.slice(e.name.length + 2)}`);
  }
}

/** A property whose body `body` writes; `nested` bodies start 8 bytes in, as ofpprop_start_nested puts them. */
function putProp(w: OfWriter, type: number, body: (w: OfWriter) => void, nested = false): void {
  const at = w.length;
  w.u16(type).u16(0);
  if (nested) w.zeros(4);
  body(w);
  w.patchU16(at + 2, w.length - at);
  w.pad(8);
}

/** OVS writes a uuid as its four 32-bit words in host order (little-endian on the machines it runs on). */
function putUuid(w: OfWriter, uuid: string): void {
  const hex = uuid.replaceAll('-', '');
  for (let i = 0; i < 4; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16));
    w.bytes(b);
  }
}

function pullUuid(r: OfReader): string {
  const hex = [0, 1, 2, 3].map(() => r.bytes(4).readUInt32LE(0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function stackBytes(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/** The NXPINT_CONTINUATION body for `c`, paused on the bridge whose uuid is `bridge`, for OpenFlow `version`. */
export function encodeContinuation(bridge: string, c: Continuation, version: number): Buffer {
  const w = new OfWriter();
  putProp(w, NXCPT.BRIDGE, (b) => putUuid(b, bridge));
  for (const v of [...c.stack].reverse()) putProp(w, NXCPT.STACK, (b) => b.bytes(stackBytes(v)));
  let tableId = 0;
  let cookie = 0n;
  for (const f of c.frames) {
    // A rule with nothing left to run leaves nothing to resume (OVS writes no empty ACTIONS).
    if (!f.actions.length) continue;
    if (f.tableId !== tableId) putProp(w, NXCPT.TABLE_ID, (b) => b.u8(f.tableId));
    if (f.cookie !== cookie) putProp(w, NXCPT.COOKIE, (b) => b.zeros(4).u64(f.cookie));
    ({ tableId, cookie } = f);
    putProp(w, NXCPT.ACTIONS, (b) => putActions(b, f.actions, { version }), true);
  }
  if (c.actionSet.length) putProp(w, NXCPT.ACTION_SET, (b) => putActions(b, c.actionSet, { version }), true);
  return w.finish();
}

/**
 * Decodes an NXPINT_CONTINUATION body of OpenFlow `version`: the bridge uuid it names
 * (undefined if none) and the continuation. Throws OfDecodeError with the OpenFlow error OVS
 * gives (OFPBPC_BAD_LEN, OFPBPC_BAD_TYPE, an action's OFPBAC_*).
 */
export function decodeContinuation(body: Buffer, version: number): { bridge: string | undefined; continuation: Continuation } {
  const r = new OfReader(body);
  const frames: ResumeFrame[] = [];
  const c: Continuation = { frames, actionSet: [], stack: [] };
  let bridge: string | undefined;
  let tableId = 0;
  let cookie = 0n;
  while (r.remaining > 0) {
    if (r.remaining < 4) fail('OFPBPC_BAD_LEN', `${r.remaining} bytes left where a property needs 4`);
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) fail('OFPBPC_BAD_LEN', `property 0x${type.toString(16)} has length ${len} with ${r.remaining + 4} bytes left`);
    const p = r.sub(len - 4, 'property');
    r.skip(Math.min(r.remaining, (8 - (len % 8)) % 8));
    const name = NXCPT_NAMES.get(type) ?? `0x${type.toString(16)}`;
    const exact = (n: number) => {
      if (p.remaining !== n) fail('OFPBPC_BAD_LEN', `${name} has ${p.remaining} bytes, not ${n}`);
    };
    const nested = (): OfReader => {
      if (p.remaining < 4) fail('OFPBPC_BAD_LEN', `${name} is too short for its padding`);
      p.skip(4);
      return p;
    };
    switch (type) {
      case NXCPT.BRIDGE:
        exact(16);
        bridge = pullUuid(p);
        break;
      case NXCPT.STACK:
        if (p.remaining > MAX_STACK_BYTES) fail('OFPBPC_BAD_LEN', `${name} holds ${p.remaining} bytes, more than the ${MAX_STACK_BYTES} of the widest field`);
        c.stack.unshift(p.remaining ? BigInt(`0x${p.bytes(p.remaining).toString('hex')}`) : 0n);
        break;
      case NXCPT.TABLE_ID:
        exact(1);
        tableId = p.u8();
        break;
      case NXCPT.COOKIE:
        exact(12);
        p.skip(4);
        cookie = p.u64();
        break;
      case NXCPT.ACTIONS:
        frames.push({ tableId, cookie, actions: pullPropActions(nested(), version, name) });
        break;
      case NXCPT.ACTION_SET:
        c.actionSet = pullPropActions(nested(), version, name);
        break;
      default:
        fail('OFPBPC_BAD_TYPE', `continuation property ${name} is not one TVS makes`);
    }
  }
  return { bridge, continuation: c };
}
