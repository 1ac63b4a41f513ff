//! ICMP (RFC 792) and ICMPv6 (RFC 4443) type/code, and the IPv6 Neighbor
//! Discovery target (RFC 4861).

pub const HEADER_LEN: usize = 4;
/// ICMPv6 checksum offset (also ICMPv4's).
pub const CHECKSUM_OFFSET: usize = 2;
pub const ND_NEIGHBOR_SOLICIT: u8 = 135;
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
/// Offset of the target address in an NS/NA message.
pub const ND_TARGET_OFFSET: usize = 8;

/// (type, code) when at least the first 4 bytes are present.
pub fn type_code(b: &[u8]) -> Option<(u8, u8)> {
    match b {
        [t, c, _, _, ..] => Some((*t, *c)),
        _ => None,
    }
}

/// The target address of a Neighbor Solicitation/Advertisement in `b`
/// (starting at the ICMPv6 header), when it is whole.
pub fn nd_target(b: &[u8]) -> Option<[u8; 16]> {
    let (t, c) = type_code(b)?;
    if c != 0 || (t != ND_NEIGHBOR_SOLICIT && t != ND_NEIGHBOR_ADVERT) {
        return None;
    }
    b.get(ND_TARGET_OFFSET..ND_TARGET_OFFSET + 16)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_nd_target_only_when_whole() {
        let mut ns = vec![135u8, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(nd_target(&ns).unwrap()[15], 1);
        assert_eq!(nd_target(&ns[..23]), None);
        assert_eq!(type_code(&[8, 0, 0]), None);
    }
}
