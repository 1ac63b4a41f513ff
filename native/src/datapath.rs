//! The datapath: its ports, the poll loop thread that moves their frames
//! through the flow table, and the events it passes up to the slow path.
//!
//! One mutex guards the port table and the flow table. The poll thread takes
//! it once per wakeup and handles whole bursts under it; calls from JS (add a
//! port, install a flow, read counters) take it briefly between bursts.
//!
//! Upcalls go up in batches that the datapath keeps until the slow path has
//! answered every upcall in one (or said it is done with the batch, or had
//! it for `UPCALL_TIMEOUT_MS`): a reply names its upcall by batch and
//! index, so frames and keys cross to JS once and never back.

use crate::flow::actions::{self, Action, ActionList, ActionSink};
use crate::flow::key::{ExactKey, FlowKey};
use crate::flow::table::{FlowError, FlowStats, FlowTable, Lookup, Megaflow, PutMode, ValidActions, MAX_BURST};
use crate::meter::{MeterConfig, MeterError, MeterStats, MeterTable, Verdict};
use crate::packet::{Packet, VnetHdr, MAX_FRAME};
use crate::port::afpacket::AfPacketPort;
use crate::port::dummy::DummyPort;
use crate::port::patch::{PatchPort, PatchRegistry};
use crate::port::tap::{TapConfig, TapPort};
use crate::port::tunnel::{TunnelKind, TunnelPort};
use crate::port::{PortIo, PortStats, BURST};
use crate::sys::cvt;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
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
/// Upcall batches kept for the slow path's answers; while this many wait,
/// further misses are counted as lost.
const MAX_HELD_BATCHES: usize = 256;
/// A batch the slow path has had for longer than this is given up: its
/// unanswered misses and the frames held for them count as lost.
const UPCALL_TIMEOUT_MS: u64 = 2000;

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
    /// The userspace action's whole userdata (empty for a miss).
    pub userdata: Box<[u8]>,
    /// The frame's offload state, for sending it on when the answer comes.
    vnet: VnetHdr,
    /// Ties a miss to the frames of its flow held meanwhile (0 for action upcalls).
    seq: u64,
}

/// Upcalls passed up together, kept by the datapath until answered.
pub struct UpcallBatch {
    pub id: u32,
    pub upcalls: Vec<Upcall>,
    /// When the slow path got the batch: its time to answer runs from
    /// there, not from the batch's wait in the event queue (which
    /// EventSink bounds).
    received: OnceLock<Instant>,
    abandoned: AtomicBool,
}

impl UpcallBatch {
    /// The slow path has the batch now.
    pub fn received(&self) {
        let _ = self.received.set(Instant::now());
    }

    /// The batch could not be handed to JS after all: upkeep gives it up,
    /// counting its misses as lost.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
    }

    /// Whether upkeep should give the batch up.
    fn expired(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
            || self.received.get().is_some_and(|t| t.elapsed() > Duration::from_millis(UPCALL_TIMEOUT_MS))
    }
}

/// A flow the datapath removed by itself (idle), with its final stats.
pub struct ExpiredFlow {
    pub id: u64,
    pub stats: FlowStats,
}

/// What the datapath tells the slow path.
pub enum Event {
    Upcalls(Arc<UpcallBatch>),
    Expired(Vec<ExpiredFlow>),
    /// Dummy ports that sent frames JS has not been told of.
    Transmitted(Vec<u32>),
}

/// Where events go (the N-API layer implements it with a threadsafe function).
pub trait EventSink: Send + Sync {
    /// Hand over one event; gives it back when the receiver's queue is full.
    fn deliver(&self, event: Event) -> Result<(), Event>;
    /// Whether an upcall batch handed over now would be taken: someone
    /// answers upcalls, and the queue has room.
    fn takes_upcalls(&self) -> bool;
}

/// The kinds of port the datapath can open.
pub enum PortKind {
    /// An existing interface reached through an AF_PACKET socket.
    System,
    /// A tap device created and held by the switch.
    Tap(TapConfig),
    /// No device: frames are injected from JS and the ones sent are kept for it.
    Dummy,
    /// One end of a pair joined inside the datapath; `peer` names the other end.
    Patch { peer: String },
    /// A tunnel vport on the host's IP stack, on this UDP port (0: the
    /// tunnel's IANA port; GRE has none).
    Tunnel { kind: TunnelKind, udp_port: u16 },
}

impl PortKind {
    pub fn name(&self) -> &'static str {
        match self {
            PortKind::System => "system",
            PortKind::Tap(_) => "tap",
            PortKind::Dummy => "dummy",
            PortKind::Patch { .. } => "patch",
            PortKind::Tunnel { kind, .. } => kind.name(),
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

/// The slow path's answer to one upcall, which it names by batch and index.
pub struct UpcallReply<'a> {
    pub batch: u32,
    pub index: u32,
    /// Encoded action list for the frame (and the megaflow, if any).
    pub actions: &'a [u8],
    /// Install a megaflow: the upcall's key under this mask.
    pub mask: Option<FlowKey>,
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
    /// The `seq` of that upcall.
    upcall: u64,
    frames: Vec<(Vec<u8>, VnetHdr, u32)>,
}

/// An upcall batch passed up, with what of it is answered.
struct HeldBatch {
    batch: Arc<UpcallBatch>,
    answered: Vec<bool>,
    unanswered: usize,
}

struct State {
    ports: BTreeMap<u32, Port>,
    /// Bare forwarding (no lookup): in_port -> out_ports. The benchmark's ceiling.
    forward: HashMap<u32, Vec<u32>>,
    flows: FlowTable,
    pending: HashMap<ExactKey, PendingFlow>,
    pending_frames: usize,
    stats: DpStats,
    meters: MeterTable,
    /// Scratch packets for copies made by multi-action lists.
    pool: Vec<Packet>,
    /// Frames the slow path answered, with their actions: the poll thread's to send.
    replied: Vec<(Arc<ActionList>, Packet)>,
    /// Upcall batches by id.
    held: HashMap<u32, HeldBatch>,
    next_batch: u32,
    next_upcall_seq: u64,
    /// Dummy ports whose sent frames JS is still to be told of.
    tx_notices: Vec<u32>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    epoll: OwnedFd,
    wake: OwnedFd,
    events: Option<Box<dyn EventSink>>,
    patches: Arc<PatchRegistry>,
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

    /// The clock meters fill their buckets by.
    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Whether a miss can go up now.
    fn upcall_room(&self, st: &State) -> bool {
        st.held.len() < MAX_HELD_BATCHES && self.events.as_ref().is_some_and(|e| e.takes_upcalls())
    }

    /// Pass `ups` up as one batch, kept until answered.
    fn deliver_upcalls(&self, st: &mut State, ups: Vec<Upcall>) {
        if ups.is_empty() {
            return;
        }
        if !self.upcall_room(st) {
            // Nobody will answer: the next frame of each flow tries again.
            give_up(st, &ups, |_| true);
            return;
        }
        let sink = self.events.as_ref().expect("upcall_room saw it");
        let mut id = st.next_batch;
        while st.held.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        st.next_batch = id.wrapping_add(1);
        let n = ups.len();
        let batch =
            Arc::new(UpcallBatch { id, upcalls: ups, received: OnceLock::new(), abandoned: AtomicBool::new(false) });
        match sink.deliver(Event::Upcalls(Arc::clone(&batch))) {
            Ok(()) => {
                st.stats.upcalls += n as u64;
                st.held.insert(id, HeldBatch { batch, answered: vec![false; n], unanswered: n });
            }
            Err(_) => give_up(st, &batch.upcalls, |_| true),
        }
    }

    /// Tell JS of the dummy ports that sent frames; kept for the next try
    /// when the event queue is full.
    fn deliver_tx_notices(&self, st: &mut State) {
        if st.tx_notices.is_empty() {
            return;
        }
        let ports = std::mem::take(&mut st.tx_notices);
        if let Some(sink) = &self.events {
            if let Err(Event::Transmitted(ports)) = sink.deliver(Event::Transmitted(ports)) {
                st.tx_notices = ports;
            }
        }
    }
}

/// Give up the upcalls of `ups` that `unanswered` selects: each miss and
/// the frames held for it count as lost, and the next frame of its flow
/// misses again.
fn give_up(st: &mut State, ups: &[Upcall], unanswered: impl Fn(usize) -> bool) {
    for (i, up) in ups.iter().enumerate() {
        if up.reason != UpcallReason::Miss || !unanswered(i) {
            continue;
        }
        st.stats.lost += 1;
        let key = ExactKey(up.key);
        if st.pending.get(&key).is_some_and(|p| p.upcall == up.seq) {
            let p = st.pending.remove(&key).expect("just found");
            st.pending_frames -= p.frames.len();
            st.stats.lost += p.frames.len() as u64;
        }
    }
}

/// Forget held batch `id`, giving up what of it is unanswered.
fn release_batch(st: &mut State, id: u32) {
    if let Some(held) = st.held.remove(&id) {
        give_up(st, &held.batch.upcalls, |i| !held.answered[i]);
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
            meters: MeterTable::default(),
            pool: Vec::new(),
            replied: Vec::new(),
            held: HashMap::new(),
            next_batch: 0,
            next_upcall_seq: 1,
            tx_notices: Vec::new(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            stop: AtomicBool::new(false),
            epoll,
            wake,
            events,
            patches: Arc::new(PatchRegistry::default()),
            started: Instant::now(),
        });
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
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("port \"{name}\" is already in the datapath"),
            ));
        }
        let port_no = match port_no {
            0 => (1..=MAX_PORT_NO).find(|n| !st.ports.contains_key(n)).ok_or_else(|| {
                io::Error::new(io::ErrorKind::OutOfMemory, "resources exhausted: no free port number")
            })?,
            n if n > MAX_PORT_NO => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("port number {n} is above the maximum {MAX_PORT_NO}"),
                ))
            }
            n if st.ports.contains_key(&n) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("port number {n} is already in use")))
            }
            n => n,
        };
        let kind_name = kind.name();
        if name.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a port needs a name"));
        }
        let io: Box<dyn PortIo> = match kind {
            PortKind::System => Box::new(AfPacketPort::open(name)?),
            PortKind::Tap(config) => Box::new(TapPort::open(name, &config)?),
            PortKind::Dummy => Box::new(DummyPort::open()?),
            PortKind::Patch { peer } => Box::new(PatchPort::open(name, &peer, &self.shared.patches)?),
            PortKind::Tunnel { kind, udp_port } => Box::new(TunnelPort::open(name, kind, udp_port)?),
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

    /// Queue frames on dummy port `port_no` as if it had received them;
    /// returns how many were queued (the others, beyond its queue's room,
    /// count as rx_dropped).
    pub fn inject(&self, port_no: u32, frames: &[&[u8]]) -> io::Result<usize> {
        if let Some((i, f)) = frames.iter().enumerate().find(|(_, f)| f.len() < 14 || f.len() > MAX_FRAME) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("frame {i} is {} bytes: a frame is an Ethernet header (14 bytes) and at most {MAX_FRAME} bytes in all", f.len()),
            ));
        }
        let mut st = self.state();
        let (dummy, stats) = dummy_port(&mut st, port_no, "injected into")?;
        let queued = dummy.inject(frames);
        stats.rx_dropped += (frames.len() - queued) as u64;
        Ok(queued)
    }

    /// The frames dummy port `port_no` sent since the last call, oldest first.
    pub fn take_transmitted(&self, port_no: u32) -> io::Result<Vec<Vec<u8>>> {
        let mut st = self.state();
        Ok(dummy_port(&mut st, port_no, "read from")?.0.take_transmitted())
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
        self.shared.deliver_tx_notices(&mut st);
        Ok(())
    }

    /// Answer upcalls: for each reply optionally install the megaflow, then
    /// execute the upcall's frame and the frames of its flow held meanwhile,
    /// in order. One lock for the whole batch keeps the poll thread from
    /// interleaving, and keeps replies cheap. Returns per reply the new
    /// flow's id (None when not installed, e.g. at the flow limit) or why
    /// the reply was refused. Every reply uses up its upcall, refused or
    /// not (a refused one's frames count as lost), and a batch whose
    /// upcalls are all answered is released.
    pub fn upcall_replies(&self, replies: &[UpcallReply]) -> Vec<Result<Option<u64>, String>> {
        let now = self.shared.now_ms();
        let mut st = self.state();
        let mut work: Vec<(Arc<ActionList>, Packet)> = Vec::new();
        let mut results = Vec::with_capacity(replies.len());
        // A flood of new flows mostly shares a few action lists: the last
        // one validated serves the next reply with the same bytes.
        let mut last: Option<ValidActions> = None;
        for r in replies {
            let (batch, index) = match take_upcall(&mut st, r.batch, r.index) {
                Ok(found) => found,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            let up = &batch.upcalls[index];
            let refuse = |st: &mut State, why: String| {
                give_up(st, std::slice::from_ref(up), |_| true);
                Err(why)
            };
            if last.as_ref().is_none_or(|v| *v.raw != *r.actions) {
                match ValidActions::new(r.actions) {
                    Ok(v) => last = Some(v),
                    Err(e) => {
                        results.push(refuse(&mut st, e.to_string()));
                        continue;
                    }
                }
            }
            let valid = last.as_ref().expect("validated above");
            let id = match &r.mask {
                Some(mask) => match st.flows.put_valid(&up.key, mask, valid, PutMode::CreateOrModify, false, now) {
                    Ok(id) => Some(id),
                    // At the limit the frame is still forwarded, only not cached.
                    Err(FlowError::LimitReached(_)) => None,
                    Err(e) => {
                        results.push(refuse(&mut st, e.to_string()));
                        continue;
                    }
                },
                None => None,
            };
            let list = &valid.list;
            let mut pkt = Packet::from_frame(&up.frame);
            pkt.vnet = up.vnet;
            pkt.in_port = up.in_port;
            work.push((Arc::clone(list), pkt));
            // Only this flow's held frames: every other held flow has its own
            // upcall in flight and is released by its own reply.
            if let Some(p) = st.pending.remove(&ExactKey(up.key)) {
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

    /// The slow path is done with batch `id`: give up the upcalls in it not
    /// answered yet (their misses and held frames count as lost). A batch
    /// already released is no error.
    pub fn finish_upcalls(&self, id: u32) {
        release_batch(&mut self.state(), id);
    }

    pub fn flow_put(
        &self,
        key: &FlowKey,
        mask: &FlowKey,
        raw_actions: &[u8],
        mode: PutMode,
        refuse_overlap: bool,
    ) -> Result<u64, FlowError> {
        let now = self.shared.now_ms();
        let mut st = self.state();
        let id = st.flows.put(key, mask, raw_actions, mode, refuse_overlap, now)?;
        // Frames held for flows this one now covers go with its actions.
        let masked = key.masked(mask);
        let held = take_pending(&mut st, |k| masked.matches(k, mask));
        if !held.is_empty() {
            let list = st.flows.get(id).map(|f| Arc::clone(&f.actions)).expect("just installed");
            run_actions(&self.shared, &mut st, held.into_iter().map(|p| (Arc::clone(&list), p)).collect());
            self.shared.deliver_tx_notices(&mut st);
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

    /// (id, stats, ms since last use) of the flows used in the last
    /// `within_ms` milliseconds, least recently used first: what a periodic
    /// stats pass needs, without the keys and actions of every idle flow.
    pub fn flow_stats_used_within(&self, within_ms: u64) -> Vec<(u64, FlowStats, u64)> {
        let now = self.shared.now_ms();
        let since = now.saturating_sub(within_ms);
        self.state()
            .flows
            .stats_used_since(since)
            .into_iter()
            .map(|(id, s)| (id, s, now.saturating_sub(s.used_ms)))
            .collect()
    }

    /// Add or reconfigure meter `id` (its buckets start full, its counters at 0).
    pub fn meter_set(&self, id: u32, config: &MeterConfig) -> Result<(), MeterError> {
        let now = self.shared.now_ns();
        self.state().meters.set(id, config, now)
    }

    /// Remove meter `id`, returning its last counters (None if it did not exist).
    /// Flows that still name it let their frames pass unmetered.
    pub fn meter_del(&self, id: u32) -> Option<MeterStats> {
        self.state().meters.delete(id)
    }

    pub fn meter_stats(&self, id: u32) -> Option<MeterStats> {
        self.state().meters.stats(id)
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
        (
            st.stats,
            st.flows.len(),
            st.flows.mask_count(),
            st.flows.limit,
            st.flows.max_idle_ms,
            st.flows.emc_insert_inv_prob,
        )
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

/// Take upcall `index` of held batch `batch` for its answer, releasing the
/// batch when that was its last unanswered upcall.
fn take_upcall(st: &mut State, batch: u32, index: u32) -> Result<(Arc<UpcallBatch>, usize), String> {
    let Some(held) = st.held.get_mut(&batch) else {
        return Err(format!(
            "upcall {index} of batch {batch} is no longer held: its batch was answered, finished, or given up {UPCALL_TIMEOUT_MS} ms after the slow path got it"
        ));
    };
    let i = index as usize;
    match held.answered.get(i) {
        None => return Err(format!("batch {batch} has no upcall {index}: it has {}", held.answered.len())),
        Some(true) => return Err(format!("upcall {index} of batch {batch} was answered already")),
        Some(false) => {}
    }
    held.answered[i] = true;
    held.unanswered -= 1;
    let found = (Arc::clone(&held.batch), i);
    if held.unanswered == 0 {
        st.held.remove(&batch);
    }
    Ok(found)
}

/// Dummy port `port_no` and its counters, or an error saying what it is instead.
fn dummy_port<'a>(st: &'a mut State, port_no: u32, verb: &str) -> io::Result<(&'a mut DummyPort, &'a mut PortStats)> {
    let Port { name, kind, io, stats } = st.ports.get_mut(&port_no).ok_or_else(|| no_such_port(port_no))?;
    match io.as_dummy() {
        Some(dummy) => Ok((dummy, stats)),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("port {port_no} (\"{name}\") is a {kind} port: frames can only be {verb} dummy ports"),
        )),
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
                let burst = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handle_burst(shared, &mut st, port_no, &mut batch)
                }));
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
        shared.deliver_tx_notices(&mut st);
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
            send_out(st, out, &frames);
        }
        return n;
    }
    process(shared, st, received);
    n
}

/// Look up and execute a burst.
fn process(shared: &Shared, st: &mut State, pkts: &mut [Packet]) {
    let now = shared.now_ms();
    let mut tx = Tx::new(std::mem::take(&mut st.pool), shared.now_ns());
    let mut upcalls = Vec::new();
    let (mut keys, mut hashes) = ([FlowKey::default(); MAX_BURST], [0u64; MAX_BURST]);
    let mut found = [Lookup::Miss; MAX_BURST];
    for (c, chunk) in pkts.chunks_mut(MAX_BURST).enumerate() {
        // Parse the whole burst before hashing any key: a key's words read
        // right after its fields were written one by one would stall.
        for (key, pkt) in keys.iter_mut().zip(chunk.iter()) {
            key.extract_into(pkt.frame(), pkt.in_port);
            if let Some(t) = &pkt.rx_tunnel {
                key.set_tunnel(t);
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
                    tx.execute(&flow.actions, pkt, i, &mut st.stats, &mut st.meters);
                }
                Lookup::Miss => {
                    st.stats.missed += 1;
                    if let Some(p) = st.pending.get_mut(&ExactKey(*key)) {
                        // An upcall for this flow is on its way: hold the frame for the answer.
                        if p.frames.len() < PENDING_PER_FLOW && st.pending_frames < PENDING_TOTAL {
                            p.frames.push((pkt.frame().to_vec(), pkt.vnet, pkt.in_port));
                            st.pending_frames += 1;
                        } else {
                            st.stats.lost += 1;
                        }
                    } else if !shared.upcall_room(st) {
                        // Nobody can take an upcall now: count the frame and move on cheaply.
                        st.stats.lost += 1;
                    } else {
                        let seq = st.next_upcall_seq;
                        st.next_upcall_seq += 1;
                        st.pending.insert(ExactKey(*key), PendingFlow { upcall: seq, frames: Vec::new() });
                        let frame = pkt.frame().to_vec();
                        upcalls.push(Upcall {
                            reason: UpcallReason::Miss,
                            in_port: pkt.in_port,
                            key: *key,
                            frame,
                            userdata: Box::default(),
                            vnet: pkt.vnet,
                            seq,
                        });
                    }
                }
            }
        }
    }
    upcalls.append(&mut tx.userspace);
    shared.deliver_upcalls(st, upcalls);
    tx.send(st, &*pkts);
    st.pool = tx.into_pool();
}

/// Run one action list on frames the slow path handed back (they need no lookup).
fn run_actions(shared: &Shared, st: &mut State, work: Vec<(Arc<ActionList>, Packet)>) {
    let mut tx = Tx::new(std::mem::take(&mut st.pool), shared.now_ns());
    let mut pkts = Vec::with_capacity(work.len());
    for (i, (list, mut pkt)) in work.into_iter().enumerate() {
        tx.execute(&list, &mut pkt, i, &mut st.stats, &mut st.meters);
        pkts.push(pkt);
    }
    let ups = std::mem::take(&mut tx.userspace);
    shared.deliver_upcalls(st, ups);
    tx.send(st, &pkts);
    st.pool = tx.into_pool();
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
    /// Index of the burst packet being executed (for the sink callbacks).
    current: usize,
    /// The datapath clock for this burst's meters.
    now_ns: u64,
}

impl Tx {
    fn new(pool: Vec<Packet>, now_ns: u64) -> Self {
        Tx { pool, copies: 0, outs: Vec::with_capacity(MAX_BURST), userspace: Vec::new(), current: 0, now_ns }
    }

    fn execute(
        &mut self,
        list: &ActionList,
        pkt: &mut Packet,
        index: usize,
        stats: &mut DpStats,
        meters: &mut MeterTable,
    ) {
        // The common cases need no copy: meters (if any), then every other
        // action an output (one port, or flooding) or a sample whose list
        // leaves the frame alone (sFlow's). A remark changes the burst's
        // own packet, which the outputs then send.
        let metered = list.actions.iter().take_while(|a| matches!(a, Action::Meter(_))).count();
        let plain = |a: &Action| match a {
            Action::Output(_) => true,
            Action::Sample(s) => !s.needs_copy,
            _ => false,
        };
        if list.actions[metered..].iter().all(plain) {
            for a in &list.actions[..metered] {
                if let Action::Meter(id) = a {
                    match meters.apply(*id, pkt.len(), self.now_ns) {
                        Verdict::Pass => {}
                        Verdict::Drop => return,
                        Verdict::Remark { prec_level } => actions::remark(pkt, prec_level),
                    }
                }
            }
            for a in &list.actions[metered..] {
                match a {
                    Action::Output(port) => self.outs.push((*port, OutRef::Burst(index))),
                    Action::Sample(s) if actions::sample_chooses(s.probability) => {
                        self.current = index;
                        let report = actions::execute_sample(s, pkt, &mut Metered { tx: self, meters });
                        stats.action_errors += report.failed as u64;
                    }
                    _ => {}
                }
            }
            return;
        }
        self.current = index;
        let report = actions::execute(list, pkt, &mut Metered { tx: self, meters });
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
            send_out(st, port_no, &frames);
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
        c.egress_tunnel = pkt.egress_tunnel;
        self.copies += 1;
        self.copies - 1
    }
}

/// The sink of a list that needs more than outputs: the burst's Tx, with
/// the datapath's meters beside it.
struct Metered<'a> {
    tx: &'a mut Tx,
    meters: &'a mut MeterTable,
}

impl ActionSink for Metered<'_> {
    fn output(&mut self, port: u32, pkt: &Packet) {
        self.tx.output(port, pkt);
    }

    fn userspace(&mut self, pkt: &Packet, cookie: u64, userdata: &[u8]) {
        self.tx.userspace(pkt, cookie, userdata);
    }

    fn meter(&mut self, meter_id: u32, pkt: &Packet) -> Verdict {
        self.meters.apply(meter_id, pkt.len(), self.tx.now_ns)
    }
}

impl Tx {
    fn output(&mut self, port: u32, pkt: &Packet) {
        let c = self.copy_of(pkt);
        self.outs.push((port, OutRef::Copy(c)));
    }

    fn userspace(&mut self, pkt: &Packet, cookie: u64, userdata: &[u8]) {
        let mut key = FlowKey::extract(pkt.frame(), pkt.in_port);
        if let Some(t) = &pkt.rx_tunnel {
            key.set_tunnel(t);
        }
        let frame = pkt.frame().to_vec();
        self.userspace.push(Upcall {
            reason: UpcallReason::Action { cookie },
            in_port: pkt.in_port,
            key,
            frame,
            userdata: userdata.into(),
            vnet: pkt.vnet,
            seq: 0,
        });
    }
}

/// Send `frames` out of port `port_no` (if it is still there), noting a
/// dummy port whose sent frames JS should hear of, and sending on the
/// port's answers to senders of frames it could not take.
fn send_out(st: &mut State, port_no: u32, frames: &[&Packet]) {
    let Some(port) = st.ports.get_mut(&port_no) else { return };
    port.io.send_burst(frames, &mut port.stats);
    if port.io.as_dummy().is_some_and(|d| d.take_notice()) {
        st.tx_notices.push(port_no);
    }
    for reply in port.io.take_replies() {
        // Back where the frame came from; a reply never goes to the port that made it.
        if reply.in_port != port_no {
            send_out(st, reply.in_port, &[&reply]);
        }
    }
}

fn collect_kernel_drops(st: &mut State) {
    for port in st.ports.values_mut() {
        port.stats.rx_dropped += port.io.take_kernel_drops();
    }
}

/// Periodic work: reattach ports, expire flows, give up unanswered upcalls.
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
    let expired: Vec<ExpiredFlow> =
        st.flows.expire(now).into_iter().map(|(id, f)| ExpiredFlow { id, stats: f.stats }).collect();
    if !expired.is_empty() {
        if let Some(sink) = &shared.events {
            // A full queue loses these flows' last counts: the rest of the
            // switch is better served by the room than by waiting for it.
            let _ = sink.deliver(Event::Expired(expired));
        }
    }
    // Every held frame waits for an upcall in one of these batches, so
    // giving up the batches also gives up frames held too long.
    let stale: Vec<u32> = st.held.values().filter(|h| h.batch.expired()).map(|h| h.batch.id).collect();
    for id in stale {
        release_batch(st, id);
    }
    st.flows.reorder_subtables();
    st.stats.upkeeps += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{ACTION_OUTPUT, KEY_LEN};
    use std::sync::mpsc;

    /// Hands every event to the test through a channel.
    struct ChannelSink(Mutex<mpsc::Sender<Event>>);

    impl EventSink for ChannelSink {
        fn deliver(&self, event: Event) -> Result<(), Event> {
            self.0.lock().unwrap().send(event).map_err(|e| e.0)
        }
        fn takes_upcalls(&self) -> bool {
            true
        }
    }

    const WAIT: Duration = Duration::from_secs(5);

    fn open() -> (Datapath, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel();
        (Datapath::open(Some(Box::new(ChannelSink(Mutex::new(tx))))).unwrap(), rx)
    }

    /// A 60-byte Ethernet frame from MAC 02:00:00:00:00:<src>, with `tag` as its last byte.
    fn frame(src: u8, tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xee]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src]);
        f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
        f[59] = tag;
        f
    }

    fn output(port: u32) -> Vec<u8> {
        let mut a = ACTION_OUTPUT.to_le_bytes().to_vec();
        a.extend_from_slice(&4u16.to_le_bytes());
        a.extend_from_slice(&port.to_le_bytes());
        a
    }

    fn from_port(port: u32) -> (FlowKey, FlowKey) {
        (FlowKey { in_port: port, ..FlowKey::default() }, FlowKey { in_port: u32::MAX, ..FlowKey::default() })
    }

    fn exact() -> FlowKey {
        FlowKey::from_bytes(&[0xff; KEY_LEN]).unwrap()
    }

    fn stats_of(dp: &Datapath, port: u32) -> PortStats {
        dp.ports().into_iter().find(|p| p.port_no == port).unwrap().stats
    }

    /// The next upcall batch, skipping other events.
    fn next_batch(rx: &mpsc::Receiver<Event>) -> Arc<UpcallBatch> {
        let deadline = Instant::now() + WAIT;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("an upcall batch in time")
            {
                Event::Upcalls(b) => return b,
                _ => continue,
            }
        }
    }

    /// The frames `port` sends until there are `n`, waiting on the
    /// datapath's "transmitted" notices.
    fn transmitted(dp: &Datapath, rx: &mpsc::Receiver<Event>, port: u32, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        loop {
            got.extend(dp.take_transmitted(port).unwrap());
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(_) => continue,
                Err(_) => panic!("port {port} sent {} of {n} frames in time", got.len()),
            }
        }
    }

    /// Wait for a state that only the poll thread's upkeep brings about.
    fn eventually(what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !cond() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn an_injected_frame_takes_an_installed_flow_out_of_a_dummy_port() {
        let (dp, rx) = open();
        let (a, b) = (dp.add_port(PortKind::Dummy, "a", 0).unwrap(), dp.add_port(PortKind::Dummy, "b", 0).unwrap());
        let (key, mask) = from_port(a);
        dp.flow_put(&key, &mask, &output(b), PutMode::Create, false).unwrap();
        assert_eq!(dp.inject(a, &[&frame(1, 1), &frame(1, 2)]).unwrap(), 2);
        assert_eq!(transmitted(&dp, &rx, b, 2), vec![frame(1, 1), frame(1, 2)]);
        assert_eq!((stats_of(&dp, a).rx_packets, stats_of(&dp, b).tx_packets, stats_of(&dp, b).tx_bytes), (2, 2, 120));
        assert_eq!((dp.stats().0.hit, dp.stats().0.missed), (2, 0));
    }

    #[test]
    fn a_miss_goes_up_once_and_its_answer_sends_the_held_frames_after_it_in_order() {
        let (dp, rx) = open();
        let (a, b) = (dp.add_port(PortKind::Dummy, "a", 0).unwrap(), dp.add_port(PortKind::Dummy, "b", 0).unwrap());
        let frames = [frame(1, 1), frame(1, 2), frame(1, 3)];
        dp.inject(a, &frames.iter().map(|f| &f[..]).collect::<Vec<_>>()).unwrap();
        let batch = next_batch(&rx);
        assert_eq!(batch.upcalls.len(), 1, "the later frames of the flow wait for the first one's answer");
        let up = &batch.upcalls[0];
        assert_eq!((up.reason, up.in_port, &up.frame), (UpcallReason::Miss, a, &frames[0]));
        let out = output(b);
        let reply = UpcallReply { batch: batch.id, index: 0, actions: &out, mask: Some(exact()) };
        let [Ok(Some(id))] = dp.upcall_replies(std::slice::from_ref(&reply))[..] else { panic!("not installed") };
        assert_eq!(transmitted(&dp, &rx, b, 3), frames.to_vec());
        assert_eq!(dp.flow_get(id).unwrap().stats.packets, 2, "the held frames count as the flow's");
        let again = dp.upcall_replies(&[reply]);
        assert!(again[0].as_ref().unwrap_err().contains("no longer held"), "{again:?}");
        assert_eq!(dp.stats().0.lost, 0);
    }

    #[test]
    fn finishing_a_batch_gives_up_the_misses_left_unanswered() {
        let (dp, rx) = open();
        let (a, b) = (dp.add_port(PortKind::Dummy, "a", 0).unwrap(), dp.add_port(PortKind::Dummy, "b", 0).unwrap());
        dp.inject(a, &[&frame(1, 0), &frame(2, 0), &frame(2, 1)]).unwrap();
        let batch = next_batch(&rx);
        assert_eq!(batch.upcalls.len(), 2);
        let out = output(b);
        let answered = dp.upcall_replies(&[UpcallReply { batch: batch.id, index: 0, actions: &out, mask: None }]);
        assert!(answered[0].is_ok());
        dp.finish_upcalls(batch.id);
        assert_eq!(dp.stats().0.lost, 2, "the second flow's upcall and the frame held for it");
        dp.inject(a, &[&frame(2, 2)]).unwrap();
        let retry = next_batch(&rx);
        assert_eq!(retry.upcalls[0].frame, frame(2, 2), "the flow misses again rather than being held");
    }

    #[test]
    fn a_batch_that_never_reached_js_is_given_up_by_upkeep() {
        let (dp, rx) = open();
        let a = dp.add_port(PortKind::Dummy, "a", 0).unwrap();
        dp.inject(a, &[&frame(1, 0)]).unwrap();
        next_batch(&rx).abandon();
        eventually("the abandoned miss counted as lost", || dp.stats().0.lost == 1);
    }

    #[test]
    fn a_batch_times_out_only_once_the_slow_path_has_had_it_that_long() {
        let batch = |received: Option<Duration>| {
            let b = UpcallBatch {
                id: 0,
                upcalls: Vec::new(),
                received: OnceLock::new(),
                abandoned: AtomicBool::new(false),
            };
            if let Some(ago) = received {
                b.received.set(Instant::now() - ago).unwrap();
            }
            b
        };
        let timeout = Duration::from_millis(UPCALL_TIMEOUT_MS);
        assert!(!batch(None).expired(), "still in the event queue");
        assert!(!batch(Some(timeout / 2)).expired());
        assert!(batch(Some(timeout + Duration::from_millis(1))).expired());
        let lost = batch(None);
        lost.abandon();
        assert!(lost.expired());
    }

    #[test]
    fn a_frame_sent_into_a_patch_port_is_looked_up_as_received_on_its_peer() {
        let (dp, rx) = open();
        let a = dp.add_port(PortKind::Dummy, "a", 0).unwrap();
        let pa = dp.add_port(PortKind::Patch { peer: "pb".into() }, "pa", 0).unwrap();
        let pb = dp.add_port(PortKind::Patch { peer: "pa".into() }, "pb", 0).unwrap();
        let b = dp.add_port(PortKind::Dummy, "b", 0).unwrap();
        for (from, to) in [(a, pa), (pb, b)] {
            let (key, mask) = from_port(from);
            dp.flow_put(&key, &mask, &output(to), PutMode::Create, false).unwrap();
        }
        dp.inject(a, &[&frame(1, 1)]).unwrap();
        assert_eq!(transmitted(&dp, &rx, b, 1), vec![frame(1, 1)]);
        assert_eq!((stats_of(&dp, pa).tx_packets, stats_of(&dp, pb).rx_packets), (1, 1));

        dp.del_port(pb).unwrap();
        dp.inject(a, &[&frame(1, 2)]).unwrap();
        eventually("the frame for the missing peer counted as dropped", || stats_of(&dp, pa).tx_dropped == 1);
        dp.add_port(PortKind::Patch { peer: "pa".into() }, "pb", pb).unwrap();
        dp.inject(a, &[&frame(1, 3)]).unwrap();
        assert_eq!(transmitted(&dp, &rx, b, 1), vec![frame(1, 3)], "the waiting end works again once its peer is back");
    }

    #[test]
    fn frames_are_injected_into_dummy_ports_only_and_must_be_ethernet_frames() {
        let (dp, _rx) = open();
        let a = dp.add_port(PortKind::Dummy, "a", 0).unwrap();
        let p = dp.add_port(PortKind::Patch { peer: "q".into() }, "p", 0).unwrap();
        let err = dp.inject(p, &[&frame(1, 1)]).unwrap_err().to_string();
        assert_eq!(err, format!("port {p} (\"p\") is a patch port: frames can only be injected into dummy ports"));
        let err = dp.inject(a, &[&frame(1, 1), &[0u8; 5]]).unwrap_err().to_string();
        assert!(err.starts_with("frame 1 is 5 bytes"), "{err}");
        assert!(dp.inject(99, &[&frame(1, 1)]).unwrap_err().to_string().contains("no port 99"));
    }
}
