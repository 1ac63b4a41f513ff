//! TVS fast path, loaded by Node.js as an N-API addon.
//!
//! `ops` is the whole JS-facing surface and `abi` every packed format that
//! crosses it; `datapath` owns the ports and the poll thread; `port` has one
//! provider per kind of port; `lockfile` is the database writers' lock,
//! which needs a syscall Node does not offer.
pub mod abi;
pub mod capture;
pub mod datapath;
pub mod flow;
pub mod fuzz;
mod js;
mod lockfile;
pub mod meter;
mod napi;
mod ops;
pub mod packet;
pub mod port;
mod sys;
pub mod wire;
