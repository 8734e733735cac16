//! Gathering what each line of the doctor's report judges: every function here makes the SDK
//! calls (or HTTP probes) for one check and reads the answers into the plain facts
//! [`super::judge`] decides on; none of them decides anything. [`run`] sequences them.
//!
//! Order matters only where one check feeds the next: the stack's outputs name the function,
//! the function's configuration names everything else. When a link that later checks need
//! fails, they are reported as not run rather than failing for a reason that is not theirs.
//!
//! Each gatherer takes the client it calls, so its unit tests hand it an `aws-smithy-mocks`
//! client answering as the service documents (the tests below).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::SdkConfig;

use super::hints::{self, fill};
use super::judge::{
    self, AsyncFacts, BlockFacts, BucketFacts, CredentialsFacts, Denial, ExpiryRule,
    FrontDoorFacts, FunctionFacts, ModelFacts, SecretFacts, SecretKind, SlackFacts, StackFacts,
};
use super::{CheckId, Options, Report};
use marquee_core::errors::ErrorChain;
use marquee_core::model::Priced;
use marquee_core::secret::Secret;
use marquee_service::config::{Config, SecretSource, StoreConfig};

/// How long any one probe of an HTTP endpoint may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

pub(super) async fn run(options: &Options) -> Report {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(marquee_core::net::aws_http_client());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        let mut report = Report::new(&options.stack, "(no region)");
        report.fail(
            CheckId::Stack,
            "no AWS region is configured",
            fill(hints::NO_REGION, &[("stack", &options.stack)]),
        );
        skip_after(&mut report, CheckId::Stack, "needs the stack's outputs");
        report.skip(CheckId::Manifest, "needs the stack's outputs");
        return report;
    };
    let credentials = credentials_facts(&sdk).await;
    // The same region and endpoints as the admin's configuration, but no credentials: the
    // SDK then sends the request unsigned.
    let anonymous = aws_config::defaults(BehaviorVersion::latest())
        .http_client(marquee_core::net::aws_http_client())
        .region(sdk.region().cloned())
        .no_credentials()
        .load()
        .await;
    let clients = Clients {
        cloudformation: aws_sdk_cloudformation::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        bedrock: Box::new({
            let sdk = sdk.clone();
            move |region: &str| {
                aws_sdk_bedrock::Client::from_conf(
                    aws_sdk_bedrock::config::Builder::from(&sdk)
                        .region(aws_config::Region::new(region.to_owned()))
                        .build(),
                )
            }
        }),
        s3: Box::new(move |path_style| {
            let client = |config: &SdkConfig| {
                aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(config)
                        .force_path_style(path_style)
                        .build(),
                )
            };
            (client(&sdk), client(&anonymous))
        }),
    };
    report(options, &region, &credentials, &clients).await
}

/// The clients the gatherers call, built once from the admin's configuration (and, in the
/// tests, from `aws-smithy-mocks` rules).
struct Clients {
    cloudformation: aws_sdk_cloudformation::Client,
    lambda: aws_sdk_lambda::Client,
    secrets: aws_sdk_secretsmanager::Client,
    iam: aws_sdk_iam::Client,
    /// Bedrock's control plane in a region (each model is asked about where it is called).
    bedrock: Box<dyn Fn(&str) -> aws_sdk_bedrock::Client + Send + Sync>,
    /// S3 as the admin and without credentials, path-style or not (as the function's
    /// configuration says).
    s3: Box<dyn Fn(bool) -> (aws_sdk_s3::Client, aws_sdk_s3::Client) + Send + Sync>,
}

/// Every check in order, each gatherer's facts handed to its judge.
async fn report(
    options: &Options,
    region: &str,
    credentials: &CredentialsFacts,
    clients: &Clients,
) -> Report {
    let mut report = Report::new(&options.stack, region);
    let outputs = if let Some(verdict) = judge::credentials(credentials) {
        report.verdict(CheckId::Credentials, verdict);
        report.skip(CheckId::Stack, "needs AWS credentials");
        None
    } else {
        let facts = stack_facts(&clients.cloudformation, &options.stack).await;
        let (verdict, outputs) = judge::stack(facts, &options.stack, region);
        report.verdict(CheckId::Stack, verdict);
        outputs
    };
    let Some(outputs) = outputs else {
        skip_after(&mut report, CheckId::Stack, "needs the stack's outputs");
        report.skip(CheckId::Manifest, "needs the stack's outputs");
        return report;
    };

    let name = outputs["FunctionName"].clone();
    let function = match function_facts(&clients.lambda, &name).await {
        Ok(function) => function,
        Err(why) => {
            report.verdict(CheckId::Function, judge::function_unreadable(&name, &why));
            skip_after(
                &mut report,
                CheckId::Function,
                "needs the function's configuration",
            );
            manifest(options, &outputs, &mut report);
            return report;
        }
    };
    let parsed = Config::from_lookup(|n| function.env.get(n).cloned());
    report.verdict(
        CheckId::Function,
        judge::function(
            &function,
            parsed.as_ref().map_err(ToString::to_string),
            &outputs,
        ),
    );
    let config = parsed.ok();

    let invoke = async_facts(&clients.lambda, &name).await;
    report.verdict(
        CheckId::FunctionAsync,
        judge::async_config(&invoke, &function.name),
    );
    let destination = match invoke {
        AsyncFacts::Found { on_failure, .. } => on_failure,
        _ => None,
    };

    let secrets = match &config {
        Some(config) => secrets(&clients.secrets, config, &mut report).await,
        None => {
            report.skip(CheckId::Secrets, "needs a valid function configuration");
            Secrets::default()
        }
    };
    match (&config, &secrets.bot) {
        (Some(config), Some(token)) => {
            let facts = slack_facts(&config.slack_api_url, token).await;
            let wanted = marquee_core::slack::manifest::bot_scopes(
                marquee_core::slack::manifest::MANIFEST_TEMPLATE,
            );
            report.verdict(CheckId::SlackAuth, judge::slack(&facts, &wanted));
        }
        _ => report.skip(CheckId::SlackAuth, "needs a readable bot token"),
    }
    match &config {
        Some(config) => models(&clients.bedrock, config, &mut report).await,
        None => report.skip(CheckId::Models, "needs a valid function configuration"),
    }

    let (admin, anonymous) = (clients.s3)(config.as_ref().is_some_and(|c| c.s3_force_path_style));
    let bucket = bucket_facts(&admin, &anonymous, &outputs["BucketName"]).await;
    report.verdict(CheckId::BucketPrivate, judge::bucket_private(&bucket));
    report.verdict(CheckId::BucketTls, judge::bucket_tls(&bucket));
    report.verdict(CheckId::BucketLifecycle, judge::bucket_lifecycle(&bucket));

    match &config {
        Some(config) => {
            for needs in judge::needed(config, &outputs, &function, destination.as_deref()) {
                let denied = if needs.pairs.is_empty() {
                    Ok(Vec::new())
                } else {
                    simulate(&clients.iam, &function.role, &needs.pairs).await
                };
                report.verdict(needs.check.clone(), judge::permissions(&needs, &denied));
            }
        }
        None => report.skip(CheckId::Iam, "needs a valid function configuration"),
    }

    let url = &outputs["SlashCommandUrl"];
    let facts = front_door_facts(url, secrets.signing.as_ref()).await;
    let vars = [
        ("stack", options.stack.as_str()),
        ("HttpApiUrl", judge::base_url(&outputs)),
    ];
    report.verdict(CheckId::FrontDoor, judge::front_door(&facts, &vars));
    manifest(options, &outputs, &mut report);
    report
}

/// The checks after the stack, in order, up to the manifest (which needs only the outputs).
const LATER: [CheckId; 8] = [
    CheckId::Function,
    CheckId::FunctionAsync,
    CheckId::Secrets,
    CheckId::SlackAuth,
    CheckId::Models,
    CheckId::Bucket,
    CheckId::Iam,
    CheckId::FrontDoor,
];

/// Reports every check of [`LATER`] after `after` as not run, for `why`.
fn skip_after(report: &mut Report, after: CheckId, why: &str) {
    let start = LATER
        .iter()
        .position(|check| *check == after)
        .map_or(0, |i| i + 1);
    for check in &LATER[start..] {
        report.skip(check.clone(), why);
    }
}

/// Whether the SDK finds credentials, asked once before any service is: without them every
/// call would fail for the same reason.
async fn credentials_facts(sdk: &SdkConfig) -> CredentialsFacts {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_cloudformation::config::ProvideCredentials;
    let result = match sdk.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.map(|_| ()),
        None => Err(CredentialsError::not_loaded_no_source()),
    };
    match result {
        Ok(()) => CredentialsFacts::Found,
        Err(CredentialsError::CredentialsNotLoaded(_)) => CredentialsFacts::NotLoaded,
        Err(e) => CredentialsFacts::Failed(ErrorChain(&e).to_string()),
    }
}

/// What `cloudformation:DescribeStacks` says about `stack`.
async fn stack_facts(client: &aws_sdk_cloudformation::Client, stack: &str) -> StackFacts {
    let described = match client.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        // DescribeStacks answers a stack name that does not exist with ValidationError, the
        // only validation a stack name can fail.
        Err(e)
            if e.as_service_error()
                .and_then(|s| s.meta().code())
                .is_some_and(|code| code == "ValidationError") =>
        {
            return StackFacts::Missing;
        }
        Err(e) => return StackFacts::Unreadable(ErrorChain(&e).to_string()),
    };
    let Some(found) = described.stacks().first() else {
        return StackFacts::Missing;
    };
    StackFacts::Found {
        status: found
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        outputs: found
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect(),
    }
}

/// What `lambda:GetFunctionConfiguration` says about the function `name`, or why it did not.
async fn function_facts(
    client: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<FunctionFacts, String> {
    let conf = client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| ErrorChain(&e).to_string())?;
    Ok(FunctionFacts {
        name: name.to_owned(),
        state: conf.state().map(|s| s.as_str().to_owned()),
        last_update_status: conf.last_update_status().map(|s| s.as_str().to_owned()),
        env: conf
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        memory_mb: conf.memory_size().unwrap_or_default(),
        timeout: Duration::from_secs(
            u64::try_from(conf.timeout().unwrap_or_default()).unwrap_or(0),
        ),
        architectures: conf
            .architectures()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        arn: conf.function_arn().unwrap_or_default().to_owned(),
        role: conf.role().unwrap_or_default().to_owned(),
    })
}

/// What `lambda:GetFunctionEventInvokeConfig` says about the function `name`.
async fn async_facts(client: &aws_sdk_lambda::Client, name: &str) -> AsyncFacts {
    match client
        .get_function_event_invoke_config()
        .function_name(name)
        .send()
        .await
    {
        Ok(conf) => AsyncFacts::Found {
            retries: conf.maximum_retry_attempts(),
            on_failure: conf
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination())
                .map(str::to_owned),
        },
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            AsyncFacts::NotConfigured
        }
        Err(e) => AsyncFacts::Unreadable(ErrorChain(&e).to_string()),
    }
}

/// The secrets that later checks use, when they passed.
#[derive(Default)]
struct Secrets {
    signing: Option<Secret>,
    bot: Option<Secret>,
}

async fn secrets(
    client: &aws_sdk_secretsmanager::Client,
    config: &Config,
    report: &mut Report,
) -> Secrets {
    let mut out = Secrets::default();
    let facts = secret_facts(client, config.signing_secret.as_ref()).await;
    let (verdict, signing) = judge::secret(facts, SecretKind::SigningSecret, hints::SECRET_SIGNING);
    report.verdict(CheckId::SigningSecret, verdict);
    out.signing = signing;
    if config.bot_token.is_some() {
        let facts = secret_facts(client, config.bot_token.as_ref()).await;
        let (verdict, bot) = judge::secret(facts, SecretKind::BotToken, hints::SECRET_BOT);
        report.verdict(CheckId::BotToken, verdict);
        out.bot = bot;
    } else {
        report.skip(
            CheckId::BotToken,
            "none configured: replies go through response URLs; threads, uploads and modals are off",
        );
    }
    if matches!(config.store, StoreConfig::S3 { .. }) {
        let arn = match &config.link_key {
            Some(SecretSource::SecretsManager { arn }) => arn.as_str(),
            _ => "<secret>",
        };
        let facts = secret_facts(client, config.link_key.as_ref()).await;
        let fix = fill(hints::SECRET_LINK_KEY, &[("secret", arn)]);
        report.verdict(
            CheckId::LinkKey,
            judge::secret(facts, SecretKind::LinkKey, &fix).0,
        );
    }
    out
}

/// A secret's value from where the configuration says it is: the function's environment, or
/// `secretsmanager:GetSecretValue`.
async fn secret_facts(
    client: &aws_sdk_secretsmanager::Client,
    source: Option<&SecretSource>,
) -> SecretFacts {
    match source {
        None => SecretFacts::NotConfigured,
        Some(SecretSource::Value(v)) => SecretFacts::Read {
            value: v.expose().to_owned(),
            from: "the function's environment".to_owned(),
        },
        Some(SecretSource::SecretsManager { arn }) => {
            let name = judge::secret_name(arn).to_owned();
            match client.get_secret_value().secret_id(arn).send().await {
                Ok(out) => SecretFacts::Read {
                    value: out.secret_string().unwrap_or_default().trim().to_owned(),
                    from: format!("Secrets Manager ({name})"),
                },
                // Never given a value: GetSecretValue finds no AWSCURRENT version.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    SecretFacts::NeverStored {
                        name,
                        why: ErrorChain(&e).to_string(),
                    }
                }
                Err(e) => SecretFacts::Unreadable {
                    name,
                    why: ErrorChain(&e).to_string(),
                },
            }
        }
    }
}

/// Asks Slack's `auth.test` (at `api_url`) about `token`.
async fn slack_facts(api_url: &str, token: &Secret) -> SlackFacts {
    let url = format!("{}/auth.test", api_url.trim_end_matches('/'));
    let http = match marquee_core::net::client_builder()
        .timeout(HTTP_TIMEOUT)
        .build()
    {
        Ok(h) => h,
        Err(e) => return SlackFacts::Unreachable(format!("no HTTP client: {e}")),
    };
    let response = match http.post(&url).bearer_auth(token.expose()).send().await {
        Ok(r) => r,
        Err(e) => return SlackFacts::Unreachable(ErrorChain(&e.without_url()).to_string()),
    };
    let scopes = response
        .headers()
        .get("x-oauth-scopes")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    slack_answer(scopes.as_deref(), &body)
}

/// `auth.test`'s answer as facts: Slack names the token's scopes in the `x-oauth-scopes`
/// header of every Web API response, comma-separated.
fn slack_answer(scopes: Option<&str>, body: &serde_json::Value) -> SlackFacts {
    if body["ok"] != true {
        return SlackFacts::Refused(body["error"].as_str().unwrap_or("no answer").to_owned());
    }
    SlackFacts::Valid {
        team: body["team"].as_str().unwrap_or("the workspace").to_owned(),
        granted: scopes
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

async fn models(
    bedrock: &(dyn Fn(&str) -> aws_sdk_bedrock::Client + Send + Sync),
    config: &Config,
    report: &mut Report,
) {
    // Each model or service this deployment calls, with its catalog row, in its region.
    let mut wanted: Vec<(Priced, String)> = config
        .model_regions
        .iter()
        .filter(|(id, _)| id.bedrock_id().is_some())
        .map(|(id, region)| (Priced::Model(*id), region.clone()))
        .collect();
    for service in config.services() {
        wanted.push((Priced::Service(service), config.service_region().to_owned()));
    }
    if wanted.is_empty() {
        report.skip(CheckId::Models, "only the offline generator is allowed");
        return;
    }
    for (priced, region) in wanted {
        let row = priced.row();
        let model = row.bedrock_id.unwrap_or_default();
        let facts = model_facts(&bedrock(&region), model).await;
        let check = CheckId::Model {
            model: model.to_owned(),
            name: row.display_name.to_owned(),
            region: region.clone(),
        };
        report.verdict(check, judge::model(&facts, row, &region));
    }
}

/// What Bedrock's control plane (the client's region) says about `model`: its availability
/// (`GetFoundationModelAvailability`) and where it stands in its lifecycle
/// (`GetFoundationModel`'s `modelDetails.modelLifecycle`, Amazon Bedrock API reference).
async fn model_facts(client: &aws_sdk_bedrock::Client, model: &str) -> ModelFacts {
    let availability = match client
        .get_foundation_model_availability()
        .model_id(model)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => return ModelFacts::Unreadable(ErrorChain(&e).to_string()),
    };
    let lifecycle = client
        .get_foundation_model()
        .model_identifier(model)
        .send()
        .await
        .map(|out| {
            let lifecycle = out.model_details().and_then(|d| d.model_lifecycle());
            (
                lifecycle
                    .map(|l| l.status().as_str())
                    .unwrap_or("ACTIVE")
                    .to_owned(),
                lifecycle
                    .and_then(|l| l.end_of_life_time())
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
            )
        })
        .map_err(|e| ErrorChain(&e).to_string());
    ModelFacts::Found {
        region: availability.region_availability().as_str().to_owned(),
        authorization: availability.authorization_status().as_str().to_owned(),
        entitlement: availability.entitlement_availability().as_str().to_owned(),
        agreement: availability
            .agreement_availability()
            .map(|a| a.status().as_str().to_owned()),
        lifecycle,
    }
}

/// What the bucket's settings say (`admin`: the admin's client) and what anyone without
/// credentials can do with it (`anonymous`: the same endpoint, unsigned).
async fn bucket_facts(
    admin: &aws_sdk_s3::Client,
    anonymous: &aws_sdk_s3::Client,
    bucket: &str,
) -> BucketFacts {
    let scheme = SeenScheme::default();
    let client = aws_sdk_s3::Client::from_conf(
        admin
            .config()
            .to_builder()
            .interceptor(scheme.clone())
            .build(),
    );
    let block = match client.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => BlockFacts::Read {
            all_on: out.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            }),
        },
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 501) => {
            BlockFacts::NotImplemented
        }
        Err(e) => BlockFacts::Unreadable(ErrorChain(&e).to_string()),
    };
    let anonymous = anonymous_read(&client, anonymous, bucket).await;
    let policy = client
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map(|out| out.policy().unwrap_or_default().to_owned())
        .map_err(|e| ErrorChain(&e).to_string());
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .map(|out| {
            out.rules()
                .iter()
                .map(|r| ExpiryRule {
                    prefix: rule_prefix(r).map(str::to_owned),
                    enabled: r.status().as_str() == "Enabled",
                    expiration_days: r.expiration().and_then(|e| e.days()),
                })
                .collect()
        })
        .map_err(|e| ErrorChain(&e).to_string());
    BucketFacts {
        name: bucket.to_owned(),
        block,
        anonymous,
        plain_http: scheme.get().as_deref() == Some("http"),
        policy,
        lifecycle,
    }
}

/// A rule's prefix, in its filter or (as older rules have it) on the rule itself.
fn rule_prefix(rule: &aws_sdk_s3::types::LifecycleRule) -> Option<&str> {
    #[allow(deprecated)]
    let legacy = rule.prefix();
    rule.filter().and_then(|f| f.prefix()).or(legacy)
}

/// Records the scheme of the requests a client sends, so a check can tell a TLS endpoint from
/// a plain-HTTP one whatever configured it.
#[derive(Debug, Clone, Default)]
struct SeenScheme(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl SeenScheme {
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}

impl aws_sdk_s3::config::Intercept for SeenScheme {
    fn name(&self) -> &'static str {
        "SeenScheme"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let scheme = context
            .request()
            .uri()
            .split("://")
            .next()
            .map(str::to_owned);
        if let Ok(mut seen) = self.0.lock() {
            *seen = scheme;
        }
        Ok(())
    }
}

/// Tries, without credentials, what anyone on the internet could: read a poster that exists
/// (the newest key under `posters/` the admin can list), or, in a bucket with none yet, list
/// the bucket. A private bucket refuses both (403). (A missing key proves nothing: S3 answers
/// 403 for it to anyone who may not list the bucket, public objects or not.) Returns what was
/// tried and the status it got (0: no answer).
async fn anonymous_read(
    admin: &aws_sdk_s3::Client,
    anonymous: &aws_sdk_s3::Client,
    bucket: &str,
) -> (String, u16) {
    let existing = admin
        .list_objects_v2()
        .bucket(bucket)
        .prefix(marquee_core::store::KEY_PREFIXES[0])
        .max_keys(1)
        .send()
        .await
        .ok()
        .and_then(|out| {
            out.contents()
                .first()
                .and_then(|o| o.key())
                .map(str::to_owned)
        });
    let (tried, status) = match &existing {
        Some(key) => (
            "reading a poster",
            match anonymous.get_object().bucket(bucket).key(key).send().await {
                Ok(_) => 200,
                Err(e) => e.raw_response().map_or(0, |r| r.status().as_u16()),
            },
        ),
        None => (
            "listing the bucket (no poster to try yet)",
            match anonymous
                .list_objects_v2()
                .bucket(bucket)
                .max_keys(1)
                .send()
                .await
            {
                Ok(_) => 200,
                Err(e) => e.raw_response().map_or(0, |r| r.status().as_u16()),
            },
        ),
    };
    (tried.to_owned(), status)
}

/// Asks IAM's policy simulator whether `role` may do each (resource, actions) pair; returns
/// every decision that was not `allowed`, or why the simulation failed.
async fn simulate(
    iam: &aws_sdk_iam::Client,
    role: &str,
    pairs: &[(String, Vec<String>)],
) -> Result<Vec<Denial>, String> {
    let mut denied = Vec::new();
    for (resource, actions) in pairs {
        let results: Vec<_> = iam
            .simulate_principal_policy()
            .policy_source_arn(role)
            .set_action_names(Some(actions.clone()))
            .resource_arns(resource)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| ErrorChain(&e).to_string())?;
        for r in &results {
            if r.eval_decision().as_str() != "allowed" {
                denied.push(Denial {
                    action: r.eval_action_name().to_owned(),
                    resource: r.eval_resource_name().unwrap_or(resource).to_owned(),
                    decision: r.eval_decision().as_str().to_owned(),
                });
            }
        }
    }
    Ok(denied)
}

/// Probes the front door at `url`: a request without a signature, then (when that was refused
/// with 401 and a signing secret was read) the same request signed with it. The body is one
/// Slack never sends, so whatever the signature nothing can be started by it.
async fn front_door_facts(url: &str, signing: Option<&Secret>) -> FrontDoorFacts {
    let mut facts = FrontDoorFacts {
        url: url.to_owned(),
        unsigned: Err(String::new()),
        signed: None,
    };
    let http = match marquee_core::net::client_builder()
        .timeout(HTTP_TIMEOUT)
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            facts.unsigned = Err(format!("no HTTP client: {e}"));
            return facts;
        }
    };
    let body = "marquee_doctor=1";
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            request
                .send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| ErrorChain(&e.without_url()).to_string())
        }
    };
    facts.unsigned = post(Vec::new()).await;
    if let (Ok(401), Some(secret)) = (&facts.unsigned, signing) {
        let now = marquee_service::http::system_clock();
        let signature = marquee_core::slack::verify::sign(secret, now, body.as_bytes());
        facts.signed = Some(
            post(vec![
                ("x-slack-request-timestamp", now.to_string()),
                ("x-slack-signature", signature),
            ])
            .await,
        );
    }
    facts
}

fn manifest(options: &Options, outputs: &BTreeMap<String, String>, report: &mut Report) {
    let Some(path) = &options.manifest else {
        report.skip(
            CheckId::Manifest,
            "not checked: pass the manifest your Slack app was created from with \
             `marquee doctor --manifest FILE` to compare its URLs",
        );
        return;
    };
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string());
    report.verdict(
        CheckId::Manifest,
        judge::manifest(
            text.as_deref().map_err(Clone::clone),
            &path.display().to_string(),
            &options.stack,
            outputs,
        ),
    );
}

/// Each gatherer against a client answering from `aws-smithy-mocks` rules: the call is made
/// with the right input (a rule that does not match is not used, and `num_calls` says so) and
/// each documented answer — output, modeled error, raw HTTP status, a second page — becomes
/// the right facts. What SeaweedFS really answers to the bucket calls is pinned by
/// `tests/it/doctor.rs`; these feed the same answers to the gatherer.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_mocks::{RuleMode, mock};
    use aws_smithy_types::error::ErrorMetadata;

    /// `aws_smithy_mocks::mock_client!` without the SDKs' `test-util` feature: the same
    /// interceptor and HTTP client, with the region, credentials and behaviour version that
    /// `with_test_defaults_v2` would set written out. `test-util` on an SDK the function also
    /// links would make the function the stack tests run a second build of that SDK and
    /// everything above it (`architecture::the_stack_runs_the_function_the_test_build_built`).
    macro_rules! mock_client {
        ($sdk:ident, $rules:expr) => {
            mock_client!($sdk, RuleMode::Sequential, $rules)
        };
        ($sdk:ident, $mode:expr, $rules:expr) => {
            mock_client!($sdk, $mode, $rules, |conf| conf)
        };
        ($sdk:ident, $mode:expr, $rules:expr, $more:expr) => {{
            let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
            for rule in $rules {
                interceptor = interceptor.with_rule(rule);
            }
            fn coerce<T: Fn($sdk::config::Builder) -> $sdk::config::Builder>(f: T) -> T {
                f
            }
            let conf = $sdk::config::Builder::new()
                .behavior_version(BehaviorVersion::latest())
                .region($sdk::config::Region::new("us-east-1"))
                .credentials_provider($sdk::config::Credentials::new(
                    "AKIDTESTMOCKS",
                    "not-a-secret",
                    None,
                    None,
                    "doctor-tests",
                ))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor);
            $sdk::Client::from_conf(coerce($more)(conf).build())
        }};
    }

    /// DescribeStacks for the stack named: its status and outputs; a ValidationError is a
    /// missing stack; any other error (access denied) is an unreadable one.
    #[tokio::test]
    async fn the_stack_gatherer_reads_status_and_outputs_or_says_why_not() {
        use aws_sdk_cloudformation::Client;
        use aws_sdk_cloudformation::operation::describe_stacks::{
            DescribeStacksError, DescribeStacksOutput,
        };
        use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
        let found = mock!(Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("marquee"))
            .then_output(|| {
                DescribeStacksOutput::builder()
                    .stacks(
                        Stack::builder()
                            .stack_name("marquee")
                            .stack_status(StackStatus::UpdateRollbackInProgress)
                            .outputs(
                                Output::builder()
                                    .output_key("FunctionName")
                                    .output_value("marquee-fn")
                                    .build(),
                            )
                            // An output without a value (never seen, but allowed) is left out.
                            .outputs(Output::builder().output_key("Empty").build())
                            .build(),
                    )
                    .build()
            });
        let missing = mock!(Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("nope"))
            .then_error(|| {
                DescribeStacksError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationError")
                        .message("Stack with id nope does not exist")
                        .build(),
                )
            });
        let denied = mock!(Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("secret"))
            .then_error(|| {
                DescribeStacksError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDenied")
                        .message("not authorized to perform: cloudformation:DescribeStacks")
                        .build(),
                )
            });
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&found, &missing, &denied]
        );
        assert_eq!(
            stack_facts(&client, "marquee").await,
            StackFacts::Found {
                status: "UPDATE_ROLLBACK_IN_PROGRESS".into(),
                outputs: [("FunctionName".to_owned(), "marquee-fn".to_owned())].into(),
            }
        );
        assert_eq!(stack_facts(&client, "nope").await, StackFacts::Missing);
        let StackFacts::Unreadable(why) = stack_facts(&client, "secret").await else {
            panic!("access denied is not a missing stack");
        };
        assert!(why.contains("cloudformation:DescribeStacks"), "{why}");
        assert_eq!(
            (found.num_calls(), missing.num_calls(), denied.num_calls()),
            (1, 1, 1)
        );
    }

    /// GetFunctionConfiguration for the stack's function: every field the judge reads.
    #[tokio::test]
    async fn the_function_gatherer_reads_its_configuration() {
        use aws_sdk_lambda::Client;
        use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
        use aws_sdk_lambda::types::{Architecture, EnvironmentResponse, LastUpdateStatus, State};
        let rule = mock!(Client::get_function_configuration)
            .match_requests(|r| r.function_name() == Some("marquee-fn"))
            .then_output(|| {
                GetFunctionConfigurationOutput::builder()
                    .function_name("marquee-fn")
                    .function_arn("arn:aws:lambda:us-east-1:123456789012:function:marquee-fn")
                    .role("arn:aws:iam::123456789012:role/marquee-role")
                    .memory_size(256)
                    .timeout(180)
                    .state(State::Pending)
                    .last_update_status(LastUpdateStatus::Failed)
                    .architectures(Architecture::Arm64)
                    .environment(
                        EnvironmentResponse::builder()
                            .variables("MARQUEE_BUCKET", "posters")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_lambda, [&rule]);
        let facts = function_facts(&client, "marquee-fn").await.unwrap();
        assert_eq!(rule.num_calls(), 1);
        assert_eq!(facts.memory_mb, 256);
        assert_eq!(facts.timeout, Duration::from_secs(180));
        assert_eq!(facts.state.as_deref(), Some("Pending"));
        assert_eq!(facts.last_update_status.as_deref(), Some("Failed"));
        assert_eq!(facts.architectures, ["arm64"]);
        assert_eq!(facts.env["MARQUEE_BUCKET"], "posters");
        assert_eq!(
            facts.arn_parts(),
            ("aws".into(), "us-east-1".into(), "123456789012".into())
        );
        assert_eq!(facts.role, "arn:aws:iam::123456789012:role/marquee-role");
    }

    /// GetFunctionEventInvokeConfig: retries and the on-failure destination; Lambda's
    /// ResourceNotFoundException means the defaults, not an error.
    #[tokio::test]
    async fn the_async_gatherer_tells_lambdas_defaults_from_an_error() {
        use aws_sdk_lambda::Client;
        use aws_sdk_lambda::operation::get_function_event_invoke_config::{
            GetFunctionEventInvokeConfigError, GetFunctionEventInvokeConfigOutput,
        };
        use aws_sdk_lambda::types::error::ResourceNotFoundException;
        use aws_sdk_lambda::types::{DestinationConfig, OnFailure};
        let queue = "arn:aws:sqs:us-east-1:123456789012:marquee-FailedJobQueue";
        let rules = [
            mock!(Client::get_function_event_invoke_config)
                .match_requests(|r| r.function_name() == Some("configured"))
                .then_output(move || {
                    GetFunctionEventInvokeConfigOutput::builder()
                        .maximum_retry_attempts(0)
                        .destination_config(
                            DestinationConfig::builder()
                                .on_failure(OnFailure::builder().destination(queue).build())
                                .build(),
                        )
                        .build()
                }),
            mock!(Client::get_function_event_invoke_config)
                .match_requests(|r| r.function_name() == Some("defaults"))
                .then_error(|| {
                    GetFunctionEventInvokeConfigError::ResourceNotFoundException(
                        ResourceNotFoundException::builder()
                            .message("The function has no event invoke config")
                            .build(),
                    )
                }),
            mock!(Client::get_function_event_invoke_config)
                .match_requests(|r| r.function_name() == Some("throttled"))
                .sequence()
                .http_status(429, None)
                .build(),
        ];
        let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &rules, |c| c
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()));
        assert_eq!(
            async_facts(&client, "configured").await,
            AsyncFacts::Found {
                retries: Some(0),
                on_failure: Some(queue.into())
            }
        );
        assert_eq!(
            async_facts(&client, "defaults").await,
            AsyncFacts::NotConfigured
        );
        assert!(matches!(
            async_facts(&client, "throttled").await,
            AsyncFacts::Unreadable(_)
        ));
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    /// A value in the environment is read without a call; an ARN is read with GetSecretValue
    /// (trimmed); a secret never stored and one that may not be read are told apart.
    #[tokio::test]
    async fn the_secret_gatherer_reads_from_where_the_configuration_says() {
        use aws_sdk_secretsmanager::Client;
        use aws_sdk_secretsmanager::operation::get_secret_value::{
            GetSecretValueError, GetSecretValueOutput,
        };
        use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
        let arn = |name: &str| {
            format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/{name}-Ab12")
        };
        let (stored, unset, denied) = (arn("signing"), arn("bot"), arn("link"));
        let rules = [
            mock!(Client::get_secret_value)
                .match_requests({
                    let stored = stored.clone();
                    move |r| r.secret_id() == Some(stored.as_str())
                })
                .then_output(|| {
                    GetSecretValueOutput::builder()
                        .secret_string("8f742231b10e8888abcd99yyyzzz85a5\n")
                        .build()
                }),
            mock!(Client::get_secret_value)
                .match_requests({
                    let unset = unset.clone();
                    move |r| r.secret_id() == Some(unset.as_str())
                })
                .then_error(|| {
                    GetSecretValueError::ResourceNotFoundException(
                        ResourceNotFoundException::builder()
                            .message("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
                            .build(),
                    )
                }),
            mock!(Client::get_secret_value)
                .match_requests({
                    let denied = denied.clone();
                    move |r| r.secret_id() == Some(denied.as_str())
                })
                .then_error(|| {
                    GetSecretValueError::generic(
                        ErrorMetadata::builder()
                            .code("AccessDeniedException")
                            .message("not authorized to perform: secretsmanager:GetSecretValue")
                            .build(),
                    )
                }),
        ];
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &rules);
        let from_arn = |arn: &String| SecretSource::SecretsManager { arn: arn.clone() };
        assert_eq!(
            secret_facts(&client, Some(&from_arn(&stored))).await,
            SecretFacts::Read {
                value: "8f742231b10e8888abcd99yyyzzz85a5".into(),
                from: "Secrets Manager (marquee/signing-Ab12)".into(),
            }
        );
        assert!(matches!(
            secret_facts(&client, Some(&from_arn(&unset))).await,
            SecretFacts::NeverStored { name, .. } if name == "marquee/bot-Ab12"
        ));
        assert!(matches!(
            secret_facts(&client, Some(&from_arn(&denied))).await,
            SecretFacts::Unreadable { why, .. } if why.contains("secretsmanager:GetSecretValue")
        ));
        let value = SecretSource::Value(Secret::new("in-the-env".to_owned()));
        assert_eq!(
            secret_facts(&client, Some(&value)).await,
            SecretFacts::Read {
                value: "in-the-env".into(),
                from: "the function's environment".into(),
            }
        );
        assert_eq!(
            secret_facts(&client, None).await,
            SecretFacts::NotConfigured
        );
        assert!(
            rules.iter().all(|r| r.num_calls() == 1),
            "the environment's value needs no call"
        );
    }

    /// Bedrock's availability and lifecycle for the model asked about; a failing lifecycle
    /// call is kept as its own fact beside the availability.
    #[tokio::test]
    async fn the_model_gatherer_reads_availability_and_lifecycle() {
        use aws_sdk_bedrock::Client;
        use aws_sdk_bedrock::operation::get_foundation_model::{
            GetFoundationModelError, GetFoundationModelOutput,
        };
        use aws_sdk_bedrock::operation::get_foundation_model_availability::GetFoundationModelAvailabilityOutput;
        use aws_sdk_bedrock::types::{
            AgreementAvailability, AgreementStatus, AuthorizationStatus, EntitlementAvailability,
            FoundationModelDetails, FoundationModelLifecycle, FoundationModelLifecycleStatus,
            RegionAvailability,
        };
        const MODEL: &str = "stability.stable-image-core-v1:1";
        let availability = mock!(Client::get_foundation_model_availability)
            .match_requests(|r| r.model_id() == Some(MODEL))
            .then_output(|| {
                GetFoundationModelAvailabilityOutput::builder()
                    .model_id(MODEL)
                    .region_availability(RegionAvailability::Available)
                    .authorization_status(AuthorizationStatus::NotAuthorized)
                    .entitlement_availability(EntitlementAvailability::Available)
                    .agreement_availability(
                        AgreementAvailability::builder()
                            .status(AgreementStatus::Available)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            });
        let lifecycle = mock!(Client::get_foundation_model)
            .match_requests(|r| r.model_identifier() == Some(MODEL))
            .sequence()
            .output(|| {
                GetFoundationModelOutput::builder()
                    .model_details(
                        FoundationModelDetails::builder()
                            .model_arn(format!(
                                "arn:aws:bedrock:us-west-2::foundation-model/{MODEL}"
                            ))
                            .model_id(MODEL)
                            .model_lifecycle(
                                FoundationModelLifecycle::builder()
                                    .status(FoundationModelLifecycleStatus::Legacy)
                                    .end_of_life_time(aws_smithy_types::DateTime::from_secs(
                                        1_814_400_000,
                                    ))
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .error(|| {
                GetFoundationModelError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("not authorized to perform: bedrock:GetFoundationModel")
                        .build(),
                )
            })
            .build();
        let client = mock_client!(
            aws_sdk_bedrock,
            RuleMode::MatchAny,
            [&availability, &lifecycle]
        );
        let ModelFacts::Found {
            region,
            authorization,
            entitlement,
            agreement,
            lifecycle: read,
        } = model_facts(&client, MODEL).await
        else {
            panic!("availability was answered");
        };
        assert_eq!(
            (
                region.as_str(),
                authorization.as_str(),
                entitlement.as_str()
            ),
            ("AVAILABLE", "NOT_AUTHORIZED", "AVAILABLE")
        );
        assert_eq!(agreement.as_deref(), Some("AVAILABLE"));
        assert_eq!(
            read,
            Ok(("LEGACY".into(), Some("2027-07-01T00:00:00Z".into())))
        );
        let ModelFacts::Found {
            lifecycle: read, ..
        } = model_facts(&client, MODEL).await
        else {
            panic!("availability was answered");
        };
        assert!(read.is_err_and(|why| why.contains("bedrock:GetFoundationModel")));
        assert_eq!((availability.num_calls(), lifecycle.num_calls()), (2, 2));
    }

    /// A bucket as SeaweedFS (the local stack) answers: no Block Public Access (501), a poster
    /// the admin can list that anyone else is refused (403), its lifecycle rules, reached over
    /// plain HTTP.
    #[tokio::test]
    async fn the_bucket_gatherer_reads_settings_and_tries_an_anonymous_read() {
        use aws_sdk_s3::Client;
        use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
        use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
        use aws_sdk_s3::types::{
            ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, Object,
        };
        const POSTER: &str = "posters/2026/12/02/a-poster.png";
        let admin_rules = [
            mock!(Client::get_public_access_block)
                .match_requests(|r| r.bucket() == Some("posters"))
                .sequence()
                .http_status(
                    501,
                    Some("<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>".into()),
                )
                .build(),
            mock!(Client::list_objects_v2)
                .match_requests(|r| r.prefix() == Some("posters/") && r.max_keys() == Some(1))
                .then_output(|| {
                    ListObjectsV2Output::builder()
                        .contents(Object::builder().key(POSTER).build())
                        .build()
                }),
            mock!(Client::get_bucket_policy)
                .sequence()
                .http_status(
                    404,
                    Some("<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message></Error>".into()),
                )
                .build(),
            mock!(Client::get_bucket_lifecycle_configuration).then_output(|| {
                GetBucketLifecycleConfigurationOutput::builder()
                    .rules(
                        LifecycleRule::builder()
                            .id("expire-posters")
                            .filter(LifecycleRuleFilter::builder().prefix("posters/").build())
                            .status(ExpirationStatus::Enabled)
                            .expiration(LifecycleExpiration::builder().days(30).build())
                            .build()
                            .unwrap(),
                    )
                    .rules(
                        LifecycleRule::builder()
                            .id("expire-art")
                            .filter(LifecycleRuleFilter::builder().prefix("art/").build())
                            .status(ExpirationStatus::Disabled)
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
        ];
        let anonymous_rule = mock!(Client::get_object)
            .match_requests(|r| r.bucket() == Some("posters") && r.key() == Some(POSTER))
            .sequence()
            .http_status(
                403,
                Some(
                    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                        .into(),
                ),
            )
            .build();
        let no_retries = aws_sdk_s3::config::retry::RetryConfig::disabled();
        let local = |c: aws_sdk_s3::config::Builder| {
            c.endpoint_url("http://127.0.0.1:8333")
                .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        };
        let admin = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &admin_rules, local);
        let anonymous = mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            [&anonymous_rule],
            move |c| c.retry_config(no_retries.clone())
        );
        let facts = bucket_facts(&admin, &anonymous, "posters").await;
        assert_eq!(facts.block, BlockFacts::NotImplemented);
        assert_eq!(facts.anonymous, ("reading a poster".into(), 403));
        assert!(facts.plain_http);
        assert!(
            facts
                .policy
                .is_err_and(|why| why.contains("NoSuchBucketPolicy"))
        );
        assert_eq!(
            facts.lifecycle,
            Ok(vec![
                ExpiryRule {
                    prefix: Some("posters/".into()),
                    enabled: true,
                    expiration_days: Some(30),
                },
                ExpiryRule {
                    prefix: Some("art/".into()),
                    enabled: false,
                    expiration_days: None,
                },
            ])
        );
        assert!(admin_rules.iter().all(|r| r.num_calls() == 1));
        assert_eq!(anonymous_rule.num_calls(), 1);
    }

    /// An empty bucket is tried by listing it; on AWS (https) the scheme is TLS.
    #[tokio::test]
    async fn an_empty_bucket_is_tried_by_listing_it() {
        use aws_sdk_s3::Client;
        use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
        use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
        use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
        use aws_sdk_s3::types::PublicAccessBlockConfiguration;
        let admin_rules = [
            mock!(Client::get_public_access_block).then_output(|| {
                GetPublicAccessBlockOutput::builder()
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .ignore_public_acls(true)
                            .block_public_policy(true)
                            .restrict_public_buckets(false)
                            .build(),
                    )
                    .build()
            }),
            mock!(Client::list_objects_v2).then_output(|| ListObjectsV2Output::builder().build()),
            mock!(Client::get_bucket_policy)
                .then_output(|| GetBucketPolicyOutput::builder().policy(r#"{"Statement":[]}"#).build()),
            mock!(Client::get_bucket_lifecycle_configuration)
                .sequence()
                .http_status(
                    404,
                    Some("<Error><Code>NoSuchLifecycleConfiguration</Code><Message>The lifecycle configuration does not exist</Message></Error>".into()),
                )
                .build(),
        ];
        let listed = mock!(Client::list_objects_v2)
            .match_requests(|r| r.bucket() == Some("posters") && r.prefix().is_none())
            .then_output(|| ListObjectsV2Output::builder().build());
        let admin = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &admin_rules);
        let anonymous = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&listed]);
        let facts = bucket_facts(&admin, &anonymous, "posters").await;
        assert_eq!(facts.block, BlockFacts::Read { all_on: false });
        assert_eq!(
            facts.anonymous,
            ("listing the bucket (no poster to try yet)".into(), 200)
        );
        assert!(!facts.plain_http);
        assert_eq!(facts.policy.as_deref(), Ok(r#"{"Statement":[]}"#));
        assert!(
            facts
                .lifecycle
                .is_err_and(|why| why.contains("NoSuchLifecycleConfiguration"))
        );
        assert_eq!(listed.num_calls(), 1);
    }

    /// SimulatePrincipalPolicy for the role, each resource with its actions; every page of
    /// results is read (IsTruncated and Marker), and only what is not `allowed` is kept.
    #[tokio::test]
    async fn the_simulation_gatherer_reads_every_page_of_decisions() {
        use aws_sdk_iam::Client;
        use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
        use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};
        const ROLE: &str = "arn:aws:iam::123456789012:role/marquee-role";
        const OBJECT: &str = "arn:aws:s3:::posters/posters/marquee-doctor-probe";
        let result = |action: &str, decision: PolicyEvaluationDecisionType| {
            EvaluationResult::builder()
                .eval_action_name(action)
                .eval_resource_name(OBJECT)
                .eval_decision(decision)
                .build()
                .unwrap()
        };
        let first = mock!(Client::simulate_principal_policy)
            .match_requests(|r| {
                r.policy_source_arn() == Some(ROLE)
                    && r.action_names() == ["s3:GetObject", "s3:PutObject"]
                    && r.resource_arns() == [OBJECT]
                    && r.marker().is_none()
            })
            .then_output(move || {
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(
                        "s3:GetObject",
                        PolicyEvaluationDecisionType::Allowed,
                    ))
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
            });
        let second = mock!(Client::simulate_principal_policy)
            .match_requests(|r| r.marker() == Some("page-2"))
            .then_output(move || {
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(
                        "s3:PutObject",
                        PolicyEvaluationDecisionType::ExplicitDeny,
                    ))
                    .is_truncated(false)
                    .build()
            });
        let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
        let pairs = [(
            OBJECT.to_owned(),
            vec!["s3:GetObject".to_owned(), "s3:PutObject".to_owned()],
        )];
        assert_eq!(
            simulate(&client, ROLE, &pairs).await,
            Ok(vec![Denial {
                action: "s3:PutObject".into(),
                resource: OBJECT.into(),
                decision: "explicitDeny".into(),
            }])
        );
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    /// auth.test's answer: the scopes from the `x-oauth-scopes` header, the team from the body
    /// (`reference/methods/auth.test`, "Example responses"); `ok: false` carries Slack's error.
    #[test]
    fn slacks_auth_test_answer_becomes_facts() {
        let body = serde_json::json!({
            "ok": true,
            "url": "https://subarachnoid.slack.com/",
            "team": "Subarachnoid Workspace",
            "user": "grace",
            "team_id": "T12345678",
            "user_id": "W12345678",
            "bot_id": "B12345678",
        });
        assert_eq!(
            slack_answer(Some("commands,chat:write, files:write,"), &body),
            SlackFacts::Valid {
                team: "Subarachnoid Workspace".into(),
                granted: ["commands", "chat:write", "files:write"]
                    .map(String::from)
                    .to_vec(),
            }
        );
        assert_eq!(
            slack_answer(
                None,
                &serde_json::json!({"ok": false, "error": "invalid_auth"})
            ),
            SlackFacts::Refused("invalid_auth".into())
        );
        assert_eq!(
            slack_answer(None, &serde_json::Value::Null),
            SlackFacts::Refused("no answer".into())
        );
    }

    /// A client of `$sdk` that answers nothing: any call fails the test (no rule matches).
    macro_rules! silent {
        ($sdk:ident) => {
            mock_client!($sdk, Vec::<&aws_smithy_mocks::Rule>::new())
        };
    }

    fn options(stack: &str) -> Options {
        Options {
            stack: stack.into(),
            region: None,
            manifest: None,
        }
    }

    fn ids(report: &Report) -> Vec<(String, super::super::Status)> {
        report
            .checks
            .iter()
            .map(|c| (c.id.clone(), c.status))
            .collect()
    }

    /// Without credentials nothing is asked of any service, and every check is listed as not
    /// run; with them, a missing stack fails first and every later check is listed as not run.
    #[tokio::test]
    async fn a_missing_stack_fails_first_and_skips_the_rest() {
        use super::super::Status::{Fail, Skip};
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
        let missing = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id marquee does not exist")
                    .build(),
            )
        });
        let clients = Clients {
            cloudformation: mock_client!(aws_sdk_cloudformation, [&missing]),
            lambda: silent!(aws_sdk_lambda),
            secrets: silent!(aws_sdk_secretsmanager),
            iam: silent!(aws_sdk_iam),
            bedrock: Box::new(|_| silent!(aws_sdk_bedrock)),
            s3: Box::new(|_| (silent!(aws_sdk_s3), silent!(aws_sdk_s3))),
        };
        let later = [
            "function",
            "function.async",
            "secrets",
            "slack.auth",
            "models",
            "bucket",
            "iam",
            "front_door",
            "manifest",
        ];
        let r = report(
            &options("marquee"),
            "eu-west-1",
            &CredentialsFacts::Found,
            &clients,
        )
        .await;
        let mut want = vec![("stack".to_owned(), Fail)];
        want.extend(later.map(|id| (id.to_owned(), Skip)));
        assert_eq!(ids(&r), want);
        assert!(!r.ok);
        assert_eq!(missing.num_calls(), 1);

        let r = report(
            &options("marquee"),
            "eu-west-1",
            &CredentialsFacts::NotLoaded,
            &clients,
        )
        .await;
        let mut want = vec![("credentials".to_owned(), Fail), ("stack".to_owned(), Skip)];
        want.extend(later.map(|id| (id.to_owned(), Skip)));
        assert_eq!(ids(&r), want);
        assert_eq!(
            missing.num_calls(),
            1,
            "nothing is asked without credentials"
        );
    }

    /// A whole run against a deployment as the template makes it (on AWS, so TLS applies):
    /// every check once, in order, each gatherer's call made; the front door, unreachable
    /// here, is the one failure; no secret value reaches the report.
    #[tokio::test]
    async fn a_whole_run_lists_every_check_once_in_order_and_no_secret() {
        use super::super::Status::{Fail, Pass, Skip};
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
        use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
        use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
        use aws_sdk_lambda::operation::get_function_event_invoke_config::GetFunctionEventInvokeConfigOutput;
        use aws_sdk_lambda::types::{DestinationConfig, EnvironmentResponse, OnFailure, State};
        let signing = "8f742231b10e8888abcd99aaabbb85a5";
        let link_key = "k".repeat(48);
        let outputs = [
            ("FunctionName", "marquee-fn".to_owned()),
            ("BucketName", "posters".to_owned()),
            ("TableName", "state".to_owned()),
            // Nothing listens on port 1: the front door does not answer.
            (
                "SlashCommandUrl",
                "http://127.0.0.1:1/slack/commands".to_owned(),
            ),
            (
                "InteractivityUrl",
                "http://127.0.0.1:1/slack/interactions".to_owned(),
            ),
        ];
        let stack = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(move || {
            let mut stack = Stack::builder()
                .stack_name("marquee")
                .stack_status(StackStatus::UpdateComplete);
            for (key, value) in &outputs {
                stack = stack.outputs(
                    Output::builder()
                        .output_key(*key)
                        .output_value(value)
                        .build(),
                );
            }
            DescribeStacksOutput::builder()
                .stacks(stack.build())
                .build()
        });
        let env = [
            ("MARQUEE_BUCKET", "posters".to_owned()),
            ("MARQUEE_TABLE", "state".to_owned()),
            (
                "MARQUEE_MODEL",
                "stability.stable-image-core-v1:1".to_owned(),
            ),
            (
                "MARQUEE_ALLOWED_MODELS",
                "stability.stable-image-core-v1:1".to_owned(),
            ),
            ("SLACK_SIGNING_SECRET", signing.to_owned()),
            ("MARQUEE_LINK_KEY", link_key.clone()),
        ];
        let function = mock!(aws_sdk_lambda::Client::get_function_configuration)
            .match_requests(|r| r.function_name() == Some("marquee-fn"))
            .then_output(move || {
                let mut vars = EnvironmentResponse::builder();
                for (k, v) in &env {
                    vars = vars.variables(*k, v);
                }
                GetFunctionConfigurationOutput::builder()
                    .function_arn("arn:aws:lambda:us-east-1:123456789012:function:marquee-fn")
                    .role("arn:aws:iam::123456789012:role/marquee-role")
                    .memory_size(1024)
                    .timeout(900)
                    .architectures(aws_sdk_lambda::types::Architecture::Arm64)
                    .state(State::Active)
                    .environment(vars.build())
                    .build()
            });
        let invoke =
            mock!(aws_sdk_lambda::Client::get_function_event_invoke_config).then_output(|| {
                GetFunctionEventInvokeConfigOutput::builder()
                    .maximum_retry_attempts(0)
                    .destination_config(
                        DestinationConfig::builder()
                            .on_failure(
                                OnFailure::builder()
                                    .destination(
                                        "arn:aws:sqs:us-east-1:123456789012:marquee-FailedJobQueue",
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let simulate = mock!(aws_sdk_iam::Client::simulate_principal_policy).then_output(|| {
            aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput::builder()
                .build()
        });
        let clients = Clients {
            cloudformation: mock_client!(aws_sdk_cloudformation, [&stack]),
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&function, &invoke]),
            // Both secrets are values in the function's environment: no call is made.
            secrets: silent!(aws_sdk_secretsmanager),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&simulate]),
            bedrock: Box::new(|_| {
                mock_client!(
                    aws_sdk_bedrock,
                    RuleMode::MatchAny,
                    [&available_model(), &active_model()]
                )
            }),
            s3: Box::new(|_| (deployed_bucket(), refusing_bucket())),
        };
        let r = report(
            &options("marquee"),
            "us-east-1",
            &CredentialsFacts::Found,
            &clients,
        )
        .await;
        let want: Vec<(String, super::super::Status)> = [
            ("stack", Pass),
            ("function", Pass),
            ("function.async", Pass),
            ("secret.signing", Pass),
            ("secret.bot", Skip),
            ("secret.link_key", Pass),
            ("slack.auth", Skip),
            ("model.stability.stable-image-core-v1:1", Pass),
            // The image services are on by default (MARQUEE_IMAGE_SERVICES).
            ("model.stability.stable-image-search-replace-v1:0", Pass),
            ("model.stability.stable-outpaint-v1:0", Pass),
            ("model.stability.stable-image-search-recolor-v1:0", Pass),
            ("model.stability.stable-image-style-guide-v1:0", Pass),
            ("model.stability.stable-style-transfer-v1:0", Pass),
            ("bucket.private", Pass),
            ("bucket.tls", Pass),
            ("bucket.lifecycle", Pass),
            ("iam.invoke", Pass),
            ("iam.models", Pass),
            ("iam.storage", Pass),
            ("iam.state", Pass),
            ("iam.secrets", Skip),
            ("iam.failed_jobs", Pass),
            ("front_door", Fail),
            ("manifest", Skip),
        ]
        .map(|(id, status)| (id.to_owned(), status))
        .to_vec();
        assert_eq!(ids(&r), want, "{}", r.to_table());
        assert!(!r.ok);
        assert_eq!(
            (stack.num_calls(), function.num_calls(), invoke.num_calls()),
            (1, 1, 1)
        );
        // One simulation per resource: the worker; the model, each service's profile and the
        // three regions it routes to (Search and Replace, Outpaint, Search and Recolor, Style
        // Guide, Style Transfer); each prefix and the bucket; the table; the queue.
        assert_eq!(
            simulate.num_calls(),
            1 + 1 + 5 * 4 + marquee_core::store::KEY_PREFIXES.len() + 1 + 1 + 1
        );
        for printed in [r.to_table(), r.to_json()] {
            assert!(
                !printed.contains(signing) && !printed.contains(&link_key),
                "{printed}"
            );
        }
    }

    fn available_model() -> aws_smithy_mocks::Rule {
        use aws_sdk_bedrock::operation::get_foundation_model_availability::GetFoundationModelAvailabilityOutput;
        use aws_sdk_bedrock::types::{
            AuthorizationStatus, EntitlementAvailability, RegionAvailability,
        };
        mock!(aws_sdk_bedrock::Client::get_foundation_model_availability).then_output(|| {
            GetFoundationModelAvailabilityOutput::builder()
                .model_id("stability.stable-image-core-v1:1")
                .region_availability(RegionAvailability::Available)
                .authorization_status(AuthorizationStatus::Authorized)
                .entitlement_availability(EntitlementAvailability::Available)
                .build()
                .unwrap()
        })
    }

    fn active_model() -> aws_smithy_mocks::Rule {
        use aws_sdk_bedrock::operation::get_foundation_model::GetFoundationModelOutput;
        mock!(aws_sdk_bedrock::Client::get_foundation_model)
            .then_output(|| GetFoundationModelOutput::builder().build())
    }

    /// An S3 bucket as template.yaml makes it, answering its admin.
    fn deployed_bucket() -> aws_sdk_s3::Client {
        use aws_sdk_s3::Client;
        use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
        use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
        use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
        use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
        use aws_sdk_s3::types::{
            ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
            PublicAccessBlockConfiguration,
        };
        let rules = [
            mock!(Client::get_public_access_block).then_output(|| {
                GetPublicAccessBlockOutput::builder()
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .ignore_public_acls(true)
                            .block_public_policy(true)
                            .restrict_public_buckets(true)
                            .build(),
                    )
                    .build()
            }),
            mock!(Client::list_objects_v2).then_output(|| ListObjectsV2Output::builder().build()),
            mock!(Client::get_bucket_policy).then_output(|| {
                GetBucketPolicyOutput::builder()
                    .policy(r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#)
                    .build()
            }),
            mock!(Client::get_bucket_lifecycle_configuration).then_output(|| {
                let mut out = GetBucketLifecycleConfigurationOutput::builder();
                for prefix in marquee_core::store::KEY_PREFIXES {
                    out = out.rules(
                        LifecycleRule::builder()
                            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
                            .status(ExpirationStatus::Enabled)
                            .expiration(LifecycleExpiration::builder().days(30).build())
                            .build()
                            .unwrap(),
                    );
                }
                out.build()
            }),
        ];
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules)
    }

    /// S3 refusing a request without credentials (403 AccessDenied).
    fn refusing_bucket() -> aws_sdk_s3::Client {
        let refused = mock!(aws_sdk_s3::Client::list_objects_v2)
            .sequence()
            .http_status(
                403,
                Some(
                    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                        .into(),
                ),
            )
            .build();
        mock_client!(aws_sdk_s3, [&refused])
    }
}
