//! Linux interfaces that Debian's `libc` 0.2.139 does not define, and the
//! small ioctl helpers the ports share.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

// linux/if_tun.h
pub const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
pub const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
pub const IFF_TAP: libc::c_short = 0x0002;
pub const IFF_NO_PI: libc::c_short = 0x1000;
pub const IFF_VNET_HDR: libc::c_short = 0x4000;
pub const TUN_F_CSUM: libc::c_uint = 0x01;
pub const TUN_F_TSO4: libc::c_uint = 0x02;
pub const TUN_F_TSO6: libc::c_uint = 0x04;
pub const TUN_F_TSO_ECN: libc::c_uint = 0x08;

// linux/if_packet.h
pub const SOL_PACKET: libc::c_int = 263;
pub const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
pub const PACKET_STATISTICS: libc::c_int = 6;
pub const PACKET_AUXDATA: libc::c_int = 8;
pub const PACKET_MR_PROMISC: libc::c_ushort = 1;
pub const PACKET_VNET_HDR: libc::c_int = 15;
pub const PACKET_QDISC_BYPASS: libc::c_int = 20;
pub const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
pub const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
pub const ETH_P_ALL: u16 = 0x0003;
pub const ETH_P_8021Q: u16 = 0x8100;

// linux/sockios.h
const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
const SIOCSIFFLAGS: libc::c_ulong = 0x8914;
const SIOCGIFMTU: libc::c_ulong = 0x8921;
const SIOCSIFMTU: libc::c_ulong = 0x8922;
const SIOCSIFHWADDR: libc::c_ulong = 0x8924;
const SIOCGIFINDEX: libc::c_ulong = 0x8933;
const ARPHRD_ETHER: u16 = 1;

/// Longest interface name the kernel accepts (IFNAMSIZ less the NUL).
pub const IFNAME_MAX: usize = 15;

/// `struct packet_mreq`
#[repr(C)]
pub struct PacketMreq {
    pub mr_ifindex: libc::c_int,
    pub mr_type: libc::c_ushort,
    pub mr_alen: libc::c_ushort,
    pub mr_address: [u8; 8],
}

/// `struct ifreq`: the name, then a union of which we use flags, an int,
/// or a sockaddr.
#[repr(C)]
pub struct IfReq {
    pub name: [u8; 16],
    pub data: [u8; 24],
}

impl IfReq {
    pub fn new(name: &str) -> io::Result<Self> {
        check_ifname(name)?;
        let mut req = IfReq { name: [0; 16], data: [0; 24] };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        Ok(req)
    }
    pub fn set_short(&mut self, v: libc::c_short) {
        self.data[..2].copy_from_slice(&v.to_ne_bytes());
    }
    pub fn short(&self) -> libc::c_short {
        libc::c_short::from_ne_bytes([self.data[0], self.data[1]])
    }
    pub fn set_int(&mut self, v: libc::c_int) {
        self.data[..4].copy_from_slice(&v.to_ne_bytes());
    }
    pub fn int(&self) -> libc::c_int {
        libc::c_int::from_ne_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
    }
}

/// Reject names the kernel would truncate or refuse, before any syscall.
pub fn check_ifname(name: &str) -> io::Result<()> {
    if name.is_empty() || name.len() > IFNAME_MAX || name.contains(['/', ' ', '\0']) || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid interface name \"{name}\": names are 1 to {IFNAME_MAX} bytes, without '/' or spaces"),
        ));
    }
    Ok(())
}

/// Turn -1 from a libc call into the errno as an io::Error.
pub fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// An AF_INET datagram socket: the handle SIOC* interface ioctls go through.
fn control_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned by the OwnedFd immediately.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd is a fresh, valid descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Run one interface ioctl on `req`.
pub fn ifreq_ioctl(fd: RawFd, request: libc::c_ulong, req: &mut IfReq) -> io::Result<()> {
    // SAFETY: `req` is a valid, writable struct ifreq of the kernel's size.
    cvt(unsafe { libc::ioctl(fd, request as _, req as *mut IfReq) }).map(|_| ())
}

fn if_ioctl(name: &str, request: libc::c_ulong, fill: impl FnOnce(&mut IfReq)) -> io::Result<IfReq> {
    let sock = control_socket()?;
    let mut req = IfReq::new(name)?;
    fill(&mut req);
    ifreq_ioctl(sock.as_raw_fd(), request, &mut req)?;
    Ok(req)
}

pub fn ifindex(name: &str) -> io::Result<u32> {
    Ok(if_ioctl(name, SIOCGIFINDEX, |_| {})?.int() as u32)
}

pub fn set_up(name: &str) -> io::Result<()> {
    let flags = if_ioctl(name, SIOCGIFFLAGS, |_| {})?.short();
    if flags & libc::IFF_UP as libc::c_short == 0 {
        if_ioctl(name, SIOCSIFFLAGS, |r| r.set_short(flags | libc::IFF_UP as libc::c_short))?;
    }
    Ok(())
}

pub fn mtu(name: &str) -> io::Result<u32> {
    Ok(if_ioctl(name, SIOCGIFMTU, |_| {})?.int() as u32)
}

pub fn set_mtu(name: &str, mtu: u32) -> io::Result<()> {
    if_ioctl(name, SIOCSIFMTU, |r| r.set_int(mtu as libc::c_int)).map(|_| ())
}

pub fn set_mac(name: &str, mac: [u8; 6]) -> io::Result<()> {
    if_ioctl(name, SIOCSIFHWADDR, |r| {
        r.data[..2].copy_from_slice(&ARPHRD_ETHER.to_ne_bytes());
        r.data[2..8].copy_from_slice(&mac);
    })
    .map(|_| ())
}

pub fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live T of exactly the length we pass.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

pub fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// A memory mapping (a socket's ring, or anonymous memory when `fd` is -1),
/// unmapped on drop.
pub struct Mapping {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Mapping {
    pub fn new(len: usize, fd: RawFd, offset: libc::off_t) -> io::Result<Self> {
        let flags = if fd < 0 { libc::MAP_PRIVATE | libc::MAP_ANONYMOUS } else { libc::MAP_SHARED };
        // SAFETY: a fresh mapping that aliases nothing we own.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags | libc::MAP_POPULATE,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: ptr as *mut u8, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// Hands the allocator's free memory back to the kernel. glibc keeps freed
/// memory in its arenas (and, after large frees, raises its mmap threshold so
/// that later large blocks come from the arenas too): after a flood of flows
/// has expired, the daemon's RSS stays at the flood's peak until this runs.
/// Returns whether any memory was released.
pub fn trim_malloc() -> bool {
    // SAFETY: malloc_trim takes no pointers and is safe to call from any
    // thread at any time; it only takes the allocator's own locks.
    unsafe { libc::malloc_trim(0) == 1 }
}
