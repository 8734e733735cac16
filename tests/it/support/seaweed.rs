//! A real S3 for the tests: SeaweedFS (`weed mini`) with SigV4 authentication on, bound to
//! 127.0.0.1 only, telemetry off, every port chosen free so parallel runs do not collide.
//!
//! It really verifies signatures and presigned URLs, which is the point: a presigned URL that
//! Marquee gets wrong fails here as it would on AWS. Readiness is a signed CreateBucket that
//! succeeds (the port answers about a second before signed requests do). The process can be
//! stopped and restarted mid-test (same ports, same data) for fault tests.
//!
//! Two identities, as on AWS: the harness's own admin (bucket creation, reading results back),
//! which the product never gets, and the function's, whose SeaweedFS actions are generated from
//! `template.yaml`'s S3 statements by [`actions_for`], so code that touches a key or an action
//! the template does not grant fails here as it would in Lambda.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;

use super::Error;
use super::process::Supervised;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How SeaweedFS scopes an identity's actions (weed/s3api/auth_credentials.go, `canDo`, and
/// s3_constants/s3_actions.go in seaweedfs/seaweedfs): an action is `Read`, `Write`, `List`,
/// `Tagging`, `Admin` (and `ReadAcp`, `WriteAcp`, `DeleteBucket`), alone for every bucket, as
/// `Action:bucket` for one bucket, or as `Action:bucket/prefix*`, which matches any object whose
/// `bucket/key` starts with `bucket/prefix`. The S3 routes check: GetObject and HeadObject `Read`;
/// PutObject, DeleteObject (and multi-object delete) `Write`; ListObjects `List`; object tagging
/// `Tagging`; bucket creation `Admin`.
///
/// Each S3 action the template grants on `arn:aws:s3:::bucket/prefix*` maps to the narrowest
/// SeaweedFS action on `bucket/prefix*`. One gap cannot be closed this way: `Write` covers both
/// PutObject and DeleteObject, so a prefix where the template grants only s3:PutObject
/// (posters/) would also let the function delete there (and DeleteObject alone would allow puts);
/// [`write_gap_policy`] closes it with a bucket policy.
/// Everything else the template does not grant is refused, including any key outside the
/// granted prefixes and every bucket-level call (ListBucket, HeadBucket, CreateBucket).
///
/// Panics on an S3 statement it cannot express (a Deny, `s3:*`, a wildcard inside a key), so
/// that a template change is looked at instead of silently widened or narrowed.
pub fn actions_for(statements: &[super::cfn::Statement], bucket: &str) -> Vec<String> {
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut out: Vec<String> = Vec::new();
    for statement in statements {
        let s3_actions: Vec<&String> = statement
            .actions
            .iter()
            .filter(|a| a.to_ascii_lowercase().starts_with("s3:"))
            .collect();
        if s3_actions.is_empty() {
            continue;
        }
        assert!(
            statement.allow,
            "statement {}: an S3 Deny cannot be expressed in SeaweedFS identities",
            statement.sid
        );
        for resource in &statement.resources {
            let scope = if resource == &bucket_arn {
                bucket.to_owned()
            } else if let Some(key) = resource.strip_prefix(&format!("{bucket_arn}/")) {
                let prefix = key.strip_suffix('*').unwrap_or(key);
                assert!(
                    !prefix.contains(['*', '?']),
                    "statement {}: wildcard inside {resource} has no SeaweedFS equivalent",
                    statement.sid
                );
                if key.ends_with('*') {
                    format!("{bucket}/{prefix}*")
                } else {
                    format!("{bucket}/{prefix}")
                }
            } else {
                panic!(
                    "statement {}: S3 resource {resource} is not bucket {bucket}",
                    statement.sid
                );
            };
            for action in &s3_actions {
                let seaweed = match action.to_ascii_lowercase().as_str() {
                    "s3:getobject" => "Read",
                    "s3:putobject" | "s3:deleteobject" => "Write",
                    "s3:listbucket" => "List",
                    "s3:getobjecttagging" | "s3:putobjecttagging" => "Tagging",
                    other => panic!(
                        "statement {}: {other} has no exact SeaweedFS action; map it in tests/it/support/seaweed.rs",
                        statement.sid
                    ),
                };
                let entry = format!("{seaweed}:{scope}");
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
    }
    out
}

/// A bucket policy that closes the gap [`actions_for`] leaves: SeaweedFS's `Write` covers both
/// PutObject and DeleteObject, so for every prefix where the template grants only one of them
/// the other is denied explicitly. SeaweedFS evaluates bucket policies after authentication,
/// and an explicit Deny refuses a request its identity's actions would allow (the bucket policy
/// engine described in seaweedfs/seaweedfs's "Bucket Policy Engine Integration" notes; the e2e
/// storage test proves it against the weed release the tests use). The Deny names every
/// principal: the harness's admin never deletes there either. `None` when nothing needs denying.
pub fn write_gap_policy(
    statements: &[super::cfn::Statement],
    function_actions: &[String],
) -> Option<serde_json::Value> {
    let mut deny = Vec::new();
    for scope in function_actions
        .iter()
        .filter_map(|a| a.strip_prefix("Write:"))
    {
        // `bucket/prefix*` as an S3 ARN, and one key inside it to ask IAM about.
        let resource = format!("arn:aws:s3:::{scope}");
        let probe = format!("{}probe", resource.trim_end_matches('*'));
        for action in ["s3:PutObject", "s3:DeleteObject"] {
            if !super::cfn::allows(statements, action, &probe) {
                deny.push(serde_json::json!({
                    "Sid": format!("NotGranted{}", deny.len()),
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": action,
                    "Resource": resource,
                }));
            }
        }
    }
    (!deny.is_empty()).then(|| serde_json::json!({"Version": "2012-10-17", "Statement": deny}))
}

/// The S3 API's lifecycle rules for an `AWS::S3::Bucket` `LifecycleConfiguration` (evaluated),
/// mapped as the CloudFormation template reference's `AWS::S3::Bucket Rule` describes its
/// properties: `Id` is the rule's `ID`, `Prefix` its filter's prefix (no `Prefix`: the whole
/// bucket), `ExpirationInDays` its `Expiration.Days`, and `AbortIncompleteMultipartUpload`
/// passes through. Panics on any other rule property, so a template change is looked at
/// rather than silently dropped.
pub fn lifecycle_rules(config: &super::cfn::Evaluated) -> Vec<aws_sdk_s3::types::LifecycleRule> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter,
    };
    let days = |v: &super::cfn::Evaluated| -> i32 {
        v.as_str()
            .parse()
            .unwrap_or_else(|e| panic!("lifecycle days {v:?}: {e}"))
    };
    config
        .at(&["Rules"])
        .as_list()
        .iter()
        .map(|rule| {
            for key in rule.as_map().keys() {
                assert!(
                    matches!(
                        key.as_str(),
                        "Id" | "Status"
                            | "Prefix"
                            | "ExpirationInDays"
                            | "AbortIncompleteMultipartUpload"
                    ),
                    "lifecycle rule property {key} is not mapped in tests/it/support/seaweed.rs"
                );
            }
            let prefix = rule.find(&["Prefix"]).map(|p| p.as_str().to_owned());
            let mut built = LifecycleRule::builder()
                .set_id(rule.find(&["Id"]).map(|v| v.as_str().to_owned()))
                .status(ExpirationStatus::from(rule.at(&["Status"]).as_str()))
                .filter(
                    LifecycleRuleFilter::builder()
                        .prefix(prefix.unwrap_or_default())
                        .build(),
                );
            if let Some(expiry) = rule.find(&["ExpirationInDays"]) {
                built = built.expiration(LifecycleExpiration::builder().days(days(expiry)).build());
            }
            if let Some(abort) =
                rule.find(&["AbortIncompleteMultipartUpload", "DaysAfterInitiation"])
            {
                built = built.abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(days(abort))
                        .build(),
                );
            }
            built
                .build()
                .unwrap_or_else(|e| panic!("lifecycle rule {rule:?}: {e}"))
        })
        .collect()
}

/// The S3 API's public access block for an `AWS::S3::Bucket` `PublicAccessBlockConfiguration`
/// (the same four booleans under the same names).
pub fn public_access_block(
    config: &super::cfn::Evaluated,
) -> aws_sdk_s3::types::PublicAccessBlockConfiguration {
    let flag = |key: &str| match config.find(&[key]) {
        Some(super::cfn::Evaluated::Bool(b)) => Some(*b),
        Some(super::cfn::Evaluated::Str(s)) => Some(s == "true"),
        None => None,
        Some(other) => panic!("{key} is not a boolean: {other:?}"),
    };
    aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .set_block_public_acls(flag("BlockPublicAcls"))
        .set_ignore_public_acls(flag("IgnorePublicAcls"))
        .set_block_public_policy(flag("BlockPublicPolicy"))
        .set_restrict_public_buckets(flag("RestrictPublicBuckets"))
        .build()
}

/// One S3 identity's credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

pub struct Seaweed {
    /// The harness's admin identity.
    admin: Credentials,
    /// The function's keys: one identity (the role), one key per deployment that uses it.
    function: Vec<Credentials>,
    function_actions: Vec<String>,
    bucket: String,
    weed: PathBuf,
    args: Vec<String>,
    s3_port: u16,
    // Declared before `dir` so the process stops before its data directory is removed.
    process: Mutex<Option<Supervised>>,
    dir: tempfile::TempDir,
}

impl Seaweed {
    /// Starts SeaweedFS and waits until a signed CreateBucket of [`Self::bucket`] succeeds.
    /// `bucket` is its name; `function_actions` builds the function identity's SeaweedFS actions
    /// from the bucket name (see [`actions_for`]); the identity gets `function_keys` keys.
    pub fn start(
        bucket: &str,
        function_actions: impl FnOnce(&str) -> Vec<String>,
        function_keys: usize,
    ) -> Result<Seaweed, Error> {
        let weed = super::find_tool("weed")?;
        let dir = tempfile::Builder::new()
            .prefix("marquee-seaweed-")
            .tempdir()
            .map_err(|e| Error::io("create a temp dir for SeaweedFS", e))?;
        let credentials = || Credentials {
            access_key: format!("AK{}", super::random_token(18).to_uppercase()),
            secret_key: super::random_token(40),
        };
        let admin = credentials();
        let function: Vec<Credentials> = (0..function_keys).map(|_| credentials()).collect();
        let bucket = bucket.to_owned();
        let function_actions = function_actions(&bucket);
        let keys = |c: &[Credentials]| -> Vec<serde_json::Value> {
            c.iter()
                .map(|c| serde_json::json!({"accessKey": c.access_key, "secretKey": c.secret_key}))
                .collect()
        };
        let config = serde_json::json!({"identities": [
            {
                "name": "harness-admin",
                "credentials": keys(std::slice::from_ref(&admin)),
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            },
            {
                "name": "marquee-function",
                "credentials": keys(&function),
                "actions": function_actions,
            },
        ]});
        let config_path = dir.path().join("s3.json");
        std::fs::write(&config_path, config.to_string())
            .map_err(|e| Error::io(format!("write {}", config_path.display()), e))?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| Error::io(format!("create {}", data.display()), e))?;

        // `weed mini` opens an HTTP and a gRPC port for each of master, volume, filer, S3 and
        // admin (gRPC defaults to HTTP + 10000); all are set so none falls back to a fixed one.
        let ports = super::free_ports(10);
        let s3_port = ports[0];
        let mut args: Vec<String> = vec![
            "mini".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            "-master.telemetry=false".into(),
            format!("-s3.config={}", config_path.display()),
            "-webdav=false".into(),
            "-admin.ui=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
        ];
        let named = [
            "s3.port",
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ];
        args.extend(
            named
                .iter()
                .zip(&ports)
                .map(|(flag, port)| format!("-{flag}={port}")),
        );

        let seaweed = Seaweed {
            admin,
            function,
            function_actions,
            bucket,
            weed,
            args,
            s3_port,
            process: Mutex::new(None),
            dir,
        };
        seaweed.launch()?;
        Ok(seaweed)
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_S3`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The function's `n`th key (one per deployment), for its environment.
    pub fn function_credentials(&self, n: usize) -> &Credentials {
        &self.function[n]
    }

    /// Sets the bucket's policy, as the harness's admin.
    pub fn set_bucket_policy(&self, policy: &serde_json::Value) -> Result<(), Error> {
        let client = self.client();
        let (bucket, policy) = (self.bucket.clone(), policy.to_string());
        super::block_on(async move {
            client
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    Error::io(
                        "set the bucket policy on SeaweedFS",
                        std::io::Error::other(
                            aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                        ),
                    )
                })
        })
    }

    /// Applies the bucket configuration CloudFormation applies when it creates an
    /// `AWS::S3::Bucket` with these (evaluated) `Properties`, as far as SeaweedFS supports it
    /// (measured in tests/it/support/SEAWEED-NOTES.md): `LifecycleConfiguration` through
    /// PutBucketLifecycleConfiguration, and `PublicAccessBlockConfiguration` through
    /// PutPublicAccessBlock, which SeaweedFS 4.x answers with 501 NotImplemented; that answer is
    /// tolerated (and reported) so that a release that implements it gets the configuration.
    /// The bucket policy is left alone: the template's TLS-only Deny would lock every caller
    /// out of a plain-HTTP SeaweedFS (tests/it/support/SEAWEED-NOTES.md).
    pub fn apply_bucket_properties(&self, properties: &super::cfn::Evaluated) -> Result<(), Error> {
        let client = self.client();
        let bucket = self.bucket.clone();
        let rules = properties
            .find(&["LifecycleConfiguration"])
            .map(lifecycle_rules)
            .unwrap_or_default();
        let block = properties
            .find(&["PublicAccessBlockConfiguration"])
            .map(public_access_block);
        let failed = |what: &str, e: String| Error::io(what, std::io::Error::other(e));
        super::block_on(async move {
            if !rules.is_empty() {
                let config = aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .map_err(|e| failed("build the lifecycle configuration", e.to_string()))?;
                client
                    .put_bucket_lifecycle_configuration()
                    .bucket(&bucket)
                    .lifecycle_configuration(config)
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            "put the template's lifecycle configuration on SeaweedFS",
                            aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                        )
                    })?;
            }
            if let Some(block) = block {
                match client
                    .put_public_access_block()
                    .bucket(&bucket)
                    .public_access_block_configuration(block)
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.code() == Some("NotImplemented") => eprintln!(
                        "[support] SeaweedFS does not implement PutPublicAccessBlock (501 \
                         NotImplemented); the bucket has no public access block"
                    ),
                    Err(e) => {
                        return Err(failed(
                            "put the template's public access block on SeaweedFS",
                            aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                        ));
                    }
                }
            }
            Ok(())
        })
    }

    /// The function identity's SeaweedFS actions, as generated from the template.
    pub fn function_actions(&self) -> &[String] {
        &self.function_actions
    }

    /// A bucket created at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A path-style S3 client with the harness's admin credentials (never the function's).
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with(&self.admin, None)
    }

    /// A path-style S3 client with the function's first key: what the product may do.
    pub fn function_client(&self) -> aws_sdk_s3::Client {
        self.client_with(&self.function[0], None)
    }

    /// A client with the function's `n`th key, as temporary credentials that say they expire
    /// at `expiry` (as a Lambda role's session credentials do).
    pub fn function_session(&self, n: usize, expiry: std::time::SystemTime) -> aws_sdk_s3::Client {
        self.client_with(&self.function[n], Some(expiry))
    }

    fn client_with(
        &self,
        credentials: &Credentials,
        expiry: Option<std::time::SystemTime>,
    ) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(marquee_core::net::aws_http_client())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &credentials.access_key,
                &credentials.secret_key,
                None,
                expiry,
                "seaweed-test",
            ))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Stops SeaweedFS (takes a few seconds); S3 calls then fail with connection errors.
    pub fn stop(&self) {
        if let Some(mut process) = self.lock().take() {
            process.stop();
        }
    }

    /// Starts SeaweedFS again on the same ports and data, waiting until it is ready.
    pub fn restart(&self) -> Result<(), Error> {
        self.stop();
        self.launch()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Supervised>> {
        // A panicking test must not poison S3 for every later test.
        self.process.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn launch(&self) -> Result<(), Error> {
        let started = Instant::now();
        let process = Supervised::spawn(
            "seaweedfs",
            &self.weed,
            &self.args,
            self.dir.path(),
            &[],
            self.dir.path(),
        )?;
        let client = self.client();
        let bucket = self.bucket.clone();
        let ready = super::block_on(async {
            let mut last = String::from("no attempt finished");
            while started.elapsed() < READY_TIMEOUT {
                process.check_alive()?;
                match client.create_bucket().bucket(&bucket).send().await {
                    Ok(_) => return Ok(()),
                    // A restart finds the bucket from the first run in the same data dir.
                    Err(e)
                        if matches!(
                            e.code(),
                            Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                        ) =>
                    {
                        return Ok(());
                    }
                    Err(e) => last = aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(Error::NotReady {
                what: "SeaweedFS".into(),
                waited: started.elapsed(),
                detail: format!("a signed CreateBucket kept failing; last error: {last}"),
                log: process.log_tail(6000),
            })
        });
        ready?;
        *self.lock() = Some(process);
        Ok(())
    }
}
