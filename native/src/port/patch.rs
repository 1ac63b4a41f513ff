//! Patch port: one end of a pair that joins two bridges inside the
//! datapath (OVS's `type=patch` with `options:peer=`). A frame sent out of
//! one end is queued on the other and received there in a later round of
//! the poll loop, looked up as any frame received on that port: never by
//! recursion inside the send. No kernel device, no privilege.
//!
//! The two ends must name each other. Until the peer exists (or while it
//! names another port) frames sent out of this end are counted as
//! tx_dropped; removing one end leaves the other waiting for it.

use super::queue::FrameQueue;
use super::{PortIo, PortStats};
use crate::packet::Packet;
use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

/// Frames waiting on a patch port for the poll loop; more are counted as
/// the sending end's tx_dropped.
pub const QUEUE_FRAMES: usize = 1024;

/// The patch ports of one datapath by name, so that an end finds its peer's
/// queue when it sends.
#[derive(Default)]
pub struct PatchRegistry {
    ends: Mutex<HashMap<String, End>>,
}

struct End {
    peer: String,
    queue: Arc<FrameQueue>,
}

impl PatchRegistry {
    /// The queue of port `name` if it is a patch port whose peer is `peer`.
    fn queue_of(&self, name: &str, peer: &str) -> Option<Arc<FrameQueue>> {
        let ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.get(name).filter(|e| e.peer == peer).map(|e| Arc::clone(&e.queue))
    }
}

pub struct PatchPort {
    name: String,
    peer: String,
    queue: Arc<FrameQueue>,
    registry: Arc<PatchRegistry>,
}

impl PatchPort {
    pub fn open(name: &str, peer: &str, registry: &Arc<PatchRegistry>) -> io::Result<Self> {
        if peer.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("patch port \"{name}\" needs a peer: the name of the patch port it joins"),
            ));
        }
        if peer == name {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("patch port \"{name}\" cannot be its own peer: name the port at the other end"),
            ));
        }
        let queue = Arc::new(FrameQueue::new(QUEUE_FRAMES)?);
        let mut ends = registry.ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.insert(name.to_string(), End { peer: peer.to_string(), queue: Arc::clone(&queue) });
        Ok(PatchPort { name: name.to_string(), peer: peer.to_string(), queue, registry: Arc::clone(registry) })
    }
}

impl Drop for PatchPort {
    fn drop(&mut self) {
        self.registry.ends.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.name);
    }
}

impl PortIo for PatchPort {
    fn fd(&self) -> RawFd {
        self.queue.fd()
    }

    fn ifindex(&self) -> u32 {
        0
    }

    fn recv_burst(&mut self, pkts: &mut [Packet], stats: &mut PortStats) -> usize {
        self.queue.receive(pkts, stats)
    }

    fn send_burst(&mut self, pkts: &[&Packet], stats: &mut PortStats) {
        let sent = match self.registry.queue_of(&self.peer, &self.name) {
            Some(peer) => peer.push(pkts.iter().map(|p| (p.frame(), p.vnet))),
            None => 0,
        };
        stats.tx_packets += sent as u64;
        stats.tx_bytes += pkts[..sent].iter().map(|p| p.len() as u64).sum::<u64>();
        stats.tx_dropped += (pkts.len() - sent) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::queue::tests::readable;

    fn send(port: &mut PatchPort, frames: &[&[u8]]) -> PortStats {
        let pkts: Vec<Packet> = frames.iter().map(|f| Packet::from_frame(f)).collect();
        let mut stats = PortStats::default();
        port.send_burst(&pkts.iter().collect::<Vec<_>>(), &mut stats);
        stats
    }

    #[test]
    fn a_frame_sent_out_of_one_end_waits_on_the_other() {
        let reg = Arc::new(PatchRegistry::default());
        let mut a = PatchPort::open("a", "b", &reg).unwrap();
        let mut b = PatchPort::open("b", "a", &reg).unwrap();
        let s = send(&mut a, &[&[5; 60], &[6; 64]]);
        assert_eq!((s.tx_packets, s.tx_bytes, s.tx_dropped), (2, 124, 0));
        assert!(readable(b.fd()) && !readable(a.fd()));
        let mut pkts: Vec<Packet> = (0..4).map(|_| Packet::new()).collect();
        let mut rx = PortStats::default();
        assert_eq!(b.recv_burst(&mut pkts, &mut rx), 2);
        assert_eq!((pkts[0].frame(), pkts[1].frame()), (&[5u8; 60][..], &[6u8; 64][..]));
        assert_eq!((rx.rx_packets, rx.rx_bytes), (2, 124));
    }

    #[test]
    fn drops_until_the_peer_exists_and_after_it_goes() {
        let reg = Arc::new(PatchRegistry::default());
        let mut a = PatchPort::open("a", "b", &reg).unwrap();
        assert_eq!(send(&mut a, &[&[1; 60]]).tx_dropped, 1, "no peer yet");
        let other = PatchPort::open("b", "c", &reg).unwrap();
        assert_eq!(send(&mut a, &[&[1; 60]]).tx_dropped, 1, "b's peer is c, not a");
        drop(other);
        let b = PatchPort::open("b", "a", &reg).unwrap();
        assert_eq!(send(&mut a, &[&[1; 60]]).tx_packets, 1);
        drop(b);
        assert_eq!(send(&mut a, &[&[1; 60]]).tx_dropped, 1, "b was removed");
    }

    #[test]
    fn counts_frames_beyond_the_peers_queue_as_dropped() {
        let reg = Arc::new(PatchRegistry::default());
        let mut a = PatchPort::open("a", "b", &reg).unwrap();
        let _b = PatchPort::open("b", "a", &reg).unwrap();
        let frames = vec![&[0u8; 60][..]; QUEUE_FRAMES + 3];
        let s = send(&mut a, &frames);
        assert_eq!((s.tx_packets, s.tx_dropped), (QUEUE_FRAMES as u64, 3));
    }

    #[test]
    fn refuses_a_missing_or_circular_peer() {
        let reg = Arc::new(PatchRegistry::default());
        assert!(PatchPort::open("a", "", &reg).err().unwrap().to_string().contains("needs a peer"));
        assert!(PatchPort::open("a", "a", &reg).err().unwrap().to_string().contains("cannot be its own peer"));
    }
}
