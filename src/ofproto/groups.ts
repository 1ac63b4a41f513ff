/**
 * The group table: all / select / indirect / fast-failover groups with buckets.
 *
 * - all: every bucket gets a copy of the packet (flooding, multicast).
 * - select: one live bucket, chosen by a flow hash weighted by bucket weight (highest random
 *   weight, so removing a bucket only moves the flows that used it).
 * - indirect: exactly one bucket (a shared next hop).
 * - ff (fast failover): the first live bucket; liveness comes from watch_port / watch_group.
 *
 * Group mods follow OpenFlow 1.3: ADD of an existing id is OFPGMFC_GROUP_EXISTS, MODIFY of a
 * missing id OFPGMFC_UNKNOWN_GROUP, DELETE of a missing id is silently fine, DELETE of OFPG_ALL
 * empties the table. Deleting a group must also delete the flows that use it: the caller passes
 * the ids returned by `delete` to `FlowTables.deleteRulesForGroup`.
 */
import { OFPG, OFPP, referencedGroups, type Action } from './actions.js';
import { OfpError } from './ofperr.js';

export type GroupType = 'all' | 'select' | 'indirect' | 'ff';

export interface Bucket {
  /** Select groups only; OVS's default is 1. */
  weight: number;
  /** OFPP.ANY when unused. */
  watchPort: number;
  /** OFPG.ANY when unused. */
  watchGroup: number;
  actions: Action[];
}

export interface Group {
  groupId: number;
  type: GroupType;
  buckets: Bucket[];
  nPackets: bigint;
  nBytes: bigint;
  createdAt: number;
}

export interface GroupMod {
  command: 'add' | 'modify' | 'delete';
  groupId: number;
  type: GroupType;
  buckets: Bucket[];
}

export function bucket(actions: Action[], opts: Partial<Omit<Bucket, 'actions'>> = {}): Bucket {
  return { weight: opts.weight ?? 0, watchPort: opts.watchPort ?? OFPP.ANY, watchGroup: opts.watchGroup ?? OFPG.ANY, actions };
}

/** Tells whether a port can forward (link up, not blocked). */
export type PortLiveness = (port: number) => boolean;

function hrwScore(hash: number, index: number, weight: number): number {
  let h = Math.imul((hash ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // Uniform in (0, 1]; -weight / ln(u) is the weighted highest-random-weight score.
  const u = ((h >>> 0) + 1) / 4294967297;
  return -weight / Math.log(u);
}

export class GroupTable {
  private groups = new Map<number, Group>();
  /** The groups as they were when a transaction began (groups are replaced, never changed in place, by group_mods). */
  private saved: Map<number, Group> | undefined;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  get(groupId: number): Group | undefined {
    return this.groups.get(groupId);
  }

  get size(): number {
    return this.groups.size;
  }

  /** Groups by ascending id (the order dump-groups prints). */
  dump(): Group[] {
    return [...this.groups.values()].sort((a, b) => a.groupId - b.groupId);
  }

  /** Opens a transaction: rollback() returns the table to this point. */
  begin(): void {
    this.saved = new Map(this.groups);
  }

  commit(): void {
    this.saved = undefined;
  }

  rollback(): void {
    if (this.saved) this.groups = this.saved;
    this.saved = undefined;
  }

  /** Executes a group_mod. Returns the ids of the groups deleted (for flow cleanup). */
  apply(gm: GroupMod): number[] {
    if (gm.command === 'delete') return this.delete(gm.groupId);
    if (gm.groupId > OFPG.MAX) throw new OfpError('OFPGMFC_INVALID_GROUP', `group_id=${gm.groupId} is reserved: use 0-${OFPG.MAX}`);
    this.validate(gm);
    const exists = this.groups.has(gm.groupId);
    if (gm.command === 'add' && exists) throw new OfpError('OFPGMFC_GROUP_EXISTS', `group ${gm.groupId} already exists: use mod-group to change it`);
    if (gm.command === 'modify' && !exists) throw new OfpError('OFPGMFC_UNKNOWN_GROUP', `group ${gm.groupId} does not exist: use add-group first`);
    const old = this.groups.get(gm.groupId);
    this.groups.set(gm.groupId, {
      groupId: gm.groupId,
      type: gm.type,
      buckets: gm.buckets.map((b) => ({ ...b, weight: gm.type === 'select' && b.weight === 0 ? 1 : b.weight })),
      nPackets: old?.nPackets ?? 0n,
      nBytes: old?.nBytes ?? 0n,
      createdAt: old?.createdAt ?? this.clock(),
    });
    return [];
  }

  /** The buckets a packet goes through, given a flow hash and port liveness. */
  selectBuckets(group: Group, hash: number, isPortLive: PortLiveness = () => true): Bucket[] {
    switch (group.type) {
      case 'all':
        return group.buckets;
      case 'indirect':
        return group.buckets.slice(0, 1);
      case 'ff': {
        const b = group.buckets.find((x) => this.isBucketLive(x, isPortLive, 0));
        return b ? [b] : [];
      }
      case 'select': {
        let best: Bucket | undefined;
        let bestScore = -1;
        group.buckets.forEach((b, i) => {
          if (b.weight <= 0 || !this.isBucketLive(b, isPortLive, 0)) return;
          const s = hrwScore(hash, i, b.weight);
          if (s > bestScore) {
            bestScore = s;
            best = b;
          }
        });
        return best ? [best] : [];
      }
    }
  }

  /** A bucket is live if its watched port is live and its watched group has a live bucket. */
  isBucketLive(b: Bucket, isPortLive: PortLiveness, depth = 0): boolean {
    if (b.watchPort !== OFPP.ANY && !isPortLive(b.watchPort)) return false;
    if (b.watchGroup !== OFPG.ANY) {
      const g = this.groups.get(b.watchGroup);
      if (!g || depth > 32) return false;
      return g.buckets.some((x) => this.isBucketLive(x, isPortLive, depth + 1));
    }
    return true;
  }

  private delete(groupId: number): number[] {
    if (groupId === OFPG.ALL) {
      const ids = [...this.groups.keys()];
      this.groups.clear();
      return ids;
    }
    return this.groups.delete(groupId) ? [groupId] : [];
  }

  private validate(gm: GroupMod): void {
    if (!['all', 'select', 'indirect', 'ff'].includes(gm.type)) {
      throw new OfpError('OFPGMFC_BAD_TYPE', `group type "${gm.type}" is unknown: use all, select, indirect or ff`);
    }
    if (gm.type === 'indirect' && gm.buckets.length !== 1) {
      throw new OfpError('OFPGMFC_BAD_BUCKET', `an indirect group needs exactly one bucket, group ${gm.groupId} has ${gm.buckets.length}`);
    }
    for (const b of gm.buckets) {
      if (gm.type === 'ff' && b.watchPort === OFPP.ANY && b.watchGroup === OFPG.ANY) {
        throw new OfpError('OFPGMFC_BAD_WATCH', `every bucket of fast-failover group ${gm.groupId} needs watch_port or watch_group`);
      }
      if (gm.type !== 'select' && b.weight !== 0) {
        throw new OfpError('OFPGMFC_BAD_BUCKET', `weight is only for select groups (group ${gm.groupId} is ${gm.type})`);
      }
      for (const g of referencedGroups(b.actions)) {
        if (g === gm.groupId || this.reaches(g, gm.groupId, 0)) {
          throw new OfpError('OFPGMFC_LOOP', `group ${gm.groupId} would forward to itself through group ${g}`);
        }
        if (!this.groups.has(g)) throw new OfpError('OFPBAC_BAD_OUT_GROUP', `bucket of group ${gm.groupId} forwards to group ${g}, which does not exist`);
      }
    }
  }

  /** True if group `from` forwards, directly or not, to group `to`. */
  private reaches(from: number, to: number, depth: number): boolean {
    if (from === to) return true;
    const g = this.groups.get(from);
    if (!g || depth > 64) return false;
    return g.buckets.some((b) => referencedGroups(b.actions).some((x) => this.reaches(x, to, depth + 1)));
  }
}
