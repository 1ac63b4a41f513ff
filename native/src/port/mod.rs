//! Port providers: each kind of port is one implementation of [`PortIo`], so
//! a new kind is one new file, not edits across the datapath.

pub mod afpacket;
pub mod dummy;
mod gro;
mod gso;
pub mod patch;
mod queue;
mod ring;
pub mod tap;
pub mod tunnel;
mod xsk_tx;

use crate::packet::Packet;
use dummy::DummyPort;
use std::io;
use std::os::fd::RawFd;

/// Frames moved per receive or send call.
pub const BURST: usize = 32;

/// The I/O side of a port, driven by the datapath's poll loop.
pub trait PortIo: Send {
    /// Descriptor to watch for readability; it may change after [`PortIo::reattach`].
    fn fd(&self) -> RawFd;
    /// Receive up to `pkts.len()` frames into `pkts`; Ok(0) when none is waiting.
    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize;
    /// Send the frames; those the kernel would not take are counted as dropped.
    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats);
    /// True when the underlying device went away and the port waits for it.
    fn detached(&self) -> bool {
        false
    }
    /// Periodic work of the provider, every half second or so.
    fn upkeep(&mut self) {}
    /// Try to bind again to a device of the same name; Ok(true) when the port
    /// is back (with a possibly new [`PortIo::fd`]).
    fn reattach(&mut self) -> io::Result<bool> {
        Ok(false)
    }
    /// Kernel interface index, 0 when unknown.
    fn ifindex(&self) -> u32;
    /// Frames the kernel dropped before we could read them since the last
    /// call (a full receive ring).
    fn take_kernel_drops(&mut self) -> u64 {
        0
    }
    /// Frames the port answered to the senders of frames it could not send
    /// (an ICMP "fragmentation needed"), each to go out of its `in_port`.
    fn take_replies(&mut self) -> Vec<Packet> {
        Vec::new()
    }
    /// The port as a dummy port, whose frames JS injects and reads; None
    /// for ports with a device.
    fn as_dummy(&mut self) -> Option<&mut DummyPort> {
        None
    }
}

/// Per-port counters, as `ovs-dpctl show -s` reports them.
#[derive(Clone, Copy, Default, Debug)]
pub struct PortStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_dropped: u64,
    pub rx_errors: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_dropped: u64,
    pub tx_errors: u64,
}

/// Errors that close a receive or send path for good until reattached.
pub fn is_device_gone(errno: i32) -> bool {
    matches!(errno, libc::ENETDOWN | libc::ENXIO | libc::ENODEV)
}
