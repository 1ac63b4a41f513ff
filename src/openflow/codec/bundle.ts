/**
 * Bodies of OpenFlow 1.4's bundle messages (OFPT_BUNDLE_CONTROL, OFPT_BUNDLE_ADD_MESSAGE), which
 * OpenFlow 1.3 carries as ONF experimenter messages (ONFT_BUNDLE_CONTROL 2300,
 * ONFT_BUNDLE_ADD_MESSAGE 2301) with the same body. Both start with struct ofp14_bundle_ctrl_msg:
 * bundle_id, type (control) or padding (add), flags. The message inside a bundle_add is framed and
 * decoded by ./index.ts, which owns framing; here are its outer header's checks.
 */
import type { BundleControlType, MessageOf } from '../messages.js';
import { OfDecodeError, type OfReader, OfWriter } from './buffer.js';

/** ONF's experimenter id and its bundle message types (OpenFlow 1.3). */
export const ONF_VENDOR_ID = 0x4f4e4600;
export const ONFT_BUNDLE_CONTROL = 2300;
export const ONFT_BUNDLE_ADD_MESSAGE = 2301;
/** OpenFlow 1.4+ message types. */
export const OFPT14_BUNDLE_CONTROL = 33;
export const OFPT14_BUNDLE_ADD_MESSAGE = 34;

/** OFPBCT_* in wire order. */
const CONTROL_TYPES: readonly BundleControlType[] = [
  'open_request',
  'open_reply',
  'close_request',
  'close_reply',
  'commit_request',
  'commit_reply',
  'discard_request',
  'discard_reply',
];

export function encodeBundleControl(msg: MessageOf<'bundle_control'>): Buffer {
  return new OfWriter().u32(msg.bundleId).u16(CONTROL_TYPES.indexOf(msg.control)).u16(msg.flags).finish();
}

export function decodeBundleControl(r: OfReader): MessageOf<'bundle_control'> {
  const bundleId = r.u32('bundle_id');
  const n = r.u16('bundle control type');
  const control = CONTROL_TYPES[n];
  if (!control) throw new OfDecodeError('OFPBFC_BAD_TYPE', `bundle control type ${n} is not one of OFPBCT_OPEN_REQUEST (0) to OFPBCT_DISCARD_REPLY (7)`);
  const flags = r.u16('bundle flags');
  r.skip(r.remaining); // bundle properties (none defined but experimenter ones) are not modelled
  return { type: 'bundle_control', bundleId, control, flags };
}

/** The outer part of a bundle_add: its header, then the framed inner message. */
export function encodeBundleAdd(bundleId: number, flags: number, inner: Buffer): Buffer {
  return new OfWriter().u32(bundleId).zeros(2).u16(flags).bytes(inner).finish();
}

/**
 * Reads a bundle_add's header and returns the inner message's bytes, checked as OVS checks them:
 * a whole OpenFlow header, the outer message's version and xid.
 */
export function decodeBundleAdd(r: OfReader, version: number, xid: number): { bundleId: number; flags: number; inner: Buffer } {
  const bundleId = r.u32('bundle_id');
  r.skip(2);
  const flags = r.u16('bundle flags');
  if (r.remaining < 8) throw new OfDecodeError('OFPBFC_MSG_BAD_LEN', `the bundled message has ${r.remaining} bytes, less than an OpenFlow header`);
  const rest = r.bytes(r.remaining);
  if (rest.readUInt8(0) !== version) throw new OfDecodeError('OFPBFC_BAD_VERSION', `the bundled message's version 0x${rest.readUInt8(0).toString(16)} differs from the bundle_add's`);
  const length = rest.readUInt16BE(2);
  if (length < 8 || length > rest.length) throw new OfDecodeError('OFPBFC_MSG_BAD_LEN', `the bundled message says it has ${length} bytes, but ${rest.length} follow the bundle header`);
  if (rest.readUInt32BE(4) !== xid) throw new OfDecodeError('OFPBFC_MSG_BAD_XID', `the bundled message's xid 0x${rest.readUInt32BE(4).toString(16)} differs from the bundle_add's 0x${xid.toString(16)}`);
  // What follows the inner message is bundle properties, which are not modelled.
  return { bundleId, flags, inner: rest.subarray(0, length) };
}
