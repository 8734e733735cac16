//! The end-to-end test stack: real SeaweedFS, dynalite and `cargo lambda watch` processes plus
//! wire-exact stand-ins for Bedrock Runtime, Slack and Lambda's async Invoke, and an IAM proxy
//! in front of dynalite, all on 127.0.0.1. Only services the product itself calls stand in
//! here: `marquee doctor`'s control-plane calls (CloudFormation, IAM's simulator, Lambda's
//! configuration, Bedrock's model catalog) are tested with `aws-smithy-mocks` in
//! `src/doctor/checks.rs` instead.
//!
//! Integration tests include this tree with `mod support;` and call [`stack()`]. Each
//! `#[tokio::test]` owns a short-lived runtime, so the servers live on one dedicated background
//! thread with its own multi-thread runtime, created once per test binary; they outlive any
//! single test. The stack is shared by every test in a binary, so tests keep apart by using their
//! own `response_url`s and prompt markers rather than by resetting global state.
//!
//! Nothing here knows Marquee's internals: the product is reached only through its environment
//! (the env file written for `cargo lambda watch`) and its HTTP surface.

pub mod bedrock;
pub mod cfn;
pub mod client;
pub mod dynamo;
pub mod faults;
pub mod lambda_async;
pub mod process;
pub mod seaweed;
pub mod slack;
pub mod slack_api;
pub mod slack_events;
pub mod watch;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bedrock::Bedrock;
use dynamo::Dynamo;
use lambda_async::AsyncInvoke;
use seaweed::Seaweed;
use slack::Slack;
use watch::Watch;

/// The Lambda binary `cargo lambda watch` serves. `MARQUEE_TEST_LAMBDA_BIN` exists only so the
/// harness can prove itself against a stand-in binary before the product's binary exists.
const DEFAULT_LAMBDA_BIN: &str = "marquee-lambda";

/// The test deployment's model parameters: every model the catalog offers (Amazon Nova Canvas
/// reached end of life on 2026-09-30 and the template no longer accepts it).
pub const DEFAULT_MODEL: &str = "stability.sd3-5-large-v1:0";
pub const ALLOWED_MODELS: &str =
    "stability.stable-image-core-v1:1,stability.stable-image-ultra-v1:1,offline";

/// The function's logical id in `template.yaml`.
const FUNCTION: &str = "MarqueeFunction";

/// The state table's logical id in `template.yaml`, and its name in the test deployment (one
/// dynalite per test run holds it, so the name need not be unique).
const STATE_TABLE: &str = "StateTable";
const TABLE_NAME: &str = "marquee-test-state";

/// `template.yaml` with the test deployment's values: the stack's bucket and table and the
/// models above; every other parameter keeps its default. Tests derive the function's model
/// settings and its permissions from this, never from hand-written copies.
pub fn deployment(bucket: &str) -> cfn::Deployment {
    cfn::Deployment::from_repo()
        .param("DefaultModel", DEFAULT_MODEL)
        .param("AllowedModels", ALLOWED_MODELS)
        // Prints upscale through Stability's service, so the review round calls it.
        .param("PrintUpscaler", "conservative")
        .bucket("PosterBucket", bucket)
        .table(STATE_TABLE, TABLE_NAME)
}

/// The same deployment with the Stability models put, by the admin, in a region Bedrock does
/// not serve them in (eu-west-3). No print upscaler: the image services' US profile is not
/// reachable from there, which the configuration refuses for a chosen upscaler.
pub fn misplaced_deployment(bucket: &str) -> cfn::Deployment {
    deployment(bucket)
        .param("StabilityRegion", "eu-west-3")
        .param("PrintUpscaler", "none")
}

/// The test deployment with the admin's quota: `UserDailyLimit` posters (and image-service
/// calls) from priced models per person per UTC day.
pub fn limited_deployment(bucket: &str) -> cfn::Deployment {
    deployment(bucket).param("UserDailyLimit", LIMITED_USER_DAILY)
}

/// The daily limit of [`limited_deployment`].
pub const LIMITED_USER_DAILY: &str = "5";

/// How long the first request to `cargo lambda watch` may take; it compiles the crate first.
const WATCH_READY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Errors from starting or driving the local stack. Test code usually panics on them with
/// `{e}`, which keeps the full context (including the failing tool's log tail) in the message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`{tool}` was not found on PATH or in {venv}: run `scripts/test.sh` (it installs the test \
         tools with scripts/test-tools.sh) or put the directory printed by scripts/test-tools.sh \
         on PATH"
    )]
    ToolMissing { tool: String, venv: String },
    #[error("could not {action}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{what} did not become ready within {waited:?}: {detail}\n--- {what} log (tail) ---\n{log}"
    )]
    NotReady {
        what: String,
        waited: Duration,
        detail: String,
        log: String,
    },
    #[error("{what} exited early (status {status})\n--- {what} log (tail) ---\n{log}")]
    Exited {
        what: String,
        status: String,
        log: String,
    },
}

impl Error {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            action: action.into(),
            source,
        }
    }
}

/// All parts of the local stack. Get it with [`stack()`].
pub struct Stack {
    bedrock: Bedrock,
    slack: Slack,
    s3: Seaweed,
    /// The state table, shared by every deployment (they are one stack's function).
    dynamo: Dynamo,
    signing_secret: String,
    /// The key the function signs poster links with.
    link_key: String,
    /// The main function instance: the test deployment, response URLs only.
    main: Instance,
    /// The same deployment configured with a Slack bot token.
    bot: Instance,
    /// A deployment with its models in the wrong region (see [`misplaced_deployment`]),
    /// with its own storage key.
    misplaced: Instance,
    /// The deployment with a daily limit per person (see [`limited_deployment`]) and a bot
    /// token; it shares the state table, so its tests count people no other test uses.
    limited: Instance,
    /// A deployment with storage of its own, for the test that takes storage away: stopping
    /// the shared SeaweedFS would fail every other test running beside it.
    own_storage: OnceLock<Result<(Seaweed, Instance), String>>,
}

/// One function instance under `cargo lambda watch`, with its own async-invoke stand-in so
/// that its self-invocations reach it and not another instance. Started on first use.
pub struct Instance {
    name: &'static str,
    invoke: AsyncInvoke,
    watch: OnceLock<Result<Watch, String>>,
}

/// How many ports an instance tries. A port is chosen free just before watch binds it (the
/// instance's environment names its own address, so watch cannot pick it), and between the two
/// another process of the run (an outgoing connection, the `serve_queue` group beside the stack)
/// can take it. Watch then exits at once with status 0 after "terminating lambda scheduler":
/// cargo-lambda reports a failed bind no other way.
const PORT_ATTEMPTS: usize = 3;

impl Instance {
    fn new(name: &'static str) -> Instance {
        Instance {
            name,
            invoke: AsyncInvoke::start(),
            watch: OnceLock::new(),
        }
    }

    /// The function, started (and compiled, the first time) with `env` for its port on first
    /// use. Once it is up, its async-invoke stand-in forwards to it.
    fn lambda(&self, env: impl Fn(&AsyncInvoke, u16) -> Vec<(String, String)>) -> &Watch {
        let watch = self.watch.get_or_init(|| {
            let mut attempt = 1;
            let watch = loop {
                let port = free_ports(1)[0];
                let env = env(&self.invoke, port);
                match Watch::start(&crate_root(), &lambda_bin(), port, &env, WATCH_READY_TIMEOUT) {
                    Ok(watch) => break watch,
                    Err(Error::Exited { status, .. })
                        if status == "0" && attempt < PORT_ATTEMPTS =>
                    {
                        eprintln!(
                            "[support] cargo lambda watch ({}) gave up port {port} at once (taken since it was chosen); another port",
                            self.name
                        );
                        attempt += 1;
                    }
                    Err(e) => return Err(e.to_string()),
                }
            };
            self.invoke.set_target(&watch.invoke_base());
            Ok(watch)
        });
        match watch {
            Ok(watch) => watch,
            Err(e) => panic!("cargo lambda watch ({}) could not start: {e}", self.name),
        }
    }

    /// The async-invoke stand-in that this instance's `AWS_ENDPOINT_URL_LAMBDA` points at.
    pub fn invoke(&self) -> &AsyncInvoke {
        &self.invoke
    }
}

/// The shared stack, started on first use. Panics (with the cause) if a part cannot start; a
/// missing tool is a failure, never a silent skip.
pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();
    // The result, not the value, is cached so that a failed start is reported to every test
    // with its real cause instead of being retried (30 s each) by every test in the binary.
    match STACK.get_or_init(|| Stack::start().map_err(|e| e.to_string())) {
        Ok(stack) => stack,
        Err(e) => panic!("the local test stack could not start: {e}"),
    }
}

impl Stack {
    fn start() -> Result<Stack, Error> {
        let started = Instant::now();
        let bucket = format!("marquee-test-{}", random_token(8).to_lowercase());
        let test_deployment = deployment(&bucket);
        let statements = test_deployment.function_statements(FUNCTION);
        // Key 0: the main and bot-token instances (one deployment); key 1: the misplaced one.
        let s3 = Seaweed::start(&bucket, |b| seaweed::actions_for(&statements, b), 2)?;
        if let Some(policy) = seaweed::write_gap_policy(&statements, s3.function_actions()) {
            s3.set_bucket_policy(&policy)?;
        }
        // What CloudFormation applies to the bucket it creates, as far as SeaweedFS can.
        s3.apply_bucket_properties(&test_deployment.eval_at(&[
            "Resources",
            "PosterBucket",
            "Properties",
        ]))?;
        eprintln!(
            "[support] SeaweedFS S3 ready at {} in {:.1?}",
            s3.endpoint(),
            started.elapsed()
        );
        let dynamo_started = Instant::now();
        let dynamo = Dynamo::start(
            TABLE_NAME,
            &test_deployment.get_att(&format!("{STATE_TABLE}.Arn")),
            &test_deployment.eval_at(&["Resources", STATE_TABLE, "Properties"]),
            statements.clone(),
        )?;
        eprintln!(
            "[support] dynalite ready behind the IAM proxy at {} in {:.1?}",
            dynamo.endpoint(),
            dynamo_started.elapsed()
        );
        let bedrock = Bedrock::start();
        bedrock.grant(&s3.function_credentials(0).access_key, statements);
        bedrock.grant(
            &s3.function_credentials(1).access_key,
            misplaced_deployment(&bucket).function_statements(FUNCTION),
        );
        Ok(Stack {
            bedrock,
            slack: Slack::start(),
            s3,
            dynamo,
            signing_secret: random_token(32),
            link_key: random_token(48),
            main: Instance::new("main"),
            bot: Instance::new("bot token"),
            misplaced: Instance::new("misplaced models"),
            limited: Instance::new("limited"),
            own_storage: OnceLock::new(),
        })
    }

    pub fn bedrock(&self) -> &Bedrock {
        &self.bedrock
    }

    pub fn slack(&self) -> &Slack {
        &self.slack
    }

    pub fn s3(&self) -> &Seaweed {
        &self.s3
    }

    pub fn dynamo(&self) -> &Dynamo {
        &self.dynamo
    }

    /// The async-invoke stand-in of the main instance.
    pub fn invoke(&self) -> &AsyncInvoke {
        &self.main.invoke
    }

    /// The async-invoke stand-in of the bot-token instance.
    pub fn bot_invoke(&self) -> &AsyncInvoke {
        &self.bot.invoke
    }

    /// The Slack signing secret the function under test is configured with.
    pub fn signing_secret(&self) -> &str {
        &self.signing_secret
    }

    /// The environment of one deployment serving on `port` (and its async-invoke stand-in set
    /// to follow the deployment's on-failure destination): the model settings, bucket and
    /// table exactly as the template sets them, the stand-ins' endpoints, and the storage key
    /// `key` of `s3`. Behind API Gateway the function takes its public address from the
    /// request's host; under `cargo lambda watch` the address has a path prefix, so it is
    /// configured, as an admin with a custom domain would.
    fn env_for(
        &self,
        deployment: &cfn::Deployment,
        s3: &Seaweed,
        key: usize,
        invoke: &AsyncInvoke,
        port: u16,
    ) -> Vec<(String, String)> {
        // The async-invoke stand-in records this deployment's failed jobs as its template says.
        invoke.follow(deployment, FUNCTION);
        let template = deployment.function_env(FUNCTION);
        let from_template = |name: &str| {
            template
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("template.yaml does not set {name}"))
        };
        let credentials = s3.function_credentials(key);
        let pairs = [
            ("SLACK_SIGNING_SECRET", self.signing_secret.clone()),
            ("MARQUEE_LINK_KEY", self.link_key.clone()),
            (
                "MARQUEE_PUBLIC_URL",
                Watch::http_base_at(port, &lambda_bin()),
            ),
            ("MARQUEE_MODEL", from_template("MARQUEE_MODEL")),
            (
                "MARQUEE_ALLOWED_MODELS",
                from_template("MARQUEE_ALLOWED_MODELS"),
            ),
            (
                "MARQUEE_MODEL_REGIONS",
                from_template("MARQUEE_MODEL_REGIONS"),
            ),
            ("MARQUEE_BUCKET", from_template("MARQUEE_BUCKET")),
            ("MARQUEE_TABLE", from_template("MARQUEE_TABLE")),
            (
                "MARQUEE_IMAGE_SERVICES",
                from_template("MARQUEE_IMAGE_SERVICES"),
            ),
            (
                "MARQUEE_PRINT_UPSCALER",
                from_template("MARQUEE_PRINT_UPSCALER"),
            ),
            // The quotas as the template passes its parameters (empty: no limit).
            (
                "MARQUEE_USER_DAILY_LIMIT",
                from_template("MARQUEE_USER_DAILY_LIMIT"),
            ),
            (
                "MARQUEE_CHANNEL_DAILY_LIMIT",
                from_template("MARQUEE_CHANNEL_DAILY_LIMIT"),
            ),
            (
                "MARQUEE_MONTHLY_BUDGET_USD",
                from_template("MARQUEE_MONTHLY_BUDGET_USD"),
            ),
            (
                "MARQUEE_MODEL_PRICES",
                from_template("MARQUEE_MODEL_PRICES"),
            ),
            ("MARQUEE_S3_FORCE_PATH_STYLE", "true".into()),
            ("MARQUEE_RESPONSE_URL_HOSTS", self.slack.base_url()),
            // Uploaded pictures are downloaded from the Slack stand-in's file host.
            ("MARQUEE_SLACK_FILE_HOSTS", self.slack.base_url()),
            ("MARQUEE_MODEL_TIMEOUT", "5s".into()),
            ("MARQUEE_LOG", "info".into()),
            // The template points at the fonts layer (/opt/fonts in Lambda); here, the same
            // files as `scripts/fonts.sh` builds them for that layer.
            ("MARQUEE_FONTS_DIR", fonts_layer_dir()),
            ("AWS_ENDPOINT_URL_S3", s3.endpoint()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.bedrock.endpoint()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamo.endpoint()),
            ("AWS_ENDPOINT_URL_LAMBDA", invoke.endpoint()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", credentials.secret_key.clone()),
            ("AWS_REGION", "us-east-1".into()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The main function instance: the test deployment, replying through response URLs.
    pub fn lambda(&self) -> &Watch {
        self.main.lambda(|invoke, port| {
            self.env_for(&deployment(self.s3.bucket()), &self.s3, 0, invoke, port)
        })
    }

    /// For a failure message: the Web API calls the Slack stand-in answered, and the tail of
    /// the bot-token instance's log (cargo's and the function's lines).
    pub fn bot_log(&self) -> String {
        self.log_with_api_calls(self.lambda_with_bot())
    }

    /// The same for the instance with a daily limit.
    pub fn limited_log(&self) -> String {
        self.log_with_api_calls(self.lambda_with_limits())
    }

    fn log_with_api_calls(&self, watch: &Watch) -> String {
        let calls: Vec<String> = self
            .slack
            .api()
            .api_calls()
            .iter()
            .map(|c| format!("{} {} {:?}", c.method, c.status, c.error))
            .collect();
        format!(
            "--- Web API calls ---\n{}\n--- function log ---\n{}",
            calls.join("\n"),
            watch.log_tail(8000)
        )
    }

    /// The same deployment with a Slack bot token and the Web API stand-in.
    pub fn lambda_with_bot(&self) -> &Watch {
        self.bot.lambda(|invoke, port| {
            let mut env = self.env_for(&deployment(self.s3.bucket()), &self.s3, 0, invoke, port);
            env.push(("SLACK_BOT_TOKEN".into(), self.slack.bot_token()));
            env.push((
                "SLACK_API_URL".into(),
                format!("{}/api", self.slack.base_url()),
            ));
            env
        })
    }

    /// The deployment with a daily limit per person, with a bot token like
    /// [`Stack::lambda_with_bot`].
    pub fn lambda_with_limits(&self) -> &Watch {
        self.limited.lambda(|invoke, port| {
            let mut env = self.env_for(
                &limited_deployment(self.s3.bucket()),
                &self.s3,
                0,
                invoke,
                port,
            );
            env.push(("SLACK_BOT_TOKEN".into(), self.slack.bot_token()));
            env.push((
                "SLACK_API_URL".into(),
                format!("{}/api", self.slack.base_url()),
            ));
            env
        })
    }

    /// The deployment with its models in a region that does not serve them.
    pub fn lambda_with_misplaced_models(&self) -> &Watch {
        self.misplaced.lambda(|invoke, port| {
            let deployment = misplaced_deployment(self.s3.bucket());
            self.env_for(&deployment, &self.s3, 1, invoke, port)
        })
    }

    /// The test deployment on a SeaweedFS of its own (the storage it may stop and restart),
    /// and its function instance, both started on first use.
    pub fn own_storage(&self) -> (&Seaweed, &Instance) {
        let started = self.own_storage.get_or_init(|| {
            let bucket = format!("marquee-own-{}", random_token(8).to_lowercase());
            let statements = deployment(&bucket).function_statements(FUNCTION);
            let s3 = Seaweed::start(&bucket, |b| seaweed::actions_for(&statements, b), 1)
                .map_err(|e| e.to_string())?;
            if let Some(policy) = seaweed::write_gap_policy(&statements, s3.function_actions()) {
                s3.set_bucket_policy(&policy).map_err(|e| e.to_string())?;
            }
            self.bedrock
                .grant(&s3.function_credentials(0).access_key, statements);
            Ok((s3, Instance::new("own storage")))
        });
        let (s3, instance) = match started {
            Ok(started) => started,
            Err(e) => panic!("the own-storage deployment could not start: {e}"),
        };
        instance.lambda(|invoke, port| self.env_for(&deployment(s3.bucket()), s3, 0, invoke, port));
        (s3, instance)
    }
}

impl Instance {
    /// This instance's function (already started by the accessor that returned it).
    pub fn watch(&self) -> &Watch {
        match self.watch.get() {
            Some(Ok(watch)) => watch,
            _ => panic!("the {} instance was not started", self.name),
        }
    }
}

/// The Lambda binary under test.
fn lambda_bin() -> String {
    std::env::var("MARQUEE_TEST_LAMBDA_BIN").unwrap_or_else(|_| DEFAULT_LAMBDA_BIN.to_string())
}

/// The fonts layer's contents as `scripts/fonts.sh` builds them (the template's FontsLayer).
pub fn fonts_layer_dir() -> String {
    crate_root()
        .join("build/fonts-layer/fonts")
        .display()
        .to_string()
}

/// The crate whose tests include this module (where `cargo lambda watch` runs).
pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The background runtime every server and child-process task runs on.
pub fn runtime() -> &'static tokio::runtime::Handle {
    static HANDLE: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("support-runtime".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("support-worker")
                    .enable_all()
                    .build()
                    .expect("the support runtime must build (out of threads or fds?)");
                let _ = tx.send(rt.handle().clone());
                // Parking this thread in `block_on` keeps the runtime alive for the whole binary.
                rt.block_on(std::future::pending::<()>());
            })
            .expect("could not spawn the support runtime thread");
        rx.recv()
            .expect("the support runtime thread died while starting")
    })
}

/// Runs `fut` to completion on the background runtime and blocks the caller until it is done.
/// It runs on a helper thread because blocking inside a test's own runtime is not allowed.
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| runtime().block_on(fut))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Serves the router `make` builds (given its own address) on a fresh loopback port on the
/// background runtime.
pub(crate) fn serve(
    name: &'static str,
    make: impl FnOnce(SocketAddr) -> axum::Router,
) -> SocketAddr {
    // Binding synchronously hands the address back before any request can race the server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("could not bind a loopback port for the {name} stand-in: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("could not make the {name} listener non-blocking: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("the {name} listener has no address: {e}"));
    let app = make(addr);
    runtime().spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return eprintln!("[support] the {name} stand-in could not start: {e}"),
        };
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("[support] the {name} stand-in stopped: {e}");
        }
    });
    addr
}

/// Picks `n` distinct free loopback ports for a child process to bind. They are held open
/// together so they differ, then released; a collision with another process in the short window
/// before the child binds is possible but rare, and surfaces as a readiness error.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("could not bind a loopback port: {e}"))
        })
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).unwrap_or_default())
        .collect()
}

/// Finds a tool on PATH, or in the venv `scripts/test-tools.sh` creates under the crate.
pub fn find_tool(tool: &str) -> Result<PathBuf, Error> {
    let venv = crate_root().join(".tools/venv/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::iter::once(venv.clone()))
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| Error::ToolMissing {
            tool: tool.to_string(),
            venv: venv.display().to_string(),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A random alphanumeric token (secrets, keys, URL parts). Not cryptographic; tests only.
pub fn random_token(len: usize) -> String {
    (0..len).map(|_| fastrand::alphanumeric()).collect()
}

/// Polls `probe` every 50 ms until it yields a value or `timeout` passes.
pub async fn poll<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
