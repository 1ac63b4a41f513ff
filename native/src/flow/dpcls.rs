//! Megaflow classifier: one hash table per distinct mask ("subtable", the
//! tuple-space search of OVS's dpcls). Subtables are probed in order of
//! recent hits, so the busiest masks are tried first.
//!
//! Lookups go a burst at a time, subtable by subtable: the keys still
//! unmatched are all hashed and their buckets prefetched before any is
//! probed, so the cache misses of a burst overlap instead of queueing, which
//! is where a lookup spends its time once the classifier outgrows the caches.
//!
//! Most subtables a key is tried against do not hold its flow. Before
//! hashing a key under a subtable's whole mask, a one-word filter (a bitmap
//! of the values the subtable's flows have in their most varied word) turns
//! most of those away for the price of one multiply.

use super::key::{FlowKey, KEY_WORDS};
use std::collections::HashSet;

/// Most keys in one burst lookup (the width of the bitmask that tracks them).
pub const MAX_BURST: usize = 64;

/// An open-addressing bucket: a flow's 32-bit hash and its entry index + 1
/// (0 marks an empty bucket). The low hash bits give the home bucket.
#[derive(Clone, Copy, Default)]
struct Bucket {
    hash: u32,
    entry: u32,
}

/// All flows installed under one mask. Only the mask's non-zero words are
/// hashed and compared: most masks cover a handful of the key's 15 words.
struct Subtable {
    mask: FlowKey,
    /// The mask's non-zero words, packed: for j < `words`, key word
    /// `index[j]` is masked with `bits[j]`.
    index: [u8; KEY_WORDS],
    bits: [u64; KEY_WORDS],
    words: usize,
    /// Linear probing, power-of-two sized, at most a quarter full (a miss,
    /// which most probes are, then reads little more than one bucket).
    buckets: Vec<Bucket>,
    /// The flows: masked key and slot.
    entries: Vec<(FlowKey, u32)>,
    /// Which packed word (`j`) the filter looks at.
    filter_word: usize,
    /// Bit `filter_bit(v)` is set for every flow's value `v` of that word;
    /// removals leave bits set, so it may pass keys, never turn one away.
    filter: Vec<u64>,
    /// Flows removed since the filter was built: their bits are stale.
    removed: usize,
    /// Hits since the last reordering.
    hits: u64,
}

/// Filter bits per bucket: with buckets at most a quarter full, 32 bits per
/// flow, so a key with none of the flows' values passes about 3% of the time.
const FILTER_BITS_PER_BUCKET: usize = 8;
/// Flows looked at to choose the filter's word.
const FILTER_SAMPLE: usize = 256;

impl Subtable {
    fn new(mask: &FlowKey) -> Self {
        let (mut index, mut bits, mut words) = ([0u8; KEY_WORDS], [0u64; KEY_WORDS], 0);
        for (i, &m) in mask.words().iter().enumerate().filter(|(_, m)| **m != 0) {
            (index[words], bits[words]) = (i as u8, m);
            words += 1;
        }
        let buckets = vec![Bucket::default(); 8];
        let filter = vec![0; buckets.len() * FILTER_BITS_PER_BUCKET / 64];
        Subtable {
            mask: *mask,
            index,
            bits,
            words,
            buckets,
            entries: Vec::new(),
            filter_word: 0,
            filter,
            removed: 0,
            hits: 0,
        }
    }

    /// The filter's bit for `key` (its filter word under the mask).
    #[inline(always)]
    fn filter_bit(&self, key: &FlowKey) -> usize {
        let bits = self.filter.len() * 64;
        let v = self.word(key, self.filter_word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (v >> (64 - bits.trailing_zeros())) as usize
    }

    #[inline(always)]
    fn filter_passes(&self, key: &FlowKey) -> bool {
        let b = self.filter_bit(key);
        self.filter[b / 64] & (1 << (b % 64)) != 0
    }

    fn filter_add(&mut self, key: &FlowKey) {
        let b = self.filter_bit(key);
        self.filter[b / 64] |= 1 << (b % 64);
    }

    /// Size the filter to the buckets, look at the word whose values vary
    /// most among the flows, and set the bits of every flow.
    fn rebuild_filter(&mut self) {
        self.filter = vec![0; self.buckets.len() * FILTER_BITS_PER_BUCKET / 64];
        self.removed = 0;
        // Judged on a sample: a subtable of 100 000 flows rebuilds within the
        // poll thread's lock, and counting every flow's values per word would
        // hold it for tens of milliseconds.
        let sample = || self.entries.iter().step_by((self.entries.len() / FILTER_SAMPLE).max(1));
        self.filter_word = (0..self.words)
            .max_by_key(|&j| sample().map(|(k, _)| self.word(k, j)).collect::<HashSet<_>>().len())
            .unwrap_or(0);
        for e in 0..self.entries.len() {
            let key = self.entries[e].0;
            self.filter_add(&key);
        }
    }

    /// Key word `index[j]` under the mask.
    #[inline(always)]
    fn word(&self, key: &FlowKey, j: usize) -> u64 {
        // SAFETY: `index` holds word numbers below KEY_WORDS (see `new`),
        // and `words` has KEY_WORDS entries.
        unsafe { *key.words().get_unchecked(self.index[j] as usize) & self.bits[j] }
    }

    #[inline(always)]
    fn hash(&self, key: &FlowKey) -> u32 {
        let mut h = 0x9e37_79b9_7f4a_7c15u64;
        for j in 0..self.words {
            h = (h ^ self.word(key, j)).wrapping_mul(0x1000_0000_01b3).rotate_left(29);
        }
        (h ^ (h >> 32)) as u32
    }

    #[inline(always)]
    fn home(&self, hash: u32) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    /// `masked` equals `key` under this subtable's mask.
    #[inline(always)]
    fn same(&self, masked: &FlowKey, key: &FlowKey) -> bool {
        (0..self.words).all(|j| self.word(masked, j) == self.word(key, j))
    }

    /// The bucket holding the flow that `key` falls in, if any.
    #[inline(always)]
    fn find_bucket(&self, key: &FlowKey, hash: u32) -> Option<usize> {
        let last = self.buckets.len() - 1;
        let mut i = self.home(hash);
        loop {
            let b = self.buckets[i];
            if b.entry == 0 {
                return None;
            }
            if b.hash == hash && self.same(&self.entries[b.entry as usize - 1].0, key) {
                return Some(i);
            }
            i = (i + 1) & last;
        }
    }

    #[inline(always)]
    fn find(&self, key: &FlowKey, hash: u32) -> Option<u32> {
        self.find_bucket(key, hash).map(|b| self.entries[self.buckets[b].entry as usize - 1].1)
    }

    /// Put `(hash, entry)` into the first free bucket from its home.
    fn place(&mut self, hash: u32, entry: u32) {
        let last = self.buckets.len() - 1;
        let mut i = self.home(hash);
        while self.buckets[i].entry != 0 {
            i = (i + 1) & last;
        }
        self.buckets[i] = Bucket { hash, entry };
    }

    fn insert(&mut self, masked: &FlowKey, slot: u32) -> Option<u32> {
        let hash = self.hash(masked);
        if let Some(b) = self.find_bucket(masked, hash) {
            let e = self.buckets[b].entry as usize - 1;
            return Some(std::mem::replace(&mut self.entries[e].1, slot));
        }
        self.entries.push((*masked, slot));
        if self.entries.len() * 4 > self.buckets.len() {
            self.buckets = vec![Bucket::default(); self.buckets.len() * 2];
            for e in 0..self.entries.len() {
                let h = self.hash(&self.entries[e].0);
                self.place(h, e as u32 + 1);
            }
            self.rebuild_filter();
        } else {
            self.place(hash, self.entries.len() as u32);
            self.filter_add(masked);
        }
        None
    }

    fn remove(&mut self, masked: &FlowKey) -> Option<u32> {
        let hash = self.hash(masked);
        let mut hole = self.find_bucket(masked, hash)?;
        let e = self.buckets[hole].entry as usize - 1;
        // Backward-shift deletion: pull later buckets of the probe run into
        // the hole unless that would move one before its home.
        let last = self.buckets.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & last;
            let b = self.buckets[j];
            if b.entry == 0 {
                break;
            }
            let home = self.home(b.hash);
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.buckets[hole] = b;
                hole = j;
            }
        }
        self.buckets[hole] = Bucket::default();
        // The last entry moves into the freed one: repoint its bucket.
        let (_, slot) = self.entries.swap_remove(e);
        if e < self.entries.len() {
            let moved = self.hash(&self.entries[e].0);
            let mut i = self.home(moved);
            while self.buckets[i].entry as usize != self.entries.len() + 1 {
                i = (i + 1) & last;
            }
            self.buckets[i].entry = e as u32 + 1;
        }
        self.removed += 1;
        if self.entries.len() * 16 < self.buckets.len() && self.buckets.len() > 8 {
            self.shrink();
        } else if self.removed > self.entries.len() {
            self.rebuild_filter();
        }
        Some(slot)
    }

    /// After a flood of flows has expired: buckets for a quarter-full table
    /// again and the entries' spare capacity handed back, so a subtable that
    /// once held many flows does not keep their memory for its few.
    fn shrink(&mut self) {
        let size = (self.entries.len() * 4).next_power_of_two().max(8);
        self.buckets = vec![Bucket::default(); size];
        for e in 0..self.entries.len() {
            let h = self.hash(&self.entries[e].0);
            self.place(h, e as u32 + 1);
        }
        self.entries.shrink_to(self.entries.len() * 2);
        self.rebuild_filter();
    }

    #[inline(always)]
    fn prefetch(&self, hash: u32) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: prefetching has no architectural effect and never faults;
        // the address is inside the bucket array anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.buckets.as_ptr().add(self.home(hash)) as *const i8);
        }
    }
}

/// The classifier maps (masked key, mask) to a flow slot.
#[derive(Default)]
pub struct Dpcls {
    subtables: Vec<Subtable>,
}

impl Dpcls {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a flow; `masked` must already be `key & mask`. Returns the slot of
    /// a flow with the same masked key and mask that was there, if any (it
    /// is replaced).
    pub fn insert(&mut self, masked: &FlowKey, mask: &FlowKey, slot: u32) -> Option<u32> {
        let i = match self.subtables.iter().position(|s| s.mask == *mask) {
            Some(i) => i,
            None => {
                self.subtables.push(Subtable::new(mask));
                self.subtables.len() - 1
            }
        };
        self.subtables[i].insert(masked, slot)
    }

    /// The slot of the flow with exactly this masked key and mask.
    pub fn find_exact(&self, masked: &FlowKey, mask: &FlowKey) -> Option<u32> {
        self.subtables.iter().find(|s| s.mask == *mask).and_then(|s| s.find(masked, s.hash(masked)))
    }

    pub fn remove(&mut self, masked: &FlowKey, mask: &FlowKey) -> Option<u32> {
        let i = self.subtables.iter().position(|s| s.mask == *mask)?;
        let slot = self.subtables[i].remove(masked)?;
        if self.subtables[i].entries.is_empty() {
            self.subtables.remove(i);
        }
        Some(slot)
    }

    /// Find the flows for the keys whose bit is set in `todo` (at most
    /// [`MAX_BURST`] keys): `found[i]` gets the slot, `probed[i]` counts the
    /// subtables tried for key `i`.
    pub fn lookup_burst(&mut self, keys: &[FlowKey], mut todo: u64, found: &mut [Option<u32>], probed: &mut [u32]) {
        let mut hashes = [0u32; MAX_BURST];
        for (n, st) in self.subtables.iter_mut().enumerate() {
            if todo == 0 {
                break;
            }
            let mut candidates = 0u64;
            for i in bits(todo) {
                if st.filter_passes(&keys[i]) {
                    hashes[i] = st.hash(&keys[i]);
                    st.prefetch(hashes[i]);
                    candidates |= 1 << i;
                }
            }
            for i in bits(candidates) {
                if let Some(slot) = st.find(&keys[i], hashes[i]) {
                    (found[i], probed[i]) = (Some(slot), n as u32 + 1);
                    todo &= !(1 << i);
                    st.hits += 1;
                }
            }
        }
        for i in bits(todo) {
            probed[i] = self.subtables.len() as u32;
        }
    }

    /// Put the most hit subtables first, then start counting afresh.
    pub fn reorder(&mut self) {
        self.subtables.sort_by_key(|s| std::cmp::Reverse(s.hits));
        self.subtables.iter_mut().for_each(|s| s.hits = 0);
    }

    pub fn subtable_count(&self) -> usize {
        self.subtables.len()
    }

    pub fn clear(&mut self) {
        self.subtables.clear();
    }
}

/// The indexes of the set bits of `mask`, lowest first.
pub fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            i
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u32, tp_dst: u16) -> FlowKey {
        FlowKey {
            in_port: port,
            tp_dst: tp_dst.to_be_bytes(),
            eth_type: [0x08, 0x00],
            nw_proto: 6,
            ..FlowKey::default()
        }
    }

    fn mask_in_port() -> FlowKey {
        FlowKey { in_port: u32::MAX, ..FlowKey::default() }
    }

    trait LookupOne {
        fn lookup(&mut self, key: &FlowKey) -> (Option<u32>, u32);
    }

    impl LookupOne for Dpcls {
        fn lookup(&mut self, key: &FlowKey) -> (Option<u32>, u32) {
            let (mut found, mut probed) = ([None], [0]);
            self.lookup_burst(std::slice::from_ref(key), 1, &mut found, &mut probed);
            (found[0], probed[0])
        }
    }

    #[test]
    fn a_masked_flow_matches_every_key_equal_under_its_mask() {
        let mut c = Dpcls::new();
        let m = mask_in_port();
        c.insert(&key(1, 80).masked(&m), &m, 7);
        assert_eq!(c.lookup(&key(1, 80)).0, Some(7));
        assert_eq!(c.lookup(&key(1, 443)).0, Some(7));
        assert_eq!(c.lookup(&key(2, 80)).0, None);
    }

    #[test]
    fn flows_under_different_masks_live_in_different_subtables() {
        let mut c = Dpcls::new();
        let m1 = mask_in_port();
        let m2 = FlowKey { in_port: u32::MAX, tp_dst: [0xff, 0xff], ..FlowKey::default() };
        c.insert(&key(1, 0).masked(&m1), &m1, 1);
        c.insert(&key(2, 22).masked(&m2), &m2, 2);
        assert_eq!(c.subtable_count(), 2);
        assert_eq!(c.lookup(&key(2, 22)).0, Some(2));
        assert_eq!(c.remove(&key(2, 22).masked(&m2), &m2), Some(2));
        assert_eq!(c.subtable_count(), 1);
        assert_eq!(c.lookup(&key(2, 22)).0, None);
    }

    #[test]
    fn reinserting_the_same_megaflow_replaces_it() {
        let mut c = Dpcls::new();
        let m = mask_in_port();
        assert_eq!(c.insert(&key(1, 0).masked(&m), &m, 1), None);
        assert_eq!(c.insert(&key(1, 5).masked(&m), &m, 2), Some(1));
        assert_eq!(c.find_exact(&key(1, 9).masked(&m), &m), Some(2));
    }

    #[test]
    fn removing_flows_keeps_every_other_flow_findable() {
        // Many flows under one mask, so probe runs are long and removal has
        // to shift buckets back; removal order is scrambled.
        let mut c = Dpcls::new();
        let m = FlowKey { in_port: u32::MAX, tp_dst: [0xff, 0xff], ..FlowKey::default() };
        let n = 3000u32;
        for i in 0..n {
            assert_eq!(c.insert(&key(i % 7, i as u16).masked(&m), &m, i), None);
        }
        let removed = |i: u32| (i.wrapping_mul(2_654_435_761) >> 7).is_multiple_of(3);
        for i in (0..n).filter(|&i| removed(i)) {
            assert_eq!(c.remove(&key(i % 7, i as u16).masked(&m), &m), Some(i));
        }
        for i in 0..n {
            let expect = if removed(i) { None } else { Some(i) };
            assert_eq!(c.lookup(&key(i % 7, i as u16)).0, expect, "flow {i}");
        }
    }

    #[test]
    fn a_burst_finds_each_key_in_its_own_subtable() {
        let mut c = Dpcls::new();
        let m1 = mask_in_port();
        let m2 = FlowKey { tp_dst: [0xff, 0xff], ..FlowKey::default() };
        c.insert(&key(1, 0).masked(&m1), &m1, 10);
        c.insert(&key(0, 22).masked(&m2), &m2, 20);
        let keys = [key(1, 5), key(9, 22), key(9, 23), key(1, 22)];
        let (mut found, mut probed) = ([None; 4], [0; 4]);
        c.lookup_burst(&keys, 0b1111, &mut found, &mut probed);
        // key(1, 22) falls in both; the subtable tried first wins.
        assert_eq!(found, [Some(10), Some(20), None, Some(10)]);
        assert_eq!(probed, [1, 2, 2, 1]);
    }

    #[test]
    fn the_filter_follows_the_most_varied_word_and_turns_no_flow_away() {
        let mut c = Dpcls::new();
        let m = FlowKey { in_port: u32::MAX, tp_dst: [0xff, 0xff], ..FlowKey::default() };
        // First the flows differ in in_port only, then mostly in tp_dst: the
        // filter's word changes as the subtable grows.
        for p in 0..6u32 {
            c.insert(&key(p, 7).masked(&m), &m, p);
        }
        for d in 0..500u16 {
            c.insert(&key(9, 1000 + d).masked(&m), &m, 100 + d as u32);
        }
        for p in 0..6u32 {
            assert_eq!(c.lookup(&key(p, 7)).0, Some(p));
        }
        for d in 0..500u16 {
            assert_eq!(c.lookup(&key(9, 1000 + d)).0, Some(100 + d as u32));
        }
        // Keys equal to a flow in the filter's word but not elsewhere miss.
        assert_eq!(c.lookup(&key(8, 1000)).0, None);
        assert_eq!(c.lookup(&key(0, 8)).0, None);
    }
}
