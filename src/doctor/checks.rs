//! The calls behind each line of the doctor's report. Where a check is split, the gatherer
//! here only reads facts and [`super::judge`] decides (so far: the stack and the function's configuration).
//!
//! Order matters only where one check feeds the next: the stack's outputs name the function,
//! the function's configuration names everything else. When a link that later checks need
//! fails, they are reported as not run rather than failing for a reason that is not theirs.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::SdkConfig;

use super::hints::{self, fill};
use super::judge::{self, FunctionFacts, StackFacts};
use super::{CheckId, Options, Report};
use marquee_core::errors::ErrorChain;
use marquee_core::model::{Priced, Service, catalog};
use marquee_core::secret::Secret;
use marquee_service::config::{Config, SecretSource, StateConfig, StoreConfig};

/// A key under each storage prefix that no poster will ever have, for the IAM simulation.
const PROBE_NAME: &str = "marquee-doctor-probe";

/// How long any one probe of an HTTP endpoint may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// What the function is, as Lambda describes it.
struct Function {
    name: String,
    arn: String,
    role: String,
    config: Option<Config>,
}

impl Function {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME` → (partition, region, account).
    fn arn_parts(&self) -> (String, String, String) {
        let parts: Vec<&str> = self.arn.split(':').collect();
        let get = |i: usize| parts.get(i).copied().unwrap_or_default().to_owned();
        (get(1), get(3), get(4))
    }
}

pub(super) async fn run(options: &Options) -> Report {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(marquee_core::net::aws_http_client());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "(no region)".into());
    let mut report = Report::new(&options.stack, &region);

    let outputs = if sdk.region().is_none() {
        report.fail(
            CheckId::Stack,
            "no AWS region is configured",
            fill(hints::NO_REGION, &[("stack", &options.stack)]),
        );
        None
    } else if !credentials(&sdk, &mut report).await {
        None
    } else {
        stack(&sdk, options, &mut report).await
    };
    let Some(outputs) = outputs else {
        skip_after(&mut report, CheckId::Stack, "needs the stack's outputs");
        report.skip(CheckId::Manifest, "needs the stack's outputs");
        return report;
    };
    let Some(function) = function(&sdk, &outputs, &mut report).await else {
        skip_after(
            &mut report,
            CheckId::Function,
            "needs the function's configuration",
        );
        manifest(options, &outputs, &mut report);
        return report;
    };
    let destination = async_config(&sdk, &function, &mut report).await;
    let secrets = secrets(&sdk, &function, &mut report).await;
    slack(&function, secrets.bot.as_ref(), &mut report).await;
    if let Some(config) = &function.config {
        models(&sdk, config, &mut report).await;
    } else {
        report.skip(CheckId::Models, "needs a valid function configuration");
    }
    bucket(&sdk, &outputs, &function, &mut report).await;
    permissions(
        &sdk,
        &outputs,
        &function,
        destination.as_deref(),
        &mut report,
    )
    .await;
    front_door(
        &options.stack,
        &outputs,
        secrets.signing.as_ref(),
        &mut report,
    )
    .await;
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

// --- credentials ---------------------------------------------------------------------------

/// Whether the SDK finds credentials, asked once before any service is: without them every
/// call would fail for the same reason, and the SDK's own account of its provider chain is
/// not for an admin to read. Reported only when missing.
async fn credentials(sdk: &SdkConfig, report: &mut Report) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_cloudformation::config::ProvideCredentials;
    let result = match sdk.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.map(|_| ()),
        None => Err(CredentialsError::not_loaded_no_source()),
    };
    let detail = match result {
        Ok(()) => return true,
        Err(CredentialsError::CredentialsNotLoaded(_)) => hints::NO_CREDENTIALS_DETAIL.to_owned(),
        // A provider that failed rather than found nothing (an expired SSO session, a
        // network that refuses the instance metadata address): the same remedy, and its
        // words say which.
        Err(e) => format!(
            "{} (the last source tried: {})",
            hints::NO_CREDENTIALS_DETAIL,
            ErrorChain(&e)
        ),
    };
    report.fail(CheckId::Credentials, detail, hints::NO_CREDENTIALS);
    report.skip(CheckId::Stack, "needs AWS credentials");
    false
}

// --- stack ---------------------------------------------------------------------------------

async fn stack(
    sdk: &SdkConfig,
    options: &Options,
    report: &mut Report,
) -> Option<BTreeMap<String, String>> {
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let facts = stack_facts(sdk, &options.stack).await;
    let (verdict, outputs) = judge::stack(facts, &options.stack, &region);
    report.verdict(CheckId::Stack, verdict);
    outputs
}

/// Gathers what `cloudformation:DescribeStacks` says about `stack`.
async fn stack_facts(sdk: &SdkConfig, stack: &str) -> StackFacts {
    let client = aws_sdk_cloudformation::Client::new(sdk);
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

// --- function ------------------------------------------------------------------------------

async fn function(
    sdk: &SdkConfig,
    outputs: &BTreeMap<String, String>,
    report: &mut Report,
) -> Option<Function> {
    let name = &outputs["FunctionName"];
    let client = aws_sdk_lambda::Client::new(sdk);
    let conf = match client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(conf) => conf,
        Err(e) => {
            report.fail(
                CheckId::Function,
                format!("could not read function {name}: {}", ErrorChain(&e)),
                hints::FUNCTION_UNREADABLE,
            );
            return None;
        }
    };
    let facts = FunctionFacts {
        name: name.clone(),
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
    };
    let parsed = Config::from_lookup(|n| facts.env.get(n).cloned());
    report.verdict(
        CheckId::Function,
        judge::function(
            &facts,
            parsed.as_ref().map_err(ToString::to_string),
            outputs,
        ),
    );
    Some(Function {
        name: name.clone(),
        arn: conf.function_arn().unwrap_or_default().to_owned(),
        role: conf.role().unwrap_or_default().to_owned(),
        config: parsed.ok(),
    })
}

/// Checks the function's asynchronous invocation settings; returns the on-failure destination.
async fn async_config(sdk: &SdkConfig, function: &Function, report: &mut Report) -> Option<String> {
    let client = aws_sdk_lambda::Client::new(sdk);
    let conf = match client
        .get_function_event_invoke_config()
        .function_name(&function.name)
        .send()
        .await
    {
        Ok(conf) => conf,
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception());
            let detail = if not_found {
                "the function has no asynchronous invocation configuration: Lambda would retry a \
                 failed job twice and drop it silently afterwards"
                    .to_owned()
            } else {
                format!("could not read it: {}", ErrorChain(&e))
            };
            report.fail(
                CheckId::FunctionAsync,
                detail,
                fill(hints::ASYNC, &[("function", &function.name)]),
            );
            return None;
        }
    };
    let retries = conf.maximum_retry_attempts().unwrap_or(2);
    let destination = conf
        .destination_config()
        .and_then(|d| d.on_failure())
        .and_then(|f| f.destination())
        .map(str::to_owned);
    let mut problems = Vec::new();
    if retries != 0 {
        problems.push(format!(
            "Lambda retries a failed job {retries} time(s): a poster could be drawn and billed twice"
        ));
    }
    if destination.is_none() {
        problems.push("no on-failure destination: a job Lambda stops is never reported".to_owned());
    }
    if problems.is_empty() {
        let queue = destination
            .as_deref()
            .and_then(|d| d.rsplit(':').next())
            .unwrap_or_default();
        report.pass(
            CheckId::FunctionAsync,
            format!("no retries; failed jobs go to {queue}"),
        );
    } else {
        report.fail(
            CheckId::FunctionAsync,
            problems.join("; "),
            fill(hints::ASYNC, &[("function", &function.name)]),
        );
    }
    destination
}

// --- secrets and Slack ---------------------------------------------------------------------

#[derive(Default)]
struct Secrets {
    signing: Option<Secret>,
    bot: Option<Secret>,
}

async fn secrets(sdk: &SdkConfig, function: &Function, report: &mut Report) -> Secrets {
    let mut out = Secrets::default();
    let Some(config) = &function.config else {
        report.skip(CheckId::Secrets, "needs a valid function configuration");
        return out;
    };
    out.signing = secret(
        sdk,
        report,
        CheckId::SigningSecret,
        config.signing_secret.as_ref(),
        signing_secret_problem,
        hints::SECRET_SIGNING,
    )
    .await;
    out.bot = if config.bot_token.is_some() {
        secret(
            sdk,
            report,
            CheckId::BotToken,
            config.bot_token.as_ref(),
            bot_token_problem,
            hints::SECRET_BOT,
        )
        .await
    } else {
        report.skip(
            CheckId::BotToken,
            "none configured: replies go through response URLs; threads, uploads and modals are off",
        );
        None
    };
    if matches!(config.store, StoreConfig::S3 { .. }) {
        let arn = match &config.link_key {
            Some(SecretSource::SecretsManager { arn }) => arn.as_str(),
            _ => "<secret>",
        };
        secret(
            sdk,
            report,
            CheckId::LinkKey,
            config.link_key.as_ref(),
            link_key_problem,
            &fill(hints::SECRET_LINK_KEY, &[("secret", arn)]),
        )
        .await;
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn secret(
    sdk: &SdkConfig,
    report: &mut Report,
    check: CheckId,
    source: Option<&SecretSource>,
    problem: fn(&str) -> Option<String>,
    fix: &str,
) -> Option<Secret> {
    let (value, from) = match source {
        None => {
            report.fail(check.clone(), "not configured", fix);
            return None;
        }
        Some(SecretSource::Value(v)) => (
            v.expose().to_owned(),
            "the function's environment".to_owned(),
        ),
        Some(SecretSource::SecretsManager { arn }) => {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            match client.get_secret_value().secret_id(arn).send().await {
                Ok(out) => (
                    out.secret_string().unwrap_or_default().trim().to_owned(),
                    format!("Secrets Manager ({})", secret_name(arn)),
                ),
                Err(e) => {
                    // Never given a value: GetSecretValue finds no AWSCURRENT version. Anything
                    // else (access denied, above all) is not fixed by storing a value.
                    let never_stored = e
                        .as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception());
                    report.fail(
                        check.clone(),
                        format!("could not read {}: {}", secret_name(arn), ErrorChain(&e)),
                        if never_stored {
                            fix
                        } else {
                            hints::SECRET_UNREADABLE
                        },
                    );
                    return None;
                }
            }
        }
    };
    match problem(&value) {
        None => {
            report.pass(
                check.clone(),
                format!(
                    "readable from {from}, well-formed ({} characters)",
                    value.chars().count()
                ),
            );
            Some(Secret::new(value))
        }
        Some(p) => {
            report.fail(check.clone(), format!("read from {from}, but {p}"), fix);
            None
        }
    }
}

/// A secret's name from its ARN (`…:secret:marquee/signing-secret-AbCdEf`), for messages.
fn secret_name(arn: &str) -> &str {
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

async fn slack(function: &Function, bot: Option<&Secret>, report: &mut Report) {
    let (Some(config), Some(token)) = (&function.config, bot) else {
        report.skip(CheckId::SlackAuth, "needs a readable bot token");
        return;
    };
    let url = format!("{}/auth.test", config.slack_api_url.trim_end_matches('/'));
    let http = match marquee_core::net::client_builder()
        .timeout(HTTP_TIMEOUT)
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            report.fail(CheckId::SlackAuth, format!("no HTTP client: {e}"), "");
            return;
        }
    };
    let answer = http.post(&url).bearer_auth(token.expose()).send().await;
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            report.fail(
                CheckId::SlackAuth,
                format!(
                    "could not reach Slack's auth.test: {}",
                    ErrorChain(&e.without_url())
                ),
                hints::SLACK_UNREACHABLE,
            );
            return;
        }
    };
    let granted: Vec<String> = response
        .headers()
        .get("x-oauth-scopes")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if body["ok"] != true {
        let error = body["error"].as_str().unwrap_or("no answer");
        report.fail(
            CheckId::SlackAuth,
            format!("Slack refused the bot token: {error}"),
            hints::SLACK_REFUSED,
        );
        return;
    }
    let wanted =
        marquee_core::slack::manifest::bot_scopes(marquee_core::slack::manifest::MANIFEST_TEMPLATE);
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !granted.contains(w))
        .map(String::as_str)
        .collect();
    let team = body["team"].as_str().unwrap_or("the workspace");
    if missing.is_empty() {
        report.pass(
            CheckId::SlackAuth,
            format!(
                "bot token valid for {team}; all {} manifest scopes granted",
                wanted.len()
            ),
        );
    } else {
        report.fail(
            CheckId::SlackAuth,
            format!(
                "bot token valid for {team} but lacks {}",
                missing.join(", ")
            ),
            hints::SLACK_SCOPES,
        );
    }
}

// --- models --------------------------------------------------------------------------------

async fn models(sdk: &SdkConfig, config: &Config, report: &mut Report) {
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
        let (model, name) = (row.bedrock_id.unwrap_or_default(), row.display_name);
        let check = CheckId::Model {
            model: model.to_owned(),
            name: name.to_owned(),
            region: region.clone(),
        };
        let conf = aws_sdk_bedrock::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.clone()))
            .build();
        let client = aws_sdk_bedrock::Client::from_conf(conf);
        let a = match client
            .get_foundation_model_availability()
            .model_id(model)
            .send()
            .await
        {
            Err(e) => {
                report.fail(
                    check.clone(),
                    format!("could not ask Bedrock about {model}: {}", ErrorChain(&e)),
                    fill(hints::MODEL_UNREADABLE, &[("region", &region)]),
                );
                continue;
            }
            Ok(a) => a,
        };
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        if a.region_availability().as_str() != "AVAILABLE" {
            problems.push(format!("Bedrock does not serve it in {region}"));
            fixes.push(hints::MODEL_REGION.to_owned());
        }
        let mut access = Vec::new();
        if a.authorization_status().as_str() != "AUTHORIZED" {
            access.push("this account is not authorized to use it".to_owned());
        }
        if a.entitlement_availability().as_str() != "AVAILABLE" {
            access.push("the account has no entitlement to it".to_owned());
        }
        if let Some(agreement) = a.agreement_availability() {
            if agreement.status().as_str() != "AVAILABLE" {
                access.push(format!(
                    "its model agreement is {}",
                    agreement.status().as_str()
                ));
            }
        }
        if !access.is_empty() && problems.is_empty() {
            fixes.push(fill(hints::MODEL_ACCESS, &[("region", &region)]));
        }
        problems.extend(access);
        // Where the model stands in Bedrock's lifecycle: GetFoundationModel's
        // modelDetails.modelLifecycle (Amazon Bedrock API reference). A Legacy model still
        // answers today and stops at its end of life, so it fails here while there is time.
        match client
            .get_foundation_model()
            .model_identifier(model)
            .send()
            .await
        {
            Err(e) => {
                problems.push(format!("could not read its lifecycle: {}", ErrorChain(&e)));
                fixes.push("let your credentials call bedrock:GetFoundationModel".to_owned());
            }
            Ok(out) => {
                let lifecycle = out.model_details().and_then(|d| d.model_lifecycle());
                let status = lifecycle.map(|l| l.status().as_str()).unwrap_or("ACTIVE");
                let api_eol = lifecycle
                    .and_then(|l| l.end_of_life_time())
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok());
                if let Some((problem, fix)) = lifecycle_problem(row, status, api_eol.as_deref()) {
                    problems.push(problem);
                    fixes.push(fix);
                }
            }
        }
        if problems.is_empty() {
            report.pass(check.clone(), format!("{model} is enabled and active"));
        } else {
            fixes.dedup();
            report.fail(check.clone(), problems.join("; "), fixes.join("; "));
        }
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

// --- bucket --------------------------------------------------------------------------------

async fn bucket(
    sdk: &SdkConfig,
    outputs: &BTreeMap<String, String>,
    function: &Function,
    report: &mut Report,
) {
    let bucket = &outputs["BucketName"];
    let path_style = function
        .config
        .as_ref()
        .is_some_and(|c| c.s3_force_path_style);
    let scheme = SeenScheme::default();
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .interceptor(scheme.clone())
            .build(),
    );

    let block = client.get_public_access_block().bucket(bucket).send().await;
    let anonymous = anonymous_read(sdk, &client, bucket, path_style).await;
    match (block, anonymous) {
        (_, Err(problem)) => report.fail(
            CheckId::BucketPrivate,
            problem,
            fill(hints::BUCKET_PRIVATE, &[("bucket", bucket)]),
        ),
        (Ok(out), Ok(refused)) => {
            let c = out.public_access_block_configuration();
            let all = c.is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
            if all {
                report.pass(
                    CheckId::BucketPrivate,
                    format!("{bucket}: public access blocked; {refused}"),
                );
            } else {
                report.fail(
                    CheckId::BucketPrivate,
                    format!(
                        "{bucket}: not all four Block Public Access settings are on ({refused})"
                    ),
                    fill(hints::BUCKET_PRIVATE, &[("bucket", bucket)]),
                );
            }
        }
        // S3 always answers this; only an S3-compatible store without the feature (the local
        // stack's SeaweedFS) says 501, and then the anonymous read is the whole evidence.
        (Err(e), Ok(refused)) if e.raw_response().is_some_and(|r| r.status().as_u16() == 501) => {
            report.pass(
                CheckId::BucketPrivate,
                format!(
                    "{bucket}: {refused}; this store has no Block Public Access settings (501)"
                ),
            )
        }
        (Err(e), Ok(refused)) => report.fail(
            CheckId::BucketPrivate,
            format!(
                "{bucket}: {refused}, but its Block Public Access settings could not be read: {}",
                ErrorChain(&e)
            ),
            fill(hints::BUCKET_PRIVATE, &[("bucket", bucket)]),
        ),
    }

    let policy = client.get_bucket_policy().bucket(bucket).send().await;
    if scheme.get().as_deref() == Some("http") {
        report.skip(
            CheckId::BucketTls,
            "this store is reached over plain HTTP (a local endpoint): there is no TLS to require",
        );
        return lifecycle(&client, bucket, report).await;
    }
    match policy {
        Ok(out) if denies_plain_http(out.policy().unwrap_or_default()) => report.pass(
            CheckId::BucketTls,
            "its policy denies every request without TLS",
        ),
        Ok(_) => report.fail(
            CheckId::BucketTls,
            "its policy has no Deny for aws:SecureTransport = false",
            hints::BUCKET_DRIFT,
        ),
        Err(e) => report.fail(
            CheckId::BucketTls,
            format!("its policy could not be read: {}", ErrorChain(&e)),
            hints::BUCKET_DRIFT,
        ),
    }

    lifecycle(&client, bucket, report).await;
}

async fn lifecycle(client: &aws_sdk_s3::Client, bucket: &str, report: &mut Report) {
    match client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => {
            let covered = |prefix: &str| {
                out.rules().iter().any(|r| {
                    r.status().as_str() == "Enabled"
                        && r.expiration().and_then(|e| e.days()).is_some_and(|d| d > 0)
                        && rule_prefix(r) == Some(prefix)
                })
            };
            let missing: Vec<&str> = marquee_core::store::KEY_PREFIXES
                .into_iter()
                .filter(|p| !covered(p))
                .collect();
            if missing.is_empty() {
                report.pass(
                    CheckId::BucketLifecycle,
                    format!(
                        "an enabled expiry rule for each of {}",
                        marquee_core::store::KEY_PREFIXES.join(" ")
                    ),
                );
            } else {
                report.fail(
                    CheckId::BucketLifecycle,
                    format!("no enabled expiry rule for {}", missing.join(" ")),
                    hints::BUCKET_DRIFT,
                );
            }
        }
        Err(e) => report.fail(
            CheckId::BucketLifecycle,
            format!("no lifecycle rules could be read: {}", ErrorChain(&e)),
            hints::BUCKET_DRIFT,
        ),
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
/// 403 for it to anyone who may not list the bucket, public objects or not.) `Ok` says what
/// was seen.
async fn anonymous_read(
    sdk: &SdkConfig,
    admin: &aws_sdk_s3::Client,
    bucket: &str,
    path_style: bool,
) -> Result<String, String> {
    // The same region and endpoints as the admin's configuration, but no credentials: the
    // SDK then sends the request unsigned.
    let anonymous = aws_config::defaults(BehaviorVersion::latest())
        .http_client(marquee_core::net::aws_http_client())
        .region(sdk.region().cloned())
        .no_credentials()
        .load()
        .await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&anonymous)
            .force_path_style(path_style)
            .build(),
    );
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
            match client.get_object().bucket(bucket).key(key).send().await {
                Ok(_) => 200,
                Err(e) => e.raw_response().map_or(0, |r| r.status().as_u16()),
            },
        ),
        None => (
            "listing the bucket (no poster to try yet)",
            match client
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
    match status {
        403 => Ok(format!("{tried} without credentials is refused (403)")),
        200 => Err(format!("anyone can succeed at {tried} without credentials")),
        0 => Err(format!("{tried} without credentials got no answer")),
        other => Err(format!(
            "{tried} without credentials answered {other}, not 403"
        )),
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

// --- permissions ---------------------------------------------------------------------------

/// One group of permissions: the actions needed on each resource.
struct Needs {
    check: CheckId,
    what: String,
    pairs: Vec<(String, Vec<String>)>,
    /// Why there is nothing to check, when `pairs` is empty.
    absent: &'static str,
}

async fn permissions(
    sdk: &SdkConfig,
    outputs: &BTreeMap<String, String>,
    function: &Function,
    destination: Option<&str>,
    report: &mut Report,
) {
    let Some(config) = &function.config else {
        report.skip(CheckId::Iam, "needs a valid function configuration");
        return;
    };
    let (partition, region, account) = function.arn_parts();
    let iam = aws_sdk_iam::Client::new(sdk);
    for needs in needed(
        config,
        outputs,
        function,
        destination,
        (&partition, &region, &account),
    ) {
        if needs.pairs.is_empty() {
            report.skip(needs.check.clone(), needs.absent);
            continue;
        }
        let mut denied = Vec::new();
        let mut error = None;
        for (resource, actions) in &needs.pairs {
            let result = iam
                .simulate_principal_policy()
                .policy_source_arn(&function.role)
                .set_action_names(Some(actions.clone()))
                .resource_arns(resource)
                .send()
                .await;
            match result {
                Ok(out) => {
                    for r in out.evaluation_results() {
                        if r.eval_decision().as_str() != "allowed" {
                            denied.push(format!(
                                "{} on {} ({})",
                                r.eval_action_name(),
                                r.eval_resource_name().unwrap_or(resource),
                                r.eval_decision().as_str()
                            ));
                        }
                    }
                }
                Err(e) => {
                    error = Some(format!(
                        "could not simulate the role's policy: {}",
                        ErrorChain(&e)
                    ));
                    break;
                }
            }
        }
        let count: usize = needs.pairs.iter().map(|(_, a)| a.len()).sum();
        match (error, denied.is_empty()) {
            (Some(e), _) => report.fail(needs.check.clone(), e, hints::IAM_SIMULATE),
            (None, true) => report.pass(
                needs.check.clone(),
                format!("{count} action(s) allowed: {}", needs.what),
            ),
            (None, false) => report.fail(
                needs.check.clone(),
                format!("the role may not: {}", denied.join("; ")),
                hints::IAM_DENIED,
            ),
        }
    }
}

/// What the code does with AWS, as (resource, actions) per group, for this configuration.
fn needed(
    config: &Config,
    outputs: &BTreeMap<String, String>,
    function: &Function,
    destination: Option<&str>,
    (partition, region, account): (&str, &str, &str),
) -> Vec<Needs> {
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
            outputs["TableName"]
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

// --- front door and manifest ---------------------------------------------------------------

async fn front_door(
    stack: &str,
    outputs: &BTreeMap<String, String>,
    signing: Option<&Secret>,
    report: &mut Report,
) {
    let url = &outputs["SlashCommandUrl"];
    let vars = [("stack", stack), ("HttpApiUrl", base_url(outputs))];
    let http = match marquee_core::net::client_builder()
        .timeout(HTTP_TIMEOUT)
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            report.fail(CheckId::FrontDoor, format!("no HTTP client: {e}"), "");
            return;
        }
    };
    // A body Slack never sends: whatever the signature, nothing can be started by it.
    let body = "marquee_doctor=1";
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let unsigned = match post(Vec::new()).await {
        Ok(r) => r.status().as_u16(),
        Err(e) => {
            report.fail(
                CheckId::FrontDoor,
                format!("{url} did not answer: {}", ErrorChain(&e.without_url())),
                fill(hints::FRONT_DOOR_UNREACHABLE, &vars),
            );
            return;
        }
    };
    if unsigned != 401 {
        report.fail(
            CheckId::FrontDoor,
            format!("an unsigned request to {url} got {unsigned}, not 401"),
            fill(hints::FRONT_DOOR_NOT_MARQUEE, &vars),
        );
        return;
    }
    let Some(secret) = signing else {
        report.pass(
            CheckId::FrontDoor,
            format!("{url} refuses unsigned requests (401)"),
        );
        return;
    };
    let now = marquee_service::http::system_clock();
    let signature = marquee_core::slack::verify::sign(secret, now, body.as_bytes());
    let signed = post(vec![
        ("x-slack-request-timestamp", now.to_string()),
        ("x-slack-signature", signature),
    ])
    .await
    .map(|r| r.status().as_u16());
    match signed {
        Ok(400) => report.pass(
            CheckId::FrontDoor,
            format!("{url} refuses unsigned requests (401) and accepts the stored signing secret"),
        ),
        Ok(401) => report.fail(
            CheckId::FrontDoor,
            "a request signed with the stored signing secret was refused (401): the running \
             function holds another secret",
            fill(hints::FRONT_DOOR_SECRET, &vars),
        ),
        Ok(other) => report.fail(
            CheckId::FrontDoor,
            format!("a signed request that is not a command got {other}, not 400"),
            fill(hints::FRONT_DOOR_OTHER, &vars),
        ),
        Err(e) => report.fail(
            CheckId::FrontDoor,
            format!(
                "{url} did not answer a signed request: {}",
                ErrorChain(&e.without_url())
            ),
            fill(hints::FRONT_DOOR_OTHER, &vars),
        ),
    }
}

/// The deployment's base URL (the `HttpApiUrl` output), from the slash command's URL.
fn base_url(outputs: &BTreeMap<String, String>) -> &str {
    let command = outputs["SlashCommandUrl"].as_str();
    command.strip_suffix("/slack/commands").unwrap_or(command)
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
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.fail(
                CheckId::Manifest,
                format!("could not read {}: {e}", path.display()),
                fill(hints::MANIFEST_UNREADABLE, &[("stack", &options.stack)]),
            );
            return;
        }
    };
    let urls = marquee_core::slack::manifest::request_urls(&text);
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
    let events = marquee_core::slack::manifest::bot_events(&text);
    for event in
        marquee_core::slack::manifest::bot_events(marquee_core::slack::manifest::MANIFEST_TEMPLATE)
    {
        if !events.contains(&event) {
            let unanswered = match event.as_str() {
                "app_home_opened" => "the Home tab is never published",
                _ => "mentions and direct messages go unanswered",
            };
            wrong.push(format!(
                "it does not subscribe to the {event} event ({unanswered})"
            ));
        }
    }
    if !text.lines().any(|l| l.trim() == "home_tab_enabled: true") {
        wrong.push(
            "its app_home does not set home_tab_enabled: true (Slack refuses to publish the Home tab: not_enabled)"
                .to_owned(),
        );
    }
    let shortcuts = marquee_core::slack::manifest::shortcut_callbacks(&text);
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
        report.pass(
            CheckId::Manifest,
            "its request URLs are this deployment's; events and the shortcut are declared",
        );
    } else {
        report.fail(
            CheckId::Manifest,
            wrong.join("; "),
            fill(hints::MANIFEST_WRONG, &[("HttpApiUrl", base_url(outputs))]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_pasted_from_the_wrong_field_are_named() {
        assert!(signing_secret_problem("8f742231b10e8888abcd99yyyzzz85a5").is_none());
        assert!(
            signing_secret_problem("xoxb-1-2-3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
                .unwrap()
                .contains("token")
        );
        assert!(
            signing_secret_problem("gIkuvaNzQIHg97ATvDxqgjtO")
                .unwrap()
                .contains("Verification Token")
        );
        assert!(signing_secret_problem("").unwrap().contains("empty"));
        assert!(
            bot_token_problem("xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy").is_none()
        );
        assert!(bot_token_problem("xoxp-1-2").unwrap().contains("xoxp-"));
        assert!(bot_token_problem("xoxb-1 2").unwrap().contains("spaces"));
        assert!(link_key_problem("short").is_some());
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

    #[test]
    fn a_tls_only_policy_is_recognised() {
        // The statement template.yaml's PosterBucketPolicy deploys, as S3 returns it.
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert!(denies_plain_http(policy));
        assert!(!denies_plain_http(&policy.replace("Deny", "Allow")));
        assert!(!denies_plain_http("{}"));
        assert!(!denies_plain_http("not json"));
    }
}
