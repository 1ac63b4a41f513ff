//! Fuzzing of the datapath's parsers: frames through flow key extraction and every action,
//! encoded action lists through validation and execution, and tunnel headers through
//! decapsulation. Seeds are real frames (scripts/fuzz/corpus/frames.pcap, captured from two
//! kernels talking, VXLAN included); each input is a seed mutated by a seeded generator, so a
//! report's index reproduces it. A panic is a crash: it is caught, counted, and the first few are
//! printed with their input. `tvs-fuzz` runs it for long (`node dist/scripts/fuzz.js`); the test
//! below runs it briefly in the suite.

use crate::abi::{
    ACTION_METER, ACTION_OUTPUT, ACTION_POP_VLAN, ACTION_PUSH_VLAN, ACTION_SAMPLE, ACTION_SET, ACTION_SET_TUNNEL,
    ACTION_USERSPACE, SET_FIELDS,
};
use crate::flow::actions::{execute, validate, ActionList, ActionSink};
use crate::flow::key::FlowKey;
use crate::meter::{MeterTable, Verdict};
use crate::packet::Packet;
use crate::wire::tunnel::{emit_geneve, emit_gre, emit_vxlan, parse_geneve, parse_gre, parse_vxlan};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// xorshift64*: the same inputs for the same seed, on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values at the edges of the integer types length and count fields use.
const BOUNDARY: [u8; 6] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/// One to four edits of `input`: flipped bits, boundary bytes and words, cuts, inserted runs,
/// repeated slices, or the tail of another seed.
fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 if at < b.len() => b[at] ^= 1 << rng.below(8),
            1 if at < b.len() => b[at] = BOUNDARY[rng.below(BOUNDARY.len())],
            2 if at + 1 < b.len() => {
                let words = [0u16, 1, 0x7fff, 0x8000, 0xffff, b.len() as u16, (b.len() as u16).wrapping_add(1)];
                b[at..at + 2].copy_from_slice(&words[rng.below(words.len())].to_be_bytes());
            }
            3 => b.truncate(at),
            4 => {
                let run = vec![rng.below(256) as u8; 1 + rng.below(32)];
                b.splice(at..at, run);
            }
            5 => {
                let len = 1 + rng.below(b.len().saturating_sub(at).max(1));
                let slice = b[at..(at + len).min(b.len())].to_vec();
                b.splice(at..at, slice);
            }
            _ => {
                let other = &others[rng.below(others.len())];
                b.truncate(at);
                b.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
        }
    }
    b
}

/// The frames of a classic pcap file (either byte order, microsecond or nanosecond stamps).
pub fn pcap_frames(file: &[u8]) -> Vec<Vec<u8>> {
    let magic = file.get(..4).map(|m| u32::from_le_bytes(m.try_into().expect("4 bytes")));
    let le = match magic {
        Some(0xa1b2_c3d4 | 0xa1b2_3c4d) => true,
        Some(0xd4c3_b2a1 | 0x4d3c_b2a1) => false,
        _ => panic!("the corpus is not a pcap file"),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = file[at..at + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let len = u32_at(at + 8) as usize;
        let Some(frame) = file.get(at + 16..at + 16 + len) else { break };
        frames.push(frame.to_vec());
        at += 16 + len;
    }
    frames
}

/// A sink that counts what the actions send, with a meter table whose clock stands still.
#[derive(Default)]
struct Sink {
    outputs: usize,
    meters: MeterTable,
}

impl ActionSink for Sink {
    fn output(&mut self, _port: u32, _pkt: &Packet) {
        self.outputs += 1;
    }
    fn userspace(&mut self, _pkt: &Packet, _cookie: u64, _userdata: &[u8]) {
        self.outputs += 1;
    }
    fn meter(&mut self, meter_id: u32, pkt: &Packet) -> Verdict {
        self.meters.apply(meter_id, pkt.len(), 0)
    }
}

fn action(ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = ty.to_le_bytes().to_vec();
    v.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    v.extend_from_slice(payload);
    v.resize(v.len().next_multiple_of(8), 0);
    v
}

/// Encoded lists holding every kind of action, every set field included, as the slow path builds them.
fn action_seeds() -> Vec<Vec<u8>> {
    let mut sets = Vec::new();
    for (field, _, width) in SET_FIELDS {
        let mut p = (field as u16).to_le_bytes().to_vec();
        p.extend_from_slice(&[0, 0]);
        p.extend(std::iter::repeat_n(0x5a, width));
        p.extend(std::iter::repeat_n(0xff, width));
        sets.push(action(ACTION_SET, &p));
    }
    let mut tunnel = 0x2au64.to_be_bytes().to_vec();
    tunnel.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2, 0, 0x05, 0, 64, 0, 0, 0x12, 0xb5]);
    let with_option = [tunnel.clone(), vec![0x01, 0x02, 0x80, 0x01, 0, 0, 0, 7]].concat();
    let mut userspace = 0u32.to_le_bytes().to_vec();
    userspace.extend_from_slice(&[0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    let basics = [
        action(ACTION_OUTPUT, &2u32.to_le_bytes()),
        action(ACTION_USERSPACE, &userspace),
        action(ACTION_PUSH_VLAN, &[0x81, 0x00, 0x10, 0x05]),
        action(ACTION_POP_VLAN, &[]),
        action(ACTION_METER, &1u32.to_le_bytes()),
        action(ACTION_SET_TUNNEL, &tunnel),
        action(ACTION_SET_TUNNEL, &with_option),
    ];
    // A sample of every basic action (sFlow's is a userspace action), and one inside another.
    let sampled = [(u32::MAX / 2).to_le_bytes().to_vec(), basics.concat()].concat();
    let nested = [u32::MAX.to_le_bytes().to_vec(), action(ACTION_SAMPLE, &sampled)].concat();
    let samples = [action(ACTION_SAMPLE, &sampled), action(ACTION_SAMPLE, &nested)];
    let mut seeds: Vec<Vec<u8>> =
        basics.iter().cloned().chain(sets.iter().cloned()).chain(samples.iter().cloned()).collect();
    seeds.push(basics.concat());
    seeds.push(sets.concat());
    seeds.push([basics.concat(), sets.concat(), basics.concat()].concat());
    seeds
}

/// Tunnel datagrams (the UDP or GRE payload) around the seed frames: the kernel's VXLAN as
/// captured, and Geneve (with an option) and GRE (with key and checksum) built the way TVS sends them.
fn tunnel_seeds(frames: &[Vec<u8>]) -> Vec<(u8, Vec<u8>)> {
    let mut seeds = Vec::new();
    for f in frames {
        // IPv4 UDP to port 4789: the captured VXLAN datagrams.
        if f.len() > 42 && f[12..14] == [0x08, 0x00] && f[23] == 17 && f[36..38] == 4789u16.to_be_bytes() {
            seeds.push((b'v', f[42..].to_vec()));
        }
        let mut vx = [0u8; 8];
        emit_vxlan(7, &mut vx);
        seeds.push((b'v', [&vx[..], f].concat()));
        let mut gen = [0u8; 8 + 8];
        let n = emit_geneve(7, false, &[0x01, 0x02, 0x80, 0x01, 0, 0, 0, 9], &mut gen);
        seeds.push((b'g', [&gen[..n], f].concat()));
        let mut gre = [0u8; 12];
        let n = emit_gre(Some(0x1234), true, f, &mut gre);
        seeds.push((b'r', [&gre[..n], f].concat()));
    }
    seeds
}

/// What one target's run saw.
#[derive(Default, Debug)]
pub struct Counts {
    pub target: &'static str,
    pub inputs: u64,
    pub accepted: u64,
    pub refused: u64,
    pub panics: u64,
    pub slowest_us: u128,
    pub seconds: u64,
}

impl Counts {
    /// Runs `f` on one input (it returns whether the input was accepted); a panic is counted and shown.
    fn run(&mut self, index: u64, input: &[u8], f: impl FnOnce() -> bool) {
        let start = Instant::now();
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(true) => self.accepted += 1,
            Ok(false) => self.refused += 1,
            Err(_) => {
                self.panics += 1;
                if self.panics <= 5 {
                    let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
                    eprintln!("CRASH {} #{index}: input {hex}", self.target);
                }
            }
        }
        self.slowest_us = self.slowest_us.max(start.elapsed().as_micros());
        self.inputs += 1;
    }

    /// One line of JSON, as scripts/fuzz.ts reads it.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"target\":\"{}\",\"inputs\":{},\"accepted\":{},\"refused\":{},\"panics\":{},\"slowest_us\":{},\"seconds\":{}}}",
            self.target, self.inputs, self.accepted, self.refused, self.panics, self.slowest_us, self.seconds
        )
    }
}

/// Every action, one after another, on one frame: sets of every field, pushes, pops, a tunnel.
fn every_action() -> ActionList {
    let seeds = action_seeds();
    validate(&seeds[seeds.len() - 1]).expect("the seed action lists are valid")
}

impl Counts {
    fn finish(mut self, started: Instant) -> Counts {
        self.seconds = started.elapsed().as_secs();
        self
    }
}

/// Runs the three targets for `count` inputs each from `seed`, with `frames` as the seeds.
pub fn run_all(count: u64, seed: u64, frames: &[Vec<u8>]) -> Vec<Counts> {
    let mut reports = Vec::new();
    let all = every_action();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let started = Instant::now();
    let mut c = Counts { target: "frames", ..Counts::default() };
    for i in 0..count {
        let seed_frame = &frames[rng.below(frames.len())];
        let input = mutate(&mut rng, seed_frame, frames);
        c.run(i, &input, || {
            let key = FlowKey::extract(&input, 1);
            let mut pkt = Packet::from_frame(&input);
            execute(&all, &mut pkt, &mut Sink::default());
            // Accepted: the extractor found a protocol in it, not only bytes.
            key.eth_type != [0, 0]
        });
    }
    reports.push(c.finish(started));

    let seeds = action_seeds();
    let started = Instant::now();
    let mut c = Counts { target: "actions", ..Counts::default() };
    for i in 0..count {
        let seed_list = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed_list, &seeds);
        let frame = &frames[rng.below(frames.len())];
        c.run(i, &input, || match validate(&input) {
            Ok(list) => {
                execute(&list, &mut Packet::from_frame(frame), &mut Sink::default());
                true
            }
            Err(_) => false,
        });
    }
    reports.push(c.finish(started));

    let seeds = tunnel_seeds(frames);
    let datagrams: Vec<Vec<u8>> = seeds.iter().map(|(_, d)| d.clone()).collect();
    let started = Instant::now();
    let mut c = Counts { target: "tunnel", ..Counts::default() };
    for i in 0..count {
        let (kind, seed_datagram) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed_datagram, &datagrams);
        c.run(i, &input, || {
            let decap = match kind {
                b'v' => parse_vxlan(&input),
                b'g' => parse_geneve(&input),
                _ => parse_gre(&input),
            };
            match decap {
                Ok(d) => {
                    let inner = input.get(d.header_len..).unwrap_or_default();
                    std::hint::black_box(FlowKey::extract(inner, 3));
                    true
                }
                Err(_) => false,
            }
        });
    }
    reports.push(c.finish(started));
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_seeded_run_of_every_target_finds_no_panic() {
        let frames = pcap_frames(&std::fs::read("../scripts/fuzz/corpus/frames.pcap").expect("the fuzz corpus"));
        assert!(frames.len() > 20, "the corpus holds {} frames", frames.len());
        for report in run_all(20_000, 7, &frames) {
            assert_eq!(report.panics, 0, "{}", report.to_json());
            assert_eq!(report.inputs, 20_000);
            // Mutations of real inputs must reach past the first check, or the run proves little.
            assert!(report.accepted > 1_000, "{}", report.to_json());
        }
    }
}
