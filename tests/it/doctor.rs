//! `marquee doctor` where a real part runs: the binary itself, as an admin runs it without
//! credentials (nothing is asked of AWS), and SeaweedFS, the local stack's S3, answering the
//! bucket calls the doctor makes.
//!
//! Every check's judgment is a pure function unit-tested in `src/doctor/judge.rs`, and each
//! gatherer's SDK calls are tested against `aws-smithy-mocks` rules in `src/doctor/checks.rs`
//! (CloudFormation, Lambda, Secrets Manager, Bedrock's control plane, IAM's simulator and S3).
//! What those S3 rules answer — no Block Public Access (501), an anonymous read refused (403),
//! the template's lifecycle rules — is what SeaweedFS answers here
//! (tests/it/support/SEAWEED-NOTES.md).

use std::collections::BTreeMap;
use std::process::Command;

use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::support::{self, stack};

/// Without credentials doctor says so in words and how to get them, prints no SDK structures,
/// and counts exactly the lines it printed. No stack is needed: nothing is asked of AWS.
#[test]
fn without_credentials_doctor_says_how_to_get_them() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_marquee"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_REGION", "us-west-2")
        // No profile files (an empty home), so the chain ends at instance metadata, which here
        // refuses (403), as a network that blocks the metadata address does: the case in which
        // the SDK printed its error structures. Pinned, so a CI machine with an instance role
        // cannot lend its credentials.
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            refusing_metadata_service(),
        )
        .args(["doctor", "--stack", "marquee"])
        .output()
        .expect("marquee doctor runs");
    let table = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{table}{stderr}");
    assert!(
        table.contains(&format!(
            "✘ AWS credentials  {}",
            marquee::doctor::hints::NO_CREDENTIALS_DETAIL
        )) || table.contains(marquee::doctor::hints::NO_CREDENTIALS_DETAIL),
        "{table}"
    );
    assert!(
        table.contains(marquee::doctor::hints::NO_CREDENTIALS),
        "{table}"
    );
    assert!(!table.contains("stack name"), "{table}");
    let shown = table
        .lines()
        .filter(|l| l.starts_with(['✔', '✘', '–']))
        .count();
    assert!(
        table.contains(&format!("1 of {shown} checks failed")),
        "the count is not of the {shown} lines shown:\n{table}"
    );
    assert!(table.contains("– Slack app manifest"), "{table}");
    // What reaches stderr is the CLI's one-line verdict, never a Debug-printed error.
    for structure in [
        "{",
        "CredentialsNotLoaded",
        "ProviderError",
        "DispatchFailure",
    ] {
        assert!(
            !stderr.contains(structure),
            "stderr shows {structure}:\n{stderr}"
        );
    }
}

/// A stand-in for the instance metadata service that refuses every request with 403, as a
/// laptop's network that blocks 169.254.169.254 does; returns its URL.
fn refusing_metadata_service() -> String {
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::FORBIDDEN,
            [(axum::http::header::CONTENT_TYPE, "text/plain")],
            "denied",
        )
    });
    format!("http://{}", support::serve("metadata", |_| app))
}

/// The bucket calls `marquee doctor` makes, as SeaweedFS answers them with the admin's keys:
/// the template's lifecycle rules, 501 NotImplemented for Block Public Access, the harness's
/// bucket policy, and an unsigned read refused (403). The gatherer's unit tests feed it these
/// answers.
#[tokio::test]
async fn seaweed_answers_the_bucket_calls_doctor_makes() {
    let stack = stack();
    let bucket = stack.s3().bucket().to_owned();
    let client = stack.s3().client();
    let deployment = support::deployment(&bucket);

    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("the template's lifecycle rules are on the bucket");
    let rules: BTreeMap<&str, &aws_sdk_s3::types::LifecycleRule> = lifecycle
        .rules()
        .iter()
        .map(|r| (r.id().unwrap_or_default(), r))
        .collect();
    let days: i32 = deployment
        .eval_at(&[
            "Resources",
            "PosterBucket",
            "Properties",
            "LifecycleConfiguration",
            "Rules",
        ])
        .as_list()[0]
        .at(&["ExpirationInDays"])
        .as_str()
        .parse()
        .unwrap();
    for (id, prefix) in [
        ("expire-posters", "posters/"),
        ("expire-art", "art/"),
        ("expire-prints", "prints/"),
    ] {
        let rule = rules
            .get(id)
            .unwrap_or_else(|| panic!("no rule {id}: {rules:?}"));
        assert_eq!(rule.filter().and_then(|f| f.prefix()), Some(prefix));
        assert_eq!(rule.expiration().and_then(|e| e.days()), Some(days));
    }
    assert_eq!(
        rules["abort-incomplete-uploads"]
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(1)
    );

    let block = client
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await;
    let err = block.expect_err("SeaweedFS 4.x has no public access block");
    assert_eq!(
        err.code(),
        Some("NotImplemented"),
        "{}",
        aws_sdk_s3::error::DisplayErrorContext(&err)
    );
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(501));

    // The harness's write-gap policy is the bucket's policy (when one was needed).
    if let Some(expected) = support::seaweed::write_gap_policy(
        &deployment.function_statements("MarqueeFunction"),
        stack.s3().function_actions(),
    ) {
        let policy = client
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketPolicy");
        let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        assert_eq!(policy, expected);
    }

    // An unsigned GET of an object that exists is refused.
    let key = format!("doctor/{}.txt", support::random_token(8));
    client
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("admin PutObject");
    let anonymous = marquee_core::net::client()
        .get(format!("{}/{bucket}/{key}", stack.s3().endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 403);
    let _ = client
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await;
}
