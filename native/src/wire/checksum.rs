//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Checksums are handled as host-order `u16` values of the big-endian field.

/// One's-complement sum of `data` added to `acc` (not folded, not complemented).
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
        // Keep headroom for the next add without losing carries.
        acc = (acc & 0xffff) + (acc >> 16);
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add((*last as u32) << 8);
    }
    acc
}

/// Fold a 32-bit accumulator into 16 bits (end-around carry).
pub fn fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum field value for `data` (whose checksum field must be zero).
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

/// Pseudo-header sum for IPv4 TCP/UDP (RFC 793/768), not folded. The
/// datapath only updates checksums; tests build frames with this.
#[cfg(test)]
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], proto: u8, l4_len: u16) -> u32 {
    let mut acc = sum(0, &src);
    acc = sum(acc, &dst);
    acc + proto as u32 + l4_len as u32
}

/// Pseudo-header sum for IPv6 upper layers (RFC 8200 section 8.1), not
/// folded. As `pseudo_v4`, for tests.
#[cfg(test)]
pub fn pseudo_v6(src: [u8; 16], dst: [u8; 16], next: u8, l4_len: u32) -> u32 {
    let mut acc = sum(0, &src);
    acc = sum(acc, &dst);
    acc = sum(acc, &l4_len.to_be_bytes());
    acc + next as u32
}

/// Fold the change `old -> new` of covered data into an *uncomplemented* sum
/// (e.g. a partial pseudo-header sum left for checksum offload):
/// S' = S + ~m + m' (RFC 1624 eqn. 3 without the outer complements).
pub fn update_sum(s: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    let mut acc = s as u32;
    let mut i = 0;
    while i < old.len() {
        let o = u16::from_be_bytes([old[i], *old.get(i + 1).unwrap_or(&0)]);
        let n = u16::from_be_bytes([new[i], *new.get(i + 1).unwrap_or(&0)]);
        acc += (!o) as u32 + n as u32;
        acc = (acc & 0xffff) + (acc >> 16);
        i += 2;
    }
    fold(acc)
}

/// RFC 1624 eqn. 3: the new checksum field after covered data changed from
/// `old` to `new` (both an even number of bytes at an even offset, or one
/// byte paired by the caller with its neighbour).
pub fn update(check: u16, old: &[u8], new: &[u8]) -> u16 {
    !update_sum(!check, old, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_the_rfc1071_example() {
        // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &d)), 0xddf2);
        assert_eq!(checksum(&d), !0xddf2);
    }

    #[test]
    fn pads_an_odd_trailing_byte_with_zero() {
        assert_eq!(fold(sum(0, &[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn incremental_update_equals_recomputation() {
        let mut d = [0x45u8, 0, 0, 60, 0x1c, 0x46, 0x40, 0, 0x40, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let c = checksum(&d);
        let old = [d[12], d[13], d[14], d[15]];
        d[12..16].copy_from_slice(&[192, 168, 255, 254]);
        let inc = update(c, &old, &d[12..16]);
        assert_eq!(inc, checksum(&d));
    }

    #[test]
    fn partial_sum_update_tracks_a_pseudo_header_change() {
        let p = fold(pseudo_v4([10, 0, 0, 1], [10, 0, 0, 2], 6, 40));
        let q = update_sum(p, &[10, 0, 0, 1], &[172, 16, 3, 4]);
        assert_eq!(q, fold(pseudo_v4([172, 16, 3, 4], [10, 0, 0, 2], 6, 40)));
    }
}
