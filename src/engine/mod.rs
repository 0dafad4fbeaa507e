//! The engine: everything between a compiled page and its pixels, used by `plan` (the duration
//! probe) and `render-chunk` (capture) alike.
//!
//! - [`browser`]: finding chromium-headless-shell, its flags, a fresh profile, one page;
//! - [`server`]: the loopback file server (the page, with the runtime injected, and video frames);
//! - [`page`]: what is injected — framefan's engine layer (`page.js`: virtual time, seeded
//!   randomness, render-mode globals, video frames, the ready/seek protocol) before any page
//!   script, and HyperFrames' published runtime in `<head>`;
//! - [`capture`]: launch, load, wait until ready, per-frame seek and capture;
//! - [`probe`]: a page's own duration, read once it is ready.

pub mod browser;
pub mod capture;
pub mod page;
pub mod probe;
pub mod server;
