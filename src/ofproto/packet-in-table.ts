/**
 * Packet-in descriptors: what a CONTROLLER action's upcall needs to become a packet-in.
 *
 * The datapath hands the slow path only the first 8 bytes of a userspace action's userdata (its
 * cookie), far less than a packet-in needs (rule cookie, table, max_len, the pipeline's
 * registers, a pause's continuation). So xlate interns a descriptor per distinct packet-in and
 * the userdata names it: byte 0 = 1 (controller), bytes 4-7 = the descriptor's id
 * (little-endian, as the datapath reads the cookie).
 *
 * A descriptor must outlive every datapath flow whose actions name it, and the upcalls such a
 * flow (or an executed packet) has queued. It must not outlive them by much: OVN's pipelines
 * reach controller actions with per-port registers, so descriptors come and go with ports and
 * rules. `sweep` frees what no installed megaflow names and nothing used since the last sweep
 * (the grace that covers upcalls in flight), as OVS frees a frozen state with the last
 * megaflow that holds its recirculation id.
 */
import type { Action as DpAction } from '../datapath/actions.js';
import { USERDATA_KIND } from '../datapath/userdata.js';
import type { PacketIn } from './xlate.js';

const CONTROLLER_USERDATA_MARK = USERDATA_KIND.controller;

/**
 * The next descriptor id. Ids are unique in the process, not per table, so the upcall handler
 * can look a cookie up in each bridge's table without two bridges answering; and freed ids are
 * not reused (for 2^32 interns), so a late upcall never finds another packet-in under its id.
 */
let nextId = 1;

interface Descriptor {
  pin: PacketIn;
  /** Its canonical text, the key that makes equal packet-ins share one descriptor. */
  text: string;
  /** Interned or looked up since the last sweep. */
  used: boolean;
}

/** The packet-in descriptors of one bridge. */
export class PacketInTable {
  private readonly idByText = new Map<string, number>();
  private readonly byId = new Map<number, Descriptor>();

  /** Descriptors held now. */
  get size(): number {
    return this.byId.size;
  }

  /** The userdata of a userspace action that sends `pin` to the controllers. */
  userdata(pin: PacketIn): Buffer {
    const text = JSON.stringify(pin, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    let id = this.idByText.get(text);
    if (id === undefined) {
      id = nextId;
      nextId = nextId === 0xffffffff ? 1 : nextId + 1;
      this.idByText.set(text, id);
      this.byId.set(id, { pin, text, used: true });
    } else {
      this.byId.get(id)!.used = true;
    }
    const b = Buffer.alloc(8);
    b[0] = CONTROLLER_USERDATA_MARK;
    b.writeUInt32LE(id, 4);
    return b;
  }

  /** The packet-in an upcall's cookie names, or undefined if it is not one of this table's. */
  lookup(cookie: bigint): PacketIn | undefined {
    const id = idOfCookie(cookie);
    const d = id === undefined ? undefined : this.byId.get(id);
    if (!d) return undefined;
    d.used = true;
    return d.pin;
  }

  /**
   * Frees the descriptors that no installed flow names (`referenced`, by id) and that were not
   * used since the last sweep. Returns how many it freed.
   */
  sweep(referenced: ReadonlySet<number>): number {
    let freed = 0;
    for (const [id, d] of this.byId) {
      if (d.used || referenced.has(id)) {
        d.used = false;
        continue;
      }
      this.byId.delete(id);
      this.idByText.delete(d.text);
      freed++;
    }
    return freed;
  }
}

function idOfCookie(cookie: bigint): number | undefined {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, cookie));
  return b[0] === CONTROLLER_USERDATA_MARK ? b.readUInt32LE(4) : undefined;
}

/** The descriptor ids the userspace actions of a datapath action list name. */
export function packetInIdsOf(actions: readonly DpAction[]): number[] {
  const ids: number[] = [];
  for (const a of actions) {
    if (a.type !== 'userspace' || !a.userdata || a.userdata.length < 8 || a.userdata[0] !== CONTROLLER_USERDATA_MARK) continue;
    ids.push(a.userdata.readUInt32LE(4));
  }
  return ids;
}
