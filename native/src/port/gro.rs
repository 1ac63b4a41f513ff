//! Coalescing received TCP segments back into a super-frame, as GRO does on
//! a NIC: a tunnel vport reads a sender's TCP segments one datagram each,
//! and handing them on one by one would make the receiving stack (a VM's
//! veth or tap) take forty frames where the sender wrote one. Consecutive,
//! in-order segments of one flow with the same headers become one frame
//! with a virtio-net header (GSO TCPV4/TCPV6, checksum left to finish),
//! which ports hand on as veths and taps hand them to us; a port that
//! cannot take it whole (a tunnel) cuts it up again (gso.rs).
//!
//! What joins, as in Linux's TCP GRO: segments of a full MSS with only ACK
//! set, then one last that may be shorter or carry PSH or FIN; IP and TCP headers
//! equal but for lengths, IPv4 id (one more each time), sequence number and
//! checksums; checksums verified first, so a damaged segment is passed on
//! as it came rather than hidden behind a recomputed checksum.

use super::gso::l3_of;
use crate::packet::{Packet, VnetHdr};
use crate::wire::checksum;
use crate::wire::ethernet::ethertype;

const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const TCP_ACK: u8 = 0x10;
const TCP_PSH: u8 = 0x08;
const TCP_FIN: u8 = 0x01;
/// Longest IP packet a super-frame may become: the 16-bit length fields.
const MAX_IP_LEN: usize = 65535;

/// A super-frame being built from the segments of one flow.
#[derive(Debug)]
pub struct Coalescing {
    l3: usize,
    l4: usize,
    /// Bytes of Ethernet, IP and TCP headers.
    hdrs: usize,
    v4: bool,
    /// Payload of every segment but the last.
    mss: usize,
    next_seq: u32,
    next_id: u16,
    segments: usize,
    /// A short segment or one with PSH was the last that may join.
    closed: bool,
}

/// Header layout of a TCP segment that may take part in coalescing.
struct Segment {
    l3: usize,
    l4: usize,
    hdrs: usize,
    v4: bool,
    seq: u32,
    id: u16,
    flags: u8,
}

/// Parse `f` as a TCP segment with payload whose IP and TCP checksums
/// verify, with no IP options, extension headers or fragmentation.
fn segment(f: &[u8]) -> Option<Segment> {
    let (l3, ty) = l3_of(f)?;
    let (v4, l4, pseudo) = match ty {
        ethertype::IPV4 => {
            let ip = f.get(l3..l3 + 20)?;
            let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
            let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
            if ip[0] != 0x45 || ip[9] != 6 || frag != 0 || l3 + total != f.len() || checksum::checksum(ip) != 0 {
                return None;
            }
            (true, l3 + 20, checksum::sum(0, &ip[12..20]))
        }
        ethertype::IPV6 => {
            let ip = f.get(l3..l3 + 40)?;
            let payload = u16::from_be_bytes([ip[4], ip[5]]) as usize;
            if ip[6] != 6 || l3 + 40 + payload != f.len() {
                return None;
            }
            (false, l3 + 40, checksum::sum(0, &ip[8..40]))
        }
        _ => return None,
    };
    let tcp_len = ((*f.get(l4 + 12)? >> 4) as usize) * 4;
    let hdrs = l4 + tcp_len;
    if tcp_len < 20 || hdrs >= f.len() {
        return None;
    }
    let pseudo = pseudo + 6 + (f.len() - l4) as u32;
    if checksum::fold(checksum::sum(pseudo, &f[l4..])) != 0xffff {
        return None;
    }
    Some(Segment {
        l3,
        l4,
        hdrs,
        v4,
        seq: u32::from_be_bytes(f[l4 + 4..l4 + 8].try_into().ok()?),
        id: u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]),
        flags: f[l4 + 13],
    })
}

impl Coalescing {
    /// Start a super-frame with `frame` (a finished frame, no offloads) if
    /// it is a TCP segment that others may join.
    pub fn start(frame: &[u8]) -> Option<Coalescing> {
        let s = segment(frame)?;
        if s.flags != TCP_ACK {
            return None;
        }
        let mss = frame.len() - s.hdrs;
        Some(Coalescing {
            l3: s.l3,
            l4: s.l4,
            hdrs: s.hdrs,
            v4: s.v4,
            mss,
            next_seq: s.seq.wrapping_add(mss as u32),
            next_id: s.id.wrapping_add(1),
            segments: 1,
            closed: false,
        })
    }

    /// Append `seg`'s payload to the super-frame in `pkt` if `seg` is its
    /// flow's next segment; false (nothing changed) if not.
    pub fn append(&mut self, pkt: &mut Packet, seg: &[u8]) -> bool {
        if self.closed {
            return false;
        }
        let f = pkt.frame();
        let Some(s) = segment(seg) else { return false };
        let payload = seg.len() - self.hdrs;
        let fits = f.len() + payload - self.l3 <= MAX_IP_LEN;
        let in_order = s.seq == self.next_seq && (!self.v4 || s.id == self.next_id);
        let same_layout = (s.l3, s.l4, s.hdrs, s.v4) == (self.l3, self.l4, self.hdrs, self.v4);
        // Only ACK, but the last may add PSH or FIN.
        let flags_ok = s.flags & !(TCP_PSH | TCP_FIN) == TCP_ACK;
        if !fits || !in_order || !same_layout || payload > self.mss || !flags_ok {
            return false;
        }
        if !self.same_headers(f, seg) || !pkt.append(&seg[self.hdrs..]) {
            return false;
        }
        if s.flags != TCP_ACK {
            let at = self.l4 + 13;
            pkt.frame_mut()[at] = s.flags;
        }
        self.closed = payload < self.mss || s.flags != TCP_ACK;
        self.next_seq = s.seq.wrapping_add(payload as u32);
        self.next_id = s.id.wrapping_add(1);
        self.segments += 1;
        true
    }

    /// Headers equal but for the fields that differ from segment to
    /// segment: IP lengths, id and checksum, TCP sequence number, flags
    /// and checksum.
    fn same_headers(&self, a: &[u8], b: &[u8]) -> bool {
        let (l3, l4) = (self.l3, self.l4);
        let varying: &[std::ops::Range<usize>] = if self.v4 {
            &[l3 + 2..l3 + 6, l3 + 10..l3 + 12, l4 + 4..l4 + 8, l4 + 13..l4 + 14, l4 + 16..l4 + 18]
        } else {
            &[l3 + 4..l3 + 6, l4 + 4..l4 + 8, l4 + 13..l4 + 14, l4 + 16..l4 + 18]
        };
        let mut at = 0;
        for r in varying {
            if a[at..r.start] != b[at..r.start] {
                return false;
            }
            at = r.end;
        }
        a[at..self.hdrs] == b[at..self.hdrs]
    }

    /// Make the frame in `pkt` whole: with one segment it stays as it came;
    /// with more, its lengths and IPv4 header checksum are set, and the TCP
    /// checksum is left to finish (the pseudo-header sum in the field) with
    /// a virtio-net header that says so and how to cut it up again.
    pub fn finish(&self, pkt: &mut Packet) {
        if self.segments < 2 {
            return;
        }
        let (l3, l4) = (self.l3, self.l4);
        let f = pkt.frame_mut();
        let tcp_len = f.len() - l4;
        let pseudo = if self.v4 {
            let total = (f.len() - l3) as u16;
            f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
            f[l3 + 10..l3 + 12].fill(0);
            let c = checksum::checksum(&f[l3..l4]);
            f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
            checksum::sum(0, &f[l3 + 12..l3 + 20])
        } else {
            f[l3 + 4..l3 + 6].copy_from_slice(&(tcp_len as u16).to_be_bytes());
            checksum::sum(0, &f[l3 + 8..l3 + 40])
        };
        let sum = checksum::fold(pseudo + 6 + tcp_len as u32);
        f[l4 + 16..l4 + 18].copy_from_slice(&sum.to_be_bytes());
        pkt.vnet = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: if self.v4 { GSO_TCPV4 } else { GSO_TCPV6 },
            hdr_len: self.hdrs as u16,
            gso_size: self.mss as u16,
            csum_start: l4 as u16,
            csum_offset: 16,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::gso::{fit, Fit};

    /// A super-frame of `payload` bytes as a sender's stack hands it over,
    /// cut by gso.rs into segments of `mss`: what the far end of a tunnel
    /// reads.
    fn segments(v4: bool, payload: usize, flags: u8, mss: u16) -> (Vec<u8>, Vec<Vec<u8>>) {
        use crate::flow::key::tests::{ipv4_frame, ipv6_frame};
        let mut tcp = vec![0x30, 0x39, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0, 1, 0x80, flags, 0xff, 0xff, 0, 0, 0, 0];
        // Timestamps (NOP, NOP, TS): equal in every segment of one send.
        tcp.extend([1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8]);
        tcp.extend((0..payload).map(|i| (i * 13) as u8));
        let f = if v4 { ipv4_frame(6, &tcp) } else { ipv6_frame(6, &tcp) };
        let l4 = if v4 { 34 } else { 54 };
        let vnet = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: if v4 { 1 } else { 4 },
            gso_size: mss,
            ..Default::default()
        };
        let Fit::Rewritten(segs) = fit(&f, &vnet, usize::from(mss) + l4 + 32) else { panic!("not segmented") };
        (f, segs)
    }

    /// A packet that received `frame`, with room after it.
    fn received(frame: &[u8]) -> Packet {
        let mut p = Packet::new();
        p.receive_area()[..frame.len()].copy_from_slice(frame);
        p.set_received(frame.len());
        p
    }

    /// Write the right TCP checksum into an IPv4 segment changed by a test.
    fn fix_tcp_checksum(f: &mut [u8]) {
        f[50..52].fill(0);
        let pseudo =
            checksum::pseudo_v4(f[26..30].try_into().unwrap(), f[30..34].try_into().unwrap(), 6, (f.len() - 34) as u16);
        let c = !checksum::fold(checksum::sum(pseudo, &f[34..]));
        f[50..52].copy_from_slice(&c.to_be_bytes());
    }

    /// Coalesce `segs` as a tunnel's receive does; the frames handed on.
    fn coalesce(segs: &[Vec<u8>]) -> Vec<Packet> {
        let mut out: Vec<Packet> = Vec::new();
        let mut open: Option<Coalescing> = None;
        for s in segs {
            if let (Some(c), Some(last)) = (open.as_mut(), out.last_mut()) {
                if c.append(last, s) {
                    continue;
                }
                c.finish(last);
            }
            open = Coalescing::start(s);
            out.push(received(s));
        }
        if let (Some(c), Some(last)) = (open, out.last_mut()) {
            c.finish(last);
        }
        out
    }

    fn tcp_checksum_of_finished(p: &Packet, v4: bool) -> bool {
        let f = p.frame();
        let (l4, pseudo) = if v4 {
            (
                34,
                checksum::pseudo_v4(
                    f[26..30].try_into().unwrap(),
                    f[30..34].try_into().unwrap(),
                    6,
                    (f.len() - 34) as u16,
                ),
            )
        } else {
            (
                54,
                checksum::pseudo_v6(
                    f[22..38].try_into().unwrap(),
                    f[38..54].try_into().unwrap(),
                    6,
                    (f.len() - 54) as u32,
                ),
            )
        };
        // The field holds the pseudo-header sum: summing over it finishes it.
        assert_eq!(u16::from_be_bytes([f[l4 + 16], f[l4 + 17]]), checksum::fold(pseudo));
        let mut done = f.to_vec();
        let c = checksum::checksum(&done[l4..]);
        done[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        checksum::fold(checksum::sum(pseudo, &done[l4..])) == 0xffff
    }

    #[test]
    fn the_segments_of_one_send_become_the_super_frame_they_were_cut_from() {
        for v4 in [true, false] {
            let (f, segs) = segments(v4, 5000, TCP_ACK | TCP_PSH, 1400);
            assert_eq!(segs.len(), 4);
            let out = coalesce(&segs);
            assert_eq!(out.len(), 1, "one frame (IPv4: {v4})");
            let p = &out[0];
            let (l3, l4) = (14, if v4 { 34 } else { 54 });
            assert_eq!(p.len(), f.len());
            assert_eq!(&p.frame()[l4 + 32..], &f[l4 + 32..], "the payload in order");
            assert_eq!(p.frame()[l4 + 13], TCP_ACK | TCP_PSH, "the last segment's PSH");
            assert_eq!(&p.frame()[l4 + 4..l4 + 8], &f[l4 + 4..l4 + 8], "the first segment's sequence number");
            if v4 {
                assert_eq!(u16::from_be_bytes([p.frame()[16], p.frame()[17]]) as usize, p.len() - l3);
                assert_eq!(checksum::checksum(&p.frame()[l3..l4]), 0);
            } else {
                assert_eq!(u16::from_be_bytes([p.frame()[18], p.frame()[19]]) as usize, p.len() - l4);
            }
            assert!(tcp_checksum_of_finished(p, v4));
            let gso = if v4 { GSO_TCPV4 } else { GSO_TCPV6 };
            let want = VnetHdr {
                flags: VnetHdr::F_NEEDS_CSUM,
                gso_type: gso,
                hdr_len: (l4 + 32) as u16,
                gso_size: 1400,
                csum_start: l4 as u16,
                csum_offset: 16,
            };
            assert_eq!(p.vnet, want);
            // And cut up again for a tunnel, it gives the same segments back.
            let Fit::Rewritten(again) = fit(p.frame(), &p.vnet, 1400 + l4 + 32) else { panic!("not cut again") };
            assert_eq!(again, segs);
        }
    }

    #[test]
    fn a_lone_segment_or_one_that_cannot_join_is_handed_on_as_it_came() {
        let (_, segs) = segments(true, 5000, TCP_ACK, 1400);
        // One alone: unchanged, no offloads.
        let out = coalesce(&segs[..1]);
        assert_eq!((out[0].frame(), out[0].vnet), (&segs[0][..], VnetHdr::default()));
        // Out of order: 0 then 2 do not join; 2 and 3 do.
        let out = coalesce(&[segs[0].clone(), segs[2].clone(), segs[3].clone()]);
        assert_eq!(out.iter().map(|p| p.vnet.gso_type).collect::<Vec<_>>(), vec![0, GSO_TCPV4]);
        // A damaged segment stays alone, its checksum as bad as it came.
        let mut bad = segs[1].clone();
        bad[100] ^= 1;
        let out = coalesce(&[segs[0].clone(), bad.clone(), segs[2].clone()]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].frame(), &bad[..]);
        // Another flow (another port) does not join.
        let mut other = segs[1].clone();
        other[35] ^= 1;
        fix_tcp_checksum(&mut other);
        assert_eq!(coalesce(&[segs[0].clone(), other]).len(), 2);
        // A different ack number (the TCP header differs) does not join.
        let mut acked = segs[1].clone();
        acked[45] ^= 1;
        fix_tcp_checksum(&mut acked);
        assert_eq!(coalesce(&[segs[0].clone(), acked]).len(), 2);
        // The same segment with its checksum fixed does join: the cases
        // above failed for the reason they name.
        let mut same = segs[1].clone();
        fix_tcp_checksum(&mut same);
        assert_eq!(coalesce(&[segs[0].clone(), same]).len(), 1);
        // Nothing joins after PSH or FIN, nor after a short segment.
        let (_, pushed) = segments(true, 2800, TCP_ACK | TCP_PSH, 1400);
        let (_, more) = segments(true, 2800, TCP_ACK, 1400);
        assert_eq!(coalesce(&[pushed[0].clone(), pushed[1].clone(), more[0].clone()]).len(), 2);
        let (_, fin) = segments(true, 2800, TCP_ACK | TCP_FIN, 1400);
        let out = coalesce(&[fin[0].clone(), fin[1].clone(), more[0].clone()]);
        assert_eq!((out.len(), out[0].frame()[47]), (2, TCP_ACK | TCP_FIN), "FIN joins as the last");
        // SYN, FIN or anything but a plain ACK never starts one.
        assert!(Coalescing::start(&fin[1]).is_none());
        assert!(Coalescing::start(&fin[0]).is_some());
    }

    #[test]
    fn truncated_or_odd_frames_never_panic() {
        let (_, segs) = segments(false, 3000, TCP_ACK, 1000);
        for n in 0..segs[1].len() {
            let _ = Coalescing::start(&segs[1][..n]);
            if let Some(mut c) = Coalescing::start(&segs[0]) {
                let mut p = received(&segs[0]);
                let _ = c.append(&mut p, &segs[1][..n]);
            }
        }
    }
}
