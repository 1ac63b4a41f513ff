// The flow monitors of one connection, as OVS's ofmonitor (connmgr.c): a
// controller asks to hear of rules added, deleted or modified that match a
// filter (table, out_port, out_group, a match the rules are at least as
// specific as), optionally with their actions, and gets the rules that match
// now at once. One engine serves every version: the codec turns Nicira's
// (OpenFlow 1.0-1.2), ONF's (1.3) and OpenFlow 1.4's messages into these.
// Changes a connection made itself are abbreviated to one ABBREV update with
// the xid of its request, unless it asked for its own changes in full
// (NXFMF_OWN). When the connection falls behind (more than 128 KiB unsent)
// updates pause: only deletions of rules added before the pause go out, and
// once the backlog is sent the rules added or modified meanwhile are sent
// and the connection is told it has resumed.
import { outputsToGroup, outputsToPort } from '../ofproto/actions.js';
import type { FlowRemovedReason, Rule } from '../ofproto/flow-table.js';
import type { RuleChange, XBridge } from '../ofproto/xbridge.js';
import { NXFMF, type FlowMonitorRequest, type FlowUpdate, type OfMessage } from '../openflow/messages.js';
import { RequestError } from './request-error.js';

/** OVS pauses a connection's updates when this much is queued on it. */
const PAUSE_BACKLOG_BYTES = 128 * 1024;
/** How often a paused connection's backlog is looked at. */
const RESUME_CHECK_MS = 20;
/** OVS's number of tables an OpenFlow table id may name. */
const N_TABLES = 255;
const ALL_TABLES = 0xff;

/** What monitors need of their connection. */
export interface MonitorChannel {
  send(msg: OfMessage): void;
  /** Bytes queued on the connection and not yet sent. */
  backlog(): number;
}

/** The NXFMF_* flag that asks for a change of this kind. */
const EVENT_FLAG = { added: NXFMF.ADD, modified: NXFMF.MODIFY, deleted: NXFMF.DELETE } as const;

export class FlowMonitors {
  private readonly monitors = new Map<number, FlowMonitorRequest>();
  /** While paused: the rules added or modified since (added wins), whose updates wait for the resume. */
  private paused: { since: Map<Rule, 'added' | 'modified'>; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly xb: XBridge,
    private readonly channel: MonitorChannel,
  ) {}

  /**
   * Applies a flow_monitor request's monitors in order (add, modify: replace, delete), all or none;
   * returns the rules that match the added and modified monitors with NXFMF_INITIAL now.
   */
  apply(requests: readonly FlowMonitorRequest[]): FlowUpdate[] {
    const next = new Map(this.monitors);
    const started: FlowMonitorRequest[] = [];
    for (const m of requests) {
      if (m.command !== 'delete' && m.tableId !== ALL_TABLES && m.tableId >= N_TABLES) throw new RequestError('OFPBRC_BAD_TABLE_ID', `flow monitor ${m.id} names table ${m.tableId}, which does not exist`);
      if (m.command === 'add' && next.has(m.id)) throw new RequestError('OFPMOFC_MONITOR_EXISTS', `flow monitor ${m.id} already exists on this connection (cancel it first, modify it, or use another id)`);
      if (m.command !== 'add' && !next.has(m.id)) throw new RequestError('OFPMOFC_UNKNOWN_MONITOR', `flow monitor ${m.id} does not exist on this connection, so it cannot be ${m.command === 'delete' ? 'deleted' : 'modified'}`);
      if (m.command === 'delete') next.delete(m.id);
      else {
        next.set(m.id, m);
        started.push(m);
      }
    }
    this.monitors.clear();
    for (const [id, m] of next) this.monitors.set(id, m);
    const initial = started.filter((m) => m.flags & NXFMF.INITIAL);
    if (initial.length === 0) return [];
    return this.xb.tables
      .dump()
      .map((rule) => ({ rule, flags: this.flagsFor(rule, initial) }))
      .filter(({ flags }) => flags !== 0)
      .map(({ rule, flags }) => fullUpdate('initial', rule, flags));
  }

  /** flow_monitor_cancel. */
  cancel(id: number): void {
    if (!this.monitors.delete(id)) throw new RequestError('OFPMOFC_UNKNOWN_MONITOR', `flow monitor ${id} does not exist on this connection`);
  }

  /** Reports rule changes; `ownXid` is set when this connection made them (with the xid of its request). */
  report(changes: readonly RuleChange[], ownXid: number | undefined): void {
    if (this.monitors.size === 0) return;
    const updates: FlowUpdate[] = [];
    let abbreviated = false;
    for (const change of changes) {
      if (this.paused) {
        if (change.event !== 'deleted') {
          if (this.paused.since.get(change.rule) !== 'added') this.paused.since.set(change.rule, change.event);
          continue;
        }
        // A rule added during the pause was never reported, so neither is its deletion.
        if (this.paused.since.has(change.rule)) {
          this.paused.since.delete(change.rule);
          continue;
        }
      }
      const flags = this.flagsFor(change.rule, [...this.monitors.values()].filter((m) => m.flags & EVENT_FLAG[change.event]));
      if (!flags) continue;
      if (ownXid !== undefined && !(flags & NXFMF.OWN) && !this.paused) {
        if (!abbreviated) updates.push({ event: 'abbrev', xid: ownXid });
        abbreviated = true;
        continue;
      }
      updates.push(fullUpdate(change.event, change.rule, flags, change.event === 'deleted' ? change.reason : undefined));
    }
    if (updates.length) this.channel.send({ type: 'multipart_reply', reply: { kind: 'flow_monitor', updates } });
    if (!this.paused && this.channel.backlog() > PAUSE_BACKLOG_BYTES) this.pause();
  }

  /** The connection is gone. */
  close(): void {
    if (this.paused) clearInterval(this.paused.timer);
    this.paused = undefined;
    this.monitors.clear();
  }

  private pause(): void {
    const timer = setInterval(() => {
      if (this.channel.backlog() === 0) this.resume();
    }, RESUME_CHECK_MS);
    timer.unref();
    this.paused = { since: new Map(), timer };
    this.channel.send({ type: 'flow_monitor_paused' });
  }

  /**
   * Sends what changed during the pause (the rules that still exist: added ones to monitors of
   * additions or modifications, as OVS does, modified ones to monitors of modifications), then
   * flow_monitor_resumed.
   */
  private resume(): void {
    const paused = this.paused;
    if (!paused) return;
    clearInterval(paused.timer);
    this.paused = undefined;
    const watching = {
      added: [...this.monitors.values()].filter((m) => m.flags & (NXFMF.ADD | NXFMF.MODIFY)),
      modified: [...this.monitors.values()].filter((m) => m.flags & NXFMF.MODIFY),
    };
    const updates = this.xb.tables
      .dump()
      .flatMap((rule) => {
        const event = paused.since.get(rule);
        return event ? [{ rule, event, flags: this.flagsFor(rule, watching[event]) }] : [];
      })
      .filter(({ flags }) => flags !== 0)
      .map(({ rule, event, flags }) => fullUpdate(event, rule, flags));
    if (updates.length) this.channel.send({ type: 'multipart_reply', reply: { kind: 'flow_monitor', updates } });
    this.channel.send({ type: 'flow_monitor_resumed' });
  }

  /** The union of the flags of `monitors` whose filter `rule` passes (0: none). */
  private flagsFor(rule: Rule, monitors: readonly FlowMonitorRequest[]): number {
    let flags = 0;
    for (const m of monitors) {
      if (m.tableId !== ALL_TABLES && m.tableId !== rule.tableId) continue;
      if (!outputsToPort(rule.instructions, m.outPort) || !outputsToGroup(rule.instructions, m.outGroup)) continue;
      if (!rule.match.isSubsetOf(m.match)) continue;
      flags |= m.flags;
    }
    return flags;
  }
}

function fullUpdate(event: 'initial' | 'added' | 'modified' | 'deleted', rule: Rule, flags: number, reason?: FlowRemovedReason): FlowUpdate {
  return {
    event,
    ...(reason ? { reason } : {}),
    tableId: rule.tableId,
    idleTimeout: rule.idleTimeout,
    hardTimeout: rule.hardTimeout,
    priority: rule.priority,
    cookie: rule.cookie,
    match: rule.match,
    ...(flags & NXFMF.ACTIONS ? { actions: rule.instructions } : {}),
  };
}
