//! Flow keys, the two lookup stages (exact-match cache, megaflow
//! classifier), the flow table that owns megaflows, and datapath actions.
pub mod actions;
pub mod dpcls;
pub mod emc;
pub mod key;
pub mod table;
