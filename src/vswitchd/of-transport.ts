// The switch's OpenFlow transport: OfConnection's hello exchange on
// accepted and outgoing sockets, and the offending message's bytes for
// error replies (re-encoded as it came: the codec is exact both ways).
import { encodeMessage } from '../openflow/codec/index.js';
import { OfConnection } from '../openflow/connection.js';
import type { OfTransport } from './connmgr.js';

/** OpenFlow's rule for error data: at least the first 64 bytes of the offending message. */
const ERROR_DATA_LEN = 64;

export const ofTransport: OfTransport = {
  accept: (socket) => OfConnection.accept(socket),
  connect: (target, opts) => OfConnection.connect(target, opts),
  offendingBytes(channel, msg, xid) {
    try {
      const [first] = encodeMessage(msg, channel.session, xid);
      return first ? first.subarray(0, ERROR_DATA_LEN) : Buffer.alloc(0);
    } catch {
      return Buffer.alloc(0);
    }
  },
};
