//! Fitting frames into a path MTU, for ports that cannot hand them on
//! unfinished (a tunnel's inner frame travels inside a datagram): fill in
//! partial checksums, cut TCP super-frames into segments that fit, and for
//! an IPv4 frame with DF or an IPv6 frame (never fragmented on the way)
//! that cannot fit, build the ICMP "fragmentation needed" or ICMPv6 "packet
//! too big" its sender should get, so that path MTU discovery works.

use crate::packet::VnetHdr;
use crate::wire::checksum;
use crate::wire::ethernet::{ethertype, is_vlan_tpid};

/// virtio-net GSO types (linux/virtio_net.h) we segment.
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
/// The ECN bit a GSO type may carry beside its type.
const GSO_ECN: u8 = 0x80;

const TCP_FLAG_FIN: u8 = 0x01;
const TCP_FLAG_PSH: u8 = 0x08;
const TCP_FLAG_CWR: u8 = 0x80;

/// How a frame can go into a space of `room` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Fit {
    /// Finished and small enough: send the frame's own bytes.
    AsIs,
    /// Finished copies to send instead: the frame with its checksum filled
    /// in, or its TCP segments.
    Rewritten(Vec<Vec<u8>>),
    /// Too big and not a TCP super-frame: it cannot go. `reply` is the
    /// ICMP "fragmentation needed" for its sender if it is IPv4 with DF, or
    /// the ICMPv6 "packet too big" if it is IPv6.
    TooBig { reply: Option<Vec<u8>> },
}

/// What it takes to send `frame` (with offload state `vnet`) as frames of
/// at most `room` bytes.
pub fn fit(frame: &[u8], vnet: &VnetHdr, room: usize) -> Fit {
    if is_tcp_super_frame(vnet) {
        return segment_tcp(frame, vnet, room).map_or(Fit::TooBig { reply: None }, Fit::Rewritten);
    }
    if frame.len() > room {
        return Fit::TooBig { reply: too_big_reply(frame, room) };
    }
    if vnet.flags & VnetHdr::F_NEEDS_CSUM == 0 {
        return Fit::AsIs;
    }
    let mut f = frame.to_vec();
    let (start, at) = (vnet.csum_start as usize, vnet.csum_start as usize + vnet.csum_offset as usize);
    if at + 2 > f.len() {
        return Fit::TooBig { reply: None };
    }
    // The field holds the pseudo-header sum: summing over it completes it.
    let c = !checksum::fold(checksum::sum(0, &f[start..]));
    f[at..at + 2].copy_from_slice(&c.to_be_bytes());
    Fit::Rewritten(vec![f])
}

/// Offset of the L3 header after the Ethernet header and any VLAN tags,
/// and its EtherType.
pub fn l3_of(f: &[u8]) -> Option<(usize, u16)> {
    let mut at = 12;
    loop {
        let ty = u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]);
        if !is_vlan_tpid(ty) {
            return Some((at + 2, ty));
        }
        at += 4;
    }
}

/// Finish the TCP or UDP checksum of a decapsulated frame that a sender on
/// this host left to offload: over a veth underlay the kernel hands the
/// datagram to our socket with the inner checksum field holding only the
/// pseudo-header sum (CHECKSUM_PARTIAL), and says nothing of it. A field
/// equal to that sum in a segment whose checksum does not verify is such a
/// frame; any other frame is left alone. Returns whether it was finished.
pub fn finish_leaked_checksum(f: &mut [u8]) -> bool {
    let Some((l3, ty)) = l3_of(f) else { return false };
    let (proto, l4, end, pseudo) = match ty {
        ethertype::IPV4 if f.len() >= l3 + 20 => {
            let ihl = ((f[l3] & 0x0f) as usize) * 4;
            let end = l3 + u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]) as usize;
            let frag = u16::from_be_bytes([f[l3 + 6], f[l3 + 7]]) & 0x3fff;
            if ihl < 20 || end > f.len() || end < l3 + ihl || frag != 0 {
                return false;
            }
            (f[l3 + 9], l3 + ihl, end, checksum::sum(0, &f[l3 + 12..l3 + 20]))
        }
        ethertype::IPV6 if f.len() >= l3 + 40 => {
            let end = l3 + 40 + u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]) as usize;
            if end > f.len() {
                return false;
            }
            (f[l3 + 6], l3 + 40, end, checksum::sum(0, &f[l3 + 8..l3 + 40]))
        }
        _ => return false,
    };
    let at = match proto {
        6 => l4 + 16,
        17 => l4 + 6,
        _ => return false,
    };
    if at + 2 > end {
        return false;
    }
    let pseudo = pseudo + proto as u32 + (end - l4) as u32;
    if u16::from_be_bytes([f[at], f[at + 1]]) != checksum::fold(pseudo) {
        return false;
    }
    if checksum::fold(checksum::sum(pseudo, &f[l4..end])) == 0xffff {
        return false; // a finished checksum that happens to equal the sum
    }
    // Summing over the field, which holds the pseudo-header sum, completes it.
    let c = match !checksum::fold(checksum::sum(0, &f[l4..end])) {
        0 if proto == 17 => 0xffff,
        c => c,
    };
    f[at..at + 2].copy_from_slice(&c.to_be_bytes());
    true
}

/// What tells the sender of `f` that it does not fit in `room` bytes.
fn too_big_reply(f: &[u8], room: usize) -> Option<Vec<u8>> {
    match l3_of(f)?.1 {
        ethertype::IPV4 => frag_needed(f, room),
        ethertype::IPV6 => packet_too_big(f, room),
        _ => None,
    }
}

/// The ICMP "fragmentation needed" (RFC 1191) answering an IPv4 frame with
/// DF that does not fit in `room` bytes: from the frame's destination back
/// to its source (MACs swapped, VLAN tags kept), with the next-hop MTU and
/// the frame's IP header and first 8 payload bytes. None for other frames,
/// later fragments and ICMP errors (never answered with an error).
fn frag_needed(f: &[u8], room: usize) -> Option<Vec<u8>> {
    let (l3, ty) = l3_of(f)?;
    let ip = f.get(l3..)?;
    let ihl = ((*ip.first()? & 0x0f) as usize) * 4;
    if ty != ethertype::IPV4 || ihl < 20 || ip.len() < ihl + 8 || ip[6] & 0x40 == 0 {
        return None;
    }
    let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    let icmp_error = ip[9] == 1 && !matches!(ip[ihl], 0 | 8 | 13 | 14);
    if frag_offset != 0 || icmp_error {
        return None;
    }
    let mtu = u16::try_from(room.checked_sub(l3)?).ok()?;
    let quote = &ip[..ihl + 8];
    let mut r = Vec::with_capacity(l3 + 28 + quote.len());
    r.extend_from_slice(&f[6..12]);
    r.extend_from_slice(&f[0..6]);
    r.extend_from_slice(&f[12..l3]);
    let total = (20 + 8 + quote.len()) as u16;
    r.extend_from_slice(&[0x45, 0xc0]);
    r.extend_from_slice(&total.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0, 64, 1, 0, 0]);
    r.extend_from_slice(&ip[16..20]);
    r.extend_from_slice(&ip[12..16]);
    let c = checksum::checksum(&r[l3..l3 + 20]);
    r[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    let icmp = l3 + 20;
    r.extend_from_slice(&[3, 4, 0, 0, 0, 0]);
    r.extend_from_slice(&mtu.to_be_bytes());
    r.extend_from_slice(quote);
    let c = checksum::checksum(&r[icmp..]);
    r[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
    Some(r)
}

/// Longest IPv6 packet an ICMPv6 error may be (RFC 4443 2.4(c)): the
/// minimum IPv6 MTU.
const IPV6_MIN_MTU: usize = 1280;

/// The ICMPv6 "packet too big" (RFC 4443 3.2, RFC 8201) answering an IPv6
/// frame that does not fit in `room` bytes: from the frame's destination
/// back to its source (MACs swapped, VLAN tags kept), with the MTU and as
/// much of the packet as fits in 1280 bytes. None for ICMPv6 errors (never
/// answered with an error) and for a source that cannot be answered (the
/// unspecified address or a multicast one).
fn packet_too_big(f: &[u8], room: usize) -> Option<Vec<u8>> {
    let (l3, _) = l3_of(f)?;
    let ip = f.get(l3..)?;
    if ip.len() < 40 {
        return None;
    }
    let (src, dst): ([u8; 16], [u8; 16]) = (ip[8..24].try_into().ok()?, ip[24..40].try_into().ok()?);
    let icmp_error = ip[6] == 58 && ip.get(40).is_some_and(|&ty| ty < 128);
    if icmp_error || src == [0; 16] || src[0] == 0xff {
        return None;
    }
    let mtu = u32::try_from(room.checked_sub(l3)?).ok()?;
    let quote = &ip[..ip.len().min(IPV6_MIN_MTU - 40 - 8)];
    let icmp_len = 8 + quote.len();
    let mut r = Vec::with_capacity(l3 + 40 + icmp_len);
    r.extend_from_slice(&f[6..12]);
    r.extend_from_slice(&f[0..6]);
    r.extend_from_slice(&f[12..l3]);
    r.extend_from_slice(&[0x60, 0, 0, 0]);
    r.extend_from_slice(&(icmp_len as u16).to_be_bytes());
    r.extend_from_slice(&[58, 64]);
    r.extend_from_slice(&dst);
    r.extend_from_slice(&src);
    let icmp = r.len();
    r.extend_from_slice(&[2, 0, 0, 0]);
    r.extend_from_slice(&mtu.to_be_bytes());
    r.extend_from_slice(quote);
    // The pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header.
    let pseudo = checksum::sum(checksum::sum(checksum::sum(0, &dst), &src), &(icmp_len as u32).to_be_bytes()) + 58;
    let c = !checksum::fold(checksum::sum(pseudo, &r[icmp..]));
    r[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
    Some(r)
}

/// Whether `vnet` describes a TCP super-frame left to us to segment.
pub fn is_tcp_super_frame(vnet: &VnetHdr) -> bool {
    matches!(vnet.gso_type & !GSO_ECN, GSO_TCPV4 | GSO_TCPV6)
}

/// Cut a TCP super-frame into segments of at most `room` bytes each, with
/// IP lengths, IPv4 ids and checksums, TCP sequence numbers, flags and
/// checksums as the sender's stack would have written them. None when the
/// frame is not a whole TCP/IP frame or its headers leave no room.
fn segment_tcp(f: &[u8], vnet: &VnetHdr, room: usize) -> Option<Vec<Vec<u8>>> {
    let mut all = Vec::new();
    let stride = segment_tcp_into(f, vnet, room, &[], &mut all)?;
    Some(all.chunks(stride).map(<[u8]>::to_vec).collect())
}

/// Segment a TCP super-frame as `segment_tcp` does, but into one buffer:
/// each segment after its own copy of `prefix` (a tunnel header), appended
/// to `out` back to back. Every piece (prefix and segment) is the returned
/// stride long but the last, which may be shorter: the layout of a
/// UDP_SEGMENT send, whose datagrams the kernel cuts at that stride.
pub fn segment_tcp_into(f: &[u8], vnet: &VnetHdr, room: usize, prefix: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let (l3, ty) = l3_of(f)?;
    let v4 = match ty {
        ethertype::IPV4 => true,
        ethertype::IPV6 => false,
        _ => return None,
    };
    let l4 = if v4 { l3 + ((*f.get(l3)? & 0x0f) as usize) * 4 } else { l3 + 40 };
    let tcp_len = ((*f.get(l4 + 12)? >> 4) as usize) * 4;
    let hdrs = l4 + tcp_len;
    if tcp_len < 20 || hdrs > f.len() || (v4 && f[l3 + 9] != 6) || (!v4 && f[l3 + 6] != 6) {
        return None;
    }
    let mss = (vnet.gso_size as usize).min(room.checked_sub(hdrs)?);
    if mss == 0 {
        return None;
    }
    let payload = &f[hdrs..];
    let seq0 = u32::from_be_bytes(f[l4 + 4..l4 + 8].try_into().ok()?);
    let id0 = u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]);
    let flags = f[l4 + 13];
    // The pseudo-header's addresses, the same for every segment.
    let addresses = if v4 {
        checksum::sum(checksum::sum(0, &f[l3 + 12..l3 + 16]), &f[l3 + 16..l3 + 20])
    } else {
        checksum::sum(checksum::sum(0, &f[l3 + 8..l3 + 24]), &f[l3 + 24..l3 + 40])
    };
    let count = payload.len().div_ceil(mss).max(1);
    out.reserve(count * (prefix.len() + hdrs) + payload.len());
    for i in 0..count {
        let chunk = &payload[(i * mss).min(payload.len())..((i + 1) * mss).min(payload.len())];
        out.extend_from_slice(prefix);
        let at = out.len();
        out.extend_from_slice(&f[..hdrs]);
        out.extend_from_slice(chunk);
        let s = &mut out[at..];
        if v4 {
            let ip_len = (hdrs - l3 + chunk.len()) as u16;
            s[l3 + 2..l3 + 4].copy_from_slice(&ip_len.to_be_bytes());
            s[l3 + 4..l3 + 6].copy_from_slice(&id0.wrapping_add(i as u16).to_be_bytes());
            s[l3 + 10..l3 + 12].fill(0);
            let c = checksum::checksum(&s[l3..l4]);
            s[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
        } else {
            s[l3 + 4..l3 + 6].copy_from_slice(&((hdrs - l4 + chunk.len()) as u16).to_be_bytes());
        }
        let seq = seq0.wrapping_add((i * mss) as u32);
        s[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
        let mut fl = flags;
        if i != count - 1 {
            fl &= !(TCP_FLAG_FIN | TCP_FLAG_PSH);
        }
        if i != 0 {
            fl &= !TCP_FLAG_CWR;
        }
        s[l4 + 13] = fl;
        s[l4 + 16..l4 + 18].fill(0);
        let acc = checksum::sum(addresses + 6 + (tcp_len + chunk.len()) as u32, &s[l4..]);
        let c = !checksum::fold(acc);
        s[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
    }
    Some(prefix.len() + hdrs + mss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::tests::{ipv4_frame, ipv6_frame};
    use crate::wire::checksum::{pseudo_v4, pseudo_v6};

    fn tcp_with_payload(n: usize, flags: u8) -> Vec<u8> {
        let mut t = vec![0x30, 0x39, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];
        t.extend((0..n).map(|i| i as u8));
        t
    }

    fn tso(gso_type: u8) -> VnetHdr {
        VnetHdr { flags: VnetHdr::F_NEEDS_CSUM, gso_type, gso_size: 1448, ..VnetHdr::default() }
    }

    fn tcp_checksum_ok(s: &[u8], v4: bool) -> bool {
        let (l4, pseudo) = if v4 {
            let l = s.len() - 34;
            (34, pseudo_v4(s[26..30].try_into().unwrap(), s[30..34].try_into().unwrap(), 6, l as u16))
        } else {
            let l = s.len() - 54;
            (54, pseudo_v6(s[22..38].try_into().unwrap(), s[38..54].try_into().unwrap(), 6, l as u32))
        };
        checksum::fold(checksum::sum(pseudo, &s[l4..])) == 0xffff
    }

    #[test]
    fn a_tcp_super_frame_is_cut_into_segments_that_fit_with_lengths_ids_seqs_flags_and_checksums() {
        let f = ipv4_frame(6, &tcp_with_payload(4000, TCP_FLAG_PSH | TCP_FLAG_FIN | 0x10 | TCP_FLAG_CWR));
        let Fit::Rewritten(segs) = fit(&f, &tso(GSO_TCPV4), 1464) else { panic!("not segmented") };
        // 1464 - 54 header bytes = 1410 per segment, under gso_size 1448.
        assert_eq!(segs.iter().map(|s| s.len() - 54).collect::<Vec<_>>(), vec![1410, 1410, 1180]);
        for (i, s) in segs.iter().enumerate() {
            assert_eq!(u16::from_be_bytes([s[16], s[17]]) as usize, s.len() - 14);
            assert_eq!(checksum::checksum(&s[14..34]), 0, "IPv4 header checksum of segment {i}");
            assert_eq!(u32::from_be_bytes(s[38..42].try_into().unwrap()), 0x1000 + 1410 * i as u32);
            assert!(tcp_checksum_ok(s, true), "TCP checksum of segment {i}");
            assert_eq!(&s[54..], &f[54 + 1410 * i..(54 + 1410 * (i + 1)).min(f.len())]);
        }
        assert_eq!(u16::from_be_bytes([segs[1][18], segs[1][19]]), u16::from_be_bytes([f[18], f[19]]) + 1);
        assert_eq!((segs[0][47], segs[1][47], segs[2][47]), (0x90, 0x10, 0x19));
    }

    #[test]
    fn an_ipv6_super_frame_is_segmented_with_payload_lengths_and_checksums() {
        let f = ipv6_frame(6, &tcp_with_payload(3000, 0x18));
        let Fit::Rewritten(segs) = fit(&f, &tso(GSO_TCPV6), 1514) else { panic!("not segmented") };
        assert_eq!(segs.len(), 3);
        for s in &segs {
            assert_eq!(u16::from_be_bytes([s[18], s[19]]) as usize, s.len() - 54);
            assert!(tcp_checksum_ok(s, false));
        }
    }

    #[test]
    fn a_partial_checksum_is_completed_and_a_big_plain_frame_does_not_fit() {
        let mut f = ipv4_frame(6, &tcp_with_payload(100, 0x10));
        let l = (f.len() - 34) as u16;
        let pseudo = checksum::fold(pseudo_v4([192, 0, 2, 1], [192, 0, 2, 2], 6, l));
        f[26..30].copy_from_slice(&[192, 0, 2, 1]);
        f[30..34].copy_from_slice(&[192, 0, 2, 2]);
        f[50..52].copy_from_slice(&pseudo.to_be_bytes());
        let vnet = VnetHdr { flags: VnetHdr::F_NEEDS_CSUM, csum_start: 34, csum_offset: 16, ..VnetHdr::default() };
        let Fit::Rewritten(done) = fit(&f, &vnet, 1500) else { panic!("checksum not completed") };
        assert!(tcp_checksum_ok(&done[0], true));
        assert_eq!(fit(&f, &VnetHdr::default(), 1500), Fit::AsIs);
        assert!(matches!(fit(&f, &VnetHdr::default(), 100), Fit::TooBig { .. }));
    }

    #[test]
    fn an_ipv4_frame_with_df_too_big_gets_fragmentation_needed_back_to_its_sender() {
        let f = ipv4_frame(17, &[0u8; 1500]);
        let Fit::TooBig { reply: Some(r) } = fit(&f, &VnetHdr::default(), 1464) else { panic!("no reply") };
        assert_eq!((&r[0..6], &r[6..12]), (&f[6..12], &f[0..6]), "MACs swapped");
        assert_eq!((&r[26..30], &r[30..34]), (&f[30..34], &f[26..30]), "from the destination to the source");
        assert_eq!((r[23], checksum::checksum(&r[14..34])), (1, 0));
        assert_eq!((r[34], r[35], u16::from_be_bytes([r[40], r[41]])), (3, 4, 1450));
        assert_eq!(&r[42..], &f[14..14 + 28], "the IP header and 8 bytes of the datagram");
        assert_eq!(checksum::checksum(&r[34..]), 0);
        // Without DF there is no one to tell: the frame is only dropped.
        let mut no_df = f.clone();
        no_df[20] = 0;
        assert_eq!(fit(&no_df, &VnetHdr::default(), 1464), Fit::TooBig { reply: None });
        // Nor is an ICMP error answered with one.
        let mut unreach = ipv4_frame(1, &[3u8; 1500]);
        unreach[20] |= 0x40;
        assert_eq!(fit(&unreach, &VnetHdr::default(), 1464), Fit::TooBig { reply: None });
    }

    #[test]
    fn an_ipv6_frame_too_big_gets_packet_too_big_with_the_tunnel_mtu_and_is_never_cut() {
        let f = ipv6_frame(17, &[7u8; 1600]);
        let Fit::TooBig { reply: Some(r) } = fit(&f, &VnetHdr::default(), 1464) else { panic!("no reply") };
        assert_eq!((&r[0..6], &r[6..12], &r[12..14]), (&f[6..12], &f[0..6], &[0x86, 0xdd][..]), "MACs swapped");
        assert_eq!((&r[22..38], &r[38..54]), (&f[38..54], &f[22..38]), "from the destination to the source");
        assert_eq!((r[20], r.len() - 14), (58, IPV6_MIN_MTU), "ICMPv6, no longer than the minimum MTU");
        assert_eq!(u16::from_be_bytes([r[18], r[19]]) as usize, r.len() - 54);
        assert_eq!((r[54], r[55], u32::from_be_bytes(r[58..62].try_into().unwrap())), (2, 0, 1450));
        assert_eq!(&r[62..], &f[14..14 + 1280 - 48], "as much of the packet as fits");
        let sum = checksum::pseudo_v6(
            f[38..54].try_into().unwrap(),
            f[22..38].try_into().unwrap(),
            58,
            (r.len() - 54) as u32,
        );
        assert_eq!(checksum::fold(checksum::sum(sum, &r[54..])), 0xffff, "ICMPv6 checksum");
        // A short packet is quoted whole.
        let small = ipv6_frame(17, &[7u8; 200]);
        let Fit::TooBig { reply: Some(r) } = fit(&small, &VnetHdr::default(), 100) else { panic!("no reply") };
        assert_eq!(&r[62..], &small[14..]);
        // An ICMPv6 error is not answered with one, nor is a multicast source.
        let error = ipv6_frame(58, &[1u8; 1600]);
        assert_eq!(fit(&error, &VnetHdr::default(), 1464), Fit::TooBig { reply: None });
        let mut multicast = f.clone();
        multicast[22] = 0xff;
        assert_eq!(fit(&multicast, &VnetHdr::default(), 1464), Fit::TooBig { reply: None });
        for n in 0..200 {
            let _ = fit(&f[..n], &VnetHdr::default(), 40);
        }
    }

    #[test]
    fn a_checksum_left_to_offload_by_a_sender_on_this_host_is_finished_and_a_finished_one_left_alone() {
        let good = ipv4_frame(6, &tcp_with_payload(300, 0x18));
        let mut partial = good.clone();
        let l = (partial.len() - 34) as u16;
        let pseudo = checksum::fold(pseudo_v4([10, 0, 0, 1], [10, 0, 0, 2], 6, l));
        partial[50..52].copy_from_slice(&pseudo.to_be_bytes());
        assert!(finish_leaked_checksum(&mut partial));
        assert_eq!(partial, good);
        let mut same = good.clone();
        assert!(!finish_leaked_checksum(&mut same));
        assert_eq!(same, good);
        // A corrupted segment is not "repaired" unless its field is the pseudo-header sum.
        let mut bad = good.clone();
        bad[60] ^= 0xff;
        assert!(!finish_leaked_checksum(&mut bad));
        for n in 0..good.len() {
            let _ = finish_leaked_checksum(&mut partial.clone()[..n]);
        }
    }

    #[test]
    fn truncated_super_frames_never_panic() {
        let f = ipv4_frame(6, &tcp_with_payload(3000, 0x10));
        for n in 0..200 {
            let _ = fit(&f[..n], &tso(GSO_TCPV4), 1464);
            let _ = fit(&f[..n], &tso(GSO_TCPV4), 40);
        }
    }
}
