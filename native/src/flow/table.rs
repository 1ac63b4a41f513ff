//! The datapath flow table: megaflows (masked key + validated actions + stats)
//! held in slots, found through the exact-match cache and the classifier.

use super::actions::{self, ActionList};
pub use super::dpcls::MAX_BURST;
use super::dpcls::{bits, Dpcls};
use super::emc::Emc;
use super::key::FlowKey;
use std::sync::Arc;

/// Default ceiling on installed flows, as OVS's flow-limit.
pub const DEFAULT_FLOW_LIMIT: usize = 200_000;
/// Default idle time after which a flow is removed, in milliseconds.
pub const DEFAULT_MAX_IDLE_MS: u64 = 10_000;
/// Holes (free slots beyond twice the live flows) the table keeps before
/// [`FlowTable::shrink`] gives memory back.
const SHRINK_SLACK: usize = 1024;
/// A classifier hit enters the exact-match cache with probability 1/N, as
/// OVS's `emc-insert-inv-prob` (same default): a flow that carries traffic
/// gets there soon, while many short flows do not evict each other's
/// entries on every lookup (that thrash cost a fifth of the classifier's
/// rate in tvs-lookup-bench). 1 inserts always, 0 never.
pub const DEFAULT_EMC_INSERT_INV_PROB: u32 = 100;

/// One installed megaflow.
pub struct Megaflow {
    /// The key under its mask (`key & mask`).
    pub key: FlowKey,
    pub mask: FlowKey,
    pub actions: Arc<ActionList>,
    /// The encoded list as installed, for dumps.
    pub actions_raw: Arc<[u8]>,
    pub stats: FlowStats,
    /// Creation time (ms, datapath clock); idle expiry counts from here until first use.
    pub created_ms: u64,
}

/// An action list that passed validation, with its encoding, ready to be
/// shared by the flows that use it.
pub struct ValidActions {
    pub list: Arc<ActionList>,
    pub raw: Arc<[u8]>,
}

impl ValidActions {
    pub fn new(raw: &[u8]) -> Result<Self, FlowError> {
        Ok(ValidActions { list: Arc::new(actions::validate(raw).map_err(FlowError::BadActions)?), raw: raw.into() })
    }
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct FlowStats {
    pub packets: u64,
    pub bytes: u64,
    /// Last use (ms, datapath clock); 0 when never used.
    pub used_ms: u64,
    /// OR of the TCP flags seen.
    pub tcp_flags: u16,
}

/// How a put treats an existing flow with the same masked key and mask.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PutMode {
    /// Fail if it exists ("add-flow").
    Create,
    /// Fail if it does not exist ("mod-flow").
    Modify,
    /// Either ("put").
    CreateOrModify,
}

/// Why a flow operation was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FlowError {
    /// The action list did not validate.
    BadActions(actions::ActionError),
    /// Create on an existing flow.
    Exists,
    /// Modify, get or delete of a flow that is not there.
    NotFound,
    /// The flow limit is reached.
    LimitReached(usize),
    /// A new flow would overlap an installed one under another mask, and the
    /// caller asked for overlaps to be refused.
    Overlaps(u64),
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowError::BadActions(e) => write!(f, "invalid actions: {e}"),
            FlowError::Exists => write!(f, "flow already exists (File exists): use mod-flow to change its actions"),
            FlowError::NotFound => write!(f, "flow does not exist (No such file or directory)"),
            FlowError::LimitReached(n) => write!(f, "resources exhausted: the datapath holds its limit of {n} flows"),
            FlowError::Overlaps(id) => {
                write!(f, "flow overlaps installed flow ufid:{id:016x} under another mask: delete that flow first")
            }
        }
    }
}

/// Flow handle for JS: slot in the low 32 bits, generation in the high.
pub fn flow_id(slot: u32, generation: u32) -> u64 {
    ((generation as u64) << 32) | slot as u64
}

struct Slot {
    generation: u32,
    flow: Option<Megaflow>,
}

pub struct FlowTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    dpcls: Dpcls,
    emc: Emc,
    len: usize,
    /// Above every generation a slot dropped by [`FlowTable::shrink`] had, so
    /// a slot made again at its index never takes a flow id (or EMC entry)
    /// of the flow that was there before.
    retired_generation: u32,
    pub limit: usize,
    pub max_idle_ms: u64,
    pub emc_insert_inv_prob: u32,
    /// xorshift32 state for the insertion draw.
    draw: u32,
}

/// Result of a burst lookup for one packet.
#[derive(Clone, Copy)]
pub enum Lookup {
    Hit { slot: u32, via_emc: bool, probed: u32 },
    Miss,
}

impl FlowTable {
    pub fn new() -> Self {
        FlowTable {
            slots: Vec::new(),
            free: Vec::new(),
            dpcls: Dpcls::new(),
            emc: Emc::new(),
            len: 0,
            retired_generation: 0,
            limit: DEFAULT_FLOW_LIMIT,
            max_idle_ms: DEFAULT_MAX_IDLE_MS,
            emc_insert_inv_prob: DEFAULT_EMC_INSERT_INV_PROB,
            draw: 0x9e37_79b9,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn mask_count(&self) -> usize {
        self.dpcls.subtable_count()
    }

    /// Find the flows for a burst of keys (`hashes[i]` is the full hash of
    /// `keys[i]`; at most [`MAX_BURST`] keys): the exact-match cache first,
    /// then the classifier for the keys it missed, all together.
    pub fn lookup_burst(&mut self, keys: &[FlowKey], hashes: &[u64], out: &mut [Lookup]) {
        debug_assert!(keys.len() <= MAX_BURST && hashes.len() == keys.len() && out.len() >= keys.len());
        let mut missed = 0u64;
        for (i, (key, &hash)) in keys.iter().zip(hashes).enumerate() {
            out[i] = match self.emc.lookup(hash, key) {
                Some((slot, generation))
                    if self
                        .slots
                        .get(slot as usize)
                        .is_some_and(|s| s.generation == generation && s.flow.is_some()) =>
                {
                    Lookup::Hit { slot, via_emc: true, probed: 0 }
                }
                _ => {
                    missed |= 1 << i;
                    Lookup::Miss
                }
            };
        }
        if missed == 0 {
            return;
        }
        let (mut found, mut probed) = ([None; MAX_BURST], [0u32; MAX_BURST]);
        self.dpcls.lookup_burst(keys, missed, &mut found, &mut probed);
        for i in bits(missed) {
            out[i] = match found[i] {
                Some(slot) => {
                    if self.draw_emc_insert() {
                        let generation = self.slots[slot as usize].generation;
                        self.emc.insert(hashes[i], &keys[i], slot, generation);
                    }
                    Lookup::Hit { slot, via_emc: false, probed: probed[i] }
                }
                None => Lookup::Miss,
            };
        }
    }

    /// Whether this classifier hit goes into the exact-match cache.
    #[inline]
    fn draw_emc_insert(&mut self) -> bool {
        match self.emc_insert_inv_prob {
            0 => false,
            1 => true,
            n => {
                self.draw ^= self.draw << 13;
                self.draw ^= self.draw >> 17;
                self.draw ^= self.draw << 5;
                self.draw.is_multiple_of(n)
            }
        }
    }

    /// [`FlowTable::lookup_burst`] for one key, for tests.
    #[cfg(test)]
    pub fn lookup(&mut self, key: &FlowKey, hash: u64) -> Lookup {
        let mut out = [Lookup::Miss];
        self.lookup_burst(std::slice::from_ref(key), &[hash], &mut out);
        out[0]
    }

    pub fn flow(&self, slot: u32) -> Option<&Megaflow> {
        self.slots.get(slot as usize).and_then(|s| s.flow.as_ref())
    }

    pub fn flow_mut(&mut self, slot: u32) -> Option<&mut Megaflow> {
        self.slots.get_mut(slot as usize).and_then(|s| s.flow.as_mut())
    }

    pub fn id_of(&self, slot: u32) -> u64 {
        flow_id(slot, self.slots[slot as usize].generation)
    }

    fn slot_of_id(&self, id: u64) -> Option<u32> {
        let slot = id as u32;
        let s = self.slots.get(slot as usize)?;
        (s.generation == (id >> 32) as u32 && s.flow.is_some()).then_some(slot)
    }

    /// Install or change a flow; returns its id.
    pub fn put(
        &mut self,
        key: &FlowKey,
        mask: &FlowKey,
        raw_actions: &[u8],
        mode: PutMode,
        refuse_overlap: bool,
        now_ms: u64,
    ) -> Result<u64, FlowError> {
        let actions = ValidActions::new(raw_actions)?;
        self.put_valid(key, mask, &actions, mode, refuse_overlap, now_ms)
    }

    /// `put` with actions validated already, which flows may share.
    pub fn put_valid(
        &mut self,
        key: &FlowKey,
        mask: &FlowKey,
        valid: &ValidActions,
        mode: PutMode,
        refuse_overlap: bool,
        now_ms: u64,
    ) -> Result<u64, FlowError> {
        let (actions, raw_actions) = (Arc::clone(&valid.list), Arc::clone(&valid.raw));
        let masked = key.masked(mask);
        if let Some(slot) = self.dpcls.find_exact(&masked, mask) {
            if mode == PutMode::Create {
                return Err(FlowError::Exists);
            }
            let flow = self.flow_mut(slot).expect("classifier points at live flows");
            flow.actions = actions;
            flow.actions_raw = raw_actions;
            return Ok(self.id_of(slot));
        }
        if mode == PutMode::Modify {
            return Err(FlowError::NotFound);
        }
        if self.len >= self.limit {
            return Err(FlowError::LimitReached(self.limit));
        }
        if refuse_overlap {
            if let Some(id) = self.find_overlap(&masked, mask) {
                return Err(FlowError::Overlaps(id));
            }
        }
        let flow = Megaflow {
            key: masked,
            mask: *mask,
            actions,
            actions_raw: raw_actions,
            stats: FlowStats::default(),
            created_ms: now_ms,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize].flow = Some(flow);
                slot
            }
            None => {
                self.slots.push(Slot { generation: self.retired_generation, flow: Some(flow) });
                (self.slots.len() - 1) as u32
            }
        };
        self.dpcls.insert(&masked, mask, slot);
        self.len += 1;
        Ok(self.id_of(slot))
    }

    /// An installed flow, under a different mask, that some key could match together with (masked, mask).
    fn find_overlap(&self, masked: &FlowKey, mask: &FlowKey) -> Option<u64> {
        self.slots.iter().enumerate().find_map(|(i, s)| {
            let f = s.flow.as_ref()?;
            let common = f.mask.masked(mask);
            (f.mask != *mask && f.key.masked(&common) == masked.masked(&common))
                .then(|| flow_id(i as u32, s.generation))
        })
    }

    /// The id of the flow installed with exactly this key (under `mask`) and mask.
    pub fn find(&self, key: &FlowKey, mask: &FlowKey) -> Option<u64> {
        self.dpcls.find_exact(&key.masked(mask), mask).map(|slot| self.id_of(slot))
    }

    /// Remove a flow; returns it (with its final stats).
    pub fn remove(&mut self, id: u64) -> Result<Megaflow, FlowError> {
        let slot = self.slot_of_id(id).ok_or(FlowError::NotFound)?;
        let s = &mut self.slots[slot as usize];
        let flow = s.flow.take().expect("slot_of_id checked the flow is live");
        // A new generation invalidates EMC entries that point at this slot.
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        self.dpcls.remove(&flow.key, &flow.mask);
        self.len -= 1;
        Ok(flow)
    }

    pub fn get(&self, id: u64) -> Result<&Megaflow, FlowError> {
        self.slot_of_id(id).and_then(|s| self.flow(s)).ok_or(FlowError::NotFound)
    }

    pub fn get_mut(&mut self, id: u64) -> Result<&mut Megaflow, FlowError> {
        let slot = self.slot_of_id(id).ok_or(FlowError::NotFound)?;
        self.flow_mut(slot).ok_or(FlowError::NotFound)
    }

    /// Remove every flow; returns how many there were.
    pub fn flush(&mut self) -> usize {
        let n = self.len;
        for s in self.slots.iter_mut().filter(|s| s.flow.is_some()) {
            s.flow = None;
            s.generation = s.generation.wrapping_add(1);
        }
        self.free = (0..self.slots.len() as u32).rev().collect();
        self.dpcls.clear();
        self.emc.clear();
        self.len = 0;
        n
    }

    /// Every installed flow with its id.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Megaflow)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.flow.as_ref().map(|f| (flow_id(i as u32, s.generation), f)))
    }

    /// The counters of the flows used at or after `since_ms`, least recently
    /// used first: a caller that credits them in turn lets the latest traffic
    /// have the last word (a MAC seen on two ports is learned where it was
    /// seen last).
    pub fn stats_used_since(&self, since_ms: u64) -> Vec<(u64, FlowStats)> {
        let mut used: Vec<(u64, FlowStats)> =
            self.iter().filter(|(_, f)| f.stats.used_ms >= since_ms.max(1)).map(|(id, f)| (id, f.stats)).collect();
        used.sort_unstable_by_key(|(_, s)| s.used_ms);
        used
    }

    /// Remove flows idle for longer than max_idle; returns them with their ids.
    pub fn expire(&mut self, now_ms: u64) -> Vec<(u64, Megaflow)> {
        let idle_since = now_ms.saturating_sub(self.max_idle_ms);
        let stale: Vec<u64> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let f = s.flow.as_ref()?;
                let last = f.stats.used_ms.max(f.created_ms);
                (last < idle_since).then(|| flow_id(i as u32, s.generation))
            })
            .collect();
        stale.into_iter().filter_map(|id| self.remove(id).ok().map(|f| (id, f))).collect()
    }

    /// Hands back the slots of flows long gone once a flood has expired: free
    /// slots at the end are dropped and the vectors' capacity follows. New
    /// flows take the lowest free slot from then on, so the live ones gather
    /// at the front and the tail can go at the next call. Returns whether
    /// memory was released.
    pub fn shrink(&mut self) -> bool {
        // Only worth it when most of the table is holes.
        if self.slots.len() < 2 * self.len + SHRINK_SLACK {
            return false;
        }
        let before = self.slots.len();
        while self.slots.last().is_some_and(|s| s.flow.is_none()) {
            let gone = self.slots.pop().expect("checked by last()");
            self.retired_generation = self.retired_generation.max(gone.generation);
        }
        let live = self.slots.len() as u32;
        self.free.retain(|&slot| slot < live);
        // Lowest last, so pop() hands out the lowest free slot.
        if !self.free.is_sorted_by(|a, b| a >= b) {
            self.free.sort_unstable_by(|a, b| b.cmp(a));
        }
        if self.slots.len() == before {
            return false;
        }
        self.slots.shrink_to(2 * self.slots.len());
        self.free.shrink_to(2 * self.free.len());
        true
    }

    /// Periodic upkeep of the lookup order.
    pub fn reorder_subtables(&mut self) {
        self.dpcls.reorder();
    }
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(port: u32) -> Vec<u8> {
        let mut v = vec![1, 0, 4, 0];
        v.extend_from_slice(&port.to_le_bytes());
        v
    }

    fn key(port: u32, dst: u8) -> FlowKey {
        FlowKey { in_port: port, eth_dst: [2, 0, 0, 0, 0, dst], ..FlowKey::default() }
    }

    fn in_port_mask() -> FlowKey {
        FlowKey { in_port: u32::MAX, ..FlowKey::default() }
    }

    fn in_port_dst_mask() -> FlowKey {
        FlowKey { in_port: u32::MAX, eth_dst: [0xff; 6], ..FlowKey::default() }
    }

    #[test]
    fn put_then_lookup_hits_through_the_classifier_then_the_emc() {
        let mut t = FlowTable::new();
        t.emc_insert_inv_prob = 1;
        t.put(&key(1, 9), &in_port_mask(), &output(2), PutMode::Create, false, 0).unwrap();
        let k = key(1, 5);
        assert!(matches!(t.lookup(&k, k.hash(0)), Lookup::Hit { via_emc: false, .. }));
        assert!(matches!(t.lookup(&k, k.hash(0)), Lookup::Hit { via_emc: true, .. }));
        let k2 = key(3, 5);
        assert!(matches!(t.lookup(&k2, k2.hash(0)), Lookup::Miss));
    }

    #[test]
    fn a_deleted_flow_is_not_found_through_a_stale_emc_entry() {
        let mut t = FlowTable::new();
        let id = t.put(&key(1, 9), &in_port_mask(), &output(2), PutMode::Create, false, 0).unwrap();
        let k = key(1, 9);
        t.lookup(&k, k.hash(0));
        t.remove(id).unwrap();
        assert!(matches!(t.lookup(&k, k.hash(0)), Lookup::Miss));
        // The slot is reused by a new flow, which the old id must not reach.
        let id2 = t.put(&key(4, 1), &in_port_mask(), &output(2), PutMode::Create, false, 0).unwrap();
        assert_ne!(id, id2);
        assert_eq!(t.get(id).err(), Some(FlowError::NotFound));
        assert!(matches!(t.lookup(&k, k.hash(0)), Lookup::Miss));
    }

    #[test]
    fn create_modify_and_their_errors() {
        let mut t = FlowTable::new();
        let m = in_port_mask();
        assert_eq!(t.put(&key(1, 0), &m, &output(2), PutMode::Modify, false, 0), Err(FlowError::NotFound));
        let id = t.put(&key(1, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        assert_eq!(t.put(&key(1, 7), &m, &output(3), PutMode::Create, false, 0), Err(FlowError::Exists));
        assert_eq!(t.put(&key(1, 7), &m, &output(3), PutMode::Modify, false, 0), Ok(id));
        assert_eq!(&*t.get(id).unwrap().actions_raw, &output(3)[..]);
        assert!(matches!(
            t.put(&key(2, 0), &m, &[9, 0, 0, 0], PutMode::Create, false, 0),
            Err(FlowError::BadActions(_))
        ));
    }

    #[test]
    fn refuses_to_shadow_silently_when_asked() {
        let mut t = FlowTable::new();
        let id = t.put(&key(1, 0), &in_port_mask(), &output(2), PutMode::Create, true, 0).unwrap();
        assert_eq!(
            t.put(&key(1, 7), &in_port_dst_mask(), &output(3), PutMode::Create, true, 0),
            Err(FlowError::Overlaps(id))
        );
        // Disjoint under the common mask: no overlap.
        assert!(t.put(&key(2, 7), &in_port_dst_mask(), &output(3), PutMode::Create, true, 0).is_ok());
    }

    #[test]
    fn enforces_the_flow_limit() {
        let mut t = FlowTable::new();
        t.limit = 2;
        let m = in_port_mask();
        t.put(&key(1, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        t.put(&key(2, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        assert_eq!(t.put(&key(3, 0), &m, &output(2), PutMode::Create, false, 0), Err(FlowError::LimitReached(2)));
    }

    #[test]
    fn gives_back_the_slots_of_an_expired_flood_and_never_reuses_their_ids() {
        let mut t = FlowTable::new();
        t.emc_insert_inv_prob = 1;
        t.max_idle_ms = 1000;
        let m = in_port_mask();
        let keeper = t.put(&key(0, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        t.flow_mut(keeper as u32).unwrap().stats.used_ms = 1500;
        let flood: Vec<u64> =
            (1..5000).map(|p| t.put(&key(p, 0), &m, &output(2), PutMode::Create, false, 0).unwrap()).collect();
        // An EMC entry for the last slot of the flood.
        let last = key(4999, 0);
        assert!(matches!(t.lookup(&last, last.hash(0)), Lookup::Hit { .. }));
        assert_eq!(t.expire(2000).len(), flood.len());

        assert!(t.shrink());
        assert_eq!(t.slots.len(), 1, "only the live flow's slot is left");
        assert!(t.slots.capacity() <= 2, "capacity {} kept for one flow", t.slots.capacity());
        assert!(!t.shrink(), "nothing more to give back");
        // Slots made again at the flood's indexes take ids the flood never had.
        let again: Vec<u64> =
            (1..5000).map(|p| t.put(&key(p, 1), &m, &output(3), PutMode::Create, false, 0).unwrap()).collect();
        assert!(again.iter().all(|id| !flood.contains(id)));
        assert!(flood.iter().all(|&id| t.get(id).is_err()));
        // The stale EMC entry hits the new flow through the classifier only.
        assert!(matches!(t.lookup(&last, last.hash(0)), Lookup::Hit { via_emc: false, .. }));
        assert_eq!(t.get(keeper).unwrap().stats.used_ms, 1500);
    }

    #[test]
    fn new_flows_fill_the_lowest_free_slots_after_a_shrink() {
        let mut t = FlowTable::new();
        let m = in_port_mask();
        let ids: Vec<u64> =
            (0..3000).map(|p| t.put(&key(p, 0), &m, &output(2), PutMode::Create, false, 0).unwrap()).collect();
        // A live flow near the end pins the tail; the holes before it are handed out lowest first.
        for &id in &ids[..2990] {
            t.remove(id).unwrap();
        }
        t.shrink();
        let next = t.put(&key(9999, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        assert_eq!(next as u32, 0);
    }

    #[test]
    fn expires_only_idle_flows() {
        let mut t = FlowTable::new();
        t.max_idle_ms = 1000;
        let m = in_port_mask();
        let idle = t.put(&key(1, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        let busy = t.put(&key(2, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        t.flow_mut(busy as u32).unwrap().stats.used_ms = 1500;
        let gone: Vec<u64> = t.expire(2000).into_iter().map(|(id, _)| id).collect();
        assert_eq!(gone, vec![idle]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn lists_the_flows_used_since_a_time_least_recent_first() {
        let mut t = FlowTable::new();
        let m = in_port_mask();
        let ids: Vec<u64> =
            (1..=4).map(|p| t.put(&key(p, 0), &m, &output(2), PutMode::Create, false, 0).unwrap()).collect();
        for (id, used) in ids.iter().zip([900, 1700, 0, 1200]) {
            t.flow_mut(*id as u32).unwrap().stats.used_ms = used;
        }
        let listed: Vec<u64> = t.stats_used_since(1000).into_iter().map(|(id, _)| id).collect();
        assert_eq!(listed, vec![ids[3], ids[1]]);
        // A never-used flow (used 0) is not listed even from the start of time.
        assert_eq!(t.stats_used_since(0).len(), 3);
    }

    #[test]
    fn flush_removes_everything() {
        let mut t = FlowTable::new();
        let m = in_port_mask();
        for p in 0..10 {
            t.put(&key(p, 0), &m, &output(2), PutMode::Create, false, 0).unwrap();
        }
        assert_eq!(t.flush(), 10);
        let k = key(3, 0);
        assert!(matches!(t.lookup(&k, k.hash(0)), Lookup::Miss));
        assert!(t.is_empty());
    }

    #[test]
    fn classifier_hits_enter_the_emc_about_once_in_inv_prob() {
        let mut t = FlowTable::new();
        t.put(&key(1, 0), &in_port_mask(), &output(2), PutMode::Create, false, 0).unwrap();
        let via_emc = |t: &mut FlowTable, n: u8| {
            (0..n)
                .filter(|&d| matches!(t.lookup(&key(1, d), key(1, d).hash(0)), Lookup::Hit { via_emc: true, .. }))
                .count()
        };
        // 200 distinct keys, each looked up twice: with 1/10, about 20 of the
        // second lookups hit the cache.
        t.emc_insert_inv_prob = 10;
        via_emc(&mut t, 200);
        let cached = via_emc(&mut t, 200);
        assert!((5..=50).contains(&cached), "{cached} of 200 cached");
        t.emc.clear();
        t.emc_insert_inv_prob = 0;
        via_emc(&mut t, 200);
        assert_eq!(via_emc(&mut t, 200), 0);
    }
}
