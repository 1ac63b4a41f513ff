//! AF_PACKET port: an existing interface (veth end, a VM's tap, a NIC) seen
//! through a raw packet socket, in bursts with recvmmsg/sendmmsg.
//!
//! Two kernel behaviours shape this file:
//! - the kernel strips 802.1Q tags on receive and reports them out of band
//!   (PACKET_AUXDATA); we put the tag back into the frame;
//! - veth and taps hand packet sockets GSO super-frames larger than the MTU
//!   with partial checksums. PACKET_VNET_HDR gives us their virtio-net header
//!   and lets us hand them on unchanged, so the kernel (or the next hop)
//!   segments them only where needed.

use super::{is_device_gone, PortIo, PortStats, BURST};
use crate::packet::{Packet, VnetHdr};
use crate::sys::{self, cvt, PacketMreq, TpacketAuxdata};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Room for one cmsghdr carrying a tpacket_auxdata, 8-byte aligned.
const CMSG_ROOM: usize = 64;

pub struct AfPacketPort {
    name: String,
    sock: Option<OwnedFd>,
    ifindex: u32,
}

impl AfPacketPort {
    pub fn open(name: &str) -> io::Result<Self> {
        sys::check_ifname(name)?;
        let (sock, ifindex) = open_socket(name)?;
        Ok(AfPacketPort { name: name.to_string(), sock: Some(sock), ifindex })
    }

    fn raw(&self) -> RawFd {
        self.sock.as_ref().map_or(-1, |s| s.as_raw_fd())
    }

    /// The device vanished (deleted, or moved to another namespace): drop the
    /// socket and wait for a device of the same name.
    fn detach(&mut self) {
        self.sock = None;
        self.ifindex = 0;
    }
}

fn open_socket(name: &str) -> io::Result<(OwnedFd, u32)> {
    let ifindex = sys::ifindex(name).map_err(|e| with_context(e, name))?;
    // Bring the interface up first, as OVS does for its ports: binding to a
    // down interface leaves a pending ENETDOWN on the socket. A tap without a
    // carrier (its VM not started yet) is fine: frames flow once it has one.
    sys::set_up(name).map_err(|e| with_context(e, name))?;
    let proto = sys::ETH_P_ALL.to_be() as libc::c_int;
    // SAFETY: socket(2) with constant arguments; ownership moves into OwnedFd below.
    let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: fd is fresh and owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // Options that must be set before bind: the vnet header changes the
    // frame layout, so no frame may be queued without it.
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_VNET_HDR, &one)?;
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_AUXDATA, &one)?;
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_IGNORE_OUTGOING, &one)?;
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_QDISC_BYPASS, &one)?;
    let bufsize: libc::c_int = 4 << 20;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &bufsize)
        .or_else(|_| sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &bufsize))?;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &bufsize)
        .or_else(|_| sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &bufsize))?;

    // SAFETY: an all-zero sockaddr_ll is valid; we fill the fields bind reads.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = sys::ETH_P_ALL.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a valid sockaddr_ll and we pass its exact size.
    cvt(unsafe { libc::bind(fd, &sll as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_ll>() as u32) })
        .map_err(|e| with_context(e, name))?;
    let mreq = PacketMreq { mr_ifindex: ifindex as i32, mr_type: sys::PACKET_MR_PROMISC, mr_alen: 0, mr_address: [0; 8] };
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_ADD_MEMBERSHIP, &mreq)?;
    Ok((sock, ifindex))
}

/// Name the interface in errors that would otherwise be a bare errno.
fn with_context(e: io::Error, name: &str) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ENODEV) => io::Error::new(
            io::ErrorKind::NotFound,
            format!("no such network device \"{name}\" (check the name with 'ip link show')"),
        ),
        _ => io::Error::new(e.kind(), format!("interface \"{name}\": {e}")),
    }
}

impl PortIo for AfPacketPort {
    fn fd(&self) -> RawFd {
        self.raw()
    }

    fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn detached(&self) -> bool {
        self.sock.is_none()
    }

    fn reattach(&mut self) -> io::Result<bool> {
        match open_socket(&self.name) {
            Ok((sock, ifindex)) => {
                self.sock = Some(sock);
                self.ifindex = ifindex;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        let fd = self.raw();
        if fd < 0 {
            return 0;
        }
        let n = pkts.len().min(BURST);
        let mut vnet = [[0u8; VnetHdr::SIZE]; BURST];
        let mut cmsg = [[0u64; CMSG_ROOM / 8]; BURST];
        // SAFETY: iovec and mmsghdr are plain C structs for which all-zero is valid.
        let mut iov: [[libc::iovec; 2]; BURST] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; BURST] = unsafe { zeroed() };
        for i in 0..n {
            let area = pkts[i].receive_area();
            iov[i][0] = libc::iovec { iov_base: vnet[i].as_mut_ptr() as *mut _, iov_len: VnetHdr::SIZE };
            iov[i][1] = libc::iovec { iov_base: area.as_mut_ptr() as *mut _, iov_len: area.len() };
            msgs[i].msg_hdr.msg_iov = iov[i].as_mut_ptr();
            msgs[i].msg_hdr.msg_iovlen = 2;
            msgs[i].msg_hdr.msg_control = cmsg[i].as_mut_ptr() as *mut _;
            msgs[i].msg_hdr.msg_controllen = CMSG_ROOM;
        }
        // SAFETY: every msghdr points at buffers that live until this call returns.
        let got = unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), n as u32, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
        if got < 0 {
            let err = io::Error::last_os_error();
            let errno = sys::errno_of(&err);
            if is_device_gone(errno) {
                // ENETDOWN also reports a link that went down and up again;
                // only a device that is really gone or renumbered detaches.
                if sys::ifindex(&self.name).ok() != Some(self.ifindex) {
                    self.detach();
                }
            } else if err.kind() != io::ErrorKind::WouldBlock && errno != libc::EINTR {
                stats.rx_errors += 1;
            }
            return 0;
        }
        let mut kept = 0;
        for i in 0..got as usize {
            let total = msgs[i].msg_len as usize;
            if total < VnetHdr::SIZE + 14 || msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                stats.rx_errors += 1;
                continue;
            }
            let aux = auxdata(&msgs[i].msg_hdr);
            if kept != i {
                pkts.swap(kept, i);
            }
            let pkt = &mut pkts[kept];
            pkt.set_received(total - VnetHdr::SIZE);
            pkt.vnet = VnetHdr::from_bytes(&vnet[i]);
            if let Some(aux) = aux {
                if aux.tp_status & sys::TP_STATUS_VLAN_VALID != 0 && !restore_vlan(pkt, &aux) {
                    stats.rx_errors += 1;
                    continue;
                }
            }
            stats.rx_packets += 1;
            stats.rx_bytes += pkt.len() as u64;
            kept += 1;
        }
        kept
    }

    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats) {
        let fd = self.raw();
        if fd < 0 {
            stats.tx_dropped += pkts.len() as u64;
            return;
        }
        for chunk in pkts.chunks(BURST) {
            let mut vnet = [[0u8; VnetHdr::SIZE]; BURST];
            // SAFETY: all-zero iovec and mmsghdr are valid.
            let mut iov: [[libc::iovec; 2]; BURST] = unsafe { zeroed() };
            // SAFETY: as above.
            let mut msgs: [libc::mmsghdr; BURST] = unsafe { zeroed() };
            for (i, pkt) in chunk.iter().enumerate() {
                vnet[i] = pkt.vnet.to_bytes();
                let frame = pkt.frame();
                iov[i][0] = libc::iovec { iov_base: vnet[i].as_mut_ptr() as *mut _, iov_len: VnetHdr::SIZE };
                iov[i][1] = libc::iovec { iov_base: frame.as_ptr() as *mut _, iov_len: frame.len() };
                msgs[i].msg_hdr.msg_iov = iov[i].as_mut_ptr();
                msgs[i].msg_hdr.msg_iovlen = 2;
            }
            let mut sent = 0usize;
            while sent < chunk.len() {
                // SAFETY: msgs[sent..] point at buffers alive for this call;
                // the kernel only reads them.
                let r = unsafe {
                    libc::sendmmsg(fd, msgs.as_mut_ptr().add(sent), (chunk.len() - sent) as u32, libc::MSG_DONTWAIT)
                };
                if r > 0 {
                    for pkt in &chunk[sent..sent + r as usize] {
                        stats.tx_packets += 1;
                        stats.tx_bytes += pkt.len() as u64;
                    }
                    sent += r as usize;
                    continue;
                }
                let err = io::Error::last_os_error();
                let errno = sys::errno_of(&err);
                if errno == libc::EINTR {
                    continue;
                }
                if is_device_gone(errno) {
                    // A link without carrier (a VM's tap before the VM runs)
                    // refuses frames with ENETDOWN: drop them, keep the port.
                    stats.tx_dropped += (chunk.len() - sent) as u64;
                    if sys::ifindex(&self.name).ok() != Some(self.ifindex) {
                        self.detach();
                    }
                    return;
                }
                if err.kind() == io::ErrorKind::WouldBlock || errno == libc::ENOBUFS {
                    stats.tx_dropped += (chunk.len() - sent) as u64;
                } else {
                    // One bad frame (e.g. larger than the device accepts):
                    // count it and go on with the rest of the burst.
                    stats.tx_errors += 1;
                    sent += 1;
                    continue;
                }
                break;
            }
        }
    }
}

/// The PACKET_AUXDATA control message of a received frame, if present.
fn auxdata(hdr: &libc::msghdr) -> Option<TpacketAuxdata> {
    // SAFETY: hdr came back from recvmmsg with msg_control/msg_controllen
    // describing our own buffer; CMSG_* walk only inside it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(hdr);
        while !c.is_null() {
            if (*c).cmsg_level == sys::SOL_PACKET && (*c).cmsg_type == sys::PACKET_AUXDATA {
                return Some(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const TpacketAuxdata));
            }
            c = libc::CMSG_NXTHDR(hdr, c);
        }
    }
    None
}

/// Put back the VLAN tag the kernel moved out of the frame on receive.
fn restore_vlan(pkt: &mut Packet, aux: &TpacketAuxdata) -> bool {
    let tpid = if aux.tp_status & sys::TP_STATUS_VLAN_TPID_VALID != 0 && aux.tp_vlan_tpid != 0 {
        aux.tp_vlan_tpid
    } else {
        sys::ETH_P_8021Q
    };
    match pkt.insert_gap(12, 4) {
        Some(tag) => {
            tag[..2].copy_from_slice(&tpid.to_be_bytes());
            tag[2..].copy_from_slice(&aux.tp_vlan_tci.to_be_bytes());
            pkt.vnet.shift(4);
            true
        }
        None => false,
    }
}
