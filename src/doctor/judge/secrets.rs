//! Judging the secrets (readable, and shaped like what they are: a token pasted as the signing
//! secret is named) and the bot token's standing with Slack (valid, holding the manifest's scopes).

use super::Verdict;
use crate::doctor::hints;
use marquee_core::secret::Secret;

/// Where a secret's value came from, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) enum SecretFacts {
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
pub(in crate::doctor) enum SecretKind {
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
pub(in crate::doctor) fn secret(
    facts: SecretFacts,
    kind: SecretKind,
    fix: &str,
) -> (Verdict, Option<Secret>) {
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
pub(in crate::doctor) fn secret_name(arn: &str) -> &str {
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
pub(in crate::doctor) enum SlackFacts {
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
pub(in crate::doctor) fn slack(facts: &SlackFacts, wanted: &[String]) -> Verdict {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

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
}
