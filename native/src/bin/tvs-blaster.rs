//! Small-frame generator for the benchmark: blasts UDP frames out of an
//! interface with sendmmsg as fast as one core allows, optionally cycling
//! through many 5-tuples (to measure flow setup), and reports what it sent.
//!
//! usage: tvs-blaster IFACE DST_MAC SRC_MAC SECONDS [FLOWS] [SIZE]

use std::io;
use std::mem::{size_of, zeroed};
use std::time::{Duration, Instant};

const BATCH: usize = 64;

fn mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, part) in s.split(':').enumerate().take(6) {
        m[i] = u8::from_str_radix(part, 16).unwrap_or_else(|_| fail(&format!("bad MAC address \"{s}\"")));
    }
    m
}

fn fail(msg: &str) -> ! {
    eprintln!("tvs-blaster: {msg}");
    std::process::exit(2)
}

/// A UDP/IPv4 frame of `size` bytes (without FCS) for flow number `flow`.
fn frame(dst: [u8; 6], src: [u8; 6], flow: u32, size: usize) -> Vec<u8> {
    let mut f = vec![0u8; size.max(60)];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (f.len() - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 200, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 200, 0, 2]);
    let mut sum: u32 = 0;
    for i in (0..20).step_by(2) {
        sum += u16::from_be_bytes([ip[i], ip[i + 1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    // Distinct flows differ in their UDP ports.
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&(1024 + (flow >> 16) as u16).to_be_bytes());
    udp[2..4].copy_from_slice(&((flow & 0xffff) as u16).to_be_bytes());
    udp[4..6].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        fail("usage: tvs-blaster IFACE DST_MAC SRC_MAC SECONDS [FLOWS] [SIZE]");
    }
    let iface = &args[1];
    let (dst, src) = (mac(&args[2]), mac(&args[3]));
    let seconds: f64 = args[4].parse().unwrap_or_else(|_| fail("SECONDS must be a number"));
    let flows: u32 = args.get(5).map_or(1, |s| s.parse().unwrap_or_else(|_| fail("FLOWS must be a number"))).max(1);
    let size: usize = args.get(6).map_or(60, |s| s.parse().unwrap_or_else(|_| fail("SIZE must be a number")));

    let cname = std::ffi::CString::new(iface.as_str()).unwrap();
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if ifindex == 0 {
        fail(&format!("no such network device \"{iface}\""));
    }
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        fail(&format!("socket: {}", io::Error::last_os_error()));
    }
    let one: libc::c_int = 1;
    // SAFETY: PACKET_QDISC_BYPASS (20) takes an int.
    unsafe { libc::setsockopt(fd, 263, 20, &one as *const _ as *const libc::c_void, 4) };
    // SAFETY: all-zero sockaddr_ll is valid; fields set below.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is valid and sized.
    if unsafe { libc::bind(fd, &sll as *const _ as *const libc::sockaddr, size_of::<libc::sockaddr_ll>() as u32) } < 0 {
        fail(&format!("bind {iface}: {}", io::Error::last_os_error()));
    }

    let templates: Vec<Vec<u8>> = (0..flows.min(1 << 20)).map(|i| frame(dst, src, i, size)).collect();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let (mut sent, mut next) = (0u64, 0usize);
    // SAFETY: all-zero iovec/mmsghdr arrays are valid.
    let mut iov: [libc::iovec; BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
    while Instant::now() < deadline {
        for i in 0..BATCH {
            let t = &templates[next];
            next = (next + 1) % templates.len();
            iov[i] = libc::iovec { iov_base: t.as_ptr() as *mut _, iov_len: t.len() };
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: msgs point at templates that outlive the call.
        let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), BATCH as u32, 0) };
        if r > 0 {
            sent += r as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{{\"sent\":{sent},\"seconds\":{secs:.3},\"pps\":{:.0}}}", sent as f64 / secs);
}
