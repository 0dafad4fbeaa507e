//! `render_chunk`: capture a chunk's frames and encode them as one closed-GOP chunk.
//!
//! So far this holds the encoding half ([`encode`]), which turns frames into a chunk artifact
//! exactly as the contract prescribes; the browser capture half builds on it.

pub mod encode;

pub use encode::{ChunkOutput, ChunkWriter};
