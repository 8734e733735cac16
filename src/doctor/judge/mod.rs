//! Judging what the gatherers ([`super::checks`]) found: pure functions from facts (what an
//! SDK call or an HTTP probe answered, already read into plain values) to a verdict (pass,
//! fail or skip, the detail, the fix), unit-tested without any service. A gatherer makes the
//! calls and hands the facts here; it decides nothing itself. What a deployment must be
//! allowed ([`needed`]) is derived here too, from the configuration alone.

mod bucket;
mod deployment;
mod door;
mod iam;
mod models;
mod secrets;

pub(super) use bucket::*;
pub(super) use deployment::*;
pub(super) use door::*;
pub(super) use iam::*;
pub(super) use models::*;
pub(super) use secrets::*;

use super::Status;

/// One line of the report, before it is pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Verdict {
    pub(super) status: Status,
    pub(super) detail: String,
    pub(super) fix: String,
}

impl Verdict {
    fn pass(detail: String) -> Self {
        Self {
            status: Status::Pass,
            detail,
            fix: String::new(),
        }
    }

    fn fail(detail: String, fix: String) -> Self {
        Self {
            status: Status::Fail,
            detail,
            fix,
        }
    }

    fn skip(why: impl Into<String>) -> Self {
        Self {
            status: Status::Skip,
            detail: why.into(),
            fix: String::new(),
        }
    }
}
