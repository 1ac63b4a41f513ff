/**
 * Bounds-checked reading and growable writing of OpenFlow's big-endian structures.
 *
 * A read past the end of a message throws `OfDecodeError` with the OVS error name a peer gets
 * back (`OFPBRC_BAD_LEN` by default), so a truncated or lying message is answered, never crashes.
 */

/** A message that cannot be decoded; `name` is the OpenFlow error to answer it with. */
export class OfDecodeError extends Error {
  constructor(
    override readonly name: string,
    detail: string,
  ) {
    super(`${name}: ${detail}`);
  }
}

/** A message this codec cannot express in the session's version (a caller's mistake, not the peer's). */
export class OfEncodeError extends Error {
  override readonly name = 'OfEncodeError';
}

export class OfReader {
  private pos = 0;

  constructor(readonly buf: Buffer) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new OfDecodeError('OFPBRC_BAD_LEN', `${what} needs ${n} bytes at offset ${this.pos}, message has ${this.buf.length}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'field'): number {
    return this.buf.readUInt8(this.need(1, what));
  }

  u16(what = 'field'): number {
    return this.buf.readUInt16BE(this.need(2, what));
  }

  u32(what = 'field'): number {
    return this.buf.readUInt32BE(this.need(4, what));
  }

  u64(what = 'field'): bigint {
    return this.buf.readBigUInt64BE(this.need(8, what));
  }

  /** `n` bytes as a view (copy it to keep it beyond the message). */
  bytes(n: number, what = 'field'): Buffer {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }

  skip(n: number, what = 'padding'): void {
    this.need(n, what);
  }

  /** A NUL-padded string of `n` bytes. */
  str(n: number, what = 'string'): string {
    const b = this.bytes(n, what);
    const end = b.indexOf(0);
    return b.subarray(0, end < 0 ? n : end).toString('latin1');
  }

  /** A reader over the next `n` bytes, which this reader skips. */
  sub(n: number, what = 'structure'): OfReader {
    return new OfReader(this.bytes(n, what));
  }
}

export class OfWriter {
  private buf = Buffer.alloc(256);
  private len = 0;

  get length(): number {
    return this.len;
  }

  /** Reserves `n` bytes and returns where they start; it may replace `this.buf`, so read it only after. */
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.buf.writeUInt8(v, at);
    return this;
  }

  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }

  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }

  u64(v: bigint): this {
    const at = this.room(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), at);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    return this;
  }

  /** `s` NUL-padded (and truncated) to `n` bytes, always NUL-terminated. */
  str(s: string, n: number): this {
    const at = this.room(n);
    this.buf.write(s.slice(0, n - 1), at, 'latin1');
    return this;
  }

  /** Pads with zeros up to a multiple of `align` bytes (from the start of this writer). */
  pad(align: number): this {
    return this.zeros((align - (this.len % align)) % align);
  }

  /** Overwrites a 16-bit value already written (a length field filled in afterwards). */
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
