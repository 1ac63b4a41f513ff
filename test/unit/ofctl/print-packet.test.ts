// The packet line under a packet-in, judged by Debian's `ovs-ofctl ofp-print`, which prints the
// same line for a packet-in message: odd frames the daemons' differential test does not send.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Match } from '../../../src/ofproto/match.js';
import { formatPacket } from '../../../src/ofctl/print-packet.js';
import { encodeMessage } from '../../../src/openflow/codec/index.js';
import { defaultSession, OFP10 } from '../../../src/openflow/messages.js';

/** The packet line ovs-ofctl prints for `frame` inside a packet-in. */
function ovsPacketLine(frame: Buffer): string {
  const [msg] = encodeMessage(
    { type: 'packet_in', bufferId: 0xffffffff, totalLen: frame.length, reason: 'action', tableId: 0, cookie: 0n, match: Match.catchAll().set('in_port', 1n), data: frame },
    defaultSession(OFP10),
    0,
  );
  return execFileSync('ovs-ofctl', ['ofp-print', msg!.toString('hex')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
}

const hex = (...parts: string[]) => Buffer.from(parts.join('').replace(/\s/g, ''), 'hex');
const ETH = '505400000002 505400000001';

const FRAMES: Record<string, Buffer> = {
  'a frame cut inside its IPv4 header': hex(ETH, '0800', '4500 0054 0000'),
  'an IPv4 header that claims more bytes than the frame has (a packet-in cut by max_len)': hex(ETH, '0800', '4500 0028 0000 4000 4006 0000 0a000001 0a000002', '04d2 0050 00000001'),
  'a TCP header too short to read': hex(ETH, '0800', '4500 001c 0000 4000 4006 0000 0a000001 0a000002', '04d2 0050 00000001'),
  'a UDP datagram padded to the least Ethernet frame': hex(ETH, '0800', '4500 001c 0000 4000 4011 0000 0a000001 0a000002', '04d2 0035 0008 1234', '00'.repeat(18)),
  'two VLAN tags (802.1ad outside 802.1Q)': hex(ETH, '88a8 2005 8100 0064 0806', '0001 0800 06 04 0002', '505400000001 0a000001 505400000002 0a000002'),
  'an 802.3 frame with a SNAP header': hex(ETH, '0026 aaaa03 000000 0800', '4500 0014 0000 0000 4011 0000 0a000001 0a000002'),
  'an 802.3 frame without SNAP': hex(ETH, '0010 4242 03', '00'.repeat(13)),
  'an IPv6 first fragment of UDP behind a hop-by-hop header': hex(
    ETH,
    '86dd 6abc def0 0018 0040',
    'fe800000000000000000000000000001 fe800000000000000000000000000002',
    '2c00 0000 0000 0000',
    '1100 0001 1234 5678',
    '04d2 0035 0008 beef',
  ),
  'an IPv4 protocol OVS does not parse (GRE)': hex(ETH, '0800', '4500 0018 0000 0000 402f 0000 0a000001 0a000002', '0000 0800'),
  'an unknown Ethernet type': hex('ffffffffffff 505400000001 88cc', '00'.repeat(20)),
};

describe('the packet line of a monitor', () => {
  for (const [what, frame] of Object.entries(FRAMES)) {
    it(`prints ${what} as ovs-ofctl does`, () => {
      expect(formatPacket(frame)).toBe(ovsPacketLine(frame));
    });
  }
});
