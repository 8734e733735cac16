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
//!   `doctor` (`marquee doctor` without credentials, and SeaweedFS's answers to its bucket
//!   calls; its checks are unit-tested in `src/doctor` with `aws-smithy-mocks`).
//! - On the real `marquee serve` binary with the Slack stand-in only: `serve_queue` (its durable
//!   job queue: a kill -9 mid-burst and a restart, and a full queue answered busy).
//!
//! Run one module with a filter: `cargo test --test it e2e::`.
//!
//! The map of the suite (from ARCHITECTURE.md):
//!
//! - **Testing**: unit tests beside the code. Slack payloads are Slack's shapes, kept in
//!   `tests/fixtures/slack/` with their sources, never ours. Every integration test is a module
//!   of one binary, `tests/it/`, so the local stack (`tests/it/support/`) starts once per run
//!   and the suite links once:
//!   - in process: `front_door` (the real router, good and hostile requests), `lambda_handler`
//!     (API Gateway v2 events from `tests/fixtures/apigw/`, job events, and SQS events carrying
//!     Lambda's failed-invocation records from `tests/fixtures/lambda/`, through the Lambda
//!     handler), `deploy` (template and manifest drift), `guide` (docs/INSTALL.md and doctor's hints against
//!     the CLIs, the template and the config), `architecture` (the layering above);
//!   - on the stack: `e2e`, `review`, `faults` run the real Lambda binary under `cargo lambda
//!     watch` against SeaweedFS (auth on), dynalite (the state table) and wire-exact Bedrock and
//!     Slack stand-ins, reached only through the standard `AWS_ENDPOINT_URL_*` variables and the
//!     response-URL allow-list; `state_stack` checks the state table and its IAM proxy (which
//!     also plays faults: a write applied and its answer lost, as DynamoDB's 500).
//!     The async-invoke stand-in in front of watch also plays Lambda's on-failure destination as
//!     the evaluated template declares it (a function error or a run past `Timeout` becomes the
//!     documented invocation record, delivered as an SQS event).
//!     Tests reach the function through `support::client` and keep apart by their own response
//!     URLs and prompt markers; stand-ins misbehave through one rule type, `support::faults`,
//!     scoped the same way. A test that must break a shared part gets a part of its own.
//!   - The stand-ins are IAM-true: `support::cfn` evaluates `template.yaml` for the test
//!     deployment, the function's SeaweedFS identity is generated from its S3 statements, the
//!     Bedrock stand-in refuses what its `bedrock:InvokeModel` statement does not grant and
//!     serves each model only in the regions Bedrock does, and the state table (dynalite, created
//!     from the template's key schema under the deployment's name) is reached only through a
//!     proxy that answers any DynamoDB action or table its DynamoDB statement does not grant with
//!     DynamoDB's AccessDeniedException, records every call, and forwards the rest verbatim;
//!     the harness keeps an admin identity (and a direct line to dynalite) of its own.
//!   - on the real `marquee serve` binary (`target/debug/marquee`, its own data directory, the
//!     Slack stand-in as the response-URL sink): `serve_queue` (a kill -9 in the middle of a
//!     200-poster burst and a restart; a full queue answered busy).
//! - **Deployment**: `template.yaml` (SAM), `manifest/manifest.yaml`, `docs/INSTALL.md`,
//!   `scripts/check-deploy.sh`. IAM is least privilege, counting what SAM adds: `sqs:SendMessage`
//!   on the destination queue is SAM's (from `EventInvokeConfig`), and the managed policy SAM
//!   attaches for the SQS event source (receive and delete on every queue) is narrowed to the
//!   failed-job queue by an explicit Deny; `deploy` checks the role's reach with both included.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A test binary: nothing outside it can reach its `pub` items, which say "used by another
// test module" here.
#![allow(unreachable_pub)]

mod support;

mod architecture;
mod deploy;
mod doctor;
mod e2e;
mod faults;
mod front_door;
mod guide;
mod lambda_handler;
mod pictures;
mod review;
mod serve_queue;
mod slack_standin;
mod state_stack;
mod surfaces;
