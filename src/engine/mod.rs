//! The engine: everything between a compiled page and its pixels, used by `plan` (the duration
//! probe) and `render-chunk` (capture) alike.
//!
//! - [`browser`]: finding chromium-headless-shell, its flags, a fresh profile, one page;
//! - [`process`]: the browser's process group, killed and reaped whole when a session ends;
//! - [`server`]: the loopback file server (the page, with the runtime injected, and video frames);
//! - [`page`]: what is injected — framefan's engine layer (`page.js`: virtual time, seeded
//!   randomness, render-mode globals, video frames, the ready/seek protocol) before any page
//!   script, and HyperFrames' published runtime in `<head>`;
//! - [`protocol`]: the page's JavaScript entry points, named once, and its typed answers;
//! - [`policy`]: why a page is loaded (plan's probe or render-chunk's capture) and what follows;
//! - [`capture`]: launch, load, wait until ready, per-frame seek and capture;
//! - [`probe`]: `plan`'s one load of the frozen page (fails on a page that does not become
//!   ready, records timelines that never register, reads a duration the root does not declare);
//! - [`watch`]: while probing, a heartbeat that finds a script that never yields, and where.

pub mod audio_fx;
pub mod browser;
pub mod capture;
pub mod page;
pub mod policy;
pub mod probe;
pub mod process;
pub mod protocol;
pub mod server;
pub mod watch;
