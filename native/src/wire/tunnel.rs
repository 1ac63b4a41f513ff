//! Tunnel headers the tunnel vports pop on receive and push on transmit,
//! each carrying an Ethernet frame: VXLAN (RFC 7348) and Geneve (RFC 8926)
//! over UDP, and GRE (RFC 2784/2890) with transparent Ethernet bridging.
//!
//! Parsers take the bytes after the outer UDP header (VXLAN, Geneve) or the
//! outer IP header (GRE) and never panic on any input; emitters write into a
//! caller's buffer.

use super::checksum;

/// OVS's FLOW_TNL_F_* bits of a tunnel's flags, as the flow key carries them.
pub mod flags {
    pub const DONT_FRAGMENT: u16 = 0x1;
    pub const CSUM: u16 = 0x2;
    pub const KEY: u16 = 0x4;
    pub const OAM: u16 = 0x8;
}

/// EtherType of an Ethernet frame carried inside GRE or Geneve.
pub const TRANSPARENT_ETHERNET: u16 = 0x6558;

pub const VXLAN_HEADER_LEN: usize = 8;
/// The I flag: the VNI field is valid.
const VXLAN_FLAG_I: u8 = 0x08;

pub const GENEVE_BASE_LEN: usize = 8;
/// Longest Geneve options: the 6-bit length field counts 4-byte words.
pub const GENEVE_MAX_OPTS: usize = 63 * 4;
const GENEVE_FLAG_OAM: u8 = 0x80;
const GENEVE_FLAG_CRITICAL: u8 = 0x40;

const GRE_FLAG_CSUM: u16 = 0x8000;
const GRE_FLAG_KEY: u16 = 0x2000;
const GRE_FLAG_SEQ: u16 = 0x1000;
/// Routing present, strict source route, recursion control, and the
/// version: RFC 2784 requires them zero, so a header with any is refused.
const GRE_MUST_BE_ZERO: u16 = 0x4000 | 0x0800 | 0x0700 | 0x0007;

/// Why a received tunnel packet was not decapsulated. The vport counts
/// `NotEthernet` as dropped (a well-formed packet it does not carry) and
/// the others as receive errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Truncated,
    /// Reserved bits, version or a missing VXLAN I flag.
    BadFlags,
    /// The GRE checksum does not add up.
    BadChecksum,
    /// A protocol other than Ethernet inside.
    NotEthernet,
}

/// A decapsulated header: what it said, and where the inner frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decap<'a> {
    /// VNI (VXLAN, Geneve) or GRE key; 0 without one.
    pub tun_id: u32,
    /// `flags::*` the header carried: KEY, CSUM (GRE), OAM (Geneve).
    pub flags: u16,
    /// Geneve option TLVs as on the wire (empty for the others).
    pub options: &'a [u8],
    /// Length of the tunnel header: the inner frame follows it.
    pub header_len: usize,
}

/// Parse a VXLAN header. The VNI's presence is the I flag; OVS also accepts
/// (and ignores) the other flag bits and reserved bytes set, so do we.
pub fn parse_vxlan(b: &[u8]) -> Result<Decap<'_>, Malformed> {
    let h = b.get(..VXLAN_HEADER_LEN).ok_or(Malformed::Truncated)?;
    if h[0] & VXLAN_FLAG_I == 0 {
        return Err(Malformed::BadFlags);
    }
    let tun_id = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    Ok(Decap { tun_id, flags: flags::KEY, options: &[], header_len: VXLAN_HEADER_LEN })
}

pub fn emit_vxlan(vni: u32, out: &mut [u8; VXLAN_HEADER_LEN]) {
    *out = [VXLAN_FLAG_I, 0, 0, 0, 0, 0, 0, 0];
    out[4..7].copy_from_slice(&vni.to_be_bytes()[1..]);
}

/// Parse a Geneve header: version 0, Ethernet inside, options whole (each
/// TLV's length inside the options area).
pub fn parse_geneve(b: &[u8]) -> Result<Decap<'_>, Malformed> {
    let h = b.get(..GENEVE_BASE_LEN).ok_or(Malformed::Truncated)?;
    if h[0] >> 6 != 0 {
        return Err(Malformed::BadFlags);
    }
    let opts_len = (h[0] & 0x3f) as usize * 4;
    if u16::from_be_bytes([h[2], h[3]]) != TRANSPARENT_ETHERNET {
        return Err(Malformed::NotEthernet);
    }
    let options = b.get(GENEVE_BASE_LEN..GENEVE_BASE_LEN + opts_len).ok_or(Malformed::Truncated)?;
    let mut at = 0;
    while at < options.len() {
        let tlv = options.get(at..at + 4).ok_or(Malformed::Truncated)?;
        at += 4 + (tlv[3] & 0x1f) as usize * 4;
    }
    if at != options.len() {
        return Err(Malformed::Truncated);
    }
    let mut f = flags::KEY;
    if h[1] & GENEVE_FLAG_OAM != 0 {
        f |= flags::OAM;
    }
    let tun_id = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    Ok(Decap { tun_id, flags: f, options, header_len: GENEVE_BASE_LEN + opts_len })
}

/// Write a Geneve header with `options` (whole TLVs, a multiple of 4 bytes,
/// at most GENEVE_MAX_OPTS) into `out`; returns its length. The critical
/// bit says whether any option is critical, as the RFC asks.
pub fn emit_geneve(vni: u32, oam: bool, options: &[u8], out: &mut [u8]) -> usize {
    debug_assert!(options.len().is_multiple_of(4) && options.len() <= GENEVE_MAX_OPTS);
    let len = GENEVE_BASE_LEN + options.len();
    let h = &mut out[..len];
    h[0] = (options.len() / 4) as u8;
    let mut critical = false;
    let mut at = 0;
    while let Some(tlv) = options.get(at..at + 4) {
        critical |= tlv[2] & 0x80 != 0;
        at += 4 + (tlv[3] & 0x1f) as usize * 4;
    }
    h[1] = if oam { GENEVE_FLAG_OAM } else { 0 } | if critical { GENEVE_FLAG_CRITICAL } else { 0 };
    h[2..4].copy_from_slice(&TRANSPARENT_ETHERNET.to_be_bytes());
    h[4..8].copy_from_slice(&(vni << 8).to_be_bytes());
    h[8..].copy_from_slice(options);
    len
}

/// Parse a GRE packet (header and payload, `b` runs to the end of the
/// outer IP payload): version 0, Ethernet inside, checksum verified when
/// present, sequence number skipped.
pub fn parse_gre(b: &[u8]) -> Result<Decap<'_>, Malformed> {
    let h = b.get(..4).ok_or(Malformed::Truncated)?;
    let bits = u16::from_be_bytes([h[0], h[1]]);
    if bits & GRE_MUST_BE_ZERO != 0 {
        return Err(Malformed::BadFlags);
    }
    let mut len = 4;
    let mut f = 0;
    if bits & GRE_FLAG_CSUM != 0 {
        b.get(..8).ok_or(Malformed::Truncated)?;
        if checksum::fold(checksum::sum(0, b)) != 0xffff {
            return Err(Malformed::BadChecksum);
        }
        f |= flags::CSUM;
        len += 4;
    }
    let mut tun_id = 0;
    if bits & GRE_FLAG_KEY != 0 {
        let k = b.get(len..len + 4).ok_or(Malformed::Truncated)?;
        tun_id = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
        f |= flags::KEY;
        len += 4;
    }
    if bits & GRE_FLAG_SEQ != 0 {
        len += 4;
    }
    if b.len() < len {
        return Err(Malformed::Truncated);
    }
    if u16::from_be_bytes([h[2], h[3]]) != TRANSPARENT_ETHERNET {
        return Err(Malformed::NotEthernet);
    }
    Ok(Decap { tun_id, flags: f, options: &[], header_len: len })
}

/// Length of the GRE header `emit_gre` writes.
pub fn gre_header_len(key: bool, csum: bool) -> usize {
    4 + if key { 4 } else { 0 } + if csum { 4 } else { 0 }
}

/// Write a GRE header for Ethernet `payload` into `out` (at least
/// `gre_header_len(..)` bytes); returns its length. The checksum covers the
/// header and the payload.
pub fn emit_gre(key: Option<u32>, csum: bool, payload: &[u8], out: &mut [u8]) -> usize {
    let len = gre_header_len(key.is_some(), csum);
    let h = &mut out[..len];
    let bits = if csum { GRE_FLAG_CSUM } else { 0 } | if key.is_some() { GRE_FLAG_KEY } else { 0 };
    h[0..2].copy_from_slice(&bits.to_be_bytes());
    h[2..4].copy_from_slice(&TRANSPARENT_ETHERNET.to_be_bytes());
    let mut at = 4;
    if csum {
        h[4..8].fill(0);
        at = 8;
    }
    if let Some(k) = key {
        h[at..at + 4].copy_from_slice(&k.to_be_bytes());
    }
    if csum {
        let sum = checksum::sum(checksum::sum(0, h), payload);
        h[4..6].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vxlan_header_round_trips_its_vni_and_needs_the_i_flag() {
        let mut h = [0u8; 8];
        emit_vxlan(0x12_3456, &mut h);
        assert_eq!(h, [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0]);
        let d = parse_vxlan(&h).unwrap();
        assert_eq!((d.tun_id, d.flags, d.header_len), (0x12_3456, flags::KEY, 8));
        assert_eq!(parse_vxlan(&[0, 0, 0, 0, 0, 0, 0x7b, 0]), Err(Malformed::BadFlags));
        assert_eq!(parse_vxlan(&h[..7]), Err(Malformed::Truncated));
    }

    #[test]
    fn a_geneve_header_round_trips_options_oam_and_the_critical_bit() {
        // OVN's option: class 0x0102, type 0x80 (critical), 4 bytes of data.
        let opts = [0x01, 0x02, 0x80, 0x01, 0, 0, 0, 7];
        let mut h = [0u8; 64];
        let n = emit_geneve(5, true, &opts, &mut h);
        assert_eq!(&h[..8], &[0x02, 0xc0, 0x65, 0x58, 0, 0, 5, 0]);
        let d = parse_geneve(&h[..n]).unwrap();
        assert_eq!((d.tun_id, d.flags, d.options, d.header_len), (5, flags::KEY | flags::OAM, &opts[..], 16));
        let plain = emit_geneve(7, false, &[], &mut h);
        assert_eq!(parse_geneve(&h[..plain]).unwrap().flags, flags::KEY);
    }

    #[test]
    fn a_geneve_header_is_refused_for_version_payload_or_broken_options() {
        let mut h = [0u8; 16];
        emit_geneve(1, false, &[0, 1, 2, 1, 9, 9, 9, 9], &mut h);
        let mut v1 = h;
        v1[0] |= 0x40;
        assert_eq!(parse_geneve(&v1), Err(Malformed::BadFlags));
        let mut ip = h;
        ip[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(parse_geneve(&ip), Err(Malformed::NotEthernet));
        assert_eq!(parse_geneve(&h[..12]), Err(Malformed::Truncated));
        let mut long_tlv = h;
        long_tlv[11] = 2; // 8 bytes of data in a 4-byte area
        assert_eq!(parse_geneve(&long_tlv), Err(Malformed::Truncated));
    }

    #[test]
    fn a_gre_header_round_trips_key_and_checksum_and_a_bad_checksum_is_caught() {
        let payload = [0xaau8; 61];
        let mut pkt = vec![0u8; 12];
        let n = emit_gre(Some(0x4d), true, &payload, &mut pkt);
        assert_eq!(n, 12);
        pkt.extend_from_slice(&payload);
        let d = parse_gre(&pkt).unwrap();
        assert_eq!((d.tun_id, d.flags, d.header_len), (0x4d, flags::KEY | flags::CSUM, 12));
        let last = pkt.len() - 1;
        pkt[last] ^= 1;
        assert_eq!(parse_gre(&pkt), Err(Malformed::BadChecksum));
        let mut bare = [0u8; 4];
        emit_gre(None, false, &[], &mut bare);
        assert_eq!(parse_gre(&bare).unwrap(), Decap { tun_id: 0, flags: 0, options: &[], header_len: 4 });
    }

    #[test]
    fn gre_with_a_sequence_number_is_skipped_over_and_other_versions_or_payloads_are_refused() {
        let seq = [0x30, 0x00, 0x65, 0x58, 0, 0, 0, 42, 0, 0, 0, 1];
        assert_eq!(parse_gre(&seq).unwrap().header_len, 12);
        assert_eq!(parse_gre(&seq[..10]), Err(Malformed::Truncated));
        assert_eq!(parse_gre(&[0, 1, 0x65, 0x58]), Err(Malformed::BadFlags));
        assert_eq!(parse_gre(&[0x40, 0, 0x65, 0x58]), Err(Malformed::BadFlags));
        assert_eq!(parse_gre(&[0, 0, 0x08, 0x00]), Err(Malformed::NotEthernet));
    }

    #[test]
    fn random_bytes_never_panic_a_parser() {
        // A small xorshift generator: deterministic, no dependency.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut buf = [0u8; 96];
        for round in 0..20_000 {
            for b in buf.iter_mut() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                *b = s as u8;
            }
            let n = round % buf.len();
            for parse in [parse_vxlan, parse_geneve, parse_gre] {
                if let Ok(d) = parse(&buf[..n]) {
                    assert!(d.header_len <= n);
                }
            }
        }
    }
}
