//! Megaflow classifier: one hash table per distinct mask ("subtable", the
//! tuple-space search of OVS's dpcls). A lookup probes subtables in order of
//! recent hits, so the busiest masks are tried first.

use super::key::FlowKey;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hasher for keys that are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// All flows installed under one mask. Only the mask's non-zero words are
/// hashed and compared: most masks cover a handful of the key's 15 words.
struct Subtable {
    mask: FlowKey,
    /// Indexes of the mask's non-zero words.
    words: Vec<usize>,
    /// Hash of the masked words -> (masked key, slot), usually one entry.
    flows: HashMap<u64, Vec<(FlowKey, u32)>, BuildHasherDefault<PassThrough>>,
    len: usize,
    /// Hits since the last reordering.
    hits: u64,
}

impl Subtable {
    fn new(mask: &FlowKey) -> Self {
        let words = mask.words().iter().enumerate().filter(|(_, w)| **w != 0).map(|(i, _)| i).collect();
        Subtable { mask: *mask, words, flows: HashMap::default(), len: 0, hits: 0 }
    }

    #[inline]
    fn hash(&self, key: &FlowKey) -> u64 {
        let (k, m) = (key.words(), self.mask.words());
        let mut h = 0x9e37_79b9_7f4a_7c15u64;
        for &i in &self.words {
            h = (h ^ (k[i] & m[i])).wrapping_mul(0x1000_0000_01b3).rotate_left(29);
        }
        h ^ (h >> 32)
    }

    /// `masked` equals `key` under this subtable's mask.
    #[inline]
    fn same(&self, masked: &FlowKey, key: &FlowKey) -> bool {
        let (a, k, m) = (masked.words(), key.words(), self.mask.words());
        self.words.iter().all(|&i| a[i] == k[i] & m[i])
    }

    fn find(&self, key: &FlowKey) -> Option<u32> {
        let bucket = self.flows.get(&self.hash(key))?;
        bucket.iter().find(|(masked, _)| self.same(masked, key)).map(|(_, slot)| *slot)
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
        let st = &mut self.subtables[i];
        let h = st.hash(masked);
        let bucket = st.flows.entry(h).or_default();
        if let Some(e) = bucket.iter_mut().find(|(k, _)| k == masked) {
            return Some(std::mem::replace(&mut e.1, slot));
        }
        bucket.push((*masked, slot));
        st.len += 1;
        None
    }

    /// The slot of the flow with exactly this masked key and mask.
    pub fn find_exact(&self, masked: &FlowKey, mask: &FlowKey) -> Option<u32> {
        self.subtables.iter().find(|s| s.mask == *mask).and_then(|s| s.find(masked))
    }

    pub fn remove(&mut self, masked: &FlowKey, mask: &FlowKey) -> Option<u32> {
        let i = self.subtables.iter().position(|s| s.mask == *mask)?;
        let st = &mut self.subtables[i];
        let h = st.hash(masked);
        let bucket = st.flows.get_mut(&h)?;
        let pos = bucket.iter().position(|(k, _)| k == masked)?;
        let (_, slot) = bucket.swap_remove(pos);
        if bucket.is_empty() {
            st.flows.remove(&h);
        }
        st.len -= 1;
        if st.len == 0 {
            self.subtables.remove(i);
        }
        Some(slot)
    }

    /// Find the flow for `key`; also returns how many subtables were probed.
    #[inline]
    pub fn lookup(&mut self, key: &FlowKey) -> (Option<u32>, u32) {
        let mut probed = 0;
        for st in self.subtables.iter_mut() {
            probed += 1;
            if let Some(slot) = st.find(key) {
                st.hits += 1;
                return (Some(slot), probed);
            }
        }
        (None, probed)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u32, tp_dst: u16) -> FlowKey {
        FlowKey { in_port: port, tp_dst: tp_dst.to_be_bytes(), eth_type: [0x08, 0x00], nw_proto: 6, ..FlowKey::default() }
    }

    fn mask_in_port() -> FlowKey {
        FlowKey { in_port: u32::MAX, ..FlowKey::default() }
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
}
