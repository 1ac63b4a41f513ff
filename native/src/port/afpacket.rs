//! AF_PACKET port: an existing interface (veth end, a VM's tap, a NIC) seen
//! through a raw packet socket: received through a TPACKET_V2 ring, sent in
//! bursts through AF_XDP (finished frames, see `xsk_tx.rs`) or with sendmmsg
//! (frames with offloads).
//!
//! Two kernel behaviours shape this file:
//! - the kernel strips 802.1Q tags on receive and reports them out of band
//!   (in the ring's frame header); we put the tag back into the frame;
//! - veth and taps hand packet sockets GSO super-frames larger than the MTU
//!   with partial checksums. PACKET_VNET_HDR gives us their virtio-net header
//!   and lets us hand them on unchanged, so the kernel (or the next hop)
//!   segments them only where needed.

use super::ring::{RingMeta, RxRing};
use super::xsk_tx::XskTx;
use super::{is_device_gone, PortIo, PortStats, BURST};
use crate::packet::{Packet, VnetHdr};
use crate::sys::{self, cvt, PacketMreq};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub struct AfPacketPort {
    name: String,
    /// None only while detached.
    sockets: Option<Sockets>,
    ring_meta: [RingMeta; BURST],
    ifindex: u32,
    /// Upkeeps left in which to try AF_XDP again after it was refused.
    xsk_retries: u32,
}

/// The kernel frees a closed AF_XDP socket's hold on a queue a moment later,
/// so a port opened again at once (a daemon restarted, a port deleted and
/// added) can be refused with EBUSY: try for about ten seconds of upkeeps.
const XSK_RETRIES: u32 = 20;

/// A port's sockets. Sending has sockets of its own, which receive nothing
/// and are never polled: every sent frame's skb, when freed, calls its
/// socket's write-space callback, which on a polled socket takes the wait
/// queue's lock and walks its waiters, once per frame.
struct Sockets {
    rx: OwnedFd,
    ring: RxRing,
    /// Frames with virtio-net offloads, and those AF_XDP cannot take.
    tx: OwnedFd,
    /// Finished frames; None where the kernel has no AF_XDP.
    xsk: Option<XskTx>,
}

impl AfPacketPort {
    pub fn open(name: &str) -> io::Result<Self> {
        sys::check_ifname(name)?;
        let (sockets, ifindex) = open_sockets(name)?;
        Ok(AfPacketPort {
            name: name.to_string(),
            sockets: Some(sockets),
            ring_meta: [RingMeta::default(); BURST],
            ifindex,
            xsk_retries: XSK_RETRIES,
        })
    }

    /// The device vanished (deleted, or moved to another namespace): drop the
    /// sockets and wait for a device of the same name.
    fn detach(&mut self) {
        self.sockets = None;
        self.ifindex = 0;
    }
}

fn open_sockets(name: &str) -> io::Result<(Sockets, u32)> {
    let ifindex = sys::ifindex(name).map_err(|e| with_context(e, name))?;
    // Bring the interface up first, as OVS does for its ports: binding to a
    // down interface leaves a pending ENETDOWN on the socket. A tap without a
    // carrier (its VM not started yet) is fine: frames flow once it has one.
    sys::set_up(name).map_err(|e| with_context(e, name))?;
    let rx = packet_socket(sys::ETH_P_ALL)?;
    let fd = rx.as_raw_fd();
    let one: libc::c_int = 1;
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_IGNORE_OUTGOING, &one)?;
    let ring = RxRing::new(fd)?;
    let bufsize: libc::c_int = 4 << 20;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &bufsize)
        .or_else(|_| sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &bufsize))?;
    bind(fd, sys::ETH_P_ALL, ifindex).map_err(|e| with_context(e, name))?;
    let mreq =
        PacketMreq { mr_ifindex: ifindex as i32, mr_type: sys::PACKET_MR_PROMISC, mr_alen: 0, mr_address: [0; 8] };
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_ADD_MEMBERSHIP, &mreq)?;

    // Protocol 0: the kernel delivers nothing to this socket.
    let tx = packet_socket(0)?;
    let fd = tx.as_raw_fd();
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_QDISC_BYPASS, &one)?;
    sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &bufsize)
        .or_else(|_| sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &bufsize))?;
    bind(fd, 0, ifindex).map_err(|e| with_context(e, name))?;
    // AF_XDP is an optimisation: without it (an old or trimmed kernel) every
    // frame goes by the packet socket.
    let xsk = open_xsk(name, ifindex);
    Ok((Sockets { rx, ring, tx, xsk }, ifindex))
}

fn open_xsk(name: &str, ifindex: u32) -> Option<XskTx> {
    sys::mtu(name).and_then(|mtu| XskTx::open(ifindex, mtu)).ok()
}

/// A non-blocking packet socket for `protocol` that carries virtio-net headers.
fn packet_socket(protocol: u16) -> io::Result<OwnedFd> {
    let proto = protocol.to_be() as libc::c_int;
    // SAFETY: socket(2) with constant arguments; ownership moves into OwnedFd below.
    let fd = cvt(unsafe {
        libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto)
    })?;
    // SAFETY: fd is fresh and owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // Set before bind: the vnet header changes the frame layout, so no frame
    // may be queued without it.
    sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_VNET_HDR, &(1 as libc::c_int))?;
    Ok(sock)
}

fn bind(fd: RawFd, protocol: u16, ifindex: u32) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid; we fill the fields bind reads.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = protocol.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a valid sockaddr_ll and we pass its exact size.
    cvt(unsafe { libc::bind(fd, &sll as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_ll>() as u32) })?;
    Ok(())
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
        self.sockets.as_ref().map_or(-1, |s| s.rx.as_raw_fd())
    }

    fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn detached(&self) -> bool {
        self.sockets.is_none()
    }

    fn take_kernel_drops(&mut self) -> u64 {
        // struct tpacket_stats { tp_packets, tp_drops }; reading resets it.
        let mut st = [0u32; 2];
        let mut len = size_of::<[u32; 2]>() as libc::socklen_t;
        let fd = self.fd();
        if fd < 0 {
            return 0;
        }
        // SAFETY: PACKET_STATISTICS writes a tpacket_stats into `st`, whose size we pass.
        let r = unsafe {
            libc::getsockopt(
                fd,
                sys::SOL_PACKET,
                sys::PACKET_STATISTICS,
                st.as_mut_ptr() as *mut libc::c_void,
                &mut len,
            )
        };
        if r == 0 {
            st[1] as u64
        } else {
            0
        }
    }

    fn upkeep(&mut self) {
        let Some(sockets) = self.sockets.as_mut() else { return };
        match sockets.xsk.as_mut() {
            None if self.xsk_retries > 0 => {
                self.xsk_retries -= 1;
                sockets.xsk = open_xsk(&self.name, self.ifindex);
            }
            // AF_XDP sends frames without checking the MTU, so follow it
            // here: longer frames go by the packet socket, which refuses
            // them with EMSGSIZE.
            Some(xsk) => {
                if let Ok(mtu) = sys::mtu(&self.name) {
                    xsk.set_mtu(mtu);
                }
            }
            None => {}
        }
    }

    fn reattach(&mut self) -> io::Result<bool> {
        match open_sockets(&self.name) {
            Ok((sockets, ifindex)) => {
                self.sockets = Some(sockets);
                self.xsk_retries = XSK_RETRIES;
                self.ifindex = ifindex;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        let Some(Sockets { rx, ring, .. }) = self.sockets.as_mut() else { return 0 };
        let fd = rx.as_raw_fd();
        let limit = pkts.len().min(BURST);
        let n = ring.recv(fd, &mut pkts[..limit], &mut self.ring_meta, |_| stats.rx_errors += 1);
        if n == 0 {
            // Woken with nothing to read: the socket may carry an error, e.g.
            // ENETDOWN when its device went away.
            if let Some(errno) = socket_error(fd) {
                if is_device_gone(errno) && sys::ifindex(&self.name).ok() != Some(self.ifindex) {
                    self.detach();
                } else if !is_device_gone(errno) {
                    stats.rx_errors += 1;
                }
            }
            return 0;
        }
        let mut kept = 0;
        for i in 0..n {
            if kept != i {
                pkts.swap(kept, i);
            }
            let m = &self.ring_meta[i];
            if m.status & sys::TP_STATUS_VLAN_VALID != 0 && !restore_vlan(&mut pkts[kept], m) {
                stats.rx_errors += 1;
                continue;
            }
            stats.rx_packets += 1;
            stats.rx_bytes += pkts[kept].len() as u64;
            kept += 1;
        }
        kept
    }

    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats) {
        let Some(sockets) = self.sockets.as_mut() else {
            stats.tx_dropped += pkts.len() as u64;
            return;
        };
        // Finished frames go by AF_XDP; the others, and any it has no buffer
        // for, by the packet socket. Runs go out in order, each within its
        // system call, so a flow's frames keep their order.
        let mut rest = pkts;
        let mut gone = false;
        while !rest.is_empty() && !gone {
            let queued = match sockets.xsk.as_mut() {
                Some(xsk) => rest.iter().take_while(|p| p.vnet.is_plain() && xsk.push(p.frame())).count(),
                None => 0,
            };
            if queued > 0 {
                let xsk = sockets.xsk.as_mut().expect("frames were queued on it");
                match xsk.flush() {
                    Ok(f) => {
                        stats.tx_packets += f.packets;
                        stats.tx_bytes += f.bytes;
                        stats.tx_dropped += f.dropped;
                    }
                    // Frames the kernel did not take stay queued, and are
                    // counted when it does (a device set down and up again),
                    // or as dropped if the device goes for good.
                    Err(e) => {
                        gone = is_device_gone(sys::errno_of(&e));
                        if !gone {
                            stats.tx_errors += 1;
                        }
                    }
                }
                rest = &rest[queued..];
                continue;
            }
            // The first frame did not go by AF_XDP; neither will those after
            // it that are not finished frames.
            let max_frame = sockets.xsk.as_ref().map_or(0, XskTx::max_frame);
            let run = 1 + rest[1..].iter().take_while(|p| !p.vnet.is_plain() || p.len() > max_frame).count();
            gone = send_mmsg(sockets.tx.as_raw_fd(), &rest[..run], stats);
            if gone {
                stats.tx_dropped += (rest.len() - run) as u64;
            }
            rest = &rest[run..];
        }
        // A link without carrier (a VM's tap before the VM runs) refuses
        // frames with ENETDOWN: the port stays. A device that was deleted
        // or moved away is waited for under its name.
        if gone && sys::ifindex(&self.name).ok() != Some(self.ifindex) {
            stats.tx_dropped += self.sockets.as_ref().and_then(|s| s.xsk.as_ref()).map_or(0, |x| x.pending() as u64);
            self.detach();
        }
    }
}

/// Send frames with their virtio-net headers through a packet socket;
/// true when the device is down or gone (the frames not sent are counted
/// as dropped).
fn send_mmsg(fd: RawFd, pkts: &[&Packet], stats: &mut PortStats) -> bool {
    for (c, chunk) in pkts.chunks(BURST).enumerate() {
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
                stats.tx_dropped += (pkts.len() - c * BURST - sent) as u64;
                return true;
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
    false
}

/// The pending error of a socket (SO_ERROR), which reading clears.
fn socket_error(fd: RawFd) -> Option<i32> {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_ERROR writes one int into `err`, whose size we pass.
    let r = unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, &mut err as *mut _ as *mut libc::c_void, &mut len)
    };
    (r == 0 && err != 0).then_some(err)
}

/// Put back the VLAN tag the kernel moved out of the frame on receive.
fn restore_vlan(pkt: &mut Packet, meta: &RingMeta) -> bool {
    let tpid = if meta.status & sys::TP_STATUS_VLAN_TPID_VALID != 0 && meta.vlan_tpid != 0 {
        meta.vlan_tpid
    } else {
        sys::ETH_P_8021Q
    };
    match pkt.insert_gap(12, 4) {
        Some(tag) => {
            tag[..2].copy_from_slice(&tpid.to_be_bytes());
            tag[2..].copy_from_slice(&meta.vlan_tci.to_be_bytes());
            pkt.vnet.shift(4);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::xsk_tx::tests::in_private_netns;

    #[test]
    fn takes_up_af_xdp_once_the_queue_is_free_again() {
        in_private_netns(|| {
            // Another socket holds the queue: the port opens without AF_XDP.
            let holder = XskTx::open(sys::ifindex("lo").unwrap(), 1500).unwrap();
            let mut port = AfPacketPort::open("lo").unwrap();
            assert!(port.sockets.as_ref().unwrap().xsk.is_none());
            drop(holder);
            // The kernel lets go of the queue a moment after the close.
            for _ in 0..XSK_RETRIES {
                port.upkeep();
                if port.sockets.as_ref().unwrap().xsk.is_some() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            panic!("the port never took up AF_XDP");
        });
    }
}
