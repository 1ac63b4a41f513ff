// OpenFlow bundles of one connection, as OVS's ofproto/bundles.c: a
// controller opens a bundle, adds flow_mods, group_mods, port_mods and
// packet-outs to it (each checked as it arrives, none applied), and commits
// it: every message is applied or, if one fails, none is (the failing
// message's error goes back, then OFPBFC_MSG_FAILED for the commit). A
// bundle left idle for the idle timeout is discarded with OFPBFC_TIMEOUT.
import { getLogger } from '../lib/log.js';
import { OfpError } from '../ofproto/ofperr.js';
import type { XBridge } from '../ofproto/xbridge.js';
import { OFPBF_ATOMIC, OFPBF_ORDERED, type MessageOf } from '../openflow/messages.js';
import { RequestError } from './request-error.js';

const log = getLogger('bundles');

/** OVS's default bundle-idle-timeout: a bundle nobody touched for 10 s is discarded. */
const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/** A message a bundle holds: what to apply, and what its error reply needs (its xid and bytes). */
interface Entry {
  msg: MessageOf<'bundle_add'>['msg'];
  xid: number;
  data: Buffer;
}

interface Bundle {
  id: number;
  flags: number;
  state: 'open' | 'closed';
  entries: Entry[];
  /** The message that created the bundle: an expiry's error refers to it. */
  opener: { xid: number; data: Buffer };
  timer: NodeJS.Timeout;
}

/** What bundles need of their connection. */
export interface BundleTarget {
  readonly xb: XBridge;
  /**
   * Starts one bundled message at commit, as OVS's *_start: a flow_mod or group_mod is applied (the
   * bridge's transaction undoes it if a later one fails); a port_mod or packet-out is checked and
   * returned as what to do once every message has succeeded. Throws the message's error.
   */
  start(msg: Entry['msg']): (() => void) | undefined;
  /** Sends an OpenFlow error that refers to a message other than the one being handled. */
  sendError(name: string, xid: number, data: Buffer): void;
}

export class Bundles {
  private readonly bundles = new Map<number, Bundle>();

  constructor(
    private readonly target: BundleTarget,
    private readonly idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
  ) {}

  /** Handles a bundle_control request; returns the reply, or throws RequestError. */
  control(msg: MessageOf<'bundle_control'>, xid: number, data: Buffer): MessageOf<'bundle_control'> {
    const reply = (control: MessageOf<'bundle_control'>['control']): MessageOf<'bundle_control'> => ({ type: 'bundle_control', bundleId: msg.bundleId, control, flags: 0 });
    checkFlags(msg.flags);
    switch (msg.control) {
      case 'open_request':
        if (this.bundles.has(msg.bundleId)) {
          this.remove(msg.bundleId);
          throw new RequestError('OFPBFC_BAD_ID', `bundle ${msg.bundleId} is already open (it is discarded now; open it again)`);
        }
        this.create(msg.bundleId, msg.flags, xid, data);
        return reply('open_reply');
      case 'close_request': {
        const b = this.mustGet(msg.bundleId);
        if (b.state === 'closed') {
          this.remove(b.id);
          throw new RequestError('OFPBFC_BUNDLE_CLOSED', `bundle ${b.id} is already closed (it is discarded now)`);
        }
        this.checkSameFlags(b, msg.flags);
        b.state = 'closed';
        b.timer.refresh();
        return reply('close_reply');
      }
      case 'commit_request': {
        const b = this.mustGet(msg.bundleId);
        this.remove(b.id);
        if (b.flags !== msg.flags) throw new RequestError('OFPBFC_BAD_FLAGS', `bundle ${b.id} was opened with flags ${formatFlags(b.flags)}, the commit has ${formatFlags(msg.flags)}`);
        this.commit(b);
        return reply('commit_reply');
      }
      case 'discard_request':
        this.mustGet(msg.bundleId);
        this.remove(msg.bundleId);
        return reply('discard_reply');
      default:
        throw new RequestError('OFPBFC_BAD_TYPE', `${msg.control} is a reply: a switch accepts only open, close, commit and discard requests`);
    }
  }

  /** Adds a message to a bundle (opening it if need be, as OVS does); throws RequestError. */
  add(msg: MessageOf<'bundle_add'>, xid: number, data: Buffer): void {
    checkFlags(msg.flags);
    let b = this.bundles.get(msg.bundleId);
    if (!b) {
      b = this.create(msg.bundleId, msg.flags, xid, data);
    } else if (b.state === 'closed') {
      this.remove(b.id);
      throw new RequestError('OFPBFC_BUNDLE_CLOSED', `bundle ${b.id} is closed: no message can be added (it is discarded now)`);
    } else {
      this.checkSameFlags(b, msg.flags);
    }
    b.entries.push({ msg: msg.msg, xid, data });
    b.timer.refresh();
  }

  /** The connection is gone: its bundles go with it, uncommitted. */
  discardAll(): void {
    for (const id of [...this.bundles.keys()]) this.remove(id);
  }

  private create(id: number, flags: number, xid: number, data: Buffer): Bundle {
    const timer = setTimeout(() => this.expire(id), this.idleTimeoutMs);
    timer.unref();
    const b: Bundle = { id, flags, state: 'open', entries: [], opener: { xid, data }, timer };
    this.bundles.set(id, b);
    return b;
  }

  private expire(id: number): void {
    const b = this.bundles.get(id);
    if (!b) return;
    log.info(`${this.target.xb.name}: bundle ${id} expired after ${this.idleTimeoutMs} ms idle, discarded`);
    this.remove(id);
    this.target.sendError('OFPBFC_TIMEOUT', b.opener.xid, b.opener.data);
  }

  private mustGet(id: number): Bundle {
    const b = this.bundles.get(id);
    if (!b) throw new RequestError('OFPBFC_BAD_ID', `bundle ${id} is not open on this connection (open it first)`);
    return b;
  }

  private checkSameFlags(b: Bundle, flags: number): void {
    if (b.flags === flags) return;
    this.remove(b.id);
    throw new RequestError('OFPBFC_BAD_FLAGS', `bundle ${b.id} was opened with flags ${formatFlags(b.flags)}, this message has ${formatFlags(flags)} (the bundle is discarded)`);
  }

  private remove(id: number): void {
    const b = this.bundles.get(id);
    if (!b) return;
    clearTimeout(b.timer);
    this.bundles.delete(id);
  }

  /** Applies every message of `b` or none; the failing message's error is sent before the commit's. */
  private commit(b: Bundle): void {
    const finishers: Array<() => void> = [];
    let failed: Entry | undefined;
    try {
      this.target.xb.transact(() => {
        for (const e of b.entries) {
          failed = e;
          if (e.msg.type === 'port_mod' && b.flags & OFPBF_ATOMIC) {
            // OVS's port_mods cannot be undone, so an atomic bundle refuses them.
            throw new RequestError('OFPBFC_MSG_FAILED', `port_mod cannot be part of an atomic bundle: commit it without the atomic flag`);
          }
          const finish = this.target.start(e.msg);
          if (finish) finishers.push(finish);
        }
        failed = undefined;
      });
    } catch (e) {
      if (!failed) throw e;
      const name = errorNameOf(e);
      log.info(`${this.target.xb.name}: bundle ${b.id} rolled back: ${failed.msg.type} (xid 0x${failed.xid.toString(16)}) failed: ${e instanceof Error ? e.message : String(e)}`);
      this.target.sendError(name, failed.xid, failed.data);
      throw new RequestError('OFPBFC_MSG_FAILED', `message xid 0x${failed.xid.toString(16)} of bundle ${b.id} failed with ${name}: nothing of the bundle was applied`);
    }
    for (const finish of finishers) finish();
  }
}

/** Only OFPBF_ATOMIC and OFPBF_ORDERED exist. */
function checkFlags(flags: number): void {
  if (flags & ~(OFPBF_ATOMIC | OFPBF_ORDERED)) throw new RequestError('OFPBFC_BAD_FLAGS', `bundle flags 0x${flags.toString(16)} include bits other than atomic (0x1) and ordered (0x2)`);
}

function formatFlags(flags: number): string {
  const names = [flags & OFPBF_ATOMIC ? 'atomic' : '', flags & OFPBF_ORDERED ? 'ordered' : ''].filter(Boolean);
  return names.length ? names.join(',') : 'none';
}

/** The OpenFlow error name an exception of a bundled message stands for. */
function errorNameOf(e: unknown): string {
  if (e instanceof RequestError) return e.errorName;
  if (e instanceof OfpError) return e.code;
  return 'OFPBFC_MSG_FAILED';
}
