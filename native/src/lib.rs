//! TVS fast path.
pub mod flow;
