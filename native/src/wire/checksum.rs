//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Checksums are handled as host-order `u16` values of the big-endian field.

/// One's-complement sum of `data` added to `acc` (not folded, not complemented).
///
/// Summed four bytes at a time in the machine's byte order, which the
/// compiler vectorises: a one's-complement sum of byte-swapped words is the
/// byte-swapped sum (RFC 1071 2(B)), so one swap at the end gives the
/// big-endian sum. Tunnels checksum every TCP segment they cut, so this
/// runs over every byte they send.
pub fn sum(acc: u32, data: &[u8]) -> u32 {
    // 2^32 words of at most 2^32 - 1 each cannot overflow 64 bits; data is
    // at most a 64 KiB frame.
    let mut s: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        s += u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) as u64;
    }
    let mut rest = words.remainder();
    if let [a, b, tail @ ..] = rest {
        s += u16::from_ne_bytes([*a, *b]) as u64;
        rest = tail;
    }
    if let [last] = rest {
        // Padded with a zero byte after it, as if the data were even.
        s += u16::from_ne_bytes([*last, 0]) as u64;
    }
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    let folded = fold(s as u32);
    (acc & 0xffff) + (acc >> 16) + u16::from_be(folded) as u32
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

    /// RFC 1071's definition, sixteen bits at a time.
    fn slow_sum(data: &[u8]) -> u16 {
        let mut acc = 0u32;
        for w in data.chunks(2) {
            acc += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
        }
        fold(acc)
    }

    #[test]
    fn the_word_at_a_time_sum_equals_the_definition_for_every_length_and_carries() {
        let mut x = 0x1234_5678u32;
        let data: Vec<u8> = (0..3000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for n in (0..64).chain([1447, 1448, 1449, 2999, 3000]) {
            assert_eq!(fold(sum(0, &data[..n])), slow_sum(&data[..n]), "{n} bytes");
            assert_eq!(fold(sum(0, &data[1..n.max(1)])), slow_sum(&data[1..n.max(1)]), "{n} bytes from an odd offset");
        }
        // All ones carries on every add; 64 KiB of it still folds right.
        let ones = vec![0xffu8; 65536];
        assert_eq!(fold(sum(0, &ones)), 0xffff);
        assert_eq!(fold(sum(0xffff_0001, &data[..100])), fold(0x1_0000 + slow_sum(&data[..100]) as u32));
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
