//! Datapath actions: the binary list JS builds, validated once when a flow
//! is installed, then executed per packet.
//!
//! Encoding (its codes and sizes are in `abi.rs`): a sequence of TLVs, each
//! `u16 type, u16 len` (little-endian; `len` counts the payload only), the
//! payload, then zero padding so every TLV starts at a multiple of 8 bytes. Multi-byte protocol values inside
//! payloads (TPIDs, TCIs, addresses, ports) are network order; port numbers,
//! pids and cookies are little-endian. An empty list is `drop`.
//!
//! | type | action     | payload                                                       |
//! |------|------------|---------------------------------------------------------------|
//! | 1    | output     | u32 port                                                      |
//! | 2    | userspace  | u32 pid, u32 0, userdata (>= 0 bytes; cookie = first 8 LE)    |
//! | 3    | push_vlan  | be16 tpid, be16 tci (with the 0x1000 present bit)             |
//! | 4    | pop_vlan   | (none)                                                        |
//! | 5    | set        | u16 field, u16 flags, value[n], mask[n] (n from the field)    |
//! | 8    | meter      | u32 datapath meter id                                         |
//! | 9    | set_tunnel | be64 tun_id, src[4], dst[4], be16 flags, u8 tos, u8 ttl,      |
//! |      |            | be16 tp_src, be16 tp_dst, Geneve option TLVs (0..252 bytes)   |
//! | 10   | sample     | u32 probability (of u32::MAX), then a nested action list      |
//!
//! `sample` is OVS's OVS_ACTION_ATTR_SAMPLE: for a frame chosen with the
//! given probability (0 never, u32::MAX always) its nested list runs, on a
//! copy of the frame when the list changes it, so the actions after the
//! sample see the frame as it was. The nested list is validated with the
//! outer one (nested samples at most MAX_SAMPLE_DEPTH deep); the draw uses
//! a per-thread generator and allocates nothing. Typically the nested list
//! is one `userspace` whose userdata tells the slow path why (sFlow, IPFIX).
//!
//! `set` flags: bit 0 "written masked" and bit 1 "continues the previous
//! set(...) group" only matter to the TS printer; execution ignores them.
//!
//! `set_tunnel` is ODP's `set(tunnel(...))`: it gives the frame the
//! metadata an output to a tunnel vport encapsulates with (see
//! `port/tunnel.rs`); outputs to other ports ignore it.
//!
//! `meter` asks the sink's meter table about the frame: a frame over a drop
//! band's rate ends the list there (nothing after it runs), one over a DSCP
//! remark band's rate has its DSCP's drop precedence raised.

use crate::packet::{Packet, TunnelInfo, VnetHdr};
use crate::wire::checksum;
use crate::wire::ethernet::{self, ethertype, is_vlan_tpid, TCI_PRESENT};
use crate::wire::tunnel::{self, GENEVE_MAX_OPTS};
use crate::wire::{arp, icmp, ipv4, ipv6, tcp, udp};

pub use crate::abi::SetField;
use crate::abi::{
    ACTION_ALIGN, ACTION_HEADER_LEN, ACTION_METER, ACTION_OUTPUT, ACTION_POP_VLAN, ACTION_PUSH_VLAN, ACTION_SAMPLE,
    ACTION_SET, ACTION_SET_TUNNEL, ACTION_USERSPACE, SET_TUNNEL_FIXED_LEN,
};
use crate::meter::{remark_dscp, Verdict};
use std::cell::Cell;

/// One validated action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Output(u32),
    Userspace {
        pid: u32,
        cookie: u64,
        userdata: Box<[u8]>,
    },
    PushVlan {
        tpid: u16,
        tci: u16,
    },
    PopVlan,
    /// Write `value` under `mask` (only the first `field.width()` bytes are used).
    Set {
        field: SetField,
        value: [u8; 16],
        mask: [u8; 16],
    },
    /// Meter the frame with the datapath meter of this id.
    Meter(u32),
    /// Give the frame this egress tunnel metadata (boxed: it carries
    /// room for Geneve options that most actions do not need).
    SetTunnel(Box<TunnelInfo>),
    /// Run `actions` on the frames chosen with `probability` (of u32::MAX).
    Sample(Box<Sample>),
}

/// A `sample` action: a probability and the list chosen frames go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub probability: u32,
    pub actions: ActionList,
    /// The nested list changes the frame, so it runs on a copy.
    pub needs_copy: bool,
}

/// How deep samples may nest inside samples.
pub const MAX_SAMPLE_DEPTH: usize = 4;

/// A validated action list, ready to execute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionList {
    pub actions: Vec<Action>,
}

/// Why an encoded action list was refused at install time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// Fewer than 4 bytes left where a TLV header should start.
    TruncatedHeader { offset: usize },
    /// A TLV's length runs past the end of the list.
    TruncatedPayload { action: &'static str, offset: usize, len: usize },
    /// The type number is not an action this datapath knows.
    UnknownType { ty: u16, offset: usize },
    /// The payload length is wrong for the action.
    BadLength { action: &'static str, len: usize, expected: &'static str },
    /// push_vlan with a TPID other than 0x8100 or 0x88a8.
    BadTpid { tpid: u16 },
    /// push_vlan whose TCI lacks the 0x1000 "present" bit OVS requires.
    TciNotPresent { tci: u16 },
    /// set with a field id this datapath cannot write.
    UnknownSetField { id: u16 },
    /// set whose value has bits outside its mask.
    ValueOutsideMask { field: &'static str },
    /// set(tunnel(...)) with flags or Geneve options that cannot be sent.
    BadTunnel { reason: &'static str },
    /// A sample's nested list is refused (the inner error says why).
    InSample(Box<ActionError>),
    /// Samples nested deeper than MAX_SAMPLE_DEPTH.
    SampleTooDeep,
}

impl core::fmt::Display for ActionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use ActionError::*;
        match self {
            TruncatedHeader { offset } => {
                write!(f, "action list truncated: an action header at byte {offset} needs 4 bytes")
            }
            TruncatedPayload { action, offset, len } => {
                write!(f, "{action} action at byte {offset}: its {len}-byte payload runs past the end of the list")
            }
            UnknownType { ty, offset } => write!(f, "unknown action type {ty} at byte {offset}"),
            BadLength { action, len, expected } => {
                write!(f, "{action} action: payload is {len} bytes, expected {expected}")
            }
            BadTpid { tpid } => write!(f, "push_vlan action: tpid 0x{tpid:04x} is not 0x8100 or 0x88a8"),
            TciNotPresent { tci } => write!(f, "push_vlan action: tci 0x{tci:04x} lacks the 0x1000 present bit"),
            UnknownSetField { id } => write!(f, "set action: unknown field id {id}"),
            ValueOutsideMask { field } => write!(f, "set action: value for {field} has bits outside its mask"),
            BadTunnel { reason } => write!(f, "set(tunnel(...)) action: {reason}"),
            InSample(inner) => write!(f, "sample action's nested list: {inner}"),
            SampleTooDeep => write!(f, "sample actions nested more than {MAX_SAMPLE_DEPTH} deep"),
        }
    }
}

impl std::error::Error for ActionError {}

fn name_of(ty: u16) -> &'static str {
    match ty {
        ACTION_OUTPUT => "output",
        ACTION_USERSPACE => "userspace",
        ACTION_PUSH_VLAN => "push_vlan",
        ACTION_POP_VLAN => "pop_vlan",
        ACTION_SET => "set",
        ACTION_METER => "meter",
        ACTION_SET_TUNNEL => "set_tunnel",
        ACTION_SAMPLE => "sample",
        _ => "unknown",
    }
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Check an encoded action list and turn it into an `ActionList`.
pub fn validate(bytes: &[u8]) -> Result<ActionList, ActionError> {
    validate_nested(bytes, 0)
}

/// `validate` for a list inside `depth` samples.
fn validate_nested(bytes: &[u8], depth: usize) -> Result<ActionList, ActionError> {
    let mut actions = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let Some(h) = bytes.get(off..off + ACTION_HEADER_LEN) else {
            return Err(ActionError::TruncatedHeader { offset: off });
        };
        let ty = u16::from_le_bytes([h[0], h[1]]);
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let name = name_of(ty);
        let Some(p) = bytes.get(off + ACTION_HEADER_LEN..off + ACTION_HEADER_LEN + len) else {
            return Err(ActionError::TruncatedPayload { action: name, offset: off, len });
        };
        let exact = |n: usize, expected: &'static str| {
            if len == n {
                Ok(())
            } else {
                Err(ActionError::BadLength { action: name, len, expected })
            }
        };
        let a = match ty {
            ACTION_OUTPUT => {
                exact(4, "4 (u32 port)")?;
                Action::Output(u32_le(p))
            }
            ACTION_USERSPACE => {
                if len < 8 {
                    return Err(ActionError::BadLength { action: name, len, expected: "at least 8 (u32 pid, u32 0)" });
                }
                let ud = &p[8..];
                let mut c = [0u8; 8];
                let n = ud.len().min(8);
                c[..n].copy_from_slice(&ud[..n]);
                Action::Userspace { pid: u32_le(p), cookie: u64::from_le_bytes(c), userdata: ud.into() }
            }
            ACTION_PUSH_VLAN => {
                exact(4, "4 (tpid, tci)")?;
                let tpid = u16::from_be_bytes([p[0], p[1]]);
                let tci = u16::from_be_bytes([p[2], p[3]]);
                if !is_vlan_tpid(tpid) {
                    return Err(ActionError::BadTpid { tpid });
                }
                if tci & TCI_PRESENT == 0 {
                    return Err(ActionError::TciNotPresent { tci });
                }
                Action::PushVlan { tpid, tci }
            }
            ACTION_POP_VLAN => {
                exact(0, "0")?;
                Action::PopVlan
            }
            ACTION_SET => {
                if len < 4 {
                    return Err(ActionError::BadLength { action: name, len, expected: "4 + 2 * field width" });
                }
                let id = u16::from_le_bytes([p[0], p[1]]);
                let field = SetField::from_id(id).ok_or(ActionError::UnknownSetField { id })?;
                let n = field.width();
                if len != 4 + 2 * n {
                    return Err(ActionError::BadLength { action: field.name(), len, expected: "4 + 2 * field width" });
                }
                let (mut value, mut mask) = ([0u8; 16], [0u8; 16]);
                value[..n].copy_from_slice(&p[4..4 + n]);
                mask[..n].copy_from_slice(&p[4 + n..4 + 2 * n]);
                if value.iter().zip(&mask).any(|(v, m)| v & !m != 0) {
                    return Err(ActionError::ValueOutsideMask { field: field.name() });
                }
                Action::Set { field, value, mask }
            }
            ACTION_METER => {
                exact(4, "4 (u32 meter id)")?;
                Action::Meter(u32_le(p))
            }
            ACTION_SET_TUNNEL => {
                if len < SET_TUNNEL_FIXED_LEN {
                    return Err(ActionError::BadLength {
                        action: name,
                        len,
                        expected: "24 (tunnel metadata) + Geneve options",
                    });
                }
                Action::SetTunnel(Box::new(check_set_tunnel(p)?))
            }
            ACTION_SAMPLE => {
                if len < 4 {
                    return Err(ActionError::BadLength { action: name, len, expected: "at least 4 (u32 probability)" });
                }
                if depth == MAX_SAMPLE_DEPTH {
                    return Err(ActionError::SampleTooDeep);
                }
                let nested = validate_nested(&p[4..], depth + 1).map_err(|e| match e {
                    ActionError::SampleTooDeep => e,
                    e => ActionError::InSample(Box::new(e)),
                })?;
                let needs_copy = nested.actions.iter().any(changes_frame);
                Action::Sample(Box::new(Sample { probability: u32_le(p), actions: nested, needs_copy }))
            }
            _ => return Err(ActionError::UnknownType { ty, offset: off }),
        };
        actions.push(a);
        off += (ACTION_HEADER_LEN + len).next_multiple_of(ACTION_ALIGN);
    }
    Ok(ActionList { actions })
}

/// Whether running `a` can change the frame (or its metadata) that later actions see.
fn changes_frame(a: &Action) -> bool {
    match a {
        Action::Output(_) | Action::Userspace { .. } => false,
        // A remark band rewrites the DSCP.
        Action::Meter(_) => true,
        Action::PushVlan { .. } | Action::PopVlan | Action::Set { .. } | Action::SetTunnel(_) => true,
        Action::Sample(s) => s.actions.actions.iter().any(changes_frame),
    }
}

thread_local! {
    /// The sample draw's splitmix64 state (0: not seeded yet).
    static SAMPLE_RNG: Cell<u64> = const { Cell::new(0) };
}

/// A uniformly drawn u32 from this thread's generator, seeded from the
/// clock and the thread on first use.
fn next_random() -> u32 {
    SAMPLE_RNG.with(|state| {
        let mut s = state.get();
        if s == 0 {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
            s = nanos ^ (state as *const Cell<u64> as u64) | 1;
        }
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32
    })
}

/// Seed this thread's sample draw, so a test sees the same choices every run.
#[cfg(test)]
pub fn seed_sampling(seed: u64) {
    SAMPLE_RNG.with(|s| s.set(seed | 1));
}

/// Whether a sample of `probability` (of u32::MAX) takes this frame.
pub fn sample_chooses(probability: u32) -> bool {
    match probability {
        0 => false,
        u32::MAX => true,
        p => next_random() < p,
    }
}

/// Run a chosen sample's nested list: on `pkt` itself when the list leaves
/// the frame alone, else on a copy (allocated: frames sampled into a list
/// that rewrites them are rare).
pub fn execute_sample(s: &Sample, pkt: &mut Packet, out: &mut impl ActionSink) -> ExecReport {
    if !s.needs_copy {
        return execute(&s.actions, pkt, out);
    }
    let mut copy = Packet::from_frame(pkt.frame());
    copy.vnet = pkt.vnet;
    copy.in_port = pkt.in_port;
    copy.rx_tunnel = pkt.rx_tunnel;
    copy.egress_tunnel = pkt.egress_tunnel;
    execute(&s.actions, &mut copy, out)
}

fn check_set_tunnel(p: &[u8]) -> Result<TunnelInfo, ActionError> {
    let bad = |reason| Err(ActionError::BadTunnel { reason });
    let be16 = |at: usize| u16::from_be_bytes([p[at], p[at + 1]]);
    let mut t = TunnelInfo {
        tun_id: u64::from_be_bytes(p[0..8].try_into().expect("8 bytes")),
        src: p[8..12].try_into().expect("4 bytes"),
        dst: p[12..16].try_into().expect("4 bytes"),
        flags: be16(16),
        tos: p[18],
        ttl: p[19],
        tp_src: be16(20),
        tp_dst: be16(22),
        ..TunnelInfo::default()
    };
    let all = tunnel::flags::DONT_FRAGMENT | tunnel::flags::CSUM | tunnel::flags::KEY | tunnel::flags::OAM;
    if t.flags & !all != 0 {
        return bad("flags other than df, csum, key and oam");
    }
    if t.dst == [0; 4] {
        return bad("no destination (dst=0.0.0.0)");
    }
    let opts = &p[SET_TUNNEL_FIXED_LEN..];
    if opts.len() > GENEVE_MAX_OPTS || !opts.len().is_multiple_of(4) {
        return bad("Geneve options must be whole 4-byte words, at most 252 bytes");
    }
    let mut at = 0;
    while let Some(tlv) = opts.get(at..at + 4) {
        at += 4 + (tlv[3] & 0x1f) as usize * 4;
    }
    if at != opts.len() {
        return bad("a Geneve option's length runs past the options");
    }
    t.opts[..opts.len()].copy_from_slice(opts);
    t.opts_len = opts.len() as u8;
    Ok(t)
}

/// Where executed packets go. The sink copies what it keeps: execution goes
/// on modifying the same packet after `output` returns.
pub trait ActionSink {
    /// Send a copy of `pkt` out of datapath port `port` (may be called
    /// several times per list: flooding).
    fn output(&mut self, port: u32, pkt: &Packet);
    /// Hand a copy of `pkt` to JS (e.g. for a controller), with the
    /// userspace action's userdata (its first 8 bytes are `cookie`).
    fn userspace(&mut self, pkt: &Packet, cookie: u64, userdata: &[u8]);
    /// What datapath meter `meter_id` decides for `pkt` (counted there).
    fn meter(&mut self, meter_id: u32, pkt: &Packet) -> Verdict;
}

/// Why an action could not apply to a particular frame (which was left unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecError {
    /// pop_vlan on a frame without a VLAN tag.
    NoVlanTag,
    /// An IPv4 set on a frame without a whole IPv4 header.
    NotIpv4,
    /// An IPv6 set on a frame without a whole IPv6 header.
    NotIpv6,
    /// A port set on a frame without a whole header of that protocol.
    NoL4Header,
    /// An ARP set on a frame without a whole Ethernet/IPv4 ARP packet.
    NotArp,
    /// An ND set on a frame that is no whole IPv6 neighbor solicitation or
    /// advertisement.
    NotNd,
    /// An ICMP (ICMPv6) set on a frame without a whole ICMP header over
    /// IPv4 (ICMPv6 header over IPv6).
    NotIcmp,
    /// Not enough headroom (or the frame is too big) to push.
    NoRoom,
    /// The frame is shorter than an Ethernet header.
    Truncated,
}

/// What happened while executing one list on one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecReport {
    /// Actions that could not apply (the frame was left as it was for each).
    pub failed: u32,
    pub first_error: Option<ExecError>,
}

/// Execute `list` on `pkt`, sending copies to `out`.
pub fn execute(list: &ActionList, pkt: &mut Packet, out: &mut impl ActionSink) -> ExecReport {
    let mut report = ExecReport::default();
    for a in &list.actions {
        let r = match a {
            Action::Output(port) => {
                out.output(*port, pkt);
                Ok(())
            }
            Action::Userspace { cookie, userdata, .. } => {
                out.userspace(pkt, *cookie, userdata);
                Ok(())
            }
            Action::Sample(s) => {
                if sample_chooses(s.probability) {
                    let r = execute_sample(s, pkt, out);
                    report.failed += r.failed;
                    if let Some(e) = r.first_error {
                        report.first_error.get_or_insert(e);
                    }
                }
                Ok(())
            }
            Action::PushVlan { tpid, tci } => push_vlan(pkt, *tpid, *tci),
            Action::PopVlan => pop_vlan(pkt),
            Action::Set { field, value, mask } => {
                set_field(pkt, *field, &value[..field.width()], &mask[..field.width()])
            }
            Action::SetTunnel(t) => {
                pkt.egress_tunnel = Some(**t);
                Ok(())
            }
            Action::Meter(id) => match out.meter(*id, pkt) {
                Verdict::Pass => Ok(()),
                Verdict::Drop => return report,
                Verdict::Remark { prec_level } => {
                    remark(pkt, prec_level);
                    Ok(())
                }
            },
        };
        if let Err(e) = r {
            report.failed += 1;
            report.first_error.get_or_insert(e);
        }
    }
    report
}

/// Raise the drop precedence of an IP frame's DSCP (a meter's DSCP remark
/// band), keeping the IPv4 checksum right. Other frames have no DSCP and
/// pass unchanged.
pub fn remark(pkt: &mut Packet, prec_level: u8) {
    let f = pkt.frame();
    let Some((ty, l3)) = l3_of(f) else { return };
    let (field, tos) = match ty {
        ethertype::IPV4 if f.len() >= l3 + ipv4::MIN_HEADER_LEN => (SetField::Ipv4Tos, f[l3 + 1]),
        ethertype::IPV6 if f.len() >= l3 + ipv6::HEADER_LEN => (SetField::Ipv6Tclass, (f[l3] << 4) | (f[l3 + 1] >> 4)),
        _ => return,
    };
    let dscp = remark_dscp(tos >> 2, prec_level);
    // Only the DSCP bits change; the ECN bits stay the frame's own.
    let _ = set_field(pkt, field, &[dscp << 2], &[0xfc]);
}

fn push_vlan(pkt: &mut Packet, tpid: u16, tci: u16) -> Result<(), ExecError> {
    if pkt.len() < ethernet::HEADER_LEN {
        return Err(ExecError::Truncated);
    }
    if pkt.len() + ethernet::VLAN_TAG_LEN > crate::packet::MAX_FRAME {
        return Err(ExecError::NoRoom);
    }
    let gap = pkt.insert_gap(12, 4).ok_or(ExecError::NoRoom)?;
    gap[..2].copy_from_slice(&tpid.to_be_bytes());
    gap[2..].copy_from_slice(&(tci & !TCI_PRESENT).to_be_bytes());
    pkt.vnet.shift(4);
    Ok(())
}

fn pop_vlan(pkt: &mut Packet) -> Result<(), ExecError> {
    let f = pkt.frame();
    if f.len() < ethernet::HEADER_LEN + ethernet::VLAN_TAG_LEN || !is_vlan_tpid(u16::from_be_bytes([f[12], f[13]])) {
        return Err(ExecError::NoVlanTag);
    }
    pkt.remove_range(12, 4);
    pkt.vnet.shift(-4);
    Ok(())
}

/// EtherType after the VLAN tags and the offset of the L3 header.
fn l3_of(f: &[u8]) -> Option<(u16, usize)> {
    let mut ty = ethernet::Frame::new_checked(f).ok()?.ethertype();
    let mut off = ethernet::HEADER_LEN;
    while is_vlan_tpid(ty) {
        ty = ethernet::VlanTag::new_checked(f.get(off..)?).ok()?.ethertype();
        off += ethernet::VLAN_TAG_LEN;
    }
    Some((ty, off))
}

/// Masked write of `value` into `dst`, returning the old bytes.
fn write_masked(dst: &mut [u8], value: &[u8], mask: &[u8]) {
    for ((d, v), m) in dst.iter_mut().zip(value).zip(mask) {
        *d = (*d & !m) | (v & m);
    }
}

/// Where the L4 header of the IP packet at `l3` is: (proto, offset), when
/// this fragment carries it.
fn l4_of(f: &[u8], ty: u16, l3: usize) -> Option<(u8, usize)> {
    match ty {
        ethertype::IPV4 => {
            let ip = ipv4::Packet::new_checked(&f[l3..]).ok()?;
            if ip.frag_offset() != 0 {
                return None;
            }
            Some((ip.protocol(), l3 + ip.header_len()))
        }
        ethertype::IPV6 => {
            let up = ipv6::upper_layer(&f[l3..]);
            if up.truncated || up.later_fragment {
                return None;
            }
            Some((up.proto, l3 + up.offset))
        }
        _ => None,
    }
}

/// Offset of the L4 checksum that covers the pseudo-header, for a protocol.
fn l4_checksum_offset(proto: u8, v6: bool) -> Option<(usize, usize)> {
    match proto {
        ipv4::proto::TCP => Some((tcp::CHECKSUM_OFFSET, tcp::MIN_HEADER_LEN)),
        ipv4::proto::UDP => Some((udp::CHECKSUM_OFFSET, udp::HEADER_LEN)),
        ipv4::proto::ICMPV6 if v6 => Some((icmp::CHECKSUM_OFFSET, icmp::HEADER_LEN)),
        _ => None,
    }
}

/// Account for covered bytes changing `old -> new` in the L4 checksum at
/// frame offset `at`: a partial (offload) sum is updated without the
/// complement, a UDP zero checksum stays zero.
fn update_l4(f: &mut [u8], vnet: &VnetHdr, at: usize, is_udp: bool, old: &[u8], new: &[u8]) {
    let c = u16::from_be_bytes([f[at], f[at + 1]]);
    let partial = vnet.flags & VnetHdr::F_NEEDS_CSUM != 0 && vnet.csum_start as usize + vnet.csum_offset as usize == at;
    let n = if partial {
        checksum::update_sum(c, old, new)
    } else if is_udp && c == 0 {
        return;
    } else {
        let n = checksum::update(c, old, new);
        if is_udp && n == 0 {
            0xffff
        } else {
            n
        }
    };
    f[at..at + 2].copy_from_slice(&n.to_be_bytes());
}

fn set_field(pkt: &mut Packet, field: SetField, value: &[u8], mask: &[u8]) -> Result<(), ExecError> {
    use SetField::*;
    let vnet = pkt.vnet;
    let f = pkt.frame_mut();
    if f.len() < ethernet::HEADER_LEN {
        return Err(ExecError::Truncated);
    }
    match field {
        EthDst => write_masked(&mut f[0..6], value, mask),
        EthSrc => write_masked(&mut f[6..12], value, mask),
        Ipv4Src | Ipv4Dst | Ipv4Tos | Ipv4Ttl => {
            let (ty, l3) = l3_of(f).ok_or(ExecError::NotIpv4)?;
            if ty != ethertype::IPV4 {
                return Err(ExecError::NotIpv4);
            }
            ipv4::Packet::new_checked(&f[l3..]).map_err(|_| ExecError::NotIpv4)?;
            // The bytes to change, as a 2-byte-aligned run of the header.
            let (at, n, pseudo) = match field {
                Ipv4Src => (l3 + 12, 4, true),
                Ipv4Dst => (l3 + 16, 4, true),
                Ipv4Tos => (l3, 2, false),
                _ => (l3 + 8, 2, false),
            };
            let old: [u8; 4] = {
                let mut o = [0u8; 4];
                o[..n].copy_from_slice(&f[at..at + n]);
                o
            };
            match field {
                Ipv4Tos => write_masked(&mut f[at + 1..at + 2], value, mask),
                Ipv4Ttl => write_masked(&mut f[at..at + 1], value, mask),
                _ => write_masked(&mut f[at..at + 4], value, mask),
            }
            let new: [u8; 4] = f[at..at + 4].try_into().unwrap_or([0; 4]);
            let (old, new) = (&old[..n], &new[..n]);
            let c = u16::from_be_bytes([f[l3 + 10], f[l3 + 11]]);
            f[l3 + 10..l3 + 12].copy_from_slice(&checksum::update(c, old, new).to_be_bytes());
            if pseudo {
                if let Some((proto, l4)) = l4_of(f, ty, l3) {
                    if let Some((ck, min)) = l4_checksum_offset(proto, false) {
                        if f.len() >= l4 + min {
                            let (old, new) = (old.to_vec(), new.to_vec());
                            update_l4(f, &vnet, l4 + ck, proto == ipv4::proto::UDP, &old, &new);
                        }
                    }
                }
            }
        }
        Ipv6Src | Ipv6Dst | Ipv6Tclass | Ipv6Hlimit => {
            let (ty, l3) = l3_of(f).ok_or(ExecError::NotIpv6)?;
            if ty != ethertype::IPV6 || ipv6::Packet::new_checked(&f[l3..]).is_err() {
                return Err(ExecError::NotIpv6);
            }
            match field {
                Ipv6Hlimit => write_masked(&mut f[l3 + 7..l3 + 8], value, mask),
                Ipv6Tclass => {
                    let tc = (f[l3] << 4) | (f[l3 + 1] >> 4);
                    let tc = (tc & !mask[0]) | (value[0] & mask[0]);
                    f[l3] = (f[l3] & 0xf0) | (tc >> 4);
                    f[l3 + 1] = (f[l3 + 1] & 0x0f) | (tc << 4);
                }
                _ => {
                    let at = if field == Ipv6Src { l3 + 8 } else { l3 + 24 };
                    let old: [u8; 16] = f[at..at + 16].try_into().unwrap_or([0; 16]);
                    write_masked(&mut f[at..at + 16], value, mask);
                    let new: [u8; 16] = f[at..at + 16].try_into().unwrap_or([0; 16]);
                    if let Some((proto, l4)) = l4_of(f, ty, l3) {
                        if let Some((ck, min)) = l4_checksum_offset(proto, true) {
                            if f.len() >= l4 + min {
                                update_l4(f, &vnet, l4 + ck, proto == ipv4::proto::UDP, &old, &new);
                            }
                        }
                    }
                }
            }
        }
        ArpSip | ArpTip | ArpOp | ArpSha | ArpTha => {
            let (ty, l3) = l3_of(f).ok_or(ExecError::NotArp)?;
            if !matches!(ty, ethertype::ARP | ethertype::RARP) || arp::Packet::new_checked(&f[l3..]).is_err() {
                return Err(ExecError::NotArp);
            }
            // ARP has no checksum: the bytes are the whole change.
            let (at, n) = match field {
                ArpOp => (6, 2),
                ArpSha => (8, 6),
                ArpSip => (14, 4),
                ArpTha => (18, 6),
                _ => (24, 4),
            };
            write_masked(&mut f[l3 + at..l3 + at + n], value, mask);
        }
        NdTarget | NdSll | NdTll | NdReserved | NdOptionsType => set_nd(f, &vnet, field, value, mask)?,
        IcmpType | IcmpCode | Icmpv6Type | Icmpv6Code => set_icmp(f, &vnet, field, value, mask)?,
        TcpSrc | TcpDst | UdpSrc | UdpDst => {
            let want = if matches!(field, TcpSrc | TcpDst) { ipv4::proto::TCP } else { ipv4::proto::UDP };
            let (ty, l3) = l3_of(f).ok_or(ExecError::NoL4Header)?;
            let (proto, l4) = l4_of(f, ty, l3).ok_or(ExecError::NoL4Header)?;
            let (ck, min) = l4_checksum_offset(proto, false).ok_or(ExecError::NoL4Header)?;
            if proto != want || f.len() < l4 + min {
                return Err(ExecError::NoL4Header);
            }
            let at = if matches!(field, TcpSrc | UdpSrc) { l4 } else { l4 + 2 };
            let old = [f[at], f[at + 1]];
            write_masked(&mut f[at..at + 2], value, mask);
            let new = [f[at], f[at + 1]];
            // With checksum offload pending, the field holds only the
            // pseudo-header sum, which does not cover the ports.
            if vnet.flags & VnetHdr::F_NEEDS_CSUM == 0 {
                update_l4(f, &vnet, l4 + ck, proto == ipv4::proto::UDP, &old, &new);
            }
        }
    }
    Ok(())
}

/// Rewrites the target, a link-layer address option, the reserved word or
/// the first option's type of an IPv6 neighbor solicitation/advertisement,
/// keeping the ICMPv6 checksum right. As in OVS (`packet_set_nd`), an
/// address is written only into the message's first link-layer address
/// option, and only when that option is the one asked for: setting the
/// target link-layer address (tll) of a solicitation, which carries a
/// source address option, changes nothing. The options type is written
/// into the first option whatever it is (OVS's `packet_set_nd_ext`), so a
/// solicitation's source address option becomes a target address option;
/// a message without options has none to change.
fn set_nd(f: &mut [u8], vnet: &VnetHdr, field: SetField, value: &[u8], mask: &[u8]) -> Result<(), ExecError> {
    let (ty, l3) = l3_of(f).ok_or(ExecError::NotNd)?;
    if ty != ethertype::IPV6 {
        return Err(ExecError::NotNd);
    }
    let ip = ipv6::Packet::new_checked(&f[l3..]).map_err(|_| ExecError::NotNd)?;
    // The message ends with the IPv6 payload, before any Ethernet padding.
    let end = (l3 + ipv6::HEADER_LEN + ip.payload_len() as usize).min(f.len());
    let (proto, l4) = l4_of(f, ty, l3).ok_or(ExecError::NotNd)?;
    if proto != ipv4::proto::ICMPV6 || l4 > end {
        return Err(ExecError::NotNd);
    }
    let msg = &f[l4..end];
    icmp::nd_target(msg).ok_or(ExecError::NotNd)?;
    let at = match field {
        SetField::NdTarget => icmp::ND_TARGET_OFFSET,
        SetField::NdReserved => icmp::ND_RESERVED_OFFSET,
        // The option's type and length bytes must both be there.
        SetField::NdOptionsType if msg.len() >= icmp::ND_OPTIONS_OFFSET + 2 => icmp::ND_OPTIONS_OFFSET,
        SetField::NdOptionsType => return Ok(()),
        _ => {
            let want = if field == SetField::NdSll { icmp::ND_OPT_SOURCE_LL } else { icmp::ND_OPT_TARGET_LL };
            match icmp::nd_first_link_layer(msg) {
                Some((opt, at)) if opt == want => at,
                _ => return Ok(()),
            }
        }
    };
    let (at, n) = (l4 + at, value.len());
    let old: [u8; 16] = {
        let mut o = [0u8; 16];
        o[..n].copy_from_slice(&f[at..at + n]);
        o
    };
    write_masked(&mut f[at..at + n], value, mask);
    let new: [u8; 16] = {
        let mut o = [0u8; 16];
        o[..n].copy_from_slice(&f[at..at + n]);
        o
    };
    // With checksum offload pending, the checksum field holds only the
    // pseudo-header sum, which does not cover the message body.
    if vnet.flags & VnetHdr::F_NEEDS_CSUM == 0 {
        update_l4(f, vnet, l4 + icmp::CHECKSUM_OFFSET, false, &old[..n], &new[..n]);
    }
    Ok(())
}

/// Rewrites the type or code of an ICMP message over IPv4, or of an ICMPv6
/// one over IPv6, keeping its checksum right (ICMPv6's covers the
/// pseudo-header too, which does not change).
fn set_icmp(f: &mut [u8], vnet: &VnetHdr, field: SetField, value: &[u8], mask: &[u8]) -> Result<(), ExecError> {
    let v6 = matches!(field, SetField::Icmpv6Type | SetField::Icmpv6Code);
    let (ty, l3) = l3_of(f).ok_or(ExecError::NotIcmp)?;
    let (want_ty, want_proto) =
        if v6 { (ethertype::IPV6, ipv4::proto::ICMPV6) } else { (ethertype::IPV4, ipv4::proto::ICMP) };
    if ty != want_ty {
        return Err(ExecError::NotIcmp);
    }
    let (proto, l4) = l4_of(f, ty, l3).ok_or(ExecError::NotIcmp)?;
    if proto != want_proto || f.len() < l4 + icmp::HEADER_LEN {
        return Err(ExecError::NotIcmp);
    }
    // Type and code are the message's first 16-bit word.
    let old = [f[l4], f[l4 + 1]];
    let at = if matches!(field, SetField::IcmpType | SetField::Icmpv6Type) { l4 } else { l4 + 1 };
    write_masked(&mut f[at..at + 1], value, mask);
    let new = [f[l4], f[l4 + 1]];
    if vnet.flags & VnetHdr::F_NEEDS_CSUM == 0 {
        update_l4(f, vnet, l4 + icmp::CHECKSUM_OFFSET, false, &old, &new);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::tests::{eth, ipv4_frame, ipv6_frame, tcp_hdr, udp_hdr};
    use crate::flow::key::FlowKey;
    use crate::wire::checksum as cs;

    #[derive(Default)]
    struct Sink {
        out: Vec<(u32, Vec<u8>)>,
        up: Vec<(u64, Vec<u8>)>,
        meters: crate::meter::MeterTable,
    }
    impl ActionSink for Sink {
        fn output(&mut self, port: u32, pkt: &Packet) {
            self.out.push((port, pkt.frame().to_vec()));
        }
        fn userspace(&mut self, pkt: &Packet, cookie: u64, _userdata: &[u8]) {
            self.up.push((cookie, pkt.frame().to_vec()));
        }
        fn meter(&mut self, meter_id: u32, pkt: &Packet) -> Verdict {
            // A stopped clock: only the buckets' initial burst passes.
            self.meters.apply(meter_id, pkt.len(), 0)
        }
    }

    fn tlv(ty: u16, p: &[u8]) -> Vec<u8> {
        let mut v = ty.to_le_bytes().to_vec();
        v.extend_from_slice(&(p.len() as u16).to_le_bytes());
        v.extend_from_slice(p);
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
        v
    }
    fn output(port: u32) -> Vec<u8> {
        tlv(ACTION_OUTPUT, &port.to_le_bytes())
    }
    fn set(field: SetField, value: &[u8], mask: &[u8]) -> Vec<u8> {
        let mut p = (field as u16).to_le_bytes().to_vec();
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(value);
        p.extend_from_slice(mask);
        tlv(ACTION_SET, &p)
    }
    fn run(list: &[u8], frame: &[u8]) -> (Packet, Sink, ExecReport) {
        let l = validate(list).unwrap();
        let mut p = Packet::from_frame(frame);
        let mut s = Sink::default();
        let r = execute(&l, &mut p, &mut s);
        (p, s, r)
    }

    /// Recompute every checksum of an Ethernet/IPv4|IPv6/TCP|UDP frame from scratch.
    fn checksums_valid(f: &[u8]) -> bool {
        let (ty, l3) = l3_of(f).unwrap();
        let (proto, l4, pseudo) = if ty == 0x0800 {
            let ip = ipv4::Packet::new_checked(&f[l3..]).unwrap();
            if !ip.verify_checksum() {
                return false;
            }
            let l4len = ip.total_len() as usize - ip.header_len();
            (ip.protocol(), l3 + ip.header_len(), cs::pseudo_v4(ip.src(), ip.dst(), ip.protocol(), l4len as u16))
        } else {
            let ip = ipv6::Packet::new_checked(&f[l3..]).unwrap();
            (ip.next_header(), l3 + 40, cs::pseudo_v6(ip.src(), ip.dst(), ip.next_header(), ip.payload_len() as u32))
        };
        if proto == 17 && f[l4 + 6..l4 + 8] == [0, 0] {
            return true;
        }
        if proto == 1 {
            return cs::fold(cs::sum(0, &f[l4..])) == 0xffff;
        }
        cs::fold(cs::sum(pseudo, &f[l4..])) == 0xffff
    }

    #[test]
    fn empty_list_is_drop() {
        let (_, s, r) = run(&[], &ipv4_frame(6, &tcp_hdr()));
        assert!(validate(&[]).unwrap().actions.is_empty());
        assert!(s.out.is_empty() && s.up.is_empty());
        assert_eq!(r, ExecReport::default());
    }

    #[test]
    fn floods_to_every_listed_port_and_sends_to_userspace_with_its_cookie() {
        let f = ipv4_frame(17, &udp_hdr());
        let mut l = [output(1), output(2), output(5)].concat();
        let mut up = 0u32.to_le_bytes().to_vec();
        up.extend_from_slice(&[0; 4]);
        up.extend_from_slice(&0xdead_beefu64.to_le_bytes());
        l.extend(tlv(ACTION_USERSPACE, &up));
        let (_, s, _) = run(&l, &f);
        assert_eq!(s.out.iter().map(|o| o.0).collect::<Vec<_>>(), vec![1, 2, 5]);
        assert!(s.out.iter().all(|o| o.1 == f));
        assert_eq!(s.up, vec![(0xdead_beef, f)]);
    }

    #[test]
    fn push_vlan_inserts_a_tag_after_the_addresses_and_pop_vlan_removes_it() {
        let f = ipv4_frame(6, &tcp_hdr());
        let l = [tlv(ACTION_PUSH_VLAN, &[0x81, 0x00, 0x30, 0x0a]), output(1), tlv(ACTION_POP_VLAN, &[]), output(2)]
            .concat();
        let (p, s, r) = run(&l, &f);
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x20, 0x0a]); // present bit cleared on the wire
        tagged.extend_from_slice(&f[12..]);
        assert_eq!(s.out[0].1, tagged);
        assert_eq!(s.out[1].1, f);
        assert_eq!(p.frame(), &f[..]);
        assert_eq!(r.failed, 0);
    }

    #[test]
    fn vlan_push_and_pop_shift_the_offload_offsets() {
        let mut p = Packet::from_frame(&ipv4_frame(6, &tcp_hdr()));
        p.vnet = VnetHdr { flags: VnetHdr::F_NEEDS_CSUM, csum_start: 34, csum_offset: 16, ..VnetHdr::default() };
        let l = validate(&tlv(ACTION_PUSH_VLAN, &[0x88, 0xa8, 0x10, 0x05])).unwrap();
        execute(&l, &mut p, &mut Sink::default());
        assert_eq!(p.vnet.csum_start, 38);
        execute(&validate(&tlv(ACTION_POP_VLAN, &[])).unwrap(), &mut p, &mut Sink::default());
        assert_eq!(p.vnet.csum_start, 34);
    }

    #[test]
    fn arp_sets_turn_a_request_into_a_reply_and_refuse_other_frames() {
        let mut req = eth(0x0806);
        req.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        req.extend_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
        req.extend_from_slice(&[10, 0, 0, 1]);
        req.extend_from_slice(&[0; 6]);
        req.extend_from_slice(&[10, 0, 0, 2]);
        let l: Vec<u8> = [
            set(SetField::ArpOp, &[0, 2], &[0xff, 0xff]),
            set(SetField::ArpSha, &[2, 0, 0, 0, 0, 0xbb], &[0xff; 6]),
            set(SetField::ArpSip, &[10, 0, 0, 2], &[0xff; 4]),
            set(SetField::ArpTha, &[2, 0, 0, 0, 0, 0xaa], &[0xff; 6]),
            set(SetField::ArpTip, &[10, 0, 0, 1], &[0xff; 4]),
        ]
        .concat();
        let (p, _, r) = run(&l, &req);
        assert_eq!(r.failed, 0);
        let g = p.frame();
        assert_eq!(&g[..20], &req[..20]);
        assert_eq!(&g[20..22], &[0, 2]);
        assert_eq!(&g[22..28], &[2, 0, 0, 0, 0, 0xbb]);
        assert_eq!(&g[28..32], &[10, 0, 0, 2]);
        assert_eq!(&g[32..38], &[2, 0, 0, 0, 0, 0xaa]);
        assert_eq!(&g[38..42], &[10, 0, 0, 1]);

        let f = ipv4_frame(6, &tcp_hdr());
        let (p, _, r) = run(&set(SetField::ArpOp, &[0, 2], &[0xff, 0xff]), &f);
        assert_eq!((p.frame(), r.first_error), (&f[..], Some(ExecError::NotArp)));
    }

    #[test]
    fn pop_vlan_on_an_untagged_frame_leaves_it_and_reports() {
        let f = ipv4_frame(6, &tcp_hdr());
        let (p, _, r) = run(&tlv(ACTION_POP_VLAN, &[]), &f);
        assert_eq!(p.frame(), &f[..]);
        assert_eq!(r, ExecReport { failed: 1, first_error: Some(ExecError::NoVlanTag) });
    }

    #[test]
    fn sets_ethernet_addresses() {
        let f = ipv4_frame(6, &tcp_hdr());
        let l = [
            set(SetField::EthSrc, &[2, 0, 0, 0, 0, 9], &[0xff; 6]),
            set(SetField::EthDst, &[0, 0, 0, 0, 0, 0x77], &[0, 0, 0, 0, 0, 0xff]),
        ]
        .concat();
        let (p, _, _) = run(&l, &f);
        assert_eq!(&p.frame()[6..12], &[2, 0, 0, 0, 0, 9]);
        assert_eq!(&p.frame()[0..6], &[0x00, 0x00, 0x5e, 0x00, 0x53, 0x77]);
        assert_eq!(&p.frame()[12..], &f[12..]);
    }

    #[test]
    fn ipv4_sets_keep_ip_and_l4_checksums_valid() {
        for proto in [6u8, 17] {
            let l4 = if proto == 6 { tcp_hdr() } else { udp_hdr() };
            let f = ipv4_frame(proto, &l4);
            let l = [
                set(SetField::Ipv4Src, &[192, 168, 7, 9], &[0xff; 4]),
                set(SetField::Ipv4Dst, &[172, 16, 0, 0], &[0xff, 0xff, 0, 0]),
                set(SetField::Ipv4Ttl, &[9], &[0xff]),
                set(SetField::Ipv4Tos, &[0x28], &[0xfc]), // DSCP only
            ]
            .concat();
            let (p, _, r) = run(&l, &f);
            let g = p.frame();
            assert_eq!(r.failed, 0);
            assert_eq!(&g[26..30], &[192, 168, 7, 9]);
            assert_eq!(&g[30..34], &[172, 16, 0, 2]);
            assert_eq!((g[22], g[15]), (9, 0x28)); // ECN bits of 0xb8 were 00
            assert!(checksums_valid(g), "proto {proto}");
        }
    }

    fn meter_action(id: u32) -> Vec<u8> {
        tlv(ACTION_METER, &id.to_le_bytes())
    }

    fn metered_sink(kind: crate::meter::BandKind, burst: u32) -> Sink {
        use crate::meter::{BandConfig, MeterConfig};
        let mut s = Sink::default();
        let cfg = MeterConfig { pktps: true, bands: vec![BandConfig { kind, rate: 10, burst_size: burst }] };
        s.meters.set(3, &cfg, 0).unwrap();
        s
    }

    #[test]
    fn a_meter_over_its_drop_band_ends_the_list_before_its_outputs() {
        let l = validate(&[meter_action(3), output(1), output(2)].concat()).unwrap();
        let mut s = metered_sink(crate::meter::BandKind::Drop, 2);
        for _ in 0..5 {
            let mut p = Packet::from_frame(&ipv4_frame(17, &udp_hdr()));
            assert_eq!(execute(&l, &mut p, &mut s).failed, 0);
        }
        // Two frames of burst, each to both ports.
        assert_eq!(s.out.iter().map(|(port, _)| *port).collect::<Vec<_>>(), vec![1, 2, 1, 2]);
        assert_eq!(s.meters.stats(3).unwrap().bands, vec![(3, 3 * ipv4_frame(17, &udp_hdr()).len() as u64)]);
    }

    #[test]
    fn a_meter_over_its_remark_band_raises_the_dscp_drop_precedence_with_valid_checksums() {
        let to_af11 = set(SetField::Ipv4Tos, &[10 << 2], &[0xfc]);
        let l = validate(&[to_af11, meter_action(3), output(1)].concat()).unwrap();
        let mut s = metered_sink(crate::meter::BandKind::DscpRemark { prec_level: 1 }, 1);
        for _ in 0..3 {
            let mut p = Packet::from_frame(&ipv4_frame(6, &tcp_hdr()));
            execute(&l, &mut p, &mut s);
        }
        let tos: Vec<u8> = s.out.iter().map(|(_, f)| f[15]).collect();
        // AF11 within the burst, then AF12; the ECN bits are the frame's own (00).
        assert_eq!(tos, vec![10 << 2, 12 << 2, 12 << 2]);
        assert!(s.out.iter().all(|(_, f)| checksums_valid(f)));
    }

    #[test]
    fn remark_changes_the_ipv6_traffic_class_and_leaves_other_frames_alone() {
        let mut f = ipv6_frame(17, &udp_hdr());
        // Traffic class AF11 with ECN 01.
        let af11 = (10 << 2) | 1;
        f[14] = 0x60 | (af11 >> 4);
        f[15] = (af11 << 4) | (f[15] & 0x0f);
        let mut p = Packet::from_frame(&f);
        remark(&mut p, 2);
        let tc = (p.frame()[14] << 4) | (p.frame()[15] >> 4);
        assert_eq!(tc, (14 << 2) | 1, "AF13, ECN kept");
        assert!(checksums_valid(p.frame()));
        let mut arp = eth(0x0806);
        arp.extend_from_slice(&[0u8; 28]);
        let mut q = Packet::from_frame(&arp);
        remark(&mut q, 1);
        assert_eq!(q.frame(), &arp[..]);
    }

    #[test]
    fn a_udp_zero_checksum_stays_zero() {
        let mut f = ipv4_frame(17, &udp_hdr());
        f[40..42].copy_from_slice(&[0, 0]);
        let (p, _, _) = run(&set(SetField::Ipv4Src, &[1, 2, 3, 4], &[0xff; 4]), &f);
        assert_eq!(&p.frame()[40..42], &[0, 0]);
        assert!(ipv4::Packet::new_checked(&p.frame()[14..]).unwrap().verify_checksum());
    }

    #[test]
    fn l4_port_sets_keep_checksums_valid() {
        let (p, _, _) = run(&set(SetField::TcpDst, &[0x1f, 0x90], &[0xff, 0xff]), &ipv4_frame(6, &tcp_hdr()));
        assert_eq!(&p.frame()[36..38], &[0x1f, 0x90]);
        assert!(checksums_valid(p.frame()));
        let (p, _, _) = run(&set(SetField::UdpSrc, &[0, 7], &[0xff, 0xff]), &ipv6_frame(17, &udp_hdr()));
        assert_eq!(&p.frame()[54..56], &[0, 7]);
        assert!(checksums_valid(p.frame()));
    }

    #[test]
    fn a_port_set_on_the_wrong_protocol_is_reported_not_applied() {
        let f = ipv4_frame(17, &udp_hdr());
        let (p, _, r) = run(&set(SetField::TcpDst, &[0, 1], &[0xff, 0xff]), &f);
        assert_eq!((p.frame(), r.first_error), (&f[..], Some(ExecError::NoL4Header)));
        let (p, _, r) = run(&set(SetField::Ipv6Hlimit, &[1], &[0xff]), &f);
        assert_eq!((p.frame(), r.first_error), (&f[..], Some(ExecError::NotIpv6)));
    }

    #[test]
    fn ipv6_sets_keep_the_l4_checksum_valid() {
        for (next, l4) in [(6u8, tcp_hdr()), (17, udp_hdr()), (58, vec![128, 0, 0, 0, 0, 1, 0, 1])] {
            let f = ipv6_frame(next, &l4);
            let mut a = [0u8; 16];
            a[0] = 0xfd;
            a[15] = 0x42;
            let l = [
                set(SetField::Ipv6Src, &a, &[0xff; 16]),
                set(SetField::Ipv6Tclass, &[0x04], &[0xff]),
                set(SetField::Ipv6Hlimit, &[3], &[0xff]),
            ]
            .concat();
            let (p, _, r) = run(&l, &f);
            let g = p.frame();
            assert_eq!(r.failed, 0);
            assert_eq!(&g[22..38], &a);
            let ip = ipv6::Packet::new_checked(&g[14..]).unwrap();
            assert_eq!((ip.traffic_class(), ip.flow_label(), ip.hop_limit()), (0x04, 0x12345, 3));
            assert!(checksums_valid(g), "next {next}");
        }
    }

    #[test]
    fn with_checksum_offload_ip_sets_update_the_partial_sum_and_port_sets_leave_it() {
        let mut f = ipv4_frame(6, &tcp_hdr());
        let l4len = (f.len() - 34) as u16;
        let partial = cs::fold(cs::pseudo_v4([10, 0, 0, 1], [10, 0, 0, 2], 6, l4len));
        f[50..52].copy_from_slice(&partial.to_be_bytes());
        let mut p = Packet::from_frame(&f);
        p.vnet = VnetHdr { flags: VnetHdr::F_NEEDS_CSUM, csum_start: 34, csum_offset: 16, ..VnetHdr::default() };
        let l = validate(
            &[set(SetField::Ipv4Dst, &[10, 9, 9, 9], &[0xff; 4]), set(SetField::TcpSrc, &[0, 1], &[0xff, 0xff])]
                .concat(),
        )
        .unwrap();
        execute(&l, &mut p, &mut Sink::default());
        let want = cs::fold(cs::pseudo_v4([10, 0, 0, 1], [10, 9, 9, 9], 6, l4len));
        assert_eq!(&p.frame()[50..52], &want.to_be_bytes());
        assert_eq!(&p.frame()[34..36], &[0, 1]);
    }

    fn set_tunnel(tun_id: u64, dst: [u8; 4], flags: u16, opts: &[u8]) -> Vec<u8> {
        let mut p = tun_id.to_be_bytes().to_vec();
        p.extend_from_slice(&[192, 0, 2, 1]);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&flags.to_be_bytes());
        p.extend_from_slice(&[0, 64, 0, 0, 0x12, 0xb5]);
        p.extend_from_slice(opts);
        tlv(ACTION_SET_TUNNEL, &p)
    }

    #[test]
    fn set_tunnel_gives_the_frame_its_egress_metadata_for_the_outputs_after_it() {
        let opts = [0x01, 0x02, 0x80, 0x01, 0, 0, 0, 7];
        let list = [set_tunnel(0x5, [192, 0, 2, 2], 0x5, &opts), output(3)].concat();
        let (p, s, r) = run(&list, &ipv4_frame(17, &udp_hdr()));
        assert_eq!((r.failed, s.out.len()), (0, 1));
        let t = p.egress_tunnel.expect("set_tunnel sets the egress tunnel");
        assert_eq!(
            (t.tun_id, t.src, t.dst, t.flags, t.ttl, t.tp_dst),
            (5, [192, 0, 2, 1], [192, 0, 2, 2], 5, 64, 4789)
        );
        assert_eq!(t.options(), &opts[..]);
    }

    fn nd_frame(ty: u8, option: u8) -> Vec<u8> {
        let mut m = vec![ty, 0, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        m.extend_from_slice(&[option, 1, 0x02, 0, 0, 0, 0, 0x0a]);
        ipv6_frame(58, &m)
    }

    /// The ICMPv6 message of an Ethernet/IPv6 frame with no extension headers.
    fn icmp6(f: &[u8]) -> &[u8] {
        &f[14 + 40..]
    }

    #[test]
    fn nd_sets_rewrite_the_target_and_the_link_layer_option_with_a_valid_checksum() {
        let mac = [0x00, 0x00, 0x00, 0x00, 0x00, 0x01];
        let target = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99];
        let list = [set(SetField::NdTarget, &target, &[0xff; 16]), set(SetField::NdTll, &mac, &[0xff; 6])].concat();
        let (p, _, r) = run(&list, &nd_frame(icmp::ND_NEIGHBOR_ADVERT, icmp::ND_OPT_TARGET_LL));
        assert_eq!(r, ExecReport::default());
        let m = icmp6(p.frame());
        assert_eq!((&m[8..24], &m[26..32]), (&target[..], &mac[..]));
        assert!(checksums_valid(p.frame()));
        let k = FlowKey::extract(p.frame(), 0);
        assert_eq!((k.nd_target, k.nd_tll), (target, mac));
    }

    #[test]
    fn an_nd_set_under_a_mask_keeps_the_other_bits() {
        let (p, _, _) = run(
            &set(SetField::NdSll, &[0, 0, 0, 0, 0, 0x50], &[0, 0, 0, 0, 0, 0xf0]),
            &nd_frame(icmp::ND_NEIGHBOR_SOLICIT, icmp::ND_OPT_SOURCE_LL),
        );
        assert_eq!(icmp6(p.frame())[26..32], [0x02, 0, 0, 0, 0, 0x5a]);
        assert!(checksums_valid(p.frame()));
    }

    #[test]
    fn setting_an_address_option_the_message_lacks_changes_nothing() {
        // A solicitation carries a source, not a target, link-layer address.
        let ns = nd_frame(icmp::ND_NEIGHBOR_SOLICIT, icmp::ND_OPT_SOURCE_LL);
        let (p, _, r) = run(&set(SetField::NdTll, &[1; 6], &[0xff; 6]), &ns);
        assert_eq!((p.frame(), r), (&ns[..], ExecReport::default()));
        let na = ipv6_frame(58, &icmp6(&ns)[..24].iter().map(|b| if *b == 135 { 136 } else { *b }).collect::<Vec<_>>());
        let (p, _, r) = run(&set(SetField::NdSll, &[1; 6], &[0xff; 6]), &na);
        assert_eq!((p.frame(), r), (&na[..], ExecReport::default()));
    }

    #[test]
    fn an_nd_set_on_another_frame_is_reported_not_applied() {
        for f in [ipv6_frame(58, &[128, 0, 0, 0, 0, 1, 0, 1]), ipv6_frame(17, &udp_hdr()), ipv4_frame(6, &tcp_hdr())] {
            let (p, _, r) = run(&set(SetField::NdTarget, &[1; 16], &[0xff; 16]), &f);
            assert_eq!((p.frame(), r.first_error), (&f[..], Some(ExecError::NotNd)));
        }
    }

    #[test]
    fn icmp_type_and_code_sets_turn_a_solicitation_into_an_advertisement_with_valid_checksums() {
        let list = [set(SetField::Icmpv6Type, &[136], &[0xff]), set(SetField::Icmpv6Code, &[0], &[0xff])].concat();
        let (p, _, r) = run(&list, &nd_frame(icmp::ND_NEIGHBOR_SOLICIT, icmp::ND_OPT_SOURCE_LL));
        assert_eq!((r, icmp6(p.frame())[0]), (ExecReport::default(), 136));
        assert!(checksums_valid(p.frame()));
        let (p, _, r) = run(&set(SetField::IcmpType, &[0], &[0xff]), &ipv4_frame(1, &[8, 0, 0, 0, 0, 1, 0, 1]));
        assert_eq!((r, p.frame()[34]), (ExecReport::default(), 0));
        assert!(checksums_valid(p.frame()));
    }

    #[test]
    fn an_icmp_set_on_the_other_ip_version_is_reported_not_applied() {
        let echo6 = ipv6_frame(58, &[128, 0, 0, 0, 0, 1, 0, 1]);
        let (p, _, r) = run(&set(SetField::IcmpType, &[0], &[0xff]), &echo6);
        assert_eq!((p.frame(), r.first_error), (&echo6[..], Some(ExecError::NotIcmp)));
        let echo4 = ipv4_frame(1, &[8, 0, 0, 0, 0, 1, 0, 1]);
        let (p, _, r) = run(&set(SetField::Icmpv6Code, &[1], &[0xff]), &echo4);
        assert_eq!((p.frame(), r.first_error), (&echo4[..], Some(ExecError::NotIcmp)));
    }

    #[test]
    fn nd_ext_sets_turn_a_solicitation_into_an_advertisement_as_ovn_answers_it() {
        // OVN's flow-only ND responder: type 136, R|S|O flags, the source
        // address option retyped as a target address option with the router's MAC.
        let mac = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x99];
        let list = [
            set(SetField::NdReserved, &[0xe0, 0, 0, 0], &[0xff; 4]),
            set(SetField::NdOptionsType, &[icmp::ND_OPT_TARGET_LL], &[0xff]),
            set(SetField::NdTll, &mac, &[0xff; 6]),
            set(SetField::Icmpv6Type, &[icmp::ND_NEIGHBOR_ADVERT], &[0xff]),
        ]
        .concat();
        let (p, _, r) = run(&list, &nd_frame(icmp::ND_NEIGHBOR_SOLICIT, icmp::ND_OPT_SOURCE_LL));
        assert_eq!(r, ExecReport::default());
        let m = icmp6(p.frame());
        assert_eq!((m[0], &m[4..8], m[24], &m[26..32]), (136, &[0xe0, 0, 0, 0][..], 2, &mac[..]));
        assert!(checksums_valid(p.frame()));
        let k = FlowKey::extract(p.frame(), 0);
        assert_eq!((k.icmp_type, k.nw_src, k.nw_dst[0], k.nd_tll, k.nd_sll), (136, [0xe0, 0, 0, 0], 2, mac, [0; 6]));
    }

    #[test]
    fn an_nd_reserved_set_under_a_mask_keeps_the_other_flags() {
        let na = nd_frame(icmp::ND_NEIGHBOR_ADVERT, icmp::ND_OPT_TARGET_LL);
        let (p, _, _) = run(&set(SetField::NdReserved, &[0x40, 0, 0, 0], &[0x40, 0, 0, 0]), &na);
        assert_eq!(icmp6(p.frame())[4..8], [0x40, 0, 0, 0]);
        assert!(checksums_valid(p.frame()));
    }

    #[test]
    fn an_options_type_set_on_a_message_without_options_changes_nothing() {
        let bare = ipv6_frame(58, &icmp6(&nd_frame(icmp::ND_NEIGHBOR_SOLICIT, icmp::ND_OPT_SOURCE_LL))[..24]);
        let (p, _, r) = run(&set(SetField::NdOptionsType, &[2], &[0xff]), &bare);
        assert_eq!((p.frame(), r), (&bare[..], ExecReport::default()));
        let echo = ipv6_frame(58, &[128, 0, 0, 0, 0, 1, 0, 1]);
        let (p, _, r) = run(&set(SetField::NdReserved, &[1; 4], &[0xff; 4]), &echo);
        assert_eq!((p.frame(), r.first_error), (&echo[..], Some(ExecError::NotNd)));
    }

    #[test]
    fn nd_sets_never_panic_on_malformed_or_truncated_messages() {
        let list = [
            set(SetField::NdTarget, &[7; 16], &[0xff; 16]),
            set(SetField::NdSll, &[7; 6], &[0xff; 6]),
            set(SetField::NdTll, &[7; 6], &[0xff; 6]),
            set(SetField::NdReserved, &[7; 4], &[0xff; 4]),
            set(SetField::NdOptionsType, &[7], &[0xff]),
        ]
        .concat();
        let list = validate(&list).unwrap();
        for (ty, opt) in [(135, 1), (136, 2), (136, 1)] {
            let full = nd_frame(ty, opt);
            // Every option length byte, every IPv6 payload length, and every truncation.
            for units in 0..=255u8 {
                for payload_len in [0u16, 8, 23, 24, 31, 32, 33, 0xffff] {
                    let mut f = full.clone();
                    f[14 + 40 + 25] = units;
                    f[18..20].copy_from_slice(&payload_len.to_be_bytes());
                    for n in [f.len(), f.len() - 1, 14 + 40 + 26, 14 + 40 + 24, 14 + 40 + 23, 14 + 40 + 4, 30] {
                        let mut p = Packet::from_frame(&f[..n]);
                        execute(&list, &mut p, &mut Sink::default());
                    }
                }
            }
        }
    }

    #[test]
    fn actions_never_panic_on_truncated_frames() {
        let mut all =
            vec![tlv(ACTION_PUSH_VLAN, &[0x81, 0, 0x10, 1]), tlv(ACTION_POP_VLAN, &[]), tlv(ACTION_POP_VLAN, &[])];
        for (fid, n) in [
            (1u16, 6usize),
            (2, 6),
            (3, 4),
            (4, 4),
            (5, 1),
            (6, 1),
            (7, 16),
            (8, 16),
            (9, 1),
            (10, 1),
            (11, 2),
            (12, 2),
            (13, 2),
            (14, 2),
            (20, 16),
            (21, 6),
            (22, 6),
            (23, 1),
            (24, 1),
            (25, 1),
            (26, 1),
            (27, 4),
            (28, 1),
        ] {
            all.push(set(SetField::from_id(fid).unwrap(), &vec![0x01; n], &vec![0xff; n]));
        }
        all.push(set_tunnel(1, [192, 0, 2, 2], 0, &[]));
        let list = validate(&all.concat()).unwrap();
        let frames = [
            ipv4_frame(6, &tcp_hdr()),
            ipv4_frame(17, &udp_hdr()),
            ipv6_frame(6, &tcp_hdr()),
            ipv6_frame(58, &[135, 0, 0, 0]),
            nd_frame(136, 2),
        ];
        for f in frames {
            for n in 0..=f.len() {
                let mut p = Packet::from_frame(&f[..n]);
                execute(&list, &mut p, &mut Sink::default());
            }
        }
    }

    fn userspace(userdata: &[u8]) -> Vec<u8> {
        tlv(ACTION_USERSPACE, &[&[0u8; 8][..], userdata].concat())
    }
    fn sample(probability: u32, nested: &[u8]) -> Vec<u8> {
        tlv(ACTION_SAMPLE, &[&probability.to_le_bytes()[..], nested].concat())
    }
    /// Frames of `n` runs of `list` that reached userspace.
    fn sampled_of(list: &[u8], n: usize) -> usize {
        let l = validate(list).unwrap();
        let f = ipv4_frame(17, &udp_hdr());
        let mut s = Sink::default();
        for _ in 0..n {
            execute(&l, &mut Packet::from_frame(&f), &mut s);
        }
        assert_eq!(s.out.len(), n, "the outputs after the sample see every frame");
        s.up.len()
    }

    #[test]
    fn a_sample_of_probability_zero_never_runs_its_list_and_of_all_ones_always_does() {
        seed_sampling(7);
        let nested = userspace(&[2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(sampled_of(&[sample(0, &nested), output(2)].concat(), 10_000), 0);
        assert_eq!(sampled_of(&[sample(u32::MAX, &nested), output(2)].concat(), 10_000), 10_000);
    }

    #[test]
    fn a_sample_chooses_about_its_probability_of_the_frames() {
        seed_sampling(42);
        let nested = userspace(&[2]);
        // 1 in 100 over 200_000 frames: 2_000 expected, sd ~44.
        let hits = sampled_of(&[sample(u32::MAX / 100, &nested), output(2)].concat(), 200_000);
        assert!((1_800..=2_200).contains(&hits), "1% sampled {hits} of 200000");
        let hits = sampled_of(&[sample(u32::MAX / 2, &nested), output(2)].concat(), 20_000);
        assert!((9_600..=10_400).contains(&hits), "50% sampled {hits} of 20000");
    }

    #[test]
    fn a_sampled_frame_reaches_userspace_with_the_whole_userdata() {
        let list = validate(&sample(u32::MAX, &userspace(&[2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).unwrap();
        let Action::Sample(s) = &list.actions[0] else { panic!("a sample") };
        assert!(!s.needs_copy, "a userspace action leaves the frame alone");
        assert_eq!(
            s.actions.actions[0],
            Action::Userspace {
                pid: 0,
                cookie: u64::from_le_bytes([2, 1, 2, 3, 4, 5, 6, 7]),
                userdata: vec![2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].into()
            }
        );
    }

    #[test]
    fn a_sample_that_rewrites_the_frame_does_so_on_a_copy() {
        let f = ipv4_frame(17, &udp_hdr());
        let nested = [tlv(ACTION_PUSH_VLAN, &[0x81, 0, 0x10, 5]), output(9)].concat();
        let (p, s, r) = run(&[sample(u32::MAX, &nested), output(2)].concat(), &f);
        assert_eq!(r, ExecReport::default());
        assert_eq!(s.out[0].0, 9);
        assert_eq!(&s.out[0].1[12..16], &[0x81, 0, 0, 5], "the sampled copy is tagged");
        assert_eq!((s.out[1].0, &s.out[1].1[..]), (2, &f[..]), "the output after the sample is not");
        assert_eq!(p.frame(), &f[..]);
    }

    #[test]
    fn a_sample_nested_list_is_validated_with_the_flow() {
        use ActionError::*;
        assert_eq!(validate(&sample(1, &tlv(99, &[]))), Err(InSample(Box::new(UnknownType { ty: 99, offset: 0 }))));
        assert!(matches!(validate(&tlv(ACTION_SAMPLE, &[1, 0])), Err(BadLength { action: "sample", .. })));
        let mut deep = userspace(&[]);
        for _ in 0..MAX_SAMPLE_DEPTH {
            deep = sample(u32::MAX, &deep);
        }
        assert!(validate(&deep).is_ok());
        assert_eq!(validate(&sample(u32::MAX, &deep)), Err(SampleTooDeep));
        assert_eq!(
            InSample(Box::new(UnknownType { ty: 99, offset: 0 })).to_string(),
            "sample action's nested list: unknown action type 99 at byte 0"
        );
    }

    #[test]
    fn validation_names_the_action_and_the_problem() {
        use ActionError::*;
        assert_eq!(validate(&[1, 0]), Err(TruncatedHeader { offset: 0 }));
        assert_eq!(validate(&[1, 0, 4, 0, 1]), Err(TruncatedPayload { action: "output", offset: 0, len: 4 }));
        assert_eq!(validate(&tlv(99, &[])), Err(UnknownType { ty: 99, offset: 0 }));
        assert!(matches!(validate(&tlv(ACTION_OUTPUT, &[1, 2])), Err(BadLength { action: "output", len: 2, .. })));
        assert_eq!(validate(&tlv(ACTION_PUSH_VLAN, &[0x08, 0x00, 0x10, 0x01])), Err(BadTpid { tpid: 0x0800 }));
        assert_eq!(validate(&tlv(ACTION_PUSH_VLAN, &[0x81, 0x00, 0x00, 0x01])), Err(TciNotPresent { tci: 1 }));
        assert_eq!(validate(&tlv(ACTION_SET, &[99, 0, 0, 0])), Err(UnknownSetField { id: 99 }));
        assert_eq!(
            validate(&set(SetField::Ipv4Ttl, &[3], &[0x0f, 0])),
            Err(BadLength { action: "ipv4.ttl", len: 7, expected: "4 + 2 * field width" })
        );
        assert_eq!(validate(&set(SetField::Ipv4Tos, &[0x03], &[0xfc])), Err(ValueOutsideMask { field: "ipv4.tos" }));
        assert!(matches!(validate(&tlv(ACTION_SET_TUNNEL, &[0; 20])), Err(BadLength { action: "set_tunnel", .. })));
        let no_dst = BadTunnel { reason: "no destination (dst=0.0.0.0)" };
        assert_eq!(validate(&set_tunnel(1, [0; 4], 0, &[])), Err(no_dst));
        assert!(matches!(validate(&set_tunnel(1, [192, 0, 2, 2], 0x10, &[])), Err(BadTunnel { .. })));
        assert!(matches!(
            validate(&set_tunnel(1, [192, 0, 2, 2], 0, &[0, 1, 2, 2, 0, 0, 0, 0])),
            Err(BadTunnel { .. })
        ));
        assert!(matches!(validate(&set_tunnel(1, [192, 0, 2, 2], 0, &[0, 1])), Err(BadTunnel { .. })));
        assert_eq!(TciNotPresent { tci: 1 }.to_string(), "push_vlan action: tci 0x0001 lacks the 0x1000 present bit");
    }
}
