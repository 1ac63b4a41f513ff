// What the OpenFlow codec tests share: Debian's `ovs-ofctl ofp-print` as the judge of an encoding,
// and the codec's one-message encode and error-name decode.
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { OfDecodeError } from '../../src/openflow/codec/buffer.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/codec/index.js';
import { defaultSession, type OfMessage } from '../../src/openflow/messages.js';

/** What `ovs-ofctl ofp-print` prints for `buf`, trimmed. */
export function ofpPrint(buf: Buffer): string {
  return execFileSync('ovs-ofctl', ['ofp-print', buf.toString('hex')], { encoding: 'utf8' }).trim();
}

/** `msg` encoded in `version`, which must take exactly one message. */
export function encodeOne(msg: OfMessage, version: number, xid = 0x2a): Buffer {
  const [buf, ...more] = encodeMessage(msg, defaultSession(version), xid);
  expect(more).toEqual([]);
  return buf!;
}

/** The OpenFlow error that decoding `buf` answers, or 'decoded'. */
export function decodeError(buf: Buffer, version: number): string {
  try {
    decodeMessage(buf, defaultSession(version));
  } catch (e) {
    if (e instanceof OfDecodeError) return e.name;
    throw e;
  }
  return 'decoded';
}
