// Collectors we did not write, for NetFlow and IPFIX tests: Debian's nfcapd
// (nfdump) receiving on loopback, and Wireshark's cflow dissector (tshark)
// decoding datagrams a plain UDP socket received.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lib/netns.js';
import { eventually } from './eventually.js';

/** One of nfcapd's "Flow Record:" blocks (its -E output): field name -> value text. */
export type NfcapdRecord = Record<string, string>;

/** A UDP port nothing listens on now. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Nfcapd {
  port: number;
  /** The records nfcapd decoded so far (printed as they arrive). */
  records(): NfcapdRecord[];
  /** Stops nfcapd (which closes its file) and returns what `nfdump -o csv` reads from it. */
  stop(): Promise<Record<string, string>[]>;
}

/** nfcapd on 127.0.0.1, printing each record it decodes (-E) and storing them in a temp dir. */
export async function startNfcapd(): Promise<Nfcapd> {
  const dir = await mkdtemp(join(tmpdir(), 'tvs-nfcapd-'));
  const port = await freeUdpPort();
  // Line-buffered, so records show as they arrive rather than at exit.
  const proc: ChildProcess = spawn('stdbuf', ['-oL', 'nfcapd', '-E', '-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  await eventually(() => out.includes('Startup nfcapd'), 10_000, `nfcapd to start on port ${port} (it said: ${out})`);
  let stopped: Promise<Record<string, string>[]> | undefined;
  const stop = async () => {
    proc.kill('SIGTERM');
    await exited;
    const files = (await readdir(dir)).filter((f) => /^nfcapd\.\d+$/.test(f));
    const csv = files.length ? await run('nfdump', ['-R', dir, '-o', 'csv']) : '';
    await rm(dir, { recursive: true, force: true });
    return parseCsv(csv);
  };
  return { port, records: () => parseRecords(out), stop: () => (stopped ??= stop()) };
}

function parseRecords(text: string): NfcapdRecord[] {
  return text
    .split(/^Flow Record: *$/m)
    .slice(1)
    .map((block) => {
      const r: NfcapdRecord = {};
      for (const line of block.split('\n')) {
        const m = /^\s+(\S.*?)\s+=\s+(.*)$/.exec(line);
        if (m) r[m[1]!] ??= m[2]!.trim();
      }
      return r;
    });
}

/** nfdump's CSV: a header line, then a row per flow (its summary, after a blank line, is left out). */
function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split('\n');
  const header = lines[0]?.split(',') ?? [];
  const rows = [];
  for (const line of lines.slice(1)) {
    if (!line.trim() || line.startsWith('Summary')) break;
    const cells = line.split(',');
    rows.push(Object.fromEntries(header.map((h, i) => [h, (cells[i] ?? '').trim()])));
  }
  return rows;
}

export interface UdpSink {
  port: number;
  datagrams: Buffer[];
  close(): void;
}

/** A UDP socket on 127.0.0.1 keeping every datagram it receives. */
export async function startUdpSink(): Promise<UdpSink> {
  const s: Socket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  s.on('message', (m) => datagrams.push(m));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return { port: s.address().port, datagrams, close: () => s.close() };
}

/**
 * What tshark's cflow dissector (NetFlow v5/v9, IPFIX) makes of `datagrams` sent to UDP port
 * `port`: a row of `fields` per datagram, each field's values comma-separated.
 */
export async function tsharkDecode(datagrams: readonly Buffer[], port: number, fields: string[]): Promise<string[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'tvs-tshark-'));
  const file = join(dir, 'export.pcap');
  await writeFile(file, pcapOf(datagrams, port));
  try {
    const out = await run('tshark', ['-r', file, '-d', `udp.port==${port},cflow`, '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])]);
    return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A pcap file of the datagrams as Ethernet/IPv4/UDP frames from 127.0.0.1 to 127.0.0.1:`port`. */
function pcapOf(datagrams: readonly Buffer[], port: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const packets = datagrams.map((d, i) => {
    const frame = Buffer.alloc(14 + 20 + 8 + d.length);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(20 + 8 + d.length, 16);
    frame[22] = 64;
    frame[23] = 17;
    frame.writeUInt32BE(0x7f000001, 26);
    frame.writeUInt32BE(0x7f000001, 30);
    frame.writeUInt16BE(40000, 34);
    frame.writeUInt16BE(port, 36);
    frame.writeUInt16BE(8 + d.length, 38);
    d.copy(frame, 42);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([header, ...packets]);
}
