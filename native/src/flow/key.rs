//! The flow key: every header field the datapath can match on, extracted
//! once per frame into a fixed 184-byte, 8-byte-aligned struct that the
//! exact-match cache and the megaflow classifier hash and compare as words.
//!
//! Layout rules (the table of fields is `abi::KEY_FIELDS`,
//! mirrored byte for byte by `src/datapath/abi.ts`):
//! - `in_port` and `recirc_id` are host-order `u32` (little-endian on every
//!   host we build for); every other field is raw network-order bytes.
//! - A mask is a `FlowKey` too: a 1 bit means "this bit must match".
//! - Fields of protocols that cannot occur together share bytes: ARP's
//!   spa/tpa are `ipv4.src/dst`, ARP's sha/tha live in the `ipv6.src` bytes,
//!   IPv6's next header/tclass/hlimit are `ipv4.proto/tos/ttl`. A megaflow
//!   that matches any of them also matches `eth_type`, so this is unambiguous.
//! - An IPv6 neighbor solicitation or advertisement keeps its reserved word
//!   (`nd_ext.nd_reserved`, an advertisement's R/S/O flags) in the `nw_src`
//!   bytes and the type of its first link-layer address option
//!   (`nd_ext.nd_options_type`) in `nw_dst[0]`, as OVS keeps them in its
//!   IPv4-only `igmp_group_ip4` and its TCP-only `tcp_flags`. Only IPv4 and
//!   ARP frames use these bytes otherwise, and every other IPv6 frame has
//!   them zero; a megaflow that matches them also matches `eth_type` and the
//!   IP protocol (the slow path's `wcToMask` makes it so).
//! - There is no implicit padding: every byte is a field, and `Default` is all zero.

use crate::packet::TunnelInfo;
use crate::wire::ethernet::{self, ethertype, is_vlan_tpid, TCI_PRESENT};
use crate::wire::{arp, icmp, ipv4, ipv6, tcp, udp};

/// ODP `frag` values (OVS_FRAG_TYPE_*): not a fragment.
pub const FRAG_NO: u8 = 0;
/// First fragment (offset 0, more fragments follow).
pub const FRAG_FIRST: u8 = 1;
/// Later fragment (non-zero offset): no L4 header in this frame.
pub const FRAG_LATER: u8 = 2;

#[repr(C, align(8))]
#[derive(Clone, Copy, Default, Eq, Debug)]
pub struct FlowKey {
    pub in_port: u32,
    pub recirc_id: u32,
    /// Tunnel id (VXLAN VNI, GRE key) of a decapsulated frame, big-endian.
    pub tun_id: [u8; 8],
    pub tun_src: [u8; 4],
    pub tun_dst: [u8; 4],
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    /// EtherType after all VLAN tags; 0x05ff for 802.3 frames.
    pub eth_type: [u8; 2],
    /// Outer VLAN TCI with TCI_PRESENT (0x1000) set when a tag is present.
    pub vlan_tci: [u8; 2],
    /// Outer VLAN TPID (0x8100 or 0x88a8), zero without a tag.
    pub vlan_tpid: [u8; 2],
    /// Inner (customer) VLAN TCI of a double-tagged frame, with TCI_PRESENT.
    pub cvlan_tci: [u8; 2],
    pub cvlan_tpid: [u8; 2],
    /// IPv4 protocol / IPv6 final next header.
    pub nw_proto: u8,
    /// FRAG_NO / FRAG_FIRST / FRAG_LATER.
    pub nw_frag: u8,
    /// IPv4 TOS / IPv6 traffic class (DSCP and ECN).
    pub nw_tos: u8,
    /// IPv4 TTL / IPv6 hop limit.
    pub nw_ttl: u8,
    pub tcp_flags: [u8; 2],
    /// TCP/UDP/SCTP source port.
    pub tp_src: [u8; 2],
    pub tp_dst: [u8; 2],
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub arp_op: [u8; 2],
    /// IPv4 source / ARP sender protocol address / ND reserved word.
    pub nw_src: [u8; 4],
    /// IPv4 destination / ARP target protocol address; byte 0 is the ND
    /// options type.
    pub nw_dst: [u8; 4],
    /// IPv6 flow label (20 bits, big-endian u32).
    pub ipv6_label: [u8; 4],
    /// IPv6 source; for ARP, bytes 0..6 are sha and 6..12 are tha.
    pub ipv6_src: [u8; 16],
    pub ipv6_dst: [u8; 16],
    pub nd_target: [u8; 16],
    /// Tunnel flags of a decapsulated frame (OVS's FLOW_TNL_F_*: 0x1 don't
    /// fragment, 0x2 checksum, 0x4 key present, 0x8 OAM), big-endian.
    pub tun_flags: [u8; 2],
    /// Outer IP TOS and TTL of a decapsulated frame.
    pub tun_tos: u8,
    pub tun_ttl: u8,
    /// IPv6 neighbor discovery link-layer addresses: source (in a neighbor
    /// solicitation) and target (in a neighbor advertisement).
    pub nd_sll: [u8; 6],
    pub nd_tll: [u8; 6],
    /// The first Geneve option of a decapsulated frame when its data is at
    /// most 8 bytes (OVN's is 4): class, type, data length in bytes, and the
    /// data right-aligned in 8 bytes, so that it reads as one number.
    pub tun_geneve_class: [u8; 2],
    pub tun_geneve_type: u8,
    pub tun_geneve_len: u8,
    pub tun_geneve_data: [u8; 8],
    /// Outer UDP ports of a decapsulated VXLAN or Geneve frame.
    pub tun_tp_src: [u8; 2],
    pub tun_tp_dst: [u8; 2],
    /// Outer IPv6 addresses of a frame decapsulated from an IPv6 underlay
    /// (`tun_src`/`tun_dst` are zero then, as in OVS's flow_tnl).
    pub tun_ipv6_src: [u8; 16],
    pub tun_ipv6_dst: [u8; 16],
}

pub use crate::abi::KEY_LEN;
pub const KEY_WORDS: usize = KEY_LEN / 8;
const _: () = assert!(core::mem::size_of::<FlowKey>() == KEY_LEN);
const _: () = assert!(core::mem::align_of::<FlowKey>() == 8);

/// A key as the key of a hash map of exact keys: hashed once, with
/// `FlowKey::hash`, instead of field by field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExactKey(pub FlowKey);

impl core::hash::Hash for ExactKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash(0));
    }
}

/// Bitwise equality, as the derived one, but word by word without branches
/// or a memcmp call: the exact-match cache compares a key per frame.
impl PartialEq for FlowKey {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.words().iter().zip(other.words()).fold(0, |diff, (a, b)| diff | (a ^ b)) == 0
    }
}

impl FlowKey {
    /// Write the tunnel metadata a tunnel vport decapsulated into the key.
    pub fn set_tunnel(&mut self, t: &TunnelInfo) {
        self.tun_id = t.tun_id.to_be_bytes();
        self.tun_src = t.src;
        self.tun_dst = t.dst;
        self.tun_ipv6_src = t.ipv6_src;
        self.tun_ipv6_dst = t.ipv6_dst;
        self.tun_flags = t.flags.to_be_bytes();
        self.tun_tos = t.tos;
        self.tun_ttl = t.ttl;
        self.tun_tp_src = t.tp_src.to_be_bytes();
        self.tun_tp_dst = t.tp_dst.to_be_bytes();
        if let [c0, c1, ty, words, data @ ..] = t.options() {
            let len = (*words & 0x1f) as usize * 4;
            if let Some(d) = data.get(..len).filter(|d| d.len() <= 8) {
                self.tun_geneve_class = [*c0, *c1];
                self.tun_geneve_type = *ty;
                self.tun_geneve_len = len as u8;
                self.tun_geneve_data[8 - len..].copy_from_slice(d);
            }
        }
    }

    /// The key as KEY_WORDS native-endian words, for hashing and masked compares.
    pub fn words(&self) -> &[u64] {
        // SAFETY: FlowKey is repr(C, align(8)), exactly KEY_LEN = 23 * 8 bytes
        // (checked at compile time), and contains only integers and byte
        // arrays with no implicit padding, so every byte is initialized and
        // any bit pattern is a valid u64. The slice borrows `self`.
        unsafe { core::slice::from_raw_parts(self as *const FlowKey as *const u64, KEY_WORDS) }
    }

    fn words_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `words`; additionally any u64 bit pattern written
        // through the slice is a valid FlowKey because all fields are plain
        // integers and byte arrays. The slice mutably borrows `self`.
        unsafe { core::slice::from_raw_parts_mut(self as *mut FlowKey as *mut u64, KEY_WORDS) }
    }

    /// The key as raw bytes (the layout `abi::KEY_FIELDS` describes).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: same layout argument as `words`; u8 has alignment 1.
        unsafe { core::slice::from_raw_parts(self as *const FlowKey as *const u8, KEY_LEN) }
    }

    /// A key from its raw bytes (e.g. encoded by the TS mirror); None unless
    /// exactly KEY_LEN bytes.
    pub fn from_bytes(b: &[u8]) -> Option<FlowKey> {
        if b.len() != KEY_LEN {
            return None;
        }
        let mut k = FlowKey::default();
        // SAFETY: `k` is KEY_LEN bytes of plain integers/byte arrays (see
        // `words`); any byte pattern is valid and the ranges do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), &mut k as *mut FlowKey as *mut u8, KEY_LEN) };
        Some(k)
    }

    /// Word-wise AND with `mask`: the key as a megaflow with that mask sees it.
    #[inline]
    pub fn masked(&self, mask: &FlowKey) -> FlowKey {
        let mut out = *self;
        for (o, m) in out.words_mut().iter_mut().zip(mask.words()) {
            *o &= *m;
        }
        out
    }

    /// True when `key` falls in the megaflow (`self`, `mask`), where `self`
    /// is already masked: all bits the mask cares about are equal.
    #[inline]
    pub fn matches(&self, key: &FlowKey, mask: &FlowKey) -> bool {
        self.words().iter().zip(key.words()).zip(mask.words()).all(|((s, k), m)| *s == *k & *m)
    }

    /// Fast hash of the whole key (exact-match cache).
    #[inline]
    pub fn hash(&self, basis: u64) -> u64 {
        let mut h = basis ^ 0x9e37_79b9_7f4a_7c15;
        for w in self.words() {
            h = mix(h, *w);
        }
        finish(h)
    }

    /// The EtherType as a number, for tests' assertions.
    #[cfg(test)]
    pub fn eth_type(&self) -> u16 {
        u16::from_be_bytes(self.eth_type)
    }

    /// Parse `frame` (VLAN tags in-band) into a key. Never panics and never
    /// reads out of bounds: a truncated or malformed header leaves its fields
    /// and everything after it zero. Tunnel fields stay zero (`set_tunnel` sets them).
    pub fn extract(frame: &[u8], in_port: u32) -> FlowKey {
        let mut k = FlowKey::default();
        k.extract_into(frame, in_port);
        k
    }

    /// [`FlowKey::extract`] in place. The datapath parses a burst into an
    /// array of keys this way: a key returned by value was copied out of a
    /// temporary just written field by field, and the copy's wide loads
    /// stalled on those narrow stores (a fifth of the burst loop in perf).
    pub fn extract_into(&mut self, frame: &[u8], in_port: u32) {
        *self = FlowKey { in_port, ..FlowKey::default() };
        let Ok(eth) = ethernet::Frame::new_checked(frame) else {
            return;
        };
        self.eth_dst = eth.dst();
        self.eth_src = eth.src();
        let mut ty = eth.ethertype();
        let mut off = ethernet::HEADER_LEN;
        for depth in 0..2 {
            if !is_vlan_tpid(ty) {
                break;
            }
            let Ok(tag) = ethernet::VlanTag::new_checked(&frame[off..]) else {
                // A TPID with no room for its tag: match on the TPID alone.
                self.eth_type = ty.to_be_bytes();
                return;
            };
            let tci = (tag.tci() | TCI_PRESENT).to_be_bytes();
            if depth == 0 {
                self.vlan_tci = tci;
                self.vlan_tpid = ty.to_be_bytes();
            } else {
                self.cvlan_tci = tci;
                self.cvlan_tpid = ty.to_be_bytes();
            }
            ty = tag.ethertype();
            off += ethernet::VLAN_TAG_LEN;
        }
        if ty < ethertype::MIN {
            ty = ethertype::NONE;
        }
        self.eth_type = ty.to_be_bytes();
        let l3 = &frame[off..];
        match ty {
            ethertype::IPV4 => self.extract_ipv4(l3),
            ethertype::IPV6 => self.extract_ipv6(l3),
            ethertype::ARP | ethertype::RARP => {
                if let Ok(a) = arp::Packet::new_checked(l3) {
                    // Like OVS, only the low 8 bits of the opcode are kept.
                    self.arp_op = (a.op() & 0xff).to_be_bytes();
                    self.nw_src = a.spa();
                    self.nw_dst = a.tpa();
                    self.ipv6_src[0..6].copy_from_slice(&a.sha());
                    self.ipv6_src[6..12].copy_from_slice(&a.tha());
                }
            }
            _ => {}
        }
    }

    fn extract_ipv4(&mut self, l3: &[u8]) {
        let Ok(ip) = ipv4::Packet::new_checked(l3) else {
            return;
        };
        self.nw_src = ip.src();
        self.nw_dst = ip.dst();
        self.nw_proto = ip.protocol();
        self.nw_tos = ip.tos();
        self.nw_ttl = ip.ttl();
        if ip.is_fragment() {
            self.nw_frag = if ip.frag_offset() != 0 { FRAG_LATER } else { FRAG_FIRST };
            if self.nw_frag == FRAG_LATER {
                return;
            }
        }
        let l4 = &l3[ip.header_len()..];
        self.extract_l4(l4, ip.protocol(), false);
    }

    fn extract_ipv6(&mut self, l3: &[u8]) {
        let Ok(ip) = ipv6::Packet::new_checked(l3) else {
            return;
        };
        self.ipv6_src = ip.src();
        self.ipv6_dst = ip.dst();
        self.ipv6_label = ip.flow_label().to_be_bytes();
        self.nw_tos = ip.traffic_class();
        self.nw_ttl = ip.hop_limit();
        let up = ipv6::upper_layer(l3);
        self.nw_proto = up.proto;
        if up.fragment {
            self.nw_frag = if up.later_fragment { FRAG_LATER } else { FRAG_FIRST };
        }
        if up.truncated || up.later_fragment {
            return;
        }
        if let Some(l4) = l3.get(up.offset..) {
            self.extract_l4(l4, up.proto, true);
        }
    }

    fn extract_l4(&mut self, l4: &[u8], proto: u8, v6: bool) {
        match proto {
            ipv4::proto::TCP => {
                if let Ok(t) = tcp::Packet::new_checked(l4) {
                    self.tp_src = t.src_port().to_be_bytes();
                    self.tp_dst = t.dst_port().to_be_bytes();
                    self.tcp_flags = t.flags().to_be_bytes();
                }
            }
            ipv4::proto::UDP | ipv4::proto::SCTP => {
                // SCTP's common header starts with the same two ports.
                if let Ok(u) = udp::Packet::new_checked(l4) {
                    self.tp_src = u.src_port().to_be_bytes();
                    self.tp_dst = u.dst_port().to_be_bytes();
                }
            }
            ipv4::proto::ICMP if !v6 => {
                if let Some((t, c)) = icmp::type_code(l4) {
                    self.icmp_type = t;
                    self.icmp_code = c;
                }
            }
            ipv4::proto::ICMPV6 if v6 => {
                if let Some((t, c)) = icmp::type_code(l4) {
                    self.icmp_type = t;
                    self.icmp_code = c;
                    self.extract_nd(l4);
                }
            }
            _ => {}
        }
    }

    /// The target and link-layer addresses of a neighbor solicitation or
    /// advertisement (`l4` starts at its ICMPv6 header), with its reserved
    /// word and the type of its first link-layer address option. Like OVS, a
    /// message that repeats an address option gives neither the target nor
    /// the addresses (but keeps the reserved word and options type), and a
    /// truncated one gives what is whole.
    fn extract_nd(&mut self, l4: &[u8]) {
        let Some(reserved) = icmp::nd_reserved(l4) else {
            return;
        };
        self.nw_src = reserved;
        self.nw_dst[0] = icmp::nd_first_link_layer(l4).map_or(0, |(ty, _)| ty);
        let Some(target) = icmp::nd_target(l4) else {
            return;
        };
        let Some(ll) = icmp::nd_link_layer(l4) else {
            return;
        };
        self.nd_target = target;
        if let Some(at) = ll.sll {
            self.nd_sll = icmp::mac_at(l4, at);
        }
        if let Some(at) = ll.tll {
            self.nd_tll = icmp::mac_at(l4, at);
        }
    }
}

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x1000_0000_01b3).rotate_left(29) ^ (w >> 32)
}

#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::abi::KEY_FIELDS;

    pub const MAC_A: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x01];
    pub const MAC_B: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x02];

    pub fn eth(ty: u16) -> Vec<u8> {
        let mut f = MAC_B.to_vec();
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&ty.to_be_bytes());
        f
    }

    pub fn ipv4_hdr(proto: u8, payload_len: usize) -> Vec<u8> {
        let tot = (20 + payload_len) as u16;
        let mut h = vec![0x45, 0xb8];
        h.extend_from_slice(&tot.to_be_bytes());
        h.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        let c = crate::wire::checksum::checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    pub fn ipv6_hdr(next: u8, payload_len: usize) -> Vec<u8> {
        let mut h = vec![0x6b, 0x81, 0x23, 0x45];
        h.extend_from_slice(&(payload_len as u16).to_be_bytes());
        h.extend_from_slice(&[next, 255]);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        h
    }

    pub fn tcp_hdr() -> Vec<u8> {
        let mut t = vec![0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0];
        t.extend_from_slice(b"hello!");
        t
    }

    pub fn udp_hdr() -> Vec<u8> {
        let mut u = vec![0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0];
        u.extend_from_slice(b"dns?");
        u
    }

    /// A complete frame with correct IPv4 and L4 checksums.
    pub fn ipv4_frame(proto: u8, l4: &[u8]) -> Vec<u8> {
        use crate::wire::checksum as cs;
        let mut l4 = l4.to_vec();
        let ck_off = match proto {
            6 => Some(16),
            17 => Some(6),
            1 => Some(2),
            _ => None,
        };
        if let Some(o) = ck_off {
            let pseudo =
                if proto == 1 { 0 } else { cs::pseudo_v4([10, 0, 0, 1], [10, 0, 0, 2], proto, l4.len() as u16) };
            let c = !cs::fold(cs::sum(pseudo, &l4));
            l4[o..o + 2].copy_from_slice(&c.to_be_bytes());
        }
        let mut f = eth(0x0800);
        f.extend(ipv4_hdr(proto, l4.len()));
        f.extend(l4);
        f
    }

    pub fn ipv6_frame(next: u8, l4: &[u8]) -> Vec<u8> {
        use crate::wire::checksum as cs;
        let mut l4 = l4.to_vec();
        let h = ipv6_hdr(next, l4.len());
        let ck_off = match next {
            6 => Some(16),
            17 => Some(6),
            58 => Some(2),
            _ => None,
        };
        if let Some(o) = ck_off {
            let p = cs::pseudo_v6(h[8..24].try_into().unwrap(), h[24..40].try_into().unwrap(), next, l4.len() as u32);
            let c = !cs::fold(cs::sum(p, &l4));
            l4[o..o + 2].copy_from_slice(&c.to_be_bytes());
        }
        let mut f = eth(0x86dd);
        f.extend(h);
        f.extend(l4);
        f
    }

    fn arp_frame() -> Vec<u8> {
        let mut f = eth(0x0806);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&[10, 0, 0, 1]);
        f.extend_from_slice(&MAC_B);
        f.extend_from_slice(&[10, 0, 0, 2]);
        f
    }

    fn nd_frame() -> Vec<u8> {
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        ns.extend_from_slice(&[1, 1]);
        ns.extend_from_slice(&MAC_A);
        ipv6_frame(58, &ns)
    }

    /// A neighbor advertisement for 2001:db8::2 with a target link-layer
    /// address option (MAC_B), with a valid checksum.
    pub fn na_frame() -> Vec<u8> {
        let mut na = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
        na.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        na.extend_from_slice(&[2, 1]);
        na.extend_from_slice(&MAC_B);
        ipv6_frame(58, &na)
    }

    fn vlan(frame: &[u8], tpid: u16, tci: u16) -> Vec<u8> {
        let mut f = frame[..12].to_vec();
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
        f.extend_from_slice(&frame[12..]);
        f
    }

    /// Every protocol the key knows, as (name, frame).
    fn corpus() -> Vec<(&'static str, Vec<u8>)> {
        let tcp4 = ipv4_frame(6, &tcp_hdr());
        let qinq = vlan(&vlan(&tcp4, 0x8100, 0x2005), 0x88a8, 0x0064);
        let mut sctp = vec![0x0b, 0xb8, 0x0f, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0];
        sctp.extend_from_slice(&[0; 4]);
        vec![
            ("tcp4", tcp4.clone()),
            ("udp4", ipv4_frame(17, &udp_hdr())),
            ("sctp4", ipv4_frame(132, &sctp)),
            ("icmp4", ipv4_frame(1, &[8, 0, 0, 0, 0, 1, 0, 1])),
            ("tcp6", ipv6_frame(6, &tcp_hdr())),
            ("udp6", ipv6_frame(17, &udp_hdr())),
            ("icmp6", ipv6_frame(58, &[128, 0, 0, 0, 0, 1, 0, 1])),
            ("nd", nd_frame()),
            ("na", na_frame()),
            ("arp", arp_frame()),
            ("vlan", vlan(&tcp4, 0x8100, 0x200a)),
            ("qinq", qinq),
        ]
    }

    #[test]
    fn layout_table_matches_the_struct() {
        use core::mem::offset_of;
        let field = |name: &str| KEY_FIELDS.iter().find(|f| f.0 == name).map(|f| (f.1, f.2));
        let check = |name: &str, off: usize, len: usize| assert_eq!(field(name), Some((off, len)), "{name}");
        check("in_port", offset_of!(FlowKey, in_port), 4);
        check("recirc_id", offset_of!(FlowKey, recirc_id), 4);
        check("tunnel.tun_id", offset_of!(FlowKey, tun_id), 8);
        check("tunnel.src", offset_of!(FlowKey, tun_src), 4);
        check("tunnel.dst", offset_of!(FlowKey, tun_dst), 4);
        check("eth.dst", offset_of!(FlowKey, eth_dst), 6);
        check("eth.src", offset_of!(FlowKey, eth_src), 6);
        check("eth_type", offset_of!(FlowKey, eth_type), 2);
        check("vlan.tci", offset_of!(FlowKey, vlan_tci), 2);
        check("vlan.tpid", offset_of!(FlowKey, vlan_tpid), 2);
        check("cvlan.tci", offset_of!(FlowKey, cvlan_tci), 2);
        check("cvlan.tpid", offset_of!(FlowKey, cvlan_tpid), 2);
        check("ipv4.proto", offset_of!(FlowKey, nw_proto), 1);
        check("ipv4.frag", offset_of!(FlowKey, nw_frag), 1);
        check("ipv4.tos", offset_of!(FlowKey, nw_tos), 1);
        check("ipv4.ttl", offset_of!(FlowKey, nw_ttl), 1);
        check("tcp_flags", offset_of!(FlowKey, tcp_flags), 2);
        check("tcp.src", offset_of!(FlowKey, tp_src), 2);
        check("tcp.dst", offset_of!(FlowKey, tp_dst), 2);
        check("icmp.type", offset_of!(FlowKey, icmp_type), 1);
        check("icmp.code", offset_of!(FlowKey, icmp_code), 1);
        check("arp.op", offset_of!(FlowKey, arp_op), 2);
        check("ipv4.src", offset_of!(FlowKey, nw_src), 4);
        check("ipv4.dst", offset_of!(FlowKey, nw_dst), 4);
        check("ipv6.label", offset_of!(FlowKey, ipv6_label), 4);
        check("ipv6.src", offset_of!(FlowKey, ipv6_src), 16);
        check("ipv6.dst", offset_of!(FlowKey, ipv6_dst), 16);
        check("nd.target", offset_of!(FlowKey, nd_target), 16);
        check("tunnel.flags", offset_of!(FlowKey, tun_flags), 2);
        check("tunnel.tos", offset_of!(FlowKey, tun_tos), 1);
        check("tunnel.ttl", offset_of!(FlowKey, tun_ttl), 1);
        check("nd.sll", offset_of!(FlowKey, nd_sll), 6);
        check("nd.tll", offset_of!(FlowKey, nd_tll), 6);
        check("tunnel.geneve.class", offset_of!(FlowKey, tun_geneve_class), 2);
        check("tunnel.geneve.type", offset_of!(FlowKey, tun_geneve_type), 1);
        check("tunnel.geneve.len", offset_of!(FlowKey, tun_geneve_len), 1);
        check("tunnel.geneve.data", offset_of!(FlowKey, tun_geneve_data), 8);
        check("tunnel.tp_src", offset_of!(FlowKey, tun_tp_src), 2);
        check("tunnel.tp_dst", offset_of!(FlowKey, tun_tp_dst), 2);
        check("tunnel.ipv6_src", offset_of!(FlowKey, tun_ipv6_src), 16);
        check("tunnel.ipv6_dst", offset_of!(FlowKey, tun_ipv6_dst), 16);
        // Every byte is covered by some field, and no field runs off the end.
        let mut covered = [false; KEY_LEN];
        for (_, off, len) in KEY_FIELDS {
            assert!(off + len <= KEY_LEN);
            covered[*off..off + len].iter_mut().for_each(|c| *c = true);
        }
        assert!(covered.iter().all(|c| *c));
    }

    #[test]
    fn tunnel_metadata_fills_the_tunnel_fields_with_the_first_short_geneve_option() {
        let mut t = TunnelInfo {
            tun_id: 5,
            src: [10, 0, 0, 2],
            dst: [10, 0, 0, 1],
            flags: 0xc,
            tos: 1,
            ttl: 63,
            ..TunnelInfo::default()
        };
        (t.tp_src, t.tp_dst) = (40000, 6081);
        let opts = [0x01, 0x02, 0x80, 0x01, 0, 0, 0, 0x0a, 0xff, 0xff, 0, 0];
        t.opts[..12].copy_from_slice(&opts);
        t.opts_len = 12;
        let mut k = FlowKey::default();
        k.set_tunnel(&t);
        assert_eq!((k.tun_id, k.tun_src, k.tun_flags, k.tun_ttl), (5u64.to_be_bytes(), [10, 0, 0, 2], [0, 0xc], 63));
        assert_eq!((k.tun_geneve_class, k.tun_geneve_type, k.tun_geneve_len), ([1, 2], 0x80, 4));
        assert_eq!(u64::from_be_bytes(k.tun_geneve_data), 0x0a);
        assert_eq!((k.tun_tp_src, k.tun_tp_dst), (40000u16.to_be_bytes(), 6081u16.to_be_bytes()));
        // An option with more than 8 bytes of data is not in the key.
        t.opts[..8].copy_from_slice(&[0, 1, 2, 3, 0, 0, 0, 0]);
        t.opts_len = 16;
        let mut long = FlowKey::default();
        long.set_tunnel(&t);
        assert_eq!((long.tun_geneve_class, long.tun_geneve_len), ([0, 0], 0));
    }

    #[test]
    fn extracts_tcp_over_ipv4() {
        let k = FlowKey::extract(&ipv4_frame(6, &tcp_hdr()), 3);
        assert_eq!(k.in_port, 3);
        assert_eq!((k.eth_src, k.eth_dst, k.eth_type()), (MAC_A, MAC_B, 0x0800));
        assert_eq!(
            (k.nw_src, k.nw_dst, k.nw_proto, k.nw_tos, k.nw_ttl, k.nw_frag),
            ([10, 0, 0, 1], [10, 0, 0, 2], 6, 0xb8, 64, FRAG_NO)
        );
        assert_eq!((u16::from_be_bytes(k.tp_src), u16::from_be_bytes(k.tp_dst)), (1234, 80));
        assert_eq!(u16::from_be_bytes(k.tcp_flags), 0x012);
        assert_eq!(k.vlan_tci, [0, 0]);
    }

    #[test]
    fn extracts_udp_sctp_and_icmp() {
        let k = FlowKey::extract(&ipv4_frame(17, &udp_hdr()), 1);
        assert_eq!((u16::from_be_bytes(k.tp_src), u16::from_be_bytes(k.tp_dst), k.tcp_flags), (12345, 53, [0, 0]));
        let c = corpus();
        let k = FlowKey::extract(&c.iter().find(|c| c.0 == "sctp4").unwrap().1, 1);
        assert_eq!((k.nw_proto, u16::from_be_bytes(k.tp_src), u16::from_be_bytes(k.tp_dst)), (132, 3000, 4000));
        let k = FlowKey::extract(&ipv4_frame(1, &[3, 1, 0, 0]), 1);
        assert_eq!((k.icmp_type, k.icmp_code, k.tp_src), (3, 1, [0, 0]));
    }

    #[test]
    fn extracts_ipv6_fields_icmpv6_and_nd_target() {
        let k = FlowKey::extract(&ipv6_frame(6, &tcp_hdr()), 1);
        assert_eq!((k.eth_type(), k.nw_proto, k.nw_tos, k.nw_ttl), (0x86dd, 6, 0xb8, 255));
        assert_eq!(u32::from_be_bytes(k.ipv6_label), 0x12345);
        assert_eq!((k.ipv6_src[15], k.ipv6_dst[15], u16::from_be_bytes(k.tp_dst)), (1, 2, 80));
        let k = FlowKey::extract(&nd_frame(), 1);
        assert_eq!((k.nw_proto, k.icmp_type, k.icmp_code, k.nd_target[0], k.nd_target[15]), (58, 135, 0, 0xfe, 9));
    }

    #[test]
    fn extracts_the_source_link_layer_address_of_a_solicitation_and_the_target_one_of_an_advertisement() {
        let k = FlowKey::extract(&nd_frame(), 1);
        assert_eq!((k.nd_sll, k.nd_tll), (MAC_A, [0; 6]));
        let k = FlowKey::extract(&na_frame(), 1);
        assert_eq!((k.icmp_type, k.nd_target[15], k.nd_sll, k.nd_tll), (136, 2, [0; 6], MAC_B));
    }

    #[test]
    fn an_nd_message_repeating_its_address_option_has_no_target_or_addresses() {
        let mut f = nd_frame();
        let opt = f[f.len() - 8..].to_vec();
        f.extend_from_slice(&opt);
        let ip_payload = (f.len() - 54) as u16;
        f[18..20].copy_from_slice(&ip_payload.to_be_bytes());
        let k = FlowKey::extract(&f, 1);
        assert_eq!((k.icmp_type, k.nd_target, k.nd_sll), (135, [0; 16], [0; 6]));
    }

    #[test]
    fn keeps_the_reserved_word_and_first_option_type_of_an_nd_message_in_the_ipv4_address_bytes() {
        let k = FlowKey::extract(&nd_frame(), 1);
        assert_eq!((k.nw_src, k.nw_dst), ([0; 4], [1, 0, 0, 0]));
        let k = FlowKey::extract(&na_frame(), 1);
        assert_eq!((k.nw_src, k.nw_dst), ([0x60, 0, 0, 0], [2, 0, 0, 0]));
        // A repeated option drops the addresses but not these (as in OVS).
        let mut f = na_frame();
        let opt = f[f.len() - 8..].to_vec();
        f.extend_from_slice(&opt);
        let ip_payload = (f.len() - 54) as u16;
        f[18..20].copy_from_slice(&ip_payload.to_be_bytes());
        let k = FlowKey::extract(&f, 1);
        assert_eq!((k.nd_tll, k.nw_src, k.nw_dst), ([0; 6], [0x60, 0, 0, 0], [2, 0, 0, 0]));
    }

    #[test]
    fn no_ipv6_frame_but_an_nd_message_has_anything_in_the_ipv4_address_bytes() {
        // What makes the ND overlay unambiguous within IPv6: an IPv6 megaflow
        // that matches these bytes sees zero for every other message.
        for (name, f) in corpus() {
            let k = FlowKey::extract(&f, 1);
            if k.eth_type() == 0x86dd && !matches!(name, "nd" | "na") {
                assert_eq!((k.nw_src, k.nw_dst, k.arp_op), ([0; 4], [0; 4], [0; 2]), "{name}");
            }
        }
        let mut echo_with_flags = ipv6_frame(58, &[128, 0, 0, 0, 0xe0, 0, 0, 0]);
        echo_with_flags.extend_from_slice(&[0; 24]);
        assert_eq!(FlowKey::extract(&echo_with_flags, 1).nw_src, [0; 4]);
    }

    #[test]
    fn extracts_arp() {
        let k = FlowKey::extract(&arp_frame(), 1);
        assert_eq!(
            (k.eth_type(), u16::from_be_bytes(k.arp_op), k.nw_src, k.nw_dst),
            (0x0806, 2, [10, 0, 0, 1], [10, 0, 0, 2])
        );
        assert_eq!((&k.ipv6_src[..6], &k.ipv6_src[6..12]), (&MAC_A[..], &MAC_B[..]));
    }

    #[test]
    fn vlan_tci_carries_the_present_bit_so_vlan_0_differs_from_untagged() {
        let tcp4 = ipv4_frame(6, &tcp_hdr());
        let k = FlowKey::extract(&vlan(&tcp4, 0x8100, 0x200a), 1);
        assert_eq!(
            (u16::from_be_bytes(k.vlan_tci), u16::from_be_bytes(k.vlan_tpid), k.eth_type()),
            (0x300a, 0x8100, 0x0800)
        );
        assert_eq!(u16::from_be_bytes(k.tp_dst), 80);
        let zero = FlowKey::extract(&vlan(&tcp4, 0x8100, 0), 1);
        let none = FlowKey::extract(&tcp4, 1);
        assert_eq!(u16::from_be_bytes(zero.vlan_tci), 0x1000);
        assert_ne!(zero, none);
    }

    #[test]
    fn extracts_both_tags_of_a_qinq_frame() {
        let c = corpus();
        let k = FlowKey::extract(&c.iter().find(|c| c.0 == "qinq").unwrap().1, 1);
        assert_eq!((u16::from_be_bytes(k.vlan_tpid), u16::from_be_bytes(k.vlan_tci)), (0x88a8, 0x1064));
        assert_eq!((u16::from_be_bytes(k.cvlan_tpid), u16::from_be_bytes(k.cvlan_tci)), (0x8100, 0x3005));
        assert_eq!((k.eth_type(), k.nw_proto), (0x0800, 6));
    }

    #[test]
    fn classifies_fragments_like_ovs() {
        let mut f = ipv4_frame(6, &tcp_hdr());
        f[14 + 6] = 0x20; // MF, offset 0
        let k = FlowKey::extract(&f, 1);
        assert_eq!((k.nw_frag, u16::from_be_bytes(k.tp_dst)), (FRAG_FIRST, 80));
        f[14 + 6] = 0x00;
        f[14 + 7] = 0x10; // offset 16*8
        let k = FlowKey::extract(&f, 1);
        assert_eq!((k.nw_frag, k.tp_dst, k.tcp_flags), (FRAG_LATER, [0, 0], [0, 0]));
        // IPv6: a fragment header with a non-zero offset.
        let mut l4 = vec![6u8, 0, 0x00, 0x08, 0, 0, 0, 1];
        l4.extend(tcp_hdr());
        let k = FlowKey::extract(&ipv6_frame(44, &l4), 1);
        assert_eq!((k.nw_proto, k.nw_frag, k.tp_dst), (6, FRAG_LATER, [0, 0]));
    }

    #[test]
    fn an_8023_frame_gets_the_none_ethertype() {
        let k = FlowKey::extract(&eth(0x0040), 1);
        assert_eq!(k.eth_type(), 0x05ff);
    }

    #[test]
    fn every_truncated_prefix_gives_a_partial_key_of_the_full_one() {
        for (name, frame) in corpus() {
            let full = FlowKey::extract(&frame, 7);
            for n in 0..frame.len() {
                let k = FlowKey::extract(&frame[..n], 7);
                assert_eq!(k.in_port, 7);
                // Each field is either what the full frame gives or still zero.
                for (field, off, len) in KEY_FIELDS {
                    let (a, b) = (&k.as_bytes()[*off..off + len], &full.as_bytes()[*off..off + len]);
                    // (A TPID cut off before its tag is matched as the EtherType, as OVS does.)
                    let cut_tag = *field == "eth_type" && is_vlan_tpid(u16::from_be_bytes([a[0], a[1]]));
                    assert!(a == b || cut_tag || a.iter().all(|x| *x == 0), "{name}[..{n}] {field}: {a:?} vs {b:?}");
                }
                if n < 14 {
                    assert_eq!(k, FlowKey { in_port: 7, ..FlowKey::default() }, "{name}[..{n}]");
                }
            }
        }
    }

    #[test]
    fn a_masked_flow_matches_every_key_equal_under_its_mask() {
        let a = FlowKey::extract(&ipv4_frame(6, &tcp_hdr()), 1);
        let mut b = a;
        b.tp_src = [0x99, 0x99];
        b.nw_src = [10, 0, 0, 77];
        let mask = FlowKey {
            in_port: u32::MAX,
            eth_type: [0xff, 0xff],
            nw_dst: [0xff; 4],
            nw_src: [0xff, 0xff, 0xff, 0],
            tp_dst: [0xff, 0xff],
            ..FlowKey::default()
        };
        let flow = a.masked(&mask);
        assert!(flow.matches(&a, &mask));
        assert!(flow.matches(&b, &mask));
        assert_eq!(flow.masked(&mask), flow);
        let mut c = b;
        c.nw_src = [10, 0, 1, 1];
        assert!(!flow.matches(&c, &mask));
        let mut d = b;
        d.in_port = 2;
        assert!(!flow.matches(&d, &mask));
        assert_ne!(a.hash(0), b.hash(0));
    }

    #[test]
    fn bytes_round_trip() {
        let k = FlowKey::extract(&nd_frame(), 5);
        assert_eq!(FlowKey::from_bytes(k.as_bytes()), Some(k));
        assert_eq!(FlowKey::from_bytes(&[0; 119]), None);
        assert_eq!(k.as_bytes()[0..4], 5u32.to_le_bytes());
    }
}
