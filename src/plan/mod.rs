//! Plans: the frozen, content-hashed directory every worker renders from.
//!
//! This module reads and checks plan directories (`manifest`); writing them is the `plan` step.

pub mod hash;
pub mod manifest;
pub mod media;
pub mod model;

pub use manifest::{ChunkSpec, Dimensions, OutputFormat, Plan};
