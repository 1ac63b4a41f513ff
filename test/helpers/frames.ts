// Crafting, sending and capturing raw frames in test namespaces, through
// test/helpers/pkt.py (AF_PACKET from inside the namespace).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from '../../src/lib/netns.js';
import { parseMac } from '../../src/datapath/dpif.js';

const PKT = join(dirname(fileURLToPath(import.meta.url)), 'pkt.py');

/** An EtherType no host stack answers, so test frames are the only traffic counted. */
export const TEST_ETHERTYPE = 0x88b5;

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
  const argv = ['python3', PKT, ...args];
  return ns ? spawn('ip', ['netns', 'exec', ns, ...argv]) : spawn(argv[0], argv.slice(1));
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
    child.on('exit', (code) => reject(new Error(`pkt.py exited (${code}) before "${line}": ${err}`)));
  });
}

export async function sendFrames(host: Host, frame: Buffer, count = 1): Promise<void> {
  await host.exec('python3', [PKT, 'send', host.ifname, frame.toString('hex'), String(count)]);
}

/** Start capturing on the host's interface; `done` resolves to the frames seen (hex) when time is up. */
export async function startCapture(
  host: Host,
  seconds: number,
  ethertype = TEST_ETHERTYPE,
): Promise<{ done: Promise<Buffer[]> }> {
  const child = pkt(host.ns, ['capture', host.ifname, String(seconds), ethertype.toString(16).padStart(4, '0')]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(child, 'ready');
  const done = new Promise<Buffer[]>((resolve) =>
    child.on('exit', () =>
      resolve(
        out
          .split('\n')
          .filter((l) => /^[0-9a-f]+$/.test(l))
          .map((l) => Buffer.from(l, 'hex')),
      ),
    ),
  );
  return { done };
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

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
