/**
 * Debian's ovs-ofctl as the judge of our encodings: wrap a body in an OpenFlow header, have
 * `ovs-ofctl ofp-print` decode it, and compare with what `ovs-ofctl parse-flow` makes of the
 * flow text.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFP10, OFP13, OFP15, defaultSession, type Session } from '../../../src/openflow/messages.js';

export const NX_VENDOR_ID = 0x00002320;

/** The protocol variants ovs-ofctl speaks, and the ovs-ofctl options that select each. */
export const PROTOCOLS = {
  of10: { session: { ...defaultSession(OFP10), flowModTableId: true }, wire: 'ofp', args: ['-F', 'openflow10'] },
  nxm: { session: { ...defaultSession(OFP10), flowFormat: 'nxm', flowModTableId: true }, wire: 'nx', args: ['-F', 'nxm'] },
  of13: { session: defaultSession(OFP13), wire: 'ofp', args: ['-O', 'OpenFlow13'] },
  of15: { session: defaultSession(OFP15), wire: 'ofp', args: ['-O', 'OpenFlow15'] },
} as const satisfies Record<string, { session: Session; wire: 'ofp' | 'nx'; args: string[] }>;
export type ProtocolName = keyof typeof PROTOCOLS;

/** A whole message: OpenFlow header (xid 1) and, for a Nicira message, the vendor header. */
export function frame(version: number, type: number, body: Buffer, nxSubtype?: number): Buffer {
  const head = Buffer.alloc(nxSubtype === undefined ? 8 : 16);
  head.writeUInt8(version, 0);
  head.writeUInt8(type, 1);
  head.writeUInt32BE(1, 4);
  if (nxSubtype !== undefined) {
    head.writeUInt32BE(NX_VENDOR_ID, 8);
    head.writeUInt32BE(nxSubtype, 12);
  }
  const msg = Buffer.concat([head, body]);
  msg.writeUInt16BE(msg.length, 2);
  return msg;
}

/** OFPT_VENDOR / OFPT_EXPERIMENTER is 4 in every version. */
export const OFPT_VENDOR = 4;

/** What `ovs-ofctl ofp-print` says about a message, without its "TYPE (xid=...):" prefix. */
export function ofpPrint(msg: Buffer): string {
  const out = execFileSync('ovs-ofctl', ['ofp-print', msg.toString('hex')], { encoding: 'utf8' });
  return stripPrefix(out);
}

function stripPrefix(out: string): string {
  return out.replace(/^[^\n]*?\(xid=0x1\):\s?/, '').trim();
}

/** What `ovs-ofctl parse-flow` makes of a flow for a protocol, as ofp-print prints it. */
export function parseFlowText(flow: string, p: ProtocolName): string {
  const out = execFileSync('ovs-ofctl', [...PROTOCOLS[p].args, 'parse-flow', flow], { encoding: 'utf8', env: { ...process.env } });
  const line = out.split('\n').slice(2).join('\n');
  return stripPrefix(line);
}

/**
 * Runs `ovs-ofctl ARGS unix:SOCKET ...` against a minimal switch that says hello, answers
 * features requests, barriers, echoes and stats requests (with empty replies), and records the
 * stats requests and every other message ovs-ofctl sends: what OVS encodes, byte for byte. `version` is the version the switch offers.
 */
export async function captureOvsOfctl(version: number, args: (target: string) => string[]): Promise<Buffer[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-oracle-'));
  const path = join(dir, 'sw.sock');
  const seen: Buffer[] = [];
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.write(frame(version, 0, Buffer.alloc(0)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
        const len = buf.readUInt16BE(2);
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        const type = msg.readUInt8(1);
        const barrier = version === 1 ? 18 : 20;
        const reply = (t: number, body = Buffer.alloc(0)) => {
          const r = frame(version, t, body);
          msg.copy(r, 4, 4, 8);
          sock.write(r);
        };
        if (type === 0) continue;
        if (type === 2) reply(3, msg.subarray(8));
        else if (type === barrier) reply(barrier + 1);
        else if (type === 5) reply(6, Buffer.from('0000000000000001000000ff' + 'ff000000' + '0000000000000000', 'hex'));
        // ovs-ofctl asks for table features to learn table names; one nameless table will do.
        else if (version > 1 && type === 18 && msg.readUInt16BE(8) === 12) reply(19, Buffer.concat([Buffer.from('000c000000000000', 'hex'), tableFeatures()]));
        else if (type === (version === 1 ? 16 : 18)) {
          seen.push(Buffer.from(msg));
          // An empty reply of the same kind; a Nicira one repeats the vendor and subtype.
          const vendor = version === 1 && msg.readUInt16BE(8) === 0xffff;
          reply(type + 1, vendor ? Buffer.concat([msg.subarray(8, 20), Buffer.alloc(4)]) : Buffer.concat([msg.subarray(8, 10), Buffer.alloc(version === 1 ? 2 : 6)]));
        }
        else seen.push(Buffer.from(msg));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('ovs-ofctl', args(`unix:${path}`), { timeout: 20_000 }, (err, _out, stderr) => {
        if (err) reject(new Error(`ovs-ofctl ${args('unix:SOCKET').join(' ')} failed: ${stderr} (it sent ${seen.map((m) => m.toString('hex')).join(' ')})`));
        else resolve();
      });
    });
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return seen;
}

/** One ofp_table_features entry: table 0, its eight required properties empty. */
function tableFeatures(): Buffer {
  const b = Buffer.alloc(64 + 8 * 8);
  b.writeUInt16BE(b.length, 0);
  b.writeUInt32BE(1000, 60);
  for (let i = 0; i < 8; i++) {
    b.writeUInt16BE(2 * i, 64 + 8 * i);
    b.writeUInt16BE(4, 66 + 8 * i);
  }
  return b;
}
