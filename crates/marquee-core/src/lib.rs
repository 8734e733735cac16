//! Marquee's domain and wire formats: what a poster is and how it is made, kept and counted,
//! and how Slack speaks. It runs nothing (no router, no worker, no configuration read); the
//! `marquee-service` crate runs it. See `ARCHITECTURE.md` for the map.
//!
//! `pub` items are what another crate (service, the binaries, tests, benches, fuzz targets)
//! uses; everything else is `pub(crate)`, which the workspace's `unreachable_pub` lint holds
//! us to, so rustc's dead-code lint keeps working.

pub mod cpu;
pub mod errors;
pub mod genre;
pub mod job;
pub mod metrics;
pub mod model;
pub mod net;
pub mod poster;
pub mod quota;
pub mod request;
pub mod secret;
pub mod slack;
pub mod state;
pub mod store;
#[doc(hidden)]
pub mod testing;
