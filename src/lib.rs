//! Marquee turns `/poster <prompt>` into a finished movie poster and a shareable, expiring link.
//!
//! The crate is the whole application; the binaries only wire it up. See `ARCHITECTURE.md` for
//! the map. In short: [`slack`] speaks Slack, [`http`] is the one router, [`dispatch`] hands
//! jobs to the worker, [`pipeline`] runs them through a [`model`], the [`poster`] composer and a
//! [`store`], [`metrics`] counts what happens as CloudWatch embedded-metric lines, and
//! [`config`] and [`app`] read the environment and build everything once.
//!
//! The public API is what the binaries, tests, benches and fuzz targets use; everything else
//! is `pub(crate)`, which `unreachable_pub` holds us to, so rustc's dead-code lint keeps working.

#![warn(unreachable_pub)]

pub mod app;
pub mod cli;
pub mod config;
mod cpu;
pub mod dispatch;
pub mod doctor;
mod errors;
pub mod genre;
pub mod http;
pub mod job;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod poster;
pub mod quota;
pub mod request;
pub mod secret;
pub mod slack;
pub mod state;
pub mod store;
