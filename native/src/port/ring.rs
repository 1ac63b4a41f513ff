//! TPACKET_V2 receive ring: the kernel writes each frame into a slot of a
//! memory map shared with us and flags it ready, so a burst costs no system
//! call, and each frame wakes the poll loop at once (TPACKET_V3's block
//! retire timer added about 0.6 ms to every ping here).
//!
//! Slots hold ordinary frames. A GSO super-frame does not fit: with
//! PACKET_COPY_THRESH the kernel flags its slot TP_STATUS_COPY and queues
//! the whole frame on the socket, where recvmsg picks it up in order.

use crate::packet::{Packet, VnetHdr};
use crate::sys::{self, Mapping};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::RawFd;
use std::sync::atomic::{fence, Ordering};

const PACKET_RX_RING: libc::c_int = 5;
const PACKET_COPY_THRESH: libc::c_int = 7;
const PACKET_VERSION: libc::c_int = 10;
const TPACKET_V2: libc::c_int = 1;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_COPY: u32 = 1 << 1;

/// A slot: the 32-byte tpacket2_hdr, padding, the vnet header and a full
/// 1500-byte-MTU frame with two VLAN tags.
const FRAME_SIZE: u32 = 2048;
const BLOCK_SIZE: u32 = 1 << 16;
const BLOCK_NR: u32 = 32;
const FRAMES_PER_BLOCK: u32 = BLOCK_SIZE / FRAME_SIZE;
const FRAME_NR: u32 = FRAMES_PER_BLOCK * BLOCK_NR;

// Offsets in `struct tpacket2_hdr`.
const HDR_STATUS: usize = 0;
const HDR_LEN: usize = 4;
const HDR_SNAPLEN: usize = 8;
const HDR_MAC: usize = 12;
const HDR_VLAN_TCI: usize = 24;
const HDR_VLAN_TPID: usize = 26;

/// `struct tpacket_req`
#[repr(C)]
struct TpacketReq {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
}

/// `struct tpacket_auxdata`: the copy path's out-of-band metadata.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TpacketAuxdata {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}

/// What the kernel says of one frame besides its bytes.
#[derive(Clone, Copy, Default)]
pub struct RingMeta {
    pub status: u32,
    pub vlan_tci: u16,
    pub vlan_tpid: u16,
}

pub struct RxRing {
    map: Mapping,
    next: u32,
}

// SAFETY: the mapping is owned by this struct and used by one thread at a time.
unsafe impl Send for RxRing {}

/// Why a frame was not delivered.
pub enum Skipped {
    /// Cut short: the kernel had no room to queue the whole frame.
    Truncated,
}

impl RxRing {
    /// Set up the ring on a packet socket that has PACKET_VNET_HDR set and is not bound yet.
    pub fn new(fd: RawFd) -> io::Result<RxRing> {
        let one: libc::c_int = 1;
        sys::setsockopt(fd, sys::SOL_PACKET, PACKET_VERSION, &TPACKET_V2)?;
        sys::setsockopt(fd, sys::SOL_PACKET, PACKET_COPY_THRESH, &one)?;
        sys::setsockopt(fd, sys::SOL_PACKET, sys::PACKET_AUXDATA, &one)?;
        let req = TpacketReq {
            tp_block_size: BLOCK_SIZE,
            tp_block_nr: BLOCK_NR,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: FRAME_NR,
        };
        sys::setsockopt(fd, sys::SOL_PACKET, PACKET_RX_RING, &req)?;
        // The ring the kernel just allocated for this socket.
        let map = Mapping::new((BLOCK_SIZE * BLOCK_NR) as usize, fd, 0)?;
        Ok(RxRing { map, next: 0 })
    }

    /// The slot the next frame arrives in.
    fn next_slot(&self) -> *mut u8 {
        let i = self.next;
        let off = (i / FRAMES_PER_BLOCK) * BLOCK_SIZE + (i % FRAMES_PER_BLOCK) * FRAME_SIZE;
        // SAFETY: `next` stays below FRAME_NR (`recv` wraps it), so the slot
        // lies inside the mapping of BLOCK_NR blocks.
        unsafe { self.map.ptr.add(off as usize) }
    }

    /// A field of a slot's header, which the kernel writes too.
    ///
    /// # Safety
    /// `slot` must be a slot of a live ring and `off` one of the `HDR_*`
    /// offsets of a 4-byte field.
    unsafe fn read_u32(slot: *const u8, off: usize) -> u32 {
        // SAFETY: the caller's promise puts the aligned field inside the mapping.
        unsafe { std::ptr::read_volatile(slot.add(off) as *const u32) }
    }

    /// As [`RxRing::read_u32`], for a 2-byte field.
    ///
    /// # Safety
    /// As for [`RxRing::read_u32`], with the offset of a 2-byte field.
    unsafe fn read_u16(slot: *const u8, off: usize) -> u16 {
        // SAFETY: the caller's promise puts the aligned field inside the mapping.
        unsafe { std::ptr::read_volatile(slot.add(off) as *const u16) }
    }

    /// Take up to `pkts.len()` frames; `meta[i]` describes `pkts[i]`.
    /// `skipped` is called for each frame that could not be delivered.
    pub fn recv(
        &mut self,
        fd: RawFd,
        pkts: &mut [Packet],
        meta: &mut [RingMeta],
        mut skipped: impl FnMut(Skipped),
    ) -> usize {
        let mut n = 0;
        while n < pkts.len() {
            let slot = self.next_slot();
            // SAFETY: a slot of this ring, and the offset of its status field.
            let status = unsafe { Self::read_u32(slot, HDR_STATUS) };
            if status & TP_STATUS_USER == 0 {
                break;
            }
            fence(Ordering::Acquire);
            let delivered = if status & TP_STATUS_COPY != 0 {
                recv_queued(fd, &mut pkts[n], &mut meta[n])
            } else {
                // SAFETY: a slot of this ring, which the kernel has handed to us (TP_STATUS_USER).
                unsafe { Self::copy_slot(slot, status, &mut pkts[n], &mut meta[n]) }
            };
            if delivered {
                n += 1;
            } else {
                skipped(Skipped::Truncated);
            }
            fence(Ordering::Release);
            // SAFETY: hands the slot we own back to the kernel.
            unsafe { std::ptr::write_volatile(slot as *mut u32, TP_STATUS_KERNEL) };
            self.next = (self.next + 1) % FRAME_NR;
        }
        n
    }

    /// Copy the frame in `slot` into `pkt`; false when it was cut short.
    ///
    /// # Safety
    /// `slot` must be a slot of a live ring that the kernel has handed to
    /// user space (its status has TP_STATUS_USER).
    unsafe fn copy_slot(slot: *const u8, status: u32, pkt: &mut Packet, meta: &mut RingMeta) -> bool {
        // SAFETY: a slot of a live ring (the caller's promise) and offsets of its header's fields.
        let (len, snaplen, mac) = unsafe {
            (
                Self::read_u32(slot, HDR_LEN) as usize,
                Self::read_u32(slot, HDR_SNAPLEN) as usize,
                Self::read_u16(slot, HDR_MAC) as usize,
            )
        };
        if snaplen != len || mac < VnetHdr::SIZE || mac + snaplen > FRAME_SIZE as usize {
            return false;
        }
        let mut vnet = [0u8; VnetHdr::SIZE];
        // SAFETY: the vnet header and the frame lie inside the slot (checked above).
        let frame = unsafe {
            std::ptr::copy_nonoverlapping(slot.add(mac - VnetHdr::SIZE), vnet.as_mut_ptr(), VnetHdr::SIZE);
            std::slice::from_raw_parts(slot.add(mac), snaplen)
        };
        pkt.receive_area()[..frame.len()].copy_from_slice(frame);
        pkt.set_received(frame.len());
        pkt.vnet = VnetHdr::from_bytes(&vnet);
        // SAFETY: as for the fields read above.
        let (vlan_tci, vlan_tpid) =
            unsafe { (Self::read_u16(slot, HDR_VLAN_TCI), Self::read_u16(slot, HDR_VLAN_TPID)) };
        *meta = RingMeta { status, vlan_tci, vlan_tpid };
        true
    }
}

/// Read the whole frame the kernel queued on the socket for a TP_STATUS_COPY slot.
fn recv_queued(fd: RawFd, pkt: &mut Packet, meta: &mut RingMeta) -> bool {
    let mut vnet = [0u8; VnetHdr::SIZE];
    let mut cmsg = [0u64; 8];
    let area = pkt.receive_area();
    let mut iov = [
        libc::iovec { iov_base: vnet.as_mut_ptr() as *mut _, iov_len: VnetHdr::SIZE },
        libc::iovec { iov_base: area.as_mut_ptr() as *mut _, iov_len: area.len() },
    ];
    // SAFETY: all-zero msghdr is valid; the fields we use are set below.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = 2;
    msg.msg_control = cmsg.as_mut_ptr() as *mut _;
    msg.msg_controllen = size_of::<[u64; 8]>();
    // SAFETY: msg points at live buffers for the duration of the call.
    let got = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if got < (VnetHdr::SIZE + 14) as isize || msg.msg_flags & libc::MSG_TRUNC != 0 {
        return false;
    }
    pkt.set_received(got as usize - VnetHdr::SIZE);
    pkt.vnet = VnetHdr::from_bytes(&vnet);
    let aux = auxdata(&msg).unwrap_or_default();
    *meta = RingMeta { status: aux.tp_status, vlan_tci: aux.tp_vlan_tci, vlan_tpid: aux.tp_vlan_tpid };
    true
}

/// The PACKET_AUXDATA control message of a received frame, if present.
fn auxdata(hdr: &libc::msghdr) -> Option<TpacketAuxdata> {
    // SAFETY: hdr came back from recvmsg with msg_control/msg_controllen
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
