//! What a transfer reports while it runs: [`TransferProgress`], sent as `Event::Transfer` to
//! the caller's [`crate::Control`]. The payload types live in [`crate::control`] and are
//! re-exported here so their `store` paths keep working.

pub use crate::control::{Direction, TransferProgress};
