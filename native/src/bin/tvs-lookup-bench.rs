//! Micro-benchmark of the flow table lookup: N megaflows spread over M masks,
//! looked up with keys that hit them, on one core, in bursts of 32 as the
//! datapath does. Prints JSON.
//!
//! usage: tvs-lookup-bench [FLOWS] [MASKS] [SECONDS]

use std::time::{Duration, Instant};
use tvs_datapath::flow::key::FlowKey;
use tvs_datapath::flow::table::{FlowTable, Lookup, PutMode};
use tvs_datapath::port::BURST;

/// A mask built from a selection of the fields a slow path typically unwildcards.
fn mask(i: usize) -> FlowKey {
    // Every mask covers the destination MAC, so each flow is distinct under its mask.
    let mut m = FlowKey { in_port: u32::MAX, eth_type: [0xff; 2], eth_dst: [0xff; 6], ..FlowKey::default() };
    if i & 1 != 0 {
        m.nw_tos = 0xff;
    }
    if i & 2 != 0 {
        m.eth_src = [0xff; 6];
    }
    if i & 4 != 0 {
        m.nw_dst = [0xff, 0xff, 0xff, 0];
    }
    if i & 8 != 0 {
        m.nw_proto = 0xff;
        m.tp_dst = [0xff; 2];
    }
    if i & 16 != 0 {
        m.nw_src = [0xff; 4];
    }
    m.vlan_tci = if i >= 16 { [0x1f, 0xff] } else { [0; 2] };
    m
}

/// A key for flow `f`: fields vary with f so each flow is distinct under its mask.
fn key(f: usize, salt: u32) -> FlowKey {
    let b = (f as u32).to_be_bytes();
    FlowKey {
        in_port: 1 + (f % 4) as u32,
        eth_type: [0x08, 0x00],
        eth_dst: [2, 0, b[0], b[1], b[2], b[3]],
        eth_src: [2, 1, b[0], b[1], b[2], b[3]],
        vlan_tci: [0x10, (f % 200) as u8],
        nw_proto: 17,
        nw_src: [10, b[1], b[2], b[3]],
        nw_dst: [10, 1, b[2], b[3]],
        tp_src: (salt as u16).to_be_bytes(),
        tp_dst: ((f % 60000) as u16).to_be_bytes(),
        ..FlowKey::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flows: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let masks: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20).clamp(1, 32);
    let seconds: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let output = [1u8, 0, 4, 0, 2, 0, 0, 0];

    let mut table = FlowTable::new();
    let mut installed = Vec::with_capacity(flows);
    for f in 0..flows {
        let m = mask(f % masks);
        if table.put(&key(f, 0), &m, &output, PutMode::Create, false, 0).is_ok() {
            installed.push(f);
        }
    }

    // Keys vary in a field every mask ignores (tp_src), so the exact-match
    // cache sees far more distinct keys than it holds: mostly classifier work.
    let run = |table: &mut FlowTable, installed: &[usize], distinct_salts: u32| {
        let keys: Vec<(FlowKey, u64)> = (0..65536u32)
            .map(|i| {
                let k = key(installed[i as usize % installed.len()], i % distinct_salts);
                (k, k.hash(0))
            })
            .collect();
        let (keys, hashes): (Vec<FlowKey>, Vec<u64>) = keys.into_iter().unzip();
        let mut out = [Lookup::Miss; BURST];
        let (mut n, mut hits) = (0u64, 0u64);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs_f64(seconds) {
            for (k, h) in keys.chunks(BURST).zip(hashes.chunks(BURST)) {
                table.lookup_burst(k, h, &mut out);
                hits += out[..k.len()].iter().filter(|l| matches!(l, Lookup::Hit { .. })).count() as u64;
            }
            n += keys.len() as u64;
        }
        (n as f64 / start.elapsed().as_secs_f64(), hits as f64 / n as f64)
    };
    table.reorder_subtables();
    let (classifier_rate, classifier_hits) = run(&mut table, &installed, 65536);
    // Few distinct keys (one per flow, all in the cache): the exact-match cache's rate.
    let (emc_rate, emc_hits) = run(&mut table, &installed[..2048.min(installed.len())], 1);
    println!(
        "{{\"flows\":{},\"masks\":{},\"classifierLookupsPerSec\":{:.0},\"classifierHitRate\":{:.3},\"emcLookupsPerSec\":{:.0},\"emcHitRate\":{:.3}}}",
        table.len(),
        table.mask_count(),
        classifier_rate,
        classifier_hits,
        emc_rate,
        emc_hits
    );
}
