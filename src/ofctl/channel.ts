/**
 * What tvs-ofctl's commands need from an OpenFlow connection, and nothing more: the commands
 * are written against this, and src/ofctl/connect.ts provides it over an OfConnection. The xid of
 * each request is part of what ovs-ofctl prints (`OFPST_FLOW reply (xid=0x4):`), so every
 * exchange reports the xid it used.
 */
import type { OfMessage, Session } from '../openflow/messages.js';

export interface OfctlChannel {
  /** What the hello exchange (and any NXT_SET_FLOW_FORMAT since) negotiated. */
  readonly session: Session;
  /** Sends `msg` and resolves to its reply, multipart parts joined; an error reply rejects with a RemoteError. */
  transact(msg: OfMessage): Promise<{ reply: OfMessage; xid: number }>;
  /** Sends `msg` with no reply expected; returns its xid. A later error reply to it goes to `onError`. */
  send(msg: OfMessage): number;
  /** Resolves once the switch has processed everything sent before it. */
  barrier(): Promise<void>;
  /** Error replies to messages sent with `send`. */
  onError(fn: (err: RemoteError) => void): void;
  /** Every other message the switch sends on its own (packet-ins, port-status, flow-removed...). */
  onMessage(fn: (msg: OfMessage, xid: number) => void): void;
  /** Resolves when the switch closes the connection. */
  closed(): Promise<void>;
  close(): void;
}

/** The switch answered a request with OFPT_ERROR. */
export class RemoteError extends Error {
  constructor(
    /** OVS's name of the error, e.g. OFPBAC_BAD_OUT_GROUP. */
    readonly errorName: string,
    /** The xid of the request (and of the error). */
    readonly xid: number,
    /** The request the switch refused, as sent. */
    readonly request: OfMessage | undefined,
    /** The connection's OpenFlow version, which the error is printed with. */
    readonly version: number,
    /** What the switch echoed of the refused request (OVS: all of it; others may truncate it). */
    readonly data: Buffer,
  ) {
    super(errorName);
    this.name = 'RemoteError';
  }
}
