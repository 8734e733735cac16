//! The `marquee` command: the local server and demo (`marquee_service` run in one process) and
//! the tools for admins and designers. `doctor` and the CLI live only here, so only this binary
//! links the control-plane SDKs they call (CloudFormation, IAM, Bedrock's control plane); the
//! function (`marquee-lambda`) is built from `marquee-core` and `marquee-service` alone.
//! See `ARCHITECTURE.md` for the map.

pub mod cli;
pub mod doctor;
