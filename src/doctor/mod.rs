//! `marquee doctor`: checks every link of a deployment, with the admin's own credentials.
//!
//! After `sam deploy` an admin cannot see whether the function can reach its models, read its
//! secrets, write its bucket, or whether Slack's app points at it. Doctor asks each service
//! (CloudFormation, Lambda, Secrets Manager, Slack, Bedrock's control plane, S3, IAM's policy
//! simulator, the front door itself) and prints one line per link, ✔ or ✘ with the fix.
//! Nothing is generated, stored or billed: every call is a read, a simulation or a request the
//! front door refuses.
//!
//! The checks read the deployment the way the function does: the stack's outputs name the
//! function, the function's configuration is parsed by [`marquee_service::config`] exactly as at a cold
//! start, and what the role must be allowed is derived from the code's own lists
//! ([`marquee_core::store::KEY_PREFIXES`], [`marquee_core::state::dynamo::IAM_ACTIONS`], the models and
//! services the configuration enables). Every AWS endpoint comes from the SDK's standard
//! configuration (`AWS_REGION`, `AWS_ENDPOINT_URL_*`), so the same command checks the local
//! stack.
//!
//! [`checks`] gathers (the calls, read into plain facts), `judge` decides (pure functions from
//! facts to a verdict), [`hints`] holds what each failure tells the admin to do; this module
//! holds the report and how it is shown.
//!
//! `marquee doctor --stack NAME`: one check per link of a deployment, each a read, a simulation or
//! a refused request (`doctor::checks`): the stack's outputs → the function's configuration (parsed
//! by `Config::from_lookup` as at a cold start) and async settings → its secrets → Slack's
//! `auth.test` and scopes against the manifest → each model's availability in its own region → the
//! bucket (public access, an anonymous read, TLS policy, lifecycle per `store::KEY_PREFIXES`) →
//! IAM's policy simulator for what the code does (`state::dynamo::IAM_ACTIONS`, each model and
//! profile ARN, each key prefix, the secrets, the failed-job queue) → the front door (401 unsigned,
//! the stored secret accepted) → the installed manifest's URLs. `doctor` (the `Report`) renders a
//! table or JSON, counting every line it shows; `doctor::hints` holds what each failure tells the
//! admin to do, and without credentials nothing is asked of AWS. Every endpoint comes from the
//! SDK's standard configuration; the gatherers are tested against `aws-smithy-mocks` clients.

mod checks;
pub mod hints;
mod judge;

use std::path::PathBuf;

use serde::Serialize;

/// What to check.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The CloudFormation stack `sam deploy` created.
    pub(crate) stack: String,
    /// The stack's region; the SDK's configured region when `None`.
    pub(crate) region: Option<String>,
    /// The Slack app manifest the admin installed, to compare its URLs with the deployment's.
    pub(crate) manifest: Option<PathBuf>,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Fail,
    /// Not run: it does not apply to this deployment, or an earlier failure left it nothing
    /// to check.
    Skip,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✔",
            Status::Fail => "✘",
            Status::Skip => "–",
        }
    }
}

/// What a line of the report checks: the one type for every check's stable id (for scripts
/// and support tickets) and its title, so the two cannot drift apart between the places a
/// check is passed, failed or skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckId {
    Credentials,
    Stack,
    Function,
    FunctionAsync,
    Secrets,
    SigningSecret,
    BotToken,
    LinkKey,
    SlackAuth,
    Models,
    /// One model in the region the deployment calls it in.
    Model {
        /// Bedrock's model id.
        model: String,
        /// The catalog's name for it.
        name: String,
        region: String,
    },
    Bucket,
    BucketPrivate,
    BucketTls,
    BucketLifecycle,
    Iam,
    IamInvoke,
    IamModels,
    IamStorage,
    IamState,
    IamSecrets,
    IamFailedJobs,
    FrontDoor,
    Manifest,
}

impl CheckId {
    /// The stable identifier (`function.async`, `model.amazon.nova-canvas-v1:0`).
    pub(crate) fn id(&self) -> String {
        let id = match self {
            CheckId::Credentials => "credentials",
            CheckId::Stack => "stack",
            CheckId::Function => "function",
            CheckId::FunctionAsync => "function.async",
            CheckId::Secrets => "secrets",
            CheckId::SigningSecret => "secret.signing",
            CheckId::BotToken => "secret.bot",
            CheckId::LinkKey => "secret.link_key",
            CheckId::SlackAuth => "slack.auth",
            CheckId::Models => "models",
            CheckId::Model { model, .. } => return format!("model.{model}"),
            CheckId::Bucket => "bucket",
            CheckId::BucketPrivate => "bucket.private",
            CheckId::BucketTls => "bucket.tls",
            CheckId::BucketLifecycle => "bucket.lifecycle",
            CheckId::Iam => "iam",
            CheckId::IamInvoke => "iam.invoke",
            CheckId::IamModels => "iam.models",
            CheckId::IamStorage => "iam.storage",
            CheckId::IamState => "iam.state",
            CheckId::IamSecrets => "iam.secrets",
            CheckId::IamFailedJobs => "iam.failed_jobs",
            CheckId::FrontDoor => "front_door",
            CheckId::Manifest => "manifest",
        };
        id.to_owned()
    }

    /// What is checked, in words.
    pub(crate) fn title(&self) -> String {
        let title = match self {
            CheckId::Credentials => "AWS credentials",
            CheckId::Stack => "Stack",
            CheckId::Function => "Function configuration",
            CheckId::FunctionAsync => "Async invocations",
            CheckId::Secrets => "Secrets",
            CheckId::SigningSecret => "Slack signing secret",
            CheckId::BotToken => "Slack bot token",
            CheckId::LinkKey => "Poster link key",
            CheckId::SlackAuth => "Slack token and scopes",
            CheckId::Models => "Bedrock models",
            CheckId::Model { name, region, .. } => return format!("{name} in {region}"),
            CheckId::Bucket => "Bucket",
            CheckId::BucketPrivate => "Bucket is private",
            CheckId::BucketTls => "Bucket requires TLS",
            CheckId::BucketLifecycle => "Bucket expires old files",
            CheckId::Iam => "Role permissions",
            CheckId::IamInvoke => "Role may start jobs",
            CheckId::IamModels => "Role may call the models",
            CheckId::IamStorage => "Role may store posters",
            CheckId::IamState => "Role may keep state",
            CheckId::IamSecrets => "Role may read its secrets",
            CheckId::IamFailedJobs => "Role may report failed jobs",
            CheckId::FrontDoor => "Front door",
            CheckId::Manifest => "Slack app manifest",
        };
        title.to_owned()
    }
}

/// One link of the chain.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    /// A stable identifier (`function.async`, `model.amazon.nova-canvas-v1:0`), for scripts
    /// and support tickets.
    pub(crate) id: String,
    /// What was checked, in words.
    pub(crate) title: String,
    pub(crate) status: Status,
    /// What was found.
    pub(crate) detail: String,
    /// What to do about a failure; empty when there is nothing to do.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) fix: String,
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) stack: String,
    pub(crate) region: String,
    /// True when nothing failed.
    pub(crate) ok: bool,
    pub(crate) checks: Vec<Check>,
}

impl Report {
    fn new(stack: &str, region: &str) -> Self {
        Self {
            stack: stack.to_owned(),
            region: region.to_owned(),
            ok: true,
            checks: Vec::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn pass(&mut self, check: CheckId, detail: impl Into<String>) {
        self.push(check, Status::Pass, detail, "");
    }

    pub(crate) fn fail(
        &mut self,
        check: CheckId,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(check, Status::Fail, detail, fix);
    }

    /// Pushes a judged line ([`judge::Verdict`]).
    fn verdict(&mut self, check: CheckId, verdict: judge::Verdict) {
        self.push(check, verdict.status, verdict.detail, verdict.fix);
    }

    pub(crate) fn skip(&mut self, check: CheckId, why: impl Into<String>) {
        self.push(check, Status::Skip, why, "");
    }

    fn push(
        &mut self,
        check: CheckId,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        if status == Status::Fail {
            self.ok = false;
        }
        self.checks.push(Check {
            id: check.id(),
            title: check.title(),
            status,
            detail: detail.into(),
            fix: fix.into(),
        });
    }

    /// The report as a terminal table: one line per check, its detail and fix indented below.
    pub(crate) fn to_table(&self) -> String {
        let mut out = format!(
            "marquee doctor · stack {} in {}\n\n",
            self.stack, self.region
        );
        let width = self
            .checks
            .iter()
            .map(|c| c.title.chars().count())
            .max()
            .unwrap_or(0);
        for c in &self.checks {
            let pad = width.saturating_sub(c.title.chars().count());
            out.push_str(&format!(
                "{} {}{}  {}\n",
                c.status.mark(),
                c.title,
                " ".repeat(pad),
                c.detail
            ));
            if !c.fix.is_empty() {
                out.push_str(&format!("    fix: {}\n", c.fix));
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        let passed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Pass)
            .count();
        let skipped = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Skip)
            .count();
        // Counted over every line printed above, so the numbers add up to what was shown.
        let shown = self.checks.len();
        out.push('\n');
        out.push_str(&if failed == 0 {
            format!(
                "{passed} of {shown} checks passed; {skipped} did not apply or were not run (–).\n"
            )
        } else {
            format!(
                "{failed} of {shown} checks failed ({passed} passed, {skipped} not run or not \
                 applicable); fix the ✘ lines above and run doctor again.\n"
            )
        });
        out
    }

    /// The report as one JSON document.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Runs every check against the deployment `options` names.
pub(crate) async fn run(options: &Options) -> Report {
    checks::run(options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("marquee", "us-east-1");
        r.pass(CheckId::Stack, "CREATE_COMPLETE");
        r.fail(
            CheckId::FunctionAsync,
            "Lambda retries failed jobs 2 times",
            "set MaximumRetryAttempts to 0",
        );
        r.skip(CheckId::BotToken, "no bot token configured");
        r
    }

    #[test]
    fn one_failure_makes_the_report_fail() {
        let r = sample();
        assert!(!r.ok);
        let mut fine = Report::new("s", "r");
        fine.pass(CheckId::Stack, "ok");
        fine.skip(CheckId::Manifest, "n/a");
        assert!(fine.ok);
    }

    #[test]
    fn the_table_shows_marks_details_and_fixes() {
        let table = sample().to_table();
        assert!(table.contains("✔ Stack"), "{table}");
        assert!(table.contains("✘ Async invocations"), "{table}");
        assert!(
            table.contains("    fix: set MaximumRetryAttempts to 0"),
            "{table}"
        );
        assert!(table.contains("– Slack bot token"), "{table}");
        assert!(
            table.contains("1 of 3 checks failed (1 passed, 1 not run or not applicable)"),
            "{table}"
        );
    }

    #[test]
    fn the_count_covers_every_line_shown() {
        // What a run without credentials prints: one failure and the checks it left unrun.
        let mut r = Report::new("marquee", "us-west-2");
        r.fail(CheckId::Credentials, "none", "aws configure");
        r.skip(CheckId::Stack, "needs AWS credentials");
        r.skip(CheckId::Function, "needs the stack's outputs");
        r.skip(CheckId::Manifest, "needs the stack's outputs");
        let table = r.to_table();
        let lines = table
            .lines()
            .filter(|l| l.starts_with(['✔', '✘', '–']))
            .count();
        assert_eq!(lines, 4, "{table}");
        assert!(
            table.contains("1 of 4 checks failed (0 passed, 3 not run"),
            "{table}"
        );

        let mut fine = Report::new("marquee", "us-west-2");
        fine.pass(CheckId::Stack, "ok");
        fine.skip(CheckId::Manifest, "not checked");
        assert!(
            fine.to_table()
                .contains("1 of 2 checks passed; 1 did not apply")
        );
    }

    #[test]
    fn json_carries_ids_and_statuses() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][1]["id"], "function.async");
        assert_eq!(json["checks"][1]["status"], "fail");
        assert_eq!(json["checks"][2]["status"], "skip");
        assert!(json["checks"][0].get("fix").is_none());
    }

    /// Every check's id is distinct and its title is non-empty: a script or support ticket
    /// naming an id names one line.
    #[test]
    fn check_ids_are_distinct() {
        let all = [
            CheckId::Credentials,
            CheckId::Stack,
            CheckId::Function,
            CheckId::FunctionAsync,
            CheckId::Secrets,
            CheckId::SigningSecret,
            CheckId::BotToken,
            CheckId::LinkKey,
            CheckId::SlackAuth,
            CheckId::Models,
            CheckId::Model {
                model: "amazon.nova-canvas-v1:0".into(),
                name: "Nova Canvas".into(),
                region: "us-east-1".into(),
            },
            CheckId::Bucket,
            CheckId::BucketPrivate,
            CheckId::BucketTls,
            CheckId::BucketLifecycle,
            CheckId::Iam,
            CheckId::IamInvoke,
            CheckId::IamModels,
            CheckId::IamStorage,
            CheckId::IamState,
            CheckId::IamSecrets,
            CheckId::IamFailedJobs,
            CheckId::FrontDoor,
            CheckId::Manifest,
        ];
        let ids: std::collections::BTreeSet<String> = all.iter().map(CheckId::id).collect();
        assert_eq!(ids.len(), all.len());
        assert!(all.iter().all(|c| !c.title().is_empty()));
        assert_eq!(all[10].id(), "model.amazon.nova-canvas-v1:0");
        assert_eq!(all[10].title(), "Nova Canvas in us-east-1");
    }
}
