// Crafting, sending and capturing raw frames in test namespaces, through
// test/helpers/pkt.py (AF_PACKET from inside the namespace).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from '../../src/lib/netns.js';
import { parseMac } from '../../src/lib/addr.js';

const PKT = join(dirname(fileURLToPath(import.meta.url)), 'pkt.py');

/** An EtherType no host stack answers, so test frames are the only traffic counted. */
const TEST_ETHERTYPE = 0x88b5;

export interface FrameSpec {
  dst: string;
  src: string;
  vlan?: { tpid?: number; vid: number; pcp?: number };
  ethertype?: number;
  payload?: Buffer;
}

export function buildFrame(spec: FrameSpec): Buffer {
  const parts = [parseMac(spec.dst), parseMac(spec.src)];
  if (spec.vlan) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(spec.vlan.tpid ?? 0x8100, 0);
    tag.writeUInt16BE(((spec.vlan.pcp ?? 0) << 13) | spec.vlan.vid, 2);
    parts.push(tag);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(spec.ethertype ?? TEST_ETHERTYPE, 0);
  parts.push(type, spec.payload ?? Buffer.alloc(46, 0xab));
  return Buffer.concat(parts);
}

function pkt(ns: string | undefined, args: string[]): ChildProcessWithoutNullStreams {
  const child = ns ? spawn('ip', ['netns', 'exec', ns, 'python3', PKT, ...args]) : spawn('python3', [PKT, ...args]);
  // Input to a tool that has exited is dropped; its exit is reported where it matters.
  child.stdin.on('error', () => undefined);
  return child;
}

function waitFor(child: ChildProcessWithoutNullStreams, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(line)) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => reject(new Error(`pkt.py exited (${String(code ?? signal)}) before "${line}": ${err}`)));
  });
}

/** One's-complement sum of 16-bit words (RFC 1071). */
function csum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export interface UdpSpec {
  dst: string;
  src: string;
  ipSrc: string;
  ipDst: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  tos?: number;
  payload?: Buffer;
}

/** A UDP/IPv4 frame with valid IPv4 and UDP checksums. */
export function udpFrame(spec: UdpSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(18, 0x5a);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = spec.tos ?? 0;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip[8] = spec.ttl ?? 64;
  ip[9] = 17;
  Buffer.from(spec.ipSrc.split('.').map(Number)).copy(ip, 12);
  Buffer.from(spec.ipDst.split('.').map(Number)).copy(ip, 16);
  ip.writeUInt16BE(~csum(ip) & 0xffff, 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(spec.sport ?? 1000, 0);
  udp.writeUInt16BE(spec.dport ?? 2000, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), udp.subarray(4, 6)]);
  const sum = ~csum(Buffer.concat([udp, payload]), csum(pseudo)) & 0xffff;
  udp.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return Buffer.concat([buildFrame({ dst: spec.dst, src: spec.src, ethertype: 0x0800, payload: Buffer.alloc(0) }), ip, udp, payload]);
}

/** Whether the IPv4 header and UDP checksums of an untagged UDP/IPv4 frame verify. */
export function checksumsValid(frame: Buffer): { ip: boolean; udp: boolean } {
  const ip = frame.subarray(14, 34);
  const len = frame.readUInt16BE(16) - 20;
  const udp = frame.subarray(34, 34 + len);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), udp.subarray(4, 6)]);
  return { ip: csum(ip) === 0xffff, udp: udp.readUInt16BE(6) === 0 || csum(udp, csum(pseudo)) === 0xffff };
}

export async function sendFlows(host: Host, frame: Buffer, count: number): Promise<void> {
  await host.exec('python3', [PKT, 'flows', host.ifname, frame.toString('hex'), String(count)], { timeoutMs: 60_000 });
}

/** Sends the frame (or the frames, in order) from the host's interface; the whole sequence `count` times. */
export async function sendFrames(host: Host, frames: Buffer | Buffer[], count = 1): Promise<void> {
  const hex = (Array.isArray(frames) ? frames : [frames]).map((f) => f.toString('hex'));
  await host.exec('python3', [PKT, 'send', host.ifname, String(count), ...hex]);
}

/** How long a capture waits for what a test expects before it gives up and lets the test assert. */
const CAPTURE_DEADLINE_MS = 10_000;

const MARKER = Buffer.from('TVS-TEST-MARKER');

/**
 * A payload that marks a frame as the end of a test's traffic. Sent after
 * that traffic through the same path, its arrival shows that everything
 * before it has arrived, or never will: the positive event a test waits
 * for before asserting that some frame did not arrive.
 */
export function markerPayload(size = 46): Buffer {
  const p = Buffer.alloc(Math.max(size, MARKER.length), 0);
  MARKER.copy(p);
  return p;
}

function isMarker(frame: Buffer): boolean {
  return frame.includes(MARKER);
}

/** A running capture on one host's interface. */
export interface Capture {
  /**
   * Waits until `count` frames have arrived (or `enough(frames)` holds), or
   * the deadline passes, then stops the capture and resolves to the frames
   * in order of arrival: the test asserts on them either way.
   */
  until(enough: number | ((frames: Buffer[]) => boolean), timeoutMs?: number): Promise<Buffer[]>;
  /**
   * Waits for a marker frame (see markerPayload), stops the capture and
   * resolves to the frames that arrived before it; throws if no marker comes.
   */
  untilMarker(timeoutMs?: number): Promise<Buffer[]>;
}

/**
 * Starts capturing on the host's interface (only frames of `ethertype`),
 * resolving once the capture socket is bound: every frame that reaches the
 * interface from then on is seen.
 */
export async function startCapture(host: Host, ethertype = TEST_ETHERTYPE): Promise<Capture> {
  const child = pkt(host.ns, ['capture', host.ifname, ethertype.toString(16).padStart(4, '0')]);
  const frames: Buffer[] = [];
  const onChange: (() => void)[] = [];
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (/^[0-9a-f]+$/.test(l)) frames.push(Buffer.from(l, 'hex'));
    for (const f of onChange.splice(0)) f();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(child, 'ready');
  const stop = async (): Promise<Buffer[]> => {
    // End of input ends the capture; a stuck one is killed.
    child.stdin.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    return frames;
  };
  const until = (enough: number | ((frames: Buffer[]) => boolean), timeoutMs = CAPTURE_DEADLINE_MS): Promise<Buffer[]> => {
    const done = typeof enough === 'number' ? () => frames.length >= enough : () => enough(frames);
    return new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(deadline);
          resolve();
        } else onChange.push(check);
      };
      check();
    }).then(stop);
  };
  return {
    until,
    async untilMarker(timeoutMs = CAPTURE_DEADLINE_MS) {
      const got = await until((fs) => fs.some(isMarker), timeoutMs);
      const at = got.findIndex(isMarker);
      if (at < 0) throw new Error(`no marker frame arrived within ${timeoutMs} ms (captured ${got.length} other frames)`);
      return got.slice(0, at);
    },
  };
}

/** A process that holds a tap open the way QEMU does and exchanges raw frames through it. */
export interface TapVm {
  received: Buffer[];
  send(frame: Buffer): void;
  stop(): Promise<void>;
}

export async function startTapVm(tapName: string): Promise<TapVm> {
  const child = pkt(undefined, ['tapvm', tapName]);
  const received: Buffer[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('rx ')) received.push(Buffer.from(l.slice(3), 'hex'));
  });
  await waitFor(child, 'ready');
  return {
    received,
    send: (frame) => child.stdin.write(frame.toString('hex') + '\n'),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.stdin.end();
        child.kill();
      }),
  };
}
