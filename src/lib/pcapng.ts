// Capture files in the pcapng format (the one Wireshark and `tshark -w`
// write, and `tcpdump -r`, `tshark -r` and Wireshark read): a Section Header
// Block, an Interface Description Block per captured interface (with its
// name), and an Enhanced Packet Block per frame, which may carry a comment
// and the frame's direction. Little-endian, nanosecond timestamps.
// (src/lib/pcap.ts writes the older pcap format, which has neither.)

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
/** epb_flags bits 0-1: the frame's direction on its interface. */
const EPB_INBOUND = 1;
const EPB_OUTBOUND = 2;

/** One block option: code, length, value padded to 4 bytes. */
function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** A block: type, total length, body (options included), total length again. */
function block(type: number, body: Buffer[]): Buffer {
  const len = 12 + body.reduce((n, b) => n + b.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(len, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(len, 0);
  return Buffer.concat([head, ...body, tail], len);
}

function options(opts: Buffer[]): Buffer[] {
  return opts.length ? [...opts, option(OPT_END, Buffer.alloc(0))] : [];
}

/** Writes a pcapng stream through `write`: a section header first, then interfaces and packets. */
export class PcapngWriter {
  private interfaces = 0;

  /** `write` takes whole blocks; it may refuse a packet's block (false), which writePacket passes on. */
  constructor(private readonly write: (bytes: Buffer) => boolean, application = 'tvs') {
    const fixed = Buffer.alloc(16);
    fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
    fixed.writeUInt16LE(1, 4); // version 1.0
    fixed.writeUInt16LE(0, 6);
    fixed.writeBigInt64LE(-1n, 8); // section length not given
    write(block(SHB, [fixed, ...options([option(SHB_USERAPPL, Buffer.from(application))])]));
  }

  /**
   * Describes an Ethernet interface named `name`; returns its id for writePacket.
   * (libpcap, and so tcpdump, reads only files whose interfaces share one snaplen.)
   */
  addInterface(name: string, snaplen: number): number {
    const fixed = Buffer.alloc(8);
    fixed.writeUInt16LE(LINKTYPE_ETHERNET, 0);
    fixed.writeUInt32LE(snaplen, 4);
    const nanoseconds = Buffer.from([9]);
    this.write(block(IDB, [fixed, ...options([option(IF_NAME, Buffer.from(name)), option(IF_TSRESOL, nanoseconds)])]));
    return this.interfaces++;
  }

  /** One frame seen on interface `iface` at `timeNs` (ns since the epoch), `origLen` long on the wire. */
  writePacket(iface: number, p: { timeNs: bigint; frame: Buffer; origLen: number; direction?: 'in' | 'out'; comment?: string }): boolean {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(iface, 0);
    fixed.writeUInt32LE(Number(p.timeNs >> 32n), 4);
    fixed.writeUInt32LE(Number(p.timeNs & 0xffffffffn), 8);
    fixed.writeUInt32LE(p.frame.length, 12);
    fixed.writeUInt32LE(p.origLen, 16);
    const data = Buffer.alloc(pad4(p.frame.length));
    p.frame.copy(data);
    const opts: Buffer[] = [];
    if (p.comment !== undefined) opts.push(option(OPT_COMMENT, Buffer.from(p.comment)));
    if (p.direction) {
      const flags = Buffer.alloc(4);
      flags.writeUInt32LE(p.direction === 'in' ? EPB_INBOUND : EPB_OUTBOUND, 0);
      opts.push(option(EPB_FLAGS, flags));
    }
    return this.write(block(EPB, [fixed, data, ...options(opts)]));
  }
}
