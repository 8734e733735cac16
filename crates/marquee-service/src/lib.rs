//! Marquee running: [`config`] reads the environment once, [`app`] builds every client and
//! wires them, [`http`] is the one router, [`dispatch`] hands jobs to the worker, [`pipeline`]
//! runs them, and [`lambda`] is the function's handler. See `ARCHITECTURE.md` for the map.
//!
//! `pub` items are what another crate (the binaries, tests, benches) uses; everything else is
//! `pub(crate)`, which the workspace's `unreachable_pub` lint holds us to.

pub mod app;
pub mod config;
pub mod dispatch;
pub mod http;
pub mod lambda;
pub mod pipeline;
