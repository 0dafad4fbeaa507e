//! What made an artifact: the producer string plans and sidecars record. A leaf, so the stages
//! that record it do not import the crate root (which imports them) for it.

/// This crate's version, recorded in plans and sidecars as `producerVersion`.
pub const PRODUCER_VERSION: &str = concat!("framefan ", env!("CARGO_PKG_VERSION"));
