//! Exact-match cache: the first lookup stage. A direct-mapped array indexed by
//! the full key's hash; a hit costs one hash and one 184-byte compare.

use super::key::FlowKey;

/// Entries in the cache (a power of two).
const EMC_ENTRIES: usize = 1 << 13;

#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    key: FlowKey,
    /// Flow slot and its generation when cached; a changed generation means
    /// the flow was deleted (or the slot reused) since.
    slot: u32,
    generation: u32,
}

pub struct Emc {
    entries: Box<[Option<Entry>]>,
}

impl Emc {
    pub fn new() -> Self {
        Emc { entries: vec![None; EMC_ENTRIES].into_boxed_slice() }
    }

    /// The cached (slot, generation) for `key`, if any.
    #[inline]
    pub fn lookup(&self, hash: u64, key: &FlowKey) -> Option<(u32, u32)> {
        match &self.entries[hash as usize & (EMC_ENTRIES - 1)] {
            Some(e) if e.hash == hash && e.key == *key => Some((e.slot, e.generation)),
            _ => None,
        }
    }

    #[inline]
    pub fn insert(&mut self, hash: u64, key: &FlowKey, slot: u32, generation: u32) {
        self.entries[hash as usize & (EMC_ENTRIES - 1)] = Some(Entry { hash, key: *key, slot, generation });
    }

    /// Forget everything (after a flush, or when flows change in bulk).
    pub fn clear(&mut self) {
        self.entries.iter_mut().for_each(|e| *e = None);
    }
}

impl Default for Emc {
    fn default() -> Self {
        Self::new()
    }
}
