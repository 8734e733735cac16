//! Judging the deployment itself: the credentials, the stack (exists, is Marquee's, is settled),
//! the function's configuration (valid, active, pointing at the stack's bucket and table, with the
//! memory and time its longest call needs) and its async-invocation settings.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Verdict;
use crate::doctor::hints::{self, fill};
use marquee_service::config::Config;

/// Less memory than this gives the function too small a share of a vCPU to compose and encode
/// a poster in seconds (Lambda allocates CPU in proportion to memory).
const MIN_MEMORY_MB: i32 = 512;

/// Time the function needs beyond its longest single model call: composing, storing and
/// delivering, and one retry's wait.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

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

/// What `cloudformation:DescribeStacks` answered for the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) enum StackFacts {
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
pub(in crate::doctor) fn stack(
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

/// What `lambda:GetFunctionConfiguration` answered for the function.
#[derive(Debug, Clone, Default)]
pub(in crate::doctor) struct FunctionFacts {
    pub(in crate::doctor) name: String,
    /// `Active` once it can run; `None` when Lambda did not say.
    pub(in crate::doctor) state: Option<String>,
    pub(in crate::doctor) last_update_status: Option<String>,
    pub(in crate::doctor) env: BTreeMap<String, String>,
    pub(in crate::doctor) memory_mb: i32,
    pub(in crate::doctor) timeout: Duration,
    pub(in crate::doctor) architectures: Vec<String>,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, for the ARNs the role must reach.
    pub(in crate::doctor) arn: String,
    /// The execution role's ARN, for the policy simulation.
    pub(in crate::doctor) role: String,
}

impl FunctionFacts {
    /// The function's ARN as (partition, region, account).
    pub(in crate::doctor) fn arn_parts(&self) -> (String, String, String) {
        let parts: Vec<&str> = self.arn.split(':').collect();
        let get = |i: usize| parts.get(i).copied().unwrap_or_default().to_owned();
        (get(1), get(3), get(4))
    }
}

/// The function check: its environment is a valid configuration (`config`: what
/// [`Config::from_lookup`] made of it), it is active and its last update did not fail, it
/// still points at the stack's bucket and table, and it has the memory and the time its
/// longest model call needs. Every problem is listed, each fix once.
pub(in crate::doctor) fn function(
    facts: &FunctionFacts,
    config: Result<&Config, String>,
    outputs: &BTreeMap<String, String>,
) -> Verdict {
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if let Err(e) = &config {
        problems.push(format!("its environment is not valid: {e}"));
        fixes.push(hints::FUNCTION_ENV);
    }
    if let Some(state) = facts.state.as_deref().filter(|s| *s != "Active") {
        problems.push(format!("state is {state}"));
        fixes.push(hints::FUNCTION_STATE);
    }
    if let Some(status) = facts
        .last_update_status
        .as_deref()
        .filter(|s| *s == "Failed")
    {
        problems.push(format!("its last update {status}"));
        fixes.push(hints::FUNCTION_UPDATE_FAILED);
    }
    for (var, output) in [
        ("MARQUEE_BUCKET", "BucketName"),
        ("MARQUEE_TABLE", "TableName"),
    ] {
        let have = facts.env.get(var).map(String::as_str).unwrap_or("(unset)");
        let want = outputs.get(output).map(String::as_str).unwrap_or_default();
        if have != want {
            problems.push(format!(
                "{var} is {have} but the stack's {output} is {want}"
            ));
            fixes.push(hints::FUNCTION_DRIFT);
        }
    }
    let memory = facts.memory_mb;
    if memory < MIN_MEMORY_MB {
        problems.push(format!(
            "memory is {memory} MB (at least {MIN_MEMORY_MB} MB)"
        ));
        fixes.push(hints::FUNCTION_MEMORY);
    }
    if let Ok(config) = config {
        // Each call's time comes from the catalog (an upscale's is the longest).
        let longest = config.longest_call();
        let needed = longest + TIMEOUT_MARGIN;
        if facts.timeout < needed {
            problems.push(format!(
                "timeout is {} s but its longest model call may take {} s (needs at least {} s)",
                facts.timeout.as_secs(),
                longest.as_secs(),
                needed.as_secs()
            ));
            fixes.push(hints::FUNCTION_TIMEOUT);
        }
    }
    if problems.is_empty() {
        Verdict::pass(format!(
            "{}: {memory} MB, {} s, {}; environment valid, bucket and table match the stack",
            facts.name,
            facts.timeout.as_secs(),
            facts.architectures.join(",")
        ))
    } else {
        fixes.dedup();
        Verdict::fail(
            problems.join("; "),
            fill(&fixes.join("; "), &[("function", &facts.name)]),
        )
    }
}

/// What the SDK's credential chain found, asked once before any service is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) enum CredentialsFacts {
    Found,
    /// Every source was tried and none had credentials.
    NotLoaded,
    /// A source failed rather than found nothing (an expired SSO session, a network that
    /// refuses the instance metadata address): its words, which say which.
    Failed(String),
}

/// The credentials line, reported only when they are missing: the SDK's own account of its
/// provider chain is not for an admin to read, so its words are added only when a source
/// failed.
pub(in crate::doctor) fn credentials(facts: &CredentialsFacts) -> Option<Verdict> {
    let detail = match facts {
        CredentialsFacts::Found => return None,
        CredentialsFacts::NotLoaded => hints::NO_CREDENTIALS_DETAIL.to_owned(),
        CredentialsFacts::Failed(why) => format!(
            "{} (the last source tried: {why})",
            hints::NO_CREDENTIALS_DETAIL
        ),
    };
    Some(Verdict::fail(detail, hints::NO_CREDENTIALS.to_owned()))
}

/// The function line when Lambda would not describe it.
pub(in crate::doctor) fn function_unreadable(name: &str, why: &str) -> Verdict {
    Verdict::fail(
        format!("could not read function {name}: {why}"),
        hints::FUNCTION_UNREADABLE.to_owned(),
    )
}

/// What `lambda:GetFunctionEventInvokeConfig` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) enum AsyncFacts {
    /// `ResourceNotFoundException`: the function has Lambda's defaults.
    NotConfigured,
    Unreadable(String),
    Found {
        /// `None` when Lambda did not say (its default is 2).
        retries: Option<i32>,
        /// The on-failure destination's ARN.
        on_failure: Option<String>,
    },
}

/// The async-invocation check: no retries (a retried job is drawn and billed twice) and an
/// on-failure destination (a job Lambda stops is reported).
pub(in crate::doctor) fn async_config(facts: &AsyncFacts, function: &str) -> Verdict {
    let fix = fill(hints::ASYNC, &[("function", function)]);
    let (retries, on_failure) = match facts {
        AsyncFacts::NotConfigured => {
            return Verdict::fail(
                "the function has no asynchronous invocation configuration: Lambda would retry a \
                 failed job twice and drop it silently afterwards"
                    .to_owned(),
                fix,
            );
        }
        AsyncFacts::Unreadable(why) => {
            return Verdict::fail(format!("could not read it: {why}"), fix);
        }
        AsyncFacts::Found {
            retries,
            on_failure,
        } => (retries.unwrap_or(2), on_failure.as_deref()),
    };
    let mut problems = Vec::new();
    if retries != 0 {
        problems.push(format!(
            "Lambda retries a failed job {retries} time(s): a poster could be drawn and billed twice"
        ));
    }
    if on_failure.is_none() {
        problems.push("no on-failure destination: a job Lambda stops is never reported".to_owned());
    }
    if problems.is_empty() {
        let queue = on_failure
            .and_then(|d| d.rsplit(':').next())
            .unwrap_or_default();
        Verdict::pass(format!("no retries; failed jobs go to {queue}"))
    } else {
        Verdict::fail(problems.join("; "), fix)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::doctor::Status;

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

    fn stack_outputs() -> BTreeMap<String, String> {
        [("BucketName", "posters"), ("TableName", "state")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub(in crate::doctor) fn healthy() -> FunctionFacts {
        FunctionFacts {
            name: "marquee-fn".into(),
            state: Some("Active".into()),
            last_update_status: Some("Successful".into()),
            env: [("MARQUEE_BUCKET", "posters"), ("MARQUEE_TABLE", "state")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            memory_mb: 1024,
            timeout: Duration::from_secs(180),
            architectures: vec!["arm64".into()],
            arn: "arn:aws:lambda:us-east-1:123456789012:function:marquee-fn".into(),
            role: "arn:aws:iam::123456789012:role/marquee-role".into(),
        }
    }

    pub(in crate::doctor) fn local_config() -> Config {
        Config::from_lookup(|_| None).unwrap()
    }

    /// A function as the template makes it passes, with what was found in one line.
    #[test]
    fn a_function_as_deployed_passes() {
        let config = local_config();
        let verdict = function(&healthy(), Ok(&config), &stack_outputs());
        assert_eq!(verdict.status, Status::Pass, "{verdict:?}");
        assert_eq!(
            verdict.detail,
            "marquee-fn: 1024 MB, 180 s, arm64; environment valid, bucket and table match the stack"
        );
    }

    /// Every problem is listed, in one line, and each fix is given once, naming the function.
    #[test]
    fn every_problem_is_listed_and_each_fix_given_once() {
        let mut facts = healthy();
        facts.state = Some("Pending".into());
        facts.last_update_status = Some("Failed".into());
        facts
            .env
            .insert("MARQUEE_BUCKET".into(), "someone-elses".into());
        facts.env.remove("MARQUEE_TABLE");
        facts.memory_mb = 256;
        let verdict = function(
            &facts,
            Err("MARQUEE_LINK_TTL is not a duration".into()),
            &stack_outputs(),
        );
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            "its environment is not valid: MARQUEE_LINK_TTL is not a duration; state is Pending; \
             its last update Failed; MARQUEE_BUCKET is someone-elses but the stack's BucketName \
             is posters; MARQUEE_TABLE is (unset) but the stack's TableName is state; memory is \
             256 MB (at least 512 MB)"
        );
        for hint in [
            hints::FUNCTION_ENV,
            hints::FUNCTION_STATE,
            hints::FUNCTION_UPDATE_FAILED,
            hints::FUNCTION_DRIFT,
            hints::FUNCTION_MEMORY,
        ] {
            let filled = fill(hint, &[("function", "marquee-fn")]);
            assert_eq!(verdict.fix.matches(&filled).count(), 1, "{hint}");
        }
        assert!(!verdict.fix.contains("<function>"), "{}", verdict.fix);
    }

    /// The timeout must outlast the longest model call the configuration allows, plus the
    /// margin for composing, storing and delivering; without a valid configuration it is not
    /// judged (the environment's own problem is reported instead).
    #[test]
    fn the_timeout_must_outlast_the_longest_model_call() {
        let config = local_config();
        let needed = config.longest_call() + TIMEOUT_MARGIN;
        let mut facts = healthy();
        facts.timeout = needed - Duration::from_secs(1);
        let verdict = function(&facts, Ok(&config), &stack_outputs());
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            format!(
                "timeout is {} s but its longest model call may take {} s (needs at least {} s)",
                facts.timeout.as_secs(),
                config.longest_call().as_secs(),
                needed.as_secs()
            )
        );
        facts.timeout = needed;
        assert_eq!(
            function(&facts, Ok(&config), &stack_outputs()).status,
            Status::Pass
        );
        facts.timeout = Duration::ZERO;
        let verdict = function(&facts, Err("bad".into()), &stack_outputs());
        assert!(!verdict.detail.contains("timeout"), "{}", verdict.detail);
    }

    /// A deployment whose configuration still names a model past its end of life fails the
    /// function check (the configuration refuses it), naming the date and what to use instead.
    #[test]
    fn a_retired_model_in_the_configuration_fails_naming_its_end_of_life() {
        let env = |name: &str| {
            (name == "MARQUEE_ALLOWED_MODELS")
                .then(|| "stability.stable-image-core-v1:1,amazon.nova-canvas-v1:0".to_owned())
        };
        let refused = Config::from_lookup(env).map_err(|e| e.to_string());
        let verdict = function(
            &healthy(),
            refused.as_ref().map_err(Clone::clone),
            &stack_outputs(),
        );
        assert_eq!(verdict.status, Status::Fail);
        for words in ["2026-09-30", "Amazon Nova Canvas", "sd3.5, core, ultra"] {
            assert!(
                verdict.detail.contains(words),
                "{words}: {}",
                verdict.detail
            );
        }
        assert!(
            verdict.fix.contains("parameter_overrides"),
            "{}",
            verdict.fix
        );
    }

    #[test]
    fn missing_credentials_say_how_to_get_them_and_which_source_failed() {
        assert_eq!(credentials(&CredentialsFacts::Found), None);
        let none = credentials(&CredentialsFacts::NotLoaded).unwrap();
        assert_eq!(none.status, Status::Fail);
        assert_eq!(none.detail, hints::NO_CREDENTIALS_DETAIL);
        assert_eq!(none.fix, hints::NO_CREDENTIALS);
        let failed =
            credentials(&CredentialsFacts::Failed("the SSO session expired".into())).unwrap();
        assert_eq!(
            failed.detail,
            format!(
                "{} (the last source tried: the SSO session expired)",
                hints::NO_CREDENTIALS_DETAIL
            )
        );
    }

    /// Retries and a missing on-failure destination each fail, together in one line; Lambda's
    /// default (no configuration) is two retries and no destination.
    #[test]
    fn async_invocations_must_not_retry_and_must_report_failures() {
        let queue = "arn:aws:sqs:us-east-1:123456789012:marquee-FailedJobQueue";
        let found = |retries: Option<i32>, on_failure: Option<&str>| AsyncFacts::Found {
            retries,
            on_failure: on_failure.map(str::to_owned),
        };
        for (facts, status, detail) in [
            (
                found(Some(0), Some(queue)),
                Status::Pass,
                "no retries; failed jobs go to marquee-FailedJobQueue",
            ),
            (
                found(Some(2), Some(queue)),
                Status::Fail,
                "Lambda retries a failed job 2 time(s): a poster could be drawn and billed twice",
            ),
            (
                found(None, Some(queue)),
                Status::Fail,
                "Lambda retries a failed job 2 time(s): a poster could be drawn and billed twice",
            ),
            (
                found(Some(0), None),
                Status::Fail,
                "no on-failure destination: a job Lambda stops is never reported",
            ),
            (
                found(Some(1), None),
                Status::Fail,
                "Lambda retries a failed job 1 time(s): a poster could be drawn and billed twice; \
                 no on-failure destination: a job Lambda stops is never reported",
            ),
            (
                AsyncFacts::NotConfigured,
                Status::Fail,
                "the function has no asynchronous invocation configuration: Lambda would retry a \
                 failed job twice and drop it silently afterwards",
            ),
            (
                AsyncFacts::Unreadable("AccessDeniedException".into()),
                Status::Fail,
                "could not read it: AccessDeniedException",
            ),
        ] {
            let verdict = async_config(&facts, "marquee-fn");
            assert_eq!((verdict.status, verdict.detail.as_str()), (status, detail));
            if status == Status::Fail {
                assert_eq!(
                    verdict.fix,
                    fill(hints::ASYNC, &[("function", "marquee-fn")])
                );
            }
        }
    }
}
