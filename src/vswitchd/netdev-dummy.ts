// The daemon's dummy interfaces (OVS's netdev-dummy, which
// `tvs-vswitchd --enable-dummy` turns on): interfaces with no device behind
// them, each a dummy port of the datapath. Frames come in through
// `tvs-appctl netdev-dummy/receive` (or a program's DummyHost) as if the
// wire had carried them; the frames the switch sends out of one go to
// whoever listens on it by name, and are otherwise dropped as sent. As in
// OVS, options:pcap=FILE records both directions, options:rxq_pcap=FILE
// what comes in and options:tx_pcap=FILE what goes out.
import type { CommandRegistry } from '../lib/command-registry.js';
import type { Datapath } from '../datapath/dpif.js';
import { composeFrame } from '../datapath/flow-compose.js';
import { parseMatch } from '../datapath/odp-syntax.js';
import { getLogger } from '../lib/log.js';
import { PcapWriter } from '../lib/pcap.js';

const log = getLogger('netdev_dummy');

/** Receives the frames the switch sent out of an interface, oldest first. */
export type FrameListener = (frames: Buffer[]) => void;

interface OpenDummy {
  port: number;
  /** Where received (injected) frames are recorded, and where sent ones are: one writer when both are one file. */
  rxPcap?: PcapWriter;
  txPcap?: PcapWriter;
}

export class DummyNetdevs {
  private readonly open = new Map<string, OpenDummy>();
  private readonly listeners = new Map<string, Set<FrameListener>>();

  constructor(private readonly dp: Datapath) {}

  /**
   * Opens interface `name` as a dummy port of the datapath, with the pcap
   * files its options name; returns the port's number. Throws, naming the
   * option, if a pcap file cannot be opened.
   */
  openInterface(name: string, options: Readonly<Record<string, string>>): number {
    const pcaps = openPcaps(options);
    let port: number;
    try {
      port = this.dp.addPort({ type: 'dummy', name }).port;
    } catch (e) {
      closePcaps(pcaps);
      throw e;
    }
    const dummy: OpenDummy = { port, ...pcaps };
    this.open.set(name, dummy);
    this.dp.setTransmitListener(port, (frames) => this.sent(name, dummy, frames));
    return port;
  }

  /** Removes interface `name`'s port from the datapath and closes its pcap files. */
  closeInterface(name: string): void {
    const dummy = this.open.get(name);
    if (!dummy) return;
    this.open.delete(name);
    closePcaps(dummy);
    try {
      this.dp.removePort(dummy.port);
    } catch {
      // the datapath is closed already
    }
  }

  /** Names of the dummy interfaces open now. */
  names(): string[] {
    return [...this.open.keys()].sort();
  }

  /**
   * Frames into dummy interface `name` as if its wire had carried them in;
   * returns how many its queue took (the rest count as its rx_dropped).
   */
  receive(name: string, frames: Buffer[]): number {
    const dummy = this.open.get(name);
    if (!dummy) throw new Error(`no such dummy interface ${name} (${this.listForError()})`);
    const queued = this.dp.injectFrames(dummy.port, frames);
    // After the datapath took them: frames it refuses (not Ethernet) were never received.
    dummy.rxPcap?.write(frames);
    return queued;
  }

  /** Hands what interface `name` sent so far to its listeners now, not at the datapath's next notice. */
  flush(name: string): void {
    const dummy = this.open.get(name);
    if (dummy) this.dp.flushTransmitted(dummy.port);
  }

  /**
   * Calls `listener` with the frames the switch sends out of interface
   * `name`, from now until the returned function is called. The listener
   * stays through the interface being reconfigured, removed and added again.
   */
  listen(name: string, listener: FrameListener): () => void {
    const set = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, set.add(listener));
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(name) === set) this.listeners.delete(name);
    };
  }

  /** Registers netdev-dummy/receive, as OVS's --enable-dummy does. */
  registerCommands(registry: CommandRegistry): void {
    registry.register('netdev-dummy/receive', 'NAME PACKET|FLOW...', 2, Number.MAX_SAFE_INTEGER, ([name, ...packets]) => {
      // Every packet is read before any is injected: a bad one injects none.
      const frames = packets.map((text, i) => parsePacket(text, i + 2));
      try {
        this.receive(name!, frames);
      } catch (e) {
        throw new Error(`netdev-dummy/receive: ${(e as Error).message}`, { cause: e });
      }
      return '';
    });
  }

  private sent(name: string, dummy: OpenDummy, frames: Buffer[]): void {
    dummy.txPcap?.write(frames);
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        listener(frames);
      } catch (e) {
        log.warn(`${name}: a listener failed on the frames it was sent: ${(e as Error).message}`);
      }
    }
  }

  private listForError(): string {
    const names = this.names();
    if (names.length) return `the dummy interfaces are ${names.join(', ')}`;
    return 'there is none: add one with type=dummy to a bridge of a tvs-vswitchd started with --enable-dummy';
  }
}

/** The pcap files options pcap, rxq_pcap and tx_pcap name, opened for appending. */
function openPcaps(options: Readonly<Record<string, string>>): Pick<OpenDummy, 'rxPcap' | 'txPcap'> {
  const open = (option: string, path: string) => {
    try {
      return PcapWriter.open(path);
    } catch (e) {
      throw new Error(`options:${option}: ${(e as Error).message}`, { cause: e });
    }
  };
  if (options.pcap) {
    const both = open('pcap', options.pcap);
    return { rxPcap: both, txPcap: both };
  }
  const rxPcap = options.rxq_pcap ? open('rxq_pcap', options.rxq_pcap) : undefined;
  try {
    const txPcap = options.tx_pcap ? open('tx_pcap', options.tx_pcap) : undefined;
    return { ...(rxPcap ? { rxPcap } : {}), ...(txPcap ? { txPcap } : {}) };
  } catch (e) {
    rxPcap?.close();
    throw e;
  }
}

function closePcaps(p: Pick<OpenDummy, 'rxPcap' | 'txPcap'>): void {
  p.rxPcap?.close();
  if (p.txPcap !== p.rxPcap) p.txPcap?.close();
}

const HEX_FRAME = /^([0-9a-fA-F]{2})+$/;
const ETHERNET_HEADER_LEN = 14;

/**
 * A PACKET argument of netdev-dummy/receive: a frame in hex, or a flow in
 * the datapath syntax composed into the frame it describes (OVS's
 * eth_from_packet_or_flow). `position` is its place on the command line.
 */
function parsePacket(text: string, position: number): Buffer {
  if (HEX_FRAME.test(text)) {
    const frame = Buffer.from(text, 'hex');
    if (frame.length < ETHERNET_HEADER_LEN) {
      throw new Error(`netdev-dummy/receive: argument ${position} is a ${frame.length}-byte frame: a frame starts with a ${ETHERNET_HEADER_LEN}-byte Ethernet header`);
    }
    return frame;
  }
  try {
    return composeFrame(parseMatch(text).key);
  } catch (e) {
    throw new Error(
      `netdev-dummy/receive: bad packet syntax in argument ${position}: ${(e as Error).message}; ` +
        'give a frame in hex, or a flow such as eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64),udp(src=1000,dst=2000)',
      { cause: e },
    );
  }
}
