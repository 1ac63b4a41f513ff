// pcap files as tcpdump reads them: what PcapWriter writes must be the
// frames, byte for byte, in a file tcpdump -r accepts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PcapWriter } from '../../../src/lib/pcap.js';
import { buildFrame } from '../../helpers/frames.js';
import { tcpdumpFrames } from '../../helpers/tcpdump.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tvs-t-pcap-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const frame = (n: number) => buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: `02:00:00:00:00:0${n}`, payload: Buffer.alloc(46, n) });

describe('PcapWriter', () => {
  it('writes frames that tcpdump -r reads back byte for byte', () => {
    const path = join(dir, 'a.pcap');
    const w = PcapWriter.open(path);
    w.write([frame(1), frame(2)]);
    w.write([frame(3)]);
    w.close();
    expect(tcpdumpFrames(path)).toEqual([frame(1), frame(2), frame(3)]);
  });

  it('appends to an existing capture, keeping its frames', () => {
    const path = join(dir, 'a.pcap');
    const first = PcapWriter.open(path);
    first.write([frame(1)]);
    first.close();
    const again = PcapWriter.open(path);
    again.write([frame(2)]);
    again.close();
    expect(tcpdumpFrames(path)).toEqual([frame(1), frame(2)]);
  });

  it('appends in the byte order of a big-endian capture it did not write', () => {
    const path = join(dir, 'be.pcap');
    const header = Buffer.alloc(24);
    header.writeUInt32BE(0xa1b2c3d4, 0);
    header.writeUInt16BE(2, 4);
    header.writeUInt16BE(4, 6);
    header.writeUInt32BE(65535, 16);
    header.writeUInt32BE(1, 20);
    writeFileSync(path, header);
    const w = PcapWriter.open(path);
    w.write([frame(4)]);
    w.close();
    expect(tcpdumpFrames(path)).toEqual([frame(4)]);
  });

  it('refuses to append to a file that is not an Ethernet capture, naming it, and leaves it alone', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'my notes, not a capture\n');
    expect(() => PcapWriter.open(path)).toThrow(`${path} is not a pcap file (with microsecond times): refusing to append frames to it`);
    expect(readFileSync(path, 'utf8')).toBe('my notes, not a capture\n');
  });

  it('names the file it cannot open', () => {
    const path = join(dir, 'no-such-dir', 'a.pcap');
    expect(() => PcapWriter.open(path)).toThrow(`cannot open pcap file ${path}: ENOENT`);
  });
});
