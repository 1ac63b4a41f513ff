//! The measurement behind the tunnel vports' underlay (README, "Tunnels"):
//! how many VXLAN datagrams carrying 64-byte inner frames one core sends
//! through the host's IP stack (a raw IPPROTO_UDP socket: we write UDP and
//! VXLAN, the kernel routes and adds the IP header, as `port/tunnel.rs`
//! does) versus whole frames written onto the underlay device through
//! AF_PACKET (which would need route and neighbour resolution of our own),
//! and how many a UDP socket bound to the port receives, one datagram per
//! buffer or, with `gro`, as UDP GRO coalesces them (what vports ask for).
//!
//! usage: tvs-tunnel-bench socket DST_IP PORT SECONDS
//!        tvs-tunnel-bench packet IFACE DST_MAC SRC_MAC SRC_IP DST_IP PORT SECONDS
//!        tvs-tunnel-bench recv PORT SECONDS [gro]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const BATCH: usize = 64;
const INNER: usize = 64;

fn fail(msg: &str) -> ! {
    eprintln!("tvs-tunnel-bench: {msg}");
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or_else(|| fail(&format!("bad or missing {what}")))
}

fn mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, part) in s.split(':').enumerate().take(6) {
        m[i] = u8::from_str_radix(part, 16).unwrap_or_else(|_| fail(&format!("bad MAC address \"{s}\"")));
    }
    m
}

/// UDP header + VXLAN header + a 64-byte inner Ethernet frame.
fn vxlan_datagram(port: u16) -> Vec<u8> {
    let mut d = vec![0u8; 8 + 8 + INNER];
    d[0..2].copy_from_slice(&49152u16.to_be_bytes());
    d[2..4].copy_from_slice(&port.to_be_bytes());
    let len = d.len() as u16;
    d[4..6].copy_from_slice(&len.to_be_bytes());
    d[8] = 0x08;
    d[14] = 5;
    d[16 + 12..16 + 14].copy_from_slice(&0x0800u16.to_be_bytes());
    d
}

fn check(r: libc::c_int, what: &str) -> libc::c_int {
    if r < 0 {
        fail(&format!("{what}: {}", io::Error::last_os_error()));
    }
    r
}

/// sendmmsg `msg` (with its destination, if any) in batches until `secs` pass; returns datagrams sent.
fn blast(fd: libc::c_int, msg: &[u8], dst: Option<&libc::sockaddr_in>, secs: u64) -> u64 {
    // SAFETY: all-zero iovecs and mmsghdrs are valid values.
    let mut iov: [libc::iovec; BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
    for i in 0..BATCH {
        iov[i] = libc::iovec { iov_base: msg.as_ptr() as *mut _, iov_len: msg.len() };
        msgs[i].msg_hdr.msg_iov = &mut iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        if let Some(d) = dst {
            msgs[i].msg_hdr.msg_name = d as *const _ as *mut _;
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as u32;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        // SAFETY: the messages point at `msg`, `iov` and `dst`, alive for the call.
        let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), BATCH as u32, 0) };
        if r > 0 {
            sent += r as u64;
        }
    }
    sent
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> libc::c_int {
    // SAFETY: plain socket(2).
    check(unsafe { libc::socket(domain, ty, proto) }, "socket")
}

fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut a: libc::sockaddr_in = unsafe { zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_addr.s_addr = u32::from_ne_bytes(ip.octets());
    a.sin_port = port.to_be();
    a
}

/// How many datagrams one received buffer holds: its length over the UDP
/// GRO segment size in its control message, or 1 without one.
fn datagrams_in(m: &libc::mmsghdr) -> u64 {
    let len = m.msg_len as u64;
    // SAFETY: the kernel filled this msghdr's control buffer, which is ours
    // and alive; CMSG_FIRSTHDR/NXTHDR stay inside it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
        while !c.is_null() {
            if (*c).cmsg_level == 17 && (*c).cmsg_type == libc::UDP_GRO {
                let seg = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::c_int) as u64;
                return len.div_ceil(seg.max(1));
            }
            c = libc::CMSG_NXTHDR(&m.msg_hdr, c);
        }
    }
    1
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (sent, secs) = match args.get(1).map(String::as_str) {
        Some("socket") => {
            let (dst, port, secs): (Ipv4Addr, u16, u64) =
                (arg(&args, 2, "DST_IP"), arg(&args, 3, "PORT"), arg(&args, 4, "SECONDS"));
            let fd = socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_UDP);
            (blast(fd, &vxlan_datagram(port), Some(&sockaddr(dst, 0)), secs), secs)
        }
        Some("packet") => {
            let iface = std::ffi::CString::new(args.get(2).cloned().unwrap_or_default()).expect("no NUL");
            let (src, dst, port, secs): (Ipv4Addr, Ipv4Addr, u16, u64) =
                (arg(&args, 5, "SRC_IP"), arg(&args, 6, "DST_IP"), arg(&args, 7, "PORT"), arg(&args, 8, "SECONDS"));
            let mut f = mac(args.get(3).map_or("", String::as_str)).to_vec();
            f.extend_from_slice(&mac(args.get(4).map_or("", String::as_str)));
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            let udp = vxlan_datagram(port);
            let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
            ip[2..4].copy_from_slice(&((20 + udp.len()) as u16).to_be_bytes());
            ip.extend_from_slice(&src.octets());
            ip.extend_from_slice(&dst.octets());
            let mut sum: u32 = ip.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]) as u32).sum();
            sum = (sum & 0xffff) + (sum >> 16);
            ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            f.extend_from_slice(&ip);
            f.extend_from_slice(&udp);
            let fd = socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            // SAFETY: all-zero is a valid sockaddr_ll; the name is NUL-terminated.
            let mut ll: libc::sockaddr_ll = unsafe { zeroed() };
            ll.sll_family = libc::AF_PACKET as u16;
            // SAFETY: `iface` is a NUL-terminated string.
            ll.sll_ifindex = unsafe { libc::if_nametoindex(iface.as_ptr()) } as i32;
            // SAFETY: `ll` is a live sockaddr_ll of the length passed.
            let r = unsafe {
                libc::bind(fd, &ll as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_ll>() as u32)
            };
            check(r, "bind to the interface");
            (blast(fd, &f, None, secs), secs)
        }
        Some("recv") => {
            let (port, secs): (u16, u64) = (arg(&args, 2, "PORT"), arg(&args, 3, "SECONDS"));
            let fd = socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
            let a = sockaddr(Ipv4Addr::UNSPECIFIED, port);
            // SAFETY: `a` is a live sockaddr_in of the length passed.
            let r = unsafe {
                libc::bind(fd, &a as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_in>() as u32)
            };
            check(r, "bind to the port");
            let tv = libc::timeval { tv_sec: 0, tv_usec: 100_000 };
            // SAFETY: `tv` is a live timeval of the length passed.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &tv as *const _ as *const _,
                    size_of::<libc::timeval>() as u32,
                )
            };
            let gro = args.get(4).map(String::as_str) == Some("gro");
            if gro {
                // SAFETY: a live c_int of the length passed; level 17 is SOL_UDP.
                let r = unsafe {
                    libc::setsockopt(
                        fd,
                        17,
                        libc::UDP_GRO,
                        &1 as *const libc::c_int as *const _,
                        size_of::<libc::c_int>() as u32,
                    )
                };
                check(r, "UDP_GRO");
            }
            // A coalesced read is up to 64 KiB.
            let mut bufs = vec![vec![0u8; 65536]; BATCH];
            let mut control = [[0u64; 8]; BATCH];
            // SAFETY: all-zero iovecs and mmsghdrs are valid values.
            let mut iov: [libc::iovec; BATCH] = unsafe { zeroed() };
            // SAFETY: as above.
            let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
            for i in 0..BATCH {
                iov[i] = libc::iovec { iov_base: bufs[i].as_mut_ptr() as *mut _, iov_len: bufs[i].len() };
                msgs[i].msg_hdr.msg_iov = &mut iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut got = 0u64;
            while Instant::now() < deadline {
                for i in 0..BATCH {
                    msgs[i].msg_hdr.msg_control = control[i].as_mut_ptr() as *mut _;
                    msgs[i].msg_hdr.msg_controllen = size_of::<[u64; 8]>();
                }
                // SAFETY: the messages point at `bufs`, `iov` and `control`, alive for the call.
                let r = unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), BATCH as u32, 0, std::ptr::null_mut()) };
                for m in &msgs[..r.max(0) as usize] {
                    got += datagrams_in(m);
                }
            }
            (got, secs)
        }
        _ => fail("usage: tvs-tunnel-bench socket|packet|recv ... (see the source's header)"),
    };
    println!("{} datagrams in {} s: {} per second", sent, secs, sent / secs.max(1));
}
