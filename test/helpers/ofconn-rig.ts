// A bridge with three dummy ports, its datapath and its connection manager,
// and OpenFlow connections to it that keep what the switch sends: the rig
// of the tests of the switch side of OpenFlow (test/unit/vswitchd).
import { EventEmitter } from 'node:events';
import { afterEach } from 'vitest';
import { udpFrame } from '../../src/api/frames.js';
import { output } from '../../src/ofproto/actions.js';
import { flowMod } from '../../src/ofproto/flow-table.js';
import { Match } from '../../src/ofproto/match.js';
import { OfprotoDpif, type PacketInEvent } from '../../src/ofproto/ofproto-dpif.js';
import { XBridge } from '../../src/ofproto/xbridge.js';
import { defaultSession, OFP13, type MessageOf, type OfMessage, type Session } from '../../src/openflow/messages.js';
import { ConnMgr } from '../../src/vswitchd/connmgr.js';
import type { OfChannel, OfConn } from '../../src/vswitchd/ofconn.js';

/** A connection as the transport would hand it over: what the switch sends is kept in `sent`. */
export class TestChannel extends EventEmitter implements OfChannel {
  readonly sent: Array<{ msg: OfMessage; xid: number | undefined }> = [];
  readonly session: Session;
  closed = false;
  /** What backlog() reports: bytes the peer has not read yet. */
  backlogBytes = 0;
  /** The switch's side of it, once attached. */
  conn: OfConn | undefined;
  private xid = 1;

  constructor(version: number) {
    super();
    this.session = defaultSession(version);
  }

  send(msg: OfMessage, xid?: number): number {
    this.sent.push({ msg, xid });
    return xid ?? 0;
  }

  request(msg: OfMessage): Promise<OfMessage> {
    this.send(msg);
    return Promise.resolve({ type: 'echo_reply', data: Buffer.alloc(0) });
  }

  backlog(): number {
    return this.backlogBytes;
  }

  close(): void {
    this.closed = true;
    this.emit('close', 'closed by the switch');
  }

  /** Sends `msg` to the switch; resolves with what the switch answered to it. */
  async ask(mgr: ConnMgr, msg: OfMessage): Promise<OfMessage[]> {
    const xid = this.xid++;
    if (!this.conn) this.conn = mgr.attach(this, 'controller');
    await this.conn.receive(msg, xid);
    return this.sent.filter((s) => s.xid === xid).map((s) => s.msg);
  }

  of<T extends OfMessage['type']>(type: T): Array<MessageOf<T>> {
    return this.sent.map((s) => s.msg).filter((m): m is MessageOf<T> => m.type === type);
  }
}

export interface Rig {
  of: OfprotoDpif;
  xb: XBridge;
  mgr: ConnMgr;
  /** Datapath port numbers of OpenFlow ports 1, 2, 3. */
  dp: number[];
  connect(version?: number, kind?: 'controller' | 'service'): TestChannel;
}

const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) {
    r.mgr.close();
    r.of.close();
  }
});

export function rig(opts: { defaultRule?: boolean } = {}): Rig {
  // The datapath and bridge call back into the manager made after them.
  const of = new OfprotoDpif({ onPacketIn: (ev: PacketInEvent) => m.packetIn(ev) });
  const xb = new XBridge({ name: 'br0', defaultRule: opts.defaultRule ?? true, onFlowRemoved: (ev) => m.flowRemoved(ev), onRulesChanged: (changes) => m.rulesChanged(changes) });
  of.addBridge(xb);
  const dp: number[] = [];
  for (const ofport of [1, 2, 3]) {
    const port = of.datapath.addPort({ type: 'dummy', name: `p${ofport}` }).port;
    xb.addPort({ ofport, dpPort: port, name: `p${ofport}` });
    of.attachPort(xb, port);
    dp.push(port);
  }
  const unused = () => Promise.reject(new Error('no sockets in this test'));
  const m = new ConnMgr({
    xb,
    of,
    transport: { accept: unused, connect: unused },
    mgmtPath: '/nonexistent/br0.mgmt',
    datapathId: () => 0x0000aabbccddeeffn,
    portMac: (name) => `02:00:00:00:00:0${name.slice(1)}`,
    version: '0.1.0',
  });
  const r: Rig = {
    of,
    xb,
    mgr: m,
    dp,
    connect(version = OFP13, kind = 'controller') {
      const ch = new TestChannel(version);
      ch.conn = m.attach(ch, kind);
      return ch;
    },
  };
  rigs.push(r);
  return r;
}

/** A rule sending frames to UDP port 99 from port 1 to port 3: a marker proves the frames before it were handled. */
export const markerRule = () => flowMod({ command: 'add', priority: 0xffff, match: Match.of({ in_port: 1, dl_type: 0x0800, nw_proto: 17, tp_dst: 99 }), instructions: { apply: [output(3)], clearActions: false } });

/** Sends a marker from port 1 and waits for it on port 3; returns what port 2 sent meanwhile. */
export async function sentToPort2BeforeMarker(r: Rig): Promise<Buffer[]> {
  r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2, 99)]);
  await r.of.datapath.nextTransmitted(r.dp[2]!);
  return r.of.datapath.takeTransmitted(r.dp[1]!);
}

export const h1 = { src: '02:00:00:00:00:01', ipSrc: '10.0.0.1' };
export const h2 = { src: '02:00:00:00:00:02', ipSrc: '10.0.0.2' };
export const udp = (from: typeof h1, to: typeof h2, dport = 9) => udpFrame({ ...from, dst: to.src, ipDst: to.ipSrc, sport: 1000, dport, payload: Buffer.alloc(100, 7) });
