//! Marquee's integration tests, one binary: every module below shares one local stack
//! (`support`), so SeaweedFS, the stand-ins and each `cargo lambda watch` instance start once
//! per run, and the whole suite links once.
//!
//! - In process, milliseconds: `architecture` (the layering, as a tidy test), `deploy`
//!   (template and manifest drift), `guide` (docs/INSTALL.md and doctor's hints name only what
//!   exists), `front_door` (the real router with good and hostile
//!   requests), `lambda_handler` (API Gateway v2, job and failed-job SQS events through the
//!   Lambda handler), `slack_standin` (the Slack stand-in proves itself against Slack's
//!   documented behaviour).
//! - On the local stack (`support`, started on first use): `e2e`, `faults`, `review`,
//!   `surfaces` (the message shortcut and the Events API door: mentions and DMs, with Slack's
//!   retries),
//!   `state_stack` (the state table and the IAM proxy the function reaches it through),
//!   `doctor` (`marquee doctor` green on the local stack, red with each piece broken) and
//!   `doctor_standins` (the control-plane answers `marquee doctor` reads, through the real SDKs).
//! - On the real `marquee serve` binary with the Slack stand-in only: `serve_queue` (its durable
//!   job queue: a kill -9 mid-burst and a restart, and a full queue answered busy).
//!
//! Run one module with a filter: `cargo test --test it e2e::`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A test binary: nothing outside it can reach its `pub` items, which say "used by another
// test module" here.
#![allow(unreachable_pub)]

mod support;

mod architecture;
mod deploy;
mod doctor;
mod doctor_standins;
mod e2e;
mod faults;
mod front_door;
mod guide;
mod lambda_handler;
mod review;
mod serve_queue;
mod slack_standin;
mod state_stack;
mod surfaces;
