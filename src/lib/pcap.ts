// Capture files in the classic pcap format, the one `tcpdump -w` writes and
// `tcpdump -r`, `tshark -r` and Wireshark read: a 24-byte file header, then
// for each frame a 16-byte record header (time, lengths) and its bytes.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const SNAPLEN = 65535;
const LINKTYPE_ETHERNET = 1;

/** Appends Ethernet frames to a pcap file. */
export class PcapWriter {
  private fd: number | undefined;

  private constructor(
    fd: number,
    readonly path: string,
    /** The byte order of the file's header, which its records follow. */
    private readonly littleEndian: boolean,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `path` to append frames to it, creating it if need be: a new or
   * empty file gets the file header first; an existing capture keeps its
   * frames (OVS opens its pcap options the same way). Throws, naming the
   * file, if it cannot be opened or holds something other than an Ethernet
   * capture in this format.
   */
  static open(path: string): PcapWriter {
    let fd: number;
    try {
      fd = openSync(path, 'a+');
    } catch (e) {
      throw new Error(`cannot open pcap file ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      if (fstatSync(fd).size === 0) {
        const h = Buffer.alloc(HEADER_LEN);
        h.writeUInt32LE(MAGIC_MICROSECONDS, 0);
        h.writeUInt16LE(2, 4); // version 2.4
        h.writeUInt16LE(4, 6);
        h.writeUInt32LE(SNAPLEN, 16);
        h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
        writeSync(fd, h);
        return new PcapWriter(fd, path, true);
      }
      const h = Buffer.alloc(HEADER_LEN);
      const got = readSync(fd, h, 0, HEADER_LEN, 0);
      const littleEndian = h.readUInt32LE(0) === MAGIC_MICROSECONDS;
      if (got < HEADER_LEN || (!littleEndian && h.readUInt32BE(0) !== MAGIC_MICROSECONDS)) {
        throw new Error(`${path} is not a pcap file (with microsecond times): refusing to append frames to it`);
      }
      const linktype = littleEndian ? h.readUInt32LE(20) : h.readUInt32BE(20);
      if (linktype !== LINKTYPE_ETHERNET) throw new Error(`${path} is a pcap capture of link type ${linktype}, not Ethernet: refusing to append frames to it`);
      return new PcapWriter(fd, path, littleEndian);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Appends `frames`, stamped with the time `whenMs` (milliseconds since the epoch, now by default). */
  write(frames: readonly Buffer[], whenMs = Date.now()): void {
    if (this.fd === undefined) throw new Error(`pcap file ${this.path} is closed`);
    if (frames.length === 0) return;
    const seconds = Math.floor(whenMs / 1000);
    const micros = Math.floor((whenMs % 1000) * 1000);
    const records: Buffer[] = [];
    for (const frame of frames) {
      const r = Buffer.alloc(RECORD_HEADER_LEN);
      const caplen = Math.min(frame.length, SNAPLEN);
      const put = (v: number, at: number) => (this.littleEndian ? r.writeUInt32LE(v, at) : r.writeUInt32BE(v, at));
      put(seconds, 0);
      put(micros, 4);
      put(caplen, 8);
      put(frame.length, 12);
      records.push(r, frame.subarray(0, caplen));
    }
    writeSync(this.fd, Buffer.concat(records));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
