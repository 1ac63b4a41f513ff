//! ICMP (RFC 792) and ICMPv6 (RFC 4443) type/code, and the IPv6 Neighbor
//! Discovery target and link-layer address options (RFC 4861).

pub const HEADER_LEN: usize = 4;
/// ICMPv6 checksum offset (also ICMPv4's).
pub const CHECKSUM_OFFSET: usize = 2;
pub const ND_NEIGHBOR_SOLICIT: u8 = 135;
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
/// Offset of the reserved word (an NA's R/S/O flags) in an NS/NA message.
pub const ND_RESERVED_OFFSET: usize = 4;
/// Offset of the target address in an NS/NA message.
pub const ND_TARGET_OFFSET: usize = 8;
/// Offset of the first option in an NS/NA message (after the target).
pub const ND_OPTIONS_OFFSET: usize = ND_TARGET_OFFSET + 16;
/// ND option types of the source and target link-layer address options.
pub const ND_OPT_SOURCE_LL: u8 = 1;
pub const ND_OPT_TARGET_LL: u8 = 2;
/// ND option lengths count units of 8 bytes; an Ethernet link-layer
/// address option is one unit: type, length, then the 6-byte address.
const ND_OPT_UNIT: usize = 8;
/// Offset of the address in a link-layer address option.
const ND_LL_ADDR_OFFSET: usize = 2;

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
    if !is_nd(b) {
        return None;
    }
    b.get(ND_TARGET_OFFSET..ND_TARGET_OFFSET + 16)?.try_into().ok()
}

/// The reserved word of a Neighbor Solicitation/Advertisement in `b`
/// (starting at the ICMPv6 header): an advertisement's R, S and O flags in
/// its top bits, zero in a solicitation. Present whenever the first 8 bytes are.
pub fn nd_reserved(b: &[u8]) -> Option<[u8; 4]> {
    if !is_nd(b) {
        return None;
    }
    b.get(ND_RESERVED_OFFSET..ND_RESERVED_OFFSET + 4)?.try_into().ok()
}

/// True for a Neighbor Solicitation or Advertisement (code 0), the messages
/// with a target and link-layer address options.
fn is_nd(b: &[u8]) -> bool {
    matches!(type_code(b), Some((ND_NEIGHBOR_SOLICIT | ND_NEIGHBOR_ADVERT, 0)))
}

/// The link-layer address options of an NS/NA, as offsets in the message of
/// their 6-byte addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NdLinkLayer {
    /// The source link-layer address option's address.
    pub sll: Option<usize>,
    /// The target link-layer address option's address.
    pub tll: Option<usize>,
}

/// Walks the options of the NS/NA in `b` (starting at the ICMPv6 header)
/// as OVS's flow extraction does: options stop at a zero length or one that
/// runs past the end; only 8-byte (Ethernet) address options count. None
/// when `b` is no whole NS/NA, or when it is invalid: the same address
/// option twice (then OVS drops the target and both addresses from the key).
pub fn nd_link_layer(b: &[u8]) -> Option<NdLinkLayer> {
    if !is_nd(b) || b.len() < ND_OPTIONS_OFFSET {
        return None;
    }
    let mut found = NdLinkLayer::default();
    let mut at = ND_OPTIONS_OFFSET;
    while let &[ty, units, ..] = &b[at..] {
        let len = units as usize * ND_OPT_UNIT;
        if len == 0 || at + len > b.len() {
            break;
        }
        if len == ND_OPT_UNIT {
            let slot = match ty {
                ND_OPT_SOURCE_LL => Some(&mut found.sll),
                ND_OPT_TARGET_LL => Some(&mut found.tll),
                _ => None,
            };
            if let Some(slot) = slot {
                if slot.is_some() {
                    return None;
                }
                *slot = Some(at + ND_LL_ADDR_OFFSET);
            }
        }
        at += len;
    }
    Some(found)
}

/// The link-layer address option an ND rewrite changes, as OVS's
/// `packet_set_nd` chooses it: the first 8-byte source or target address
/// option, whichever comes first (a message carries one of them). Returns
/// its type and the offset of its address.
pub fn nd_first_link_layer(b: &[u8]) -> Option<(u8, usize)> {
    if !is_nd(b) {
        return None;
    }
    let mut at = ND_OPTIONS_OFFSET;
    while let &[ty, units, ..] = b.get(at..)? {
        let len = units as usize * ND_OPT_UNIT;
        if len == 0 || at + len > b.len() {
            return None;
        }
        if len == ND_OPT_UNIT && (ty == ND_OPT_SOURCE_LL || ty == ND_OPT_TARGET_LL) {
            return Some((ty, at + ND_LL_ADDR_OFFSET));
        }
        at += len;
    }
    None
}

/// The 6-byte address at `at` in `b` (an offset `nd_link_layer` returned).
pub fn mac_at(b: &[u8], at: usize) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    m
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

    /// An NS/NA with `options` after its target.
    pub(crate) fn nd_message(ty: u8, options: &[u8]) -> Vec<u8> {
        let mut m = vec![ty, 0, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        m.extend_from_slice(options);
        m
    }

    const SLL: [u8; 8] = [ND_OPT_SOURCE_LL, 1, 0x02, 0, 0, 0, 0, 0x0a];
    const TLL: [u8; 8] = [ND_OPT_TARGET_LL, 1, 0x02, 0, 0, 0, 0, 0x0b];
    /// A prefix information option (type 3, 32 bytes): not a link-layer address.
    const PREFIX_INFO: [u8; 32] = {
        let mut o = [0u8; 32];
        o[0] = 3;
        o[1] = 4;
        o
    };

    #[test]
    fn finds_the_link_layer_options_after_others_and_ignores_other_types() {
        let m = nd_message(ND_NEIGHBOR_SOLICIT, &[&PREFIX_INFO[..], &SLL].concat());
        let ll = nd_link_layer(&m).unwrap();
        assert_eq!((ll.sll, ll.tll), (Some(24 + 32 + 2), None));
        assert_eq!(mac_at(&m, ll.sll.unwrap())[5], 0x0a);
        let m = nd_message(ND_NEIGHBOR_ADVERT, &[SLL, TLL].concat());
        assert_eq!(nd_link_layer(&m), Some(NdLinkLayer { sll: Some(26), tll: Some(34) }));
        assert_eq!(nd_first_link_layer(&m), Some((ND_OPT_SOURCE_LL, 26)));
    }

    #[test]
    fn a_repeated_address_option_makes_the_message_invalid() {
        let m = nd_message(ND_NEIGHBOR_SOLICIT, &[SLL, SLL].concat());
        assert_eq!(nd_link_layer(&m), None);
    }

    #[test]
    fn options_stop_at_a_zero_length_or_one_running_past_the_end() {
        let m = nd_message(ND_NEIGHBOR_ADVERT, &[&[ND_OPT_SOURCE_LL, 0][..], &TLL].concat());
        assert_eq!(nd_link_layer(&m), Some(NdLinkLayer::default()));
        assert_eq!(nd_first_link_layer(&m), None);
        let m = nd_message(ND_NEIGHBOR_ADVERT, &TLL[..7]);
        assert_eq!(nd_link_layer(&m), Some(NdLinkLayer::default()));
        // A two-unit "address" option is not an Ethernet address.
        let m = nd_message(ND_NEIGHBOR_ADVERT, &[&[ND_OPT_TARGET_LL, 2][..], &[0; 14]].concat());
        assert_eq!(nd_first_link_layer(&m), None);
    }

    #[test]
    fn other_icmpv6_messages_have_no_nd_options() {
        let mut m = nd_message(ND_NEIGHBOR_SOLICIT, &SLL);
        m[1] = 1; // code 1 is no NS
        assert_eq!((nd_link_layer(&m), nd_first_link_layer(&m), nd_target(&m)), (None, None, None));
        m[0] = 128;
        m[1] = 0;
        assert_eq!(nd_link_layer(&m), None);
    }

    #[test]
    fn never_panics_on_any_truncation_or_option_length() {
        let base = nd_message(ND_NEIGHBOR_ADVERT, &[&PREFIX_INFO[..], &SLL, &TLL].concat());
        for n in 0..=base.len() {
            for units in 0..=255u8 {
                let mut m = base[..n].to_vec();
                if let Some(b) = m.get_mut(25) {
                    *b = units;
                }
                if let Some(ll) = nd_link_layer(&m) {
                    for at in [ll.sll, ll.tll].into_iter().flatten() {
                        assert!(at + 6 <= m.len());
                    }
                }
                if let Some((_, at)) = nd_first_link_layer(&m) {
                    assert!(at + 6 <= m.len());
                }
            }
        }
    }
}
