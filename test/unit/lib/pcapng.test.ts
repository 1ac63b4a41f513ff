// pcapng files as tcpdump and tshark read them: what PcapngWriter writes must
// be the frames, byte for byte, with each interface's name, each packet's
// direction, comment and nanosecond time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PcapngWriter } from '../../../src/lib/pcapng.js';
import { buildFrame } from '../../helpers/frames.js';
import { tcpdumpFrames } from '../../helpers/tcpdump.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tvs-t-pcapng-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// Odd lengths, so that the padding of data and options is exercised.
const frame = (n: number) => buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: `02:00:00:00:00:0${n}`, payload: Buffer.alloc(45 + n, n) });

function write(path: string): void {
  const chunks: Buffer[] = [];
  const w = new PcapngWriter((b) => chunks.push(b) > 0);
  const vm1 = w.addInterface('vm1', 262144);
  // libpcap (tcpdump) refuses a file whose interfaces differ in snaplen.
  const vm2 = w.addInterface('vm2', 262144);
  w.writePacket(vm1, { timeNs: 1_700_000_000_123_456_789n, frame: frame(1), origLen: frame(1).length, direction: 'in', comment: 'in: vm1; out: vm2' });
  w.writePacket(vm2, { timeNs: 1_700_000_000_223_456_789n, frame: frame(2).subarray(0, 40), origLen: frame(2).length, direction: 'out', comment: 'drop: flow-drop (é)' });
  w.writePacket(vm1, { timeNs: 1_700_000_001_000_000_000n, frame: frame(3), origLen: frame(3).length });
  writeFileSync(path, Buffer.concat(chunks));
}

describe('PcapngWriter', () => {
  it('writes frames that tcpdump -r reads back byte for byte, cut to what was captured', () => {
    const path = join(dir, 'a.pcapng');
    write(path);
    expect(tcpdumpFrames(path)).toEqual([frame(1), frame(2).subarray(0, 40), frame(3)]);
  });

  it('gives tshark each frame interface name, direction, comment, lengths and nanosecond time', () => {
    const path = join(dir, 'a.pcapng');
    write(path);
    const fields = ['frame.interface_name', 'frame.packet_flags_direction', 'frame.comment', 'frame.cap_len', 'frame.len', 'frame.time_epoch'];
    const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.trim().split('\n').map((l) => l.split('|'))).toEqual([
      ['vm1', '0x00000001', 'in: vm1; out: vm2', String(frame(1).length), String(frame(1).length), '1700000000.123456789'],
      ['vm2', '0x00000002', 'drop: flow-drop (é)', '40', String(frame(2).length), '1700000000.223456789'],
      ['vm1', '', '', String(frame(3).length), String(frame(3).length), '1700000001.000000000'],
    ]);
  });
});
