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
//! [`checks`] makes the calls, [`hints`] holds what each failure tells the admin to do; this
//! module holds the report and how it is shown.

mod checks;
pub mod hints;

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

    pub(crate) fn pass(
        &mut self,
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(id, title, Status::Pass, detail, "");
    }

    pub(crate) fn fail(
        &mut self,
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(id, title, Status::Fail, detail, fix);
    }

    pub(crate) fn skip(
        &mut self,
        id: impl Into<String>,
        title: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.push(id, title, Status::Skip, why, "");
    }

    fn push(
        &mut self,
        id: impl Into<String>,
        title: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        if status == Status::Fail {
            self.ok = false;
        }
        self.checks.push(Check {
            id: id.into(),
            title: title.into(),
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
        r.pass("stack", "Stack", "CREATE_COMPLETE");
        r.fail(
            "function.async",
            "Async invocations",
            "Lambda retries failed jobs 2 times",
            "set MaximumRetryAttempts to 0",
        );
        r.skip("slack.auth", "Slack bot token", "no bot token configured");
        r
    }

    #[test]
    fn one_failure_makes_the_report_fail() {
        let r = sample();
        assert!(!r.ok);
        let mut fine = Report::new("s", "r");
        fine.pass("a", "A", "ok");
        fine.skip("b", "B", "n/a");
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
        r.fail("credentials", "AWS credentials", "none", "aws configure");
        r.skip("stack", "Stack", "needs AWS credentials");
        r.skip(
            "function",
            "Function configuration",
            "needs the stack's outputs",
        );
        r.skip(
            "manifest",
            "Slack app manifest",
            "needs the stack's outputs",
        );
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
        fine.pass("stack", "Stack", "ok");
        fine.skip("manifest", "Slack app manifest", "not checked");
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
}
