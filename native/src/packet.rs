//! One frame in flight through the datapath: its bytes with headroom in front
//! (so push_vlan and tunnel push need no copy), and the offload metadata the
//! kernel handed us with it.

use crate::wire::tunnel::GENEVE_MAX_OPTS;

/// Bytes kept free in front of every received frame: room for a VLAN tag
/// and an outer Ethernet+IPv6+UDP+VXLAN header without moving the frame.
pub const HEADROOM: usize = 128;

/// Largest frame a port hands us: a 64 KiB GSO super-frame plus its
/// Ethernet and VLAN headers.
pub const MAX_FRAME: usize = 65536 + 14 + 8;

/// `struct virtio_net_hdr` (linux/virtio_net.h), in host byte order: how the
/// kernel describes a frame whose segmentation or checksum was left to us.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VnetHdr {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VnetHdr {
    pub const SIZE: usize = 10;
    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum at csum_start+csum_offset is partial.
    pub const F_NEEDS_CSUM: u8 = 1;
    /// VIRTIO_NET_HDR_GSO_NONE: not a GSO super-frame.
    pub const GSO_NONE: u8 = 0;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16::from_ne_bytes([b[2], b[3]]),
            gso_size: u16::from_ne_bytes([b[4], b[5]]),
            csum_start: u16::from_ne_bytes([b[6], b[7]]),
            csum_offset: u16::from_ne_bytes([b[8], b[9]]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// True when the frame is a plain, finished frame: nothing left to do.
    pub fn is_plain(&self) -> bool {
        self.flags & Self::F_NEEDS_CSUM == 0 && self.gso_type == Self::GSO_NONE
    }

    /// Shift the header offsets after `n` bytes were inserted (n > 0) or removed
    /// (n < 0) in front of the L3 header, e.g. by push_vlan or tunnel push.
    pub fn shift(&mut self, n: isize) {
        if self.flags & Self::F_NEEDS_CSUM != 0 {
            self.csum_start = (self.csum_start as isize + n) as u16;
        }
        if self.gso_type != Self::GSO_NONE {
            self.hdr_len = (self.hdr_len as isize + n) as u16;
        }
    }
}

/// Tunnel metadata, as OVS's `struct flow_tnl` (IPv4 underlay): what a
/// tunnel vport decapsulated, or what `set(tunnel(...))` asks an output to a
/// tunnel vport to encapsulate with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelInfo {
    /// VNI (VXLAN, Geneve) or GRE key.
    pub tun_id: u64,
    /// Outer IPv4 source and destination (zero over an IPv6 underlay).
    pub src: [u8; 4],
    pub dst: [u8; 4],
    /// Outer IPv6 source and destination (zero over an IPv4 underlay), as
    /// OVS's flow_tnl keeps both families side by side.
    pub ipv6_src: [u8; 16],
    pub ipv6_dst: [u8; 16],
    /// `wire::tunnel::flags::*`.
    pub flags: u16,
    pub tos: u8,
    /// 0 on transmit: the kernel's default TTL.
    pub ttl: u8,
    /// Outer UDP ports (0 on transmit: the source port from the inner
    /// flow's hash, the destination the vport's port).
    pub tp_src: u16,
    pub tp_dst: u16,
    /// Geneve option TLVs, `opts_len` bytes of `opts`.
    pub opts: [u8; GENEVE_MAX_OPTS],
    pub opts_len: u8,
}

impl Default for TunnelInfo {
    fn default() -> Self {
        TunnelInfo {
            tun_id: 0,
            src: [0; 4],
            dst: [0; 4],
            ipv6_src: [0; 16],
            ipv6_dst: [0; 16],
            flags: 0,
            tos: 0,
            ttl: 0,
            tp_src: 0,
            tp_dst: 0,
            opts: [0; GENEVE_MAX_OPTS],
            opts_len: 0,
        }
    }
}

impl TunnelInfo {
    pub fn options(&self) -> &[u8] {
        &self.opts[..self.opts_len as usize]
    }

    /// True if the outer header is IPv6 (an IPv6 destination is set).
    pub fn is_ipv6(&self) -> bool {
        self.ipv6_dst != [0; 16]
    }
}

/// A frame and its headroom. `data[start..start+len]` is the frame.
pub struct Packet {
    data: Box<[u8]>,
    start: usize,
    len: usize,
    /// Offload state from the receiving port (all zero for a finished frame).
    pub vnet: VnetHdr,
    /// Datapath port number the frame arrived on.
    pub in_port: u32,
    /// What the receiving tunnel vport decapsulated (it goes into the key).
    pub rx_tunnel: Option<TunnelInfo>,
    /// Set by `set(tunnel(...))`: how an output to a tunnel vport encapsulates.
    pub egress_tunnel: Option<TunnelInfo>,
}

impl Packet {
    pub fn new() -> Self {
        Packet {
            data: vec![0u8; HEADROOM + MAX_FRAME].into_boxed_slice(),
            start: HEADROOM,
            len: 0,
            vnet: VnetHdr::default(),
            in_port: 0,
            rx_tunnel: None,
            egress_tunnel: None,
        }
    }

    /// A packet holding a copy of `frame` (frames from JS, held frames).
    /// Sized to the frame, not for receiving into.
    pub fn from_frame(frame: &[u8]) -> Self {
        let n = frame.len().min(MAX_FRAME);
        let mut data = vec![0u8; HEADROOM + n].into_boxed_slice();
        data[HEADROOM..].copy_from_slice(&frame[..n]);
        Packet {
            data,
            start: HEADROOM,
            len: n,
            vnet: VnetHdr::default(),
            in_port: 0,
            rx_tunnel: None,
            egress_tunnel: None,
        }
    }

    /// Forget the frame and restore the full headroom, ready for the next receive.
    pub fn reset(&mut self) {
        self.start = HEADROOM;
        self.len = 0;
        self.vnet = VnetHdr::default();
        self.in_port = 0;
        self.rx_tunnel = None;
        self.egress_tunnel = None;
    }

    /// The buffer a port receives into: everything after the headroom
    /// (MAX_FRAME bytes for packets made by `new`).
    pub fn receive_area(&mut self) -> &mut [u8] {
        &mut self.data[HEADROOM..]
    }

    /// Record that a receive put `len` bytes into `receive_area()`.
    pub fn set_received(&mut self, len: usize) {
        self.start = HEADROOM;
        self.len = len.min(MAX_FRAME);
    }

    pub fn frame(&self) -> &[u8] {
        &self.data[self.start..self.start + self.len]
    }

    pub fn frame_mut(&mut self) -> &mut [u8] {
        &mut self.data[self.start..self.start + self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Open `n` bytes of space at byte `offset` of the frame by moving the
    /// bytes before it into the headroom; returns the new gap. None when the
    /// headroom is exhausted or `offset` is past the end.
    pub fn insert_gap(&mut self, offset: usize, n: usize) -> Option<&mut [u8]> {
        if n > self.start || offset > self.len {
            return None;
        }
        let old = self.start;
        self.data.copy_within(old..old + offset, old - n);
        self.start -= n;
        self.len += n;
        Some(&mut self.data[self.start + offset..self.start + offset + n])
    }

    /// Remove `n` bytes at byte `offset` by moving the bytes before them
    /// forward. False when the range is not inside the frame.
    pub fn remove_range(&mut self, offset: usize, n: usize) -> bool {
        if offset.checked_add(n).is_none_or(|end| end > self.len) {
            return false;
        }
        let s = self.start;
        self.data.copy_within(s..s + offset, s + n);
        self.start += n;
        self.len -= n;
        true
    }

    /// Add `bytes` at the end of the frame (a tunnel coalescing TCP
    /// segments); false, and nothing added, when the buffer has no room.
    pub fn append(&mut self, bytes: &[u8]) -> bool {
        let end = self.start + self.len;
        let Some(room) = self.data.get_mut(end..end + bytes.len()) else { return false };
        room.copy_from_slice(bytes);
        self.len += bytes.len();
        true
    }

    /// Drop the trailing bytes beyond `len` (e.g. Ethernet padding when
    /// a tunnel is popped).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl Default for Packet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_gap_moves_the_header_into_headroom() {
        let mut p = Packet::from_frame(&[1, 2, 3, 4, 5, 6]);
        p.insert_gap(2, 2).unwrap().copy_from_slice(&[9, 9]);
        assert_eq!(p.frame(), &[1, 2, 9, 9, 3, 4, 5, 6]);
        assert!(p.remove_range(2, 2));
        assert_eq!(p.frame(), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn refuses_ranges_outside_the_frame() {
        let mut p = Packet::from_frame(&[1, 2, 3]);
        assert!(!p.remove_range(2, 2));
        assert!(p.insert_gap(4, 1).is_none());
        assert!(p.insert_gap(0, HEADROOM + 1).is_none());
    }

    #[test]
    fn vnet_header_round_trips_and_shifts() {
        let mut h = VnetHdr { flags: 1, gso_type: 1, hdr_len: 54, gso_size: 1448, csum_start: 34, csum_offset: 16 };
        assert_eq!(VnetHdr::from_bytes(&h.to_bytes()), h);
        h.shift(4);
        assert_eq!((h.csum_start, h.hdr_len), (38, 58));
    }
}
