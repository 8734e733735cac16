//! Wiring: builds every client once from a validated [`Config`] and assembles the application.
//!
//! This is the only module that chooses implementations: Bedrock or offline models, S3 or
//! local storage, Lambda self-invocation or in-process dispatch. Binaries call [`build`] and
//! hand the result to the runtime; nothing else constructs AWS clients.
//!
//! The wiring: from a `Config` and a `Mode` (Lambda or local) it builds every client once — AWS SDK
//! config, Secrets Manager look-ups, Bedrock models (one client per region in use: each model is
//! called in its own region, `Config::region_for`), the store, the Slack client, the pipeline and
//! the dispatcher. The only module that chooses implementations.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

use crate::config::{Config, SecretSource, StateConfig, StoreConfig};
use crate::dispatch::{
    Dispatcher, InProcessDispatcher, LambdaDispatcher, NoWorker, QueueError, QueueSettings,
};
use crate::http::{AppState, PublicUrl, RestAuth, system_clock};
use crate::pipeline::{Admins, Approvers, ExternalUsers, Pipeline};
use marquee_core::metrics::Metrics;
use marquee_core::model::bedrock::BedrockModel;
use marquee_core::model::offline::OfflineModel;
use marquee_core::model::{ModelId, Models, Priced};
use marquee_core::quota::{Limits, Prices};
use marquee_core::request::ModelPolicy;
use marquee_core::secret::Secret;
use marquee_core::slack::SlackClient;
use marquee_core::slack::verify::{ReloadSecret, SigningSecret};
use marquee_core::slack::web::WebClient;
use marquee_core::state::StateStore;
use marquee_core::state::dynamo::DynamoState;
use marquee_core::state::local::LocalState;
pub use marquee_core::store::links::LinkKeyError;
use marquee_core::store::local::LocalStore;
use marquee_core::store::s3::S3Store;
use marquee_core::store::{LinkSigner, ObjectStore};

/// Where the process runs, which decides how work is dispatched.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Inside AWS Lambda: jobs are queued as asynchronous invocations.
    Lambda,
    /// A local server: jobs are queued on disk and run in-process; local links point at
    /// `public_url`.
    Local { public_url: String },
    /// A one-shot command (`marquee poster`, `print --id`): it draws or reads, never queues a
    /// job, and leaves a server's queue alone.
    Tool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "not running in Lambda (AWS_LAMBDA_FUNCTION_NAME is unset) and MARQUEE_WORKER_FUNCTION is not set"
    )]
    NoWorkerFunction,
    #[error("could not read secret {arn}")]
    Secret {
        arn: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("secret {arn} has no string value")]
    EmptySecret { arn: String },
    #[error("could not open the local poster directory {dir}")]
    LocalStore {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not open the local state database {path}")]
    LocalState {
        path: String,
        #[source]
        source: marquee_core::state::StateError,
    },
    #[error(
        "poster links need a signing key: set MARQUEE_LINK_KEY_ARN (the template does) or MARQUEE_LINK_KEY"
    )]
    NoLinkKey,
    #[error("the poster link key is not usable")]
    LinkKey(#[from] LinkKeyError),
    #[error("could not build the HTTP client")]
    Http(#[source] reqwest::Error),
    #[error("could not open the job queue")]
    Queue(#[from] QueueError),
}

/// The assembled application.
pub struct App {
    pub state: AppState,
    pub pipeline: Arc<Pipeline>,
    /// Present in local mode, so a server can wait for running jobs before it exits.
    pub in_process: Option<InProcessDispatcher>,
}

/// Whether `config` needs the AWS SDK's shared configuration at all.
fn needs_aws(config: &Config, mode: &Mode) -> bool {
    matches!(mode, Mode::Lambda)
        || config.uses_bedrock()
        || matches!(config.store, StoreConfig::S3 { .. })
        || matches!(config.state, StateConfig::Dynamo { .. })
        || matches!(
            config.signing_secret,
            Some(SecretSource::SecretsManager { .. })
        )
        || matches!(config.bot_token, Some(SecretSource::SecretsManager { .. }))
        || matches!(config.link_key, Some(SecretSource::SecretsManager { .. }))
}

async fn resolve(
    source: &Option<SecretSource>,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<Option<Secret>, StartError> {
    match source {
        None => Ok(None),
        Some(SecretSource::Value(s)) => Ok(Some(s.clone())),
        Some(SecretSource::SecretsManager { arn }) => {
            let Some(sdk) = sdk else {
                unreachable!("needs_aws is true whenever a secret comes from Secrets Manager")
            };
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            let out = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| StartError::Secret {
                    arn: arn.clone(),
                    source: Box::new(e),
                })?;
            let value = out
                .secret_string()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| StartError::EmptySecret { arn: arn.clone() })?;
            Ok(Some(Secret::new(value)))
        }
    }
}

/// The signing secret as kept in Secrets Manager, read again after a rotation (see
/// [`SigningSecret`]).
struct StoredSigningSecret {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
}

#[async_trait::async_trait]
impl ReloadSecret for StoredSigningSecret {
    async fn reload(&self) -> Option<Secret> {
        match self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
            .send()
            .await
        {
            Ok(out) => out
                .secret_string()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            Err(e) => {
                tracing::warn!(error = %marquee_core::errors::ErrorChain(&e), "could not read the Slack signing secret again");
                None
            }
        }
    }
}

/// The front door's signing secret: read again from Secrets Manager when a signature does not
/// match, so a rotated secret is used without restarting the function.
fn front_door_secret(
    config: &Config,
    secret: Option<Secret>,
    sdk: Option<&aws_config::SdkConfig>,
) -> Option<SigningSecret> {
    let secret = secret?;
    Some(match (&config.signing_secret, sdk) {
        (Some(SecretSource::SecretsManager { arn }), Some(sdk)) => SigningSecret::reloading(
            secret,
            Arc::new(StoredSigningSecret {
                client: aws_sdk_secretsmanager::Client::new(sdk),
                arn: arn.clone(),
            }),
        ),
        _ => secret.into(),
    })
}

/// Builds the application for `mode` from `config`.
pub async fn build(config: &Config, mode: Mode) -> Result<App, StartError> {
    // Read on first use of a script, never here: a Latin poster's cold start reads no font.
    marquee_core::poster::use_fonts_dir(&config.fonts_dir);
    let sdk = if needs_aws(config, &mode) {
        Some(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(marquee_core::net::aws_http_client())
                .load()
                .await,
        )
    } else {
        None
    };

    // Secrets are read once per process (a Lambda cold start) and kept in memory.
    let signing_secret = resolve(&config.signing_secret, sdk.as_ref()).await?;
    // A bot token only adds threads and uploads; without it everything still works through
    // response_urls, so a token that cannot be read (not stored yet, say) degrades instead of
    // taking the whole app down.
    let bot_token = match resolve(&config.bot_token, sdk.as_ref()).await {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not read the Slack bot token; continuing without threads and uploads");
            None
        }
    };

    let mut models = Models::new().with(ModelId::Offline, Arc::new(OfflineModel));
    if let Some(sdk) = sdk.as_ref().filter(|_| config.uses_bedrock()) {
        // One client per region in use: Bedrock serves each model only in some regions, so a
        // deployment whose models live in two regions calls two regional endpoints. Clients
        // are cheap to clone and share one HTTP connector.
        //
        // Timeouts: each call is bounded by its own time from the catalog
        // (`Config::call_timeout`), enforced in `BedrockModel`. The SDK adds none of its own
        // beyond aws-config's default connect timeout (3.1 s; no read, attempt or operation
        // timeout is set for this client), and its retries are off: a call Marquee stops
        // waiting for is finished and billed by Bedrock, so nothing here may send it again.
        let mut clients: HashMap<String, aws_sdk_bedrockruntime::Client> = HashMap::new();
        let mut client_for = |region: &str| {
            clients
                .entry(region.to_owned())
                .or_insert_with(|| {
                    let conf = aws_sdk_bedrockruntime::config::Builder::from(sdk)
                        .region(aws_config::Region::new(region.to_owned()))
                        // The pipeline owns the retry policy for model calls (with the user's
                        // deadline in view, and never after a timeout), so the SDK does not
                        // retry on its own.
                        .retry_config(RetryConfig::disabled())
                        .build();
                    aws_sdk_bedrockruntime::Client::from_conf(conf)
                })
                .clone()
        };
        // Only offered models are configured (`config` refuses retired ones); the check here
        // keeps a retired model from ever being called, whatever built the configuration.
        for (id, region) in config
            .model_regions
            .iter()
            .filter(|(id, _)| id.is_offered())
        {
            let client = client_for(region);
            models = models.with(
                *id,
                Arc::new(BedrockModel::new(
                    client,
                    region.clone(),
                    *id,
                    config.call_timeout(Priced::Model(*id)),
                )),
            );
        }
        // Stability's image services, through the Stability family's regional client; an
        // upscale to about 4K gets the longer time the catalog gives it.
        let region = config.service_region();
        for service in config.services() {
            let client = client_for(region);
            let timeout = config.call_timeout(Priced::Service(service));
            models = models.with_service(
                service,
                Arc::new(BedrockModel::service(client, region, service, timeout)),
            );
        }
    }

    let store: Arc<dyn ObjectStore> = match (&config.store, sdk.as_ref()) {
        (StoreConfig::S3 { bucket }, Some(sdk)) => {
            let s3 = aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(config.s3_force_path_style)
                .build();
            Arc::new(S3Store::new(
                aws_sdk_s3::Client::from_conf(s3),
                bucket.clone(),
            ))
        }
        (StoreConfig::S3 { .. }, None) => unreachable!("needs_aws is true for an S3 store"),
        // References expire as the bucket's `expire-refs` rule expires them in AWS.
        (StoreConfig::Local { dir }, _) => Arc::new(
            LocalStore::open(dir)
                .and_then(|store| store.with_retention(config.retention))
                .map_err(|source| StartError::LocalStore {
                    dir: dir.display().to_string(),
                    source,
                })?,
        ),
    };
    let state: Arc<dyn StateStore> = match (&config.state, sdk.as_ref()) {
        (StateConfig::Dynamo { table }, Some(sdk)) => Arc::new(DynamoState::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table.clone(),
        )),
        (StateConfig::Dynamo { .. }, None) => {
            unreachable!("needs_aws is true for a DynamoDB table")
        }
        (StateConfig::Local { path }, _) => {
            let failed = |source| StartError::LocalState {
                path: path.display().to_string(),
                source,
            };
            let local = LocalState::open(path).map_err(failed)?;
            // Earlier versions kept one JSON file per item in the data directory's
            // `state/`: a server upgraded in place keeps its approvals, records, history
            // and quotas.
            if let Some(old) = path.parent().map(|dir| dir.join("state")) {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let imported = local.import_files(&old, now).await.map_err(failed)?;
                if imported > 0 {
                    tracing::info!(
                        imported,
                        from = %old.display(),
                        "imported the earlier state directory into the state database"
                    );
                }
            }
            Arc::new(local)
        }
    };
    let links = match (
        resolve(&config.link_key, sdk.as_ref()).await?,
        &config.store,
    ) {
        (Some(key), _) => LinkSigner::new(key)?,
        (None, StoreConfig::Local { dir }) => LinkSigner::from_dir(dir)?,
        (None, StoreConfig::S3 { .. }) => return Err(StartError::NoLinkKey),
    };
    let public_url = match (&config.public_url, &mode) {
        (Some(url), _) => PublicUrl::Fixed(url.clone()),
        (None, Mode::Local { public_url }) => PublicUrl::Fixed(public_url.clone()),
        (None, Mode::Tool) => PublicUrl::Fixed("http://127.0.0.1".into()),
        (None, Mode::Lambda) => PublicUrl::FromRequest,
    };

    let http = marquee_core::slack::client::http_client().map_err(StartError::Http)?;
    let slack = SlackClient::new(http.clone(), &config.response_url_hosts);
    let fixed_url = match &public_url {
        PublicUrl::Fixed(url) => Some(url.clone()),
        PublicUrl::FromRequest => None,
    };
    let mut pipeline = Pipeline::new(
        models,
        Arc::clone(&store),
        state,
        slack,
        links.clone(),
        config.link_ttl,
    )
    .with_public_url(fixed_url)
    .with_retention(config.retention)
    .with_limits(limits(config))
    .with_print_upscaler(config.print_upscaler)
    .with_formats(config.formats.clone())
    .with_approvers(match &config.approvers {
        None => Approvers::AnyoneButRequester,
        Some(ids) if ids.is_empty() => Approvers::Anyone,
        Some(ids) => Approvers::Only(ids.clone()),
    })
    .with_admins(Admins::new(config.admins.clone()))
    .with_external_users(if config.external_users_full {
        ExternalUsers::Full
    } else {
        ExternalUsers::ViewOnly
    })
    .with_metrics(metrics(config, &mode));
    if let Some(token) = bot_token {
        pipeline = pipeline
            .with_files(marquee_core::slack::files::FileFetcher::new(
                http.clone(),
                &config.slack_file_hosts,
                token.clone(),
            ))
            .with_web(WebClient::new(http, &config.slack_api_url, token));
    }
    let pipeline = Arc::new(pipeline);

    let mut in_process = None;
    let dispatcher: Arc<dyn Dispatcher> = match (&mode, sdk.as_ref()) {
        (Mode::Lambda, Some(sdk)) => {
            let function = config
                .worker_function
                .clone()
                .or_else(|| config.lambda_function_name.clone())
                .ok_or(StartError::NoWorkerFunction)?;
            Arc::new(LambdaDispatcher::new(
                aws_sdk_lambda::Client::new(sdk),
                function,
            ))
        }
        (Mode::Lambda, None) => unreachable!("needs_aws is true in Lambda"),
        (Mode::Local { .. }, _) => {
            let d = InProcessDispatcher::open(
                Arc::clone(&pipeline),
                &config.queue.path,
                QueueSettings {
                    limit: config.queue.limit,
                    slots: config.queue.slots,
                },
            )?;
            tracing::info!(
                limit = config.queue.limit,
                slots = config.queue.slots,
                "job queue open"
            );
            in_process = Some(d.clone());
            Arc::new(d)
        }
        (Mode::Tool, _) => Arc::new(NoWorker),
    };

    let state = AppState {
        signing_secret: front_door_secret(config, signing_secret, sdk.as_ref()),
        policy: ModelPolicy {
            default: config.default_model,
            allowed: config.allowed_models.clone(),
        },
        records: pipeline.records().clone(),
        delivery: pipeline.delivery().clone(),
        pipeline: Arc::clone(&pipeline),
        dispatcher,
        store,
        links,
        public_url,
        clock: system_clock,
        rest_auth: match (&mode, &config.api_token) {
            (Mode::Lambda, _) => RestAuth::Iam,
            (Mode::Local { .. }, Some(token)) => RestAuth::Bearer(token.clone()),
            // A one-shot command serves no door.
            (Mode::Local { .. }, None) | (Mode::Tool, _) => RestAuth::Off,
        },
    };
    Ok(App {
        state,
        pipeline,
        in_process,
    })
}

/// Where metrics go: EMF lines on stdout in Lambda (CloudWatch Logs extracts them), named by
/// the function; nowhere locally, where they would only clutter the terminal.
fn metrics(config: &Config, mode: &Mode) -> Metrics {
    match mode {
        Mode::Lambda => {
            Metrics::to_stdout(config.lambda_function_name.as_deref().unwrap_or("marquee"))
        }
        Mode::Local { .. } | Mode::Tool => Metrics::off(),
    }
}

/// The limits and prices posters are metered against, as configured.
pub fn limits(config: &Config) -> Limits {
    let prices = config.service_prices.iter().fold(
        Prices::from(config.model_prices.clone()),
        |prices, (service, micros)| prices.with_service(*service, *micros),
    );
    Limits {
        user_daily: config.user_daily_limit,
        channel_daily: config.channel_daily_limit,
        monthly_budget_micros: config.monthly_budget_micros,
        prices,
    }
}

/// Sets up `tracing`: JSON lines in Lambda (CloudWatch parses them), readable text locally.
///
/// `filter` is a list of `target=level` directives and at most one bare default level
/// (`info`, `marquee=debug,warn`), as `MARQUEE_LOG` documents; one that does not parse means
/// `info`. Span and field filters (`EnvFilter`'s regular expressions) are not offered: they
/// would bring a regex engine into the function for a debugging nicety.
pub fn init_tracing(filter: &str, json: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let targets = log_filter(filter);
    let builder = tracing_subscriber::fmt().with_target(false);
    // A second initialisation (tests, repeated calls) is harmless: keep the first.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .without_time()
            .finish()
            .with(targets)
            .try_init()
    } else {
        builder
            .with_writer(std::io::stderr)
            .finish()
            .with(targets)
            .try_init()
    };
}

/// `MARQUEE_LOG`'s directives, or `info` when they do not parse.
fn log_filter(directives: &str) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    directives
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::log_filter;
    use tracing::Level;

    #[test]
    fn log_directives_set_levels_per_target_with_info_for_nonsense() {
        // `marquee` is a prefix of every crate's target: the directive README shows covers the
        // whole workspace (targets are module paths: marquee_service::pipeline, ...).
        let filter = log_filter("marquee=debug,warn");
        for target in [
            "marquee::cli",
            "marquee_service::pipeline",
            "marquee_core::slack::web",
        ] {
            assert!(filter.would_enable(target, &Level::DEBUG), "{target}");
            assert!(!filter.would_enable(target, &Level::TRACE), "{target}");
        }
        assert!(filter.would_enable("aws_smithy_runtime", &Level::WARN));
        assert!(!filter.would_enable("aws_smithy_runtime", &Level::INFO));

        let fallback = log_filter("marquee=[{loud}]");
        assert!(fallback.would_enable("marquee", &Level::INFO));
        assert!(!fallback.would_enable("marquee", &Level::DEBUG));
    }
}
