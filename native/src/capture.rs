//! Per-port packet capture: copies of the frames a port receives (with the
//! datapath's verdict on each) and sends, kept in a bounded ring that the
//! slow path drains into pcapng files and capture sessions.
//!
//! Off, capture costs the datapath one branch per burst (`Captures::active`).
//! On, a burst's frames are filtered (classic BPF, validated here), copied
//! up to the port's snaplen and queued; a full ring counts the frame as lost
//! and never holds up forwarding.

use crate::abi;
use std::collections::{HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

/// Records kept for the slow path before further frames count as lost.
const RING_RECORDS: usize = 65536;
/// Captured bytes kept for the slow path before further frames count as lost.
const RING_BYTES: usize = 32 << 20;
/// Instructions a filter may have (a classic BPF program's limit in Linux).
pub const BPF_MAXINSNS: usize = 4096;

/// Capture the frames a port receives.
pub const DIR_IN: u8 = abi::CAPTURE_DIR_IN;
/// Capture the frames a port sends.
pub const DIR_OUT: u8 = abi::CAPTURE_DIR_OUT;

/// What the datapath did with a captured frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Received, matched a flow whose actions output to the record's ports
    /// (none: the flow drops it).
    Flow,
    /// Received, matched no flow, and went up to the slow path (or was held
    /// for the upcall of its flow already on its way).
    Upcall,
    /// Received, matched no flow, and the slow path's queue was full: lost.
    UpcallLost,
    /// Sent by the port.
    Sent,
    /// Given to the port to send, and dropped by it (its queue was full).
    TxDropped,
}

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Flow => abi::CAPTURE_FLOW,
            Outcome::Upcall => abi::CAPTURE_UPCALL,
            Outcome::UpcallLost => abi::CAPTURE_UPCALL_LOST,
            Outcome::Sent => abi::CAPTURE_SENT,
            Outcome::TxDropped => abi::CAPTURE_TX_DROPPED,
        }
    }
}

/// One captured frame.
pub struct Record {
    pub time_ns: u64,
    pub port: u32,
    /// The port the frame came in on (for a sent frame, where it came from).
    pub in_port: u32,
    pub direction: u8,
    pub outcome: Outcome,
    /// The megaflow that matched a received frame.
    pub flow: Option<u64>,
    /// The output ports of that flow's actions.
    pub outputs: Vec<u32>,
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// Its first `snaplen` bytes.
    pub data: Vec<u8>,
}

/// How one port is captured.
pub struct PortCapture {
    /// DIR_IN, DIR_OUT or both.
    pub directions: u8,
    pub snaplen: u32,
    pub filter: Option<Bpf>,
}

/// The datapath's captures: which ports, and the ring of what they caught.
#[derive(Default)]
pub struct Captures {
    /// Whether any port is captured: the one test the fast path makes per burst.
    pub active: bool,
    ports: HashMap<u32, PortCapture>,
    ring: VecDeque<Record>,
    ring_bytes: usize,
    /// Frames a full ring had no room for, since the last drain.
    lost: u64,
}

impl Captures {
    /// Capture `port` as `config` says (replacing any capture of it), or stop capturing it.
    pub fn set(&mut self, port: u32, config: Option<PortCapture>) {
        match config {
            Some(c) if c.directions & (DIR_IN | DIR_OUT) != 0 => {
                self.ports.insert(port, c);
            }
            _ => {
                self.ports.remove(&port);
            }
        }
        self.active = !self.ports.is_empty();
    }

    /// The capture of `port` in `direction`, if there is one.
    pub fn of(&self, port: u32, direction: u8) -> Option<&PortCapture> {
        self.ports.get(&port).filter(|c| c.directions & direction != 0)
    }

    /// Whether `port` is captured in `direction` and its filter takes `frame`.
    pub fn wants(&self, port: u32, direction: u8, frame: &[u8]) -> bool {
        self.of(port, direction).is_some_and(|c| c.filter.as_ref().is_none_or(|f| f.matches(frame)))
    }

    /// Queue a copy of `frame` (already taken by `wants`), or count it as lost when the ring is full.
    pub fn record(&mut self, mut rec: Record, frame: &[u8]) {
        let snaplen = self.ports.get(&rec.port).map_or(0, |c| c.snaplen as usize);
        let n = frame.len().min(snaplen);
        if self.ring.len() >= RING_RECORDS || self.ring_bytes + n > RING_BYTES {
            self.lost += 1;
            return;
        }
        rec.orig_len = frame.len() as u32;
        rec.data = frame[..n].to_vec();
        self.ring_bytes += n;
        self.ring.push_back(rec);
    }

    /// Records from the `from`th on (those of the burst being handled), to settle their outcome.
    pub fn since(&mut self, from: usize) -> impl Iterator<Item = &mut Record> {
        self.ring.range_mut(from.min(self.ring.len())..)
    }

    /// Records waiting in the ring: where the next one goes.
    pub fn queued(&self) -> usize {
        self.ring.len()
    }

    /// Everything recorded since the last drain, and how many frames were lost meanwhile.
    pub fn take(&mut self) -> (VecDeque<Record>, u64) {
        self.ring_bytes = 0;
        (std::mem::take(&mut self.ring), std::mem::take(&mut self.lost))
    }
}

/// The wall clock in nanoseconds, as pcapng timestamps want it.
pub fn wall_clock_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Pack records for JS one after another as abi.rs's CAPTURE_* layout says.
pub fn pack(records: &VecDeque<Record>) -> Vec<u8> {
    let size: usize = records.iter().map(|r| abi::CAPTURE_HEADER_LEN + 4 * r.outputs.len() + r.data.len()).sum();
    let mut b = Vec::with_capacity(size);
    for r in records {
        let mut h = [0u8; abi::CAPTURE_HEADER_LEN];
        h[abi::CAPTURE_TIME_NS..][..8].copy_from_slice(&r.time_ns.to_le_bytes());
        h[abi::CAPTURE_FLOW_ID..][..8].copy_from_slice(&r.flow.unwrap_or(abi::CAPTURE_NO_FLOW).to_le_bytes());
        h[abi::CAPTURE_PORT..][..4].copy_from_slice(&r.port.to_le_bytes());
        h[abi::CAPTURE_IN_PORT..][..4].copy_from_slice(&r.in_port.to_le_bytes());
        h[abi::CAPTURE_ORIG_LEN..][..4].copy_from_slice(&r.orig_len.to_le_bytes());
        h[abi::CAPTURE_CAP_LEN..][..4].copy_from_slice(&(r.data.len() as u32).to_le_bytes());
        h[abi::CAPTURE_DIRECTION] = r.direction;
        h[abi::CAPTURE_OUTCOME] = r.outcome.code();
        h[abi::CAPTURE_N_OUTPUTS..][..2].copy_from_slice(&(r.outputs.len() as u16).to_le_bytes());
        b.extend_from_slice(&h);
        for p in &r.outputs {
            b.extend_from_slice(&p.to_le_bytes());
        }
        b.extend_from_slice(&r.data);
    }
    b
}

// ---------------------------------------------------------------- classic BPF

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Instruction classes and fields (linux/bpf_common.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;
/// Scratch memory words.
const MEMWORDS: u32 = 16;

/// A classic BPF filter, checked once so that running it cannot fail: every
/// jump lands inside the program (and cBPF jumps only forward, so it ends),
/// scratch slots exist, no division by a constant zero, and it ends in a return.
#[derive(Clone, Debug)]
pub struct Bpf {
    insns: Vec<Insn>,
}

impl Bpf {
    /// Validate `insns` as the kernel's `bpf_check_classic` does.
    pub fn new(insns: Vec<Insn>) -> Result<Bpf, String> {
        if insns.is_empty() || insns.len() > BPF_MAXINSNS {
            return Err(format!("a filter has 1 to {BPF_MAXINSNS} instructions, not {}", insns.len()));
        }
        for (pc, i) in insns.iter().enumerate() {
            let bad = |why: &str| Err(format!("filter instruction {pc} (code 0x{:02x}): {why}", i.code));
            let left = (insns.len() - pc - 1) as u64;
            match i.code & 0x07 {
                LD => match i.code & 0xe0 {
                    IMM | ABS | IND | LEN => {}
                    MEM if i.k < MEMWORDS => {}
                    _ => return bad("unknown load"),
                },
                LDX => match i.code & 0xe0 {
                    IMM | LEN => {}
                    MEM if i.k < MEMWORDS => {}
                    MSH if i.code & 0x18 == B => {}
                    _ => return bad("unknown load"),
                },
                ST | STX if i.k < MEMWORDS => {}
                ALU => {
                    let op = i.code & 0xf0;
                    if op > 0xa0 {
                        return bad("unknown arithmetic operation");
                    }
                    if (op == 0x30 || op == 0x90) && i.code & 0x08 == K && i.k == 0 {
                        return bad("division by zero");
                    }
                }
                JMP => {
                    let op = i.code & 0xf0;
                    if op == 0x00 {
                        if i.k as u64 >= left {
                            return bad("jump past the end");
                        }
                    } else if op > 0x40 || i.jt as u64 >= left || i.jf as u64 >= left {
                        return bad("jump past the end");
                    }
                }
                RET => {}
                MISC if i.code == MISC || i.code == MISC | 0x80 => {}
                _ => return bad("unknown instruction"),
            }
        }
        if insns[insns.len() - 1].code & 0x07 != RET {
            return Err("a filter must end in a return".into());
        }
        Ok(Bpf { insns })
    }

    /// Whether the filter accepts `frame` (returns non-zero for it).
    pub fn matches(&self, frame: &[u8]) -> bool {
        let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; MEMWORDS as usize]);
        let load = |at: u64, size: usize| -> Option<u32> {
            let at = usize::try_from(at).ok()?;
            let b = frame.get(at..at.checked_add(size)?)?;
            Some(b.iter().fold(0u32, |v, &byte| (v << 8) | byte as u32))
        };
        let mut pc = 0;
        loop {
            let i = self.insns[pc];
            pc += 1;
            let size = match i.code & 0x18 {
                W => 4,
                H => 2,
                _ => 1,
            };
            let src = if i.code & 0x08 == X { x } else { i.k };
            match i.code & 0x07 {
                LD => {
                    a = match i.code & 0xe0 {
                        IMM => i.k,
                        ABS => match load(i.k as u64, size) {
                            Some(v) => v,
                            None => return false,
                        },
                        IND => match load(x as u64 + i.k as u64, size) {
                            Some(v) => v,
                            None => return false,
                        },
                        MEM => mem[i.k as usize],
                        _ => frame.len() as u32,
                    }
                }
                LDX => {
                    x = match i.code & 0xe0 {
                        IMM => i.k,
                        MEM => mem[i.k as usize],
                        LEN => frame.len() as u32,
                        _ => match load(i.k as u64, 1) {
                            Some(v) => (v & 0x0f) * 4,
                            None => return false,
                        },
                    }
                }
                ST => mem[i.k as usize] = a,
                STX => mem[i.k as usize] = x,
                ALU => {
                    a = match i.code & 0xf0 {
                        0x00 => a.wrapping_add(src),
                        0x10 => a.wrapping_sub(src),
                        0x20 => a.wrapping_mul(src),
                        0x30 => match a.checked_div(src) {
                            Some(v) => v,
                            None => return false,
                        },
                        0x40 => a | src,
                        0x50 => a & src,
                        0x60 => a.checked_shl(src).unwrap_or(0),
                        0x70 => a.checked_shr(src).unwrap_or(0),
                        0x80 => a.wrapping_neg(),
                        0x90 => match a.checked_rem(src) {
                            Some(v) => v,
                            None => return false,
                        },
                        0xa0 => a ^ src,
                        _ => a,
                    }
                }
                JMP => {
                    let taken = match i.code & 0xf0 {
                        0x00 => {
                            pc += i.k as usize;
                            continue;
                        }
                        0x10 => a == src,
                        0x20 => a > src,
                        0x30 => a >= src,
                        _ => a & src != 0,
                    };
                    pc += if taken { i.jt } else { i.jf } as usize;
                }
                RET => {
                    return match i.code & 0x18 {
                        A => a != 0,
                        _ => i.k != 0,
                    }
                }
                _ => {
                    if i.code & 0x80 == 0 {
                        x = a;
                    } else {
                        a = x;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tcpdump -y EN10MB -ddd icmp`
    fn icmp() -> Bpf {
        let prog = [
            (0x28, 0, 0, 12),
            (0x15, 0, 3, 0x0800),
            (0x30, 0, 0, 23),
            (0x15, 0, 1, 1),
            (0x06, 0, 0, 262144),
            (0x06, 0, 0, 0),
        ];
        Bpf::new(prog.iter().map(|&(code, jt, jf, k)| Insn { code, jt, jf, k }).collect()).unwrap()
    }

    fn ipv4(proto: u8) -> Vec<u8> {
        let mut f = vec![0u8; 34];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[23] = proto;
        f
    }

    #[test]
    fn a_compiled_icmp_filter_takes_icmp_and_leaves_udp_and_short_frames() {
        let f = icmp();
        assert!(f.matches(&ipv4(1)));
        assert!(!f.matches(&ipv4(17)));
        assert!(!f.matches(&ipv4(1)[..20]), "a load past the end rejects the frame");
    }

    #[test]
    fn refuses_programs_that_jump_out_divide_by_zero_or_do_not_return() {
        let insn = |code, jt, jf, k| Insn { code, jt, jf, k };
        assert!(Bpf::new(vec![insn(0x15, 5, 0, 1), insn(0x06, 0, 0, 0)]).unwrap_err().contains("past the end"));
        assert!(Bpf::new(vec![insn(0x34, 0, 0, 0), insn(0x06, 0, 0, 0)]).unwrap_err().contains("division by zero"));
        assert!(Bpf::new(vec![insn(0x00, 0, 0, 1)]).unwrap_err().contains("return"));
        assert!(Bpf::new(vec![]).is_err());
    }

    #[test]
    fn a_full_ring_counts_frames_as_lost_and_a_drain_empties_it() {
        let mut c = Captures::default();
        c.set(1, Some(PortCapture { directions: DIR_IN, snaplen: 8, filter: None }));
        assert!(c.active && c.wants(1, DIR_IN, &[0; 20]) && !c.wants(1, DIR_OUT, &[0; 20]));
        let rec = || Record {
            time_ns: 1,
            port: 1,
            in_port: 1,
            direction: DIR_IN,
            outcome: Outcome::Flow,
            flow: Some(7),
            outputs: vec![2],
            orig_len: 0,
            data: Vec::new(),
        };
        for _ in 0..RING_RECORDS + 3 {
            c.record(rec(), &[0xab; 20]);
        }
        let (recs, lost) = c.take();
        assert_eq!((recs.len(), lost), (RING_RECORDS, 3));
        assert_eq!((recs[0].orig_len, recs[0].data.len()), (20, 8), "cut to the snaplen");
        assert_eq!(pack(&recs).len(), RING_RECORDS * (abi::CAPTURE_HEADER_LEN + 4 + 8));
        assert_eq!(c.take().0.len(), 0);
        c.set(1, None);
        assert!(!c.active);
    }
}
