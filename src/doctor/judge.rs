//! Judging what the gatherers ([`super::checks`]) found: pure functions from facts (what an
//! SDK call answered, already read into plain values) to a verdict (pass or fail, the detail,
//! the fix), unit-tested without any service. A gatherer makes the calls and hands the facts
//! here; it decides nothing itself.

use std::collections::BTreeMap;

use super::Status;
use super::hints::{self, fill};

/// Outputs the checks need from the stack (see `template.yaml`'s `Outputs`).
const NEEDED_OUTPUTS: [&str; 5] = [
    "FunctionName",
    "BucketName",
    "TableName",
    "SlashCommandUrl",
    "InteractivityUrl",
];

/// Stack states in which the deployed resources are the template's.
const SETTLED: [&str; 3] = ["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"];

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
}

/// What `cloudformation:DescribeStacks` answered for the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StackFacts {
    /// No such stack (a `ValidationError`, or an answer listing none).
    Missing,
    /// The call failed otherwise: why, in words.
    Unreadable(String),
    /// The stack, its status and outputs.
    Found {
        status: String,
        outputs: BTreeMap<String, String>,
    },
}

/// The stack check: it exists, was made from Marquee's template (it has the outputs the
/// later checks read) and is settled. The outputs are handed on only when they are all there.
pub(super) fn stack(
    facts: StackFacts,
    stack: &str,
    region: &str,
) -> (Verdict, Option<BTreeMap<String, String>>) {
    let (status, outputs) = match facts {
        StackFacts::Missing => {
            return (
                Verdict::fail(
                    format!("no stack named {stack} in {region}"),
                    fill(hints::STACK_MISSING, &[("region", region)]),
                ),
                None,
            );
        }
        StackFacts::Unreadable(why) => {
            return (
                Verdict::fail(
                    format!("could not describe stack {stack}: {why}"),
                    fill(hints::STACK_UNREADABLE, &[("region", region)]),
                ),
                None,
            );
        }
        StackFacts::Found { status, outputs } => (status, outputs),
    };
    let missing: Vec<&str> = NEEDED_OUTPUTS
        .iter()
        .copied()
        .filter(|k| !outputs.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return (
            Verdict::fail(
                format!("{status}, but outputs {} are missing", missing.join(", ")),
                hints::STACK_NOT_MARQUEE.to_owned(),
            ),
            None,
        );
    }
    let verdict = if SETTLED.contains(&status.as_str()) {
        Verdict::pass(format!(
            "{stack} is {status}; function {}",
            outputs["FunctionName"]
        ))
    } else {
        Verdict::fail(
            format!("{stack} is {status}"),
            fill(hints::STACK_UNSETTLED, &[("stack", stack)]),
        )
    };
    (verdict, Some(outputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(without: &[&str]) -> BTreeMap<String, String> {
        NEEDED_OUTPUTS
            .iter()
            .filter(|k| !without.contains(k))
            .map(|k| ((*k).to_owned(), format!("the-{k}")))
            .collect()
    }

    fn found(status: &str, without: &[&str]) -> StackFacts {
        StackFacts::Found {
            status: status.to_owned(),
            outputs: outputs(without),
        }
    }

    /// A settled stack with every output passes, names its function and hands the outputs on.
    #[test]
    fn a_settled_marquee_stack_passes_and_hands_on_its_outputs() {
        for status in SETTLED {
            let (verdict, handed) = stack(found(status, &[]), "marquee", "eu-west-1");
            assert_eq!(verdict.status, Status::Pass, "{status}");
            assert_eq!(
                verdict.detail,
                format!("marquee is {status}; function the-FunctionName")
            );
            assert!(verdict.fix.is_empty());
            assert_eq!(handed, Some(outputs(&[])));
        }
    }

    /// A missing stack says where doctor looked, and the fix lists that region's stacks.
    #[test]
    fn a_missing_stack_names_the_region_it_was_looked_for_in() {
        let (verdict, handed) = stack(StackFacts::Missing, "marquee", "eu-west-1");
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(verdict.detail, "no stack named marquee in eu-west-1");
        assert!(
            verdict.fix.contains("--region eu-west-1"),
            "{}",
            verdict.fix
        );
        assert!(!verdict.fix.contains("<region>"), "{}", verdict.fix);
        assert_eq!(handed, None);
    }

    /// A stack that could not be read is not called missing: the fix is about permissions.
    #[test]
    fn an_unreadable_stack_asks_for_read_access() {
        let (verdict, handed) = stack(
            StackFacts::Unreadable("AccessDenied".into()),
            "marquee",
            "eu-west-1",
        );
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            "could not describe stack marquee: AccessDenied"
        );
        assert_eq!(verdict.fix, hints::STACK_UNREADABLE);
        assert_eq!(handed, None);
    }

    /// A stack without Marquee's outputs is someone else's: the later checks get nothing.
    #[test]
    fn a_stack_without_marquees_outputs_is_not_marquee() {
        let (verdict, handed) = stack(
            found("CREATE_COMPLETE", &["TableName", "InteractivityUrl"]),
            "other",
            "eu-west-1",
        );
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            "CREATE_COMPLETE, but outputs TableName, InteractivityUrl are missing"
        );
        assert_eq!(verdict.fix, hints::STACK_NOT_MARQUEE);
        assert_eq!(handed, None);
    }

    /// A stack mid-deployment or rolled back fails, names the stack in the fix, and still
    /// hands on its outputs so the later checks say what they can.
    #[test]
    fn an_unsettled_stack_fails_but_hands_on_its_outputs() {
        for status in [
            "UPDATE_IN_PROGRESS",
            "ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_FAILED",
        ] {
            let (verdict, handed) = stack(found(status, &[]), "marquee", "eu-west-1");
            assert_eq!(verdict.status, Status::Fail, "{status}");
            assert_eq!(verdict.detail, format!("marquee is {status}"));
            assert!(
                verdict.fix.contains("--stack-name marquee"),
                "{}",
                verdict.fix
            );
            assert_eq!(handed, Some(outputs(&[])));
        }
    }
}
