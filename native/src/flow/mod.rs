//! Flow keys, caches and actions.
