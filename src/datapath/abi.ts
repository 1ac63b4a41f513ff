// Every packed format that crosses the Rust/JS boundary, defined once on
// this side: the flow key layout, the action list's codes, upcall batches,
// upcall replies and their results, recent flow stats and meter bands, as named
// offsets, sizes and codes. The Rust side is native/src/abi.rs; describeAbi()
// lists this table by the names its describe() (op_abi_describe) uses, and a
// test checks that the two agree.
//
// Integers are little-endian unless a field says otherwise.

// ---------------------------------------------------------------- flow key

/** Size of a flow key (and of a mask) in bytes. */
export const FLOW_KEY_LEN = 152;

/**
 * Every field of the flow key by its OVS datapath-syntax name: [name, byte
 * offset, length]. Fields of protocols that never occur together share
 * bytes (see flow-key.ts).
 */
export const KEY_FIELDS = [
  ['in_port', 0, 4],
  ['recirc_id', 4, 4],
  ['tunnel.tun_id', 8, 8],
  ['tunnel.src', 16, 4],
  ['tunnel.dst', 20, 4],
  ['eth.dst', 24, 6],
  ['eth.src', 30, 6],
  ['eth_type', 36, 2],
  ['vlan.tci', 38, 2],
  ['vlan.tpid', 40, 2],
  ['cvlan.tci', 42, 2],
  ['cvlan.tpid', 44, 2],
  ['ipv4.proto', 46, 1],
  ['ipv4.frag', 47, 1],
  ['ipv4.tos', 48, 1],
  ['ipv4.ttl', 49, 1],
  ['ipv6.proto', 46, 1],
  ['ipv6.frag', 47, 1],
  ['ipv6.tclass', 48, 1],
  ['ipv6.hlimit', 49, 1],
  ['tcp_flags', 50, 2],
  ['tcp.src', 52, 2],
  ['tcp.dst', 54, 2],
  ['udp.src', 52, 2],
  ['udp.dst', 54, 2],
  ['sctp.src', 52, 2],
  ['sctp.dst', 54, 2],
  ['icmp.type', 56, 1],
  ['icmp.code', 57, 1],
  ['icmpv6.type', 56, 1],
  ['icmpv6.code', 57, 1],
  ['arp.op', 58, 2],
  ['ipv4.src', 60, 4],
  ['ipv4.dst', 64, 4],
  ['arp.sip', 60, 4],
  ['arp.tip', 64, 4],
  ['nd_ext.nd_reserved', 60, 4],
  ['nd_ext.nd_options_type', 64, 1],
  ['ipv6.label', 68, 4],
  ['ipv6.src', 72, 16],
  ['arp.sha', 72, 6],
  ['arp.tha', 78, 6],
  ['ipv6.dst', 88, 16],
  ['nd.target', 104, 16],
  ['tunnel.flags', 120, 2],
  ['tunnel.tos', 122, 1],
  ['tunnel.ttl', 123, 1],
  ['nd.sll', 124, 6],
  ['nd.tll', 130, 6],
  ['tunnel.geneve.class', 136, 2],
  ['tunnel.geneve.type', 138, 1],
  ['tunnel.geneve.len', 139, 1],
  ['tunnel.geneve.data', 140, 8],
  ['tunnel.tp_src', 148, 2],
  ['tunnel.tp_dst', 150, 2],
] as const;

// ---------------------------------------------------------------- actions

/**
 * An action list is a sequence of TLVs (native/src/flow/actions.rs documents
 * each payload): u16 type, u16 payload length, the payload, zero padding to
 * the next multiple of ACTION_ALIGN.
 */
export const ACTION_HEADER_LEN = 4;
export const ACTION_ALIGN = 8;

export const ACTION_TYPE = { output: 1, userspace: 2, push_vlan: 3, pop_vlan: 4, set: 5, meter: 8, set_tunnel: 9, sample: 10 } as const;

/** The set_tunnel payload before its Geneve options (see actions.ts). */
export const SET_TUNNEL_FIXED_LEN = 24;

/** `set` flag: the field was written masked (only the printer cares). */
export const SET_FLAG_MASKED = 1;
/** `set` flag: this field continues the previous set(...) group. */
export const SET_FLAG_CONTINUES = 2;

/** The fields a `set` action can write: wire id, width in bytes, and how the printer shows a value. */
export const SET_FIELDS: Record<string, { id: number; len: number; kind: 'mac' | 'ipv4' | 'ipv6' | 'uint' }> = {
  'eth.src': { id: 1, len: 6, kind: 'mac' },
  'eth.dst': { id: 2, len: 6, kind: 'mac' },
  'ipv4.src': { id: 3, len: 4, kind: 'ipv4' },
  'ipv4.dst': { id: 4, len: 4, kind: 'ipv4' },
  'ipv4.tos': { id: 5, len: 1, kind: 'uint' },
  'ipv4.ttl': { id: 6, len: 1, kind: 'uint' },
  'ipv6.src': { id: 7, len: 16, kind: 'ipv6' },
  'ipv6.dst': { id: 8, len: 16, kind: 'ipv6' },
  'ipv6.tclass': { id: 9, len: 1, kind: 'uint' },
  'ipv6.hlimit': { id: 10, len: 1, kind: 'uint' },
  'tcp.src': { id: 11, len: 2, kind: 'uint' },
  'tcp.dst': { id: 12, len: 2, kind: 'uint' },
  'udp.src': { id: 13, len: 2, kind: 'uint' },
  'udp.dst': { id: 14, len: 2, kind: 'uint' },
  'arp.sip': { id: 15, len: 4, kind: 'ipv4' },
  'arp.tip': { id: 16, len: 4, kind: 'ipv4' },
  'arp.op': { id: 17, len: 2, kind: 'uint' },
  'arp.sha': { id: 18, len: 6, kind: 'mac' },
  'arp.tha': { id: 19, len: 6, kind: 'mac' },
  'nd.target': { id: 20, len: 16, kind: 'ipv6' },
  'nd.sll': { id: 21, len: 6, kind: 'mac' },
  'nd.tll': { id: 22, len: 6, kind: 'mac' },
  'icmp.type': { id: 23, len: 1, kind: 'uint' },
  'icmp.code': { id: 24, len: 1, kind: 'uint' },
  'icmpv6.type': { id: 25, len: 1, kind: 'uint' },
  'icmpv6.code': { id: 26, len: 1, kind: 'uint' },
  'nd_ext.nd_reserved': { id: 27, len: 4, kind: 'uint' },
  'nd_ext.nd_options_type': { id: 28, len: 1, kind: 'uint' },
};

// ---------------------------------------------------------------- upcall batches

/**
 * An upcall batch arrives as two buffers. `data` holds, per upcall, its key
 * (FLOW_KEY_LEN bytes), its frame, then its userspace action's userdata.
 * `meta` holds one record per upcall in the batch's order (an upcall's index
 * is its record's position), with these byte offsets: port, reason, keyAt,
 * frameAt, frameLen and userdataLen are u32, cookie a u64 (the userdata's
 * first 8 bytes; 0 for a miss).
 */
export const UPCALL_META = { len: 32, port: 0, reason: 4, keyAt: 8, frameAt: 12, frameLen: 16, cookie: 20, userdataLen: 28 } as const;
export const UPCALL_REASON = { miss: 0, action: 1 } as const;

// ---------------------------------------------------------------- upcall replies

/**
 * Replies to upcalls, one after another: a header (u32 batch, index, length
 * of the actions, flags), the encoded actions, then with REPLY.hasMask the
 * megaflow's mask (FLOW_KEY_LEN bytes). The datapath still holds the upcall's
 * frame and key, so a reply names the upcall instead of sending them back.
 */
export const REPLY = { headerLen: 16, batch: 0, index: 4, actionsLen: 8, flags: 12, hasMask: 1 } as const;

/**
 * The outcome of each reply, in order: a u32 status then the installed
 * flow's id (u64). A refused reply's reason is the next of the op's error
 * strings.
 */
export const RESULT = { len: 12, status: 0, flowId: 4, installed: 0, notInstalled: 1, refused: 2 } as const;

// ---------------------------------------------------------------- recent flow stats

/** Counters of recently used flows: four u64 a flow, the last the milliseconds since its last use. */
export const RECENT = { len: 32, flowId: 0, packets: 8, bytes: 16, idleMs: 24 } as const;

// ---------------------------------------------------------------- meter bands

/**
 * A meter's bands as op_meter_set takes them: `len` bytes a band, four u32:
 * type (OpenFlow's codes: drop, dscpRemark), rate (kbit/s or packets/s),
 * burst size (kbit or packets; 0 for one second of rate) and the precedence
 * levels a DSCP remark band adds.
 */
export const METER_BAND = { len: 16, type: 0, rate: 4, burst: 8, precLevel: 12, drop: 1, dscpRemark: 2 } as const;

// ---------------------------------------------------------------- the table

/** Every constant above by the name native/src/abi.rs gives it, as op_abi_describe() lists them. */
export function describeAbi(): Record<string, number> {
  const table: Record<string, number> = {
    KEY_LEN: FLOW_KEY_LEN,
    ACTION_HEADER_LEN,
    ACTION_ALIGN,
    SET_FLAG_MASKED,
    SET_FLAG_CONTINUES,
    SET_TUNNEL_FIXED_LEN,
    UPCALL_META_LEN: UPCALL_META.len,
    UPCALL_META_PORT: UPCALL_META.port,
    UPCALL_META_REASON: UPCALL_META.reason,
    UPCALL_META_KEY_AT: UPCALL_META.keyAt,
    UPCALL_META_FRAME_AT: UPCALL_META.frameAt,
    UPCALL_META_FRAME_LEN: UPCALL_META.frameLen,
    UPCALL_META_COOKIE: UPCALL_META.cookie,
    UPCALL_META_USERDATA_LEN: UPCALL_META.userdataLen,
    UPCALL_MISS: UPCALL_REASON.miss,
    UPCALL_ACTION: UPCALL_REASON.action,
    REPLY_HEADER_LEN: REPLY.headerLen,
    REPLY_BATCH: REPLY.batch,
    REPLY_INDEX: REPLY.index,
    REPLY_ACTIONS_LEN: REPLY.actionsLen,
    REPLY_FLAGS: REPLY.flags,
    REPLY_HAS_MASK: REPLY.hasMask,
    RESULT_LEN: RESULT.len,
    RESULT_STATUS: RESULT.status,
    RESULT_FLOW_ID: RESULT.flowId,
    RESULT_INSTALLED: RESULT.installed,
    RESULT_NOT_INSTALLED: RESULT.notInstalled,
    RESULT_REFUSED: RESULT.refused,
    RECENT_LEN: RECENT.len,
    RECENT_FLOW_ID: RECENT.flowId,
    RECENT_IDLE_MS: RECENT.idleMs,
    RECENT_PACKETS: RECENT.packets,
    RECENT_BYTES: RECENT.bytes,
    METER_BAND_LEN: METER_BAND.len,
    METER_BAND_TYPE: METER_BAND.type,
    METER_BAND_RATE: METER_BAND.rate,
    METER_BAND_BURST: METER_BAND.burst,
    METER_BAND_PREC_LEVEL: METER_BAND.precLevel,
    METER_BAND_DROP: METER_BAND.drop,
    METER_BAND_DSCP_REMARK: METER_BAND.dscpRemark,
  };
  for (const [name, code] of Object.entries(ACTION_TYPE)) table[`ACTION_${name.toUpperCase()}`] = code;
  for (const [name, offset, len] of KEY_FIELDS) {
    table[`KEY_FIELD ${name} offset`] = offset;
    table[`KEY_FIELD ${name} len`] = len;
  }
  for (const [name, { id, len }] of Object.entries(SET_FIELDS)) {
    table[`SET_FIELD ${name} id`] = id;
    table[`SET_FIELD ${name} len`] = len;
  }
  return table;
}
