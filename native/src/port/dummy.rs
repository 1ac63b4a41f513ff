//! Dummy port (OVS's netdev-dummy): a port with no kernel device. JS
//! injects frames as if the port had received them, and they take the same
//! path as any port's (poll loop, key extraction, caches, classifier,
//! upcalls, actions); the frames the switch sends out of it are kept in a
//! bounded queue for JS to read. It needs no privilege, which makes it the
//! hermetic path for tests and for users' own CI.

use super::queue::FrameQueue;
use super::{PortIo, PortStats};
use crate::packet::{Packet, VnetHdr};
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;

/// Injected frames waiting for the poll loop, per port.
pub const INJECT_QUEUE_FRAMES: usize = 1024;
/// Sent frames kept for JS, per port; more are counted as tx_dropped.
pub const CAPTURE_FRAMES: usize = 4096;

pub struct DummyPort {
    injected: FrameQueue,
    captured: VecDeque<Vec<u8>>,
    capture_limit: usize,
    /// JS has been told of the frames captured since it last took them.
    noticed: bool,
}

impl DummyPort {
    pub fn open() -> io::Result<Self> {
        Self::with_limits(INJECT_QUEUE_FRAMES, CAPTURE_FRAMES)
    }

    fn with_limits(inject: usize, capture: usize) -> io::Result<Self> {
        Ok(DummyPort {
            injected: FrameQueue::new(inject)?,
            captured: VecDeque::new(),
            capture_limit: capture,
            noticed: false,
        })
    }

    /// Queue frames to be received on the port; returns how many fitted.
    pub fn inject(&self, frames: &[&[u8]]) -> usize {
        self.injected.push(frames.iter().map(|f| (*f, VnetHdr::default())))
    }

    /// The frames sent out of the port since the last call, oldest first.
    pub fn take_transmitted(&mut self) -> Vec<Vec<u8>> {
        self.noticed = false;
        self.captured.drain(..).collect()
    }

    /// True once for each run of captured frames JS has not been told of
    /// (until it takes them): the datapath then tells JS, which is how a
    /// waiter learns of frames without polling.
    pub fn take_notice(&mut self) -> bool {
        if self.noticed || self.captured.is_empty() {
            return false;
        }
        self.noticed = true;
        true
    }
}

impl PortIo for DummyPort {
    fn fd(&self) -> RawFd {
        self.injected.fd()
    }

    fn ifindex(&self) -> u32 {
        0
    }

    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        self.injected.receive(pkts, stats)
    }

    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats) {
        for pkt in pkts {
            if self.captured.len() == self.capture_limit {
                stats.tx_dropped += 1;
                continue;
            }
            self.captured.push_back(pkt.frame().to_vec());
            stats.tx_packets += 1;
            stats.tx_bytes += pkt.len() as u64;
        }
    }

    fn as_dummy(&mut self) -> Option<&mut DummyPort> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::queue::tests::readable;

    #[test]
    fn injected_frames_wake_its_fd_and_are_received_in_order() {
        let mut port = DummyPort::open().unwrap();
        let mut pkts: Vec<Packet> = (0..4).map(|_| Packet::new()).collect();
        let mut stats = PortStats::default();
        assert_eq!(port.inject(&[&[1; 60], &[2; 70]]), 2);
        assert!(readable(port.fd()));
        assert_eq!(port.recv_burst(&mut pkts, &mut stats), 2);
        assert_eq!((pkts[0].frame(), pkts[1].frame()), (&[1u8; 60][..], &[2u8; 70][..]));
        assert!(!readable(port.fd()));
        assert_eq!((stats.rx_packets, stats.rx_bytes), (2, 130));
    }

    #[test]
    fn counts_what_overflows_its_queues() {
        let mut port = DummyPort::with_limits(2, 3).unwrap();
        assert_eq!(port.inject(&[&[0; 60], &[0; 60], &[0; 60]]), 2, "the injection queue holds 2");
        let frames: Vec<Packet> = (0..5u8).map(|i| Packet::from_frame(&[i; 60])).collect();
        let mut stats = PortStats::default();
        port.send_burst(&frames.iter().collect::<Vec<_>>(), &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_dropped, stats.tx_bytes), (3, 2, 180));
        assert_eq!(port.take_transmitted(), vec![vec![0u8; 60], vec![1; 60], vec![2; 60]]);
        port.send_burst(&[&frames[4]], &mut stats);
        assert_eq!((stats.tx_packets, stats.tx_dropped), (4, 2), "taking the frames made room");
    }

    #[test]
    fn gives_one_notice_per_run_of_frames_until_they_are_taken() {
        let mut port = DummyPort::open().unwrap();
        let mut stats = PortStats::default();
        let frame = Packet::from_frame(&[7; 60]);
        assert!(!port.take_notice(), "nothing sent yet");
        port.send_burst(&[&frame], &mut stats);
        assert!(port.take_notice());
        port.send_burst(&[&frame], &mut stats);
        assert!(!port.take_notice(), "JS has not taken the first frames yet");
        assert_eq!(port.take_transmitted().len(), 2);
        assert!(!port.take_notice(), "nothing new");
        port.send_burst(&[&frame], &mut stats);
        assert!(port.take_notice());
    }
}
