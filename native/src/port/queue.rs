//! Frames waiting to be received on a port that has no kernel device: a
//! bounded queue and an eventfd that is readable exactly while the queue
//! holds frames. The eventfd is the port's polled fd, so these frames wake
//! the poll loop and are received in its rounds like any port's. A dummy
//! port receives what JS injects through one; a patch port what its peer
//! sends.

use crate::packet::{Packet, VnetHdr};
use crate::port::PortStats;
use crate::sys::cvt;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

pub struct FrameQueue {
    frames: Mutex<VecDeque<(Vec<u8>, VnetHdr)>>,
    ready: OwnedFd,
    capacity: usize,
}

impl FrameQueue {
    pub fn new(capacity: usize) -> io::Result<FrameQueue> {
        // SAFETY: eventfd returns a fresh fd that we own at once.
        let ready = unsafe { OwnedFd::from_raw_fd(cvt(libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC))?) };
        Ok(FrameQueue { frames: Mutex::new(VecDeque::new()), ready, capacity })
    }

    /// The fd to poll: readable while frames wait.
    pub fn fd(&self) -> RawFd {
        self.ready.as_raw_fd()
    }

    /// Queue copies of `frames`, oldest first; returns how many fitted (the
    /// rest are the caller's to count as dropped).
    pub fn push<'a>(&self, frames: impl IntoIterator<Item = (&'a [u8], VnetHdr)>) -> usize {
        let mut q = self.lock();
        let was_empty = q.is_empty();
        let mut queued = 0;
        for (frame, vnet) in frames {
            if q.len() == self.capacity {
                break;
            }
            q.push_back((frame.to_vec(), vnet));
            queued += 1;
        }
        // Under the lock, so that the eventfd's state and the queue's agree.
        if was_empty && queued > 0 {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our eventfd.
            unsafe { libc::write(self.ready.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8) };
        }
        queued
    }

    /// Move up to `pkts.len()` queued frames into `pkts`, counted as received.
    pub fn receive(&self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        let mut q = self.lock();
        let mut n = 0;
        while n < pkts.len() {
            let Some((frame, vnet)) = q.pop_front() else { break };
            let pkt = &mut pkts[n];
            let len = frame.len().min(pkt.receive_area().len());
            pkt.receive_area()[..len].copy_from_slice(&frame[..len]);
            pkt.set_received(len);
            pkt.vnet = vnet;
            stats.rx_packets += 1;
            stats.rx_bytes += len as u64;
            n += 1;
        }
        if n > 0 && q.is_empty() {
            let mut count = 0u64;
            // SAFETY: reads 8 bytes into a live u64 from our eventfd; it
            // cannot block (EFD_NONBLOCK), and resets it to unreadable.
            unsafe { libc::read(self.ready.as_raw_fd(), &mut count as *mut u64 as *mut libc::c_void, 8) };
        }
        n
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(Vec<u8>, VnetHdr)>> {
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Whether `fd` is readable right now.
    pub(crate) fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd, no waiting.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn its_fd_is_readable_exactly_while_frames_wait() {
        let q = FrameQueue::new(8).unwrap();
        let mut pkts: Vec<Packet> = (0..2).map(|_| Packet::new()).collect();
        let mut stats = PortStats::default();
        assert!(!readable(q.fd()));
        assert_eq!(
            q.push([
                (&[1u8; 60][..], VnetHdr::default()),
                (&[2u8; 61][..], VnetHdr::default()),
                (&[3u8; 62][..], VnetHdr::default())
            ]),
            3
        );
        assert!(readable(q.fd()));
        assert_eq!(q.receive(&mut pkts, &mut stats), 2);
        assert_eq!((pkts[0].frame(), pkts[1].len()), (&[1u8; 60][..], 61));
        assert!(readable(q.fd()), "one frame still waits");
        assert_eq!(q.receive(&mut pkts, &mut stats), 1);
        assert_eq!(pkts[0].frame(), &[3u8; 62][..]);
        assert!(!readable(q.fd()));
        assert_eq!((stats.rx_packets, stats.rx_bytes), (3, 183));
    }

    #[test]
    fn takes_no_more_than_its_capacity() {
        let q = FrameQueue::new(2).unwrap();
        let frame = [0u8; 60];
        assert_eq!(q.push((0..5).map(|_| (&frame[..], VnetHdr::default()))), 2);
        assert_eq!(q.push([(&frame[..], VnetHdr::default())]), 0);
        let mut pkts: Vec<Packet> = (0..8).map(|_| Packet::new()).collect();
        assert_eq!(q.receive(&mut pkts, &mut PortStats::default()), 2);
    }
}
