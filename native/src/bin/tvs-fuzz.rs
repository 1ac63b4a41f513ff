//! The datapath fuzzer (`tvs_datapath::fuzz`) for long runs: one JSON line of counts per target.
//!
//! usage: tvs-fuzz COUNT SEED [PCAP]

use tvs_datapath::fuzz::{pcap_frames, run_all};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: tvs-fuzz COUNT SEED [PCAP]";
    let count: u64 = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let pcap = args.get(3).cloned().unwrap_or_else(|| "../scripts/fuzz/corpus/frames.pcap".into());
    let frames = pcap_frames(&std::fs::read(&pcap).unwrap_or_else(|e| panic!("{pcap}: {e}")));
    // Panics are counted by the runs and the first ones printed there: keep the default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    for report in run_all(count, seed, &frames) {
        println!("{}", report.to_json());
    }
}
