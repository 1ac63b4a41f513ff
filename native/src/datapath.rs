//! The datapath: its ports, the poll loop thread that moves their frames,
//! and the queue of frames it passes up to the slow path.
//!
//! One mutex guards the port table and forwarding state. The poll thread
//! takes it once per wakeup and handles whole bursts under it; calls from JS
//! (add a port, read counters) take it briefly between bursts.

use crate::packet::Packet;
use crate::port::afpacket::AfPacketPort;
use crate::port::tap::{TapConfig, TapPort};
use crate::port::{PortIo, PortStats, BURST};
use crate::sys::cvt;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Highest port number; OpenFlow reserves the numbers above it.
pub const MAX_PORT_NO: u32 = 0xff00;
/// epoll token of the eventfd that wakes the poll thread.
const WAKE_TOKEN: u64 = u64::MAX;
/// How often detached ports look for their device again.
const REATTACH_INTERVAL: Duration = Duration::from_millis(500);

/// A frame passed up to the slow path.
pub struct Upcall {
    pub in_port: u32,
    pub frame: Vec<u8>,
}

/// Where upcalls go (the N-API layer implements it with a threadsafe function).
pub trait UpcallSink: Send + Sync {
    /// Hand over one batch; false when the receiver's queue is full and the
    /// batch was dropped.
    fn deliver(&self, batch: Vec<Upcall>) -> bool;
}

/// The kinds of port the datapath can open.
pub enum PortKind {
    /// An existing interface reached through an AF_PACKET socket.
    System,
    /// A tap device created and held by the switch.
    Tap(TapConfig),
}

impl PortKind {
    pub fn name(&self) -> &'static str {
        match self {
            PortKind::System => "system",
            PortKind::Tap(_) => "tap",
        }
    }
}

pub struct PortInfo {
    pub port_no: u32,
    pub name: String,
    pub kind: &'static str,
    pub ifindex: u32,
    pub detached: bool,
    pub stats: PortStats,
}

/// Datapath-wide counters.
#[derive(Clone, Copy, Default)]
pub struct DpStats {
    /// Frames passed up to the slow path.
    pub upcalls: u64,
    /// Frames that should have gone up but found the upcall queue full.
    pub upcalls_lost: u64,
}

struct Port {
    name: String,
    kind: &'static str,
    io: Box<dyn PortIo>,
    stats: PortStats,
}

struct State {
    ports: BTreeMap<u32, Port>,
    /// The simple forwarding table of this stage: in_port -> out_ports.
    forward: HashMap<u32, Vec<u32>>,
    stats: DpStats,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    epoll: OwnedFd,
    wake: OwnedFd,
    upcalls: Option<Box<dyn UpcallSink>>,
}

pub struct Datapath {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Datapath {
    pub fn open(upcalls: Option<Box<dyn UpcallSink>>) -> io::Result<Datapath> {
        // SAFETY: epoll_create1 and eventfd return fresh fds that we own at once.
        let epoll = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let wake = unsafe { OwnedFd::from_raw_fd(cvt(libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC))?) };
        epoll_add(epoll.as_raw_fd(), wake.as_raw_fd(), WAKE_TOKEN)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State { ports: BTreeMap::new(), forward: HashMap::new(), stats: DpStats::default() }),
            stop: AtomicBool::new(false),
            epoll,
            wake,
            upcalls,
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("tvs-dp".into()).spawn(move || poll_loop(&worker))?;
        Ok(Datapath { shared, thread: Some(thread) })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock must not take the switch down with it.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open a port and start polling it. `port_no` 0 picks the lowest free number.
    pub fn add_port(&self, kind: PortKind, name: &str, port_no: u32) -> io::Result<u32> {
        let mut st = self.state();
        if st.ports.values().any(|p| p.name == name) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("port \"{name}\" is already in the datapath")));
        }
        let port_no = match port_no {
            0 => (1..=MAX_PORT_NO).find(|n| !st.ports.contains_key(n)).ok_or_else(|| {
                io::Error::new(io::ErrorKind::OutOfMemory, "resources exhausted: no free port number")
            })?,
            n if n > MAX_PORT_NO => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("port number {n} is above the maximum {MAX_PORT_NO}")))
            }
            n if st.ports.contains_key(&n) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("port number {n} is already in use")))
            }
            n => n,
        };
        let kind_name = kind.name();
        let io: Box<dyn PortIo> = match kind {
            PortKind::System => Box::new(AfPacketPort::open(name)?),
            PortKind::Tap(config) => Box::new(TapPort::open(name, &config)?),
        };
        epoll_add(self.shared.epoll.as_raw_fd(), io.fd(), port_no as u64)?;
        st.ports.insert(port_no, Port { name: name.to_string(), kind: kind_name, io, stats: PortStats::default() });
        Ok(port_no)
    }

    pub fn del_port(&self, port_no: u32) -> io::Result<()> {
        let mut st = self.state();
        let port = st.ports.remove(&port_no).ok_or_else(|| no_such_port(port_no))?;
        if !port.io.detached() {
            // The fd closes when `port` drops; removing it first keeps epoll
            // from reporting a number that may be reused.
            let _ = epoll_del(self.shared.epoll.as_raw_fd(), port.io.fd());
        }
        st.forward.remove(&port_no);
        for outs in st.forward.values_mut() {
            outs.retain(|&p| p != port_no);
        }
        Ok(())
    }

    pub fn ports(&self) -> Vec<PortInfo> {
        let st = self.state();
        st.ports
            .iter()
            .map(|(&port_no, p)| PortInfo {
                port_no,
                name: p.name.clone(),
                kind: p.kind,
                ifindex: p.io.ifindex(),
                detached: p.io.detached(),
                stats: p.stats,
            })
            .collect()
    }

    /// Forward every frame received on `in_port` to `out_ports` (empty: pass
    /// them up as upcalls instead).
    pub fn set_forward(&self, in_port: u32, out_ports: Vec<u32>) -> io::Result<()> {
        let mut st = self.state();
        for p in std::iter::once(&in_port).chain(out_ports.iter()) {
            if !st.ports.contains_key(p) {
                return Err(no_such_port(*p));
            }
        }
        if out_ports.is_empty() {
            st.forward.remove(&in_port);
        } else {
            st.forward.insert(in_port, out_ports);
        }
        Ok(())
    }

    /// Send one frame out of a port (a frame built by the slow path).
    pub fn send(&self, port_no: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("frame of {} bytes is shorter than an Ethernet header", frame.len())));
        }
        let pkt = Packet::from_frame(frame);
        let mut st = self.state();
        let port = st.ports.get_mut(&port_no).ok_or_else(|| no_such_port(port_no))?;
        port.io.send_burst(&[&pkt], &mut port.stats);
        Ok(())
    }

    pub fn stats(&self) -> DpStats {
        self.state().stats
    }

    /// Stop the poll thread and close every port. Idempotent.
    pub fn close(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.stop.store(true, Ordering::SeqCst);
            wake(&self.shared.wake);
            let _ = thread.join();
            self.state().ports.clear();
        }
    }
}

impl Drop for Datapath {
    fn drop(&mut self) {
        self.close();
    }
}

fn no_such_port(port_no: u32) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no port {port_no} in the datapath"))
}

fn wake(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to our eventfd.
    unsafe { libc::write(fd.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8) };
}

fn epoll_add(epfd: RawFd, fd: RawFd, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
    // SAFETY: ev is a valid epoll_event for the duration of the call.
    cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) }).map(|_| ())
}

fn epoll_del(epfd: RawFd, fd: RawFd) -> io::Result<()> {
    // SAFETY: EPOLL_CTL_DEL ignores the event argument.
    cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) }).map(|_| ())
}

fn poll_loop(shared: &Shared) {
    let mut batch: Vec<Packet> = (0..BURST).map(|_| Packet::new()).collect();
    // SAFETY: epoll_event is a plain C struct; all-zero is valid.
    let mut events: [libc::epoll_event; 64] = unsafe { std::mem::zeroed() };
    let mut last_reattach = Instant::now();
    while !shared.stop.load(Ordering::Acquire) {
        // SAFETY: events is a writable array of the length we pass.
        let n = unsafe { libc::epoll_wait(shared.epoll.as_raw_fd(), events.as_mut_ptr(), events.len() as i32, 200) };
        let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        for ev in events.iter().take(n.max(0) as usize) {
            let token = ev.u64;
            if token == WAKE_TOKEN {
                let mut buf = 0u64;
                // SAFETY: reads 8 bytes into a live u64 from our eventfd.
                unsafe { libc::read(shared.wake.as_raw_fd(), &mut buf as *mut u64 as *mut libc::c_void, 8) };
                continue;
            }
            handle_burst(shared, &mut st, token as u32, &mut batch);
        }
        if last_reattach.elapsed() >= REATTACH_INTERVAL {
            last_reattach = Instant::now();
            reattach_ports(shared.epoll.as_raw_fd(), &mut st);
        }
    }
}

/// Receive one burst from `in_port` and forward or pass it up.
fn handle_burst(shared: &Shared, st: &mut State, in_port: u32, batch: &mut [Packet]) {
    let State { ports, forward, stats } = st;
    let Some(port) = ports.get_mut(&in_port) else { return };
    let n = port.io.recv_burst(batch, &mut port.stats);
    if n == 0 {
        return;
    }
    let received = &mut batch[..n];
    for pkt in received.iter_mut() {
        pkt.in_port = in_port;
    }
    match forward.get(&in_port) {
        Some(outs) => {
            let frames: Vec<&Packet> = received.iter().collect();
            for out in outs {
                if let Some(dst) = ports.get_mut(out) {
                    dst.io.send_burst(&frames, &mut dst.stats);
                }
            }
        }
        None => {
            let Some(sink) = shared.upcalls.as_ref() else {
                port.stats.rx_dropped += n as u64;
                return;
            };
            let ups: Vec<Upcall> = received.iter().map(|p| Upcall { in_port, frame: p.frame().to_vec() }).collect();
            if sink.deliver(ups) {
                stats.upcalls += n as u64;
            } else {
                stats.upcalls_lost += n as u64;
            }
        }
    }
}

fn reattach_ports(epfd: RawFd, st: &mut State) {
    for (&port_no, port) in st.ports.iter_mut() {
        if port.io.detached() {
            if let Ok(true) = port.io.reattach() {
                let _ = epoll_add(epfd, port.io.fd(), port_no as u64);
            }
        }
    }
}
