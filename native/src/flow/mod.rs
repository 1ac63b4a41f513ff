//! Flow keys, caches and actions.
pub mod key;
