// Port capture: `tvs-appctl capture/start PORT FILE`, `tvs capture PORT`
// and Switch.capture(). The datapath copies the frames a captured port
// receives and sends into its capture ring (native/src/capture.rs); this
// module drains the ring while any capture runs, says in words what the
// switch did with each frame (the megaflow, the OpenFlow rules behind it, the
// output ports or the drop reason) and hands the frames to each capture's
// sink: a pcapng file, a pcapng stream to a unix socket (how `tvs capture`
// gets its frames, so that `-w -` can pipe them on), or an async iterator.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import type { CommandRegistry } from '../lib/command-registry.js';
import { PcapngWriter } from '../lib/pcapng.js';
import { formatDatapathFlow, formatUfid } from '../datapath/dpctl.js';
import { extractKey, type CapturedFrame } from '../datapath/dpif.js';
import type { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import { formatFlow } from '../ofproto/print.js';
import { compileFilter } from './capture-filter.js';

/** How often the capture ring is drained while a capture runs. */
const DRAIN_INTERVAL_MS = 10;
/** Every this many drains, captures of ports that left the datapath are ended. */
const PORT_CHECK_DRAINS = 100;
/** Bytes of each frame kept unless a capture asks otherwise (tcpdump's default). */
const DEFAULT_SNAPLEN = 262144;
/** Bytes a capture stream to a slow reader may have queued before further frames are dropped (and counted as lost). */
const SOCKET_BACKLOG_BYTES = 16 << 20;
/** Frames an async-iterator capture keeps for a reader that falls behind; more are counted as lost. */
const STREAM_BACKLOG = 10000;

export type CaptureDirection = 'in' | 'out' | 'both';

export interface CaptureOptions {
  /** Frames the port receives, sends, or both (the default). */
  direction?: CaptureDirection;
  /** A tcpdump filter expression (`icmp`, `arp or udp port 53`); every frame without one. */
  filter?: string;
  /** Bytes kept of each frame (default 262144, all of any frame). */
  snaplen?: number;
  /** Stop after this many frames. */
  count?: number;
}

/** A captured frame, with what the switch did with it. */
export interface CapturedPacket {
  /** When the datapath saw it (wall clock), in ns since the epoch; `time` is the same as a Date. */
  timeNs: bigint;
  time: Date;
  /** The captured port's name. */
  port: string;
  direction: 'in' | 'out';
  /** Its first `snaplen` bytes, and its length on the wire. */
  frame: Buffer;
  origLen: number;
  /** What the switch did with it, as the pcapng comment says it. */
  verdict: string;
}

/** Where a capture's frames go. */
export interface CaptureSink {
  /** The capture started on this port with this snaplen: called once, before any packet. */
  begin(port: string, snaplen: number): void;
  /** Takes one packet; false if it had to drop it (its reader fell too far behind), which counts as lost. */
  packet(p: CapturedPacket): boolean;
  /** The capture ended (stopped, its count reached, its port gone); no packet follows. */
  end(): void;
  /** Set by the capture: the sink calls it when its reader goes away, to stop the capture. */
  onGone?: () => void;
}

interface Session {
  port: string;
  dpPort: number;
  direction: CaptureDirection;
  snaplen: number;
  filter: string | undefined;
  count: number | undefined;
  captured: number;
  lost: number;
  target: string;
  sink: CaptureSink;
}

export class Captures {
  private readonly sessions = new Map<number, Session>();
  private timer: NodeJS.Timeout | undefined;
  private drains = 0;

  constructor(private readonly of: OfprotoDpif) {}

  /**
   * Starts capturing the datapath port named `port` into `sink`. Rejects,
   * naming the port and the fix, for a port that is not there or already
   * captured, and with tcpdump's message for a bad filter.
   */
  async start(port: string, opts: CaptureOptions, sink: CaptureSink, target = 'api'): Promise<void> {
    const dp = this.of.datapath.ports().find((p) => p.name === port);
    if (!dp) {
      throw new Error(`no port "${port}" in the datapath to capture (tvs-dpctl show lists them; a tunnel is captured on its vport, e.g. vxlan_sys_4789)`);
    }
    if (this.sessions.has(dp.port)) throw new Error(`port "${port}" is already being captured (tvs-appctl capture/stop ${port} ends that capture)`);
    const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > DEFAULT_SNAPLEN) throw new Error(`capture of "${port}": snaplen ${snaplen} is not 1 to ${DEFAULT_SNAPLEN}`);
    if (opts.count !== undefined && (!Number.isInteger(opts.count) || opts.count < 1)) throw new Error(`capture of "${port}": count ${opts.count} is not a positive number`);
    const direction = opts.direction ?? 'both';
    const filter = opts.filter?.trim() ? await compileFilter(opts.filter.trim()) : undefined;
    const s: Session = { port, dpPort: dp.port, direction, snaplen, filter: filter && opts.filter?.trim(), count: opts.count, captured: 0, lost: 0, target, sink };
    this.sessions.set(dp.port, s);
    sink.begin(port, snaplen);
    sink.onGone = () => this.end(s);
    const dirs = new Set<'in' | 'out'>(direction === 'both' ? ['in', 'out'] : [direction]);
    this.of.datapath.setCapture(dp.port, dirs, snaplen, filter);
    this.timer ??= setInterval(() => this.drain(), DRAIN_INTERVAL_MS).unref();
  }

  /** Stops the capture of `port`: false if there was none. */
  stop(port: string): boolean {
    const s = [...this.sessions.values()].find((x) => x.port === port);
    if (!s) return false;
    this.end(s);
    return true;
  }

  /** Ends every capture (the daemon is stopping). */
  stopAll(): void {
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  /** `capture/show`: one line a capture. */
  show(): string {
    if (this.sessions.size === 0) return 'no captures\n';
    return [...this.sessions.values()]
      .map((s) => `${s.port}: direction=${s.direction} snaplen=${s.snaplen}${s.filter ? ` filter="${s.filter}"` : ''} captured=${s.captured}${s.count ? `/${s.count}` : ''} lost=${s.lost} to ${s.target}\n`)
      .join('');
  }

  /** Ends capture `s`, first handing it the frames already in the ring unless the caller is draining them. */
  private end(s: Session, drainFirst = true): void {
    if (this.sessions.get(s.dpPort) !== s) return;
    if (drainFirst) this.drain();
    this.sessions.delete(s.dpPort);
    if (!this.of.datapath.closed && this.of.datapath.ports().some((p) => p.port === s.dpPort)) {
      this.of.datapath.setCapture(s.dpPort, new Set(), 0);
    }
    if (this.sessions.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    s.sink.end();
  }

  private drain(): void {
    if (this.of.datapath.closed) return;
    if (++this.drains % PORT_CHECK_DRAINS === 0) {
      const live = new Set(this.of.datapath.ports().map((p) => p.port));
      for (const s of [...this.sessions.values()]) if (!live.has(s.dpPort)) this.end(s, false);
    }
    const { frames, lost } = this.of.datapath.drainCaptures();
    // A full ring loses frames of whichever ports were captured; each capture is told.
    if (lost) for (const s of this.sessions.values()) s.lost += lost;
    if (frames.length === 0) return;
    const names = new Map(this.of.datapath.ports().map((p) => [p.port, p.name]));
    // Frames of one flow share its description: made once a drain, not once a frame.
    const flows = new Map<bigint, string[]>();
    for (const f of frames) {
      const s = this.sessions.get(f.port);
      if (!s || (s.count !== undefined && s.captured >= s.count)) continue;
      s.captured++;
      const timeNs = f.timeNs;
      const taken = s.sink.packet({
        timeNs,
        time: new Date(Number(timeNs / 1_000_000n)),
        port: s.port,
        direction: f.direction,
        frame: f.frame,
        origLen: f.origLen,
        verdict: this.verdict(f, names, flows),
      });
      if (!taken) s.lost++;
      if (s.count !== undefined && s.captured >= s.count) this.end(s, false);
    }
  }

  /** What the switch did with a captured frame, in words (the pcapng comment). */
  private verdict(f: CapturedFrame, names: ReadonlyMap<number, string>, flows: Map<bigint, string[]>): string {
    const port = (n: number) => `${names.get(n) ?? '(gone)'} (dp port ${n})`;
    const parts = [f.direction === 'in' ? `in: ${port(f.port)}` : `out: ${port(f.port)}; from: ${port(f.inPort)}`];
    let flowId = f.flowId;
    switch (f.outcome) {
      case 'upcall':
        parts.push('dp flow: miss, sent to the slow path');
        flowId = this.of.installedFlowFor(keyOf(f, f.inPort));
        break;
      case 'upcallLost':
        parts.push('dp flow: miss', 'drop: upcall-lost (the slow path\'s queue was full; see "lost" in tvs-dpctl show)');
        return parts.join('; ');
      case 'sent':
      case 'txDropped':
        // The frame as sent may differ from what the flow matched (a VLAN pushed, a field set): then no flow is named.
        flowId = this.of.installedFlowFor(keyOf(f, f.inPort));
        break;
      case 'flow':
        break;
    }
    if (flowId !== undefined) {
      let described = flows.get(flowId);
      if (!described) flows.set(flowId, (described = this.describeFlow(flowId)));
      parts.push(...described.map((d, i) => (i === 0 && f.outcome === 'upcall' ? `installed ${d}` : d)));
    }
    if (f.outcome === 'flow') {
      if (f.outputs.length) parts.push(`out: ${f.outputs.map((p) => (names.has(p) ? names.get(p)! : `dp port ${p} (gone: port-down)`)).join(', ')}`);
      else parts.push('drop: flow-drop (the flow\'s actions send it nowhere)');
    }
    if (f.outcome === 'txDropped') parts.push(`drop: tx-full (${port(f.port)} had no room to send it)`);
    return parts.join('; ');
  }

  /** `dp flow ufid:...: <key and actions>` and an `of:` part per OpenFlow rule behind it. */
  private describeFlow(id: bigint): string[] {
    let text: string;
    try {
      text = formatDatapathFlow(this.of.datapath.getFlow(id), { stats: false });
    } catch {
      return [`dp flow ufid:${formatUfid(id)} (since removed)`];
    }
    const out = [`dp flow ufid:${formatUfid(id)}: ${text}`];
    const origin = this.of.flowOrigin(id);
    if (origin) for (const r of origin.rules) out.push(`of: bridge ${origin.bridge}, ${formatFlow(r)}`);
    return out;
  }

  /** `capture/start`, `capture/stop` and `capture/show` for tvs-appctl. */
  registerCommands(registry: CommandRegistry): void {
    registry.register('capture/start', 'PORT FILE|unix:SOCKET [-i in|out|both] [-c COUNT] [--snaplen N] [FILTER...]', 2, 64, async ([port = '', target = '', ...rest]) => {
      const opts = parseCaptureArgs(rest);
      const sink = target.startsWith('unix:') ? await pcapngSocketSink(target.slice('unix:'.length)) : pcapngFileSink(target);
      try {
        await this.start(port, opts, sink, target);
      } catch (e) {
        sink.end();
        throw e;
      }
      return `capturing ${port} (${opts.direction ?? 'both'}) to ${target}`;
    });
    registry.register('capture/stop', '[PORT]', 0, 1, ([port]) => {
      if (port === undefined) {
        const n = this.sessions.size;
        this.stopAll();
        return `stopped ${n} capture${n === 1 ? '' : 's'}`;
      }
      if (!this.stop(port)) throw new Error(`port "${port}" is not being captured (capture/show lists the captures)`);
      return `stopped the capture of ${port}`;
    });
    registry.register('capture/show', '', 0, 0, () => this.show());
  }
}

/** The flow key of a captured frame as if received on `inPort`. */
function keyOf(f: CapturedFrame, inPort: number): Buffer {
  return extractKey(f.frame, inPort);
}

/** `[-i in|out|both] [-c COUNT] [--snaplen N] [FILTER...]`, as tcpdump spells them. */
function parseCaptureArgs(args: readonly string[]): CaptureOptions {
  const opts: CaptureOptions = {};
  const filter: string[] = [];
  const number = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !/^\d+$/.test(v) || n < 1) throw new Error(`${flag} needs a positive number, not "${v ?? ''}"`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-i' || a === '--direction' || a === '-Q') {
      const d = args[++i];
      if (d !== 'in' && d !== 'out' && d !== 'both') throw new Error(`${a} takes in, out or both, not "${d ?? ''}"`);
      opts.direction = d;
    } else if (a === '-c' || a === '--count') {
      opts.count = number(a, args[++i]);
    } else if (a === '-s' || a === '--snaplen') {
      opts.snaplen = number(a, args[++i]);
    } else {
      filter.push(a);
    }
  }
  if (filter.length) opts.filter = filter.join(' ');
  return opts;
}

/**
 * A sink writing a pcapng stream through `write` (false: a block it could not take): one
 * interface, the captured port; the comment is the verdict.
 */
function pcapngSink(write: (b: Buffer) => boolean, close: () => void): CaptureSink {
  let writer: PcapngWriter | undefined;
  return {
    begin(port, snaplen) {
      writer = new PcapngWriter(write);
      writer.addInterface(port, snaplen);
    },
    packet(p) {
      return writer?.writePacket(0, { timeNs: p.timeNs, frame: p.frame, origLen: p.origLen, direction: p.direction, comment: p.verdict }) ?? false;
    },
    end: close,
  };
}

/** A pcapng file, created (or emptied) at once so that a path that cannot be written is refused before capture starts. */
function pcapngFileSink(path: string): CaptureSink {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new Error(`cannot write the capture file ${path}: ${(e as Error).message} (give a path the switch can write to)`, { cause: e });
  }
  return pcapngSink(
    (b) => {
      if (fd !== undefined) writeSync(fd, b);
      return true;
    },
    () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  );
}

/** A pcapng stream to a unix socket that a reader (`tvs capture`) listens on; the capture stops when it goes away. */
function pcapngSocketSink(path: string): Promise<CaptureSink> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createConnection(path);
    sock.once('error', (e) => reject(new Error(`cannot connect to the capture reader at ${path}: ${e.message}`)));
    sock.once('connect', () => {
      // A reader slower than the capture (a busy Wireshark) costs frames, not the daemon's memory.
      const sink = pcapngSink(
        (b) => sock.writableLength < SOCKET_BACKLOG_BYTES && (sock.write(b), true),
        () => sock.end(),
      );
      sock.removeAllListeners('error');
      sock.on('error', () => sock.destroy());
      sock.on('close', () => sink.onGone?.());
      resolve(sink);
    });
  });
}

/** Captured packets as an async iterable (Switch.capture), until close() or the capture ends. */
export class CaptureStream implements AsyncIterable<CapturedPacket>, CaptureSink {
  private readonly queue: CapturedPacket[] = [];
  private waiting: ((r: IteratorResult<CapturedPacket>) => void) | undefined;
  private ended = false;
  onGone?: () => void;

  begin(): void {}

  packet(p: CapturedPacket): boolean {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: p, done: false });
      return true;
    }
    if (this.queue.length >= STREAM_BACKLOG) return false;
    this.queue.push(p);
    return true;
  }

  end(): void {
    this.ended = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.({ value: undefined, done: true });
  }

  /** Stops the capture; packets already queued are still read. */
  close(): void {
    if (this.onGone) this.onGone();
    else this.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<CapturedPacket> {
    return {
      next: () => {
        const p = this.queue.shift();
        if (p) return Promise.resolve({ value: p, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
