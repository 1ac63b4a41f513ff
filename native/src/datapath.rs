//! The datapath: its ports, the poll loop thread that moves their frames
//! through the flow table, and the events it passes up to the slow path.
//!
//! One mutex guards the port table and the flow table. The poll thread takes
//! it once per wakeup and handles whole bursts under it; calls from JS (add a
//! port, install a flow, read counters) take it briefly between bursts.

use crate::flow::actions::{self, Action, ActionList, ActionSink, TunnelMeta};
use crate::flow::key::{ExactKey, FlowKey, KEY_LEN};
use crate::flow::table::{FlowError, FlowStats, FlowTable, Lookup, Megaflow, PutMode, ValidActions, MAX_BURST};
use crate::packet::{Packet, VnetHdr};
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
/// How often the poll thread does its upkeep: reattach detached ports,
/// expire idle flows and unanswered upcalls, reorder subtables.
const UPKEEP_INTERVAL: Duration = Duration::from_millis(500);
/// Bursts served to each busy port between two looks at the epoll set.
const ROUNDS_PER_WAIT: usize = 8;
/// Frames of one flow held while its first frame's upcall is answered.
const PENDING_PER_FLOW: usize = 64;
/// Frames held across all pending flows.
const PENDING_TOTAL: usize = 8192;
/// An upcall not answered in this time is given up; its held frames count as lost.
const PENDING_TIMEOUT_MS: u64 = 2000;
/// Tunnel pops that may follow each other on one frame.
const MAX_RECIRCULATIONS: u8 = 4;

/// Why a frame went up to the slow path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UpcallReason {
    /// No flow matched.
    Miss,
    /// A `userspace` action asked for it (e.g. for a controller).
    Action { cookie: u64 },
}

/// A frame passed up to the slow path, with its flow key.
pub struct Upcall {
    pub reason: UpcallReason,
    pub in_port: u32,
    pub key: FlowKey,
    pub frame: Vec<u8>,
}

/// A flow the datapath removed by itself (idle), with its final stats.
pub struct ExpiredFlow {
    pub id: u64,
    pub stats: FlowStats,
}

/// What the datapath tells the slow path.
pub enum Event {
    Upcalls(Vec<Upcall>),
    Expired(Vec<ExpiredFlow>),
}

/// Where events go (the N-API layer implements it with a threadsafe function).
pub trait EventSink: Send + Sync {
    /// Hand over one event; false when the receiver's queue is full and it was dropped.
    fn deliver(&self, event: Event) -> bool;
    /// Whether an event handed over now would be taken.
    fn has_room(&self) -> bool;
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

/// Datapath-wide counters, as `ovs-dpctl show` reports them.
#[derive(Clone, Copy, Default)]
pub struct DpStats {
    /// Frames that matched an installed flow.
    pub hit: u64,
    /// Of those, frames found in the exact-match cache.
    pub emc_hit: u64,
    /// Frames that matched no flow.
    pub missed: u64,
    /// Frames that missed and could not be passed up or held (queue full, timeout).
    pub lost: u64,
    /// Subtables probed for classifier hits (masks hit per packet = this / (hit - emc_hit)).
    pub masks_probed: u64,
    /// Upcalls delivered to the slow path (misses and userspace actions).
    pub upcalls: u64,
    /// Actions that could not apply to a frame (it was passed on unchanged),
    /// and bursts dropped after an internal error.
    pub action_errors: u64,
    /// Upkeep rounds done. A change to a device (its MTU, its return after
    /// deletion) is followed by the first round that starts after it, so a
    /// caller that saw this count after the change waits for it to grow.
    pub upkeeps: u64,
}

/// The slow path's answer to one missed upcall.
pub struct UpcallReply<'a> {
    pub in_port: u32,
    pub frame: &'a [u8],
    /// The upcall's key: it names the held frames this reply releases.
    pub key: FlowKey,
    /// Encoded action list for the frame (and the megaflow, if any).
    pub actions: &'a [u8],
    /// Install a megaflow: the key under this mask.
    pub mask: Option<FlowKey>,
}

/// Size of a packed reply's header: in_port, frame length, actions length, flags.
const REPLY_HEADER: usize = 16;
/// Reply flag: install a megaflow; its mask follows the key.
const REPLY_HAS_MASK: u32 = 1;

impl<'a> UpcallReply<'a> {
    /// The replies packed by `replyUpcalls` in src/datapath/dpif.ts: per
    /// reply, four little-endian u32 (in_port, frame length, actions length,
    /// flags), then the frame, the actions, the key and, with REPLY_HAS_MASK,
    /// the mask. One buffer crosses N-API instead of five values a reply.
    pub fn unpack(mut b: &'a [u8]) -> Result<Vec<UpcallReply<'a>>, String> {
        let mut replies = Vec::new();
        while !b.is_empty() {
            let truncated = || format!("upcall reply {} is truncated", replies.len());
            let header = b.get(..REPLY_HEADER).ok_or_else(truncated)?;
            let word = |i: usize| u32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
            let (in_port, frame_len, actions_len, flags) = (word(0), word(1) as usize, word(2) as usize, word(3));
            let keys_len = if flags & REPLY_HAS_MASK != 0 { 2 * KEY_LEN } else { KEY_LEN };
            let body = b.get(REPLY_HEADER..REPLY_HEADER + frame_len + actions_len + keys_len).ok_or_else(truncated)?;
            let (frame, rest) = body.split_at(frame_len);
            let (actions, keys) = rest.split_at(actions_len);
            let (key, mask) = keys.split_at(KEY_LEN);
            let key = FlowKey::from_bytes(key).expect("KEY_LEN bytes");
            let mask = (!mask.is_empty()).then(|| FlowKey::from_bytes(mask).expect("KEY_LEN bytes"));
            replies.push(UpcallReply { in_port, frame, key, actions, mask });
            b = &b[REPLY_HEADER + body.len()..];
        }
        Ok(replies)
    }
}

/// A flow as reported to JS.
pub struct FlowInfo {
    pub id: u64,
    pub key: FlowKey,
    pub mask: FlowKey,
    pub actions: Arc<[u8]>,
    pub stats: FlowStats,
    /// Milliseconds since last use; None when never used.
    pub idle_ms: Option<u64>,
}

struct Port {
    name: String,
    kind: &'static str,
    io: Box<dyn PortIo>,
    stats: PortStats,
}

/// Frames held for one flow key whose upcall awaits an answer.
struct PendingFlow {
    since_ms: u64,
    frames: Vec<(Vec<u8>, VnetHdr, u32)>,
}

struct State {
    ports: BTreeMap<u32, Port>,
    /// Bare forwarding (no lookup): in_port -> out_ports. The benchmark's ceiling.
    forward: HashMap<u32, Vec<u32>>,
    flows: FlowTable,
    pending: HashMap<ExactKey, PendingFlow>,
    pending_frames: usize,
    stats: DpStats,
    /// Scratch packets for copies made by multi-action lists.
    pool: Vec<Packet>,
    /// Frames the slow path answered, with their actions: the poll thread's to send.
    replied: Vec<(Arc<ActionList>, Packet)>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    epoll: OwnedFd,
    wake: OwnedFd,
    events: Option<Box<dyn EventSink>>,
    started: Instant,
}

fn lock_state(shared: &Shared) -> MutexGuard<'_, State> {
    // A panic while holding the lock must not take the switch down with it.
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn deliver_upcalls(&self, st: &mut State, ups: Vec<Upcall>) {
        if ups.is_empty() {
            return;
        }
        let n = ups.len() as u64;
        let missed: Vec<FlowKey> = ups.iter().filter(|u| u.reason == UpcallReason::Miss).map(|u| u.key).collect();
        match &self.events {
            Some(sink) if sink.deliver(Event::Upcalls(ups)) => st.stats.upcalls += n,
            _ => {
                // Nobody will answer: the next frame of each flow tries again.
                st.stats.lost += missed.len() as u64;
                for k in missed {
                    if let Some(p) = st.pending.remove(&ExactKey(k)) {
                        st.pending_frames -= p.frames.len();
                        st.stats.lost += p.frames.len() as u64;
                    }
                }
            }
        }
    }
}

pub struct Datapath {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Datapath {
    pub fn open(events: Option<Box<dyn EventSink>>) -> io::Result<Datapath> {
        // SAFETY: epoll_create1 and eventfd return fresh fds that we own at once.
        let epoll = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let wake = unsafe { OwnedFd::from_raw_fd(cvt(libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC))?) };
        epoll_add(epoll.as_raw_fd(), wake.as_raw_fd(), WAKE_TOKEN)?;
        let state = State {
            ports: BTreeMap::new(),
            forward: HashMap::new(),
            flows: FlowTable::new(),
            pending: HashMap::new(),
            pending_frames: 0,
            stats: DpStats::default(),
            pool: Vec::new(),
            replied: Vec::new(),
        };
        let shared = Arc::new(Shared { state: Mutex::new(state), stop: AtomicBool::new(false), epoll, wake, events, started: Instant::now() });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("tvs-dp".into()).spawn(move || poll_loop(&worker))?;
        Ok(Datapath { shared, thread: Some(thread) })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.shared)
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
        let mut st = self.state();
        collect_kernel_drops(&mut st);
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

    /// Forward every frame received on `in_port` to `out_ports` without any
    /// lookup (empty: back to the flow table).
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

    /// Execute `actions` on a frame the slow path holds (e.g. a packet-out).
    pub fn execute(&self, in_port: u32, frame: &[u8], raw_actions: &[u8]) -> Result<(), String> {
        if frame.len() < 14 {
            return Err(format!("frame of {} bytes is shorter than an Ethernet header", frame.len()));
        }
        let list = actions::validate(raw_actions).map_err(|e| format!("invalid actions: {e}"))?;
        let mut st = self.state();
        let mut pkt = Packet::from_frame(frame);
        pkt.in_port = in_port;
        run_actions(&self.shared, &mut st, vec![(Arc::new(list), pkt)]);
        Ok(())
    }

    /// Answer misses: for each reply optionally install the megaflow, then
    /// execute the missed frame and the frames of its flow held meanwhile,
    /// in order. One lock for the whole batch keeps the poll thread from
    /// interleaving, and keeps replies cheap. Returns per reply the new
    /// flow's id (None when not installed, e.g. at the flow limit) or why
    /// the reply was refused.
    pub fn upcall_replies(&self, replies: &[UpcallReply]) -> Vec<Result<Option<u64>, String>> {
        let now = self.shared.now_ms();
        let mut st = self.state();
        let mut work: Vec<(Arc<ActionList>, Packet)> = Vec::new();
        let mut results = Vec::with_capacity(replies.len());
        // A flood of new flows mostly shares a few action lists: the last
        // one validated serves the next reply with the same bytes.
        let mut last: Option<ValidActions> = None;
        for r in replies {
            if last.as_ref().is_none_or(|v| *v.raw != *r.actions) {
                match ValidActions::new(r.actions) {
                    Ok(v) => last = Some(v),
                    Err(e) => {
                        results.push(Err(e.to_string()));
                        continue;
                    }
                }
            }
            let valid = last.as_ref().expect("validated above");
            let id = match &r.mask {
                Some(mask) => match st.flows.put_valid(&r.key, mask, valid, PutMode::CreateOrModify, false, now) {
                    Ok(id) => Some(id),
                    // At the limit the frame is still forwarded, only not cached.
                    Err(FlowError::LimitReached(_)) => None,
                    Err(e) => {
                        results.push(Err(e.to_string()));
                        continue;
                    }
                },
                None => None,
            };
            let list = &valid.list;
            if r.frame.len() >= 14 {
                let mut pkt = Packet::from_frame(r.frame);
                pkt.in_port = r.in_port;
                work.push((Arc::clone(list), pkt));
            }
            // Only this flow's held frames: every other held flow has its own
            // upcall in flight and is released by its own reply.
            if let Some(p) = st.pending.remove(&ExactKey(r.key)) {
                st.pending_frames -= p.frames.len();
                // Held frames count as the new flow's hits, which they would
                // have been had it been there when they came. (The upcall's
                // own frame is the slow path's to count, as in OVS.)
                if let Some(flow) = id.and_then(|id| st.flows.get_mut(id).ok()) {
                    flow.stats.packets += p.frames.len() as u64;
                    flow.stats.bytes += p.frames.iter().map(|(frame, ..)| frame.len() as u64).sum::<u64>();
                    flow.stats.used_ms = now.max(1);
                }
                work.extend(p.frames.into_iter().map(|f| (Arc::clone(list), held_packet(f))));
            }
            results.push(Ok(id));
        }
        // The poll thread sends them first thing in its next round, so before
        // any frame it receives after this: the slow path's thread, the one
        // a flood of new flows keeps busy, does not pay for the sends.
        st.replied.extend(work);
        drop(st);
        wake(&self.shared.wake);
        results
    }

    pub fn flow_put(&self, key: &FlowKey, mask: &FlowKey, raw_actions: &[u8], mode: PutMode, refuse_overlap: bool) -> Result<u64, FlowError> {
        let now = self.shared.now_ms();
        let mut st = self.state();
        let id = st.flows.put(key, mask, raw_actions, mode, refuse_overlap, now)?;
        // Frames held for flows this one now covers go with its actions.
        let masked = key.masked(mask);
        let held = take_pending(&mut st, |k| masked.matches(k, mask));
        if !held.is_empty() {
            let list = st.flows.get(id).map(|f| Arc::clone(&f.actions)).expect("just installed");
            run_actions(&self.shared, &mut st, held.into_iter().map(|p| (Arc::clone(&list), p)).collect());
        }
        Ok(id)
    }

    pub fn flow_find(&self, key: &FlowKey, mask: &FlowKey) -> Option<u64> {
        self.state().flows.find(key, mask)
    }

    pub fn flow_get(&self, id: u64) -> Result<FlowInfo, FlowError> {
        let now = self.shared.now_ms();
        let st = self.state();
        st.flows.get(id).map(|f| flow_info(id, f, now))
    }

    pub fn flow_del(&self, id: u64) -> Result<FlowStats, FlowError> {
        self.state().flows.remove(id).map(|f| f.stats)
    }

    pub fn flow_flush(&self) -> usize {
        self.state().flows.flush()
    }

    pub fn flow_dump(&self) -> Vec<FlowInfo> {
        let now = self.shared.now_ms();
        let st = self.state();
        st.flows.iter().map(|(id, f)| flow_info(id, f, now)).collect()
    }

    /// (id, stats) of the flows used in the last `within_ms` milliseconds,
    /// least recently used first: what a periodic stats pass needs, without
    /// the keys and actions of every idle flow.
    pub fn flow_stats_used_within(&self, within_ms: u64) -> Vec<(u64, FlowStats)> {
        let since = self.shared.now_ms().saturating_sub(within_ms);
        self.state().flows.stats_used_since(since)
    }

    /// Flow limit, idle timeout (ms) and EMC insertion inverse probability;
    /// None leaves a setting as it is.
    pub fn configure(&self, flow_limit: Option<usize>, max_idle_ms: Option<u64>, emc_insert_inv_prob: Option<u32>) {
        let mut st = self.state();
        if let Some(p) = emc_insert_inv_prob {
            st.flows.emc_insert_inv_prob = p;
        }
        if let Some(l) = flow_limit {
            st.flows.limit = l;
        }
        if let Some(i) = max_idle_ms {
            st.flows.max_idle_ms = i;
        }
    }

    /// (stats, flows installed, masks in use, flow limit, max idle ms, EMC insertion inverse probability)
    pub fn stats(&self) -> (DpStats, usize, usize, usize, u64, u32) {
        let st = self.state();
        (st.stats, st.flows.len(), st.flows.mask_count(), st.flows.limit, st.flows.max_idle_ms, st.flows.emc_insert_inv_prob)
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

fn flow_info(id: u64, f: &Megaflow, now_ms: u64) -> FlowInfo {
    FlowInfo {
        id,
        key: f.key,
        mask: f.mask,
        actions: Arc::clone(&f.actions_raw),
        stats: f.stats,
        idle_ms: (f.stats.used_ms > 0).then(|| now_ms.saturating_sub(f.stats.used_ms)),
    }
}

/// Remove and return (as packets) the held frames of every pending flow whose key satisfies `pred`.
fn take_pending(st: &mut State, pred: impl Fn(&FlowKey) -> bool) -> Vec<Packet> {
    let keys: Vec<ExactKey> = st.pending.keys().filter(|k| pred(&k.0)).copied().collect();
    let mut out = Vec::new();
    for k in keys {
        if let Some(p) = st.pending.remove(&k) {
            st.pending_frames -= p.frames.len();
            out.extend(p.frames.into_iter().map(held_packet));
        }
    }
    out
}

fn held_packet((bytes, vnet, in_port): (Vec<u8>, VnetHdr, u32)) -> Packet {
    let mut pkt = Packet::from_frame(&bytes);
    pkt.vnet = vnet;
    pkt.in_port = in_port;
    pkt
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

/// The poll thread. A port that has frames leaves the epoll set and is
/// served a burst per round until it runs dry, then goes back. While busy it
/// is thus out of the socket's wait queue: the kernel's receive path, which
/// runs on the sender's CPU, no longer takes the wait queue's lock and runs
/// epoll's callback for every frame (14% of a veth sender's CPU in perf),
/// and this thread makes one epoll_wait per few rounds, not per burst.
fn poll_loop(shared: &Shared) {
    let mut batch: Vec<Packet> = (0..BURST).map(|_| Packet::new()).collect();
    // SAFETY: epoll_event is a plain C struct; all-zero is valid.
    let mut events: [libc::epoll_event; 64] = unsafe { std::mem::zeroed() };
    let epfd = shared.epoll.as_raw_fd();
    let mut busy: Vec<u32> = Vec::new();
    let mut last_upkeep = Instant::now();
    while !shared.stop.load(Ordering::Acquire) {
        let timeout = if busy.is_empty() { 200 } else { 0 };
        // SAFETY: events is a writable array of the length we pass.
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, timeout) };
        let mut st = lock_state(shared);
        send_replied(shared, &mut st);
        for ev in events.iter().take(n.max(0) as usize) {
            let token = ev.u64;
            if token == WAKE_TOKEN {
                let mut buf = 0u64;
                // SAFETY: reads 8 bytes into a live u64 from our eventfd.
                unsafe { libc::read(shared.wake.as_raw_fd(), &mut buf as *mut u64 as *mut libc::c_void, 8) };
            } else if let Some(port) = st.ports.get(&(token as u32)) {
                let _ = epoll_del(epfd, port.io.fd());
                busy.push(token as u32);
            }
        }
        for _ in 0..ROUNDS_PER_WAIT {
            busy.retain(|&port_no| {
                // A bug must not stop the switch: a burst that panics is
                // counted and dropped, and the loop goes on with the next one.
                let burst = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle_burst(shared, &mut st, port_no, &mut batch)));
                let received = burst.unwrap_or_else(|_| {
                    st.stats.action_errors += 1;
                    batch.iter_mut().for_each(Packet::reset);
                    BURST
                });
                if received == BURST {
                    return true;
                }
                // Dry: back into the epoll set, which reports at once any
                // frame that came in meanwhile. (A port that went away or
                // detached is left out; upkeep adds it back on reattach.)
                if let Some(port) = st.ports.get(&port_no).filter(|p| !p.io.detached()) {
                    let _ = epoll_add(epfd, port.io.fd(), port_no as u64);
                }
                false
            });
            if busy.is_empty() {
                break;
            }
        }
        if last_upkeep.elapsed() >= UPKEEP_INTERVAL {
            last_upkeep = Instant::now();
            upkeep(shared, &mut st);
        }
    }
}

/// Send the frames the slow path answered. The poll thread does so before
/// anything it receives after taking the lock: their flows are installed,
/// and later frames of theirs must not overtake them.
fn send_replied(shared: &Shared, st: &mut State) {
    if !st.replied.is_empty() {
        let work = std::mem::take(&mut st.replied);
        run_actions(shared, st, work);
    }
}

/// Receive one burst from `in_port` and send each frame on its way; returns
/// how many frames were received.
fn handle_burst(shared: &Shared, st: &mut State, in_port: u32, batch: &mut [Packet]) -> usize {
    let Some(port) = st.ports.get_mut(&in_port) else { return 0 };
    let n = port.io.recv_burst(batch, &mut port.stats);
    if n == 0 {
        return 0;
    }
    let received = &mut batch[..n];
    for pkt in received.iter_mut() {
        pkt.in_port = in_port;
    }
    if let Some(outs) = st.forward.get(&in_port) {
        let frames: Vec<&Packet> = received.iter().collect();
        for out in outs.clone() {
            if let Some(dst) = st.ports.get_mut(&out) {
                dst.io.send_burst(&frames, &mut dst.stats);
            }
        }
        return n;
    }
    process(shared, st, received, None);
    n
}

/// Look up and execute a burst. `tunnel` is set for frames being looked up
/// again after a tunnel pop, with the depth reached.
fn process(shared: &Shared, st: &mut State, pkts: &mut [Packet], tunnel: Option<(TunnelMeta, u8)>) {
    let now = shared.now_ms();
    let mut tx = Tx::new(std::mem::take(&mut st.pool));
    let mut upcalls = Vec::new();
    let (mut keys, mut hashes) = ([FlowKey::default(); MAX_BURST], [0u64; MAX_BURST]);
    let mut found = [Lookup::Miss { probed: 0 }; MAX_BURST];
    for (c, chunk) in pkts.chunks_mut(MAX_BURST).enumerate() {
        // Parse the whole burst before hashing any key: a key's words read
        // right after its fields were written one by one would stall.
        for (key, pkt) in keys.iter_mut().zip(chunk.iter()) {
            key.extract_into(pkt.frame(), pkt.in_port);
            if let Some((meta, _)) = &tunnel {
                meta.apply(key);
            }
        }
        for (hash, key) in hashes.iter_mut().zip(&keys[..chunk.len()]) {
            *hash = key.hash(0);
        }
        st.flows.lookup_burst(&keys[..chunk.len()], &hashes[..chunk.len()], &mut found);
        for (j, pkt) in chunk.iter_mut().enumerate() {
            let (i, key) = (c * MAX_BURST + j, &keys[j]);
            match found[j] {
                Lookup::Hit { slot, via_emc, probed } => {
                    st.stats.hit += 1;
                    if via_emc {
                        st.stats.emc_hit += 1;
                    }
                    st.stats.masks_probed += probed as u64;
                    let flow = st.flows.flow_mut(slot).expect("lookup returns live flows");
                    flow.stats.packets += 1;
                    flow.stats.bytes += pkt.len() as u64;
                    flow.stats.used_ms = now.max(1);
                    flow.stats.tcp_flags |= u16::from_be_bytes(key.tcp_flags);
                    tx.execute(&flow.actions, pkt, i, &mut st.stats);
                }
                Lookup::Miss { .. } => {
                    st.stats.missed += 1;
                    if let Some(p) = st.pending.get_mut(&ExactKey(*key)) {
                        // An upcall for this flow is on its way: hold the frame for the answer.
                        if p.frames.len() < PENDING_PER_FLOW && st.pending_frames < PENDING_TOTAL {
                            p.frames.push((pkt.frame().to_vec(), pkt.vnet, pkt.in_port));
                            st.pending_frames += 1;
                        } else {
                            st.stats.lost += 1;
                        }
                    } else if !shared.events.as_ref().is_some_and(|e| e.has_room()) {
                        // Nobody can take an upcall now: count the frame and move on cheaply.
                        st.stats.lost += 1;
                    } else {
                        st.pending.insert(ExactKey(*key), PendingFlow { since_ms: now, frames: Vec::new() });
                        upcalls.push(Upcall { reason: UpcallReason::Miss, in_port: pkt.in_port, key: *key, frame: pkt.frame().to_vec() });
                    }
                }
            }
        }
    }
    upcalls.append(&mut tx.userspace);
    shared.deliver_upcalls(st, upcalls);
    tx.send(st, &*pkts);
    let recirc = std::mem::take(&mut tx.recirc);
    st.pool = tx.into_pool();
    let depth = tunnel.map_or(0, |(_, d)| d) + 1;
    for (mut pkt, meta) in recirc {
        if depth > MAX_RECIRCULATIONS {
            st.stats.action_errors += 1;
            continue;
        }
        process(shared, st, std::slice::from_mut(&mut pkt), Some((meta, depth)));
    }
}

/// Run one action list on frames the slow path handed back (they need no lookup).
fn run_actions(shared: &Shared, st: &mut State, work: Vec<(Arc<ActionList>, Packet)>) {
    let mut tx = Tx::new(std::mem::take(&mut st.pool));
    let mut pkts = Vec::with_capacity(work.len());
    for (i, (list, mut pkt)) in work.into_iter().enumerate() {
        tx.execute(&list, &mut pkt, i, &mut st.stats);
        pkts.push(pkt);
    }
    let ups = std::mem::take(&mut tx.userspace);
    shared.deliver_upcalls(st, ups);
    tx.send(st, &pkts);
    let recirc = std::mem::take(&mut tx.recirc);
    st.pool = tx.into_pool();
    for (mut pkt, meta) in recirc {
        process(shared, st, std::slice::from_mut(&mut pkt), Some((meta, 1)));
    }
}

/// A frame to send: one of the burst's own packets, or a copy in the pool.
#[derive(Clone, Copy)]
enum OutRef {
    Burst(usize),
    Copy(usize),
}

/// Collects the outputs of a burst so each port gets one send call.
struct Tx {
    pool: Vec<Packet>,
    copies: usize,
    outs: Vec<(u32, OutRef)>,
    userspace: Vec<Upcall>,
    recirc: Vec<(Packet, TunnelMeta)>,
    /// Index of the burst packet being executed (for the sink callbacks).
    current: usize,
}

impl Tx {
    fn new(pool: Vec<Packet>) -> Self {
        Tx { pool, copies: 0, outs: Vec::with_capacity(MAX_BURST), userspace: Vec::new(), recirc: Vec::new(), current: 0 }
    }

    fn execute(&mut self, list: &ActionList, pkt: &mut Packet, index: usize, stats: &mut DpStats) {
        // The common cases need no copy: every action an output (one port, or flooding).
        if list.actions.iter().all(|a| matches!(a, Action::Output(_))) {
            for a in &list.actions {
                if let Action::Output(port) = a {
                    self.outs.push((*port, OutRef::Burst(index)));
                }
            }
            return;
        }
        self.current = index;
        let report = actions::execute(list, pkt, self);
        stats.action_errors += report.failed as u64;
    }

    /// Send every collected frame, grouped by output port.
    fn send(&mut self, st: &mut State, burst: &[Packet]) {
        self.outs.sort_by_key(|(port, _)| *port);
        let mut i = 0;
        while i < self.outs.len() {
            let port_no = self.outs[i].0;
            let mut frames: Vec<&Packet> = Vec::with_capacity(self.outs.len() - i);
            while i < self.outs.len() && self.outs[i].0 == port_no {
                frames.push(match self.outs[i].1 {
                    OutRef::Burst(b) => &burst[b],
                    OutRef::Copy(c) => &self.pool[c],
                });
                i += 1;
            }
            if let Some(port) = st.ports.get_mut(&port_no) {
                port.io.send_burst(&frames, &mut port.stats);
            }
        }
        self.outs.clear();
    }

    fn into_pool(self) -> Vec<Packet> {
        self.pool
    }

    fn copy_of(&mut self, pkt: &Packet) -> usize {
        if self.copies == self.pool.len() {
            self.pool.push(Packet::new());
        }
        let c = &mut self.pool[self.copies];
        c.reset();
        let n = pkt.len();
        c.receive_area()[..n].copy_from_slice(pkt.frame());
        c.set_received(n);
        c.vnet = pkt.vnet;
        c.in_port = pkt.in_port;
        self.copies += 1;
        self.copies - 1
    }
}

impl ActionSink for Tx {
    fn output(&mut self, port: u32, pkt: &Packet) {
        let c = self.copy_of(pkt);
        self.outs.push((port, OutRef::Copy(c)));
    }

    fn userspace(&mut self, pkt: &Packet, cookie: u64) {
        let key = FlowKey::extract(pkt.frame(), pkt.in_port);
        self.userspace.push(Upcall { reason: UpcallReason::Action { cookie }, in_port: pkt.in_port, key, frame: pkt.frame().to_vec() });
    }

    fn recirculate(&mut self, pkt: &mut Packet, meta: &TunnelMeta) {
        let mut copy = Packet::from_frame(pkt.frame());
        copy.vnet = pkt.vnet;
        copy.in_port = meta.tnl_port;
        self.recirc.push((copy, *meta));
    }
}

fn collect_kernel_drops(st: &mut State) {
    for port in st.ports.values_mut() {
        port.stats.rx_dropped += port.io.take_kernel_drops();
    }
}

/// Periodic work: reattach ports, expire flows and unanswered upcalls.
fn upkeep(shared: &Shared, st: &mut State) {
    collect_kernel_drops(st);
    let epfd = shared.epoll.as_raw_fd();
    for (&port_no, port) in st.ports.iter_mut() {
        port.io.upkeep();
        if port.io.detached() {
            if let Ok(true) = port.io.reattach() {
                let _ = epoll_add(epfd, port.io.fd(), port_no as u64);
            }
        }
    }
    let now = shared.now_ms();
    let expired: Vec<ExpiredFlow> = st.flows.expire(now).into_iter().map(|(id, f)| ExpiredFlow { id, stats: f.stats }).collect();
    if !expired.is_empty() {
        if let Some(sink) = &shared.events {
            sink.deliver(Event::Expired(expired));
        }
    }
    let stale: Vec<ExactKey> = st.pending.iter().filter(|(_, p)| now.saturating_sub(p.since_ms) > PENDING_TIMEOUT_MS).map(|(k, _)| *k).collect();
    for k in stale {
        if let Some(p) = st.pending.remove(&k) {
            st.pending_frames -= p.frames.len();
            st.stats.lost += p.frames.len() as u64;
        }
    }
    st.flows.reorder_subtables();
    st.stats.upkeeps += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(in_port: u32, frame: &[u8], actions: &[u8], key: &FlowKey, mask: Option<&FlowKey>) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [in_port, frame.len() as u32, actions.len() as u32, mask.is_some() as u32] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(frame);
        b.extend_from_slice(actions);
        b.extend_from_slice(key.as_bytes());
        if let Some(mask) = mask {
            b.extend_from_slice(mask.as_bytes());
        }
        b
    }

    #[test]
    fn unpacks_replies_with_and_without_a_megaflow() {
        let key = FlowKey::extract(&[0xaa; 60], 3);
        let other = FlowKey::extract(&[0xbb; 60], 4);
        let mask = FlowKey::from_bytes(&[0xff; KEY_LEN]).unwrap();
        let mut b = packed(3, &[1; 60], &[9, 9, 9, 9], &key, Some(&mask));
        b.extend(packed(4, &[2; 14], &[], &other, None));
        let replies = UpcallReply::unpack(&b).unwrap();
        assert_eq!(replies.len(), 2);
        assert_eq!((replies[0].in_port, replies[0].frame, replies[0].actions), (3, &[1u8; 60][..], &[9u8; 4][..]));
        assert_eq!(replies[0].key.as_bytes(), key.as_bytes());
        assert_eq!(replies[0].mask.as_ref().map(|m| m.as_bytes()), Some(mask.as_bytes()));
        assert_eq!((replies[1].in_port, replies[1].frame.len(), replies[1].actions.len()), (4, 14, 0));
        assert_eq!(replies[1].key.as_bytes(), other.as_bytes());
        assert!(replies[1].mask.is_none());
    }

    #[test]
    fn refuses_a_truncated_reply() {
        let b = packed(3, &[1; 60], &[9; 4], &FlowKey::extract(&[0xaa; 60], 3), None);
        for cut in [1, 15, 16, 70, b.len() - 1] {
            assert_eq!(UpcallReply::unpack(&b[..cut]).err().as_deref(), Some("upcall reply 0 is truncated"), "cut at {cut}");
        }
        let mut two = b.clone();
        two.extend_from_slice(&b[..20]);
        assert_eq!(UpcallReply::unpack(&two).err().as_deref(), Some("upcall reply 1 is truncated"));
    }
}
