//! Datapath meters: the rate limiters OpenFlow meters become (OVS's
//! dp_meter in dpif-netdev). A meter has bands, each a token bucket with a
//! rate and a burst size; a frame takes tokens from every band that has
//! them, and of the bands that had too few (the rates it exceeds) the one
//! with the highest rate decides its fate: drop it, or raise the drop
//! precedence of its DSCP. A frame that exceeds no band passes untouched.
//!
//! Time is the caller's (the datapath clock, in nanoseconds), so tests
//! drive it exactly. Token arithmetic is integral and loses nothing between
//! frames: a band earns `rate * elapsed_ns / 10^6` tokens, where a token is
//! a thousandth of a packet (pktps) or one bit (kbps, `rate` in kbit/s),
//! and keeps the remainder of that division for the next frame.

use std::collections::HashMap;

/// Most meters a datapath holds (ids are 0..MAX_METERS).
pub const MAX_METERS: u32 = 65536;

/// Tokens a band earns per ns are `rate / TOKEN_DIVISOR`, in its unit.
const TOKEN_DIVISOR: u128 = 1_000_000;
/// Tokens of one packet in a pktps band.
const TOKENS_PER_PACKET: u64 = 1000;

/// What a band does to a frame over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    Drop,
    /// Raise the drop precedence of the frame's DSCP by this many levels.
    DscpRemark {
        prec_level: u8,
    },
}

/// One band as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandConfig {
    pub kind: BandKind,
    /// kbit/s, or packets/s for a pktps meter.
    pub rate: u32,
    /// kbit, or packets for a pktps meter; 0 means one second of `rate`, as OVS does.
    pub burst_size: u32,
}

/// A meter as configured by the slow path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConfig {
    /// Rates in packets rather than kilobits per second.
    pub pktps: bool,
    pub bands: Vec<BandConfig>,
}

/// Counters of a meter and of each of its bands (frames each band acted on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterStats {
    pub packets: u64,
    pub bytes: u64,
    pub bands: Vec<(u64, u64)>,
}

/// What a meter decided for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Drop,
    Remark { prec_level: u8 },
}

/// Why a meter configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterError {
    /// The id is not below MAX_METERS.
    BadId { id: u32 },
    /// A meter needs at least one band.
    NoBands,
    /// A band's rate is 0.
    ZeroRate { band: usize },
    /// A DSCP remark band with a precedence level outside 1..=3.
    BadPrecLevel { band: usize, prec_level: u8 },
}

impl core::fmt::Display for MeterError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MeterError::BadId { id } => {
                write!(f, "meter id {id} is out of range: the datapath has meters 0-{}", MAX_METERS - 1)
            }
            MeterError::NoBands => write!(f, "a meter needs at least one band"),
            MeterError::ZeroRate { band } => write!(f, "meter band {band}: the rate must be above 0"),
            MeterError::BadPrecLevel { band, prec_level } => {
                write!(f, "meter band {band}: prec_level {prec_level} is not 1, 2 or 3")
            }
        }
    }
}

impl std::error::Error for MeterError {}

#[derive(Debug)]
struct Band {
    config: BandConfig,
    /// Tokens in the bucket, at most `capacity`.
    tokens: u64,
    capacity: u64,
    /// rate * ns not yet turned into a whole token.
    remainder: u128,
    packets: u64,
    bytes: u64,
}

#[derive(Debug)]
struct Meter {
    pktps: bool,
    bands: Vec<Band>,
    /// When the buckets were last filled (datapath ns).
    last_ns: u64,
    packets: u64,
    bytes: u64,
}

/// Every meter of a datapath by id.
#[derive(Debug, Default)]
pub struct MeterTable {
    meters: HashMap<u32, Meter>,
}

impl MeterTable {
    /// Add meter `id`, or reconfigure it: its buckets start full and its
    /// counters start again, as OVS's meter_set does.
    pub fn set(&mut self, id: u32, config: &MeterConfig, now_ns: u64) -> Result<(), MeterError> {
        if id >= MAX_METERS {
            return Err(MeterError::BadId { id });
        }
        if config.bands.is_empty() {
            return Err(MeterError::NoBands);
        }
        for (band, b) in config.bands.iter().enumerate() {
            if b.rate == 0 {
                return Err(MeterError::ZeroRate { band });
            }
            if let BandKind::DscpRemark { prec_level } = b.kind {
                if !(1..=3).contains(&prec_level) {
                    return Err(MeterError::BadPrecLevel { band, prec_level });
                }
            }
        }
        let bands = config
            .bands
            .iter()
            .map(|b| {
                let burst = if b.burst_size == 0 { b.rate } else { b.burst_size };
                // Both units hold 1000 tokens per packet or per kbit.
                let capacity = burst as u64 * 1000;
                Band { config: *b, tokens: capacity, capacity, remainder: 0, packets: 0, bytes: 0 }
            })
            .collect();
        self.meters.insert(id, Meter { pktps: config.pktps, bands, last_ns: now_ns, packets: 0, bytes: 0 });
        Ok(())
    }

    /// Remove meter `id`; returns its last counters, None if there was none.
    pub fn delete(&mut self, id: u32) -> Option<MeterStats> {
        self.meters.remove(&id).map(|m| stats_of(&m))
    }

    pub fn stats(&self, id: u32) -> Option<MeterStats> {
        self.meters.get(&id).map(stats_of)
    }

    pub fn len(&self) -> usize {
        self.meters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meters.is_empty()
    }

    /// Meter a frame of `len` bytes at `now_ns`. A meter that does not
    /// exist (deleted while a flow still names it) lets every frame pass,
    /// as in OVS.
    pub fn apply(&mut self, id: u32, len: usize, now_ns: u64) -> Verdict {
        let Some(m) = self.meters.get_mut(&id) else { return Verdict::Pass };
        m.packets += 1;
        m.bytes += len as u64;
        let elapsed = now_ns.saturating_sub(m.last_ns) as u128;
        m.last_ns = m.last_ns.max(now_ns);
        let cost = if m.pktps { TOKENS_PER_PACKET } else { len as u64 * 8 };
        // The exceeded band with the highest rate so far: (index, rate).
        let mut exceeded: Option<(usize, u32)> = None;
        for (i, b) in m.bands.iter_mut().enumerate() {
            let earned = b.config.rate as u128 * elapsed + b.remainder;
            b.remainder = earned % TOKEN_DIVISOR;
            let whole = (earned / TOKEN_DIVISOR).min(b.capacity as u128) as u64;
            b.tokens = (b.tokens + whole).min(b.capacity);
            if b.tokens == b.capacity {
                // A full bucket keeps no credit toward the next token.
                b.remainder = 0;
            }
            if b.tokens >= cost {
                b.tokens -= cost;
            } else if exceeded.is_none_or(|(_, rate)| rate < b.config.rate) {
                exceeded = Some((i, b.config.rate));
            }
        }
        let Some((e, _)) = exceeded else { return Verdict::Pass };
        let band = &mut m.bands[e];
        band.packets += 1;
        band.bytes += len as u64;
        match band.config.kind {
            BandKind::Drop => Verdict::Drop,
            BandKind::DscpRemark { prec_level } => Verdict::Remark { prec_level },
        }
    }
}

fn stats_of(m: &Meter) -> MeterStats {
    MeterStats { packets: m.packets, bytes: m.bytes, bands: m.bands.iter().map(|b| (b.packets, b.bytes)).collect() }
}

/// The DSCP with its drop precedence (the AF classes' bits 1-2, RFC 2597)
/// raised by `prec_level`, at most to 3 (high drop precedence).
pub fn remark_dscp(dscp: u8, prec_level: u8) -> u8 {
    let prec = (dscp >> 1) & 0x3;
    let raised = (prec + prec_level).min(3);
    (dscp & !0x06) | (raised << 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn meter(pktps: bool, bands: &[(BandKind, u32, u32)]) -> MeterConfig {
        MeterConfig {
            pktps,
            bands: bands.iter().map(|&(kind, rate, burst_size)| BandConfig { kind, rate, burst_size }).collect(),
        }
    }

    /// Frames passed out of `n` sent evenly over `span_ns` from `start_ns`.
    fn passed(t: &mut MeterTable, id: u32, n: u64, len: usize, start_ns: u64, span_ns: u64) -> u64 {
        (0..n).filter(|i| t.apply(id, len, start_ns + span_ns * i / n) == Verdict::Pass).count() as u64
    }

    #[test]
    fn a_pktps_drop_band_passes_its_burst_then_its_rate() {
        let mut t = MeterTable::default();
        t.set(1, &meter(true, &[(BandKind::Drop, 100, 10)]), 0).unwrap();
        // 1000 frames in one second: the 10 of the burst, then 100 a second.
        let n = passed(&mut t, 1, 1000, 64, 0, SEC);
        assert!((108..=111).contains(&n), "passed {n}");
        let s = t.stats(1).unwrap();
        assert_eq!((s.packets, s.bytes), (1000, 64_000));
        assert_eq!(s.bands, vec![(1000 - n, (1000 - n) * 64)]);
    }

    #[test]
    fn a_burst_of_back_to_back_frames_passes_exactly_the_burst_size() {
        let mut t = MeterTable::default();
        t.set(7, &meter(true, &[(BandKind::Drop, 1000, 25)]), 5 * SEC).unwrap();
        assert_eq!(passed(&mut t, 7, 100, 60, 5 * SEC, 0), 25);
        // Refilled 50 ms later: 50 more tokens, capped by the burst size.
        assert_eq!(passed(&mut t, 7, 100, 60, 5 * SEC + SEC / 20, 0), 25);
    }

    #[test]
    fn a_kbps_band_counts_bits_and_keeps_fractions_of_tokens() {
        let mut t = MeterTable::default();
        // 8 kbit/s = 1000 bytes/s, burst 8 kbit = 1000 bytes.
        t.set(2, &meter(false, &[(BandKind::Drop, 8, 8)]), 0).unwrap();
        assert_eq!(passed(&mut t, 2, 20, 100, 0, 0), 10);
        // 100-byte frames every 10 ms earn 80 bits each time: one in ten passes, none lost to rounding.
        let n = (1..=1000u64).filter(|i| t.apply(2, 100, i * SEC / 100) == Verdict::Pass).count();
        assert_eq!(n, 100);
    }

    #[test]
    fn without_a_burst_size_the_bucket_holds_one_second_of_rate() {
        let mut t = MeterTable::default();
        t.set(3, &meter(true, &[(BandKind::Drop, 50, 0)]), 0).unwrap();
        assert_eq!(passed(&mut t, 3, 80, 64, 0, 0), 50);
    }

    #[test]
    fn the_exceeded_band_with_the_highest_rate_applies() {
        let mut t = MeterTable::default();
        let cfg = meter(true, &[(BandKind::Drop, 200, 20), (BandKind::DscpRemark { prec_level: 1 }, 100, 10)]);
        t.set(4, &cfg, 0).unwrap();
        let verdicts: Vec<Verdict> = (0..30).map(|_| t.apply(4, 64, 0)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Pass));
        assert!(verdicts[10..20].iter().all(|v| *v == Verdict::Remark { prec_level: 1 }));
        assert!(verdicts[20..].iter().all(|v| *v == Verdict::Drop));
        assert_eq!(t.stats(4).unwrap().bands, vec![(10, 640), (10, 640)]);
    }

    #[test]
    fn reconfiguring_refills_and_deleting_lets_frames_pass() {
        let mut t = MeterTable::default();
        let cfg = meter(true, &[(BandKind::Drop, 10, 1)]);
        t.set(5, &cfg, 0).unwrap();
        assert_eq!(passed(&mut t, 5, 5, 64, 0, 0), 1);
        t.set(5, &cfg, 0).unwrap();
        assert_eq!(passed(&mut t, 5, 5, 64, 0, 0), 1);
        assert_eq!(t.delete(5).map(|s| s.packets), Some(5));
        assert_eq!(t.apply(5, 64, 0), Verdict::Pass);
        assert!(t.is_empty());
    }

    #[test]
    fn a_clock_that_goes_back_earns_nothing() {
        let mut t = MeterTable::default();
        t.set(6, &meter(true, &[(BandKind::Drop, 1000, 1)]), 10 * SEC).unwrap();
        assert_eq!(t.apply(6, 64, 10 * SEC), Verdict::Pass);
        assert_eq!(t.apply(6, 64, SEC), Verdict::Drop);
    }

    #[test]
    fn refuses_bad_configurations_by_name() {
        let mut t = MeterTable::default();
        assert_eq!(
            t.set(MAX_METERS, &meter(true, &[(BandKind::Drop, 1, 1)]), 0),
            Err(MeterError::BadId { id: MAX_METERS })
        );
        assert_eq!(t.set(1, &meter(true, &[]), 0), Err(MeterError::NoBands));
        assert_eq!(t.set(1, &meter(true, &[(BandKind::Drop, 0, 1)]), 0), Err(MeterError::ZeroRate { band: 0 }));
        let bad = meter(false, &[(BandKind::DscpRemark { prec_level: 4 }, 1, 1)]);
        assert_eq!(t.set(1, &bad, 0).unwrap_err().to_string(), "meter band 0: prec_level 4 is not 1, 2 or 3");
        assert!(t.is_empty());
    }

    #[test]
    fn remark_raises_the_drop_precedence_and_keeps_the_class() {
        // AF11 (10) -> AF12 (12) -> AF13 (14), capped there.
        assert_eq!(remark_dscp(10, 1), 12);
        assert_eq!(remark_dscp(10, 2), 14);
        assert_eq!(remark_dscp(14, 1), 14);
        // AF41 (34) + 1 = AF42 (36); best effort (0) + 1 = 2.
        assert_eq!(remark_dscp(34, 1), 36);
        assert_eq!(remark_dscp(0, 1), 2);
    }
}
