// A host on a dummy port of an in-process switch (Switch.start({ dummy:
// true })): no namespace and no device, but a minimal host stack in
// TypeScript. It answers ARP requests and ICMP echo requests for its
// address, in whatever VLAN tags they carry; it pings and resolves
// addresses itself; and the frames the switch sends it wait in an inbox
// until a test takes them, awaited rather than polled.
import { parseIpv4, parseMac } from '../lib/addr.js';
import type { DummyNetdevs } from '../vswitchd/netdev-dummy.js';
import { arpFrame, BROADCAST, frameFields, icmpEchoFrame, udpFrame, type UdpSpec } from './frames.js';

/** Frames an inbox keeps; beyond that the oldest go. */
const INBOX_FRAMES = 4096;
const ETH_HEADER_LEN = 14;
const VLAN_TAG_LEN = 4;

export interface DummyHostOptions {
  /** Address with prefix length, e.g. 10.0.0.1/24. */
  ip: string;
  /** Its MAC; the switch gives each host a distinct one by default. */
  mac?: string;
  /** Access port in this VLAN. */
  tag?: number;
  /** Trunk port carrying these VLANs. */
  trunks?: number[];
}

export interface ReceiveOptions {
  /** Resolve once this many frames matched (1 by default). */
  count?: number;
  /** Which frames count: by default those addressed to the host (its MAC, broadcast or multicast). */
  match?: (frame: Buffer) => boolean;
  /** Reject after this long (5000 ms by default). */
  timeoutMs?: number;
}

export interface PingOptions {
  /** Echo requests to send, one after the other's reply (1 by default). */
  count?: number;
  /** How long to wait for each reply, and for the ARP reply before them (1000 ms by default). */
  timeoutMs?: number;
  /** Send tagged with this VLAN id (from a host on a trunk port). */
  vlan?: number;
}

/** The one-shot waits of a host: for frames, ARP replies and echo replies. */
interface Waiter {
  done(frame: Buffer): boolean;
}

export class DummyHost {
  /** The address without its prefix length. */
  readonly ip: string;
  readonly prefixLength: number;
  private readonly macBytes: Buffer;
  private readonly inbox: Buffer[] = [];
  /** The stack's own waits (ping, resolve) are served before a program's (receive). */
  private readonly stackWaiters = new Set<Waiter>();
  private readonly receivers = new Set<Waiter>();
  private readonly arpCache = new Map<string, string>();
  private readonly stopListening: () => void;
  private nextEchoId = 1;

  constructor(
    private readonly dummies: DummyNetdevs,
    /** The switch's port (and dummy interface) name for this host. */
    readonly port: string,
    readonly mac: string,
    ip: string,
  ) {
    const [addr, len] = ip.split('/');
    parseIpv4(addr!);
    const prefixLength = Number(len);
    if (len === undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
      throw new Error(`host ${port}: ip "${ip}" needs a prefix length, e.g. 10.0.0.1/24`);
    }
    this.ip = addr!;
    this.prefixLength = prefixLength;
    this.macBytes = parseMac(mac);
    this.stopListening = dummies.listen(port, (frames) => frames.forEach((f) => this.deliver(f)));
  }

  /** Put frames on the host's wire: the switch receives them on its port. */
  send(frames: Buffer | Buffer[]): void {
    this.dummies.receive(this.port, Array.isArray(frames) ? frames : [frames]);
  }

  /**
   * The frames the switch sent the host that `match` selects (those
   * addressed to it by default), oldest first, once `count` of them are
   * there: they leave the inbox, the others stay. Rejects after `timeoutMs`,
   * saying how many came. The frames the host stack answered or awaited
   * itself (ARP and echo for its address) are not in the inbox.
   */
  receive(options: ReceiveOptions = {}): Promise<Buffer[]> {
    const count = options.count ?? 1;
    const match = options.match ?? ((f: Buffer) => this.addressedToMe(f));
    const timeoutMs = options.timeoutMs ?? 5000;
    const got: Buffer[] = [];
    for (let i = 0; i < this.inbox.length && got.length < count; ) {
      if (match(this.inbox[i]!)) got.push(...this.inbox.splice(i, 1));
      else i++;
    }
    if (got.length >= count) return Promise.resolve(got);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        done: (frame) => {
          if (!match(frame)) return false;
          got.push(frame);
          if (got.length === count) {
            clearTimeout(timer);
            this.receivers.delete(waiter);
            resolve(got);
          }
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.receivers.delete(waiter);
        // What it did get goes back, for a later receive or drain.
        this.inbox.unshift(...got);
        reject(new Error(`host ${this.port} received ${got.length} of the ${count} frames awaited within ${timeoutMs} ms (its inbox holds ${this.inbox.length - got.length} other frames)`));
      }, timeoutMs);
      this.receivers.add(waiter);
    });
  }

  /**
   * Takes the frames in the inbox that `match` selects (all by default),
   * without waiting: every frame the switch has sent the host so far is in
   * it. Once another host has received a copy of a flooded frame, this
   * host's drain() shows whether it got one too (the datapath sends all of
   * a frame's copies at once).
   */
  drain(match: (frame: Buffer) => boolean = () => true): Buffer[] {
    this.dummies.flush(this.port);
    const taken = this.inbox.filter(match);
    const kept = this.inbox.filter((f) => !match(f));
    this.inbox.splice(0, this.inbox.length, ...kept);
    return taken;
  }

  /**
   * Ping `ip` as ping(8) would: its MAC by ARP first, then `count` echo
   * requests, each after the last one's reply or deadline. Resolves to the
   * number of replies (0 when ARP gets no answer).
   */
  async ping(ip: string, options: PingOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 1000;
    const vlan = options.vlan;
    let dst: string;
    try {
      dst = await this.resolve(ip, { timeoutMs, ...(vlan !== undefined ? { vlan } : {}) });
    } catch {
      return 0;
    }
    const id = this.nextEchoId++ & 0xffff;
    let replies = 0;
    for (let seq = 1; seq <= (options.count ?? 1); seq++) {
      const reply = this.awaitFrame(timeoutMs, (f) => {
        const k = frameFields(f);
        return k['ipv4.src'] === ip && k['ipv4.dst'] === this.ip && k['ipv4.proto'] === 1 && (k['icmp.type'] ?? 0) === 0 && echoIdSeq(f).id === id && echoIdSeq(f).seq === seq;
      });
      this.send(icmpEchoFrame({ src: this.mac, dst, ipSrc: this.ip, ipDst: ip, id, seq, payload: Buffer.from('tvs dummy host ping'), ...(vlan !== undefined ? { vlan } : {}) }));
      if (await reply) replies++;
    }
    return replies;
  }

  /** The MAC of `ip` on the host's subnet: from its ARP cache, or by asking (an ARP request). */
  async resolve(ip: string, options: { timeoutMs?: number; vlan?: number } = {}): Promise<string> {
    if (!this.onSubnet(ip)) throw new Error(`host ${this.port}: ${ip} is not on its subnet ${this.ip}/${this.prefixLength} (a dummy host has no gateway)`);
    const known = this.arpCache.get(ip);
    if (known) return known;
    const timeoutMs = options.timeoutMs ?? 1000;
    const answer = this.awaitFrame(timeoutMs, (f) => {
      const k = frameFields(f);
      return k['arp.op'] === 2 && k['arp.sip'] === ip;
    });
    this.send(arpFrame({ op: 'request', src: this.mac, dst: BROADCAST, senderMac: this.mac, senderIp: this.ip, targetIp: ip, ...(options.vlan !== undefined ? { vlan: options.vlan } : {}) }));
    const reply = await answer;
    if (!reply) throw new Error(`host ${this.port}: no ARP reply for ${ip} within ${timeoutMs} ms`);
    return String(frameFields(reply)['arp.sha']);
  }

  /** A UDP datagram from this host to `to` (another host, or an address and MAC). */
  udpTo(to: { ip: string; mac: string }, spec: Omit<UdpSpec, 'src' | 'dst' | 'ipSrc' | 'ipDst'>): Buffer {
    return udpFrame({ ...spec, src: this.mac, dst: to.mac, ipSrc: this.ip, ipDst: to.ip });
  }

  /** Stop taking frames from the switch. */
  close(): void {
    this.stopListening();
    this.stackWaiters.clear();
    this.receivers.clear();
  }

  /** A frame the switch sent this host: answered by its stack, handed to a waiter, or kept in the inbox. */
  private deliver(frame: Buffer): void {
    if (this.answer(frame)) return;
    for (const waiter of [...this.stackWaiters, ...this.receivers]) if (waiter.done(frame)) return;
    this.inbox.push(frame);
    if (this.inbox.length > INBOX_FRAMES) this.inbox.shift();
  }

  /** Answers an ARP request or an echo request for the host's address; learns from ARP. */
  private answer(frame: Buffer): boolean {
    const k = frameFields(frame);
    const tags = frame.subarray(12, l3Offset(frame) - 2);
    if (k.eth_type === 0x0806 && k['arp.sip'] !== undefined && k['arp.sha'] !== undefined) this.arpCache.set(String(k['arp.sip']), String(k['arp.sha']));
    if (k.eth_type === 0x0806 && k['arp.op'] === 1 && k['arp.tip'] === this.ip) {
      const reply = arpFrame({ op: 'reply', src: this.mac, dst: String(k['eth.src']), senderMac: this.mac, senderIp: this.ip, targetMac: String(k['arp.sha']), targetIp: String(k['arp.sip']) });
      this.send(withTags(reply, tags));
      return true;
    }
    if (k.eth_type === 0x0800 && k['ipv4.dst'] === this.ip && k['ipv4.proto'] === 1 && k['icmp.type'] === 8) {
      const { id, seq, payload } = echoIdSeq(frame);
      const reply = icmpEchoFrame({ reply: true, src: this.mac, dst: String(k['eth.src']), ipSrc: this.ip, ipDst: String(k['ipv4.src']), id, seq, payload });
      this.send(withTags(reply, tags));
      return true;
    }
    return false;
  }

  /** Resolves to the first frame `match` selects within `timeoutMs`, or to undefined. */
  private awaitFrame(timeoutMs: number, match: (frame: Buffer) => boolean): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        done: (frame) => {
          if (!match(frame)) return false;
          clearTimeout(timer);
          this.stackWaiters.delete(waiter);
          resolve(frame);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.stackWaiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.stackWaiters.add(waiter);
    });
  }

  private addressedToMe(frame: Buffer): boolean {
    // The group bit of the destination: broadcast and multicast.
    return (frame[0]! & 1) === 1 || frame.subarray(0, 6).equals(this.macBytes);
  }

  private onSubnet(ip: string): boolean {
    const mask = this.prefixLength === 0 ? 0 : (~0 << (32 - this.prefixLength)) >>> 0;
    return ((parseIpv4(ip).readUInt32BE(0) ^ parseIpv4(this.ip).readUInt32BE(0)) & mask) === 0;
  }
}

/** Where a frame's L3 header starts: after the Ethernet header and its VLAN tags. */
function l3Offset(frame: Buffer): number {
  let at = ETH_HEADER_LEN;
  while (at + VLAN_TAG_LEN <= frame.length && [0x8100, 0x88a8].includes(frame.readUInt16BE(at - 2))) at += VLAN_TAG_LEN;
  return at;
}

/** `frame` (untagged) with the VLAN tags `tags` (raw, as they came in a request) after its addresses. */
function withTags(frame: Buffer, tags: Buffer): Buffer {
  return tags.length ? Buffer.concat([frame.subarray(0, 12), tags, frame.subarray(12)]) : frame;
}

/** The identifier, sequence number and data of an ICMP echo over IPv4. */
function echoIdSeq(frame: Buffer): { id: number; seq: number; payload: Buffer } {
  const ip = l3Offset(frame);
  const icmp = ip + (frame[ip]! & 0x0f) * 4;
  return { id: frame.readUInt16BE(icmp + 4), seq: frame.readUInt16BE(icmp + 6), payload: frame.subarray(icmp + 8) };
}
