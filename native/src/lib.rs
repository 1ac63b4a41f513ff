//! TVS fast path.
pub mod flow;
pub mod packet;
pub mod wire;
