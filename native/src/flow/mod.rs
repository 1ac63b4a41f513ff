//! Flow keys, caches and actions.
pub mod actions;
pub mod key;
