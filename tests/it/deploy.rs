//! Deployment drift: `template.yaml` and `manifest/manifest.yaml` must agree with the crate.
//!
//! The SAM template and the Slack manifest are written by hand, next to code that can change
//! under them. These tests pin the contract between them: every environment variable the
//! template sets is one `marquee::config` reads, the HTTP API serves exactly the router's
//! non-local routes, the built binary is the one the template names, Lambda never retries a
//! job, no secret value sits in the template, and the manifest points Slack at routes that
//! exist, within Slack's field limits.
//!
//! Both files are YAML. Rather than add a YAML dependency (and teach it CloudFormation's
//! `!Ref`/`!Sub` tags), a small indentation parser below reads the subset these two files use
//! and panics, naming the line, on anything outside it, so a template edit that leaves the
//! subset fails loudly here instead of being misread.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::cfn;
use marquee::config::{Config, ENV_VARS};
use marquee::http::routes;
use marquee::model::ModelId;
use marquee::slack::manifest::{MANIFEST_TEMPLATE, PLACEHOLDER_BASE_URL, render};

/// The name of the Lambda binary, as in `src/bin/marquee-lambda.rs`.
const LAMBDA_BINARY: &str = "marquee-lambda";

/// Variables Lambda itself understands that the template may set besides Marquee's own.
const AWS_ENV_VARS: &[&str] = &["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL"];

/// Variables a deployment cannot work without.
const REQUIRED_ENV_VARS: &[&str] = &[
    "MARQUEE_MODEL",
    "MARQUEE_ALLOWED_MODELS",
    "MARQUEE_MODEL_REGIONS",
    "MARQUEE_BUCKET",
    "MARQUEE_LINK_TTL",
    "MARQUEE_LOG",
    "SLACK_SIGNING_SECRET_ARN",
    "MARQUEE_LINK_KEY_ARN",
];

/// Variables that must never appear in the deployed configuration: secret values (they go
/// through Secrets Manager) and settings of the local-disk store.
const FORBIDDEN_ENV_VARS: &[&str] = &[
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "MARQUEE_DATA_DIR",
    "MARQUEE_PUBLIC_URL",
    "MARQUEE_LINK_KEY",
];

/// The bot scopes the manifest asks for; see docs/INSTALL.md for why each is needed.
const EXPECTED_SCOPES: &[&str] = &["commands", "chat:write", "chat:write.public", "files:write"];

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn template() -> Node {
    parse_yaml(&repo_file("template.yaml"))
}

fn function(template: &Node) -> &Node {
    template.at(&["Resources", "MarqueeFunction"])
}

// ---------------------------------------------------------------------------------------------
// template.yaml
// ---------------------------------------------------------------------------------------------

#[test]
fn template_sets_only_environment_variables_the_config_reads() {
    let t = template();
    let vars = function(&t).at(&["Properties", "Environment", "Variables"]);
    let names: BTreeSet<&str> = vars.keys().collect();
    assert!(!names.is_empty(), "no environment variables found");

    for name in &names {
        assert!(
            ENV_VARS.contains(name) || AWS_ENV_VARS.contains(name),
            "template sets {name}, which marquee::config::ENV_VARS does not list"
        );
    }
    for name in REQUIRED_ENV_VARS {
        assert!(names.contains(name), "template does not set {name}");
    }
    for name in FORBIDDEN_ENV_VARS {
        assert!(!names.contains(name), "template must not set {name}");
    }
}

#[test]
fn template_routes_are_the_routers_routes() {
    let t = template();
    let events = function(&t).at(&["Properties", "Events"]);
    let mut served = BTreeSet::new();
    for (name, event) in events.entries() {
        assert_eq!(event.at(&["Type"]).scalar(), "HttpApi", "event {name}");
        let method = event
            .at(&["Properties", "Method"])
            .scalar()
            .to_ascii_uppercase();
        let path = event.at(&["Properties", "Path"]).scalar().to_owned();
        assert!(
            served.insert((method, path)),
            "event {name} repeats a route"
        );
    }

    let expected: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_owned(), api_gateway_path(p)))
        .collect();
    assert_eq!(
        served, expected,
        "template routes vs marquee::http::routes()"
    );
}

/// An axum route path as API Gateway writes it: a greedy `{*key}` is `{key+}` there.
fn api_gateway_path(axum: &str) -> String {
    axum.split('/')
        .map(|segment| match segment.strip_prefix("{*") {
            Some(rest) => format!("{{{}+}}", rest.trim_end_matches('}')),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn only_the_rest_door_requires_iam_auth() {
    let t = template();
    let events = function(&t).at(&["Properties", "Events"]);
    for (name, event) in events.entries() {
        let path = event.at(&["Properties", "Path"]).scalar();
        let authorizer = event
            .get(&["Properties", "Auth", "Authorizer"])
            .map(Node::scalar);
        if path == "/v1/posters" {
            assert_eq!(authorizer, Some("AWS_IAM"), "event {name}");
        } else {
            // Slack cannot sign with SigV4; its requests are verified by the function.
            assert_eq!(authorizer, None, "event {name} ({path})");
        }
    }
    let api_auth = t.at(&["Resources", "HttpApi", "Properties", "Auth"]);
    assert_eq!(api_auth.at(&["EnableIamAuthorizer"]).scalar(), "true");
    assert!(
        api_auth.get(&["DefaultAuthorizer"]).is_none(),
        "a default authorizer would lock Slack out"
    );
}

#[test]
fn template_builds_the_lambda_binary_of_this_crate() {
    let t = template();
    let f = function(&t);
    assert_eq!(
        f.at(&["Metadata", "BuildMethod"]).scalar(),
        "rust-cargolambda"
    );
    assert_eq!(
        f.at(&["Metadata", "BuildProperties", "Binary"]).scalar(),
        LAMBDA_BINARY
    );
    assert_eq!(f.at(&["Properties", "Handler"]).scalar(), "bootstrap");
    assert_eq!(f.at(&["Properties", "Runtime"]).scalar(), "provided.al2023");
    assert_eq!(f.at(&["Properties", "CodeUri"]).scalar(), ".");

    // Cargo builds integration tests after every binary of the package and tells them where
    // each one is; its absence means no binary of that name exists.
    let built = option_env!("CARGO_BIN_EXE_marquee-lambda");
    let declared = cargo_bin_names(&repo_file("Cargo.toml"));
    let auto_discovered = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("src/bin/{LAMBDA_BINARY}.rs"))
        .exists();
    assert!(
        built.is_some() && (declared.contains(LAMBDA_BINARY) || auto_discovered),
        "Cargo.toml declares binaries {declared:?}; none is {LAMBDA_BINARY} \
         and src/bin/{LAMBDA_BINARY}.rs does not exist"
    );
}

#[test]
fn lambda_never_retries_a_job() {
    let t = template();
    let config = function(&t).at(&["Properties", "EventInvokeConfig"]);
    assert_eq!(config.at(&["MaximumRetryAttempts"]).scalar(), "0");
    let age: u32 = config
        .at(&["MaximumEventAgeInSeconds"])
        .scalar()
        .parse()
        .unwrap();
    // Slack's response_url lives 30 minutes; a job delivered later cannot answer anyone.
    assert!((60..=1800).contains(&age), "MaximumEventAgeInSeconds {age}");
}

#[test]
fn function_timeout_outlasts_the_model_timeout() {
    let t = template();
    let props = function(&t).at(&["Properties"]);
    let timeout: u64 = props.at(&["Timeout"]).scalar().parse().unwrap();
    let model = props
        .at(&["Environment", "Variables", "MARQUEE_MODEL_TIMEOUT"])
        .scalar();
    let model_secs = marquee_duration_secs(model);
    assert!(timeout >= 60, "Timeout {timeout}");
    assert!(
        timeout >= 2 * model_secs + 30,
        "Timeout {timeout}s leaves the worker no time to report a slow model ({model})"
    );
}

#[test]
fn template_holds_no_secret_values() {
    let text = repo_file("template.yaml");
    // Slack tokens look like `xoxb-1234…`/`xapp-1-…` (naming the prefix in prose is fine);
    // AWS access key ids start with AKIA.
    for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxe-", "xapp-", "AKIA"] {
        for (i, _) in text.match_indices(prefix) {
            let next = text[i + prefix.len()..].chars().next().unwrap_or(' ');
            assert!(
                !(next.is_ascii_digit() || prefix == "AKIA" && next.is_ascii_uppercase()),
                "template contains what looks like a credential at byte {i}"
            );
        }
    }
    // Slack signing secrets are 32 hex digits; nothing in the template looks like that.
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let hexish = word.len() >= 32 && word.chars().all(|c| c.is_ascii_hexdigit());
        assert!(!hexish, "template contains a secret-looking {word:?}");
    }
    // The stack creates Slack's secrets empty; values are put afterwards, outside
    // CloudFormation. The link key is nobody's to type: Secrets Manager generates it.
    let t = parse_yaml(&text);
    for (name, resource) in t.at(&["Resources"]).entries() {
        if resource.at(&["Type"]).scalar() == "AWS::SecretsManager::Secret" {
            let props = resource.at(&["Properties"]);
            assert!(
                props.get(&["SecretString"]).is_none(),
                "{name} sets SecretString"
            );
            let generated = props.get(&["GenerateSecretString"]).is_some();
            assert_eq!(
                generated,
                name == "LinkKeySecret",
                "{name}: only the link key is generated"
            );
        }
    }
}

#[test]
fn bucket_is_private_encrypted_and_expires_posters() {
    let t = template();
    let bucket = t.at(&["Resources", "PosterBucket", "Properties"]);
    let block = bucket.at(&["PublicAccessBlockConfiguration"]);
    for key in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block.at(&[key]).scalar(), "true", "{key}");
    }
    assert!(bucket.get(&["BucketEncryption"]).is_some());
    let rules = bucket.at(&["LifecycleConfiguration", "Rules"]).items();
    assert!(
        rules
            .iter()
            .any(|r| r.get(&["Prefix"]).map(Node::scalar) == Some("posters/")),
        "no lifecycle rule for posters/"
    );
}

/// The `bedrock:InvokeModel` ARNs the function's role is granted for these parameter values.
fn invoke_model_arns(params: &[(&str, &str)]) -> BTreeSet<String> {
    let mut d = cfn::Deployment::from_repo().bucket("PosterBucket", "posters-bucket");
    for (k, v) in params {
        d = d.param(k, v);
    }
    let statements = d.function_statements("MarqueeFunction");
    let bedrock: Vec<_> = statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("bedrock:")))
        .collect();
    for s in &bedrock {
        assert!(s.allow, "{s:?}");
        assert_eq!(s.actions, ["bedrock:InvokeModel"], "{s:?}");
    }
    bedrock
        .iter()
        .flat_map(|s| s.resources.iter().cloned())
        .collect()
}

fn model_arn(region: &str, model: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model}")
}

/// Least privilege across regions: exactly the configured models, each in its family's region
/// (Stability in StabilityRegion, Nova Canvas in NovaRegion), whatever the mix.
#[test]
fn iam_grants_each_configured_model_in_its_familys_region() {
    let sd = "stability.sd3-5-large-v1:0";
    let core = "stability.stable-image-core-v1:1";
    let nova = "amazon.nova-canvas-v1:0";
    assert_eq!(
        invoke_model_arns(&[]),
        BTreeSet::from([model_arn("us-west-2", sd)]),
        "the defaults"
    );
    assert_eq!(
        invoke_model_arns(&[
            ("DefaultModel", sd),
            ("AllowedModels", &format!("{core},{nova}")),
        ]),
        BTreeSet::from([
            model_arn("us-west-2", sd),
            model_arn("us-west-2", core),
            model_arn("us-east-1", nova),
        ])
    );
    assert_eq!(
        invoke_model_arns(&[
            ("DefaultModel", nova),
            ("AllowedModels", &format!("{nova},{core},offline")),
            ("NovaRegion", "eu-west-1"),
            ("StabilityRegion", "us-east-2"),
        ]),
        BTreeSet::from([
            model_arn("eu-west-1", nova),
            model_arn("us-east-2", core),
            // The offline model is never sent to Bedrock; its ARN names nothing that exists.
            model_arn("us-east-2", "offline"),
        ])
    );
}

/// What the template tells the function (MARQUEE_MODEL_REGIONS from the family parameters)
/// makes `marquee::config` call every model where the IAM policy allows it, and where Bedrock
/// serves it.
#[test]
fn the_templates_model_settings_put_each_model_in_its_granted_region() {
    let allowed = "stability.stable-image-core-v1:1,amazon.nova-canvas-v1:0,offline";
    let d = cfn::Deployment::from_repo()
        .bucket("PosterBucket", "posters-bucket")
        .param("AllowedModels", allowed);
    let env: BTreeMap<String, String> = d.function_env("MarqueeFunction");
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("the template's env");
    let arns = invoke_model_arns(&[("AllowedModels", allowed)]);
    let expected = [
        (ModelId::Sd35Large, "us-west-2"),
        (ModelId::StableImageCore, "us-west-2"),
        (ModelId::NovaCanvas, "us-east-1"),
    ];
    for (model, region) in expected {
        assert_eq!(config.region_for(model), Some(region), "{model}");
        let arn = model_arn(region, model.bedrock_id().unwrap());
        assert!(arns.contains(&arn), "{arn} not granted: {arns:?}");
    }
    assert_eq!(config.region_for(ModelId::Offline), None);
}

/// Retake locks live under locks/: the role may take (conditional put), read and release
/// them, and S3 expires any a crash leaves behind.
#[test]
fn retake_locks_are_granted_and_expire() {
    let d = cfn::Deployment::from_repo().bucket("PosterBucket", "posters-bucket");
    let statements = d.function_statements("MarqueeFunction");
    for action in ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"] {
        assert!(
            cfn::allows(
                &statements,
                action,
                "arn:aws:s3:::posters-bucket/locks/0b7c.json"
            ),
            "{action} on locks/"
        );
    }
    assert!(!cfn::allows(
        &statements,
        "s3:DeleteObject",
        "arn:aws:s3:::posters-bucket/posters/0b7c.png"
    ));
    let t = template();
    let rules = t
        .at(&[
            "Resources",
            "PosterBucket",
            "Properties",
            "LifecycleConfiguration",
            "Rules",
        ])
        .items();
    assert!(
        rules
            .iter()
            .any(|r| r.get(&["Prefix"]).map(Node::scalar) == Some("locks/")
                && r.get(&["ExpirationInDays"]).map(Node::scalar) == Some("1")),
        "no one-day lifecycle rule for locks/"
    );
}

/// `sam build` of a rust-cargolambda function is a SAM beta feature: without the opt-in SAM
/// prompts `[y/N]` and a build without a terminal aborts. samconfig.toml opts in and carries the
/// deploy defaults docs/INSTALL.md relies on.
#[test]
fn samconfig_opts_into_the_rust_build_and_sets_deploy_defaults() {
    let text = repo_file("samconfig.toml");
    let mut section = String::new();
    let mut settings = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_owned();
        } else if let Some((k, v)) = line.split_once('=')
            && !line.starts_with('#')
        {
            settings.insert(format!("{section}.{}={}", k.trim(), v.trim()));
        }
    }
    for expected in [
        "default.build.parameters.beta_features=true",
        "default.deploy.parameters.capabilities=\"CAPABILITY_IAM\"",
        "default.deploy.parameters.confirm_changeset=true",
        "default.deploy.parameters.resolve_s3=true",
    ] {
        assert!(
            settings.contains(expected),
            "{expected} not in {settings:?}"
        );
    }
    assert_eq!(
        function(&template())
            .at(&["Metadata", "BuildMethod"])
            .scalar(),
        "rust-cargolambda"
    );
}

// ---------------------------------------------------------------------------------------------
// manifest/manifest.yaml
// ---------------------------------------------------------------------------------------------

const BASE: &str = "https://abc123.execute-api.us-west-2.amazonaws.com";

fn rendered_manifest() -> Node {
    parse_yaml(&render(BASE).unwrap_or_else(|e| panic!("render: {e}")))
}

fn chars(node: &Node) -> usize {
    node.scalar().chars().count()
}

fn assert_routed(url: &str, route: &str) {
    assert_eq!(url, format!("{BASE}{route}"));
    assert!(
        routes()
            .iter()
            .any(|(m, p)| m == http::Method::POST && *p == route),
        "POST {route} is not a route"
    );
}

#[test]
fn manifest_display_information_is_within_slacks_limits() {
    // Limits from Slack's manifest schema (slackapi/manifest-schema): name 1..=35,
    // description 1..=140, long_description 175..=4000, background_color #rgb or #rrggbb.
    let m = rendered_manifest();
    let info = m.at(&["display_information"]);
    assert_eq!(info.at(&["name"]).scalar(), "Marquee");
    assert!((1..=35).contains(&chars(info.at(&["name"]))));
    assert!((1..=140).contains(&chars(info.at(&["description"]))));
    assert!((175..=4000).contains(&chars(info.at(&["long_description"]))));
    let color = info.at(&["background_color"]).scalar();
    let hex = color.strip_prefix('#').unwrap_or("");
    assert!(
        matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "background_color {color:?}"
    );
    let bot = m.at(&["features", "bot_user"]);
    assert_eq!(bot.at(&["display_name"]).scalar(), "Marquee");
    assert_eq!(bot.at(&["always_online"]).scalar(), "true");
}

#[test]
fn manifest_slash_command_is_poster_on_a_real_route() {
    let m = rendered_manifest();
    let commands = m.at(&["features", "slash_commands"]).items();
    assert_eq!(commands.len(), 1);
    let poster = &commands[0];
    // Schema limits: command 2..=32 starting with '/', description 1..=2000,
    // usage_hint 1..=1000. Slack's settings page shows far less, so keep both short.
    assert_eq!(poster.at(&["command"]).scalar(), "/poster");
    assert_routed(poster.at(&["url"]).scalar(), "/slack/commands");
    assert!((1..=100).contains(&chars(poster.at(&["description"]))));
    let hint = poster.at(&["usage_hint"]).scalar();
    assert!((1..=1000).contains(&hint.chars().count()));
    for flag in [
        "--title",
        "--tagline",
        "--style",
        "--ar",
        "--seed",
        "--model",
    ] {
        assert!(hint.contains(flag), "usage_hint lacks {flag}: {hint}");
    }
    // Marquee parses the raw text itself; escaping would turn @mentions into <@U…> markup.
    assert_eq!(poster.at(&["should_escape"]).scalar(), "false");
}

#[test]
fn manifest_interactivity_and_settings() {
    let m = rendered_manifest();
    let interactivity = m.at(&["settings", "interactivity"]);
    assert_eq!(interactivity.at(&["is_enabled"]).scalar(), "true");
    assert_routed(
        interactivity.at(&["request_url"]).scalar(),
        "/slack/interactions",
    );
    for key in [
        "org_deploy_enabled",
        "socket_mode_enabled",
        "token_rotation_enabled",
    ] {
        assert_eq!(m.at(&["settings", key]).scalar(), "false", "{key}");
    }
}

#[test]
fn manifest_asks_for_exactly_the_needed_scopes() {
    let m = rendered_manifest();
    let scopes: BTreeSet<&str> = m
        .at(&["oauth_config", "scopes", "bot"])
        .items()
        .iter()
        .map(Node::scalar)
        .collect();
    let expected: BTreeSet<&str> = EXPECTED_SCOPES.iter().copied().collect();
    assert_eq!(scopes, expected);
    assert!(
        m.get(&["oauth_config", "scopes", "user"]).is_none(),
        "no user scopes"
    );
}

#[test]
fn rendering_only_replaces_the_base_url() {
    let rendered = render(BASE).unwrap();
    assert!(!rendered.contains("YOUR-API"));
    assert!(!rendered.contains(PLACEHOLDER_BASE_URL));
    assert_eq!(
        rendered,
        MANIFEST_TEMPLATE.replace(PLACEHOLDER_BASE_URL, BASE)
    );
    // The unrendered file parses to the same shape, so Slack sees what the tests checked.
    let raw = parse_yaml(MANIFEST_TEMPLATE);
    assert_eq!(
        raw.keys().collect::<Vec<_>>(),
        rendered_manifest().keys().collect::<Vec<_>>()
    );
}

#[test]
fn manifest_routes_are_served_by_the_template() {
    let t = template();
    let paths: BTreeSet<String> = function(&t)
        .at(&["Properties", "Events"])
        .entries()
        .map(|(_, e)| e.at(&["Properties", "Path"]).scalar().to_owned())
        .collect();
    for route in ["/slack/commands", "/slack/interactions"] {
        assert!(paths.contains(route), "template does not serve {route}");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers: Cargo.toml binaries, durations, and the YAML subset parser.
// ---------------------------------------------------------------------------------------------

/// Names of `[[bin]]` targets in a Cargo.toml (line-based; the file is simple TOML).
fn cargo_bin_names(toml: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_bin = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(value) = line.strip_prefix("name").map(str::trim)
            && let Some(value) = value.strip_prefix('=')
        {
            names.insert(value.trim().trim_matches('"').to_owned());
        }
    }
    names
}

/// Seconds in a duration written the way `marquee::config` reads it (`90`, `90s`, `2m`, …).
fn marquee_duration_secs(text: &str) -> u64 {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("duration {text:?}"));
    match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => panic!("duration {text:?}"),
    }
}

/// A YAML value in the subset these files use. A tag with a nested block (`!If` followed by
/// an indented list) becomes a one-entry map from the tag to the block; a tag with an inline
/// argument (`!Ref Bucket`) and flow collections (`[a, b]`) stay scalars, as written.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    fn get(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self;
        for key in path {
            node = match node {
                Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)?,
                _ => return None,
            };
        }
        Some(node)
    }

    fn at(&self, path: &[&str]) -> &Node {
        self.get(path)
            .unwrap_or_else(|| panic!("no {} in the YAML", path.join(".")))
    }

    fn scalar(&self) -> &str {
        match self {
            Node::Scalar(s) => s,
            other => panic!("expected a scalar, found {other:?}"),
        }
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        match self {
            Node::Map(entries) => entries.iter().map(|(k, v)| (k.as_str(), v)),
            other => panic!("expected a map, found {other:?}"),
        }
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().map(|(k, _)| k)
    }

    fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            other => panic!("expected a list, found {other:?}"),
        }
    }
}

struct Line {
    number: usize,
    indent: usize,
    text: String,
    /// The text of a `>`/`|` block scalar that followed this line, already folded.
    block: Option<String>,
}

fn parse_yaml(source: &str) -> Node {
    let lines = lex(source);
    let mut pos = 0;
    let indent = lines.first().map_or(0, |l| l.indent);
    let node = parse_block(&lines, &mut pos, indent);
    if let Some(line) = lines.get(pos) {
        panic!(
            "line {}: unexpected indentation: {}",
            line.number, line.text
        );
    }
    node
}

/// Splits the source into meaningful lines: comments and blank lines dropped, block scalars
/// gathered onto the line that introduces them.
fn lex(source: &str) -> Vec<Line> {
    let raw: Vec<&str> = source.lines().collect();
    let mut lines: Vec<Line> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let line = raw[i];
        i += 1;
        assert!(
            !line.starts_with('\t'),
            "line {i}: tabs are not YAML indentation"
        );
        let indent = line.len() - line.trim_start().len();
        let text = strip_comment(line.trim());
        if text.is_empty() {
            continue;
        }
        let number = i;
        let mut block = None;
        let style = text
            .rsplit_once(' ')
            .map_or(text.as_str(), |(_, last)| last);
        if text.ends_with(':') || !matches!(style, ">" | ">-" | "|" | "|-") {
            lines.push(Line {
                number,
                indent,
                text,
                block,
            });
            continue;
        }
        let mut parts = Vec::new();
        while i < raw.len() {
            let next = raw[i];
            let next_indent = next.len() - next.trim_start().len();
            if !next.trim().is_empty() && next_indent <= indent {
                break;
            }
            parts.push(next.trim());
            i += 1;
        }
        while parts.last() == Some(&"") {
            parts.pop();
        }
        let sep = if style.starts_with('>') { " " } else { "\n" };
        block = Some(parts.join(sep));
        let head = text[..text.len() - style.len()].trim_end().to_owned();
        lines.push(Line {
            number,
            indent,
            text: head,
            block,
        });
    }
    lines
}

/// Removes a trailing ` # comment` that is not inside quotes.
fn strip_comment(text: &str) -> String {
    if text.starts_with('#') {
        return String::new();
    }
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single && !double && prev == ' ' => return text[..i].trim_end().to_owned(),
            _ => {}
        }
        prev = c;
    }
    text.to_owned()
}

fn parse_block(lines: &[Line], pos: &mut usize, indent: usize) -> Node {
    if is_seq_item(&lines[*pos].text) {
        parse_seq(lines, pos, indent)
    } else {
        parse_map(lines, pos, indent)
    }
}

fn is_seq_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// `key: value` or `key:`; `None` for anything else. Keys are never quoted in these files.
fn split_key(text: &str) -> Option<(&str, &str)> {
    if text.starts_with(['"', '\'', '!', '[', '{']) {
        return None;
    }
    if let Some(key) = text.strip_suffix(':')
        && !key.contains(": ")
    {
        return Some((key, ""));
    }
    text.split_once(": ").map(|(k, v)| (k, v.trim()))
}

/// The value after a key or dash: a block scalar, an inline scalar, a tag introducing a
/// nested block, or a nested block.
fn parse_value(
    lines: &[Line],
    pos: &mut usize,
    owner: usize,
    value: &str,
    block: Option<&String>,
) -> Node {
    if let Some(text) = block {
        return Node::Scalar(text.clone());
    }
    let nested = lines
        .get(*pos)
        .filter(|l| l.indent > owner)
        .map(|l| l.indent);
    match (value, nested) {
        ("", Some(indent)) => parse_block(lines, pos, indent),
        ("", None) => Node::Scalar(String::new()),
        (tag, Some(indent)) if tag.starts_with('!') && !tag.contains(' ') => {
            Node::Map(vec![(tag.to_owned(), parse_block(lines, pos, indent))])
        }
        (_, Some(_)) => panic!(
            "line {}: multi-line plain scalars are outside the supported subset",
            lines[*pos].number
        ),
        (scalar, None) => Node::Scalar(unquote(scalar)),
    }
}

fn parse_map(lines: &[Line], pos: &mut usize, indent: usize) -> Node {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent {
            break;
        }
        assert!(
            line.indent == indent && !is_seq_item(&line.text),
            "line {}: unexpected indentation: {}",
            line.number,
            line.text
        );
        let (key, value) = split_key(&line.text).unwrap_or_else(|| {
            panic!("line {}: expected `key: value`: {}", line.number, line.text)
        });
        *pos += 1;
        let node = parse_value(lines, pos, indent, value, line.block.as_ref());
        assert!(
            !entries.iter().any(|(k, _)| k == key),
            "line {}: duplicate key {key}",
            line.number
        );
        entries.push((key.to_owned(), node));
    }
    Node::Map(entries)
}

fn parse_seq(lines: &[Line], pos: &mut usize, indent: usize) -> Node {
    let mut items = Vec::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent || !is_seq_item(&line.text) || line.indent != indent {
            assert!(
                line.indent <= indent,
                "line {}: unexpected indentation: {}",
                line.number,
                line.text
            );
            break;
        }
        let rest = line.text[1..].trim_start();
        let item_indent = indent + (line.text.len() - rest.len());
        if split_key(rest).is_some() {
            // `- key: value` opens a map whose further keys sit under `key`.
            let mut inner: Vec<Line> = vec![Line {
                number: line.number,
                indent: item_indent,
                text: rest.to_owned(),
                block: line.block.clone(),
            }];
            let mut end = *pos + 1;
            while let Some(next) = lines.get(end) {
                if next.indent < item_indent {
                    break;
                }
                inner.push(Line {
                    number: next.number,
                    indent: next.indent,
                    text: next.text.clone(),
                    block: next.block.clone(),
                });
                end += 1;
            }
            let mut inner_pos = 0;
            items.push(parse_map(&inner, &mut inner_pos, item_indent));
            *pos = end;
        } else {
            *pos += 1;
            items.push(parse_value(lines, pos, indent, rest, line.block.as_ref()));
        }
    }
    Node::Seq(items)
}

fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        value[1..value.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        value[1..value.len() - 1].replace("''", "'")
    } else {
        value.to_owned()
    }
}

#[test]
fn the_yaml_subset_parser_reads_what_the_files_use() {
    let doc = "\
# comment
a: 1
b:
  - x
  - key: v # trailing comment
    other: 'it''s'
c: >-
  folded
  text: with colon
d: !If
  - Cond
  - !Ref X
e: \"quoted # not a comment\"
";
    let n = parse_yaml(doc);
    assert_eq!(n.at(&["a"]).scalar(), "1");
    assert_eq!(n.at(&["b"]).items()[0].scalar(), "x");
    assert_eq!(n.at(&["b"]).items()[1].at(&["key"]).scalar(), "v");
    assert_eq!(n.at(&["b"]).items()[1].at(&["other"]).scalar(), "it's");
    assert_eq!(n.at(&["c"]).scalar(), "folded text: with colon");
    assert_eq!(n.at(&["d", "!If"]).items()[1].scalar(), "!Ref X");
    assert_eq!(n.at(&["e"]).scalar(), "quoted # not a comment");
}
