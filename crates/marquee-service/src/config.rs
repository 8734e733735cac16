//! Typed configuration, read once at start.
//!
//! Every environment variable Marquee understands is read here, in one pass, into a validated
//! [`Config`]; nothing else in the crate calls `std::env::var`. [`Config::from_lookup`] takes the
//! lookup as a function so tests never touch the process environment. The AWS SDK's own
//! variables (`AWS_REGION`, `AWS_ENDPOINT_URL_*`, credentials) are left to the SDK's loader.
//!
//! This module knows the *names* of things (models, buckets, secrets) but not how to use them.
//!
//! Reads every environment variable once into a validated `Config` (`Config::from_lookup` keeps
//! tests off the process environment). `ENV_VARS` lists the names; the template is tested against
//! it. Secrets arrive as values or Secrets Manager ARNs (`SecretSource`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use marquee_core::model::{Family, ModelId, Priced, Service, Upscaler};
use marquee_core::secret::Secret;

/// The names of every variable [`Config::from_lookup`] reads. The deployment template and its
/// drift test are checked against this list.
pub const ENV_VARS: &[&str] = &[
    "SLACK_SIGNING_SECRET",
    "SLACK_SIGNING_SECRET_ARN",
    "SLACK_BOT_TOKEN",
    "SLACK_BOT_TOKEN_ARN",
    "SLACK_API_URL",
    "MARQUEE_LINK_KEY",
    "MARQUEE_LINK_KEY_ARN",
    "MARQUEE_MODEL",
    "MARQUEE_ALLOWED_MODELS",
    "MARQUEE_MODEL_REGIONS",
    "MARQUEE_BEDROCK_REGION",
    "MARQUEE_BUCKET",
    "MARQUEE_S3_FORCE_PATH_STYLE",
    "MARQUEE_DATA_DIR",
    "MARQUEE_TABLE",
    "MARQUEE_RETENTION_DAYS",
    "MARQUEE_APPROVERS",
    "MARQUEE_ADMINS",
    "MARQUEE_EXTERNAL_USERS",
    "MARQUEE_API_TOKEN",
    "MARQUEE_USER_DAILY_LIMIT",
    "MARQUEE_CHANNEL_DAILY_LIMIT",
    "MARQUEE_MONTHLY_BUDGET_USD",
    "MARQUEE_MODEL_PRICES",
    "MARQUEE_IMAGE_SERVICES",
    "MARQUEE_PRINT_UPSCALER",
    "MARQUEE_FORMATS",
    "MARQUEE_PUBLIC_URL",
    "MARQUEE_LINK_TTL",
    "MARQUEE_RESPONSE_URL_HOSTS",
    "MARQUEE_SLACK_FILE_HOSTS",
    "MARQUEE_MODEL_TIMEOUT",
    "MARQUEE_WORKER_FUNCTION",
    "MARQUEE_LOG",
    "MARQUEE_FONTS_DIR",
    "MARQUEE_QUEUE_LIMIT",
    "MARQUEE_RENDER_SLOTS",
];

/// The shortest `MARQUEE_API_TOKEN` accepted: a token anyone could guess opens Bedrock on
/// the admin's account.
const MIN_API_TOKEN: usize = 32;

/// Where the script fonts are unless `MARQUEE_FONTS_DIR` says otherwise: the Lambda layer's
/// `fonts/` folder, which Lambda extracts under `/opt`.
const DEFAULT_FONTS_DIR: &str = "/opt/fonts";

/// The script fonts' directory, for commands that need nothing else from the environment.
pub fn fonts_dir() -> PathBuf {
    fonts_dir_from(|name| std::env::var(name).ok())
}

fn fonts_dir_from(lookup: impl Fn(&str) -> Option<String>) -> PathBuf {
    lookup("MARQUEE_FONTS_DIR")
        .filter(|d| !d.trim().is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_FONTS_DIR), PathBuf::from)
}

/// The production Slack Web API base, used with a bot token unless `SLACK_API_URL` says
/// otherwise.
const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// The longest a poster link may live. Links are Marquee's own (not presigned), so this is a
/// product limit: a week covers any review cycle without making posters permanent URLs.
const MAX_LINK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long links live unless configured otherwise.
const DEFAULT_LINK_TTL: Duration = Duration::from_secs(24 * 3600);

/// Where a Slack secret comes from: the environment (local use) or AWS Secrets Manager (the
/// deployed template, which never puts secret values into function configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Value(Secret),
    SecretsManager { arn: String },
}

/// Where posters are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// A private S3 bucket (the endpoint comes from the SDK's configuration).
    S3 { bucket: String },
    /// Files under a directory, served by Marquee itself behind signed, expiring links.
    Local { dir: PathBuf },
}

/// The local server's job queue (`marquee serve`; Lambda queues jobs in Lambda).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueConfig {
    /// The SQLite file: `jobs.sqlite3` in the data directory.
    pub(crate) path: PathBuf,
    /// How many accepted jobs may wait (`MARQUEE_QUEUE_LIMIT`); beyond it, requests are told
    /// Marquee is busy.
    pub(crate) limit: u64,
    /// How many jobs run at once (`MARQUEE_RENDER_SLOTS`).
    pub(crate) slots: usize,
}

/// The machine's cores and memory, which the queue's defaults are derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Machine {
    pub(crate) cores: usize,
    /// Total memory in MiB, when the system says (Linux's `/proc/meminfo`).
    pub(crate) memory_mib: Option<u64>,
}

impl Machine {
    /// This machine.
    pub(crate) fn this() -> Self {
        let memory_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kib| kib / 1024);
        Machine {
            cores: std::thread::available_parallelism().map_or(2, |n| n.get()),
            memory_mib,
        }
    }

    /// Render slots unless configured: two jobs per core (a job waits on Bedrock, the store or
    /// Slack part of the time; offline drawing and composing are bounded by cores anyway),
    /// and no more than one per 256 MiB of memory (a print job peaks near 150 MB), at least one.
    pub(crate) fn default_slots(self) -> usize {
        let by_memory = self.memory_mib.map_or(usize::MAX, |m| {
            usize::try_from(m / 256).unwrap_or(usize::MAX)
        });
        (self.cores * 2).min(by_memory).max(1)
    }
}

/// Queued jobs per render slot unless `MARQUEE_QUEUE_LIMIT` says: at a Bedrock poster's
/// ~15 s a slot, what the slots finish within a `response_url`'s 30 minutes.
const QUEUE_PER_SLOT: u64 = 100;

/// Where durable state (run markers, locks, records, approvals, quotas) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    /// A DynamoDB table (the endpoint comes from the SDK's configuration).
    Dynamo { table: String },
    /// An embedded SQLite database: `state.sqlite3` in the data directory.
    Local { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Slack's signing secret. `None` only for commands that never verify Slack requests.
    pub signing_secret: Option<SecretSource>,
    pub bot_token: Option<SecretSource>,
    /// The key that signs poster links. `None`: a local store keeps a generated key in its
    /// directory; an S3 store cannot start without one.
    pub link_key: Option<SecretSource>,
    /// The Slack Web API base, used only with a bot token.
    pub slack_api_url: String,
    /// The model used when a request names none.
    pub default_model: ModelId,
    /// The models users may choose with `--model` (always includes the default).
    pub allowed_models: Vec<ModelId>,
    /// The Bedrock region of every allowed Bedrock model (the offline model has none). Bedrock
    /// serves each model only in some regions, and no one region serves every model Marquee
    /// knows, so each model is called in its own: see [`Config::region_for`].
    pub model_regions: BTreeMap<ModelId, String>,
    pub store: StoreConfig,
    pub state: StateConfig,
    /// How long posters, and so their records, are kept (the bucket's lifecycle rule).
    pub(crate) retention: Duration,
    /// Who may approve: `None` for anyone but the requester, `Some(empty)` for anyone,
    /// otherwise these Slack user ids and user group ids.
    pub(crate) approvers: Option<Vec<String>>,
    /// Slack user ids (`U…`, `W…`) who may change the workspace's brand kit besides the
    /// workspace's own admins and owners (`MARQUEE_ADMINS`); empty by default.
    pub(crate) admins: Vec<String>,
    /// Whether people from outside the installation (Slack Connect) may do everything members
    /// may (`MARQUEE_EXTERNAL_USERS=full`) rather than only look (`view-only`, the default).
    pub(crate) external_users_full: bool,
    /// The bearer token `marquee serve`'s REST door requires (`MARQUEE_API_TOKEN`); without
    /// one the door is off. Lambda ignores it: there the door requires IAM auth.
    pub(crate) api_token: Option<Secret>,
    /// Metered posters one person may start per UTC day; `None` is unlimited.
    pub(crate) user_daily_limit: Option<i64>,
    /// Metered posters one channel may get per UTC day; `None` is unlimited.
    pub(crate) channel_daily_limit: Option<i64>,
    /// The workspace's spend ceiling per calendar month, in micro-dollars; `None` is unlimited.
    pub(crate) monthly_budget_micros: Option<i64>,
    /// Prices per poster in micro-dollars that replace the models' list prices.
    pub(crate) model_prices: BTreeMap<ModelId, i64>,
    /// Prices per call of Stability's image services that replace their list prices (named
    /// in `MARQUEE_MODEL_PRICES` by their short names, `upscale-creative=0.60`).
    pub(crate) service_prices: BTreeMap<Service, i64>,
    /// Whether Stability's image services may be called (`MARQUEE_IMAGE_SERVICES`, default
    /// on): Search and Replace changes details of art Stability's models drew.
    pub(crate) image_services: bool,
    /// The upscaler prints use (`MARQUEE_PRINT_UPSCALER`); `None`, the default, resamples
    /// only, so prints cost nothing beyond the poster.
    pub(crate) print_upscaler: Option<Upscaler>,
    /// The formats Formats… offers (`MARQUEE_FORMATS`, a comma-separated list of names or
    /// ratios); every format when unset or empty.
    pub(crate) formats: Vec<marquee_core::poster::Format>,
    /// The region Stability's image services are called in: the Stability family's region.
    pub(crate) service_region: String,
    /// Path-style S3 addressing, for S3-compatible stores reached through a custom endpoint.
    pub s3_force_path_style: bool,
    /// The base URL under which poster links are served (`{public_url}/files/...`). `None` in
    /// Lambda: the front door takes it from the request that reached it.
    pub(crate) public_url: Option<String>,
    pub(crate) link_ttl: Duration,
    /// Hosts whose `response_url`s Marquee will POST to.
    pub response_url_hosts: Vec<String>,
    /// `MARQUEE_SLACK_FILE_HOSTS`: the only origins an uploaded picture is downloaded from, with
    /// the bot token (`files.slack.com` by default; a stand-in's origin in tests).
    pub slack_file_hosts: Vec<String>,
    /// `MARQUEE_MODEL_TIMEOUT`: how long a drawing call may take before it is abandoned, in
    /// place of each model's own time from the catalog ([`Config::call_timeout`]).
    pub(crate) model_timeout: Option<Duration>,
    /// The function the front door invokes for work; defaults to the running function itself.
    pub worker_function: Option<String>,
    /// Set by the Lambda runtime (`AWS_LAMBDA_FUNCTION_NAME`); `None` outside Lambda.
    pub(crate) lambda_function_name: Option<String>,
    /// A `tracing` filter directive; `None` leaves the choice to the binary.
    pub log: Option<String>,
    /// The script fonts (`MARQUEE_FONTS_DIR`, default `/opt/fonts`: the fonts layer).
    pub(crate) fonts_dir: PathBuf,
    /// The local server's job queue.
    pub(crate) queue: QueueConfig,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} is set but empty")]
    Empty { name: &'static str },
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("{a} and {b} are both set; set only one")]
    Conflict { a: &'static str, b: &'static str },
    #[error("{name} must be set: {why}")]
    Required {
        name: &'static str,
        why: &'static str,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, validating every value; defaults that depend on
    /// the machine are this machine's.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::for_machine(lookup, Machine::this())
    }

    /// [`Config::from_lookup`] on `machine`.
    pub(crate) fn for_machine(
        lookup: impl Fn(&str) -> Option<String>,
        machine: Machine,
    ) -> Result<Self, ConfigError> {
        let get = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { name }),
                Some(v) => Ok(Some(v.trim().to_owned())),
            }
        };
        let secret = |value: &'static str, arn: &'static str| -> Result<_, ConfigError> {
            match (get(value)?, get(arn)?) {
                (Some(_), Some(_)) => Err(ConfigError::Conflict { a: value, b: arn }),
                (Some(v), None) => Ok(Some(SecretSource::Value(Secret::new(v)))),
                (None, Some(arn)) => Ok(Some(SecretSource::SecretsManager { arn })),
                (None, None) => Ok(None),
            }
        };

        let default_model = match get("MARQUEE_MODEL")? {
            Some(v) => offered_model("MARQUEE_MODEL", &v)?,
            None => ModelId::Offline,
        };
        let mut allowed_models = match get("MARQUEE_ALLOWED_MODELS")? {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| offered_model("MARQUEE_ALLOWED_MODELS", s))
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![],
        };
        if !allowed_models.contains(&default_model) {
            allowed_models.insert(0, default_model);
        }

        let store = match (get("MARQUEE_BUCKET")?, get("MARQUEE_DATA_DIR")?) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict {
                    a: "MARQUEE_BUCKET",
                    b: "MARQUEE_DATA_DIR",
                });
            }
            (Some(bucket), None) => StoreConfig::S3 { bucket },
            (None, dir) => StoreConfig::Local {
                dir: PathBuf::from(dir.unwrap_or_else(|| "marquee-data".to_owned())),
            },
        };

        let state = match (get("MARQUEE_TABLE")?, &store) {
            (Some(table), _) => StateConfig::Dynamo { table },
            (None, StoreConfig::Local { dir }) => StateConfig::Local {
                path: dir.join("state.sqlite3"),
            },
            (None, StoreConfig::S3 { .. }) => {
                return Err(ConfigError::Required {
                    name: "MARQUEE_TABLE",
                    why: "a deployment that keeps posters in S3 keeps its state (run markers, approvals, quotas) in DynamoDB",
                });
            }
        };

        let retention = match get("MARQUEE_RETENTION_DAYS")? {
            Some(v) => match v.parse::<u64>() {
                Ok(days @ 1..=3650) => Duration::from_secs(days * 24 * 3600),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MARQUEE_RETENTION_DAYS",
                        value: v,
                        reason: "a whole number of days from 1 to 3650".into(),
                    });
                }
            },
            None => Duration::from_secs(30 * 24 * 3600),
        };

        let approvers = match get("MARQUEE_APPROVERS")? {
            None => None,
            Some(v) if v.trim().eq_ignore_ascii_case("anyone") => Some(Vec::new()),
            Some(v) if v.trim().eq_ignore_ascii_case("anyone-but-requester") => None,
            Some(v) => {
                let ids: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                // Slack user ids (U or W) and user group ids (S), then upper-case letters
                // and digits.
                let valid = |id: &String| {
                    id.len() >= 3
                        && id.starts_with(['U', 'W', 'S'])
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                };
                if ids.is_empty() || !ids.iter().all(valid) {
                    return Err(ConfigError::Invalid {
                        name: "MARQUEE_APPROVERS",
                        value: v,
                        reason: "`anyone`, `anyone-but-requester`, or Slack user ids (U…) and user group ids (S…) separated by commas".into(),
                    });
                }
                Some(ids)
            }
        };

        // Empty, as the template passes an unset parameter: nobody beyond Slack's own admins.
        let admins = match lookup("MARQUEE_ADMINS").filter(|v| !v.trim().is_empty()) {
            None => Vec::new(),
            Some(v) => {
                let ids: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let valid = |id: &String| {
                    id.len() >= 3
                        && id.starts_with(['U', 'W'])
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                };
                if !ids.iter().all(valid) {
                    return Err(ConfigError::Invalid {
                        name: "MARQUEE_ADMINS",
                        value: v,
                        reason: "Slack user ids (U… or W…) separated by commas".into(),
                    });
                }
                ids
            }
        };

        // Empty is unset, as the template passes it when the admin leaves the default.
        let formats = match lookup("MARQUEE_FORMATS").filter(|v| !v.trim().is_empty()) {
            None => marquee_core::job::every_format(),
            Some(v) => marquee_core::poster::Format::parse_list(&v).map_err(|reason| {
                ConfigError::Invalid {
                    name: "MARQUEE_FORMATS",
                    value: v.clone(),
                    reason,
                }
            })?,
        };
        let external_users_full = match get("MARQUEE_EXTERNAL_USERS")? {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("view-only") => false,
            Some(v) if v.eq_ignore_ascii_case("full") => true,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "MARQUEE_EXTERNAL_USERS",
                    value: v,
                    reason: "`view-only` (people from other organisations only look) or `full`"
                        .into(),
                });
            }
        };
        let api_token = match get("MARQUEE_API_TOKEN")? {
            Some(v) if v.len() < MIN_API_TOKEN => {
                return Err(ConfigError::Invalid {
                    name: "MARQUEE_API_TOKEN",
                    value: format!("<{} characters>", v.len()),
                    reason: format!(
                        "at least {MIN_API_TOKEN} characters (e.g. `openssl rand -hex 32`)"
                    ),
                });
            }
            v => v.map(Secret::new),
        };

        // The template passes every quota parameter through, empty when the admin set none,
        // so for these an empty value means "unlimited" rather than a mistake.
        let quota = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let user_daily_limit = quota("MARQUEE_USER_DAILY_LIMIT")
            .map(|v| parse_count("MARQUEE_USER_DAILY_LIMIT", &v))
            .transpose()?;
        let channel_daily_limit = quota("MARQUEE_CHANNEL_DAILY_LIMIT")
            .map(|v| parse_count("MARQUEE_CHANNEL_DAILY_LIMIT", &v))
            .transpose()?;
        let monthly_budget_micros = quota("MARQUEE_MONTHLY_BUDGET_USD")
            .map(|v| parse_usd("MARQUEE_MONTHLY_BUDGET_USD", &v))
            .transpose()?;
        let (model_prices, service_prices) =
            model_prices(quota("MARQUEE_MODEL_PRICES").as_deref())?;
        let image_services = match quota("MARQUEE_IMAGE_SERVICES").as_deref().map(str::trim) {
            None | Some("on" | "true" | "1" | "yes") => true,
            Some("off" | "false" | "0" | "no") => false,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "MARQUEE_IMAGE_SERVICES",
                    value: other.to_owned(),
                    reason: "expected on or off".into(),
                });
            }
        };
        // The template passes the parameter through; `none` (or empty) resamples only.
        let print_upscaler = match quota("MARQUEE_PRINT_UPSCALER").as_deref().map(str::trim) {
            None | Some("none") => None,
            Some(v) => Some(Upscaler::parse(v).ok_or_else(|| ConfigError::Invalid {
                name: "MARQUEE_PRINT_UPSCALER",
                value: v.to_owned(),
                reason: "expected conservative, creative or none".into(),
            })?),
        };
        if print_upscaler.is_some() && !image_services {
            return Err(ConfigError::Conflict {
                a: "MARQUEE_PRINT_UPSCALER",
                b: "MARQUEE_IMAGE_SERVICES=off",
            });
        }

        let public_url = get("MARQUEE_PUBLIC_URL")?
            .map(|v| {
                let parsed = url::Url::parse(&v).map_err(|e| ConfigError::Invalid {
                    name: "MARQUEE_PUBLIC_URL",
                    value: v.clone(),
                    reason: e.to_string(),
                })?;
                Ok(parsed.as_str().trim_end_matches('/').to_owned())
            })
            .transpose()?;

        let link_ttl = match get("MARQUEE_LINK_TTL")? {
            Some(v) => {
                let ttl = parse_duration("MARQUEE_LINK_TTL", &v)?;
                if ttl > MAX_LINK_TTL || ttl < Duration::from_secs(60) {
                    return Err(ConfigError::Invalid {
                        name: "MARQUEE_LINK_TTL",
                        value: v,
                        reason: "links must live between 1 minute and 7 days".into(),
                    });
                }
                ttl
            }
            None => DEFAULT_LINK_TTL,
        };

        let response_url_hosts = match get("MARQUEE_RESPONSE_URL_HOSTS")? {
            Some(v) => v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            None => vec!["hooks.slack.com".to_owned()],
        };
        let slack_file_hosts = match get("MARQUEE_SLACK_FILE_HOSTS")? {
            Some(v) => v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            None => vec!["files.slack.com".to_owned()],
        };

        let s3_force_path_style = match get("MARQUEE_S3_FORCE_PATH_STYLE")?.as_deref() {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "MARQUEE_S3_FORCE_PATH_STYLE",
                    value: other.to_owned(),
                    reason: "expected true or false".into(),
                });
            }
        };

        let model_timeout = match get("MARQUEE_MODEL_TIMEOUT")? {
            Some(v) => Some(parse_duration("MARQUEE_MODEL_TIMEOUT", &v)?),
            None => None,
        };

        let (model_regions, service_region) = model_regions(
            &allowed_models,
            get("MARQUEE_MODEL_REGIONS")?.as_deref(),
            get("MARQUEE_BEDROCK_REGION")?.as_deref(),
        )?;
        // The services are reached through their `us.` inference profile, which only US
        // regions serve: an upscaler the admin chose must be reachable.
        if print_upscaler.is_some() && !Service::PROFILE_REGIONS.contains(&service_region.as_str())
        {
            return Err(ConfigError::Invalid {
                name: "MARQUEE_PRINT_UPSCALER",
                value: format!("{print_upscaler:?}"),
                reason: format!(
                    "Stability's image services are served through a US inference profile, \
                     but the Stability region is {service_region}; use one of {}",
                    Service::PROFILE_REGIONS.join(", ")
                ),
            });
        }

        let slots = match get("MARQUEE_RENDER_SLOTS")? {
            Some(v) => match v.parse::<usize>() {
                Ok(n @ 1..=256) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MARQUEE_RENDER_SLOTS",
                        value: v,
                        reason: "a whole number of jobs run at once, from 1 to 256".into(),
                    });
                }
            },
            None => machine.default_slots(),
        };
        let limit = match get("MARQUEE_QUEUE_LIMIT")? {
            Some(v) => match v.parse::<u64>() {
                Ok(n @ 1..=1_000_000) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MARQUEE_QUEUE_LIMIT",
                        value: v,
                        reason: "a whole number of waiting jobs, from 1 to 1000000".into(),
                    });
                }
            },
            None => QUEUE_PER_SLOT * slots as u64,
        };
        let queue = QueueConfig {
            path: match &store {
                StoreConfig::Local { dir } => dir.join("jobs.sqlite3"),
                // A local server over S3 keeps its queue where a local store would be.
                StoreConfig::S3 { .. } => PathBuf::from("marquee-data").join("jobs.sqlite3"),
            },
            limit,
            slots,
        };

        Ok(Self {
            signing_secret: secret("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET_ARN")?,
            bot_token: secret("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN_ARN")?,
            link_key: secret("MARQUEE_LINK_KEY", "MARQUEE_LINK_KEY_ARN")?,
            slack_api_url: match get("SLACK_API_URL")? {
                Some(v) => url::Url::parse(&v)
                    .map(|u| u.as_str().trim_end_matches('/').to_owned())
                    .map_err(|e| ConfigError::Invalid {
                        name: "SLACK_API_URL",
                        value: v.clone(),
                        reason: e.to_string(),
                    })?,
                None => DEFAULT_SLACK_API_URL.to_owned(),
            },
            default_model,
            allowed_models,
            model_regions,
            store,
            state,
            retention,
            approvers,
            admins,
            external_users_full,
            api_token,
            user_daily_limit,
            channel_daily_limit,
            monthly_budget_micros,
            model_prices,
            service_prices,
            image_services,
            print_upscaler,
            formats,
            service_region,
            s3_force_path_style,
            public_url,
            link_ttl,
            response_url_hosts,
            slack_file_hosts,
            model_timeout,
            worker_function: get("MARQUEE_WORKER_FUNCTION")?,
            lambda_function_name: get("AWS_LAMBDA_FUNCTION_NAME")?,
            log: get("MARQUEE_LOG")?,
            fonts_dir: fonts_dir_from(&lookup),
            queue,
        })
    }

    /// Whether any configured model needs Bedrock.
    pub(crate) fn uses_bedrock(&self) -> bool {
        self.allowed_models.iter().any(|m| m != &ModelId::Offline) || self.print_upscaler.is_some()
    }

    /// Stability's image services this deployment calls: Search and Replace and Search and
    /// Recolor (Change a detail), Outpaint (Formats… of a Stability take), Style Guide and Style
    /// Transfer (Use a picture…) when the services are on, a Stability model is allowed and the
    /// Stability region serves the services' profile; and the print upscaler, if one is chosen.
    /// In [`Service`]'s order.
    pub fn services(&self) -> Vec<Service> {
        let reachable = Service::PROFILE_REGIONS.contains(&self.service_region.as_str());
        let stability = self
            .allowed_models
            .iter()
            .any(|m| m.family() == Family::Stability);
        let mut services = Vec::new();
        if self.image_services && reachable && stability {
            services.extend([
                Service::SearchReplace,
                Service::Outpaint,
                Service::SearchRecolor,
                Service::StyleGuide,
                Service::StyleTransfer,
            ]);
        }
        services.extend(self.print_upscaler.map(Upscaler::service));
        services.sort_unstable();
        services
    }

    /// How long one call to `model` (a model or a service) may take: the time the catalog
    /// gives it (upscales far longer than drawing). `MARQUEE_MODEL_TIMEOUT`, when set, replaces
    /// it for calls that draw or edit at poster size; an upscale to about 4K keeps at least its
    /// catalog time, as a shorter limit would only abandon (and still pay for) every print.
    pub(crate) fn call_timeout(&self, model: Priced) -> Duration {
        let row = model.row();
        let upscales = row
            .edits
            .iter()
            .any(|k| matches!(k, marquee_core::model::EditKind::Upscale(_)));
        match self.model_timeout {
            Some(limit) if upscales => limit.max(row.call_timeout),
            Some(limit) => limit,
            None => row.call_timeout,
        }
    }

    /// The longest single model call this deployment may make: what the function's timeout
    /// must outlast.
    pub fn longest_call(&self) -> Duration {
        self.model_regions
            .keys()
            .map(|m| Priced::Model(*m))
            .chain(self.services().into_iter().map(Priced::Service))
            .map(|p| self.call_timeout(p))
            .max()
            .unwrap_or_default()
    }

    /// The region Stability's image services are called in.
    pub fn service_region(&self) -> &str {
        &self.service_region
    }

    /// The region `model` is called in; `None` for the offline model and for models that are
    /// not allowed.
    pub fn region_for(&self, model: ModelId) -> Option<&str> {
        self.model_regions.get(&model).map(String::as_str)
    }
}

/// Resolves each allowed Bedrock model's region. In order of precedence:
///
/// 1. an entry for the model itself in `MARQUEE_MODEL_REGIONS` (`nova=eu-west-1`, or its full
///    Bedrock id),
/// 2. an entry for its family there (`stability=us-west-2`, `nova=us-east-1`),
/// 3. `MARQUEE_BEDROCK_REGION`, one region for every model (the single-region setting of
///    earlier versions, kept for deployments whose region serves all the models they allow),
/// 4. the model's default, the first region of its catalog row ([`ModelId::default_region`]).
///
/// Entries for models or families the deployment does not allow are accepted and unused, so
/// one setting (the template's) fits any choice of models.
fn model_regions(
    allowed: &[ModelId],
    map: Option<&str>,
    global: Option<&str>,
) -> Result<(BTreeMap<ModelId, String>, String), ConfigError> {
    const NAME: &str = "MARQUEE_MODEL_REGIONS";
    let invalid = |value: &str, reason: String| ConfigError::Invalid {
        name: NAME,
        value: value.to_owned(),
        reason,
    };
    if let Some(region) = global {
        check_region("MARQUEE_BEDROCK_REGION", region)?;
    }
    let mut by_model: BTreeMap<ModelId, String> = BTreeMap::new();
    let mut by_family: BTreeMap<&'static str, String> = BTreeMap::new();
    for entry in map.unwrap_or_default().split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let (key, region) = entry
            .split_once('=')
            .map(|(k, r)| (k.trim(), r.trim()))
            .ok_or_else(|| invalid(entry, "expected model=region or family=region".into()))?;
        check_region(NAME, region)?;
        let family = [Family::Stability, Family::Nova]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(key));
        // `nova` names both a family and its one model; as a model entry it wins either way.
        let model = ModelId::parse(key).filter(|m| *m != ModelId::Offline);
        let fresh = match (model, family) {
            (Some(model), _) => by_model.insert(model, region.to_owned()).is_none(),
            (None, Some(family)) => by_family.insert(family.name(), region.to_owned()).is_none(),
            (None, None) => {
                return Err(invalid(
                    entry,
                    format!(
                        "unknown model or family {key:?}; use stability, nova, one of {} or a full Bedrock model id",
                        ModelId::short_names().join(", ")
                    ),
                ));
            }
        };
        if !fresh {
            return Err(invalid(entry, format!("{key} is given a region twice")));
        }
    }
    let regions = allowed
        .iter()
        .filter_map(|&model| {
            let region = by_model
                .get(&model)
                .or_else(|| by_family.get(model.family().name()))
                .map(String::as_str)
                .or(global)
                .or(model.default_region())?;
            Some((model, region.to_owned()))
        })
        .collect();
    // Stability's image services follow the family's setting, whichever models are allowed.
    let service_region = by_family
        .get(Family::Stability.name())
        .map(String::as_str)
        .or(global)
        .or(ModelId::Sd35Large.default_region())
        .unwrap_or("us-west-2")
        .to_owned();
    Ok((regions, service_region))
}

/// Accepts region names such as `us-west-2`, `eu-central-1` or `us-gov-west-1`. A typo here
/// would otherwise surface only on the first poster, as a DNS failure.
fn check_region(name: &'static str, region: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = region.split('-').collect();
    let valid = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()));
    if valid {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name,
            value: region.to_owned(),
            reason: "expected a region name such as us-west-2".into(),
        })
    }
}

/// The most a limit or price may be: far beyond any real use, and far from overflowing the
/// counters (micro-dollars in an `i64`).
const MAX_QUOTA: i64 = 1_000_000_000;

/// A number of posters: a whole number from 0 (none at all) up.
fn parse_count(name: &'static str, value: &str) -> Result<i64, ConfigError> {
    match value.trim().parse::<i64>() {
        Ok(n @ 0..=MAX_QUOTA) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            value: value.to_owned(),
            reason: "a whole number of posters, 0 or more (leave it empty for no limit)".into(),
        }),
    }
}

/// US dollars (`250`, `12.50`, `$0.0025`) as whole micro-dollars, without floating point:
/// at most six decimal places.
fn parse_usd(name: &'static str, value: &str) -> Result<i64, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: "an amount in US dollars such as 50 or 0.04, with at most six decimal places"
            .into(),
    };
    let text = value.trim();
    let text = text.strip_prefix('$').unwrap_or(text);
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 6
        || whole.len() > 9
    {
        return Err(invalid());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| invalid())?;
    let micros = whole * 1_000_000 + fraction;
    if micros > MAX_QUOTA * 1_000_000 {
        return Err(invalid());
    }
    Ok(micros)
}

/// Prices by model and by image service.
type PriceMaps = (BTreeMap<ModelId, i64>, BTreeMap<Service, i64>);

/// `MARQUEE_MODEL_PRICES`: `model=dollars` pairs (`sd3.5=0.08,nova=0.04`), by short name or
/// full Bedrock id, and likewise for Stability's image services (`search-replace=0.04`,
/// `upscale-conservative=0.40`, `upscale-creative=0.60`). Those not named keep their list
/// prices.
fn model_prices(value: Option<&str>) -> Result<PriceMaps, ConfigError> {
    const NAME: &str = "MARQUEE_MODEL_PRICES";
    let mut prices = BTreeMap::new();
    let mut service_prices = BTreeMap::new();
    for entry in value.unwrap_or_default().split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let invalid = |reason: String| ConfigError::Invalid {
            name: NAME,
            value: entry.to_owned(),
            reason,
        };
        let (model, price) = entry
            .split_once('=')
            .ok_or_else(|| invalid("expected model=price in US dollars, e.g. sd3.5=0.08".into()))?;
        let price = parse_usd(NAME, price)?;
        if let Some(service) = Service::parse(model) {
            if service_prices.insert(service, price).is_some() {
                return Err(invalid(format!("{service} is given a price twice")));
            }
            continue;
        }
        let model = parse_model(NAME, model.trim())?;
        if prices.insert(model, price).is_some() {
            return Err(invalid(format!("{model} is given a price twice")));
        }
    }
    Ok((prices, service_prices))
}

fn parse_model(name: &'static str, value: &str) -> Result<ModelId, ConfigError> {
    ModelId::parse(value).ok_or_else(|| ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: format!(
            "unknown model; use one of {} or a full Bedrock model id",
            ModelId::short_names().join(", ")
        ),
    })
}

/// A model that may be offered: [`parse_model`], refusing retired ones. (Prices may still name
/// a retired model: they are harmless, and an old setting should not stop the function.)
fn offered_model(name: &'static str, value: &str) -> Result<ModelId, ConfigError> {
    let model = parse_model(name, value)?;
    // A retired model is refused at start, naming its end of life and what to use instead,
    // rather than offered to users who would each meet Bedrock's refusal.
    if !model.is_offered() {
        return Err(ConfigError::Invalid {
            name,
            value: value.to_owned(),
            reason: format!(
                "{} {} and is no longer offered; use one of {} instead",
                model.display_name(),
                model.row().lifecycle_words(),
                marquee_core::model::catalog::replacements()
            ),
        });
    }
    Ok(model)
}

/// Parses `90`, `90s`, `15m`, `24h` or `7d`.
fn parse_duration(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let (digits, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => value.split_at(i),
        None => (value, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| invalid("expected a number with an optional unit s, m, h or d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(invalid("unknown unit; use s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    /// The queue's defaults come from the machine: two render slots per core, no more than one
    /// per 256 MiB, and a hundred waiting jobs per slot; both can be set, within reason.
    #[test]
    fn the_local_queue_is_sized_for_the_machine_unless_configured() {
        let on = |vars: &[(&str, &str)], machine: Machine| {
            let map: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::for_machine(|k| map.get(k).cloned(), machine)
        };
        let big = Machine {
            cores: 2,
            memory_mib: Some(24 * 1024),
        };
        let small = Machine {
            cores: 4,
            memory_mib: Some(512),
        };
        let c = on(&[("MARQUEE_DATA_DIR", "/srv/marquee")], big).unwrap();
        assert_eq!(
            c.queue,
            QueueConfig {
                path: PathBuf::from("/srv/marquee/jobs.sqlite3"),
                limit: 400,
                slots: 4,
            }
        );
        let c = on(&[], small).unwrap();
        assert_eq!((c.queue.slots, c.queue.limit), (2, 200));
        let unknown = Machine {
            cores: 1,
            memory_mib: None,
        };
        assert_eq!(on(&[], unknown).unwrap().queue.slots, 2);
        let tiny = Machine {
            cores: 1,
            memory_mib: Some(200),
        };
        assert_eq!(on(&[], tiny).unwrap().queue.slots, 1);

        let c = on(
            &[("MARQUEE_RENDER_SLOTS", "3"), ("MARQUEE_QUEUE_LIMIT", "50")],
            big,
        )
        .unwrap();
        assert_eq!((c.queue.slots, c.queue.limit), (3, 50));
        let c = on(&[("MARQUEE_RENDER_SLOTS", "3")], big).unwrap();
        assert_eq!(c.queue.limit, 300, "the default limit follows the slots");
        for (name, value) in [
            ("MARQUEE_RENDER_SLOTS", "0"),
            ("MARQUEE_RENDER_SLOTS", "many"),
            ("MARQUEE_QUEUE_LIMIT", "0"),
            ("MARQUEE_QUEUE_LIMIT", "-5"),
        ] {
            assert!(
                matches!(on(&[(name, value)], big), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
        assert!(Machine::this().cores >= 1);
    }

    #[test]
    fn empty_environment_gives_the_embedded_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.default_model, ModelId::Offline);
        assert_eq!(c.allowed_models, vec![ModelId::Offline]);
        assert_eq!(
            c.store,
            StoreConfig::Local {
                dir: "marquee-data".into()
            }
        );
        assert_eq!(
            c.state,
            StateConfig::Local {
                path: "marquee-data/state.sqlite3".into()
            }
        );
        assert_eq!(c.link_ttl, DEFAULT_LINK_TTL);
        assert_eq!(c.response_url_hosts, vec!["hooks.slack.com"]);
        assert_eq!(c.slack_file_hosts, vec!["files.slack.com"]);
        assert!(!c.uses_bedrock());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = config(&[("SLACK_SIGNING_SECRET", "s3cr3t-value")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("Secret(12 bytes)"), "{shown}");
    }

    /// Unset and empty (the template's default) are both unlimited; offline stays free.
    #[test]
    fn quotas_default_to_unlimited_at_list_prices() {
        for vars in [
            &[][..],
            &[
                ("MARQUEE_USER_DAILY_LIMIT", ""),
                ("MARQUEE_CHANNEL_DAILY_LIMIT", " "),
                ("MARQUEE_MONTHLY_BUDGET_USD", ""),
                ("MARQUEE_MODEL_PRICES", ""),
            ][..],
        ] {
            let c = config(vars).unwrap();
            assert_eq!(c.user_daily_limit, None);
            assert_eq!(c.channel_daily_limit, None);
            assert_eq!(c.monthly_budget_micros, None);
            assert!(c.model_prices.is_empty());
        }
    }

    /// The admin's set of formats: every format by default (and when empty), else the names
    /// or ratios listed, each once, in the order given; an unknown one is refused by name.
    #[test]
    fn the_formats_offered_are_the_admins_set() {
        use marquee_core::poster::Format;
        assert_eq!(config(&[]).unwrap().formats, Format::ALL);
        assert_eq!(
            config(&[("MARQUEE_FORMATS", " ")]).unwrap().formats,
            Format::ALL
        );
        let c = config(&[("MARQUEE_FORMATS", "square, 9:16,square")]).unwrap();
        assert_eq!(c.formats, [Format::Square, Format::Story]);
        let bad = config(&[("MARQUEE_FORMATS", "square,billboard")]).unwrap_err();
        assert!(bad.to_string().contains("MARQUEE_FORMATS"), "{bad}");
    }

    #[test]
    fn image_services_and_the_print_upscaler_are_chosen_by_the_admin() {
        let sd = [("MARQUEE_MODEL", "sd3.5")];
        let c = config(&sd).unwrap();
        assert!(c.image_services);
        assert_eq!(
            c.print_upscaler, None,
            "prints are free unless an upscaler is chosen"
        );
        assert_eq!(
            c.services(),
            [
                Service::SearchReplace,
                Service::Outpaint,
                Service::SearchRecolor,
                Service::StyleGuide,
                Service::StyleTransfer
            ],
            "Change a detail (whole or only its colour), Formats… and Use a picture…"
        );
        assert_eq!(c.service_region(), "us-west-2");
        // No Stability model: no Search and Replace (offline replaces by itself).
        assert!(
            config(&[("MARQUEE_MODEL", "offline")])
                .unwrap()
                .services()
                .is_empty()
        );
        let c = config(&[
            ("MARQUEE_MODEL", "offline"),
            ("MARQUEE_PRINT_UPSCALER", "creative"),
            (
                "MARQUEE_MODEL_REGIONS",
                "stability=us-east-2,nova=us-east-1",
            ),
            (
                "MARQUEE_MODEL_PRICES",
                "upscale-creative=0.5,us.stability.stable-image-search-replace-v1:0=0.05",
            ),
        ])
        .unwrap();
        assert_eq!(c.services(), [Service::CreativeUpscale]);
        assert_eq!(c.service_region(), "us-east-2");
        assert!(c.uses_bedrock());
        assert_eq!(
            c.service_prices,
            BTreeMap::from([
                (Service::SearchReplace, 50_000),
                (Service::CreativeUpscale, 500_000)
            ])
        );
        assert!(c.model_prices.is_empty());
        let off = config(&[
            ("MARQUEE_MODEL", "sd3.5"),
            ("MARQUEE_IMAGE_SERVICES", "off"),
            ("MARQUEE_PRINT_UPSCALER", "none"),
        ])
        .unwrap();
        assert!(off.services().is_empty());
        // Empty, as the template passes unset parameters: the defaults.
        let empty = config(&[
            ("MARQUEE_PRINT_UPSCALER", ""),
            ("MARQUEE_IMAGE_SERVICES", ""),
            ("MARQUEE_ADMINS", ""),
        ]);
        let empty = empty.unwrap();
        assert_eq!(empty.print_upscaler, None);
        assert!(empty.admins.is_empty());
        let named = config(&[("MARQUEE_ADMINS", "U07ADA, W07GRACE")]).unwrap();
        assert_eq!(named.admins, ["U07ADA", "W07GRACE"]);
        for (vars, name) in [
            (
                vec![("MARQUEE_PRINT_UPSCALER", "fast")],
                "MARQUEE_PRINT_UPSCALER",
            ),
            (
                vec![("MARQUEE_IMAGE_SERVICES", "maybe")],
                "MARQUEE_IMAGE_SERVICES",
            ),
            (
                vec![
                    ("MARQUEE_PRINT_UPSCALER", "conservative"),
                    ("MARQUEE_IMAGE_SERVICES", "off"),
                ],
                "MARQUEE_PRINT_UPSCALER",
            ),
            (
                vec![
                    ("MARQUEE_PRINT_UPSCALER", "conservative"),
                    ("MARQUEE_MODEL_REGIONS", "stability=eu-west-1"),
                ],
                "MARQUEE_PRINT_UPSCALER",
            ),
            (
                vec![("MARQUEE_MODEL_PRICES", "search-replace=1,search-replace=2")],
                "MARQUEE_MODEL_PRICES",
            ),
        ] {
            let err = config(&vars).unwrap_err().to_string();
            assert!(err.contains(name), "{vars:?}: {err}");
        }
    }

    #[test]
    fn quotas_and_prices_are_read_in_whole_micro_dollars() {
        let c = config(&[
            ("MARQUEE_USER_DAILY_LIMIT", "5"),
            ("MARQUEE_CHANNEL_DAILY_LIMIT", "0"),
            ("MARQUEE_MONTHLY_BUDGET_USD", "$250.5"),
            (
                "MARQUEE_MODEL_PRICES",
                "sd3.5=0.08, amazon.nova-canvas-v1:0=.045,offline=0.000125",
            ),
        ])
        .unwrap();
        assert_eq!(c.user_daily_limit, Some(5));
        assert_eq!(c.channel_daily_limit, Some(0));
        assert_eq!(c.monthly_budget_micros, Some(250_500_000));
        assert_eq!(
            c.model_prices,
            BTreeMap::from([
                (ModelId::Offline, 125),
                (ModelId::Sd35Large, 80_000),
                (ModelId::NovaCanvas, 45_000),
            ])
        );
        for (name, value) in [
            ("MARQUEE_USER_DAILY_LIMIT", "-1"),
            ("MARQUEE_USER_DAILY_LIMIT", "2.5"),
            ("MARQUEE_CHANNEL_DAILY_LIMIT", "lots"),
            ("MARQUEE_MONTHLY_BUDGET_USD", "1e3"),
            ("MARQUEE_MONTHLY_BUDGET_USD", "0.0000001"),
            ("MARQUEE_MONTHLY_BUDGET_USD", "-5"),
            ("MARQUEE_MONTHLY_BUDGET_USD", "."),
            ("MARQUEE_MODEL_PRICES", "sd3.5"),
            ("MARQUEE_MODEL_PRICES", "dalle=0.04"),
            ("MARQUEE_MODEL_PRICES", "nova=0.04,nova=0.05"),
            ("MARQUEE_MODEL_PRICES", "nova=four cents"),
        ] {
            let err = config(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn outsiders_only_look_and_the_rest_door_needs_a_long_token_unless_told_otherwise() {
        let c = config(&[]).unwrap();
        assert!(!c.external_users_full, "view-only by default");
        assert!(
            c.api_token.is_none(),
            "no token: the REST door of serve is off"
        );
        assert!(
            !config(&[("MARQUEE_EXTERNAL_USERS", "view-only")])
                .unwrap()
                .external_users_full
        );
        assert!(
            config(&[("MARQUEE_EXTERNAL_USERS", "Full")])
                .unwrap()
                .external_users_full
        );
        let token = "f".repeat(MIN_API_TOKEN);
        let c = config(&[("MARQUEE_API_TOKEN", &token)]).unwrap();
        assert!(c.api_token.as_ref().is_some_and(|t| t.matches(&token)));
        assert!(
            !format!("{c:?}").contains(&token),
            "the token stays out of Debug"
        );
        for (name, value) in [
            ("MARQUEE_EXTERNAL_USERS", "guests"),
            ("MARQUEE_API_TOKEN", "short-token"),
        ] {
            let err = config(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{name}={value}: {err}");
            assert!(
                !err.contains("short-token"),
                "the token is not echoed: {err}"
            );
        }
    }

    #[test]
    fn invalid_values_are_named_in_the_error() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("MARQUEE_LINK_TTL", "8d")], "MARQUEE_LINK_TTL"),
            (&[("MARQUEE_LINK_TTL", "soon")], "MARQUEE_LINK_TTL"),
            (&[("MARQUEE_MODEL", "dalle")], "MARQUEE_MODEL"),
            (&[("MARQUEE_BUCKET", " ")], "MARQUEE_BUCKET"),
            (&[("MARQUEE_BUCKET", "b")], "MARQUEE_TABLE"),
            (&[("MARQUEE_RETENTION_DAYS", "0")], "MARQUEE_RETENTION_DAYS"),
            (&[("MARQUEE_APPROVERS", "alice,bob")], "MARQUEE_APPROVERS"),
            (&[("MARQUEE_ADMINS", "U07ADA,#general")], "MARQUEE_ADMINS"),
            (&[("MARQUEE_PUBLIC_URL", "not a url")], "MARQUEE_PUBLIC_URL"),
            (
                &[("MARQUEE_BUCKET", "b"), ("MARQUEE_DATA_DIR", "d")],
                "MARQUEE_DATA_DIR",
            ),
            (
                &[
                    ("SLACK_SIGNING_SECRET", "x"),
                    ("SLACK_SIGNING_SECRET_ARN", "arn:x"),
                ],
                "SLACK_SIGNING_SECRET_ARN",
            ),
        ];
        for (vars, name) in cases {
            let err = config(vars).unwrap_err().to_string();
            assert!(err.contains(name), "{vars:?}: {err}");
        }
    }

    #[test]
    fn bedrock_settings_are_read() {
        let c = config(&[
            ("MARQUEE_MODEL", "sd3.5"),
            ("MARQUEE_ALLOWED_MODELS", "core, offline"),
            ("MARQUEE_BUCKET", "posters"),
            ("MARQUEE_TABLE", "marquee-state"),
            ("MARQUEE_LINK_TTL", "2h"),
        ])
        .unwrap();
        assert_eq!(c.default_model, ModelId::Sd35Large);
        assert_eq!(
            c.allowed_models,
            vec![
                ModelId::Sd35Large,
                ModelId::StableImageCore,
                ModelId::Offline
            ]
        );
        assert_eq!(
            c.store,
            StoreConfig::S3 {
                bucket: "posters".into()
            }
        );
        assert_eq!(
            c.state,
            StateConfig::Dynamo {
                table: "marquee-state".into()
            }
        );
        assert_eq!(c.link_ttl, Duration::from_secs(7200));
        assert!(c.uses_bedrock());
    }

    /// Amazon Nova Canvas is past its end of life: named as the default or among the allowed
    /// models (short name or Bedrock id), it is refused at start, with its end-of-life date and
    /// what to use instead. A region entry for it is still accepted (and unused), so an older
    /// setting of `MARQUEE_MODEL_REGIONS` does not stop the function.
    #[test]
    fn a_retired_model_is_refused_with_its_end_of_life_and_replacements() {
        for vars in [
            vec![("MARQUEE_MODEL", "nova")],
            vec![
                ("MARQUEE_MODEL", "sd3.5"),
                ("MARQUEE_ALLOWED_MODELS", "core,nova"),
            ],
            vec![("MARQUEE_ALLOWED_MODELS", "amazon.nova-canvas-v1:0")],
        ] {
            let err = config(&vars).unwrap_err().to_string();
            assert!(
                err.contains("Amazon Nova Canvas")
                    && err.contains("2026-09-30")
                    && err.contains("sd3.5, core, ultra"),
                "{vars:?}: {err}"
            );
        }
        let c = config(&[
            ("MARQUEE_MODEL", "sd3.5"),
            (
                "MARQUEE_MODEL_REGIONS",
                "stability=us-west-2,nova=us-east-1",
            ),
        ])
        .unwrap();
        assert_eq!(c.region_for(ModelId::NovaCanvas), None);
    }

    /// Each call gets its catalog time (upscales longer than drawing); `MARQUEE_MODEL_TIMEOUT`
    /// replaces it for drawing calls, and never shortens an upscale.
    #[test]
    fn call_timeouts_come_from_the_catalog_unless_configured() {
        let c = config(&[
            ("MARQUEE_MODEL", "sd3.5"),
            ("MARQUEE_PRINT_UPSCALER", "creative"),
        ])
        .unwrap();
        let draw = c.call_timeout(Priced::Model(ModelId::Sd35Large));
        let upscale = c.call_timeout(Priced::Service(Service::CreativeUpscale));
        assert_eq!(draw, ModelId::Sd35Large.row().call_timeout);
        assert!(upscale > draw);
        assert_eq!(c.longest_call(), upscale);
        let c = config(&[("MARQUEE_MODEL", "sd3.5"), ("MARQUEE_MODEL_TIMEOUT", "5s")]).unwrap();
        assert_eq!(
            c.call_timeout(Priced::Model(ModelId::Sd35Large)),
            Duration::from_secs(5)
        );
        assert_eq!(
            c.call_timeout(Priced::Service(Service::SearchReplace)),
            Duration::from_secs(5)
        );
        assert_eq!(
            c.call_timeout(Priced::Service(Service::CreativeUpscale)),
            upscale
        );
        let c = config(&[("MARQUEE_MODEL", "sd3.5"), ("MARQUEE_MODEL_TIMEOUT", "10m")]).unwrap();
        assert_eq!(
            c.call_timeout(Priced::Service(Service::CreativeUpscale)),
            Duration::from_secs(600)
        );
    }

    /// A mixed deployment calls each model in a region that serves it, without any setting;
    /// the template's family settings and a per-model entry refine that, in that order.
    #[test]
    fn each_model_gets_its_own_region() {
        let c = config(&[
            ("MARQUEE_MODEL", "sd3.5"),
            ("MARQUEE_ALLOWED_MODELS", "core,offline"),
        ])
        .unwrap();
        assert_eq!(c.region_for(ModelId::Sd35Large), Some("us-west-2"));
        assert_eq!(c.region_for(ModelId::StableImageCore), Some("us-west-2"));
        assert_eq!(c.region_for(ModelId::Offline), None);
        assert_eq!(c.region_for(ModelId::StableImageUltra), None, "not allowed");

        let c = config(&[
            ("MARQUEE_MODEL", "sd3.5"),
            ("MARQUEE_ALLOWED_MODELS", "ultra,core"),
            (
                "MARQUEE_MODEL_REGIONS",
                "stability=us-east-2, ultra=eu-west-1, stability.stable-image-core-v1:1=us-west-2",
            ),
            ("MARQUEE_BEDROCK_REGION", "ap-northeast-1"),
        ])
        .unwrap();
        assert_eq!(
            c.region_for(ModelId::Sd35Large),
            Some("us-east-2"),
            "family"
        );
        assert_eq!(
            c.region_for(ModelId::StableImageCore),
            Some("us-west-2"),
            "model"
        );
        assert_eq!(c.region_for(ModelId::StableImageUltra), Some("eu-west-1"));

        // The single-region setting still overrides the defaults of unnamed families.
        let c = config(&[
            ("MARQUEE_MODEL", "offline"),
            ("MARQUEE_ALLOWED_MODELS", "ultra"),
            ("MARQUEE_MODEL_REGIONS", "nova=us-east-1"),
            ("MARQUEE_BEDROCK_REGION", "us-east-1"),
        ])
        .unwrap();
        assert_eq!(c.region_for(ModelId::StableImageUltra), Some("us-east-1"));
    }

    #[test]
    fn bad_region_settings_are_refused() {
        for value in [
            "stability",
            "dalle=us-west-2",
            "stability=us-west-2,stability=us-east-1",
            "nova=US-EAST-1",
            "nova=useast1",
            "sd3.5=us-west-2 ,sd3.5=us-west-2",
        ] {
            let err = config(&[("MARQUEE_MODEL_REGIONS", value)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("MARQUEE_MODEL_REGIONS"), "{value}: {err}");
        }
        let err = config(&[("MARQUEE_BEDROCK_REGION", "oregon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("MARQUEE_BEDROCK_REGION"), "{err}");
        for ok in ["us-gov-west-1", "eu-central-2", "ap-southeast-5"] {
            assert!(check_region("X", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn durations_parse_with_units() {
        for (text, secs) in [("90", 90), ("90s", 90), ("15m", 900), ("24h", 86_400)] {
            assert_eq!(parse_duration("X", text).unwrap().as_secs(), secs, "{text}");
        }
        assert!(parse_duration("X", "1w").is_err());
        assert!(parse_duration("X", "").is_err());
    }
}
