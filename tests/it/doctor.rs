//! `marquee doctor` against the local stack, as an admin runs it: the real binary, its own
//! process, the admin's keys, every service reached through `AWS_ENDPOINT_URL_*` (the control
//! plane and Bedrock stand-ins, SeaweedFS, the Slack stand-in, the function under `cargo lambda
//! watch`).
//!
//! One test runs it against the healthy deployment and expects every check to pass (and says
//! which ones cannot apply here, and why). Every other test breaks exactly one piece, on a
//! stack of its own (`Stack::doctor_variant`), and expects that check to fail with its fix.
//! Each run's table is kept under `target/tmp/doctor/` for the closing note.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::control::Deployed;
use crate::support::{self, stack};

/// The checks a healthy local deployment passes, by id (models are added per deployment).
const PASSING: [&str; 16] = [
    "stack",
    "function",
    "function.async",
    "secret.signing",
    "secret.bot",
    "secret.link_key",
    "slack.auth",
    "bucket.private",
    "bucket.lifecycle",
    "iam.invoke",
    "iam.models",
    "iam.storage",
    "iam.state",
    "iam.failed_jobs",
    "front_door",
    "manifest",
];

/// What cannot apply on this machine, and the words that must say why.
const NOT_APPLICABLE: [(&str, &str); 2] = [
    // SeaweedFS enforces the template's TLS-only Deny on the plain-HTTP local stack and would
    // lock everyone out (tests/it/support/SEAWEED-NOTES.md), so there is no TLS to require.
    ("bucket.tls", "plain HTTP"),
    // The local function gets its secrets as values, not Secrets Manager ARNs.
    ("iam.secrets", "environment"),
];

struct Run {
    report: Value,
    table: String,
    exit: i32,
}

impl Run {
    fn check(&self, id: &str) -> &Value {
        self.report["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["id"] == id))
            .unwrap_or_else(|| panic!("no check {id} in\n{}", self.table))
    }

    fn status(&self, id: &str) -> &str {
        self.check(id)["status"].as_str().unwrap_or_default()
    }

    /// Asserts `id` failed, with a fix, and that its detail mentions `words`.
    fn assert_fails(&self, id: &str, words: &str) {
        let check = self.check(id);
        assert_eq!(check["status"], "fail", "{id}:\n{}", self.table);
        assert!(
            check["detail"].as_str().unwrap_or_default().contains(words),
            "{id} should mention {words:?}:\n{}",
            self.table
        );
        let fix = check["fix"].as_str().unwrap_or_default();
        assert!(!fix.is_empty(), "{id} has no fix:\n{}", self.table);
        // The fix names commands, flags and sections that exist (tests/it/guide.rs).
        crate::guide::assert_hint_references_exist(fix, &format!("doctor's fix for {id}"));
        assert_eq!(self.exit, 1, "a failed check exits 1:\n{}", self.table);
        assert_eq!(self.report["ok"], false);
    }
}

/// A manifest for `deployed`: the repository's, with its base URL in place of the placeholder
/// (`marquee manifest` itself only renders https:// URLs, which the local stack has not).
fn manifest_for(deployed: &Deployed, name: &str) -> PathBuf {
    let base = deployed.output("HttpApiUrl").expect("HttpApiUrl output");
    let text = marquee_core::slack::manifest::MANIFEST_TEMPLATE
        .replace(marquee_core::slack::manifest::PLACEHOLDER_BASE_URL, &base);
    let path = out_dir().join(format!("{name}-manifest.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn out_dir() -> PathBuf {
    let dir = support::crate_root().join("target/tmp/doctor");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `marquee doctor` for `stack_name`, twice (the table an admin reads and `--json`), in
/// the doctor's environment only; keeps the table as `target/tmp/doctor/{label}.txt`.
fn doctor(label: &str, stack_name: &str, manifest: Option<&PathBuf>) -> Run {
    let env: BTreeMap<String, String> = stack().doctor_env().into_iter().collect();
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_marquee"));
        cmd.env_clear()
            .envs(&env)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["doctor", "--stack", stack_name]);
        if let Some(m) = manifest {
            cmd.arg("--manifest").arg(m);
        }
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("marquee doctor runs");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    };
    let (table, table_err, table_exit) = run(false);
    let (json, json_err, exit) = run(true);
    std::fs::write(out_dir().join(format!("{label}.txt")), &table).unwrap();
    let report: Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}):\n{json}\n{json_err}"));
    assert_eq!(
        table_exit, exit,
        "table and JSON runs disagree:\n{table}\n{table_err}"
    );
    eprintln!("[doctor] {label}: target/tmp/doctor/{label}.txt\n{table}");
    Run {
        report,
        table,
        exit,
    }
}

/// No secret value, token or full URL with a signature may reach the report.
fn assert_no_secrets(run: &Run, deployed: &Deployed) {
    let env = deployed.env();
    for name in [
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "MARQUEE_LINK_KEY",
    ] {
        if let Some(value) = env.get(name).filter(|v| v.len() > 8) {
            assert!(
                !run.table.contains(value.as_str()),
                "{name} printed:\n{}",
                run.table
            );
            assert!(
                !run.report.to_string().contains(value.as_str()),
                "{name} in JSON"
            );
        }
    }
}

#[test]
fn doctor_passes_every_check_of_the_local_stack() {
    let s = stack();
    let deployed = s.doctor_stack();
    let manifest = manifest_for(deployed, "green");
    let run = doctor("green", s.doctor_stack_name(), Some(&manifest));

    assert_eq!(run.exit, 0, "{}", run.table);
    assert_eq!(run.report["ok"], true);
    for id in PASSING {
        assert_eq!(run.status(id), "pass", "{id}:\n{}", run.table);
    }
    for (id, why) in NOT_APPLICABLE {
        let check = run.check(id);
        assert_eq!(check["status"], "skip", "{id}:\n{}", run.table);
        assert!(
            check["detail"].as_str().unwrap_or_default().contains(why),
            "{id}"
        );
    }
    // One availability and lifecycle check per Bedrock model the deployment allows and per
    // image service it uses (SD3.5 by default, Core, Ultra; Search and Replace and the
    // conservative upscaler), each in its own region.
    let models: Vec<&Value> = run.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|id| id.starts_with("model.")))
        .collect();
    assert_eq!(models.len(), 5, "{}", run.table);
    assert!(
        models.iter().all(|c| c["status"] == "pass"),
        "{}",
        run.table
    );
    assert!(run.table.contains("in us-west-2"), "{}", run.table);
    // Nothing else ran: every line is one of the above.
    assert_eq!(
        run.report["checks"].as_array().unwrap().len(),
        PASSING.len() + NOT_APPLICABLE.len() + models.len(),
        "{}",
        run.table
    );
    // The count is of the lines shown.
    let shown = run.report["checks"].as_array().unwrap().len();
    let passed = PASSING.len() + models.len();
    assert!(
        run.table.contains(&format!(
            "{passed} of {shown} checks passed; {} did not apply",
            NOT_APPLICABLE.len()
        )),
        "{}",
        run.table
    );
    // Doctor asked the services, not a cache: the simulator saw the role, Bedrock the models.
    assert!(!s.control().calls_to("SimulatePrincipalPolicy").is_empty());
    assert!(!s.bedrock().availability_calls().is_empty());
    assert!(!s.bedrock().lifecycle_calls().is_empty());
    assert_no_secrets(&run, deployed);
}

#[test]
fn a_stack_that_does_not_exist_fails_first_and_skips_the_rest() {
    let run = doctor("no-stack", "marquee-no-such-stack", None);
    run.assert_fails("stack", "marquee-no-such-stack");
    // Every later check is listed as not run, the manifest's too.
    for id in [
        "function",
        "secrets",
        "bucket",
        "iam",
        "front_door",
        "manifest",
    ] {
        assert_eq!(run.status(id), "skip", "{id}: {}", run.table);
    }
}

#[test]
fn a_stack_still_updating_fails_the_stack_check() {
    let variant = stack().doctor_variant();
    variant.set_status("UPDATE_ROLLBACK_IN_PROGRESS");
    doctor("stack-status", variant.stack_name(), None)
        .assert_fails("stack", "UPDATE_ROLLBACK_IN_PROGRESS");
}

#[test]
fn too_little_memory_fails_the_function_check() {
    let variant = stack().doctor_variant();
    variant.set_memory(256);
    let run = doctor("memory", variant.stack_name(), None);
    run.assert_fails("function", "256 MB");
    assert_eq!(run.status("function.async"), "pass", "{}", run.table);
}

#[test]
fn an_invalid_environment_fails_the_function_check() {
    let variant = stack().doctor_variant();
    variant.set_env("MARQUEE_MODEL", "dall-e-3");
    doctor("bad-env", variant.stack_name(), None).assert_fails("function", "MARQUEE_MODEL");
}

#[test]
fn lambda_retries_fail_the_async_check() {
    let variant = stack().doctor_variant();
    variant.set_retries(2);
    doctor("retries", variant.stack_name(), None).assert_fails("function.async", "2 time(s)");
    let variant = stack().doctor_variant();
    variant.drop_on_failure();
    doctor("no-destination", variant.stack_name(), None)
        .assert_fails("function.async", "no on-failure destination");
}

#[test]
fn secrets_pasted_from_the_wrong_field_fail_their_checks() {
    let s = stack();
    let variant = s.doctor_variant();
    variant.set_env(
        "SLACK_SIGNING_SECRET",
        &format!("xoxb-{}", support::random_token(40)),
    );
    doctor("signing-is-a-token", variant.stack_name(), None)
        .assert_fails("secret.signing", "Slack token");

    let variant = s.doctor_variant();
    variant.set_env("SLACK_BOT_TOKEN", "xoxp-1234-5678-user-token");
    let run = doctor("bot-is-user-token", variant.stack_name(), None);
    run.assert_fails("secret.bot", "xoxp-");
    assert_eq!(run.status("slack.auth"), "skip", "{}", run.table);

    let variant = s.doctor_variant();
    variant.set_env("MARQUEE_LINK_KEY", "short");
    doctor("short-link-key", variant.stack_name(), None)
        .assert_fails("secret.link_key", "5 characters");
}

#[test]
fn a_bot_token_without_a_manifest_scope_fails_the_slack_check() {
    let s = stack();
    let variant = s.doctor_variant();
    // A token of its own: the shared one keeps every scope for the tests beside this one.
    let token = s
        .slack()
        .api()
        .issue_token(&["commands", "chat:write", "chat:write.public"]);
    variant.set_env("SLACK_BOT_TOKEN", &token);
    let run = doctor("missing-scope", variant.stack_name(), None);
    run.assert_fails("slack.auth", "files:write");
    assert_eq!(run.status("secret.bot"), "pass", "{}", run.table);
}

#[test]
fn a_model_the_account_has_not_enabled_fails_its_check() {
    let s = stack();
    // Creative Upscale, which no other stack uses, so withholding it disturbs no other test.
    let variant = s.doctor_variant_with(|d| d.param("PrintUpscaler", "creative"));
    let model = marquee_core::model::Service::CreativeUpscale.bedrock_id();
    s.bedrock().withhold_access(model);
    let run = doctor("model-access", variant.stack_name(), None);
    s.bedrock().restore_access(model);
    run.assert_fails(&format!("model.{model}"), "not authorized");
    // The first call from the playground enables a model now; the console's "Model access"
    // page is retired (docs/INSTALL.md, section 2).
    let fix = run.check(&format!("model.{model}"))["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fix.contains("Open in playground"), "{fix}");
    assert!(!fix.contains("Model access"), "{fix}");
    assert_eq!(
        run.status(&format!(
            "model.{}",
            marquee_core::model::ModelId::StableImageCore
                .bedrock_id()
                .unwrap()
        )),
        "pass",
        "{}",
        run.table
    );

    // The same model marked Legacy by AWS (in the same test, so the two account-wide changes
    // never overlap): the check fails naming the end-of-life date and what to choose instead.
    s.bedrock().mark_legacy(model, "2027-06-30");
    let run = doctor("model-legacy", variant.stack_name(), None);
    s.bedrock().mark_active(model);
    run.assert_fails(&format!("model.{model}"), "LEGACY");
    let check = run.check(&format!("model.{model}"));
    assert!(
        check["detail"].as_str().unwrap().contains("2027-06-30"),
        "{}",
        run.table
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("sd3.5, core, ultra"),
        "{}",
        run.table
    );
}

/// A deployment whose configuration still names Amazon Nova Canvas (set before its end of life)
/// fails the function check, naming the end-of-life date from the catalog and what to use.
#[test]
fn a_retired_model_in_the_configuration_fails_naming_its_end_of_life() {
    let variant = stack().doctor_variant();
    variant.set_env(
        "MARQUEE_ALLOWED_MODELS",
        "stability.stable-image-core-v1:1,amazon.nova-canvas-v1:0",
    );
    let run = doctor("retired-model", variant.stack_name(), None);
    run.assert_fails("function", "2026-09-30");
    let detail = run.check("function")["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("Amazon Nova Canvas") && detail.contains("sd3.5, core, ultra"),
        "{detail}"
    );
}

/// A bucket of the admin's own, named in the variant's outputs and function environment as an
/// admin's edit in the console would leave it.
fn point_at_new_bucket(variant: &Deployed, public: bool) -> String {
    let s = stack();
    let bucket = format!("marquee-doc-{}", support::random_token(8).to_lowercase());
    let client = s.s3().client();
    support::block_on(async {
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        client
            .put_object()
            .bucket(&bucket)
            .key("posters/2026/12/02/a-poster.png")
            .body(b"not really a png".to_vec().into())
            .send()
            .await
            .unwrap();
        if public {
            let policy = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": format!("arn:aws:s3:::{bucket}/*"),
                }]
            });
            client
                .put_bucket_policy()
                .bucket(&bucket)
                .policy(policy.to_string())
                .send()
                .await
                .unwrap();
        }
    });
    variant.set_output("BucketName", &bucket);
    variant.set_env("MARQUEE_BUCKET", &bucket);
    bucket
}

#[test]
fn a_public_bucket_fails_the_privacy_check() {
    let variant = stack().doctor_variant();
    point_at_new_bucket(&variant, true);
    doctor("public-bucket", variant.stack_name(), None)
        .assert_fails("bucket.private", "anyone can succeed at reading a poster");
}

#[test]
fn a_bucket_without_expiry_rules_fails_the_lifecycle_check() {
    let variant = stack().doctor_variant();
    point_at_new_bucket(&variant, false);
    let run = doctor("no-lifecycle", variant.stack_name(), None);
    run.assert_fails("bucket.lifecycle", "no lifecycle rules");
    assert_eq!(run.status("bucket.private"), "pass", "{}", run.table);
}

#[test]
fn each_permission_the_code_needs_is_checked_against_the_role() {
    for (action, id, words) in [
        (
            "lambda:InvokeFunction",
            "iam.invoke",
            "lambda:InvokeFunction",
        ),
        (
            "bedrock:InvokeModel",
            "iam.models",
            "bedrock:InvokeModel on arn:aws:bedrock:",
        ),
        (
            "s3:PutObject",
            "iam.storage",
            "s3:PutObject on arn:aws:s3:::",
        ),
        ("dynamodb:Query", "iam.state", "dynamodb:Query"),
        ("sqs:SendMessage", "iam.failed_jobs", "sqs:SendMessage"),
    ] {
        let variant = stack().doctor_variant();
        variant.revoke(action);
        let run = doctor(&format!("revoked-{id}"), variant.stack_name(), None);
        run.assert_fails(id, words);
        assert!(
            run.check(id)["detail"]
                .as_str()
                .unwrap()
                .contains("implicitDeny"),
            "{}",
            run.table
        );
    }
    // An explicit Deny (a permissions boundary, say) on one prefix is named as such.
    let variant = stack().doctor_variant();
    let bucket = variant.output("BucketName").unwrap();
    variant.deny("s3:GetObject", &format!("arn:aws:s3:::{bucket}/prints/*"));
    let run = doctor("denied-prints", variant.stack_name(), None);
    run.assert_fails("iam.storage", "prints/");
    assert!(run.table.contains("explicitDeny"), "{}", run.table);
}

#[test]
fn a_function_holding_another_signing_secret_fails_the_front_door_check() {
    // The stored secret is well-formed but is not the one the running function verifies with:
    // a rotation the function has not picked up, or a secret stored for another app.
    let variant = stack().doctor_variant();
    variant.set_env("SLACK_SIGNING_SECRET", &support::random_token(32));
    let run = doctor("other-secret", variant.stack_name(), None);
    assert_eq!(run.status("secret.signing"), "pass", "{}", run.table);
    run.assert_fails("front_door", "holds another secret");
}

#[test]
fn a_front_door_url_that_is_not_marquee_fails() {
    let s = stack();
    let variant = s.doctor_variant();
    // Somewhere that answers, but not Marquee: the Slack stand-in.
    variant.set_output(
        "SlashCommandUrl",
        &format!("{}/slack/commands", s.slack().base_url()),
    );
    doctor("wrong-front-door", variant.stack_name(), None).assert_fails("front_door", "not 401");
}

#[test]
fn a_manifest_for_another_deployment_fails_the_manifest_check() {
    let s = stack();
    let variant = s.doctor_variant();
    let manifest = out_dir().join("other-manifest.yaml");
    std::fs::write(
        &manifest,
        marquee_core::slack::manifest::render("https://abc123.execute-api.us-west-2.amazonaws.com")
            .unwrap(),
    )
    .unwrap();
    doctor("other-manifest", variant.stack_name(), Some(&manifest))
        .assert_fails("manifest", "abc123.execute-api");
}

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
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nconnection: close\r\n\r\ndenied",
            );
        }
    });
    url
}
