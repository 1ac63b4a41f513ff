//! TAP port owned by the switch: created (or attached) through /dev/net/tun.
//! Its kernel side is the bridge's internal port or, moved into another
//! namespace, a container's NIC; the switch keeps the fd either way.
//!
//! IFF_VNET_HDR with TUNSETOFFLOAD lets the host stack hand us TSO
//! super-frames with partial checksums, as AF_PACKET ports do, so TCP from a
//! container is not segmented before it crosses the switch.

use super::{PortIo, PortStats};
use crate::packet::{Packet, VnetHdr};
use crate::sys::{self, cvt, IfReq};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub struct TapPort {
    fd: OwnedFd,
    ifindex: u32,
}

/// Settings applied when the tap is opened.
#[derive(Default)]
pub struct TapConfig {
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
}

impl TapPort {
    pub fn open(name: &str, config: &TapConfig) -> io::Result<Self> {
        sys::check_ifname(name)?;
        // SAFETY: open(2) on a constant, NUL-terminated path.
        let raw = cvt(unsafe {
            libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC)
        })
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => io::Error::new(
                e.kind(),
                format!("cannot open /dev/net/tun for tap \"{name}\": permission denied (a tap port needs root or CAP_NET_ADMIN; dummy ports need neither)"),
            ),
            _ => io::Error::new(e.kind(), format!("cannot open /dev/net/tun for tap \"{name}\": {e} (is the tun module loaded?)")),
        })?;
        // SAFETY: raw is a fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReq::new(name)?;
        req.set_short(sys::IFF_TAP | sys::IFF_NO_PI | sys::IFF_VNET_HDR);
        sys::ifreq_ioctl(raw, sys::TUNSETIFF, &mut req).map_err(|e| match e.raw_os_error() {
            Some(libc::EBUSY) => io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("tap \"{name}\" is already held by another process (a VM?): add it as a system port instead"),
            ),
            Some(libc::EINVAL) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("\"{name}\" exists and is not a tap device, or its flags differ: choose another name"),
            ),
            _ => io::Error::new(e.kind(), format!("cannot create tap \"{name}\": {e}")),
        })?;
        let offloads = sys::TUN_F_CSUM | sys::TUN_F_TSO4 | sys::TUN_F_TSO6 | sys::TUN_F_TSO_ECN;
        // SAFETY: TUNSETOFFLOAD takes its argument by value.
        cvt(unsafe { libc::ioctl(raw, sys::TUNSETOFFLOAD as _, offloads as libc::c_ulong) })?;
        if let Some(mtu) = config.mtu {
            sys::set_mtu(name, mtu)
                .map_err(|e| io::Error::new(e.kind(), format!("tap \"{name}\": cannot set MTU {mtu}: {e}")))?;
        }
        if let Some(mac) = config.mac {
            sys::set_mac(name, mac)
                .map_err(|e| io::Error::new(e.kind(), format!("tap \"{name}\": cannot set MAC: {e}")))?;
        }
        sys::set_up(name)?;
        let ifindex = sys::ifindex(name)?;
        Ok(TapPort { fd, ifindex })
    }
}

impl PortIo for TapPort {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        // A tap hands over one frame per read: a burst is reads until EAGAIN.
        let mut kept = 0;
        while kept < pkts.len() {
            let mut vnet = [0u8; VnetHdr::SIZE];
            let pkt = &mut pkts[kept];
            let area = pkt.receive_area();
            let iov = [
                libc::iovec { iov_base: vnet.as_mut_ptr() as *mut _, iov_len: VnetHdr::SIZE },
                libc::iovec { iov_base: area.as_mut_ptr() as *mut _, iov_len: area.len() },
            ];
            // SAFETY: both iovecs point at live, writable buffers of the stated length.
            let n = unsafe { libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::WouldBlock {
                    break;
                }
                if err.raw_os_error() != Some(libc::EINTR) {
                    stats.rx_errors += 1;
                    break;
                }
                continue;
            }
            let n = n as usize;
            if n < VnetHdr::SIZE + 14 {
                stats.rx_errors += 1;
                continue;
            }
            pkt.set_received(n - VnetHdr::SIZE);
            pkt.vnet = VnetHdr::from_bytes(&vnet);
            stats.rx_packets += 1;
            stats.rx_bytes += pkt.len() as u64;
            kept += 1;
        }
        kept
    }

    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats) {
        for (i, pkt) in pkts.iter().enumerate() {
            let vnet = pkt.vnet.to_bytes();
            let frame = pkt.frame();
            let iov = [
                libc::iovec { iov_base: vnet.as_ptr() as *mut _, iov_len: VnetHdr::SIZE },
                libc::iovec { iov_base: frame.as_ptr() as *mut _, iov_len: frame.len() },
            ];
            // SAFETY: the iovecs point at live buffers; writev only reads them.
            let n = unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::WouldBlock {
                    stats.tx_dropped += 1;
                } else if err.raw_os_error() == Some(libc::EIO) {
                    // The tap's interface is down and takes nothing: the
                    // rest of the burst is dropped without a write each (as
                    // OVS drops frames for a down tap).
                    stats.tx_dropped += (pkts.len() - i) as u64;
                    return;
                } else {
                    stats.tx_errors += 1;
                }
            } else {
                stats.tx_packets += 1;
                stats.tx_bytes += frame.len() as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_for_a_tap_that_is_down_is_dropped_and_counted_once_per_frame() {
        let name = format!("tvstapdn{}", std::process::id() % 100_000);
        let mut tap = TapPort::open(&name, &TapConfig::default()).unwrap();
        let down = std::process::Command::new("ip").args(["link", "set", &name, "down"]).status().unwrap();
        assert!(down.success());
        let frame = Packet::from_frame(&[0xff; 60]);
        let mut stats = PortStats::default();
        tap.send_burst(&[&frame, &frame, &frame], &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_dropped, stats.tx_errors), (0, 3, 0));
        sys::set_up(&name).unwrap();
        tap.send_burst(&[&frame, &frame], &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_dropped, stats.tx_errors), (2, 3, 0));
    }
}
