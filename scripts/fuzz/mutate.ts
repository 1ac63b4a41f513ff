// Seeded mutations of valid inputs, the way coverage-blind fuzzers (zzuf, radamsa) make most of
// their finds: flip bits, overwrite bytes with boundary values, cut, grow, repeat a slice, splice
// two inputs together. A seed makes every input reproducible from the run's report.

/** xorshift32 from `seed` (0 is taken as 1, on which xorshift would stay): numbers in [0, 1). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Values at the edges of the integer types a length or count field uses. */
const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

export class Mutator {
  constructor(private readonly rand: () => number) {}

  int(below: number): number {
    return Math.floor(this.rand() * below);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('nothing to pick from');
    return items[this.int(items.length)]!;
  }

  /** One to four edits of `input`; the bytes before `keep` (a header the target frames by) are left alone half the time. */
  bytes(input: Buffer, others: readonly Buffer[], keep = 0): Buffer {
    let buf = Buffer.from(input);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const from = this.rand() < 0.5 ? Math.min(keep, buf.length) : 0;
      const at = from + this.int(Math.max(1, buf.length - from));
      switch (this.int(7)) {
        case 0:
          if (at < buf.length) buf[at] = buf[at]! ^ (1 << this.int(8));
          break;
        case 1:
          if (at < buf.length) buf[at] = this.pick(BOUNDARY_BYTES);
          break;
        case 2:
          if (at + 1 < buf.length) buf.writeUInt16BE(this.pick([0, 1, 0x7fff, 0x8000, 0xffff, buf.length & 0xffff, (buf.length + 1) & 0xffff]), at);
          break;
        case 3:
          buf = buf.subarray(0, at);
          break;
        case 4:
          buf = Buffer.concat([buf.subarray(0, at), Buffer.alloc(1 + this.int(32), this.int(256)), buf.subarray(at)]);
          break;
        case 5: {
          const len = 1 + this.int(Math.max(1, buf.length - at));
          buf = Buffer.concat([buf.subarray(0, at + len), buf.subarray(at, at + len), buf.subarray(at + len)]);
          break;
        }
        default: {
          const other = this.pick(others);
          const cut = this.int(other.length + 1);
          buf = Buffer.concat([buf.subarray(0, at), other.subarray(cut)]);
        }
      }
    }
    return buf;
  }

  /** One to three edits of a text input, in the characters and words its grammar uses. */
  text(input: string, others: readonly string[]): string {
    let s = input;
    const edits = 1 + this.int(3);
    for (let e = 0; e < edits; e++) {
      const at = this.int(s.length + 1);
      switch (this.int(6)) {
        case 0:
          s = s.slice(0, at) + s.slice(at + 1 + this.int(8));
          break;
        case 1:
          s = s.slice(0, at) + this.pick(TEXT_PIECES) + s.slice(at);
          break;
        case 2:
          s = s.slice(0, at) + String.fromCharCode(this.int(128)) + s.slice(at + 1);
          break;
        case 3: {
          const len = 1 + this.int(16);
          s = s.slice(0, at + len) + s.slice(at, at + len) + s.slice(at + len);
          break;
        }
        case 4: {
          const other = this.pick(others);
          s = s.slice(0, at) + other.slice(this.int(other.length + 1));
          break;
        }
        default:
          // Numbers are where most parsers go wrong: replace one with a boundary value.
          s = s.replace(/\d+/, this.pick(TEXT_NUMBERS));
      }
    }
    return s;
  }
}

const TEXT_PIECES = [',', '=', '(', ')', '[', ']', '{', '}', '/', ':', '->', '..', '"', '\\', ' ', '0x', '-', '.', 'actions=', 'NXM_NX_REG0[]', 'tun_metadata0', 'ct(', 'resubmit(,', 'load:', '\u00e9', '\u0000'];
const TEXT_NUMBERS = ['0', '-1', '4294967295', '4294967296', '18446744073709551616', '65535', '65536', '1e309', '0x', '0xffffffffffffffffffff', '999999999999999999999', '01', '00000000000000000000001'];
