//! Judging the poster bucket: private (Block Public Access and an anonymous read refused),
//! TLS-only (unless reached over plain HTTP), and expiring every prefix the code writes.

use super::Verdict;
use crate::doctor::hints::{self, fill};

/// What the bucket's settings and an anonymous read say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) struct BucketFacts {
    pub(in crate::doctor) name: String,
    pub(in crate::doctor) block: BlockFacts,
    /// What was tried without credentials (`reading a poster`, `listing the bucket …`) and
    /// the status it got (0: no answer).
    pub(in crate::doctor) anonymous: (String, u16),
    /// The bucket is reached over plain HTTP (a local endpoint).
    pub(in crate::doctor) plain_http: bool,
    /// The bucket policy's text, or why it could not be read.
    pub(in crate::doctor) policy: Result<String, String>,
    /// The lifecycle rules, or why they could not be read.
    pub(in crate::doctor) lifecycle: Result<Vec<ExpiryRule>, String>,
}

/// What `GetPublicAccessBlock` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) enum BlockFacts {
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
pub(in crate::doctor) struct ExpiryRule {
    /// In its filter or (as older rules have it) on the rule itself.
    pub(in crate::doctor) prefix: Option<String>,
    pub(in crate::doctor) enabled: bool,
    pub(in crate::doctor) expiration_days: Option<i32>,
}

/// The privacy check: Block Public Access is on, and anyone without credentials is refused.
pub(in crate::doctor) fn bucket_private(facts: &BucketFacts) -> Verdict {
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
pub(in crate::doctor) fn bucket_tls(facts: &BucketFacts) -> Verdict {
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
pub(in crate::doctor) fn bucket_lifecycle(facts: &BucketFacts) -> Verdict {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

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
}
