//! Zero-copy views of protocol headers, one file per protocol.
