//! Small-frame generator for the benchmark: blasts UDP frames out of an
//! interface as fast as one core allows and reports what it sent.
//!
//! With one flow it uses the kernel's XDP "live frames" test run (the engine
//! of xdp-trafficgen): a two-instruction XDP program returns XDP_TX for one
//! template frame, and the kernel transmits it `repeat` times from inside one
//! bpf() call, with no socket or per-frame syscall work. A sendmmsg loop tops
//! out near the rate a good switch forwards, so it cannot overload one. The
//! receiving veth end needs NAPI, which veth turns on when GRO is requested
//! (`ethtool -K PEER gro on`). With many flows (each frame a new 5-tuple, to
//! measure flow setup), when XDP is refused, or when TVS_BLASTER_SENDMMSG is
//! set in the environment, it sends with sendmmsg.
//!
//! usage: tvs-blaster IFACE DST_MAC SRC_MAC SECONDS [FLOWS] [SIZE]

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
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
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let (sent, method) = if flows == 1 && std::env::var_os("TVS_BLASTER_SENDMMSG").is_none() {
        match xdp_live_frames(ifindex, &frame(dst, src, 0, size), deadline) {
            Ok(sent) => (sent, "xdp"),
            Err(e) => {
                eprintln!("tvs-blaster: XDP live frames refused on {iface} ({e}); sending with sendmmsg");
                (sendmmsg_loop(iface, ifindex, &[frame(dst, src, 0, size)], deadline), "sendmmsg")
            }
        }
    } else {
        let templates: Vec<Vec<u8>> = (0..flows.min(1 << 20)).map(|i| frame(dst, src, i, size)).collect();
        (sendmmsg_loop(iface, ifindex, &templates, deadline), "sendmmsg")
    };
    let secs = start.elapsed().as_secs_f64();
    println!("{{\"sent\":{sent},\"seconds\":{secs:.3},\"pps\":{:.0},\"method\":\"{method}\"}}", sent as f64 / secs);
}

/// Send `templates` round-robin through a packet socket until `deadline`.
fn sendmmsg_loop(iface: &str, ifindex: u32, templates: &[Vec<u8>], deadline: Instant) -> u64 {
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
    sent
}

// linux/bpf.h
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_PROG_TYPE_XDP: u64 = 6;
const BPF_F_TEST_XDP_LIVE_FRAMES: u64 = 1 << 1;
const XDP_TX: u64 = 3;
/// Frames the kernel sends in the first bpf() call, which measures the rate.
const FIRST_CALL_FRAMES: u64 = 1 << 18;
/// Later calls are sized to last about this long. Each call swaps the
/// program into the kernel's XDP dispatcher and out again, and each swap
/// waits out an RCU grace period with the CPU idle: at 2^18 frames a call
/// that was a fifth of the generator's time.
const CALL_SECONDS: f64 = 0.5;

/// bpf(2) with a union bpf_attr given as zero-padded 64-bit words.
fn bpf(cmd: libc::c_long, attr: &mut [u64]) -> io::Result<libc::c_long> {
    // SAFETY: attr is valid for the size passed, and every pointer in it
    // refers to memory alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), std::mem::size_of_val(attr)) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Transmit `frame` out of `ifindex` until `deadline` with XDP live frames;
/// returns how many frames the kernel ran through XDP_TX.
fn xdp_live_frames(ifindex: u32, frame: &[u8], deadline: Instant) -> io::Result<u64> {
    // struct bpf_insn is code, dst/src registers, offset, imm:
    // "r0 = XDP_TX" (BPF_ALU64 | BPF_MOV | BPF_K) and "exit" (BPF_JMP | BPF_EXIT).
    let insns: [u64; 2] = [0xb7 | XDP_TX << 32, 0x95];
    let license = b"GPL\0";
    // BPF_PROG_LOAD: prog_type, insn_cnt; insns; license.
    let mut load = [0u64; 16];
    load[0] = BPF_PROG_TYPE_XDP | (insns.len() as u64) << 32;
    load[1] = insns.as_ptr() as u64;
    load[2] = license.as_ptr() as u64;
    let fd =
        bpf(BPF_PROG_LOAD, &mut load).map_err(|e| io::Error::new(e.kind(), format!("loading the XDP program: {e}")))?;
    // SAFETY: bpf() returned a new descriptor that nobody else owns.
    let prog = unsafe { OwnedFd::from_raw_fd(fd as i32) };

    // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
    let ctx: [u32; 6] = [0, frame.len() as u32, 0, ifindex, 0, 0];
    let mut sent = 0u64;
    let start = Instant::now();
    let mut frames_per_call = FIRST_CALL_FRAMES;
    loop {
        // BPF_PROG_TEST_RUN: prog_fd, retval; data_size_in, data_size_out;
        // data_in; data_out; repeat, duration; ctx_size_in, ctx_size_out;
        // ctx_in; ctx_out; flags, cpu; batch_size.
        let mut run = [0u64; 10];
        run[0] = prog.as_raw_fd() as u64;
        run[1] = frame.len() as u64;
        run[2] = frame.as_ptr() as u64;
        run[4] = frames_per_call;
        run[5] = std::mem::size_of_val(&ctx) as u64;
        run[6] = ctx.as_ptr() as u64;
        run[8] = BPF_F_TEST_XDP_LIVE_FRAMES;
        bpf(BPF_PROG_TEST_RUN, &mut run)?;
        sent += frames_per_call;
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now).as_secs_f64();
        if left == 0.0 {
            break;
        }
        let rate = sent as f64 / (now - start).as_secs_f64();
        frames_per_call = ((rate * CALL_SECONDS.min(left)) as u64).clamp(1 << 10, u32::MAX as u64);
    }
    Ok(sent)
}
