//! Tunnel vports, as OVS's kernel datapath has them: one port per tunnel
//! type and UDP port (`vxlan_sys_4789`, `genev_sys_6081`, `gre_sys`) that
//! decapsulates what the host receives for it and encapsulates frames sent
//! to it with the metadata `set(tunnel(...))` gave them.
//!
//! The underlay is the host's own IP stack, so routes, neighbours and the
//! outer IP header are the kernel's business:
//! - receive: VXLAN and Geneve through a UDP socket bound to the port (so
//!   the host answers no ICMP port-unreachable), the outer addresses, TOS
//!   and TTL from its control messages; GRE through a raw IPPROTO_GRE
//!   socket, which hands over the outer IP header too. The UDP socket asks
//!   for UDP GRO: when the underlay device coalesces a flow's datagrams,
//!   one read brings up to 64 of them, which we cut apart again;
//! - transmit: VXLAN and Geneve through a pool of UDP sockets (see
//!   `UdpSenders`), so that a TCP super-frame, cut into segments here, goes
//!   to the kernel as one UDP_SEGMENT send and is routed once; GRE, and
//!   datagrams whose UDP source port the flow set, through raw IPPROTO_GRE
//!   or IPPROTO_UDP sockets, for which we write the GRE or UDP header. The
//!   kernel adds the IP header with the source, TOS and TTL we pass per
//!   send. Don't-fragment is a socket setting, so there are sockets that
//!   set DF and sockets that do not.
//!
//! Not reported on receive: DF and (for UDP tunnels) whether the outer UDP
//! checksum was set: a UDP socket does not say. OVS's slow path matches
//! neither (only `oam` of the tunnel flags).
//!
//! IPv6 underlay (VXLAN and Geneve): the receiving UDP socket is dual-stack
//! (IPv4 arrives as v4-mapped addresses), so one descriptor serves both
//! families; it accepts a zero UDP checksum over IPv6 (RFC 6935, as OVS
//! and Linux vxlan devices may send with csum off). Frames whose
//! `set(tunnel(...))` has an `ipv6_dst` go out through a raw IPv6 UDP
//! socket that has the kernel write the UDP checksum, which IPv6 requires
//! (OVS's default for IPv6 UDP tunnels too). GRE over IPv6 is not carried:
//! a raw IPv6 socket would need a second descriptor to watch.

use super::gro::Coalescing;
use super::gso;
use super::{is_device_gone, PortIo, PortStats, BURST};
use crate::flow::key::FlowKey;
use crate::packet::{Packet, TunnelInfo, MAX_FRAME};
use crate::sys::{self, cvt};
use crate::wire::tunnel::{self, flags, Decap, Malformed};
use crate::wire::{checksum, ipv4, udp};
use std::collections::HashMap;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The tunnel protocols a vport can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    Vxlan,
    Geneve,
    Gre,
}

impl TunnelKind {
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Gre => "gre",
        }
    }

    /// The IANA port, used when the vport is added without one.
    pub fn default_port(self) -> u16 {
        match self {
            TunnelKind::Vxlan => 4789,
            TunnelKind::Geneve => 6081,
            TunnelKind::Gre => 0,
        }
    }

    /// Bytes this tunnel adds in front of the inner frame, after the outer
    /// IPv4 header: UDP + VXLAN, UDP + Geneve + options, or GRE.
    pub fn overhead(self, t: &TunnelInfo) -> usize {
        match self {
            TunnelKind::Vxlan => udp::HEADER_LEN + tunnel::VXLAN_HEADER_LEN,
            TunnelKind::Geneve => udp::HEADER_LEN + tunnel::GENEVE_BASE_LEN + t.options().len(),
            TunnelKind::Gre => tunnel::gre_header_len(t.flags & flags::KEY != 0, t.flags & flags::CSUM != 0),
        }
    }
}

/// Outer IPv4 and IPv6 headers the kernel adds (we set no IP options or
/// extension headers).
const OUTER_IP_LEN: usize = 20;
const OUTER_IPV6_LEN: usize = 40;
/// Longest tunnel header we build: UDP + Geneve with all its options.
const MAX_HEADER: usize = udp::HEADER_LEN + tunnel::GENEVE_BASE_LEN + tunnel::GENEVE_MAX_OPTS;
/// Room for the control messages of one received or sent datagram.
const CMSG_SPACE: usize = 128;
/// `SOL_UDP`, the level of the UDP_GRO option and control message.
const SOL_UDP: libc::c_int = 17;

pub struct TunnelPort {
    kind: TunnelKind,
    /// The UDP port received on and sent to by default (0 for GRE).
    udp_port: u16,
    /// Watched for readability: the bound UDP socket, or for GRE the raw
    /// socket that also sends with DF.
    rx: OwnedFd,
    tx_df: Option<OwnedFd>,
    tx_no_df: OwnedFd,
    /// The raw IPv6 UDP socket for an IPv6 underlay; None for GRE, or on a
    /// host without IPv6.
    tx6: Option<OwnedFd>,
    /// VXLAN and Geneve: the UDP sockets datagrams go out of (empty for GRE).
    senders: UdpSenders,
    /// The datagrams of the burst being sent through `senders`, back to back.
    tx_buf: Vec<u8>,
    /// Path MTU to each destination sent to, forgotten at every upkeep so
    /// that route and MTU changes are seen.
    path_mtu: HashMap<IpAddr, usize>,
    /// ICMP "fragmentation needed" or ICMPv6 "packet too big" for the
    /// senders of frames too big to send.
    replies: Vec<Packet>,
    /// Datagrams read but not yet handed on.
    received: Received,
}

/// The datagrams of one read, each possibly several coalesced by UDP GRO,
/// and how far they have been handed on. A read fills buffers of our own
/// rather than the caller's packets because one buffer may hold more
/// datagrams than the caller has packets.
struct Received {
    bufs: Vec<Box<[u8]>>,
    /// Per buffer filled by the last read: its length and what the socket
    /// said of it.
    got: Vec<(usize, RxMeta)>,
    /// The next datagram to hand on: buffer index and offset in it.
    next: (usize, usize),
}

impl Received {
    fn new() -> Received {
        // calloc'd: pages are only touched as datagrams land in them.
        Received {
            bufs: (0..BURST).map(|_| vec![0u8; MAX_FRAME].into_boxed_slice()).collect(),
            got: Vec::new(),
            next: (0, 0),
        }
    }

    /// Read what `fd` has waiting (up to BURST buffers); false if nothing.
    fn read(&mut self, fd: RawFd) -> bool {
        // SAFETY: all-zero iovecs, mmsghdrs and sockaddr_ins are valid values.
        let mut iov: [libc::iovec; BURST] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; BURST] = unsafe { zeroed() };
        // SAFETY: as above (sockaddr_in6 is room for either family).
        let mut names: [libc::sockaddr_in6; BURST] = unsafe { zeroed() };
        let mut control = [[0u64; CMSG_SPACE / 8]; BURST];
        for (i, buf) in self.bufs.iter_mut().enumerate() {
            iov[i] = libc::iovec { iov_base: buf.as_mut_ptr() as *mut _, iov_len: buf.len() };
            let h = &mut msgs[i].msg_hdr;
            h.msg_iov = &mut iov[i];
            h.msg_iovlen = 1;
            h.msg_name = &mut names[i] as *mut _ as *mut _;
            h.msg_namelen = size_of::<libc::sockaddr_in6>() as u32;
            h.msg_control = control[i].as_mut_ptr() as *mut _;
            h.msg_controllen = CMSG_SPACE;
        }
        // SAFETY: every message points at buffers (ours, names, control
        // space) that live until the call returns, with their sizes.
        let r =
            unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), BURST as u32, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
        self.got.clear();
        self.next = (0, 0);
        for i in 0..r.max(0) as usize {
            let mut meta = rx_control(&msgs[i].msg_hdr);
            meta.src_port = u16::from_be(names[i].sin6_port);
            meta.src = if names[i].sin6_family == libc::AF_INET as libc::sa_family_t {
                // SAFETY: the kernel wrote a sockaddr_in (an IPv4-only
                // socket) into storage of at least its size.
                let v4 = unsafe { &*(&names[i] as *const libc::sockaddr_in6 as *const libc::sockaddr_in) };
                IpAddr::V4(Ipv4Addr::from(v4.sin_addr.s_addr.to_ne_bytes()))
            } else {
                unmapped(names[i].sin6_addr.s6_addr)
            };
            self.got.push((msgs[i].msg_len as usize, meta));
        }
        !self.got.is_empty()
    }

    /// The next datagram read and not yet handed on: its buffer, byte range
    /// and metadata.
    fn next_datagram(&mut self) -> Option<(usize, std::ops::Range<usize>, RxMeta)> {
        let (buf, at) = self.next;
        let &(len, meta) = self.got.get(buf)?;
        // Coalesced datagrams are all `segment` bytes long but the last.
        let end = if meta.segment == 0 { len } else { len.min(at + meta.segment as usize) };
        self.next = if end < len { (buf, end) } else { (buf + 1, 0) };
        Some((buf, at..end, meta))
    }
}

impl TunnelPort {
    pub fn open(name: &str, kind: TunnelKind, udp_port: u16) -> io::Result<TunnelPort> {
        let udp_port = if udp_port == 0 { kind.default_port() } else { udp_port };
        let tx6 = match kind {
            TunnelKind::Gre => None,
            TunnelKind::Vxlan | TunnelKind::Geneve => raw_socket6_udp()?,
        };
        let (rx, tx_df) = match kind {
            TunnelKind::Gre => {
                let s = raw_socket(libc::IPPROTO_GRE, libc::IP_PMTUDISC_PROBE, false)?;
                (s, None)
            }
            TunnelKind::Vxlan | TunnelKind::Geneve => {
                let rx = udp_socket(udp_port).map_err(|e| match e.raw_os_error() {
                    Some(libc::EADDRINUSE) => io::Error::new(
                        e.kind(),
                        format!(
                            "{name}: UDP port {udp_port} is already in use on this host (Address already in use: a kernel {} device or another program holds it); give the tunnel another options:dst_port",
                            kind.name()
                        ),
                    ),
                    _ => e,
                })?;
                (rx, Some(raw_socket(libc::IPPROTO_UDP, libc::IP_PMTUDISC_PROBE, true)?))
            }
        };
        let proto = if kind == TunnelKind::Gre { libc::IPPROTO_GRE } else { libc::IPPROTO_UDP };
        let tx_no_df = raw_socket(proto, libc::IP_PMTUDISC_DONT, true)?;
        Ok(TunnelPort {
            kind,
            udp_port,
            rx,
            tx_df,
            tx_no_df,
            tx6,
            senders: UdpSenders::new(libc::AF_INET),
            tx_buf: Vec::new(),
            path_mtu: HashMap::new(),
            replies: Vec::new(),
            received: Received::new(),
        })
    }

    fn df_socket(&self) -> RawFd {
        self.tx_df.as_ref().unwrap_or(&self.rx).as_raw_fd()
    }

    /// Largest outer IP packet the route to `dst` carries.
    fn mtu_to(&mut self, dst: IpAddr) -> usize {
        *self.path_mtu.entry(dst).or_insert_with(|| route_mtu(dst).unwrap_or(1500))
    }

    /// Decapsulate a received datagram in place. `pkt` holds the UDP
    /// payload (VXLAN, Geneve) or the whole IP packet (GRE); `meta` what the
    /// socket said of it.
    fn decap(&self, pkt: &mut Packet, meta: &RxMeta) -> Result<(), Malformed> {
        let mut info = TunnelInfo { tp_dst: self.udp_port, ..TunnelInfo::default() };
        let f = pkt.frame();
        let (outer, d): (usize, Decap) = match self.kind {
            TunnelKind::Vxlan | TunnelKind::Geneve => {
                match (meta.src, meta.dst) {
                    (IpAddr::V6(s), IpAddr::V6(d)) => {
                        info.ipv6_src = s.octets();
                        info.ipv6_dst = d.octets();
                    }
                    (s, d) => {
                        info.src = v4_octets(s);
                        info.dst = v4_octets(d);
                    }
                }
                info.tos = meta.tos;
                info.ttl = meta.ttl;
                info.tp_src = meta.src_port;
                let d = if self.kind == TunnelKind::Vxlan { tunnel::parse_vxlan(f)? } else { tunnel::parse_geneve(f)? };
                (0, d)
            }
            TunnelKind::Gre => {
                let ip = ipv4::Packet::new_checked(f).map_err(|_| Malformed::Truncated)?;
                let (ihl, total) = (ip.header_len(), ip.total_len() as usize);
                if total > f.len() || total < ihl {
                    return Err(Malformed::Truncated);
                }
                info.src = ip.src();
                info.dst = ip.dst();
                info.tos = f[1];
                info.ttl = f[8];
                info.tp_dst = 0;
                if f[6] & 0x40 != 0 {
                    info.flags |= flags::DONT_FRAGMENT;
                }
                (ihl, tunnel::parse_gre(&f[ihl..total])?)
            }
        };
        if f.len() < outer + d.header_len + 14 {
            return Err(Malformed::Truncated);
        }
        info.tun_id = d.tun_id as u64;
        info.flags |= d.flags;
        info.opts[..d.options.len()].copy_from_slice(d.options);
        info.opts_len = d.options.len() as u8;
        // A GRE packet ends where its IP header says (the rest is padding).
        let end = if self.kind == TunnelKind::Gre { u16::from_be_bytes([f[2], f[3]]) as usize } else { f.len() };
        let strip = outer + d.header_len;
        pkt.truncate(end);
        pkt.remove_range(0, strip);
        gso::finish_leaked_checksum(pkt.frame_mut());
        pkt.rx_tunnel = Some(info);
        Ok(())
    }

    /// The UDP socket `inner`'s flow goes out of, with `t`'s DF setting;
    /// None (counted) if it cannot be opened.
    fn sender_for(&mut self, inner: &[u8], t: &TunnelInfo, stats: &mut PortStats) -> Option<RawFd> {
        match self.senders.socket(t.flags & flags::DONT_FRAGMENT != 0, flow_hash(inner)) {
            Ok(fd) => Some(fd),
            Err(_) => {
                stats.tx_errors += 1;
                None
            }
        }
    }

    /// Queue one datagram for the UDP sockets: the VXLAN or Geneve header
    /// and `inner`, into tx_buf.
    fn queue_datagram(
        &mut self,
        pkt: usize,
        inner: &[u8],
        t: &TunnelInfo,
        sends: &mut Vec<UdpSend>,
        stats: &mut PortStats,
    ) {
        let Some(fd) = self.sender_for(inner, t, stats) else { return };
        let mut hdr = [0u8; MAX_HEADER];
        let n = self.udp_payload_header(t, &mut hdr);
        let start = self.tx_buf.len();
        self.tx_buf.extend_from_slice(&hdr[..n]);
        self.tx_buf.extend_from_slice(inner);
        let range = start..self.tx_buf.len();
        sends.push(UdpSend { fd, pkt, range, segment: 0, frames: 1, inner_bytes: inner.len() as u64 });
    }

    /// Queue a TCP super-frame for the UDP sockets: segmented to fit `room`
    /// into tx_buf, each segment behind its VXLAN or Geneve header, as few
    /// UDP_SEGMENT sends as the kernel's limits allow.
    fn queue_super_frame(
        &mut self,
        pkt: usize,
        p: &Packet,
        t: &TunnelInfo,
        room: usize,
        sends: &mut Vec<UdpSend>,
        stats: &mut PortStats,
    ) {
        let Some(fd) = self.sender_for(p.frame(), t, stats) else { return };
        let mut hdr = [0u8; MAX_HEADER];
        let n = self.udp_payload_header(t, &mut hdr);
        let start = self.tx_buf.len();
        let Some(stride) = gso::segment_tcp_into(p.frame(), &p.vnet, room, &hdr[..n], &mut self.tx_buf) else {
            // Not a whole TCP/IP frame, or headers too long for the path.
            stats.tx_dropped += 1;
            return;
        };
        let per_send = self.senders.max_segments.min(MAX_UDP_SEND / stride).max(1) * stride;
        let end = self.tx_buf.len();
        for at in (start..end).step_by(per_send) {
            let range = at..(at + per_send).min(end);
            let frames = range.len().div_ceil(stride);
            let segment = if frames > 1 { stride as u16 } else { 0 };
            let inner_bytes = (range.len() - frames * n) as u64;
            sends.push(UdpSend { fd, pkt, range, segment, frames: frames as u64, inner_bytes });
        }
    }

    /// Write the VXLAN or Geneve header (what follows the UDP header) into
    /// `out`; returns its length.
    fn udp_payload_header(&self, t: &TunnelInfo, out: &mut [u8]) -> usize {
        let tun_id = t.tun_id as u32;
        match self.kind {
            TunnelKind::Vxlan => {
                tunnel::emit_vxlan(tun_id, (&mut out[..tunnel::VXLAN_HEADER_LEN]).try_into().expect("8 bytes"));
                tunnel::VXLAN_HEADER_LEN
            }
            _ => tunnel::emit_geneve(tun_id, t.flags & flags::OAM != 0, t.options(), out),
        }
    }

    /// Write the UDP or GRE header for `inner` into `hdr`, for the raw
    /// sockets; returns its length.
    fn encap_header(&self, t: &TunnelInfo, inner: &[u8], hdr: &mut [u8; MAX_HEADER]) -> usize {
        if self.kind == TunnelKind::Gre {
            let key = (t.flags & flags::KEY != 0).then_some(t.tun_id as u32);
            return tunnel::emit_gre(key, t.flags & flags::CSUM != 0, inner, hdr);
        }
        let (u, rest) = hdr.split_at_mut(udp::HEADER_LEN);
        let n = self.udp_payload_header(t, rest);
        let src_port = if t.tp_src != 0 { t.tp_src } else { udp_src_port(inner) };
        let dst_port = if t.tp_dst != 0 { t.tp_dst } else { self.udp_port };
        let len = (udp::HEADER_LEN + n + inner.len()) as u16;
        u[0..2].copy_from_slice(&src_port.to_be_bytes());
        u[2..4].copy_from_slice(&dst_port.to_be_bytes());
        u[4..6].copy_from_slice(&len.to_be_bytes());
        u[6..8].fill(0);
        // An IPv4 UDP checksum is optional; it needs the source address,
        // so a tunnel that lets the kernel choose it goes without. Over
        // IPv6 the sending socket writes it (IPV6_CHECKSUM).
        if t.flags & flags::CSUM != 0 && t.src != [0; 4] && !t.is_ipv6() {
            let mut acc = checksum::sum(checksum::sum(0, &t.src), &t.dst);
            acc += libc::IPPROTO_UDP as u32 + len as u32;
            acc = checksum::sum(checksum::sum(acc, &hdr[..udp::HEADER_LEN + n]), inner);
            let c = match !checksum::fold(acc) {
                0 => 0xffff,
                c => c,
            };
            hdr[6..8].copy_from_slice(&c.to_be_bytes());
        }
        udp::HEADER_LEN + n
    }
}

/// UDP source port for an encapsulated flow: a hash of the inner flow mapped
/// into 32768..61000 like OVS, so one flow keeps one path through ECMP.
fn udp_src_port(inner: &[u8]) -> u16 {
    (((flow_hash(inner) as u64 * (61000 - 32768)) >> 32) + 32768) as u16
}

/// A hash of the inner frame's flow: the same for every frame of a TCP
/// connection, super-frame or segment.
fn flow_hash(inner: &[u8]) -> u32 {
    FlowKey::extract(inner, 0).hash(0) as u32
}

/// What a receive's address and control messages said of one datagram.
#[derive(Clone, Copy)]
struct RxMeta {
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    tos: u8,
    ttl: u8,
    /// UDP GRO's segment size when the read holds several datagrams, else 0.
    segment: u16,
}

impl Default for RxMeta {
    fn default() -> Self {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        RxMeta { src: any, src_port: 0, dst: any, tos: 0, ttl: 0, segment: 0 }
    }
}

/// An address as the dual-stack socket gives it: IPv4 for a v4-mapped one.
fn unmapped(a: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(a);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

fn v4_octets(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

/// Where a tunnel's frames go: its IPv6 or IPv4 destination.
fn destination(t: &TunnelInfo) -> IpAddr {
    if t.is_ipv6() {
        IpAddr::V6(Ipv6Addr::from(t.ipv6_dst))
    } else {
        IpAddr::V4(Ipv4Addr::from(t.dst))
    }
}

/// One send: a datagram, or with `segment` several of them cut by the
/// kernel (UDP_SEGMENT); its header and body, and where to.
struct Outgoing<'a> {
    /// The UDP or GRE header a raw socket needs; empty for a UDP socket,
    /// whose body starts with the VXLAN or Geneve header.
    hdr: [u8; MAX_HEADER],
    hdr_len: usize,
    body: &'a [u8],
    info: &'a TunnelInfo,
    /// The UDP destination port for a UDP socket; 0 for a raw one.
    dst_port: u16,
    /// Every datagram's length but the last's when the body holds several
    /// (the UDP_SEGMENT size), else 0.
    segment: u16,
    /// Inner frames in the body, and their bytes, for the port's counters.
    frames: u64,
    inner_bytes: u64,
}

impl<'a> Outgoing<'a> {
    /// A datagram through a raw socket: `inner` after `hdr`.
    fn raw(hdr: [u8; MAX_HEADER], hdr_len: usize, inner: &'a [u8], info: &'a TunnelInfo) -> Outgoing<'a> {
        Outgoing {
            hdr,
            hdr_len,
            body: inner,
            info,
            dst_port: 0,
            segment: 0,
            frames: 1,
            inner_bytes: inner.len() as u64,
        }
    }
}

/// How many UDP_SEGMENT datagrams one send may carry: the kernel's
/// UDP_MAX_SEGMENTS (64 before Linux 6.4, 128 since).
const MAX_SEGMENTS: usize = 64;
/// The longest UDP payload one send may carry: an IPv4 packet's 64 KiB
/// less the outer IP and UDP headers.
const MAX_UDP_SEND: usize = 65535 - OUTER_IP_LEN - udp::HEADER_LEN;

/// The UDP sockets a VXLAN or Geneve vport sends from, opened on first use
/// and each on a source port of its own that the kernel picked. A flow
/// always goes out of the same socket, chosen by the hash of its inner
/// headers, so it keeps one source port (one ECMP path) while different
/// flows spread over `POOL` of them. Sending through UDP sockets rather
/// than a raw socket lets a TCP super-frame's datagrams go in one send
/// with UDP_SEGMENT: the kernel routes it once, and a veth or a NIC with
/// UDP GSO carries it whole until it is cut. The kernel then writes the
/// outer UDP checksum of every datagram (UDP_SEGMENT requires it; a device
/// offloads it): receivers accept it whether or not `csum` asked for it.
struct UdpSenders {
    family: libc::c_int,
    /// DF set in the first POOL, not in the others.
    sockets: Vec<Option<OwnedFd>>,
    /// Datagrams one send may carry: MAX_SEGMENTS, or 1 on a kernel
    /// without UDP_SEGMENT (before 4.18).
    max_segments: usize,
}

/// UDP sockets (source ports) per don't-fragment setting.
const POOL: usize = 32;

impl UdpSenders {
    fn new(family: libc::c_int) -> UdpSenders {
        let max_segments = if udp_segment_supported(family) { MAX_SEGMENTS } else { 1 };
        UdpSenders { family, sockets: (0..2 * POOL).map(|_| None).collect(), max_segments }
    }

    /// The socket for the flow with hash `flow_hash`, with or without DF.
    fn socket(&mut self, df: bool, flow_hash: u32) -> io::Result<RawFd> {
        let slot = (flow_hash as usize % POOL) + if df { 0 } else { POOL };
        if self.sockets[slot].is_none() {
            self.sockets[slot] = Some(udp_send_socket(self.family, df)?);
        }
        Ok(self.sockets[slot].as_ref().expect("opened above").as_raw_fd())
    }
}

impl PortIo for TunnelPort {
    fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        // Fewer than pkts.len() frames only when nothing read is left over:
        // the poll loop then waits for the socket, which would not wake it
        // for datagrams already read.
        let mut kept = 0;
        let mut have_read = false;
        // The last frame kept, while later TCP segments of its flow may join it.
        let mut coalescing: Option<Coalescing> = None;
        while kept < pkts.len() {
            let Some((buf, range, meta)) = self.received.next_datagram() else {
                if have_read || !self.received.read(self.rx.as_raw_fd()) {
                    break;
                }
                have_read = true;
                continue;
            };
            let (done, rest) = pkts.split_at_mut(kept);
            let pkt = &mut rest[0];
            pkt.reset();
            let len = range.len();
            pkt.receive_area()[..len].copy_from_slice(&self.received.bufs[buf][range]);
            pkt.set_received(len);
            match self.decap(pkt, &meta) {
                Ok(()) => {
                    stats.rx_packets += 1;
                    stats.rx_bytes += pkt.len() as u64;
                    if let (Some(c), Some(open)) = (coalescing.as_mut(), done.last_mut()) {
                        if open.rx_tunnel == pkt.rx_tunnel && c.append(open, pkt.frame()) {
                            continue;
                        }
                        c.finish(open);
                    }
                    coalescing = Coalescing::start(pkt.frame());
                    kept += 1;
                }
                Err(Malformed::NotEthernet) => stats.rx_dropped += 1,
                Err(_) => stats.rx_errors += 1,
            }
        }
        if let (Some(c), Some(open)) = (coalescing.as_mut(), pkts[..kept].last_mut()) {
            c.finish(open);
        }
        kept
    }

    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats) {
        // Through the raw sockets: GRE, and datagrams whose UDP source port
        // set(tunnel(tp_src=...)) chose. Through the UDP sockets: the rest,
        // built into tx_buf.
        let mut raw_segments: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut raw_plain: Vec<usize> = Vec::new();
        let mut udp_sends: Vec<UdpSend> = Vec::new();
        self.tx_buf.clear();
        for (i, pkt) in pkts.iter().enumerate() {
            let Some(t) = &pkt.egress_tunnel else {
                // An output to a tunnel without set(tunnel(...)) before it.
                stats.tx_dropped += 1;
                continue;
            };
            if t.is_ipv6() && self.tx6.is_none() {
                // GRE over IPv6, or a host without IPv6.
                stats.tx_errors += 1;
                continue;
            }
            let outer_ip = if t.is_ipv6() { OUTER_IPV6_LEN } else { OUTER_IP_LEN };
            let room = self.mtu_to(destination(t)).saturating_sub(outer_ip + self.kind.overhead(t));
            // The UDP socket pool is IPv4's; IPv6 goes out of the raw IPv6 socket.
            let raw = self.kind == TunnelKind::Gre || t.tp_src != 0 || t.is_ipv6();
            if !raw && gso::is_tcp_super_frame(&pkt.vnet) {
                self.queue_super_frame(i, pkt, t, room, &mut udp_sends, stats);
                continue;
            }
            match gso::fit(pkt.frame(), &pkt.vnet, room) {
                gso::Fit::AsIs if raw => raw_plain.push(i),
                gso::Fit::AsIs => self.queue_datagram(i, pkt.frame(), t, &mut udp_sends, stats),
                gso::Fit::Rewritten(frames) if raw => raw_segments.extend(frames.into_iter().map(|f| (i, f))),
                gso::Fit::Rewritten(frames) => {
                    for f in &frames {
                        self.queue_datagram(i, f, t, &mut udp_sends, stats);
                    }
                }
                gso::Fit::TooBig { reply } => {
                    stats.tx_dropped += 1;
                    if let Some(r) = reply {
                        let mut p = Packet::from_frame(&r);
                        p.in_port = pkt.in_port;
                        self.replies.push(p);
                    }
                }
            }
        }
        if !udp_sends.is_empty() {
            // A flow's sends stay in order: one flow, one socket.
            udp_sends.sort_by_key(|u| u.fd);
            let out: Vec<(RawFd, Outgoing)> = udp_sends
                .iter()
                .map(|u| {
                    let info = tunnel_of(pkts[u.pkt]);
                    let o = Outgoing {
                        hdr: [0; MAX_HEADER],
                        hdr_len: 0,
                        body: &self.tx_buf[u.range.clone()],
                        info,
                        dst_port: if info.tp_dst != 0 { info.tp_dst } else { self.udp_port },
                        segment: u.segment,
                        frames: u.frames,
                        inner_bytes: u.inner_bytes,
                    };
                    (u.fd, o)
                })
                .collect();
            for run in out.chunk_by(|a, b| a.0 == b.0) {
                let sends: Vec<&Outgoing> = run.iter().map(|(_, o)| o).collect();
                send_mmsg(run[0].0, &sends, stats);
            }
        }
        if raw_plain.is_empty() && raw_segments.is_empty() {
            return;
        }
        let mut out: Vec<Outgoing> = Vec::with_capacity(raw_plain.len() + raw_segments.len());
        let plain = raw_plain.iter().map(|&i| (i, pkts[i].frame()));
        for (i, inner) in plain.chain(raw_segments.iter().map(|(i, f)| (*i, &f[..]))) {
            let info = tunnel_of(pkts[i]);
            let mut hdr = [0u8; MAX_HEADER];
            let hdr_len = self.encap_header(info, inner, &mut hdr);
            out.push(Outgoing::raw(hdr, hdr_len, inner, info));
        }
        let (v6, v4): (Vec<&Outgoing>, Vec<&Outgoing>) = out.iter().partition(|o| o.info.is_ipv6());
        let (df, no_df): (Vec<&Outgoing>, Vec<&Outgoing>) =
            v4.into_iter().partition(|o| o.info.flags & flags::DONT_FRAGMENT != 0);
        send_mmsg(self.df_socket(), &df, stats);
        send_mmsg(self.tx_no_df.as_raw_fd(), &no_df, stats);
        if let Some(tx6) = &self.tx6 {
            send_mmsg(tx6.as_raw_fd(), &v6, stats);
        }
    }

    fn upkeep(&mut self) {
        self.path_mtu.clear();
    }

    fn take_replies(&mut self) -> Vec<Packet> {
        std::mem::take(&mut self.replies)
    }

    fn ifindex(&self) -> u32 {
        0
    }
}

/// A send through a UDP socket queued in `tx_buf` (see `Outgoing`).
struct UdpSend {
    fd: RawFd,
    /// Index of the packet it carries (or part of) in the burst.
    pkt: usize,
    range: std::ops::Range<usize>,
    segment: u16,
    frames: u64,
    inner_bytes: u64,
}

fn tunnel_of(pkt: &Packet) -> &TunnelInfo {
    pkt.egress_tunnel.as_ref().expect("only frames with an egress tunnel are sent")
}

/// The destination address, TOS, TTL and GRO segment size from a UDP
/// receive's control messages.
fn rx_control(h: &libc::msghdr) -> RxMeta {
    let mut m = RxMeta::default();
    // SAFETY: `h` is a msghdr the kernel just filled, whose control buffer
    // (msg_control, msg_controllen) is ours and alive; CMSG_FIRSTHDR and
    // CMSG_NXTHDR stay inside it and CMSG_DATA points into each message.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info = std::ptr::read_unaligned(data as *const libc::in_pktinfo);
                    m.dst = IpAddr::V4(Ipv4Addr::from(info.ipi_addr.s_addr.to_ne_bytes()));
                }
                (libc::IPPROTO_IP, libc::IP_TOS) => m.tos = *data,
                (libc::IPPROTO_IP, libc::IP_TTL) => m.ttl = std::ptr::read_unaligned(data as *const libc::c_int) as u8,
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info = std::ptr::read_unaligned(data as *const libc::in6_pktinfo);
                    m.dst = unmapped(info.ipi6_addr.s6_addr);
                }
                (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => {
                    m.tos = std::ptr::read_unaligned(data as *const libc::c_int) as u8;
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    m.ttl = std::ptr::read_unaligned(data as *const libc::c_int) as u8;
                }
                (SOL_UDP, libc::UDP_GRO) => m.segment = std::ptr::read_unaligned(data as *const libc::c_int) as u16,
                _ => {}
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    m
}

/// Make the sends, each with its destination and per-packet source, TOS,
/// TTL (and UDP_SEGMENT size) as control messages; what the kernel refuses
/// is counted.
fn send_mmsg(fd: RawFd, out: &[&Outgoing], stats: &mut PortStats) {
    for chunk in out.chunks(BURST) {
        // SAFETY: all-zero iovecs, mmsghdrs and sockaddr_ins are valid values.
        let mut iov: [[libc::iovec; 2]; BURST] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; BURST] = unsafe { zeroed() };
        // SAFETY: as above (sockaddr_in6 is room for either family).
        let mut names: [libc::sockaddr_in6; BURST] = unsafe { zeroed() };
        let mut control = [[0u64; CMSG_SPACE / 8]; BURST];
        for (i, o) in chunk.iter().enumerate() {
            let t = o.info;
            let namelen = if t.is_ipv6() {
                names[i].sin6_family = libc::AF_INET6 as libc::sa_family_t;
                names[i].sin6_addr.s6_addr = t.ipv6_dst;
                names[i].sin6_port = o.dst_port.to_be();
                size_of::<libc::sockaddr_in6>()
            } else {
                // SAFETY: a sockaddr_in fits in the sockaddr_in6 storage,
                // which is aligned at least as strictly.
                let v4 = unsafe { &mut *(&mut names[i] as *mut libc::sockaddr_in6 as *mut libc::sockaddr_in) };
                v4.sin_family = libc::AF_INET as libc::sa_family_t;
                v4.sin_addr.s_addr = u32::from_ne_bytes(t.dst);
                v4.sin_port = o.dst_port.to_be();
                size_of::<libc::sockaddr_in>()
            };
            iov[i][0] = libc::iovec { iov_base: o.hdr.as_ptr() as *mut _, iov_len: o.hdr_len };
            iov[i][1] = libc::iovec { iov_base: o.body.as_ptr() as *mut _, iov_len: o.body.len() };
            let h = &mut msgs[i].msg_hdr;
            h.msg_iov = iov[i].as_mut_ptr();
            h.msg_iovlen = 2;
            h.msg_name = &mut names[i] as *mut _ as *mut _;
            h.msg_namelen = namelen as u32;
            h.msg_control = control[i].as_mut_ptr() as *mut _;
            h.msg_controllen = tx_control(h, t, o.segment);
        }
        let mut sent = 0;
        while sent < chunk.len() {
            // SAFETY: msgs[sent..] point at buffers alive for this call;
            // the kernel only reads them.
            let r = unsafe {
                libc::sendmmsg(fd, msgs.as_mut_ptr().add(sent), (chunk.len() - sent) as u32, libc::MSG_DONTWAIT)
            };
            if r > 0 {
                for o in &chunk[sent..sent + r as usize] {
                    stats.tx_packets += o.frames;
                    stats.tx_bytes += o.inner_bytes;
                }
                sent += r as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            let errno = sys::errno_of(&err);
            match errno {
                libc::EINTR => continue,
                e if e == libc::EAGAIN || e == libc::ENOBUFS || is_device_gone(e) => {
                    stats.tx_dropped += chunk[sent..].iter().map(|o| o.frames).sum::<u64>();
                    break;
                }
                // One send refused (no route, too big for a DF path, an
                // address that is not ours): count it, make the rest.
                _ => {
                    stats.tx_errors += chunk[sent].frames;
                    sent += 1;
                }
            }
        }
    }
}

/// Write the control messages of one send into `h`'s control buffer
/// (CMSG_SPACE bytes): the source address if given, TOS, TTL if not the
/// kernel's default (IPv6's traffic class and hop limit over IPv6), and the
/// UDP_SEGMENT size if not 0. Returns their length.
fn tx_control(h: &mut libc::msghdr, t: &TunnelInfo, segment: u16) -> usize {
    if t.is_ipv6() {
        return tx_control6(h, t);
    }
    let mut len = 0;
    // SAFETY: `h.msg_control` points at CMSG_SPACE bytes of 8-byte aligned
    // storage that outlives this call, and `msg_controllen` is set to it
    // while walking, so CMSG_FIRSTHDR/NXTHDR stay inside it; the four
    // messages need 32 + 16 + 16 + 16 bytes, under CMSG_SPACE.
    unsafe {
        h.msg_controllen = CMSG_SPACE;
        let mut c = libc::CMSG_FIRSTHDR(h);
        let mut put = |c: *mut libc::cmsghdr, level: libc::c_int, ty: libc::c_int, data: &[u8]| {
            (*c).cmsg_level = level;
            (*c).cmsg_type = ty;
            (*c).cmsg_len = libc::CMSG_LEN(data.len() as u32) as usize;
            std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(c), data.len());
            len += libc::CMSG_SPACE(data.len() as u32) as usize;
        };
        if t.src != [0; 4] {
            let mut info: libc::in_pktinfo = zeroed();
            info.ipi_spec_dst.s_addr = u32::from_ne_bytes(t.src);
            let bytes = std::slice::from_raw_parts(&info as *const _ as *const u8, size_of::<libc::in_pktinfo>());
            put(c, libc::IPPROTO_IP, libc::IP_PKTINFO, bytes);
            c = libc::CMSG_NXTHDR(h, c);
        }
        put(c, libc::IPPROTO_IP, libc::IP_TOS, &(t.tos as libc::c_int).to_ne_bytes());
        c = libc::CMSG_NXTHDR(h, c);
        if t.ttl != 0 {
            put(c, libc::IPPROTO_IP, libc::IP_TTL, &(t.ttl as libc::c_int).to_ne_bytes());
            c = libc::CMSG_NXTHDR(h, c);
        }
        if segment != 0 {
            put(c, SOL_UDP, libc::UDP_SEGMENT, &segment.to_ne_bytes());
        }
    }
    len
}

/// `tx_control` for an IPv6 underlay.
fn tx_control6(h: &mut libc::msghdr, t: &TunnelInfo) -> usize {
    let mut len = 0;
    // SAFETY: as in `tx_control`; the three messages need 40 + 16 + 16
    // bytes, under CMSG_SPACE.
    unsafe {
        h.msg_controllen = CMSG_SPACE;
        let mut c = libc::CMSG_FIRSTHDR(h);
        let mut put = |c: *mut libc::cmsghdr, ty: libc::c_int, data: &[u8]| {
            (*c).cmsg_level = libc::IPPROTO_IPV6;
            (*c).cmsg_type = ty;
            (*c).cmsg_len = libc::CMSG_LEN(data.len() as u32) as usize;
            std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(c), data.len());
            len += libc::CMSG_SPACE(data.len() as u32) as usize;
        };
        if t.ipv6_src != [0; 16] {
            let mut info: libc::in6_pktinfo = zeroed();
            info.ipi6_addr.s6_addr = t.ipv6_src;
            let bytes = std::slice::from_raw_parts(&info as *const _ as *const u8, size_of::<libc::in6_pktinfo>());
            put(c, libc::IPV6_PKTINFO, bytes);
            c = libc::CMSG_NXTHDR(h, c);
        }
        put(c, libc::IPV6_TCLASS, &(t.tos as libc::c_int).to_ne_bytes());
        c = libc::CMSG_NXTHDR(h, c);
        if t.ttl != 0 {
            put(c, libc::IPV6_HOPLIMIT, &(t.ttl as libc::c_int).to_ne_bytes());
        }
    }
    len
}

fn socket(ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    socket_of(libc::AF_INET, ty, proto)
}

fn socket_of(family: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); on success we own the new descriptor.
    let fd = cvt(unsafe { libc::socket(family, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The receiving UDP socket of a VXLAN or Geneve vport, on every address
/// of both families (IPv4 only on a host without IPv6).
fn udp_socket(port: u16) -> io::Result<OwnedFd> {
    match socket_of(libc::AF_INET6, libc::SOCK_DGRAM, 0) {
        Ok(s) => {
            let fd = s.as_raw_fd();
            sys::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &0 as &libc::c_int)?;
            for opt in [libc::IPV6_RECVPKTINFO, libc::IPV6_RECVTCLASS, libc::IPV6_RECVHOPLIMIT] {
                sys::setsockopt(fd, libc::IPPROTO_IPV6, opt, &1 as &libc::c_int)?;
            }
            sys::setsockopt(fd, SOL_UDP, libc::UDP_NO_CHECK6_RX, &1 as &libc::c_int)?;
            udp_socket_setup(&s)?;
            // SAFETY: all-zero is a valid sockaddr_in6 (in6addr_any).
            let mut addr: libc::sockaddr_in6 = unsafe { zeroed() };
            addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            addr.sin6_port = port.to_be();
            // SAFETY: `addr` is a live sockaddr_in6 of the length passed.
            cvt(unsafe {
                libc::bind(fd, &addr as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_in6>() as u32)
            })?;
            Ok(s)
        }
        Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => udp_socket4(port),
        Err(e) => Err(e),
    }
}

/// The IPv4 options of a receiving UDP socket (an IPv6 one takes them for
/// the IPv4 datagrams it receives), its buffer and UDP GRO.
fn udp_socket_setup(s: &OwnedFd) -> io::Result<()> {
    let fd = s.as_raw_fd();
    for opt in [libc::IP_PKTINFO, libc::IP_RECVTOS, libc::IP_RECVTTL] {
        sys::setsockopt(fd, libc::IPPROTO_IP, opt, &1 as &libc::c_int)?;
    }
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &(4 << 20) as &libc::c_int)?;
    // Coalesced reads when the device does GRO; a kernel without UDP GRO
    // (before 5.0) refuses the option and we read one datagram at a time.
    let _ = sys::setsockopt(fd, SOL_UDP, libc::UDP_GRO, &1 as &libc::c_int);
    Ok(())
}

fn udp_socket4(port: u16) -> io::Result<OwnedFd> {
    let s = socket(libc::SOCK_DGRAM, 0)?;
    udp_socket_setup(&s)?;
    let fd = s.as_raw_fd();
    // SAFETY: all-zero is a valid sockaddr_in (INADDR_ANY).
    let mut addr: libc::sockaddr_in = unsafe { zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_port = port.to_be();
    // SAFETY: `addr` is a live sockaddr_in of the length passed.
    cvt(unsafe { libc::bind(fd, &addr as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_in>() as u32) })?;
    Ok(s)
}

/// A UDP socket to send VXLAN or Geneve datagrams from, with DF set
/// (without trusting cached path MTUs) or cleared. It takes an ephemeral
/// source port on its first send; a filter refuses whatever is sent to it.
fn udp_send_socket(family: libc::c_int, df: bool) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); on success we own the new descriptor.
    let fd = cvt(unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    let s = unsafe { OwnedFd::from_raw_fd(fd) };
    let (level, option, probe, dont) = match family {
        libc::AF_INET6 => {
            (libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, libc::IPV6_PMTUDISC_PROBE, libc::IPV6_PMTUDISC_DONT)
        }
        _ => (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, libc::IP_PMTUDISC_PROBE, libc::IP_PMTUDISC_DONT),
    };
    sys::setsockopt(fd, level, option, &if df { probe } else { dont })?;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &(4 << 20) as &libc::c_int)?;
    refuse_all_received(fd)?;
    Ok(s)
}

/// Whether the kernel knows UDP_SEGMENT: it answers the option on a UDP
/// socket of `family`.
fn udp_segment_supported(family: libc::c_int) -> bool {
    // SAFETY: plain socket(2); on success we own the new descriptor.
    let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    let s = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut size: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `size` and `len` are live and `len` is size's size.
    let r =
        unsafe { libc::getsockopt(s.as_raw_fd(), SOL_UDP, libc::UDP_SEGMENT, &mut size as *mut _ as *mut _, &mut len) };
    r == 0
}

/// Attach the classic BPF program "ret #0" to a socket that only sends:
/// it accepts nothing, so nothing piles up in its receive queue.
fn refuse_all_received(fd: RawFd) -> io::Result<()> {
    let mut refuse_all = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }];
    let prog = libc::sock_fprog { len: 1, filter: refuse_all.as_mut_ptr() };
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
}

/// A raw IP socket for sending (and for GRE, receiving). `pmtu` is the
/// IP_MTU_DISCOVER mode: PROBE sets DF without trusting cached path MTUs,
/// DONT clears it. With `send_only` a filter refuses every received packet,
/// which a raw socket would otherwise be handed a copy of.
fn raw_socket(proto: libc::c_int, pmtu: libc::c_int, send_only: bool) -> io::Result<OwnedFd> {
    let s = socket(libc::SOCK_RAW, proto)?;
    let fd = s.as_raw_fd();
    sys::setsockopt(fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, &pmtu)?;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &(4 << 20) as &libc::c_int)?;
    if send_only {
        refuse_all_received(fd)?;
    } else {
        sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &(4 << 20) as &libc::c_int)?;
    }
    Ok(s)
}

/// The raw IPv6 UDP socket VXLAN and Geneve send with over an IPv6
/// underlay: the kernel writes the UDP checksum (offset 6) and never
/// fragments. None on a host without IPv6.
fn raw_socket6_udp() -> io::Result<Option<OwnedFd>> {
    let s = match socket_of(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_UDP) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let fd = s.as_raw_fd();
    sys::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, &6 as &libc::c_int)?;
    sys::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, &libc::IPV6_PMTUDISC_PROBE)?;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &(4 << 20) as &libc::c_int)?;
    let mut refuse_all = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }];
    let prog = libc::sock_fprog { len: 1, filter: refuse_all.as_mut_ptr() };
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)?;
    Ok(Some(s))
}

/// The MTU of the route to `dst`, from a UDP socket connected to it.
fn route_mtu(dst: IpAddr) -> io::Result<usize> {
    let dst = match dst {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => return route_mtu6(v6.octets()),
    };
    let s = socket(libc::SOCK_DGRAM, 0)?;
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut addr: libc::sockaddr_in = unsafe { zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_addr.s_addr = u32::from_ne_bytes(dst);
    addr.sin_port = 9u16.to_be();
    // SAFETY: `addr` is a live sockaddr_in of the length passed.
    cvt(unsafe {
        libc::connect(s.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_in>() as u32)
    })?;
    let mut mtu: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `mtu` and `len` are live and `len` is mtu's size.
    cvt(unsafe {
        libc::getsockopt(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MTU, &mut mtu as *mut _ as *mut _, &mut len)
    })?;
    Ok(mtu as usize)
}

fn route_mtu6(dst: [u8; 16]) -> io::Result<usize> {
    let s = socket_of(libc::AF_INET6, libc::SOCK_DGRAM, 0)?;
    // SAFETY: all-zero is a valid sockaddr_in6.
    let mut addr: libc::sockaddr_in6 = unsafe { zeroed() };
    addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    addr.sin6_addr.s6_addr = dst;
    addr.sin6_port = 9u16.to_be();
    // SAFETY: `addr` is a live sockaddr_in6 of the length passed.
    cvt(unsafe {
        libc::connect(s.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_in6>() as u32)
    })?;
    let mut mtu: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `mtu` and `len` are live and `len` is mtu's size.
    cvt(unsafe {
        libc::getsockopt(s.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_MTU, &mut mtu as *mut _ as *mut _, &mut len)
    })?;
    Ok(mtu as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::tests::{ipv4_frame, tcp_hdr};
    use crate::packet::VnetHdr;

    fn port(kind: TunnelKind) -> TunnelPort {
        // Sockets are not needed to build and parse headers: any descriptors do.
        let fd = || socket(libc::SOCK_DGRAM, 0).unwrap();
        TunnelPort {
            kind,
            udp_port: kind.default_port(),
            rx: fd(),
            tx_df: None,
            tx_no_df: fd(),
            tx6: None,
            senders: UdpSenders::new(libc::AF_INET),
            tx_buf: Vec::new(),
            path_mtu: HashMap::new(),
            replies: Vec::new(),
            received: Received::new(),
        }
    }

    fn info(flags: u16) -> TunnelInfo {
        TunnelInfo { tun_id: 0x5, src: [10, 0, 0, 1], dst: [10, 0, 0, 2], flags, ttl: 64, ..TunnelInfo::default() }
    }

    /// Encapsulate `inner`, then decapsulate it as the far end's port would.
    fn round_trip(kind: TunnelKind, t: &TunnelInfo, inner: &[u8]) -> (Vec<u8>, Packet) {
        let p = port(kind);
        let mut hdr = [0u8; MAX_HEADER];
        let n = p.encap_header(t, inner, &mut hdr);
        let mut wire = hdr[..n].to_vec();
        wire.extend_from_slice(inner);
        let (src, dst) = if t.is_ipv6() {
            (IpAddr::V6(t.ipv6_src.into()), IpAddr::V6(t.ipv6_dst.into()))
        } else {
            (IpAddr::V4(t.src.into()), IpAddr::V4(t.dst.into()))
        };
        let meta = RxMeta { src, dst, tos: t.tos, ttl: 64, src_port: 40000, segment: 0 };
        // The UDP socket hands over the UDP payload.
        let mut bytes = wire[udp::HEADER_LEN..].to_vec();
        if kind == TunnelKind::Gre {
            // The raw socket hands over the outer IP header too.
            let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 47, 0, 0];
            ip[2..4].copy_from_slice(&((20 + wire.len()) as u16).to_be_bytes());
            ip.extend_from_slice(&t.src);
            ip.extend_from_slice(&t.dst);
            bytes = [ip, wire.clone()].concat();
        }
        let mut pkt = Packet::from_frame(&bytes);
        p.decap(&mut pkt, &meta).unwrap();
        (wire, pkt)
    }

    #[test]
    fn vxlan_encap_writes_udp_with_a_flow_hashed_source_port_and_decap_gives_the_frame_back() {
        let inner = ipv4_frame(6, &tcp_hdr());
        let (wire, pkt) = round_trip(TunnelKind::Vxlan, &info(flags::KEY), &inner);
        let u = udp::Packet::new_checked(&wire[..]).unwrap();
        assert!((32768..61000).contains(&u.src_port()));
        assert_eq!((u.dst_port(), u.datagram_len() as usize), (4789, wire.len()));
        assert_eq!(&wire[6..8], &[0, 0], "no UDP checksum without flags(csum)");
        assert_eq!(pkt.frame(), &inner[..]);
        let rx = pkt.rx_tunnel.unwrap();
        assert_eq!((rx.tun_id, rx.src, rx.dst, rx.flags, rx.ttl), (5, [10, 0, 0, 1], [10, 0, 0, 2], flags::KEY, 64));
        assert_eq!((rx.tp_src, rx.tp_dst), (40000, 4789));
        // The same inner flow always gets the same source port.
        let (again, _) = round_trip(TunnelKind::Vxlan, &info(flags::KEY), &inner);
        assert_eq!(&again[0..2], &wire[0..2]);
    }

    #[test]
    fn a_udp_checksum_is_written_with_flags_csum_and_verifies() {
        let inner = ipv4_frame(6, &tcp_hdr());
        let t = info(flags::KEY | flags::CSUM);
        let (wire, _) = round_trip(TunnelKind::Vxlan, &t, &inner);
        let mut acc = checksum::sum(checksum::sum(0, &t.src), &t.dst) + 17 + wire.len() as u32;
        acc = checksum::sum(acc, &wire);
        assert_ne!(&wire[6..8], &[0, 0]);
        assert_eq!(checksum::fold(acc), 0xffff);
    }

    #[test]
    fn geneve_carries_options_and_gre_its_key_and_checksum_across() {
        let inner = ipv4_frame(6, &tcp_hdr());
        let mut t = info(flags::KEY | flags::OAM);
        let opts = [0x01, 0x02, 0x80, 0x01, 0, 0, 0, 7];
        t.opts[..8].copy_from_slice(&opts);
        t.opts_len = 8;
        let (wire, pkt) = round_trip(TunnelKind::Geneve, &t, &inner);
        assert_eq!(wire.len(), 8 + 8 + 8 + inner.len());
        assert_eq!(TunnelKind::Geneve.overhead(&t), 24);
        let rx = pkt.rx_tunnel.unwrap();
        assert_eq!((rx.options(), rx.flags, pkt.frame()), (&opts[..], flags::KEY | flags::OAM, &inner[..]));

        let g = info(flags::KEY | flags::CSUM);
        let (wire, pkt) = round_trip(TunnelKind::Gre, &g, &inner);
        assert_eq!(wire.len(), 12 + inner.len());
        let rx = pkt.rx_tunnel.unwrap();
        assert_eq!((rx.tun_id, rx.flags), (5, flags::KEY | flags::CSUM | flags::DONT_FRAGMENT));
        assert_eq!(pkt.frame(), &inner[..]);
    }

    /// A UDP port on this host that nothing is bound to at the moment.
    fn free_udp_port() -> u16 {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    }

    #[test]
    fn datagrams_the_kernel_coalesced_come_out_as_one_frame_each_across_bursts() {
        let udp_port = free_udp_port();
        let mut p = TunnelPort::open("vx", TunnelKind::Vxlan, udp_port).unwrap();
        // Five VXLAN datagrams of frames 0..5, the last one shorter, sent as
        // one UDP_SEGMENT write over loopback: the kernel hands them to a
        // socket with UDP GRO as they were sent, one buffer with its
        // segment size, as GRO on a device would.
        let frames: Vec<Vec<u8>> = (0..5u8).map(|i| ipv4_frame(17, &[i; 30][..if i == 4 { 20 } else { 30 }])).collect();
        let mut wire = Vec::new();
        for f in &frames {
            let mut hdr = [0u8; tunnel::VXLAN_HEADER_LEN];
            tunnel::emit_vxlan(7, &mut hdr);
            wire.extend_from_slice(&hdr);
            wire.extend_from_slice(f);
        }
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let segment = (tunnel::VXLAN_HEADER_LEN + frames[0].len()) as libc::c_int;
        sys::setsockopt(sender.as_raw_fd(), SOL_UDP, libc::UDP_SEGMENT, &segment).unwrap();
        assert_eq!(sender.send_to(&wire, ("127.0.0.1", udp_port)).unwrap(), wire.len());

        let mut pkts: Vec<Packet> = (0..3).map(|_| Packet::new()).collect();
        let mut stats = PortStats::default();
        let mut got = Vec::new();
        let mut reads = 0;
        while got.len() < frames.len() {
            reads += 1;
            assert!(reads < 1000, "only {} of {} frames received", got.len(), frames.len());
            let n = p.recv_burst(&mut pkts, &mut stats);
            if reads == 1 {
                let read: Vec<_> = p.received.got.iter().map(|(len, m)| (*len, m.segment as libc::c_int)).collect();
                assert_eq!(read, vec![(wire.len(), segment)], "one read, coalesced");
            }
            for pkt in &pkts[..n] {
                assert_eq!(pkt.rx_tunnel.unwrap().tun_id, 7);
                got.push(pkt.frame().to_vec());
            }
        }
        assert_eq!(got, frames);
        assert_eq!((stats.rx_packets, stats.rx_errors), (5, 0));
        assert_eq!(p.recv_burst(&mut pkts, &mut stats), 0, "nothing left over");
    }

    /// A TCP/IPv4 super-frame (10.0.0.1:12345 -> 10.0.0.2:80, seq 0x1000)
    /// of `payload` bytes as a veth hands it over: GSO TCPV4 with `mss`.
    fn tcp_super_frame(payload: usize, tcp_flags: u8, mss: u16) -> Packet {
        let mut tcp = vec![0x30, 0x39, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0, 1, 0x50, tcp_flags, 0xff, 0xff, 0, 0, 0, 0];
        tcp.extend((0..payload).map(|i| (i * 7) as u8));
        let mut p = Packet::from_frame(&ipv4_frame(6, &tcp));
        p.vnet = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: 1,
            gso_size: mss,
            csum_start: 34,
            csum_offset: 16,
            hdr_len: 54,
        };
        p
    }

    fn tcp_checksum_ok(f: &[u8]) -> bool {
        let pseudo =
            checksum::pseudo_v4(f[26..30].try_into().unwrap(), f[30..34].try_into().unwrap(), 6, (f.len() - 34) as u16);
        checksum::fold(checksum::sum(pseudo, &f[34..])) == 0xffff
    }

    #[test]
    fn a_tcp_super_frame_crosses_as_one_udp_segment_send_of_finished_segments_and_comes_out_whole() {
        let (from, to) = (free_udp_port(), free_udp_port());
        let mut tx = TunnelPort::open("vx-a", TunnelKind::Vxlan, from).unwrap();
        let mut rx = TunnelPort::open("vx-b", TunnelKind::Vxlan, to).unwrap();
        let mut pkt = tcp_super_frame(4000, 0x18 | 0x01, 1448);
        let super_frame = pkt.frame().to_vec();
        pkt.egress_tunnel =
            Some(TunnelInfo { tun_id: 7, dst: [127, 0, 0, 1], tp_dst: to, flags: flags::KEY, ..TunnelInfo::default() });
        let mut stats = PortStats::default();
        tx.send_burst(&[&pkt], &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_bytes, stats.tx_errors), (3, 4000 + 3 * 54, 0));

        let mut pkts: Vec<Packet> = (0..4).map(|_| Packet::new()).collect();
        let mut rx_stats = PortStats::default();
        let mut n = 0;
        for _ in 0..1000 {
            n = rx.recv_burst(&mut pkts, &mut rx_stats);
            if n > 0 {
                break;
            }
        }
        // Loopback keeps a UDP GSO send whole: it arrives as one
        // coalesced read, cut at the send's segment size.
        let stride = tunnel::VXLAN_HEADER_LEN + 54 + 1448;
        let &[(len, meta)] = &rx.received.got[..] else { panic!("not one read: {:?}", rx.received.got.len()) };
        assert_eq!(meta.segment as usize, stride);
        // The datagrams on the wire: finished TCP segments behind VXLAN headers.
        let wire = &rx.received.bufs[0][..len];
        let segs: Vec<&[u8]> = wire.chunks(stride).map(|d| &d[tunnel::VXLAN_HEADER_LEN..]).collect();
        assert_eq!(segs.iter().map(|f| f.len() - 54).collect::<Vec<_>>(), vec![1448, 1448, 1104]);
        for (i, f) in segs.iter().enumerate() {
            assert_eq!(u16::from_be_bytes([f[16], f[17]]) as usize, f.len() - 14, "IP total length of segment {i}");
            assert_eq!(
                u16::from_be_bytes([f[18], f[19]]),
                u16::from_be_bytes([super_frame[18], super_frame[19]]) + i as u16
            );
            assert_eq!(checksum::checksum(&f[14..34]), 0, "IP header checksum of segment {i}");
            assert_eq!(u32::from_be_bytes(f[38..42].try_into().unwrap()), 0x1000 + 1448 * i as u32);
            assert_eq!(f[47], if i == 2 { 0x19 } else { 0x10 }, "FIN and PSH only on the last segment");
            assert!(tcp_checksum_ok(f), "TCP checksum of segment {i}");
            assert_eq!(&f[54..], &super_frame[54 + 1448 * i..(54 + 1448 * (i + 1)).min(super_frame.len())]);
        }
        // The receiving vport hands them on as the super-frame they were
        // cut from (its checksum left to finish), with the segment size.
        assert_eq!((n, rx_stats.rx_packets, rx_stats.rx_errors), (1, 3, 0));
        let got = &pkts[0];
        assert_eq!(got.rx_tunnel.unwrap().tun_id, 7);
        assert_eq!((got.vnet.gso_type, got.vnet.gso_size, got.vnet.flags), (1, 1448, VnetHdr::F_NEEDS_CSUM));
        assert_eq!((&got.frame()[..50], &got.frame()[52..]), (&super_frame[..50], &super_frame[52..]));
    }

    #[test]
    fn without_udp_segment_a_super_frame_goes_one_datagram_per_send() {
        let (from, to) = (free_udp_port(), free_udp_port());
        let mut tx = TunnelPort::open("vx-a", TunnelKind::Vxlan, from).unwrap();
        assert_eq!(tx.senders.max_segments, MAX_SEGMENTS, "this kernel has UDP_SEGMENT");
        tx.senders.max_segments = 1;
        let mut rx = TunnelPort::open("vx-b", TunnelKind::Vxlan, to).unwrap();
        let mut pkt = tcp_super_frame(4000, 0x10, 1448);
        pkt.egress_tunnel = Some(TunnelInfo { tun_id: 7, dst: [127, 0, 0, 1], tp_dst: to, ..TunnelInfo::default() });
        let mut stats = PortStats::default();
        tx.send_burst(&[&pkt], &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_errors), (3, 0));
        // Loopback coalesces nothing itself: separate sends reach the UDP
        // GRO socket as separate datagrams, without a segment size.
        let mut pkts: Vec<Packet> = (0..4).map(|_| Packet::new()).collect();
        let mut rx_stats = PortStats::default();
        for _ in 0..1000 {
            if rx.recv_burst(&mut pkts, &mut rx_stats) > 0 {
                break;
            }
        }
        let reads: Vec<(usize, u16)> = rx.received.got.iter().map(|(len, m)| (*len, m.segment)).collect();
        assert_eq!(reads, vec![(8 + 54 + 1448, 0), (8 + 54 + 1448, 0), (8 + 54 + 1104, 0)]);
        assert_eq!(rx_stats.rx_packets, 3);
    }

    #[test]
    fn a_frame_crosses_an_ipv6_underlay_and_arrives_with_its_ipv6_outer_addresses() {
        let udp_port = free_udp_port();
        let mut p = TunnelPort::open("vx6", TunnelKind::Vxlan, udp_port).unwrap();
        let lo = Ipv6Addr::LOCALHOST.octets();
        let inner = ipv4_frame(6, &tcp_hdr());
        let mut pkt = Packet::from_frame(&inner);
        pkt.egress_tunnel = Some(TunnelInfo {
            tun_id: 9,
            ipv6_src: lo,
            ipv6_dst: lo,
            flags: flags::KEY,
            ttl: 33,
            tos: 0x20,
            ..TunnelInfo::default()
        });
        let mut stats = PortStats::default();
        p.send_burst(&[&pkt], &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_errors, stats.tx_dropped), (1, 0, 0));
        let mut pkts: Vec<Packet> = (0..2).map(|_| Packet::new()).collect();
        let mut got = 0;
        for _ in 0..1000 {
            got = p.recv_burst(&mut pkts, &mut stats);
            if got > 0 {
                break;
            }
            std::thread::yield_now();
        }
        assert_eq!(got, 1, "the datagram came back over ::1");
        let rx = pkts[0].rx_tunnel.unwrap();
        assert_eq!((rx.ipv6_src, rx.ipv6_dst, rx.src, rx.dst), (lo, lo, [0; 4], [0; 4]));
        assert_eq!((rx.tun_id, rx.ttl, rx.tos, rx.tp_dst), (9, 33, 0x20, udp_port));
        assert_eq!(pkts[0].frame(), &inner[..]);
        let mut k = FlowKey::default();
        k.set_tunnel(&rx);
        assert_eq!((k.tun_ipv6_src, k.tun_ipv6_dst, k.tun_src), (lo, lo, [0; 4]));
    }

    #[test]
    fn a_datagram_too_short_for_an_inner_ethernet_header_is_refused() {
        let p = port(TunnelKind::Vxlan);
        let mut pkt = Packet::from_frame(&[0x08, 0, 0, 0, 0, 0, 5, 0, 1, 2, 3]);
        assert_eq!(p.decap(&mut pkt, &RxMeta::default()), Err(Malformed::Truncated));
    }
}
