//! Judging what the gatherers ([`super::checks`]) found: pure functions from facts (what an
//! SDK call or an HTTP probe answered, already read into plain values) to a verdict (pass,
//! fail or skip, the detail, the fix), unit-tested without any service. A gatherer makes the
//! calls and hands the facts here; it decides nothing itself. What a deployment must be
//! allowed ([`needed`]) is derived here too, from the configuration alone.

use std::collections::BTreeMap;
use std::time::Duration;

use super::hints::{self, fill};
use super::{CheckId, Status};
use marquee_core::model::{Service, catalog};
use marquee_core::secret::Secret;
use marquee_service::config::{Config, SecretSource, StateConfig, StoreConfig};

/// A key under each storage prefix that no poster will ever have, for the IAM simulation.
const PROBE_NAME: &str = "marquee-doctor-probe";

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

/// What `lambda:GetFunctionConfiguration` answered for the function.
#[derive(Debug, Clone, Default)]
pub(super) struct FunctionFacts {
    pub(super) name: String,
    /// `Active` once it can run; `None` when Lambda did not say.
    pub(super) state: Option<String>,
    pub(super) last_update_status: Option<String>,
    pub(super) env: BTreeMap<String, String>,
    pub(super) memory_mb: i32,
    pub(super) timeout: Duration,
    pub(super) architectures: Vec<String>,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, for the ARNs the role must reach.
    pub(super) arn: String,
    /// The execution role's ARN, for the policy simulation.
    pub(super) role: String,
}

impl FunctionFacts {
    /// The function's ARN as (partition, region, account).
    pub(super) fn arn_parts(&self) -> (String, String, String) {
        let parts: Vec<&str> = self.arn.split(':').collect();
        let get = |i: usize| parts.get(i).copied().unwrap_or_default().to_owned();
        (get(1), get(3), get(4))
    }
}

/// The function check: its environment is a valid configuration (`config`: what
/// [`Config::from_lookup`] made of it), it is active and its last update did not fail, it
/// still points at the stack's bucket and table, and it has the memory and the time its
/// longest model call needs. Every problem is listed, each fix once.
pub(super) fn function(
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
pub(super) enum CredentialsFacts {
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
pub(super) fn credentials(facts: &CredentialsFacts) -> Option<Verdict> {
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
pub(super) fn function_unreadable(name: &str, why: &str) -> Verdict {
    Verdict::fail(
        format!("could not read function {name}: {why}"),
        hints::FUNCTION_UNREADABLE.to_owned(),
    )
}

/// What `lambda:GetFunctionEventInvokeConfig` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AsyncFacts {
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
pub(super) fn async_config(facts: &AsyncFacts, function: &str) -> Verdict {
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

/// Where a secret's value came from, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SecretFacts {
    /// The configuration names no source for it.
    NotConfigured,
    /// Read from `from` (the function's environment, or Secrets Manager and the secret's name).
    Read { value: String, from: String },
    /// `GetSecretValue` found no current version: the value was never stored.
    NeverStored { name: String, why: String },
    /// `GetSecretValue` failed otherwise (access denied, above all).
    Unreadable { name: String, why: String },
}

/// Which secret a line is about, for what its value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretKind {
    SigningSecret,
    BotToken,
    LinkKey,
}

impl SecretKind {
    fn problem(self, value: &str) -> Option<String> {
        match self {
            SecretKind::SigningSecret => signing_secret_problem(value),
            SecretKind::BotToken => bot_token_problem(value),
            SecretKind::LinkKey => link_key_problem(value),
        }
    }
}

/// One secret's check: readable and well-formed. `fix` is the secret's own remedy (store a
/// value); a secret that could not be read for another reason gets the permission's. The value
/// is handed on only when it passes.
pub(super) fn secret(facts: SecretFacts, kind: SecretKind, fix: &str) -> (Verdict, Option<Secret>) {
    let (value, from) = match facts {
        SecretFacts::NotConfigured => {
            return (
                Verdict::fail("not configured".to_owned(), fix.to_owned()),
                None,
            );
        }
        SecretFacts::NeverStored { name, why } => {
            return (
                Verdict::fail(format!("could not read {name}: {why}"), fix.to_owned()),
                None,
            );
        }
        SecretFacts::Unreadable { name, why } => {
            return (
                Verdict::fail(
                    format!("could not read {name}: {why}"),
                    hints::SECRET_UNREADABLE.to_owned(),
                ),
                None,
            );
        }
        SecretFacts::Read { value, from } => (value, from),
    };
    match kind.problem(&value) {
        None => (
            Verdict::pass(format!(
                "readable from {from}, well-formed ({} characters)",
                value.chars().count()
            )),
            Some(Secret::new(value)),
        ),
        Some(p) => (
            Verdict::fail(format!("read from {from}, but {p}"), fix.to_owned()),
            None,
        ),
    }
}

/// A secret's name from its ARN (`…:secret:marquee/signing-secret-AbCdEf`), for messages.
pub(super) fn secret_name(arn: &str) -> &str {
    arn.split_once(":secret:").map_or(arn, |(_, name)| name)
}

fn common_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty (the value was never stored)".into());
    }
    if value.chars().any(char::is_whitespace) {
        return Some("it contains spaces or line breaks (pasted with extra text?)".into());
    }
    None
}

/// Slack's signing secrets are 32 hexadecimal characters today; anything much shorter, or a
/// token, was pasted from the wrong field.
fn signing_secret_problem(value: &str) -> Option<String> {
    common_problem(value).or_else(|| {
        if value.starts_with("xox") {
            Some("it is a Slack token, not the signing secret".into())
        } else if value.len() < 32 {
            Some(format!(
                "it has {} characters, fewer than a Slack signing secret (the 24-character \
                 Verification Token is a different, deprecated value)",
                value.len()
            ))
        } else {
            None
        }
    })
}

/// Bot tokens begin `xoxb-` (Slack's token types); a user token would post as a person.
fn bot_token_problem(value: &str) -> Option<String> {
    common_problem(value).or_else(|| {
        (!value.starts_with("xoxb-")).then(|| {
            let kind = value.split('-').next().unwrap_or_default();
            format!("it does not begin xoxb- (a {kind}- value is not a bot token)")
        })
    })
}

fn link_key_problem(value: &str) -> Option<String> {
    common_problem(value).or_else(|| {
        (value.len() < 32)
            .then(|| format!("it has {} characters; links need at least 32", value.len()))
    })
}

/// What Slack's `auth.test` answered for the bot token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SlackFacts {
    Unreachable(String),
    /// `ok: false`, with Slack's `error` (`invalid_auth`, `token_revoked`, …).
    Refused(String),
    /// `ok: true`: the workspace and the scopes the `x-oauth-scopes` header lists.
    Valid {
        team: String,
        granted: Vec<String>,
    },
}

/// The Slack check: the token is valid and holds every scope in `wanted` (the manifest's).
pub(super) fn slack(facts: &SlackFacts, wanted: &[String]) -> Verdict {
    let (team, granted) = match facts {
        SlackFacts::Unreachable(why) => {
            return Verdict::fail(
                format!("could not reach Slack's auth.test: {why}"),
                hints::SLACK_UNREACHABLE.to_owned(),
            );
        }
        SlackFacts::Refused(error) => {
            return Verdict::fail(
                format!("Slack refused the bot token: {error}"),
                hints::SLACK_REFUSED.to_owned(),
            );
        }
        SlackFacts::Valid { team, granted } => (team, granted),
    };
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !granted.contains(w))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Verdict::pass(format!(
            "bot token valid for {team}; all {} manifest scopes granted",
            wanted.len()
        ))
    } else {
        Verdict::fail(
            format!(
                "bot token valid for {team} but lacks {}",
                missing.join(", ")
            ),
            hints::SLACK_SCOPES.to_owned(),
        )
    }
}

/// What Bedrock's control plane says about one model in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ModelFacts {
    /// `GetFoundationModelAvailability` failed: why.
    Unreadable(String),
    Found {
        /// `GetFoundationModelAvailability`'s `regionAvailability`, `authorizationStatus`,
        /// `entitlementAvailability` and `agreementAvailability.status` (when given).
        region: String,
        authorization: String,
        entitlement: String,
        agreement: Option<String>,
        /// `GetFoundationModel`'s `modelLifecycle`: its status and end-of-life time (ISO
        /// 8601), or why it could not be read.
        lifecycle: Result<(String, Option<String>), String>,
    },
}

/// One model's check: served in its region, this account may use it, and it is not Legacy.
pub(super) fn model(facts: &ModelFacts, row: &catalog::Row, region: &str) -> Verdict {
    let model = row.bedrock_id.unwrap_or_default();
    let (available, authorization, entitlement, agreement, lifecycle) = match facts {
        ModelFacts::Unreadable(why) => {
            return Verdict::fail(
                format!("could not ask Bedrock about {model}: {why}"),
                fill(hints::MODEL_UNREADABLE, &[("region", region)]),
            );
        }
        ModelFacts::Found {
            region,
            authorization,
            entitlement,
            agreement,
            lifecycle,
        } => (region, authorization, entitlement, agreement, lifecycle),
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if available != "AVAILABLE" {
        problems.push(format!("Bedrock does not serve it in {region}"));
        fixes.push(hints::MODEL_REGION.to_owned());
    }
    let mut access = Vec::new();
    if authorization != "AUTHORIZED" {
        access.push("this account is not authorized to use it".to_owned());
    }
    if entitlement != "AVAILABLE" {
        access.push("the account has no entitlement to it".to_owned());
    }
    if let Some(agreement) = agreement.as_deref().filter(|a| *a != "AVAILABLE") {
        access.push(format!("its model agreement is {agreement}"));
    }
    if !access.is_empty() && problems.is_empty() {
        fixes.push(fill(hints::MODEL_ACCESS, &[("region", region)]));
    }
    problems.extend(access);
    // A Legacy model still answers today and stops at its end of life, so it fails here while
    // there is time.
    match lifecycle {
        Err(why) => {
            problems.push(format!("could not read its lifecycle: {why}"));
            fixes.push("let your credentials call bedrock:GetFoundationModel".to_owned());
        }
        Ok((status, api_eol)) => {
            if let Some((problem, fix)) = lifecycle_problem(row, status, api_eol.as_deref()) {
                problems.push(problem);
                fixes.push(fix);
            }
        }
    }
    if problems.is_empty() {
        Verdict::pass(format!("{model} is enabled and active"))
    } else {
        fixes.dedup();
        Verdict::fail(problems.join("; "), fixes.join("; "))
    }
}

/// What is wrong with a model Bedrock reports in lifecycle `status`, if anything: a Legacy (or
/// otherwise not Active) model fails, naming its end-of-life date — the catalog's, which cites
/// its source, else the one Bedrock gives (`api_eol`) — and what to choose instead.
fn lifecycle_problem(
    row: &catalog::Row,
    status: &str,
    api_eol: Option<&str>,
) -> Option<(String, String)> {
    if status == "ACTIVE" {
        return None;
    }
    let eol = match (row.lifecycle.end_of_life, api_eol) {
        (Some(date), _) => format!("end of life on {date} ({})", row.lifecycle.source),
        (None, Some(date)) => format!("end of life on {}", date.get(..10).unwrap_or(date)),
        (None, None) => "its end-of-life date is not published yet".to_owned(),
    };
    Some((
        format!("Bedrock marks it {status}: {eol}"),
        format!(
            "replace {} before then: choose one of {} for DefaultModel/AllowedModels and deploy again",
            row.display_name,
            catalog::replacements()
        ),
    ))
}

/// What the bucket's settings and an anonymous read say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BucketFacts {
    pub(super) name: String,
    pub(super) block: BlockFacts,
    /// What was tried without credentials (`reading a poster`, `listing the bucket …`) and
    /// the status it got (0: no answer).
    pub(super) anonymous: (String, u16),
    /// The bucket is reached over plain HTTP (a local endpoint).
    pub(super) plain_http: bool,
    /// The bucket policy's text, or why it could not be read.
    pub(super) policy: Result<String, String>,
    /// The lifecycle rules, or why they could not be read.
    pub(super) lifecycle: Result<Vec<ExpiryRule>, String>,
}

/// What `GetPublicAccessBlock` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BlockFacts {
    /// Whether all four settings are on.
    Read {
        all_on: bool,
    },
    /// 501: an S3-compatible store without the feature (the local stack's SeaweedFS).
    NotImplemented,
    Unreadable(String),
}

/// One lifecycle rule, as far as expiry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExpiryRule {
    /// In its filter or (as older rules have it) on the rule itself.
    pub(super) prefix: Option<String>,
    pub(super) enabled: bool,
    pub(super) expiration_days: Option<i32>,
}

/// The privacy check: Block Public Access is on, and anyone without credentials is refused.
pub(super) fn bucket_private(facts: &BucketFacts) -> Verdict {
    let bucket = &facts.name;
    let fix = fill(hints::BUCKET_PRIVATE, &[("bucket", bucket)]);
    let (tried, status) = (&facts.anonymous.0, facts.anonymous.1);
    let refused = match status {
        403 => format!("{tried} without credentials is refused (403)"),
        200 => {
            return Verdict::fail(
                format!("anyone can succeed at {tried} without credentials"),
                fix,
            );
        }
        0 => return Verdict::fail(format!("{tried} without credentials got no answer"), fix),
        other => {
            return Verdict::fail(
                format!("{tried} without credentials answered {other}, not 403"),
                fix,
            );
        }
    };
    match &facts.block {
        BlockFacts::Read { all_on: true } => {
            Verdict::pass(format!("{bucket}: public access blocked; {refused}"))
        }
        BlockFacts::Read { all_on: false } => Verdict::fail(
            format!("{bucket}: not all four Block Public Access settings are on ({refused})"),
            fix,
        ),
        // S3 always answers this; then the anonymous read is the whole evidence.
        BlockFacts::NotImplemented => Verdict::pass(format!(
            "{bucket}: {refused}; this store has no Block Public Access settings (501)"
        )),
        BlockFacts::Unreadable(why) => Verdict::fail(
            format!(
                "{bucket}: {refused}, but its Block Public Access settings could not be read: {why}"
            ),
            fix,
        ),
    }
}

/// The TLS check: the policy denies every request without TLS. Not applicable to a store
/// reached over plain HTTP.
pub(super) fn bucket_tls(facts: &BucketFacts) -> Verdict {
    if facts.plain_http {
        return Verdict::skip(
            "this store is reached over plain HTTP (a local endpoint): there is no TLS to require",
        );
    }
    match &facts.policy {
        Ok(policy) if denies_plain_http(policy) => {
            Verdict::pass("its policy denies every request without TLS".to_owned())
        }
        Ok(_) => Verdict::fail(
            "its policy has no Deny for aws:SecureTransport = false".to_owned(),
            hints::BUCKET_DRIFT.to_owned(),
        ),
        Err(why) => Verdict::fail(
            format!("its policy could not be read: {why}"),
            hints::BUCKET_DRIFT.to_owned(),
        ),
    }
}

/// The lifecycle check: an enabled expiry rule for every key prefix the code writes.
pub(super) fn bucket_lifecycle(facts: &BucketFacts) -> Verdict {
    let rules = match &facts.lifecycle {
        Ok(rules) => rules,
        Err(why) => {
            return Verdict::fail(
                format!("no lifecycle rules could be read: {why}"),
                hints::BUCKET_DRIFT.to_owned(),
            );
        }
    };
    let covered = |prefix: &str| {
        rules.iter().any(|r| {
            r.enabled
                && r.expiration_days.is_some_and(|d| d > 0)
                && r.prefix.as_deref() == Some(prefix)
        })
    };
    let missing: Vec<&str> = marquee_core::store::KEY_PREFIXES
        .into_iter()
        .filter(|p| !covered(p))
        .collect();
    if missing.is_empty() {
        Verdict::pass(format!(
            "an enabled expiry rule for each of {}",
            marquee_core::store::KEY_PREFIXES.join(" ")
        ))
    } else {
        Verdict::fail(
            format!("no enabled expiry rule for {}", missing.join(" ")),
            hints::BUCKET_DRIFT.to_owned(),
        )
    }
}

/// Whether a bucket policy denies requests made without TLS (`aws:SecureTransport` false).
fn denies_plain_http(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(s) => s.clone(),
        s @ serde_json::Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && s["Condition"]["Bool"]["aws:SecureTransport"]
                .as_str()
                .or_else(|| {
                    s["Condition"]["Bool"]["aws:SecureTransport"]
                        .as_bool()
                        .map(|b| if b { "true" } else { "false" })
                })
                == Some("false")
    })
}

/// One group of permissions: the actions needed on each resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Needs {
    pub(super) check: CheckId,
    pub(super) what: String,
    pub(super) pairs: Vec<(String, Vec<String>)>,
    /// Why there is nothing to check, when `pairs` is empty.
    pub(super) absent: &'static str,
}

/// One decision of IAM's policy simulator that was not `allowed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Denial {
    pub(super) action: String,
    pub(super) resource: String,
    /// `implicitDeny` or `explicitDeny`.
    pub(super) decision: String,
}

/// One permission group's check: every action allowed on every resource (`denied`: what the
/// simulator refused, or why it could not simulate).
pub(super) fn permissions(needs: &Needs, denied: &Result<Vec<Denial>, String>) -> Verdict {
    if needs.pairs.is_empty() {
        return Verdict::skip(needs.absent);
    }
    let count: usize = needs.pairs.iter().map(|(_, a)| a.len()).sum();
    match denied {
        Err(why) => Verdict::fail(
            format!("could not simulate the role's policy: {why}"),
            hints::IAM_SIMULATE.to_owned(),
        ),
        Ok(denied) if denied.is_empty() => {
            Verdict::pass(format!("{count} action(s) allowed: {}", needs.what))
        }
        Ok(denied) => Verdict::fail(
            format!(
                "the role may not: {}",
                denied
                    .iter()
                    .map(|d| format!("{} on {} ({})", d.action, d.resource, d.decision))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            hints::IAM_DENIED.to_owned(),
        ),
    }
}

/// What the code does with AWS, as (resource, actions) per group, for this configuration:
/// `function` is the deployed function, `destination` its on-failure destination.
pub(super) fn needed(
    config: &Config,
    outputs: &BTreeMap<String, String>,
    function: &FunctionFacts,
    destination: Option<&str>,
) -> Vec<Needs> {
    let (partition, region, account) = function.arn_parts();
    let worker = match &config.worker_function {
        Some(name) if name.starts_with("arn:") => name.clone(),
        Some(name) => format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
        None => function.arn.clone(),
    };
    let invoke = Needs {
        check: CheckId::IamInvoke,
        what: "lambda:InvokeFunction on the worker".into(),
        absent: "",
        pairs: vec![(worker, vec!["lambda:InvokeFunction".into()])],
    };

    let mut models = Vec::new();
    for (id, model_region) in &config.model_regions {
        if let Some(model) = id.bedrock_id() {
            models.push((
                format!("arn:{partition}:bedrock:{model_region}::foundation-model/{model}"),
                vec!["bedrock:InvokeModel".into()],
            ));
        }
    }
    for service in config.services() {
        let service_region = config.service_region();
        models.push((
            format!(
                "arn:{partition}:bedrock:{service_region}:{account}:inference-profile/{}",
                service.profile_id()
            ),
            vec!["bedrock:InvokeModel".into()],
        ));
        for routed in Service::PROFILE_REGIONS {
            models.push((
                format!(
                    "arn:{partition}:bedrock:{routed}::foundation-model/{}",
                    service.bedrock_id()
                ),
                vec!["bedrock:InvokeModel".into()],
            ));
        }
    }
    let models = Needs {
        check: CheckId::IamModels,
        what: format!(
            "bedrock:InvokeModel on {} model or profile ARN(s)",
            models.len()
        ),
        pairs: models,
        absent: "only the offline generator is allowed",
    };

    let mut storage = Vec::new();
    if let StoreConfig::S3 { bucket } = &config.store {
        for prefix in marquee_core::store::KEY_PREFIXES {
            storage.push((
                format!("arn:{partition}:s3:::{bucket}/{prefix}{PROBE_NAME}"),
                vec!["s3:GetObject".into(), "s3:PutObject".into()],
            ));
        }
        storage.push((
            format!("arn:{partition}:s3:::{bucket}"),
            vec!["s3:ListBucket".into()],
        ));
    }
    let storage = Needs {
        check: CheckId::IamStorage,
        what: format!(
            "read and write {}, list the bucket",
            marquee_core::store::KEY_PREFIXES.join(" ")
        ),
        pairs: storage,
        absent: "posters are not kept in S3 by this configuration",
    };

    let mut state = Vec::new();
    if let StateConfig::Dynamo { table } = &config.state {
        state.push((
            format!("arn:{partition}:dynamodb:{region}:{account}:table/{table}"),
            marquee_core::state::dynamo::IAM_ACTIONS
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
        ));
    }
    let state = Needs {
        check: CheckId::IamState,
        absent: "state is not kept in DynamoDB by this configuration",
        what: format!(
            "{} item operations on {}",
            marquee_core::state::dynamo::IAM_ACTIONS.len(),
            outputs
                .get("TableName")
                .map(String::as_str)
                .unwrap_or_default()
        ),
        pairs: state,
    };

    let secret_arns: Vec<&String> = [&config.signing_secret, &config.bot_token, &config.link_key]
        .into_iter()
        .filter_map(|s| match s {
            Some(SecretSource::SecretsManager { arn }) => Some(arn),
            _ => None,
        })
        .collect();
    let secrets = Needs {
        check: CheckId::IamSecrets,
        absent: "no secret is read from Secrets Manager (values are set in the function's environment)",
        what: format!(
            "secretsmanager:GetSecretValue on {} secret(s)",
            secret_arns.len()
        ),
        pairs: secret_arns
            .into_iter()
            .map(|arn| (arn.clone(), vec!["secretsmanager:GetSecretValue".into()]))
            .collect(),
    };

    let failed = Needs {
        check: CheckId::IamFailedJobs,
        what: "send to and read the on-failure queue".into(),
        absent: "no on-failure queue to check (see Async invocations)",
        pairs: destination
            .filter(|d| d.starts_with("arn:") && d.contains(":sqs:"))
            .map(|queue| {
                vec![(
                    queue.to_owned(),
                    [
                        "sqs:SendMessage",
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    ]
                    .map(String::from)
                    .to_vec(),
                )]
            })
            .unwrap_or_default(),
    };
    vec![invoke, models, storage, state, secrets, failed]
}

/// What the front door answered: to a request without a signature, and (when the answer was
/// 401 and a signing secret was read) to one signed with the stored secret. `Err`: no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FrontDoorFacts {
    pub(super) url: String,
    pub(super) unsigned: Result<u16, String>,
    pub(super) signed: Option<Result<u16, String>>,
}

/// The front-door check: unsigned requests are refused (401) and a request signed with the
/// stored secret is accepted (400: verified, but not a command). `vars` fill the hints.
pub(super) fn front_door(facts: &FrontDoorFacts, vars: &[(&str, &str)]) -> Verdict {
    let url = &facts.url;
    match &facts.unsigned {
        Err(why) => {
            return Verdict::fail(
                format!("{url} did not answer: {why}"),
                fill(hints::FRONT_DOOR_UNREACHABLE, vars),
            );
        }
        Ok(401) => {}
        Ok(other) => {
            return Verdict::fail(
                format!("an unsigned request to {url} got {other}, not 401"),
                fill(hints::FRONT_DOOR_NOT_MARQUEE, vars),
            );
        }
    }
    match &facts.signed {
        None => Verdict::pass(format!("{url} refuses unsigned requests (401)")),
        Some(Ok(400)) => Verdict::pass(format!(
            "{url} refuses unsigned requests (401) and accepts the stored signing secret"
        )),
        Some(Ok(401)) => Verdict::fail(
            "a request signed with the stored signing secret was refused (401): the running \
             function holds another secret"
                .to_owned(),
            fill(hints::FRONT_DOOR_SECRET, vars),
        ),
        Some(Ok(other)) => Verdict::fail(
            format!("a signed request that is not a command got {other}, not 400"),
            fill(hints::FRONT_DOOR_OTHER, vars),
        ),
        Some(Err(why)) => Verdict::fail(
            format!("{url} did not answer a signed request: {why}"),
            fill(hints::FRONT_DOOR_OTHER, vars),
        ),
    }
}

/// The deployment's base URL (the `HttpApiUrl` output), from the slash command's URL.
pub(super) fn base_url(outputs: &BTreeMap<String, String>) -> &str {
    let command = outputs
        .get("SlashCommandUrl")
        .map(String::as_str)
        .unwrap_or_default();
    command.strip_suffix("/slack/commands").unwrap_or(command)
}

/// The manifest check: `text` (the file at `path`, or why it could not be read) sends Slack's
/// requests to this deployment's URLs, subscribes to the events the code answers and declares
/// the message shortcut.
pub(super) fn manifest(
    text: Result<&str, String>,
    path: &str,
    stack: &str,
    outputs: &BTreeMap<String, String>,
) -> Verdict {
    use marquee_core::slack::manifest as m;
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            return Verdict::fail(
                format!("could not read {path}: {e}"),
                fill(hints::MANIFEST_UNREADABLE, &[("stack", stack)]),
            );
        }
    };
    let urls = m::request_urls(text);
    let mut wrong = Vec::new();
    for (what, have, output) in [
        ("the /poster command's url", urls.command, "SlashCommandUrl"),
        (
            "interactivity's request_url",
            urls.interactivity,
            "InteractivityUrl",
        ),
        ("event_subscriptions' request_url", urls.events, "EventsUrl"),
    ] {
        let Some(want) = outputs.get(output) else {
            wrong.push(format!(
                "the stack has no {output} output (deploy this version)"
            ));
            continue;
        };
        match have {
            Some(h) if &h == want => {}
            Some(h) => wrong.push(format!("{what} is {h}, the stack's {output} is {want}")),
            None => wrong.push(format!("{what} is missing")),
        }
    }
    // What the events door and the shortcut need Slack to send (the scopes are checked
    // against the bot token under slack.auth).
    let events = m::bot_events(text);
    for event in m::bot_events(m::MANIFEST_TEMPLATE) {
        if !events.contains(&event) {
            wrong.push(format!(
                "it does not subscribe to the {event} event (mentions and direct messages go unanswered)"
            ));
        }
    }
    let shortcuts = m::shortcut_callbacks(text);
    if !shortcuts
        .iter()
        .any(|c| c == marquee_core::slack::shortcut::CALLBACK_ID)
    {
        wrong.push(format!(
            "it has no message shortcut with callback_id {}",
            marquee_core::slack::shortcut::CALLBACK_ID
        ));
    }
    if wrong.is_empty() {
        Verdict::pass(
            "its request URLs are this deployment's; events and the shortcut are declared"
                .to_owned(),
        )
    } else {
        Verdict::fail(
            wrong.join("; "),
            fill(hints::MANIFEST_WRONG, &[("HttpApiUrl", base_url(outputs))]),
        )
    }
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

    fn stack_outputs() -> BTreeMap<String, String> {
        [("BucketName", "posters"), ("TableName", "state")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn healthy() -> FunctionFacts {
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

    fn local_config() -> Config {
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

    fn read(value: &str) -> SecretFacts {
        SecretFacts::Read {
            value: value.to_owned(),
            from: "the function's environment".to_owned(),
        }
    }

    /// Each secret is read and must look like what it is; pasted from the wrong field, empty,
    /// never stored or unreadable, it fails with its own words and fix.
    #[test]
    fn secrets_pasted_from_the_wrong_field_are_named() {
        use SecretKind::*;
        let signing = "8f742231b10e8888abcd99yyyzzz85a5";
        let bot = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";
        for (kind, facts, passes, words) in [
            (
                SigningSecret,
                read(signing),
                true,
                "readable from the function's environment, well-formed (32 characters)",
            ),
            (
                SigningSecret,
                read("xoxb-1-2-3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                false,
                "it is a Slack token, not the signing secret",
            ),
            (
                SigningSecret,
                read("gIkuvaNzQIHg97ATvDxqgjtO"),
                false,
                "Verification Token",
            ),
            (SigningSecret, read(""), false, "it is empty"),
            (
                SigningSecret,
                read("8f742231b10e 888abcd99yyyzzz85a5"),
                false,
                "spaces or line breaks",
            ),
            (BotToken, read(bot), true, "well-formed"),
            (
                BotToken,
                read("xoxp-1234-5678-user-token"),
                false,
                "it does not begin xoxb- (a xoxp- value is not a bot token)",
            ),
            (
                LinkKey,
                read("short"),
                false,
                "it has 5 characters; links need at least 32",
            ),
            (LinkKey, read(&"k".repeat(48)), true, "(48 characters)"),
            (
                SigningSecret,
                SecretFacts::NotConfigured,
                false,
                "not configured",
            ),
        ] {
            let (verdict, secret) = secret(facts, kind, "store it");
            assert_eq!(
                verdict.status == Status::Pass,
                passes,
                "{kind:?}: {verdict:?}"
            );
            assert_eq!(
                secret.is_some(),
                passes,
                "{kind:?}: handed on only when it passes"
            );
            assert!(
                verdict.detail.contains(words),
                "{kind:?}: {}",
                verdict.detail
            );
            assert_eq!(verdict.fix, if passes { "" } else { "store it" });
            assert!(!verdict.detail.contains(signing) && !verdict.detail.contains(bot));
        }
    }

    /// A secret never stored gets its own fix (store a value); one the admin may not read gets
    /// the permission's.
    #[test]
    fn an_unreadable_secret_asks_for_access_a_missing_one_for_a_value() {
        let (never, _) = secret(
            SecretFacts::NeverStored {
                name: "marquee/signing-secret-AbCdEf".into(),
                why: "ResourceNotFoundException".into(),
            },
            SecretKind::SigningSecret,
            hints::SECRET_SIGNING,
        );
        assert_eq!(
            never.detail,
            "could not read marquee/signing-secret-AbCdEf: ResourceNotFoundException"
        );
        assert_eq!(never.fix, hints::SECRET_SIGNING);
        let (denied, _) = secret(
            SecretFacts::Unreadable {
                name: "marquee/bot-token-AbCdEf".into(),
                why: "AccessDeniedException".into(),
            },
            SecretKind::BotToken,
            hints::SECRET_BOT,
        );
        assert_eq!(denied.status, Status::Fail);
        assert_eq!(denied.fix, hints::SECRET_UNREADABLE);
        assert_eq!(
            secret_name("arn:aws:secretsmanager:us-east-1:1:secret:marquee/link-key-Ab12"),
            "marquee/link-key-Ab12"
        );
    }

    /// The bot token must be valid and hold every scope the manifest asks for.
    #[test]
    fn a_bot_token_without_a_manifest_scope_fails_the_slack_check() {
        let wanted: Vec<String> = ["commands", "chat:write", "files:write"]
            .map(String::from)
            .to_vec();
        let valid = |granted: &[&str]| SlackFacts::Valid {
            team: "Acme".into(),
            granted: granted.iter().map(|s| (*s).to_owned()).collect(),
        };
        for (facts, status, detail, fix) in [
            (
                valid(&["commands", "chat:write", "files:write", "users:read"]),
                Status::Pass,
                "bot token valid for Acme; all 3 manifest scopes granted",
                "",
            ),
            (
                valid(&["commands", "chat:write"]),
                Status::Fail,
                "bot token valid for Acme but lacks files:write",
                hints::SLACK_SCOPES,
            ),
            (
                SlackFacts::Refused("token_revoked".into()),
                Status::Fail,
                "Slack refused the bot token: token_revoked",
                hints::SLACK_REFUSED,
            ),
            (
                SlackFacts::Unreachable("connection refused".into()),
                Status::Fail,
                "could not reach Slack's auth.test: connection refused",
                hints::SLACK_UNREACHABLE,
            ),
        ] {
            let verdict = slack(&facts, &wanted);
            assert_eq!(
                (
                    verdict.status,
                    verdict.detail.as_str(),
                    verdict.fix.as_str()
                ),
                (status, detail, fix)
            );
        }
    }

    fn available(lifecycle: Result<(String, Option<String>), String>) -> ModelFacts {
        ModelFacts::Found {
            region: "AVAILABLE".into(),
            authorization: "AUTHORIZED".into(),
            entitlement: "AVAILABLE".into(),
            agreement: Some("AVAILABLE".into()),
            lifecycle,
        }
    }

    fn active() -> Result<(String, Option<String>), String> {
        Ok(("ACTIVE".into(), None))
    }

    /// A model passes when Bedrock serves it in its region, this account may use it and it is
    /// Active; each way it can fail says why and what to do.
    #[test]
    fn a_model_is_served_enabled_and_active_or_its_check_says_why_not() {
        use marquee_core::model::ModelId;
        let core = ModelId::StableImageCore.row();
        let with = |f: fn(&mut ModelFacts)| {
            let mut facts = available(active());
            f(&mut facts);
            facts
        };
        let cases: Vec<(ModelFacts, &str, &str)> = vec![
            (available(active()), "is enabled and active", ""),
            (
                with(|f| {
                    if let ModelFacts::Found { authorization, .. } = f {
                        *authorization = "NOT_AUTHORIZED".into();
                    }
                }),
                "this account is not authorized to use it",
                "Open in playground",
            ),
            (
                with(|f| {
                    if let ModelFacts::Found { entitlement, .. } = f {
                        *entitlement = "NOT_AVAILABLE".into();
                    }
                }),
                "the account has no entitlement to it",
                "Open in playground",
            ),
            (
                with(|f| {
                    if let ModelFacts::Found { agreement, .. } = f {
                        *agreement = Some("PENDING".into());
                    }
                }),
                "its model agreement is PENDING",
                "Open in playground",
            ),
            (
                with(|f| {
                    if let ModelFacts::Found { region, .. } = f {
                        *region = "NOT_AVAILABLE".into();
                    }
                }),
                "Bedrock does not serve it in us-west-2",
                hints::MODEL_REGION,
            ),
            (
                available(Ok(("LEGACY".into(), Some("2027-06-30T00:00:00Z".into())))),
                "Bedrock marks it LEGACY: end of life on 2027-06-30",
                "sd3.5, core, ultra",
            ),
            (
                available(Err("AccessDeniedException".into())),
                "could not read its lifecycle: AccessDeniedException",
                "bedrock:GetFoundationModel",
            ),
            (
                ModelFacts::Unreadable("AccessDeniedException".into()),
                "could not ask Bedrock about stability.stable-image-core-v1:1: AccessDeniedException",
                "bedrock:GetFoundationModelAvailability",
            ),
        ];
        for (facts, detail, fix) in cases {
            let verdict = model(&facts, core, "us-west-2");
            assert_eq!(
                verdict.status == Status::Pass,
                fix.is_empty(),
                "{verdict:?}"
            );
            assert!(verdict.detail.contains(detail), "{detail}: {verdict:?}");
            assert!(verdict.fix.contains(fix), "{fix}: {verdict:?}");
            // The console's "Model access" page is retired (docs/INSTALL.md, section 2).
            assert!(!verdict.fix.contains("Model access"), "{verdict:?}");
            assert!(!verdict.fix.contains("<region>"), "{verdict:?}");
        }
    }

    /// A Legacy model fails with the end-of-life date from the catalog (with its source) when
    /// the catalog has one, else Bedrock's own date, and always names what to choose instead.
    #[test]
    fn a_legacy_model_fails_naming_its_end_of_life() {
        use marquee_core::model::ModelId;
        let nova = ModelId::NovaCanvas.row();
        let (problem, fix) =
            lifecycle_problem(nova, "LEGACY", Some("2027-01-01T00:00:00Z")).unwrap();
        assert!(
            problem.contains("LEGACY") && problem.contains("2026-09-30"),
            "{problem}"
        );
        assert!(problem.contains("model-lifecycle-legacy.html"), "{problem}");
        assert!(fix.contains("sd3.5, core, ultra"), "{fix}");
        let core = ModelId::StableImageCore.row();
        assert_eq!(lifecycle_problem(core, "ACTIVE", None), None);
        let (problem, _) = lifecycle_problem(core, "LEGACY", Some("2027-03-31T00:00:00Z")).unwrap();
        assert!(problem.contains("end of life on 2027-03-31"), "{problem}");
        let (problem, _) = lifecycle_problem(core, "LEGACY", None).unwrap();
        assert!(problem.contains("not published"), "{problem}");
    }

    /// The statement template.yaml's PosterBucketPolicy deploys, as S3 returns it.
    const TLS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

    #[test]
    fn a_tls_only_policy_is_recognised() {
        assert!(denies_plain_http(TLS_POLICY));
        assert!(denies_plain_http(&TLS_POLICY.replace("\"false\"", "false")));
        assert!(!denies_plain_http(&TLS_POLICY.replace("Deny", "Allow")));
        assert!(!denies_plain_http("{}"));
        assert!(!denies_plain_http("not json"));
    }

    fn rule(prefix: &str) -> ExpiryRule {
        ExpiryRule {
            prefix: Some(prefix.to_owned()),
            enabled: true,
            expiration_days: Some(30),
        }
    }

    /// The bucket as the template makes it, on AWS.
    fn deployed_bucket() -> BucketFacts {
        BucketFacts {
            name: "posters".into(),
            block: BlockFacts::Read { all_on: true },
            anonymous: ("reading a poster".into(), 403),
            plain_http: false,
            policy: Ok(TLS_POLICY.to_owned()),
            lifecycle: Ok(marquee_core::store::KEY_PREFIXES
                .into_iter()
                .map(rule)
                .collect()),
        }
    }

    /// Private means refused without credentials and (where the store has them) all four
    /// Block Public Access settings on; the anonymous read is the evidence either way.
    #[test]
    fn a_public_bucket_fails_the_privacy_check() {
        let with = |f: fn(&mut BucketFacts)| {
            let mut facts = deployed_bucket();
            f(&mut facts);
            bucket_private(&facts)
        };
        for (verdict, passes, detail) in [
            (
                with(|_| {}),
                true,
                "posters: public access blocked; reading a poster without credentials is refused (403)",
            ),
            (
                with(|f| f.block = BlockFacts::NotImplemented),
                true,
                "posters: reading a poster without credentials is refused (403); this store has no \
                 Block Public Access settings (501)",
            ),
            (
                with(|f| f.anonymous.1 = 200),
                false,
                "anyone can succeed at reading a poster without credentials",
            ),
            (
                with(|f| {
                    f.block = BlockFacts::NotImplemented;
                    f.anonymous = ("listing the bucket (no poster to try yet)".into(), 200);
                }),
                false,
                "anyone can succeed at listing the bucket (no poster to try yet) without credentials",
            ),
            (
                with(|f| f.anonymous.1 = 0),
                false,
                "reading a poster without credentials got no answer",
            ),
            (
                with(|f| f.anonymous.1 = 404),
                false,
                "reading a poster without credentials answered 404, not 403",
            ),
            (
                with(|f| f.block = BlockFacts::Read { all_on: false }),
                false,
                "posters: not all four Block Public Access settings are on (reading a poster \
                 without credentials is refused (403))",
            ),
            (
                with(|f| f.block = BlockFacts::Unreadable("AccessDenied".into())),
                false,
                "posters: reading a poster without credentials is refused (403), but its Block \
                 Public Access settings could not be read: AccessDenied",
            ),
        ] {
            assert_eq!(verdict.status == Status::Pass, passes, "{verdict:?}");
            assert_eq!(verdict.detail, detail);
            if !passes {
                assert_eq!(
                    verdict.fix,
                    fill(hints::BUCKET_PRIVATE, &[("bucket", "posters")])
                );
            }
        }
    }

    #[test]
    fn the_bucket_must_deny_plain_http_unless_it_is_reached_over_it() {
        assert_eq!(bucket_tls(&deployed_bucket()).status, Status::Pass);
        let mut facts = deployed_bucket();
        facts.policy = Ok(TLS_POLICY.replace("Deny", "Allow"));
        let verdict = bucket_tls(&facts);
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            "its policy has no Deny for aws:SecureTransport = false"
        );
        assert_eq!(verdict.fix, hints::BUCKET_DRIFT);
        facts.policy = Err("NoSuchBucketPolicy".into());
        assert_eq!(
            bucket_tls(&facts).detail,
            "its policy could not be read: NoSuchBucketPolicy"
        );
        // The local stack: SeaweedFS over plain HTTP (tests/it/support/SEAWEED-NOTES.md).
        facts.plain_http = true;
        let verdict = bucket_tls(&facts);
        assert_eq!(verdict.status, Status::Skip);
        assert!(verdict.detail.contains("plain HTTP"), "{}", verdict.detail);
    }

    /// Every prefix the code writes needs an enabled rule with a positive expiry.
    #[test]
    fn a_bucket_without_expiry_rules_fails_the_lifecycle_check() {
        let all = deployed_bucket();
        assert_eq!(
            bucket_lifecycle(&all).detail,
            format!(
                "an enabled expiry rule for each of {}",
                marquee_core::store::KEY_PREFIXES.join(" ")
            )
        );
        let first = marquee_core::store::KEY_PREFIXES[0];
        for (change, detail) in [
            (
                (|r: &mut ExpiryRule| r.enabled = false) as fn(&mut ExpiryRule),
                format!("no enabled expiry rule for {first}"),
            ),
            (
                |r| r.expiration_days = None,
                format!("no enabled expiry rule for {first}"),
            ),
            (
                |r| r.expiration_days = Some(0),
                format!("no enabled expiry rule for {first}"),
            ),
            (
                |r| r.prefix = Some("other/".into()),
                format!("no enabled expiry rule for {first}"),
            ),
        ] {
            let mut facts = deployed_bucket();
            if let Ok(rules) = &mut facts.lifecycle {
                change(&mut rules[0]);
            }
            let verdict = bucket_lifecycle(&facts);
            assert_eq!((verdict.status, verdict.detail), (Status::Fail, detail));
            assert_eq!(verdict.fix, hints::BUCKET_DRIFT);
        }
        let mut facts = deployed_bucket();
        facts.lifecycle = Err("NoSuchLifecycleConfiguration".into());
        assert_eq!(
            bucket_lifecycle(&facts).detail,
            "no lifecycle rules could be read: NoSuchLifecycleConfiguration"
        );
    }

    /// The configuration a deployed stack gives the function: S3, DynamoDB, secrets in
    /// Secrets Manager, the template's models.
    fn deployed_config() -> Config {
        let env: BTreeMap<&str, &str> = [
            ("MARQUEE_BUCKET", "posters"),
            ("MARQUEE_TABLE", "state"),
            (
                "SLACK_SIGNING_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/signing-Ab12",
            ),
            (
                "SLACK_BOT_TOKEN_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/bot-Ab12",
            ),
            (
                "MARQUEE_LINK_KEY_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/link-Ab12",
            ),
            ("MARQUEE_MODEL", "stability.sd3-5-large-v1:0"),
        ]
        .into_iter()
        .collect();
        Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap()
    }

    /// What the role must be allowed follows the code's own lists: the worker, each model and
    /// profile, each key prefix, the table's item operations, the secrets and the queue.
    #[test]
    fn each_permission_the_code_needs_is_derived_from_the_configuration() {
        let queue = "arn:aws:sqs:us-east-1:123456789012:marquee-FailedJobQueue";
        let outputs = [("TableName", "state")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
            .collect();
        let needs = needed(&deployed_config(), &outputs, &healthy(), Some(queue));
        let by_id: BTreeMap<String, &Needs> = needs.iter().map(|n| (n.check.id(), n)).collect();
        assert_eq!(
            by_id.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "iam.failed_jobs",
                "iam.invoke",
                "iam.models",
                "iam.secrets",
                "iam.state",
                "iam.storage"
            ]
        );
        assert_eq!(
            by_id["iam.invoke"].pairs,
            [(healthy().arn, vec!["lambda:InvokeFunction".to_owned()])]
        );
        let models = &by_id["iam.models"].pairs;
        assert!(
            models.iter().any(|(arn, _)| arn
                == "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0"),
            "{models:?}"
        );
        assert!(models.iter().all(|(_, a)| a == &["bedrock:InvokeModel"]));
        let storage = &by_id["iam.storage"].pairs;
        for prefix in marquee_core::store::KEY_PREFIXES {
            assert!(
                storage.contains(&(
                    format!("arn:aws:s3:::posters/{prefix}{PROBE_NAME}"),
                    vec!["s3:GetObject".to_owned(), "s3:PutObject".to_owned()]
                )),
                "{prefix}: {storage:?}"
            );
        }
        assert_eq!(
            by_id["iam.state"].pairs[0].0,
            "arn:aws:dynamodb:us-east-1:123456789012:table/state"
        );
        assert_eq!(
            by_id["iam.state"].pairs[0].1.len(),
            marquee_core::state::dynamo::IAM_ACTIONS.len()
        );
        assert_eq!(by_id["iam.secrets"].pairs.len(), 3);
        assert_eq!(by_id["iam.failed_jobs"].pairs[0].0, queue);

        // Local values and no SQS queue: nothing to check for those groups, and why.
        let local = needed(&local_config(), &outputs, &healthy(), Some("arn:aws:sns:x"));
        for n in &local {
            if matches!(
                n.check,
                CheckId::IamSecrets
                    | CheckId::IamFailedJobs
                    | CheckId::IamStorage
                    | CheckId::IamState
            ) {
                assert!(n.pairs.is_empty(), "{n:?}");
                let verdict = permissions(n, &Ok(Vec::new()));
                assert_eq!(
                    (verdict.status, verdict.detail.as_str()),
                    (Status::Skip, n.absent)
                );
            }
        }
    }

    /// Every action allowed passes with a count; each denial is named with the simulator's
    /// decision (an explicit Deny is told apart from a missing Allow).
    #[test]
    fn each_permission_the_role_lacks_is_named_with_its_decision() {
        let needs = Needs {
            check: CheckId::IamStorage,
            what: "read and write posters/".into(),
            pairs: vec![(
                "arn:aws:s3:::b/posters/x".into(),
                vec!["s3:GetObject".into(), "s3:PutObject".into()],
            )],
            absent: "",
        };
        let verdict = permissions(&needs, &Ok(Vec::new()));
        assert_eq!(
            (verdict.status, verdict.detail.as_str()),
            (Status::Pass, "2 action(s) allowed: read and write posters/")
        );
        let denied = vec![
            Denial {
                action: "s3:PutObject".into(),
                resource: "arn:aws:s3:::b/posters/x".into(),
                decision: "implicitDeny".into(),
            },
            Denial {
                action: "s3:GetObject".into(),
                resource: "arn:aws:s3:::b/prints/x".into(),
                decision: "explicitDeny".into(),
            },
        ];
        let verdict = permissions(&needs, &Ok(denied));
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            "the role may not: s3:PutObject on arn:aws:s3:::b/posters/x (implicitDeny); \
             s3:GetObject on arn:aws:s3:::b/prints/x (explicitDeny)"
        );
        assert_eq!(verdict.fix, hints::IAM_DENIED);
        let verdict = permissions(&needs, &Err("AccessDenied".into()));
        assert_eq!(
            verdict.detail,
            "could not simulate the role's policy: AccessDenied"
        );
        assert_eq!(verdict.fix, hints::IAM_SIMULATE);
    }

    /// Unsigned refused (401) and the stored secret accepted (400: verified, not a command)
    /// pass; another secret in the running function, another service at the URL, or no answer
    /// each fail with their own fix.
    #[test]
    fn the_front_door_must_refuse_unsigned_and_accept_the_stored_secret() {
        let url = "https://abc.execute-api.us-east-1.amazonaws.com/slack/commands";
        let vars = [("stack", "marquee"), ("HttpApiUrl", "https://abc")];
        let facts =
            |unsigned: Result<u16, &str>, signed: Option<Result<u16, &str>>| FrontDoorFacts {
                url: url.into(),
                unsigned: unsigned.map_err(str::to_owned),
                signed: signed.map(|s| s.map_err(str::to_owned)),
            };
        for (facts, status, detail, hint) in [
            (
                facts(Ok(401), Some(Ok(400))),
                Status::Pass,
                "refuses unsigned requests (401) and accepts the stored signing secret",
                "",
            ),
            (
                facts(Ok(401), None),
                Status::Pass,
                "refuses unsigned requests (401)",
                "",
            ),
            (
                facts(Ok(401), Some(Ok(401))),
                Status::Fail,
                "the running function holds another secret",
                hints::FRONT_DOOR_SECRET,
            ),
            (
                facts(Ok(200), None),
                Status::Fail,
                "got 200, not 401",
                hints::FRONT_DOOR_NOT_MARQUEE,
            ),
            (
                facts(Ok(401), Some(Ok(500))),
                Status::Fail,
                "got 500, not 400",
                hints::FRONT_DOOR_OTHER,
            ),
            (
                facts(Ok(401), Some(Err("timed out"))),
                Status::Fail,
                "did not answer a signed request: timed out",
                hints::FRONT_DOOR_OTHER,
            ),
            (
                facts(Err("connection refused"), None),
                Status::Fail,
                "did not answer: connection refused",
                hints::FRONT_DOOR_UNREACHABLE,
            ),
        ] {
            let verdict = front_door(&facts, &vars);
            assert_eq!(verdict.status, status, "{verdict:?}");
            assert!(verdict.detail.contains(detail), "{detail}: {verdict:?}");
            assert_eq!(verdict.fix, fill(hint, &vars));
            assert!(!verdict.fix.contains("<stack>"), "{verdict:?}");
        }
    }

    fn manifest_outputs(base: &str) -> BTreeMap<String, String> {
        [
            ("SlashCommandUrl", "/slack/commands"),
            ("InteractivityUrl", "/slack/interactions"),
            ("EventsUrl", "/slack/events"),
        ]
        .into_iter()
        .map(|(k, path)| (k.to_owned(), format!("{base}{path}")))
        .collect()
    }

    /// The installed manifest must send Slack's requests to this deployment and declare the
    /// events and the shortcut the code answers.
    #[test]
    fn a_manifest_for_another_deployment_fails_the_manifest_check() {
        use marquee_core::slack::manifest as m;
        let ours = "https://ours.execute-api.us-east-1.amazonaws.com";
        let outputs = manifest_outputs(ours);
        let text = m::render(ours).unwrap();
        let verdict = manifest(Ok(&text), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.status, Status::Pass, "{verdict:?}");
        // Slack's own request URLs use the outputs' exact paths (checked above by the pass).

        let other = m::render("https://abc123.execute-api.us-west-2.amazonaws.com").unwrap();
        let verdict = manifest(Ok(&other), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.detail.contains("abc123.execute-api"),
            "{}",
            verdict.detail
        );
        assert_eq!(
            verdict.fix,
            fill(hints::MANIFEST_WRONG, &[("HttpApiUrl", ours)])
        );

        let shortcut = marquee_core::slack::shortcut::CALLBACK_ID;
        let without_shortcut = text.replace(shortcut, "something_else");
        let verdict = manifest(Ok(&without_shortcut), "m.yaml", "marquee", &outputs);
        assert!(
            verdict
                .detail
                .contains(&format!("no message shortcut with callback_id {shortcut}")),
            "{}",
            verdict.detail
        );

        let mut older = outputs.clone();
        older.remove("EventsUrl");
        let verdict = manifest(Ok(&text), "m.yaml", "marquee", &older);
        assert!(
            verdict.detail.contains("the stack has no EventsUrl output"),
            "{}",
            verdict.detail
        );

        let verdict = manifest(Err("No such file".into()), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.detail, "could not read m.yaml: No such file");
        assert_eq!(
            verdict.fix,
            fill(hints::MANIFEST_UNREADABLE, &[("stack", "marquee")])
        );
    }
}
