//! Every packed format that crosses the Rust/JS boundary, defined once on
//! this side: the flow key layout, the action list's codes, upcall batches,
//! upcall replies and their results, and recent flow stats. Each is named
//! offsets, sizes and codes, and the code that packs or unpacks it.
//!
//! The TypeScript side is `src/datapath/abi.ts`. [`describe`] lists every
//! constant here by name (the addon's `op_abi_describe`), and a test checks
//! that the TypeScript side lists the same table.
//!
//! Integers are little-endian unless a field says otherwise.

use crate::datapath::{Upcall, UpcallReason, UpcallReply};
use crate::flow::key::FlowKey;
use crate::meter::{BandConfig, BandKind};

// ---------------------------------------------------------------- flow key

/// Size of a flow key (and of a mask) in bytes: the `FlowKey` struct.
pub const KEY_LEN: usize = 152;

/// Every field of the flow key by its OVS datapath-syntax name: (name, byte
/// offset, length). Aliases share bytes (see `flow/key.rs`); a test there
/// checks this table against the struct.
pub const KEY_FIELDS: &[(&str, usize, usize)] = &[
    ("in_port", 0, 4),
    ("recirc_id", 4, 4),
    ("tunnel.tun_id", 8, 8),
    ("tunnel.src", 16, 4),
    ("tunnel.dst", 20, 4),
    ("eth.dst", 24, 6),
    ("eth.src", 30, 6),
    ("eth_type", 36, 2),
    ("vlan.tci", 38, 2),
    ("vlan.tpid", 40, 2),
    ("cvlan.tci", 42, 2),
    ("cvlan.tpid", 44, 2),
    ("ipv4.proto", 46, 1),
    ("ipv4.frag", 47, 1),
    ("ipv4.tos", 48, 1),
    ("ipv4.ttl", 49, 1),
    ("ipv6.proto", 46, 1),
    ("ipv6.frag", 47, 1),
    ("ipv6.tclass", 48, 1),
    ("ipv6.hlimit", 49, 1),
    ("tcp_flags", 50, 2),
    ("tcp.src", 52, 2),
    ("tcp.dst", 54, 2),
    ("udp.src", 52, 2),
    ("udp.dst", 54, 2),
    ("sctp.src", 52, 2),
    ("sctp.dst", 54, 2),
    ("icmp.type", 56, 1),
    ("icmp.code", 57, 1),
    ("icmpv6.type", 56, 1),
    ("icmpv6.code", 57, 1),
    ("arp.op", 58, 2),
    ("ipv4.src", 60, 4),
    ("ipv4.dst", 64, 4),
    ("arp.sip", 60, 4),
    ("arp.tip", 64, 4),
    ("nd_ext.nd_reserved", 60, 4),
    ("nd_ext.nd_options_type", 64, 1),
    ("ipv6.label", 68, 4),
    ("ipv6.src", 72, 16),
    ("arp.sha", 72, 6),
    ("arp.tha", 78, 6),
    ("ipv6.dst", 88, 16),
    ("nd.target", 104, 16),
    ("tunnel.flags", 120, 2),
    ("tunnel.tos", 122, 1),
    ("tunnel.ttl", 123, 1),
    ("nd.sll", 124, 6),
    ("nd.tll", 130, 6),
    ("tunnel.geneve.class", 136, 2),
    ("tunnel.geneve.type", 138, 1),
    ("tunnel.geneve.len", 139, 1),
    ("tunnel.geneve.data", 140, 8),
    ("tunnel.tp_src", 148, 2),
    ("tunnel.tp_dst", 150, 2),
];

// ---------------------------------------------------------------- actions

// An action list is a sequence of TLVs (`flow/actions.rs` documents each
// payload): u16 type, u16 payload length, the payload, zero padding to the
// next multiple of ACTION_ALIGN.
pub const ACTION_HEADER_LEN: usize = 4;
pub const ACTION_ALIGN: usize = 8;

pub const ACTION_OUTPUT: u16 = 1;
pub const ACTION_USERSPACE: u16 = 2;
pub const ACTION_PUSH_VLAN: u16 = 3;
pub const ACTION_POP_VLAN: u16 = 4;
pub const ACTION_SET: u16 = 5;
pub const ACTION_METER: u16 = 8;
pub const ACTION_SET_TUNNEL: u16 = 9;
pub const ACTION_SAMPLE: u16 = 10;
/// The set_tunnel payload before its Geneve options (`flow/actions.rs`).
pub const SET_TUNNEL_FIXED_LEN: usize = 24;

/// `set` flag: the field was written masked (`set(...)` vs `set_masked`
/// in the printer; execution ignores it).
pub const SET_FLAG_MASKED: u16 = 1;
/// `set` flag: this field continues the previous `set(...)` group.
pub const SET_FLAG_CONTINUES: u16 = 2;

/// Fields a `set` action can write; the discriminant is the wire id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum SetField {
    EthSrc = 1,
    EthDst = 2,
    Ipv4Src = 3,
    Ipv4Dst = 4,
    Ipv4Tos = 5,
    Ipv4Ttl = 6,
    Ipv6Src = 7,
    Ipv6Dst = 8,
    Ipv6Tclass = 9,
    Ipv6Hlimit = 10,
    TcpSrc = 11,
    TcpDst = 12,
    UdpSrc = 13,
    UdpDst = 14,
    ArpSip = 15,
    ArpTip = 16,
    ArpOp = 17,
    ArpSha = 18,
    ArpTha = 19,
    /// IPv6 neighbor discovery: the NS/NA target and its link-layer
    /// address options (rewritten only where the message has them).
    NdTarget = 20,
    NdSll = 21,
    NdTll = 22,
    /// ICMP and ICMPv6 type and code (an ND responder turns a
    /// solicitation, 135, into an advertisement, 136).
    IcmpType = 23,
    IcmpCode = 24,
    Icmpv6Type = 25,
    Icmpv6Code = 26,
    /// The NS/NA reserved word (an advertisement's R, S and O flags) and
    /// the type of its first link-layer address option, OVS's `nd_ext`:
    /// OVN's ND responder turns a solicitation's source address option
    /// into the advertisement's target address option with these.
    NdReserved = 27,
    NdOptionsType = 28,
}

/// The set-field table, in wire-id order: (field, OVS datapath-syntax name,
/// width of the value and of the mask in bytes).
pub const SET_FIELDS: [(SetField, &str, usize); 28] = [
    (SetField::EthSrc, "eth.src", 6),
    (SetField::EthDst, "eth.dst", 6),
    (SetField::Ipv4Src, "ipv4.src", 4),
    (SetField::Ipv4Dst, "ipv4.dst", 4),
    (SetField::Ipv4Tos, "ipv4.tos", 1),
    (SetField::Ipv4Ttl, "ipv4.ttl", 1),
    (SetField::Ipv6Src, "ipv6.src", 16),
    (SetField::Ipv6Dst, "ipv6.dst", 16),
    (SetField::Ipv6Tclass, "ipv6.tclass", 1),
    (SetField::Ipv6Hlimit, "ipv6.hlimit", 1),
    (SetField::TcpSrc, "tcp.src", 2),
    (SetField::TcpDst, "tcp.dst", 2),
    (SetField::UdpSrc, "udp.src", 2),
    (SetField::UdpDst, "udp.dst", 2),
    (SetField::ArpSip, "arp.sip", 4),
    (SetField::ArpTip, "arp.tip", 4),
    (SetField::ArpOp, "arp.op", 2),
    (SetField::ArpSha, "arp.sha", 6),
    (SetField::ArpTha, "arp.tha", 6),
    (SetField::NdTarget, "nd.target", 16),
    (SetField::NdSll, "nd.sll", 6),
    (SetField::NdTll, "nd.tll", 6),
    (SetField::IcmpType, "icmp.type", 1),
    (SetField::IcmpCode, "icmp.code", 1),
    (SetField::Icmpv6Type, "icmpv6.type", 1),
    (SetField::Icmpv6Code, "icmpv6.code", 1),
    (SetField::NdReserved, "nd_ext.nd_reserved", 4),
    (SetField::NdOptionsType, "nd_ext.nd_options_type", 1),
];

// The lookups below index SET_FIELDS by id - 1.
const _: () = {
    let mut i = 0;
    while i < SET_FIELDS.len() {
        assert!(SET_FIELDS[i].0 as usize == i + 1);
        i += 1;
    }
};

impl SetField {
    pub fn from_id(id: u16) -> Option<SetField> {
        SET_FIELDS.get((id as usize).wrapping_sub(1)).map(|f| f.0)
    }

    /// Width of the value (and of the mask) in bytes.
    pub fn width(self) -> usize {
        SET_FIELDS[self as usize - 1].2
    }

    /// The OVS datapath-syntax name, e.g. "ipv4.dst".
    pub fn name(self) -> &'static str {
        SET_FIELDS[self as usize - 1].1
    }
}

// ---------------------------------------------------------------- upcall batches

// An upcall batch reaches JS as two buffers. `data` holds, per upcall, its
// key (KEY_LEN bytes), its frame, then its userspace action's userdata. `meta` holds one UPCALL_META_LEN
// record per upcall, in the batch's order: an upcall's index in the batch
// is its record's position.
pub const UPCALL_META_LEN: usize = 32;
/// u32: the datapath port the frame came in on.
pub const UPCALL_META_PORT: usize = 0;
/// u32: UPCALL_MISS or UPCALL_ACTION.
pub const UPCALL_META_REASON: usize = 4;
/// u32: offset of the key in `data`.
pub const UPCALL_META_KEY_AT: usize = 8;
/// u32: offset of the frame in `data`.
pub const UPCALL_META_FRAME_AT: usize = 12;
/// u32: length of the frame.
pub const UPCALL_META_FRAME_LEN: usize = 16;
/// u64: the userspace action's cookie (0 for a miss).
pub const UPCALL_META_COOKIE: usize = 20;
/// u32: length of the userdata, which follows the frame in `data` (0 for a miss).
pub const UPCALL_META_USERDATA_LEN: usize = 28;

/// No flow matched the frame.
pub const UPCALL_MISS: u32 = 0;
/// A `userspace` action sent the frame up.
pub const UPCALL_ACTION: u32 = 1;

/// Sizes of the (data, meta) buffers that carry `upcalls`.
pub fn upcall_batch_lens(upcalls: &[Upcall]) -> (usize, usize) {
    let data = upcalls.iter().map(|u| KEY_LEN + u.frame.len() + u.userdata.len()).sum();
    (data, upcalls.len() * UPCALL_META_LEN)
}

/// Write the `data` buffer of `upcalls` (of the size `upcall_batch_lens` gives).
pub fn pack_upcall_data(upcalls: &[Upcall], data: &mut [u8]) {
    let mut at = 0;
    for up in upcalls {
        data[at..at + KEY_LEN].copy_from_slice(up.key.as_bytes());
        let frame_at = at + KEY_LEN;
        data[frame_at..frame_at + up.frame.len()].copy_from_slice(&up.frame);
        let userdata_at = frame_at + up.frame.len();
        data[userdata_at..userdata_at + up.userdata.len()].copy_from_slice(&up.userdata);
        at = userdata_at + up.userdata.len();
    }
}

/// Write the `meta` buffer of `upcalls` (of the size `upcall_batch_lens` gives).
pub fn pack_upcall_meta(upcalls: &[Upcall], meta: &mut [u8]) {
    let mut at = 0;
    for (up, record) in upcalls.iter().zip(meta.chunks_exact_mut(UPCALL_META_LEN)) {
        let (reason, cookie) = match up.reason {
            UpcallReason::Miss => (UPCALL_MISS, 0),
            UpcallReason::Action { cookie } => (UPCALL_ACTION, cookie),
        };
        put_u32(record, UPCALL_META_PORT, up.in_port);
        put_u32(record, UPCALL_META_REASON, reason);
        put_u32(record, UPCALL_META_KEY_AT, at as u32);
        put_u32(record, UPCALL_META_FRAME_AT, (at + KEY_LEN) as u32);
        put_u32(record, UPCALL_META_FRAME_LEN, up.frame.len() as u32);
        record[UPCALL_META_COOKIE..UPCALL_META_COOKIE + 8].copy_from_slice(&cookie.to_le_bytes());
        put_u32(record, UPCALL_META_USERDATA_LEN, up.userdata.len() as u32);
        at += KEY_LEN + up.frame.len() + up.userdata.len();
    }
}

// ---------------------------------------------------------------- upcall replies

// Replies to upcalls, packed one after another: a REPLY_HEADER_LEN header,
// the encoded actions, then with REPLY_HAS_MASK the megaflow's mask
// (KEY_LEN bytes). A reply names its upcall; the datapath still holds the
// upcall's frame and key, so they do not cross back.
pub const REPLY_HEADER_LEN: usize = 16;
/// u32: the id of the upcall's batch.
pub const REPLY_BATCH: usize = 0;
/// u32: the upcall's index in its batch.
pub const REPLY_INDEX: usize = 4;
/// u32: length of the actions after the header.
pub const REPLY_ACTIONS_LEN: usize = 8;
/// u32: REPLY_HAS_MASK, or 0.
pub const REPLY_FLAGS: usize = 12;
/// Reply flag: install a megaflow, the upcall's key under the mask that
/// follows the actions.
pub const REPLY_HAS_MASK: u32 = 1;

/// The replies packed by `replyUpcalls` in src/datapath/dpif.ts.
pub fn unpack_replies(mut b: &[u8]) -> Result<Vec<UpcallReply<'_>>, String> {
    let mut replies = Vec::new();
    while !b.is_empty() {
        let truncated = || format!("upcall reply {} is truncated", replies.len());
        let header = b.get(..REPLY_HEADER_LEN).ok_or_else(truncated)?;
        let actions_len = get_u32(header, REPLY_ACTIONS_LEN) as usize;
        let mask_len = if get_u32(header, REPLY_FLAGS) & REPLY_HAS_MASK != 0 { KEY_LEN } else { 0 };
        let body = b.get(REPLY_HEADER_LEN..REPLY_HEADER_LEN + actions_len + mask_len).ok_or_else(truncated)?;
        let (actions, mask) = body.split_at(actions_len);
        replies.push(UpcallReply {
            batch: get_u32(header, REPLY_BATCH),
            index: get_u32(header, REPLY_INDEX),
            actions,
            mask: (mask_len > 0).then(|| FlowKey::from_bytes(mask).expect("KEY_LEN bytes")),
        });
        b = &b[REPLY_HEADER_LEN + body.len()..];
    }
    Ok(replies)
}

// The outcome of each reply, in the replies' order: RESULT_LEN bytes each.
pub const RESULT_LEN: usize = 12;
/// u32: RESULT_INSTALLED, RESULT_NOT_INSTALLED or RESULT_REFUSED.
pub const RESULT_STATUS: usize = 0;
/// u64: the installed flow's id (0 unless RESULT_INSTALLED).
pub const RESULT_FLOW_ID: usize = 4;
/// The megaflow was installed.
pub const RESULT_INSTALLED: u32 = 0;
/// The frame was handled but no megaflow installed (none asked for, or at
/// the flow limit).
pub const RESULT_NOT_INSTALLED: u32 = 1;
/// The reply was refused; the reason is the next of the op's error strings.
pub const RESULT_REFUSED: u32 = 2;

/// Append one reply's outcome: its flow id, None when not installed, or a
/// refusal (whose text travels separately).
pub fn push_result<E>(out: &mut Vec<u8>, result: &Result<Option<u64>, E>) {
    let (status, id) = match result {
        Ok(Some(id)) => (RESULT_INSTALLED, *id),
        Ok(None) => (RESULT_NOT_INSTALLED, 0),
        Err(_) => (RESULT_REFUSED, 0),
    };
    let mut record = [0u8; RESULT_LEN];
    put_u32(&mut record, RESULT_STATUS, status);
    record[RESULT_FLOW_ID..RESULT_FLOW_ID + 8].copy_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&record);
}

// ---------------------------------------------------------------- recent flow stats

// Counters of recently used flows: RECENT_LEN bytes a flow, four u64: the
// flow's id, packets, bytes, and milliseconds since its last use (what the
// slow path needs to tell traffic older than a MAC move from newer).
pub const RECENT_LEN: usize = 32;
pub const RECENT_FLOW_ID: usize = 0;
pub const RECENT_PACKETS: usize = 8;
pub const RECENT_BYTES: usize = 16;
pub const RECENT_IDLE_MS: usize = 24;

pub fn push_recent(out: &mut Vec<u8>, id: u64, packets: u64, bytes: u64, idle_ms: u64) {
    let mut record = [0u8; RECENT_LEN];
    for (at, v) in [(RECENT_FLOW_ID, id), (RECENT_PACKETS, packets), (RECENT_BYTES, bytes), (RECENT_IDLE_MS, idle_ms)] {
        record[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&record);
}

// ---------------------------------------------------------------- meter bands

// A meter's bands as op_meter_set takes them: METER_BAND_LEN bytes a band,
// four u32: its type (OpenFlow's codes), rate (kbit/s or packets/s), burst
// size (kbit or packets; 0 for one second of rate) and, for a DSCP remark
// band, the precedence levels to add.
pub const METER_BAND_LEN: usize = 16;
pub const METER_BAND_TYPE: usize = 0;
pub const METER_BAND_RATE: usize = 4;
pub const METER_BAND_BURST: usize = 8;
pub const METER_BAND_PREC_LEVEL: usize = 12;
pub const METER_BAND_DROP: u32 = 1;
pub const METER_BAND_DSCP_REMARK: u32 = 2;

pub fn unpack_meter_bands(b: &[u8]) -> Result<Vec<BandConfig>, String> {
    if !b.len().is_multiple_of(METER_BAND_LEN) {
        return Err(format!("meter bands: {} bytes is not a whole number of {METER_BAND_LEN}-byte bands", b.len()));
    }
    b.chunks(METER_BAND_LEN)
        .enumerate()
        .map(|(i, band)| {
            let kind = match get_u32(band, METER_BAND_TYPE) {
                METER_BAND_DROP => BandKind::Drop,
                METER_BAND_DSCP_REMARK => {
                    let prec = get_u32(band, METER_BAND_PREC_LEVEL);
                    BandKind::DscpRemark { prec_level: u8::try_from(prec).unwrap_or(u8::MAX) }
                }
                other => return Err(format!("meter band {i}: type {other} is not drop (1) or dscp_remark (2)")),
            };
            Ok(BandConfig { kind, rate: get_u32(band, METER_BAND_RATE), burst_size: get_u32(band, METER_BAND_BURST) })
        })
        .collect()
}

// ---------------------------------------------------------------- the table

/// Every constant of this module by name, for the TypeScript side to check
/// itself against (`describeAbi` in src/datapath/abi.ts builds the same).
pub fn describe() -> Vec<(String, u64)> {
    let mut t: Vec<(String, u64)> = [
        ("KEY_LEN", KEY_LEN),
        ("ACTION_HEADER_LEN", ACTION_HEADER_LEN),
        ("ACTION_ALIGN", ACTION_ALIGN),
        ("ACTION_OUTPUT", ACTION_OUTPUT as usize),
        ("ACTION_USERSPACE", ACTION_USERSPACE as usize),
        ("ACTION_PUSH_VLAN", ACTION_PUSH_VLAN as usize),
        ("ACTION_POP_VLAN", ACTION_POP_VLAN as usize),
        ("ACTION_SET", ACTION_SET as usize),
        ("ACTION_METER", ACTION_METER as usize),
        ("ACTION_SET_TUNNEL", ACTION_SET_TUNNEL as usize),
        ("ACTION_SAMPLE", ACTION_SAMPLE as usize),
        ("SET_TUNNEL_FIXED_LEN", SET_TUNNEL_FIXED_LEN),
        ("SET_FLAG_MASKED", SET_FLAG_MASKED as usize),
        ("SET_FLAG_CONTINUES", SET_FLAG_CONTINUES as usize),
        ("UPCALL_META_LEN", UPCALL_META_LEN),
        ("UPCALL_META_PORT", UPCALL_META_PORT),
        ("UPCALL_META_REASON", UPCALL_META_REASON),
        ("UPCALL_META_KEY_AT", UPCALL_META_KEY_AT),
        ("UPCALL_META_FRAME_AT", UPCALL_META_FRAME_AT),
        ("UPCALL_META_FRAME_LEN", UPCALL_META_FRAME_LEN),
        ("UPCALL_META_COOKIE", UPCALL_META_COOKIE),
        ("UPCALL_META_USERDATA_LEN", UPCALL_META_USERDATA_LEN),
        ("UPCALL_MISS", UPCALL_MISS as usize),
        ("UPCALL_ACTION", UPCALL_ACTION as usize),
        ("REPLY_HEADER_LEN", REPLY_HEADER_LEN),
        ("REPLY_BATCH", REPLY_BATCH),
        ("REPLY_INDEX", REPLY_INDEX),
        ("REPLY_ACTIONS_LEN", REPLY_ACTIONS_LEN),
        ("REPLY_FLAGS", REPLY_FLAGS),
        ("REPLY_HAS_MASK", REPLY_HAS_MASK as usize),
        ("RESULT_LEN", RESULT_LEN),
        ("RESULT_STATUS", RESULT_STATUS),
        ("RESULT_FLOW_ID", RESULT_FLOW_ID),
        ("RESULT_INSTALLED", RESULT_INSTALLED as usize),
        ("RESULT_NOT_INSTALLED", RESULT_NOT_INSTALLED as usize),
        ("RESULT_REFUSED", RESULT_REFUSED as usize),
        ("RECENT_LEN", RECENT_LEN),
        ("RECENT_FLOW_ID", RECENT_FLOW_ID),
        ("RECENT_PACKETS", RECENT_PACKETS),
        ("RECENT_BYTES", RECENT_BYTES),
        ("RECENT_IDLE_MS", RECENT_IDLE_MS),
        ("METER_BAND_LEN", METER_BAND_LEN),
        ("METER_BAND_TYPE", METER_BAND_TYPE),
        ("METER_BAND_RATE", METER_BAND_RATE),
        ("METER_BAND_BURST", METER_BAND_BURST),
        ("METER_BAND_PREC_LEVEL", METER_BAND_PREC_LEVEL),
        ("METER_BAND_DROP", METER_BAND_DROP as usize),
        ("METER_BAND_DSCP_REMARK", METER_BAND_DSCP_REMARK as usize),
    ]
    .into_iter()
    .map(|(name, v)| (name.to_string(), v as u64))
    .collect();
    for (name, off, len) in KEY_FIELDS {
        t.push((format!("KEY_FIELD {name} offset"), *off as u64));
        t.push((format!("KEY_FIELD {name} len"), *len as u64));
    }
    for (field, name, len) in SET_FIELDS {
        t.push((format!("SET_FIELD {name} id"), field as u64));
        t.push((format!("SET_FIELD {name} len"), len as u64));
    }
    t
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(batch: u32, index: u32, actions: &[u8], mask: Option<&FlowKey>) -> Vec<u8> {
        let mut header = [0u8; REPLY_HEADER_LEN];
        put_u32(&mut header, REPLY_BATCH, batch);
        put_u32(&mut header, REPLY_INDEX, index);
        put_u32(&mut header, REPLY_ACTIONS_LEN, actions.len() as u32);
        put_u32(&mut header, REPLY_FLAGS, if mask.is_some() { REPLY_HAS_MASK } else { 0 });
        let mut b = header.to_vec();
        b.extend_from_slice(actions);
        if let Some(mask) = mask {
            b.extend_from_slice(mask.as_bytes());
        }
        b
    }

    #[test]
    fn unpacks_replies_with_and_without_a_megaflow() {
        let mask = FlowKey::from_bytes(&[0xff; KEY_LEN]).unwrap();
        let mut b = packed(7, 3, &[9, 9, 9, 9], Some(&mask));
        b.extend(packed(8, 0, &[], None));
        let replies = unpack_replies(&b).unwrap();
        assert_eq!(replies.len(), 2);
        assert_eq!((replies[0].batch, replies[0].index, replies[0].actions), (7, 3, &[9u8; 4][..]));
        assert_eq!(replies[0].mask.as_ref().map(|m| m.as_bytes()), Some(mask.as_bytes()));
        assert_eq!((replies[1].batch, replies[1].index, replies[1].actions.len()), (8, 0, 0));
        assert!(replies[1].mask.is_none());
    }

    #[test]
    fn refuses_a_truncated_reply() {
        let b = packed(1, 0, &[9; 8], Some(&FlowKey::default()));
        for cut in [1, 15, 16, 23, 24, b.len() - 1] {
            assert_eq!(unpack_replies(&b[..cut]).err().as_deref(), Some("upcall reply 0 is truncated"), "cut at {cut}");
        }
        let mut two = b.clone();
        two.extend_from_slice(&b[..20]);
        assert_eq!(unpack_replies(&two).err().as_deref(), Some("upcall reply 1 is truncated"));
    }

    #[test]
    fn set_fields_are_found_by_id_and_no_other() {
        assert_eq!(SetField::from_id(4), Some(SetField::Ipv4Dst));
        assert_eq!((SetField::Ipv6Src.width(), SetField::Ipv6Src.name()), (16, "ipv6.src"));
        assert_eq!(SetField::from_id(0), None);
        assert_eq!(SetField::from_id(17), Some(SetField::ArpOp));
        assert_eq!((SetField::from_id(20), SetField::NdTll.width()), (Some(SetField::NdTarget), 6));
        assert_eq!(SetField::from_id(26), Some(SetField::Icmpv6Code));
        assert_eq!((SetField::from_id(27), SetField::NdReserved.width()), (Some(SetField::NdReserved), 4));
        assert_eq!(SetField::from_id(28).map(SetField::name), Some("nd_ext.nd_options_type"));
        assert_eq!(SetField::from_id(29), None);
    }

    #[test]
    fn unpacks_meter_bands_and_names_a_bad_one() {
        let mut b = vec![0u8; 2 * METER_BAND_LEN];
        for (at, v) in [(0, 1), (4, 1000), (8, 50), (16, 2), (20, 10), (24, 0), (28, 2)] {
            put_u32(&mut b, at, v);
        }
        let bands = unpack_meter_bands(&b).unwrap();
        assert_eq!(bands[0], BandConfig { kind: BandKind::Drop, rate: 1000, burst_size: 50 });
        assert_eq!(bands[1], BandConfig { kind: BandKind::DscpRemark { prec_level: 2 }, rate: 10, burst_size: 0 });
        put_u32(&mut b, 16, 3);
        assert_eq!(unpack_meter_bands(&b).unwrap_err(), "meter band 1: type 3 is not drop (1) or dscp_remark (2)");
        assert!(unpack_meter_bands(&b[..20]).is_err());
    }

    #[test]
    fn names_every_constant_once() {
        let t = describe();
        let mut names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), t.len());
    }
}
