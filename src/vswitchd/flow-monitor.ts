// The flow monitors of one connection, as OVS's ofmonitor (connmgr.c): a
// controller asks to hear of rules added, deleted or modified that match a
// filter (table, out_port, a match the rules are at least as specific as),
// optionally with their actions, and gets the rules that match now at once.
// Changes a connection made itself are abbreviated to one ABBREV update with
// the xid of its request, unless it asked for its own changes in full
// (NXFMF_OWN). When the connection falls behind (more than 128 KiB unsent)
// updates pause: only deletions of rules added before the pause go out, and
// once the backlog is sent the rules added or modified meanwhile are sent
// and the connection is told it has resumed.
import { outputsToPort } from '../ofproto/actions.js';
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
  /** While paused: the rules added or modified since, whose updates wait for the resume. */
  private paused: { since: Set<Rule>; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly xb: XBridge,
    private readonly channel: MonitorChannel,
  ) {}

  /** Adds the monitors of a flow_monitor request (all or none); returns the rules that match now, for NXFMF_INITIAL. */
  add(requests: readonly FlowMonitorRequest[]): FlowUpdate[] {
    const ids = new Set<number>();
    for (const m of requests) {
      if (this.monitors.has(m.id) || ids.has(m.id)) throw new RequestError('OFPMOFC_MONITOR_EXISTS', `flow monitor ${m.id} already exists on this connection (cancel it first, or use another id)`);
      if (m.tableId !== ALL_TABLES && m.tableId >= N_TABLES) throw new RequestError('OFPBRC_BAD_TABLE_ID', `flow monitor ${m.id} names table ${m.tableId}, which does not exist`);
      ids.add(m.id);
    }
    for (const m of requests) this.monitors.set(m.id, m);
    const initial = requests.filter((m) => m.flags & NXFMF.INITIAL);
    return this.xb.tables
      .dump()
      .map((rule) => ({ rule, flags: this.flagsFor(rule, initial) }))
      .filter(({ flags }) => flags !== 0)
      .map(({ rule, flags }) => fullUpdate('added', rule, flags));
  }

  /** NXT_FLOW_MONITOR_CANCEL. */
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
          this.paused.since.add(change.rule);
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
    this.paused = { since: new Set(), timer };
    this.channel.send({ type: 'nx_flow_monitor_paused' });
  }

  /** Sends what changed during the pause (the rules that still exist), then NXT_FLOW_MONITOR_RESUMED. */
  private resume(): void {
    const paused = this.paused;
    if (!paused) return;
    clearInterval(paused.timer);
    this.paused = undefined;
    const all = [...this.monitors.values()].filter((m) => m.flags & (NXFMF.ADD | NXFMF.MODIFY));
    const updates = this.xb.tables
      .dump()
      .filter((rule) => paused.since.has(rule))
      .map((rule) => ({ rule, flags: this.flagsFor(rule, all) }))
      .filter(({ flags }) => flags !== 0)
      .map(({ rule, flags }) => fullUpdate('added', rule, flags));
    if (updates.length) this.channel.send({ type: 'multipart_reply', reply: { kind: 'flow_monitor', updates } });
    this.channel.send({ type: 'nx_flow_monitor_resumed' });
  }

  /** The union of the flags of `monitors` whose filter `rule` passes (0: none). */
  private flagsFor(rule: Rule, monitors: readonly FlowMonitorRequest[]): number {
    let flags = 0;
    for (const m of monitors) {
      if (m.tableId !== ALL_TABLES && m.tableId !== rule.tableId) continue;
      if (!outputsToPort(rule.instructions, m.outPort)) continue;
      if (!rule.match.isSubsetOf(m.match)) continue;
      flags |= m.flags;
    }
    return flags;
  }
}

function fullUpdate(event: 'added' | 'modified' | 'deleted', rule: Rule, flags: number, reason?: FlowRemovedReason): FlowUpdate {
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
