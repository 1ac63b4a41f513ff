// The userdata of a userspace action: why the datapath sends a frame up. Its
// first byte is the kind, which picks the slow-path handler the frame goes to
// (OfprotoDpif.onUserspace); the datapath hands the handler the whole userdata.
// The datapath reads the first 8 bytes as the upcall's cookie (little-endian).

/** The kinds of userdata, one per slow-path consumer. */
export const USERDATA_KIND = {
  /** A CONTROLLER action's packet-in (packet-in-table.ts). */
  controller: 1,
  /** An sFlow flow sample (the cookie below). */
  sflow: 2,
  /** A per-flow IPFIX sample (the sample action's; src/ofproto/ipfix-sampling.ts). */
  flowSample: 3,
  /** A bridge IPFIX sample (src/ofproto/ipfix-sampling.ts). */
  ipfix: 4,
} as const;

/**
 * What an sFlow sample action's userspace action carries, as OVS's sFlow
 * cookie does: the frame's VLAN TCI as it came in and where the flow sends it
 * (the output port's ifIndex, SFLOW_OUTPUT_DROPPED, or SFLOW_OUTPUT_MULTIPLE | n).
 */
export interface SflowCookie {
  vlanTci: number;
  output: number;
}

/** 8 bytes: kind, 0, u16 TCI, u32 output (little-endian). */
export function encodeSflowCookie(c: SflowCookie): Buffer {
  const b = Buffer.alloc(8);
  b[0] = USERDATA_KIND.sflow;
  b.writeUInt16LE(c.vlanTci, 2);
  b.writeUInt32LE(c.output >>> 0, 4);
  return b;
}

/** The sFlow cookie `userdata` holds, or undefined if it holds none. */
export function decodeSflowCookie(userdata: Buffer): SflowCookie | undefined {
  if (userdata.length !== 8 || userdata[0] !== USERDATA_KIND.sflow) return undefined;
  return { vlanTci: userdata.readUInt16LE(2), output: userdata.readUInt32LE(4) };
}
