//! Megaflow classifier: one hash table per distinct mask ("subtable", the
//! tuple-space search of OVS's dpcls). A lookup probes subtables in order of
//! recent hits, so the busiest masks are tried first.

use super::key::FlowKey;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A masked key with its hash computed once.
#[derive(Clone, Copy, PartialEq, Eq)]
struct HashedKey {
    hash: u64,
    key: FlowKey,
}

impl Hash for HashedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Hasher for HashedKey: the hash is already computed.
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

struct Subtable {
    mask: FlowKey,
    flows: HashMap<HashedKey, u32, BuildHasherDefault<PassThrough>>,
    /// Hits since the last reordering.
    hits: u64,
}

/// The classifier maps (masked key, mask) to a flow slot.
#[derive(Default)]
pub struct Dpcls {
    subtables: Vec<Subtable>,
}

const HASH_BASIS: u64 = 0;

impl Dpcls {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a flow; `masked` must already be `key & mask`. Returns the slot of
    /// a flow with the same masked key and mask that was there, if any (it
    /// is replaced).
    pub fn insert(&mut self, masked: &FlowKey, mask: &FlowKey, slot: u32) -> Option<u32> {
        let hk = HashedKey { hash: masked.hash(HASH_BASIS), key: *masked };
        let st = match self.subtables.iter_mut().position(|s| s.mask == *mask) {
            Some(i) => &mut self.subtables[i],
            None => {
                self.subtables.push(Subtable { mask: *mask, flows: HashMap::default(), hits: 0 });
                self.subtables.last_mut().expect("just pushed")
            }
        };
        st.flows.insert(hk, slot)
    }

    /// The slot of the flow with exactly this masked key and mask.
    pub fn find_exact(&self, masked: &FlowKey, mask: &FlowKey) -> Option<u32> {
        let hk = HashedKey { hash: masked.hash(HASH_BASIS), key: *masked };
        self.subtables.iter().find(|s| s.mask == *mask).and_then(|s| s.flows.get(&hk).copied())
    }

    pub fn remove(&mut self, masked: &FlowKey, mask: &FlowKey) -> Option<u32> {
        let hk = HashedKey { hash: masked.hash(HASH_BASIS), key: *masked };
        let i = self.subtables.iter().position(|s| s.mask == *mask)?;
        let slot = self.subtables[i].flows.remove(&hk);
        if self.subtables[i].flows.is_empty() {
            self.subtables.remove(i);
        }
        slot
    }

    /// Find the flow for `key`; also returns how many subtables were probed.
    #[inline]
    pub fn lookup(&mut self, key: &FlowKey) -> (Option<u32>, u32) {
        let mut probed = 0;
        for st in self.subtables.iter_mut() {
            probed += 1;
            let masked = key.masked(&st.mask);
            let hk = HashedKey { hash: masked.hash(HASH_BASIS), key: masked };
            if let Some(&slot) = st.flows.get(&hk) {
                st.hits += 1;
                return (Some(slot), probed);
            }
        }
        (None, probed)
    }

    /// Put the most hit subtables first, then start counting afresh.
    pub fn reorder(&mut self) {
        self.subtables.sort_by(|a, b| b.hits.cmp(&a.hits));
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
