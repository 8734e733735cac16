//! Deployment drift: `template.yaml` and `manifest/manifest.yaml` must agree with the crate.
//!
//! The SAM template and the Slack manifest are written by hand, next to code that can change
//! under them. These tests pin the contract between them: every environment variable the
//! template sets is one `marquee_service::config` reads, the HTTP API serves exactly the router's
//! non-local routes, the built binary is the one the template names, Lambda never retries a
//! job, no secret value sits in the template, every alarm and dashboard widget watches a metric
//! this deployment emits (Marquee's own from `marquee_core::metrics::PUBLISHED`, or AWS's of this
//! very function and its queues), and the manifest points Slack at routes that exist, within
//! Slack's field limits.
//!
//! The template is read through `tests/it/support/cfn.rs`, the CloudFormation evaluator the test
//! stack also uses, so `!Ref`, `!Sub` and `!If` mean here what they mean on AWS. Values are
//! checked as the stack would get them with the parameters' defaults; what must never be
//! written (a secret, an authorizer on Slack's routes) or left to a parameter (the retry
//! count) is checked in the YAML as written, whatever the conditions. The manifest has no
//! tags and is read as plain YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

use crate::support::cfn::{self, Deployment, Evaluated};
use marquee_core::model::{ModelId, Service, catalog};
use marquee_core::slack::manifest::{MANIFEST_TEMPLATE, PLACEHOLDER_BASE_URL, render};
use marquee_service::config::{Config, ENV_VARS};
use marquee_service::http::routes;

/// The name of the Lambda binary (crates/marquee-lambda).
const LAMBDA_BINARY: &str = "marquee-lambda";

/// Variables Lambda itself understands that the template may set besides Marquee's own.
const AWS_ENV_VARS: &[&str] = &["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL"];

/// Variables a deployment cannot work without.
const REQUIRED_ENV_VARS: &[&str] = &[
    "MARQUEE_MODEL",
    "MARQUEE_ALLOWED_MODELS",
    "MARQUEE_MODEL_REGIONS",
    "MARQUEE_BUCKET",
    "MARQUEE_TABLE",
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
    // The REST door of `marquee serve`; in Lambda it requires IAM auth instead.
    "MARQUEE_API_TOKEN",
];

/// The bot scopes the manifest asks for; see docs/INSTALL.md for why each is needed.
const EXPECTED_SCOPES: &[&str] = &[
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    // Use a picture…: a `file_input` in a modal, and downloading what was uploaded there.
    "files:read",
    "usergroups:read",
    // Mentions (`app_mention`) and direct messages (`message.im`) at /slack/events.
    "app_mentions:read",
    "im:history",
    // The Home tab's Settings: whether the person is an admin or owner (`users.info`).
    "users:read",
];

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The Lambda function's logical id in the template.
const FUNCTION: &str = "MarqueeFunction";

/// The state table's logical id in the template.
const STATE_TABLE: &str = "StateTable";

/// The state table's name and ARN in [`deployment`].
const TABLE_NAME: &str = "state-table";
const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/state-table";

/// The template with its parameters' defaults; the bucket and the table are named so `!GetAtt`
/// of them evaluates.
fn deployment() -> Deployment {
    Deployment::from_repo()
        .bucket("PosterBucket", "posters-bucket")
        .table(STATE_TABLE, TABLE_NAME)
}

/// The function resource's value at `path` (e.g. `["Properties", "Timeout"]`), evaluated.
fn function_at(d: &Deployment, path: &[&str]) -> Evaluated {
    let full: Vec<&str> = ["Resources", FUNCTION]
        .iter()
        .chain(path)
        .copied()
        .collect();
    d.eval_at(&full)
}

/// The entries of a YAML map, by their string keys; panics on anything else.
fn entries(map: &Value) -> impl Iterator<Item = (&str, &Value)> {
    map.as_mapping()
        .unwrap_or_else(|| panic!("expected a map, found {map:?}"))
        .iter()
        .map(|(k, v)| {
            let key = k
                .as_str()
                .unwrap_or_else(|| panic!("expected a string key, found {k:?}"));
            (key, v)
        })
}

// ---------------------------------------------------------------------------------------------
// template.yaml
// ---------------------------------------------------------------------------------------------

#[test]
fn template_sets_only_environment_variables_the_config_reads() {
    // The names as written, whatever the conditions: one an `!If` leaves out at the defaults
    // is still one a deployment may set.
    let d = deployment();
    let vars = d.at(&[
        "Resources",
        FUNCTION,
        "Properties",
        "Environment",
        "Variables",
    ]);
    let names: BTreeSet<&str> = entries(vars).map(|(name, _)| name).collect();
    assert!(!names.is_empty(), "no environment variables found");

    for name in &names {
        assert!(
            ENV_VARS.contains(name) || AWS_ENV_VARS.contains(name),
            "template sets {name}, which marquee_service::config::ENV_VARS does not list"
        );
    }
    for name in REQUIRED_ENV_VARS {
        assert!(names.contains(name), "template does not set {name}");
    }
    for name in FORBIDDEN_ENV_VARS {
        assert!(!names.contains(name), "template must not set {name}");
    }
}

/// The function's HTTP API events (its routes), by name; the one other event is the
/// failed-job queue (checked by `failed_jobs_are_recorded_encrypted_and_read_back`).
fn http_events(d: &Deployment) -> BTreeMap<String, Evaluated> {
    let events = function_at(d, &["Properties", "Events"]);
    let mut http = BTreeMap::new();
    for (name, event) in events.as_map() {
        match event.at(&["Type"]).as_str() {
            "HttpApi" => {
                http.insert(name.clone(), event.clone());
            }
            "SQS" => assert_eq!(
                name, "FailedJobs",
                "an SQS event other than the failed jobs"
            ),
            other => panic!("event {name} has type {other}"),
        }
    }
    http
}

#[test]
fn template_routes_are_the_routers_routes() {
    let mut served = BTreeSet::new();
    for (name, event) in http_events(&deployment()) {
        let method = event
            .at(&["Properties", "Method"])
            .as_str()
            .to_ascii_uppercase();
        let path = event.at(&["Properties", "Path"]).as_str().to_owned();
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
        "template routes vs marquee_service::http::routes()"
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
    let d = deployment();
    for (name, event) in &http_events(&d) {
        let path = event.at(&["Properties", "Path"]).as_str();
        if path.starts_with("/v1/posters") {
            let authorizer = event
                .find(&["Properties", "Auth", "Authorizer"])
                .map(Evaluated::as_str);
            assert_eq!(authorizer, Some("AWS_IAM"), "event {name}");
        } else {
            // Slack cannot sign with SigV4; its requests are verified by the function. Read as
            // written, so no condition can put an authorizer on these routes either.
            let written = d.find(&[
                "Resources",
                FUNCTION,
                "Properties",
                "Events",
                name,
                "Properties",
                "Auth",
                "Authorizer",
            ]);
            assert_eq!(written, None, "event {name} ({path})");
        }
    }
    let api_auth = &["Resources", "HttpApi", "Properties", "Auth"];
    assert_eq!(
        d.eval_at(api_auth).at(&["EnableIamAuthorizer"]).as_str(),
        "true"
    );
    assert!(
        d.at(api_auth).get("DefaultAuthorizer").is_none(),
        "a default authorizer would lock Slack out"
    );
}

/// REST waits cannot starve Slack's acks (#22, item 9): a `Prefer: wait` request holds one of
/// the function's executions for up to `marquee_service::http::MAX_WAIT`, so the REST door's `POST`
/// route carries its own throttle, and burst + rate × MAX_WAIT — the most executions REST
/// waits can hold at once — stays at 10 or below. Slack's routes carry no such throttle.
#[test]
fn rest_waits_hold_a_bounded_number_of_executions() {
    let d = deployment();
    let max_wait = marquee_service::http::MAX_WAIT.as_secs_f64();
    assert!(max_wait <= 10.0, "MAX_WAIT is {max_wait} s");
    let number = |e: &Evaluated, name: &str| -> f64 {
        e.as_str()
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number: {:?}", e.as_str()))
    };
    let mut throttled = Vec::new();
    for (name, event) in &http_events(&d) {
        let Some(settings) = event.find(&["Properties", "RouteSettings"]) else {
            continue;
        };
        throttled.push(name.clone());
        let burst = number(
            settings.at(&["ThrottlingBurstLimit"]),
            "ThrottlingBurstLimit",
        );
        let rate = number(settings.at(&["ThrottlingRateLimit"]), "ThrottlingRateLimit");
        let held = burst + rate * max_wait;
        assert!(
            held <= 10.0,
            "{name}: REST waits could hold {held} executions (burst {burst}, rate {rate}/s)"
        );
    }
    assert_eq!(
        throttled,
        ["RestPosters"],
        "only the waiting route is throttled"
    );
    let route = function_at(&d, &["Properties", "Events", "RestPosters", "Properties"]);
    assert_eq!(
        (route.at(&["Method"]).as_str(), route.at(&["Path"]).as_str()),
        ("POST", "/v1/posters")
    );
}

#[test]
fn template_builds_the_lambda_binary_of_this_crate() {
    let d = deployment();
    let f = |path: &[&str]| function_at(&d, path).as_str().to_owned();
    assert_eq!(f(&["Metadata", "BuildMethod"]), "rust-cargolambda");
    assert_eq!(f(&["Metadata", "BuildProperties", "Binary"]), LAMBDA_BINARY);
    assert_eq!(f(&["Properties", "Handler"]), "bootstrap");
    assert_eq!(f(&["Properties", "Runtime"]), "provided.al2023");
    assert_eq!(f(&["Properties", "CodeUri"]), ".");

    // The workspace has a package with a binary of that name (cargo lambda builds it from the
    // workspace root, where CodeUri points).
    let bins: Vec<&str> = crate::architecture::workspace()
        .packages
        .iter()
        .flat_map(|p| p.bins.iter().map(String::as_str))
        .collect();
    assert!(
        bins.contains(&LAMBDA_BINARY),
        "the workspace's binaries are {bins:?}; none is {LAMBDA_BINARY}"
    );
}

#[test]
fn lambda_never_retries_a_job() {
    let d = deployment();
    let config = &["Resources", FUNCTION, "Properties", "EventInvokeConfig"];
    // A literal 0, not merely 0 at the defaults: a parameter here would let a deploy turn
    // retries back on.
    assert_eq!(
        d.at(config).get("MaximumRetryAttempts"),
        Some(&Value::from(0))
    );
    let age: u32 = d
        .eval_at(config)
        .at(&["MaximumEventAgeInSeconds"])
        .as_str()
        .parse()
        .unwrap();
    // Slack's response_url lives 30 minutes; a job delivered later cannot answer anyone.
    assert!((60..=1800).contains(&age), "MaximumEventAgeInSeconds {age}");
}

/// Each model call's time comes from the catalog, and a call given up on is never retried:
/// the function must outlast the longest call any choice of parameters can make (the creative
/// upscaler's), with time left to tell the user.
#[test]
fn function_timeout_outlasts_the_longest_model_call() {
    let d = deployment()
        .param("AllowedModels", &offered_ids().join(","))
        .param("PrintUpscaler", "creative");
    let props = function_at(&d, &["Properties"]);
    let timeout: u64 = props.at(&["Timeout"]).as_str().parse().unwrap();
    let env: BTreeMap<String, String> = d.function_env(FUNCTION);
    assert!(
        !env.contains_key("MARQUEE_MODEL_TIMEOUT"),
        "the catalog gives each call its time"
    );
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("the template's env");
    let longest = config.longest_call().as_secs();
    assert_eq!(
        longest,
        Service::CreativeUpscale.row().call_timeout.as_secs()
    );
    assert!(
        timeout >= longest + 30,
        "Timeout {timeout}s leaves the worker no time to report a slow model ({longest}s)"
    );
}

/// The Bedrock ids of the models the catalog offers, and `offline`.
fn offered_ids() -> Vec<&'static str> {
    catalog::offered_models()
        .into_iter()
        .map(|m| m.bedrock_id().unwrap_or("offline"))
        .collect()
}

/// The method's "model facts come from one catalog": every model id the template accepts
/// (DefaultModel's AllowedValues, AllowedModels' pattern) or grants (the IAM ARNs, whatever
/// the parameters) is a catalog row that is not retired, and the template accepts every model
/// the catalog offers. No retired id appears anywhere in the template.
#[test]
fn the_templates_models_are_the_catalogs_offered_models() {
    let d = deployment();
    let offered: BTreeSet<&str> = offered_ids().into_iter().collect();
    // DefaultModel: exactly the offered ids.
    let values: BTreeSet<String> = d
        .at(&["Parameters", "DefaultModel", "AllowedValues"])
        .as_sequence()
        .expect("DefaultModel has AllowedValues")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        values,
        offered
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    // AllowedModels: one to four of the offered ids, and nothing else.
    let pattern = d
        .at(&["Parameters", "AllowedModels", "AllowedPattern"])
        .as_str()
        .unwrap()
        .to_owned();
    let inner = pattern
        .strip_prefix("^(")
        .and_then(|p| p.split_once(")(,("))
        .map(|(one, _)| one)
        .unwrap_or_else(|| panic!("unexpected AllowedModels pattern {pattern}"));
    let in_pattern: BTreeSet<String> = inner.split('|').map(|id| id.replace("\\.", ".")).collect();
    assert_eq!(
        in_pattern,
        offered
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        "{pattern}"
    );
    assert_eq!(pattern, format!("^({inner})(,({inner})){{0,3}}$"));
    for id in &in_pattern {
        if id != "offline" {
            let row = catalog::by_bedrock_id(id).unwrap_or_else(|| panic!("{id} not in catalog"));
            assert!(row.is_offered(), "{id} is retired");
        }
    }
    // IAM: every granted model or profile, with all offered models and each upscaler.
    for upscaler in ["none", "conservative", "creative"] {
        let arns = invoke_model_arns(&[
            ("AllowedModels", &offered_ids().join(",")),
            ("PrintUpscaler", upscaler),
        ]);
        for arn in &arns {
            let id = arn
                .rsplit_once('/')
                .map(|(_, id)| id)
                .unwrap_or_else(|| panic!("{arn}"));
            if id == "offline" {
                continue;
            }
            let row = catalog::by_bedrock_id(id).unwrap_or_else(|| panic!("{arn} not in catalog"));
            assert!(row.is_offered(), "{arn} grants a retired model");
        }
    }
    let text = repo_file("template.yaml");
    for row in catalog::CATALOG.iter().filter(|r| !r.is_offered()) {
        let id = row.bedrock_id.unwrap();
        assert!(!text.contains(id), "template.yaml still names {id}");
    }
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
    // CloudFormation. The link key is nobody's to type: Secrets Manager generates it. Read as
    // written, so no condition can slip a value in.
    let d = Deployment::parse(&text);
    for (name, _) in entries(d.at(&["Resources"])) {
        if d.eval_at(&["Resources", name, "Type"]).as_str() == "AWS::SecretsManager::Secret" {
            let props = d.at(&["Resources", name, "Properties"]);
            assert!(
                props.get("SecretString").is_none(),
                "{name} sets SecretString"
            );
            let generated = props.get("GenerateSecretString").is_some();
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
    let bucket = deployment().eval_at(&["Resources", "PosterBucket", "Properties"]);
    let block = bucket.at(&["PublicAccessBlockConfiguration"]);
    for key in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block.at(&[key]).as_str(), "true", "{key}");
    }
    assert!(bucket.get("BucketEncryption").is_some());
    let rules = bucket.at(&["LifecycleConfiguration", "Rules"]).as_list();
    assert!(
        rules
            .iter()
            .any(|r| r.get("Prefix").map(Evaluated::as_str) == Some("posters/")),
        "no lifecycle rule for posters/"
    );
}

/// The `bedrock:InvokeModel` ARNs the function's role is granted for these parameter values.
fn invoke_model_arns(params: &[(&str, &str)]) -> BTreeSet<String> {
    let mut d = deployment();
    for (k, v) in params {
        d = d.param(k, v);
    }
    let statements = d.function_statements(FUNCTION);
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

/// What a Stability image service called from `region` needs: its US inference profile there,
/// and its model in every region the profile routes to.
fn service_arns(region: &str, service: Service) -> Vec<String> {
    let mut arns = vec![format!(
        "arn:aws:bedrock:{region}:123456789012:inference-profile/{}",
        service.profile_id()
    )];
    for r in Service::PROFILE_REGIONS {
        arns.push(model_arn(r, service.bedrock_id()));
    }
    arns
}

/// Least privilege: exactly the configured models, in the Stability region, whatever the mix.
#[test]
fn iam_grants_each_configured_model_in_its_familys_region() {
    let sd = "stability.sd3-5-large-v1:0";
    let core = "stability.stable-image-core-v1:1";
    let ultra = "stability.stable-image-ultra-v1:1";
    let with = |models: &[String], services: &[Vec<String>]| -> BTreeSet<String> {
        models
            .iter()
            .cloned()
            .chain(services.iter().flatten().cloned())
            .collect()
    };
    assert_eq!(
        invoke_model_arns(&[]),
        with(
            &[model_arn("us-west-2", sd)],
            &[
                service_arns("us-west-2", Service::SearchReplace),
                service_arns("us-west-2", Service::Outpaint),
                service_arns("us-west-2", Service::SearchRecolor),
                service_arns("us-west-2", Service::StyleGuide),
                service_arns("us-west-2", Service::StyleTransfer),
            ]
        ),
        "the defaults: SD3.5, and Search and Replace, Outpaint, Recolor, Style Guide and Style Transfer for its art"
    );
    assert_eq!(
        invoke_model_arns(&[
            ("DefaultModel", sd),
            ("AllowedModels", &format!("{core},{ultra}")),
            ("ImageServices", "off"),
        ]),
        BTreeSet::from([
            model_arn("us-west-2", sd),
            model_arn("us-west-2", core),
            model_arn("us-west-2", ultra),
        ])
    );
    assert_eq!(
        invoke_model_arns(&[
            ("DefaultModel", core),
            ("AllowedModels", &format!("{core},offline")),
            ("StabilityRegion", "us-east-2"),
            ("PrintUpscaler", "creative"),
        ]),
        with(
            &[
                model_arn("us-east-2", core),
                // The offline model is never sent to Bedrock; its ARN names nothing that exists.
                model_arn("us-east-2", "offline"),
            ],
            &[
                service_arns("us-east-2", Service::SearchReplace),
                service_arns("us-east-2", Service::StyleGuide),
                service_arns("us-east-2", Service::StyleTransfer),
                service_arns("us-east-2", Service::Outpaint),
                service_arns("us-east-2", Service::CreativeUpscale),
                service_arns("us-east-2", Service::SearchRecolor),
            ]
        )
    );
    // Only the offline model: no Search and Replace (no Stability art); the upscaler alone.
    assert_eq!(
        invoke_model_arns(&[
            ("DefaultModel", "offline"),
            ("AllowedModels", "offline"),
            ("PrintUpscaler", "conservative"),
        ]),
        with(
            &[model_arn("us-west-2", "offline")],
            &[service_arns("us-west-2", Service::ConservativeUpscale)]
        )
    );
}

/// The template's service settings give the function exactly the services IAM grants.
#[test]
fn the_templates_service_settings_match_the_granted_services() {
    for (params, want) in [
        (
            vec![],
            vec![
                Service::SearchReplace,
                Service::Outpaint,
                Service::SearchRecolor,
                Service::StyleGuide,
                Service::StyleTransfer,
            ],
        ),
        (vec![("ImageServices", "off")], vec![]),
        (
            vec![("PrintUpscaler", "conservative")],
            vec![
                Service::SearchReplace,
                Service::Outpaint,
                Service::ConservativeUpscale,
                Service::SearchRecolor,
                Service::StyleGuide,
                Service::StyleTransfer,
            ],
        ),
        (
            vec![
                ("DefaultModel", "offline"),
                ("AllowedModels", "offline"),
                ("PrintUpscaler", "creative"),
            ],
            vec![Service::CreativeUpscale],
        ),
    ] {
        let mut d = deployment();
        for (k, v) in &params {
            d = d.param(k, v);
        }
        let env: BTreeMap<String, String> = d.function_env(FUNCTION);
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("the template's env");
        let arns = invoke_model_arns(&params);
        let granted: Vec<Service> = Service::ALL
            .into_iter()
            .filter(|s| {
                service_arns("us-west-2", *s)
                    .iter()
                    .all(|a| arns.contains(a))
            })
            .collect();
        assert_eq!(granted, want, "{params:?}");
        assert_eq!(config.services(), want, "{params:?}");
    }
}

/// What the template tells the function (MARQUEE_MODEL_REGIONS from the family parameters)
/// makes `marquee_service::config` call every model where the IAM policy allows it, and where Bedrock
/// serves it.
#[test]
fn the_templates_model_settings_put_each_model_in_its_granted_region() {
    let allowed = "stability.stable-image-core-v1:1,stability.stable-image-ultra-v1:1,offline";
    let d = deployment().param("AllowedModels", allowed);
    let env: BTreeMap<String, String> = d.function_env(FUNCTION);
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("the template's env");
    let arns = invoke_model_arns(&[("AllowedModels", allowed)]);
    let expected = [
        (ModelId::Sd35Large, "us-west-2"),
        (ModelId::StableImageCore, "us-west-2"),
        (ModelId::StableImageUltra, "us-west-2"),
    ];
    for (model, region) in expected {
        assert_eq!(config.region_for(model), Some(region), "{model}");
        let arn = model_arn(region, model.bedrock_id().unwrap());
        assert!(arns.contains(&arn), "{arn} not granted: {arns:?}");
    }
    assert_eq!(config.region_for(ModelId::Offline), None);
}

/// A string constant of a Rust source file (`const NAME: &str = "value";`), so the drift tests
/// read the state store's attribute names where the store declares them.
fn str_const(source: &str, name: &str) -> String {
    let decl = format!("const {name}: &str = \"");
    let start = source
        .find(&decl)
        .unwrap_or_else(|| panic!("no `{decl}...\";`"))
        + decl.len();
    let len = source[start..]
        .find('"')
        .unwrap_or_else(|| panic!("`{decl}` is not closed"));
    source[start..start + len].to_owned()
}

/// The table is the one `crates/marquee-core/src/state/dynamo.rs` talks to: string keys `pk` (HASH) and `sk`
/// (RANGE), TTL on its expiry attribute, no index (the role is granted none). And it is kept
/// safe: on demand, point-in-time recovery, encrypted with a KMS key, retained on delete.
#[test]
fn state_table_is_the_state_stores_table_and_is_kept_safe() {
    let d = deployment();
    let source = repo_file("crates/marquee-core/src/state/dynamo.rs");
    let (pk, sk, expires) = (
        str_const(&source, "PK"),
        str_const(&source, "SK"),
        str_const(&source, "EXPIRES"),
    );
    let table = d.eval_at(&["Resources", STATE_TABLE]);
    assert_eq!(table.at(&["Type"]).as_str(), "AWS::DynamoDB::Table");
    // Literals, not parameters: approvals and the usage ledger must outlive the stack.
    for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
        assert_eq!(
            d.at(&["Resources", STATE_TABLE, policy]),
            &Value::from("Retain"),
            "{policy}"
        );
    }
    let props = table.at(&["Properties"]);
    assert_eq!(props.at(&["BillingMode"]).as_str(), "PAY_PER_REQUEST");
    let pairs = |list: &str, a: &str, b: &str| -> Vec<(String, String)> {
        props
            .at(&[list])
            .as_list()
            .iter()
            .map(|e| {
                (
                    e.at(&[a]).as_str().to_owned(),
                    e.at(&[b]).as_str().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        pairs("KeySchema", "AttributeName", "KeyType"),
        [
            (pk.clone(), "HASH".to_owned()),
            (sk.clone(), "RANGE".to_owned())
        ]
    );
    assert_eq!(
        pairs("AttributeDefinitions", "AttributeName", "AttributeType")
            .into_iter()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([(pk, "S".to_owned()), (sk, "S".to_owned())])
    );
    for index in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        assert!(
            d.find(&["Resources", STATE_TABLE, "Properties", index])
                .is_none(),
            "{index}: the function is granted no index"
        );
    }
    let ttl = props.at(&["TimeToLiveSpecification"]);
    assert_eq!(ttl.at(&["AttributeName"]).as_str(), expires);
    assert_eq!(ttl.at(&["Enabled"]).as_str(), "true");
    assert_eq!(
        props
            .at(&[
                "PointInTimeRecoverySpecification",
                "PointInTimeRecoveryEnabled"
            ])
            .as_str(),
        "true"
    );
    let sse = props.at(&["SSESpecification"]);
    assert_eq!(sse.at(&["SSEEnabled"]).as_str(), "true");
    assert_eq!(sse.at(&["SSEType"]).as_str(), "KMS");
    assert_eq!(
        d.function_env(FUNCTION)
            .get("MARQUEE_TABLE")
            .map(String::as_str),
        Some(TABLE_NAME)
    );
}

/// The DynamoDB operations `crates/marquee-core/src/state/dynamo.rs` calls outside its tests, as IAM actions:
/// every `self.client.<operation>()` chain, `get_item` read as `dynamodb:GetItem`.
fn state_store_calls() -> BTreeSet<String> {
    let source = repo_file("crates/marquee-core/src/state/dynamo.rs");
    let product = source.split("#[cfg(test)]").next().unwrap_or_default();
    product
        .match_indices(".client")
        .filter_map(|(i, _)| {
            let rest = product[i + ".client".len()..]
                .trim_start()
                .strip_prefix('.')?;
            let op = &rest[..rest.find('(')?];
            let camel: String = op
                .split('_')
                .map(|word| {
                    let mut chars = word.chars();
                    chars
                        .next()
                        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .collect();
            Some(format!("dynamodb:{camel}"))
        })
        .collect()
}

/// Least privilege on the table: one statement, exactly the five item operations
/// `crates/marquee-core/src/state/dynamo.rs` makes, on exactly the table's ARN (no index, no wildcard).
#[test]
fn function_may_make_only_the_state_stores_calls_on_its_table() {
    let statements = deployment().function_statements(FUNCTION);
    let dynamo: Vec<_> = statements
        .iter()
        .filter(|s| {
            s.actions
                .iter()
                .any(|a| a.to_ascii_lowercase().starts_with("dynamodb:"))
        })
        .collect();
    assert_eq!(dynamo.len(), 1, "{dynamo:?}");
    let granted = dynamo[0];
    assert!(granted.allow, "{granted:?}");
    let actions: BTreeSet<&str> = granted.actions.iter().map(String::as_str).collect();
    assert_eq!(actions.len(), granted.actions.len(), "repeated actions");
    assert_eq!(
        actions,
        BTreeSet::from([
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        ])
    );
    assert_eq!(granted.resources, [TABLE_ARN]);
    assert_eq!(
        actions,
        state_store_calls()
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        "granted vs the calls crates/marquee-core/src/state/dynamo.rs makes"
    );
    assert_eq!(
        actions,
        marquee_core::state::dynamo::IAM_ACTIONS
            .into_iter()
            .collect::<BTreeSet<_>>(),
        "granted vs the actions `marquee doctor` simulates"
    );
    // The same through IAM's evaluation, for what a wildcard elsewhere could let in.
    for action in [
        "dynamodb:Scan",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteTable",
    ] {
        assert!(!cfn::allows(&statements, action, TABLE_ARN), "{action}");
    }
    assert!(!cfn::allows(
        &statements,
        "dynamodb:Query",
        &format!("{TABLE_ARN}/index/any")
    ));
    assert!(!cfn::allows(
        &statements,
        "dynamodb:GetItem",
        "arn:aws:dynamodb:us-east-1:123456789012:table/other"
    ));
}

/// The bucket holds only what the code writes (`store::KEY_PREFIXES`: posters, their art, print
/// files): the role may write and read exactly those prefixes and list the bucket (so a missing
/// poster is a 404), nothing else, and deletes nothing. Records and retake locks are in the
/// state table, and each prefix, and no other, has a lifecycle rule.
#[test]
fn the_bucket_holds_only_posters_their_art_and_prints() {
    let d = deployment();
    let statements = d.function_statements(FUNCTION);
    let object = |key: &str| format!("arn:aws:s3:::posters-bucket/{key}");
    for action in ["s3:PutObject", "s3:GetObject"] {
        for prefix in marquee_core::store::KEY_PREFIXES {
            assert!(
                cfn::allows(&statements, action, &object(&format!("{prefix}0b7c.png"))),
                "{action} on {prefix}"
            );
        }
        for key in [
            "jobs/0b7c.json",
            "locks/0b7c.json",
            "0b7c.png",
            "artwork/x.png",
        ] {
            assert!(
                !cfn::allows(&statements, action, &object(key)),
                "{action} on {key}"
            );
        }
    }
    assert!(!cfn::allows(
        &statements,
        "s3:DeleteObject",
        &object("posters/0b7c.png")
    ));
    let s3_actions: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| &s.actions)
        .map(String::as_str)
        .filter(|a| a.starts_with("s3:"))
        .collect();
    assert_eq!(
        s3_actions,
        BTreeSet::from(["s3:PutObject", "s3:GetObject", "s3:ListBucket"])
    );
    let rules = d.eval_at(&[
        "Resources",
        "PosterBucket",
        "Properties",
        "LifecycleConfiguration",
        "Rules",
    ]);
    let prefixes: Vec<&str> = rules
        .as_list()
        .iter()
        .filter_map(|r| r.get("Prefix").map(Evaluated::as_str))
        .collect();
    assert_eq!(prefixes, marquee_core::store::KEY_PREFIXES);
    let kept: BTreeSet<&str> = rules
        .as_list()
        .iter()
        .filter(|r| r.get("Prefix").is_some())
        .map(|r| r.at(&["ExpirationInDays"]).as_str())
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "every prefix is kept as long as posters: {kept:?}"
    );
}

/// The on-failure destination: a job Lambda gave up on (a function error with retries off,
/// a kill at Timeout, an event past its maximum age) is recorded in an encrypted queue, which
/// the same function reads a few records at a time, reporting failures per record; a record it
/// cannot handle moves to a dead-letter queue after three receives instead of looping.
#[test]
fn failed_jobs_are_recorded_encrypted_and_read_back() {
    let d = deployment();
    let queue = queue_arn(&d, "FailedJobQueue");
    let dead = queue_arn(&d, "FailedJobDeadLetterQueue");
    let on_failure = function_at(
        &d,
        &[
            "Properties",
            "EventInvokeConfig",
            "DestinationConfig",
            "OnFailure",
        ],
    );
    assert_eq!(on_failure.at(&["Type"]).as_str(), "SQS");
    assert_eq!(on_failure.at(&["Destination"]).as_str(), queue);
    // Written, not conditional: no parameter may switch the destination off.
    let written = d.at(&[
        "Resources",
        FUNCTION,
        "Properties",
        "EventInvokeConfig",
        "DestinationConfig",
        "OnFailure",
        "Destination",
    ]);
    assert!(
        matches!(written, Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "GetAtt"),
        "{written:?}"
    );

    let timeout: u64 = function_at(&d, &["Properties", "Timeout"])
        .as_str()
        .parse()
        .unwrap();
    let props = d.eval_at(&["Resources", "FailedJobQueue", "Properties"]);
    let number = |v: &Evaluated, key: &str| -> u64 { v.at(&[key]).as_str().parse().unwrap() };
    assert_eq!(props.at(&["SqsManagedSseEnabled"]).as_str(), "true");
    // AWS's advice for a queue that is a Lambda event source: at least six times the
    // function's timeout, so a batch still being handled is not handed out again.
    let visibility = number(&props, "VisibilityTimeout");
    assert!(
        visibility >= 6 * timeout,
        "VisibilityTimeout {visibility} < 6 × Timeout {timeout}"
    );
    let retention = number(&props, "MessageRetentionPeriod");
    // Longer than the response_url lives, at most SQS's maximum of 14 days.
    assert!(
        (1800..=1_209_600).contains(&retention),
        "MessageRetentionPeriod {retention}"
    );
    let redrive = props.at(&["RedrivePolicy"]);
    assert_eq!(redrive.at(&["deadLetterTargetArn"]).as_str(), dead);
    assert_eq!(redrive.at(&["maxReceiveCount"]).as_str(), "3");

    let dead_props = d.eval_at(&["Resources", "FailedJobDeadLetterQueue", "Properties"]);
    assert_eq!(dead_props.at(&["SqsManagedSseEnabled"]).as_str(), "true");
    // SQS ages a message from its first send: a dead-letter queue that expires sooner than its
    // source would drop records as they arrive.
    assert!(number(&dead_props, "MessageRetentionPeriod") >= retention);
    assert!(
        dead_props.get("RedrivePolicy").is_none(),
        "the dead-letter queue is the end of the line"
    );

    // The event source mapping: this function reads the destination queue, never the
    // dead-letter queue, a few records at a time with per-record failures.
    let events = function_at(&d, &["Properties", "Events"]);
    let sqs: Vec<_> = events
        .as_map()
        .iter()
        .filter(|(_, e)| e.at(&["Type"]).as_str() == "SQS")
        .collect();
    assert_eq!(sqs.len(), 1, "{sqs:?}");
    let source = sqs[0].1.at(&["Properties"]);
    assert_eq!(source.at(&["Queue"]).as_str(), queue);
    let batch = number(source, "BatchSize");
    assert!((1..=5).contains(&batch), "BatchSize {batch}");
    assert_eq!(
        source.at(&["FunctionResponseTypes"]).strings(),
        ["ReportBatchItemFailures"]
    );
}

/// A queue's ARN in this deployment.
fn queue_arn(d: &Deployment, logical_id: &str) -> String {
    d.eval(&serde_yaml::from_str(&format!("!GetAtt {logical_id}.Arn")).unwrap())
        .as_str()
        .to_owned()
}

/// What the role may do once SAM has added its own policies to the template's: for the
/// on-failure destination of Type SQS, `sqs:SendMessage` on exactly that destination
/// (aws-sam-translator's `SamFunction._add_event_invoke_managed_policy` and
/// `IAMRolePolicies.sqs_send_message_role_policy`); for an SQS event source, the AWS managed
/// policy AWSLambdaSQSQueueExecutionRole (`SQS.get_policy_arn` in
/// `samtranslator/model/eventsources/pull.py`), whose SQS statement allows `sqs:ReceiveMessage`,
/// `sqs:DeleteMessage` and `sqs:GetQueueAttributes` on `*`. Checked by translating the template
/// with aws-sam-translator 1.115 (the SAM CLI's).
fn effective_statements(d: &Deployment) -> Vec<cfn::Statement> {
    let mut statements = d.function_statements(FUNCTION);
    let on_failure = function_at(
        d,
        &[
            "Properties",
            "EventInvokeConfig",
            "DestinationConfig",
            "OnFailure",
        ],
    );
    if on_failure.at(&["Type"]).as_str() == "SQS" {
        statements.push(cfn::Statement {
            sid: "SAM: EventInvokeConfigOnFailureSQSPolicy".into(),
            allow: true,
            actions: vec!["sqs:SendMessage".into()],
            resources: vec![on_failure.at(&["Destination"]).as_str().to_owned()],
            not_resources: Vec::new(),
        });
    }
    let events = function_at(d, &["Properties", "Events"]);
    if events
        .as_map()
        .values()
        .any(|e| e.at(&["Type"]).as_str() == "SQS")
    {
        statements.push(cfn::Statement {
            sid: "SAM: AWSLambdaSQSQueueExecutionRole".into(),
            allow: true,
            actions: [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ]
            .map(String::from)
            .to_vec(),
            resources: vec!["*".into()],
            not_resources: Vec::new(),
        });
    }
    statements
}

/// Least privilege for the queues: the function may record failed jobs only in their queue
/// and read only that queue, and it may not touch the dead-letter queue or any other.
#[test]
fn the_role_reaches_only_the_failed_job_queue() {
    let d = deployment();
    let statements = effective_statements(&d);
    let queue = queue_arn(&d, "FailedJobQueue");
    let dead = queue_arn(&d, "FailedJobDeadLetterQueue");
    let other = "arn:aws:sqs:us-east-1:123456789012:someone-elses-queue";
    for action in [
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ] {
        assert!(
            cfn::allows(&statements, action, &queue),
            "{action} on {queue}"
        );
        for elsewhere in [dead.as_str(), other] {
            assert!(
                !cfn::allows(&statements, action, elsewhere),
                "{action} on {elsewhere}"
            );
        }
    }
    for action in [
        "sqs:PurgeQueue",
        "sqs:DeleteQueue",
        "sqs:SetQueueAttributes",
    ] {
        assert!(!cfn::allows(&statements, action, &queue), "{action}");
    }
    // SAM grants the send; a statement of the template's own would be a second, wider copy.
    let own = d.function_statements(FUNCTION);
    assert!(
        own.iter()
            .filter(|s| s.allow)
            .all(|s| !s.covers_action("sqs:SendMessage")),
        "{own:?}"
    );
}

/// No statement the template writes allows a wildcard action or every resource: each names
/// the actions Marquee calls on the resources it owns.
#[test]
fn no_statement_grants_wildcards() {
    for s in deployment().function_statements(FUNCTION) {
        if !s.allow {
            continue;
        }
        for action in &s.actions {
            assert!(!action.contains('*'), "{}: action {action}", s.sid);
        }
        assert!(
            s.not_resources.is_empty(),
            "{}: an Allow with NotResource",
            s.sid
        );
        for resource in &s.resources {
            let service_wide = resource == "*"
                || resource
                    .split(':')
                    .nth(5)
                    .is_some_and(|r| r == "*" || r.is_empty());
            assert!(!service_wide, "{}: resource {resource}", s.sid);
        }
    }
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
        function_at(&deployment(), &["Metadata", "BuildMethod"]).as_str(),
        "rust-cargolambda"
    );
}

// ---------------------------------------------------------------------------------------------
// manifest/manifest.yaml
// ---------------------------------------------------------------------------------------------

const BASE: &str = "https://abc123.execute-api.us-west-2.amazonaws.com";

fn rendered_manifest() -> Value {
    let text = render(BASE).unwrap_or_else(|e| panic!("render: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("the rendered manifest: {e}"))
}

/// The manifest's value at `path` (map keys); panics, naming the path, when it is missing.
fn at<'a>(yaml: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .try_fold(yaml, |node, key| node.get(*key))
        .unwrap_or_else(|| panic!("the manifest has no {}", path.join(".")))
}

fn text<'a>(yaml: &'a Value, path: &[&str]) -> &'a str {
    at(yaml, path)
        .as_str()
        .unwrap_or_else(|| panic!("{} is not a string", path.join(".")))
}

/// A boolean setting; Slack's manifest schema types these as booleans, not strings.
fn boolean(yaml: &Value, path: &[&str]) -> bool {
    at(yaml, path)
        .as_bool()
        .unwrap_or_else(|| panic!("{} is not a boolean", path.join(".")))
}

fn chars(yaml: &Value, path: &[&str]) -> usize {
    text(yaml, path).chars().count()
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
    let info = at(&m, &["display_information"]);
    assert_eq!(text(info, &["name"]), "Marquee");
    assert!((1..=35).contains(&chars(info, &["name"])));
    assert!((1..=140).contains(&chars(info, &["description"])));
    assert!((175..=4000).contains(&chars(info, &["long_description"])));
    let color = text(info, &["background_color"]);
    let hex = color.strip_prefix('#').unwrap_or("");
    assert!(
        matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "background_color {color:?}"
    );
    let bot = at(&m, &["features", "bot_user"]);
    assert_eq!(text(bot, &["display_name"]), "Marquee");
    assert!(boolean(bot, &["always_online"]));
}

#[test]
fn manifest_slash_command_is_poster_on_a_real_route() {
    let m = rendered_manifest();
    let commands = at(&m, &["features", "slash_commands"])
        .as_sequence()
        .expect("slash_commands is a list");
    assert_eq!(commands.len(), 1);
    let poster = &commands[0];
    // Schema limits: command 2..=32 starting with '/', description 1..=2000,
    // usage_hint 1..=1000. Slack's settings page shows far less, so keep both short.
    assert_eq!(text(poster, &["command"]), "/poster");
    assert_routed(text(poster, &["url"]), "/slack/commands");
    assert!((1..=100).contains(&chars(poster, &["description"])));
    let hint = text(poster, &["usage_hint"]);
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
    // `/poster` alone opens the New poster form (with a bot token) and `/poster help` answers
    // help: the hint says both, as the help card does.
    assert!(
        hint.contains("nothing for the form") && hint.ends_with("help"),
        "{hint}"
    );
    // Marquee parses the raw text itself; escaping would turn @mentions into <@U…> markup.
    assert!(!boolean(poster, &["should_escape"]));
}

#[test]
fn manifest_interactivity_and_settings() {
    let m = rendered_manifest();
    let interactivity = at(&m, &["settings", "interactivity"]);
    assert!(boolean(interactivity, &["is_enabled"]));
    assert_routed(text(interactivity, &["request_url"]), "/slack/interactions");
    for key in ["socket_mode_enabled", "token_rotation_enabled"] {
        assert!(!boolean(&m, &["settings", key]), "{key}");
    }
    // Org-ready: Workflow Builder offers an app's custom steps only when it is
    // (docs.slack.dev "Custom steps for Bolt", "Opt in to org-wide apps").
    assert!(boolean(&m, &["settings", "org_deploy_enabled"]));
}

#[test]
fn manifest_declares_the_workflow_step_the_events_door_runs() {
    let m = rendered_manifest();
    let step = at(&m, &["functions", marquee_core::slack::events::POSTER_STEP]);
    assert!(!text(step, &["title"]).is_empty());
    let inputs = at(step, &["input_parameters"]);
    for (name, kind, required) in [
        ("description", "string", true),
        ("title", "string", false),
        ("style", "string", false),
        ("channel", "slack#/types/channel_id", true),
        ("requester", "slack#/types/user_id", false),
    ] {
        assert_eq!(text(inputs, &[name, "type"]), kind, "{name}");
        assert_eq!(boolean(inputs, &[name, "is_required"]), required, "{name}");
    }
    let outputs = at(step, &["output_parameters"]);
    assert_eq!(text(outputs, &["poster_url", "type"]), "string");
    assert_eq!(text(outputs, &["message_link", "type"]), "string");
    let events = at(&m, &["settings", "event_subscriptions", "bot_events"]);
    assert!(
        events
            .as_sequence()
            .is_some_and(|e| e.iter().any(|e| e.as_str() == Some("function_executed"))),
        "{events:?}"
    );
}

#[test]
fn manifest_asks_for_exactly_the_needed_scopes() {
    let m = rendered_manifest();
    let scopes: BTreeSet<&str> = at(&m, &["oauth_config", "scopes", "bot"])
        .as_sequence()
        .expect("bot scopes are a list")
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("scope {s:?}")))
        .collect();
    let expected: BTreeSet<&str> = EXPECTED_SCOPES.iter().copied().collect();
    assert_eq!(scopes, expected);
    assert!(
        at(&m, &["oauth_config", "scopes"]).get("user").is_none(),
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
    let raw: Value = serde_yaml::from_str(MANIFEST_TEMPLATE).expect("manifest/manifest.yaml");
    let parsed = rendered_manifest();
    assert_eq!(
        entries(&raw).map(|(k, _)| k).collect::<Vec<_>>(),
        entries(&parsed).map(|(k, _)| k).collect::<Vec<_>>()
    );
}

#[test]
fn manifest_routes_are_served_by_the_template() {
    let events = http_events(&deployment());
    let paths: BTreeSet<&str> = events
        .values()
        .map(|e| e.at(&["Properties", "Path"]).as_str())
        .collect();
    for route in ["/slack/commands", "/slack/interactions"] {
        assert!(paths.contains(route), "template does not serve {route}");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers: Cargo.toml binaries and durations.
// ---------------------------------------------------------------------------------------------

/// Names of `[[bin]]` targets in a Cargo.toml (line-based; the file is simple TOML).
/// The quota parameters reach the function as the config reads them: empty (the defaults) is
/// unlimited at list prices, and set values arrive whole.
#[test]
fn the_templates_quota_parameters_reach_the_config() {
    let config_of = |d: Deployment| {
        let mut env: BTreeMap<String, String> = d.function_env(FUNCTION);
        // The state table's variable comes with the template's table (branch state-stack);
        // until then it is supplied here so the rest of the environment can be read.
        env.entry("MARQUEE_TABLE".into())
            .or_insert_with(|| "marquee-state".into());
        Config::from_lookup(|k| env.get(k).cloned()).expect("the template's env")
    };
    let defaults = marquee_service::app::limits(&config_of(deployment()));
    assert_eq!(defaults, marquee_core::quota::Limits::default());

    let set = marquee_service::app::limits(&config_of(
        deployment()
            .param("UserDailyLimit", "5")
            .param("ChannelDailyLimit", "20")
            .param("MonthlyBudgetUsd", "50")
            .param("ModelPrices", "sd3.5=0.08,offline=0.001"),
    ));
    assert_eq!(set.user_daily, Some(5));
    assert_eq!(set.channel_daily, Some(20));
    assert_eq!(set.monthly_budget_micros, Some(50_000_000));
    assert_eq!(set.prices.get(&ModelId::Offline), Some(&1_000));
}

// ---------------------------------------------------------------------------------------------
// Operations: alarms, their notifications and the dashboard
// ---------------------------------------------------------------------------------------------

/// What `Ref MarqueeFunction` (the function's name, which Marquee's `Function` dimension
/// carries) is in [`deployment`].
fn function_name(d: &Deployment) -> String {
    d.eval(&serde_yaml::from_str(&format!("!Ref {FUNCTION}")).unwrap())
        .as_str()
        .to_owned()
}

/// A queue's name in this deployment.
fn queue_name(d: &Deployment, logical_id: &str) -> String {
    d.get_att(&format!("{logical_id}.QueueName"))
}

/// The logical ids of the template's resources of `kind`, as written.
fn resources_of(d: &Deployment, kind: &str) -> Vec<String> {
    entries(d.at(&["Resources"]))
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// One metric an alarm watches: namespace, name and dimensions.
#[derive(Debug, Clone, PartialEq)]
struct Watched {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, String>,
}

/// The metrics an evaluated alarm watches: its own (`Namespace`, `MetricName`, `Dimensions`) or
/// those of its metric-math `Metrics` (`MetricStat.Metric`).
fn watched(alarm: &Evaluated) -> Vec<Watched> {
    let one = |m: &Evaluated| Watched {
        namespace: m.at(&["Namespace"]).as_str().to_owned(),
        name: m.at(&["MetricName"]).as_str().to_owned(),
        dimensions: m
            .find(&["Dimensions"])
            .map(|ds| {
                ds.as_list()
                    .iter()
                    .map(|d| {
                        (
                            d.at(&["Name"]).as_str().to_owned(),
                            d.at(&["Value"]).as_str().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    match alarm.find(&["Metrics"]) {
        Some(metrics) => metrics
            .as_list()
            .iter()
            .filter_map(|m| m.find(&["MetricStat", "Metric"]))
            .map(one)
            .collect(),
        None => vec![one(alarm)],
    }
}

/// Whether the code's own EMF output for `function` (`marquee_core::metrics::sample_documents`, one
/// document of every kind, as the function writes them) publishes `name` in namespace Marquee
/// under exactly the dimension keys `keys`, with this function's name as `Function`.
fn emitted(function: &str, name: &str, keys: &BTreeSet<&str>) -> bool {
    let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    marquee_core::metrics::sample_documents(function)
        .iter()
        .any(|doc| {
            doc[marquee_core::metrics::FUNCTION] == function
                && list(&doc["_aws"]["CloudWatchMetrics"])
                    .iter()
                    .any(|directive| {
                        directive["Namespace"] == marquee_core::metrics::NAMESPACE
                    && list(&directive["Metrics"]).iter().any(|m| m["Name"] == name)
                    && list(&directive["Dimensions"]).iter().any(|set| {
                        let set = list(set);
                        let set: BTreeSet<&str> =
                            set.iter().filter_map(serde_json::Value::as_str).collect();
                        set == *keys
                    })
                    // Every dimension key is a root member of the document (the EMF
                    // specification's "Target members").
                    && keys.iter().all(|k| doc[*k].is_string())
                    })
        })
}

/// Whether `watched` is a metric this deployment publishes: one the code's EMF output carries
/// ([`emitted`]; also in `marquee_core::metrics::PUBLISHED`), with exactly one of its dimension
/// sets and this function's name, or AWS's metric of this very function or one of its queues.
fn check_watched(d: &Deployment, what: &str, w: &Watched) {
    let function = function_name(d);
    let queues = [
        queue_name(d, "FailedJobQueue"),
        queue_name(d, "FailedJobDeadLetterQueue"),
    ];
    match w.namespace.as_str() {
        marquee_core::metrics::NAMESPACE => {
            let published = marquee_core::metrics::PUBLISHED
                .iter()
                .find(|p| p.name == w.name)
                .unwrap_or_else(|| {
                    panic!(
                        "{what} watches Marquee/{}, which the code never emits",
                        w.name
                    )
                });
            let keys: BTreeSet<&str> = w.dimensions.keys().map(String::as_str).collect();
            assert!(
                emitted(&function, &w.name, &keys),
                "{what} watches Marquee/{} by {keys:?}, which no EMF document the code writes \
                 carries",
                w.name
            );
            assert!(
                published.dimension_sets.iter().any(|set| set
                    .iter()
                    .copied()
                    .collect::<BTreeSet<_>>()
                    == keys),
                "{what} watches Marquee/{} by {keys:?}, not one of its dimension sets {:?}",
                w.name,
                published.dimension_sets
            );
            assert_eq!(
                w.dimensions.get(marquee_core::metrics::FUNCTION),
                Some(&function),
                "{what} must watch this function's metric"
            );
        }
        "AWS/Lambda" => assert_eq!(
            w.dimensions,
            BTreeMap::from([("FunctionName".to_owned(), function.clone())]),
            "{what} must watch this function"
        ),
        "AWS/SQS" => {
            let queue = w.dimensions.get("QueueName");
            assert!(
                w.dimensions.len() == 1 && queue.is_some_and(|q| queues.contains(q)),
                "{what} must watch one of this stack's queues: {:?}",
                w.dimensions
            );
        }
        other => panic!("{what} watches namespace {other}, which nothing here publishes"),
    }
}

#[test]
fn every_alarm_watches_a_metric_this_deployment_emits() {
    let d = deployment();
    let alarms = resources_of(&d, "AWS::CloudWatch::Alarm");
    assert!(!alarms.is_empty(), "the template has no alarms");
    for id in alarms {
        let alarm = d.eval_at(&["Resources", &id, "Properties"]);
        let watched = watched(&alarm);
        assert!(!watched.is_empty(), "{id} watches nothing");
        for w in &watched {
            check_watched(&d, &id, w);
            if w.namespace == marquee_core::metrics::NAMESPACE
                && let Some(unit) = alarm.find(&["Unit"])
            {
                let published = marquee_core::metrics::PUBLISHED
                    .iter()
                    .find(|p| p.name == w.name)
                    .unwrap();
                // An alarm with a Unit sees only data points of that unit.
                assert_eq!(unit.as_str(), published.unit, "{id}'s Unit");
            }
        }
        assert_eq!(
            alarm.at(&["TreatMissingData"]).as_str(),
            "notBreaching",
            "{id}: a quiet night is not an incident"
        );
    }
}

/// The alarm watching `namespace`/`metric` (of `queue`, for SQS), evaluated.
fn alarm_on(d: &Deployment, namespace: &str, metric: &str, queue: Option<&str>) -> Evaluated {
    let found: Vec<Evaluated> = resources_of(d, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|id| d.eval_at(&["Resources", &id, "Properties"]))
        .filter(|a| {
            watched(a).iter().any(|w| {
                w.namespace == namespace
                    && w.name == metric
                    && queue.is_none_or(|q| {
                        w.dimensions.get("QueueName").map(String::as_str) == Some(q)
                    })
            })
        })
        .collect();
    assert_eq!(found.len(), 1, "alarms on {namespace}/{metric} ({queue:?})");
    found.into_iter().next().unwrap()
}

#[test]
fn the_alarms_are_the_ones_an_operator_needs() {
    let d = deployment().param("DailySpendAlarmUsd", "7.5");
    let above = |a: &Evaluated| a.at(&["ComparisonOperator"]).as_str().to_owned();
    for metric in ["Errors", "Throttles", "AsyncEventsDropped"] {
        let alarm = alarm_on(&d, "AWS/Lambda", metric, None);
        assert_eq!(alarm.at(&["Statistic"]).as_str(), "Sum", "{metric}");
        assert_eq!(
            alarm.at(&["Threshold"]).as_str(),
            "0",
            "{metric}: any is one too many"
        );
        assert_eq!(above(&alarm), "GreaterThanThreshold");
    }
    let queue = queue_name(&d, "FailedJobQueue");
    let depth = alarm_on(
        &d,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        Some(&queue),
    );
    assert_eq!(depth.at(&["Threshold"]).as_str(), "0");

    // p99 of the acks, below Slack's 3 seconds so it fires before users see timeouts.
    let ack = alarm_on(&d, marquee_core::metrics::NAMESPACE, "AckLatency", None);
    assert_eq!(ack.at(&["ExtendedStatistic"]).as_str(), "p99");
    let threshold: f64 = ack.at(&["Threshold"]).as_str().parse().unwrap();
    assert!(
        (1000.0..3000.0).contains(&threshold),
        "AckLatency threshold {threshold} ms"
    );
    assert_eq!(above(&ack), "GreaterThanThreshold");

    // A day's estimated spend, converted from the metric's micro-dollars into the parameter's
    // dollars by the alarm's own expression.
    let spend = alarm_on(&d, marquee_core::metrics::NAMESPACE, "EstimatedSpend", None);
    assert_eq!(spend.at(&["Threshold"]).as_str(), "7.5");
    assert_eq!(above(&spend), "GreaterThanThreshold");
    let metrics = spend.at(&["Metrics"]).as_list();
    let stat = metrics
        .iter()
        .find_map(|m| m.find(&["MetricStat"]))
        .expect("the spend alarm's metric");
    assert_eq!(stat.at(&["Stat"]).as_str(), "Sum");
    assert_eq!(stat.at(&["Period"]).as_str(), "86400");
    let id = metrics
        .iter()
        .find(|m| m.find(&["MetricStat"]).is_some())
        .unwrap()
        .at(&["Id"])
        .as_str();
    let returned: Vec<&Evaluated> = metrics
        .iter()
        .filter(|m| m.at(&["ReturnData"]).as_str() == "true")
        .collect();
    assert_eq!(returned.len(), 1, "an alarm returns exactly one series");
    assert_eq!(
        returned[0].at(&["Expression"]).as_str().replace(' ', ""),
        format!("{id}/1000000"),
        "EstimatedSpend is micro-dollars (crates/marquee-core/src/metrics.rs); the threshold is dollars"
    );
}

#[test]
fn alarms_notify_only_an_address_that_was_given() {
    let alarms = resources_of(&deployment(), "AWS::CloudWatch::Alarm");
    let topic = "AlarmTopic";
    assert_eq!(
        deployment().at(&["Resources", topic, "Condition"]).as_str(),
        Some("HasAlarmEmail"),
        "the topic exists only with an address"
    );
    assert_eq!(
        deployment()
            .at(&["Outputs", "AlarmTopicArn", "Condition"])
            .as_str(),
        Some("HasAlarmEmail")
    );

    // By default: no topic, and no alarm names one.
    let quiet = deployment();
    assert!(!quiet.condition("HasAlarmEmail"));
    for id in &alarms {
        let alarm = quiet.eval_at(&["Resources", id, "Properties"]);
        assert_eq!(alarm.find(&["AlarmActions"]), None, "{id}");
        assert_eq!(alarm.find(&["OKActions"]), None, "{id}");
    }

    // With an address: one e-mail subscription to it, and every alarm notifies the topic.
    let told = deployment().param("AlarmEmail", "ops@example.com");
    assert!(told.condition("HasAlarmEmail"));
    let subscriptions = told.eval_at(&["Resources", topic, "Properties", "Subscription"]);
    let [subscription] = subscriptions.as_list() else {
        panic!("{subscriptions:?}")
    };
    assert_eq!(subscription.at(&["Protocol"]).as_str(), "email");
    assert_eq!(subscription.at(&["Endpoint"]).as_str(), "ops@example.com");
    let topic_ref = told
        .eval(&serde_yaml::from_str(&format!("!Ref {topic}")).unwrap())
        .as_str()
        .to_owned();
    for id in &alarms {
        let alarm = told.eval_at(&["Resources", id, "Properties"]);
        assert_eq!(
            alarm.at(&["AlarmActions"]).strings(),
            std::slice::from_ref(&topic_ref),
            "{id}"
        );
    }
}

/// The metrics a dashboard widget plots: plain metrics (`[namespace, name, dimension, value,
/// …, {options}]`) and the metric names and dimension keys of its `SEARCH` expressions.
fn dashboard_metrics(body: &serde_json::Value) -> (Vec<Watched>, Vec<(String, Vec<String>)>) {
    let mut plain = Vec::new();
    let mut searched = Vec::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        let Some(metrics) = widget["properties"]["metrics"].as_array() else {
            continue;
        };
        for row in metrics {
            let row = row.as_array().expect("a metric row is an array");
            let strings: Vec<&str> = row.iter().filter_map(serde_json::Value::as_str).collect();
            if let [namespace, name, dims @ ..] = strings.as_slice() {
                assert!(dims.len() % 2 == 0, "{row:?}");
                plain.push(Watched {
                    namespace: (*namespace).to_owned(),
                    name: (*name).to_owned(),
                    dimensions: dims
                        .chunks(2)
                        .map(|kv| (kv[0].to_owned(), kv[1].to_owned()))
                        .collect(),
                });
                continue;
            }
            let expression = row
                .iter()
                .find_map(|o| o["expression"].as_str())
                .unwrap_or_else(|| panic!("a metric row without a metric: {row:?}"));
            if let Some(search) = expression.strip_prefix("SEARCH('") {
                // SEARCH('{Namespace,Key,…} MetricName="Name" Function="…"', 'Stat', Period)
                let schema = &search[1..search.find('}').unwrap()];
                let mut parts = schema.split(',').map(str::to_owned);
                assert_eq!(
                    parts.next().as_deref(),
                    Some(marquee_core::metrics::NAMESPACE)
                );
                let name = search
                    .split("MetricName=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_else(|| panic!("a SEARCH without an exact MetricName: {search}"));
                searched.push((name.to_owned(), parts.collect()));
            }
        }
    }
    (plain, searched)
}

#[test]
fn the_dashboard_is_json_and_shows_only_emitted_metrics() {
    let d = deployment();
    let [id]: [String; 1] = resources_of(&d, "AWS::CloudWatch::Dashboard")
        .try_into()
        .expect("one dashboard");
    let text = d
        .eval_at(&["Resources", &id, "Properties", "DashboardBody"])
        .as_str()
        .to_owned();
    assert!(
        !text.contains("${"),
        "an unsubstituted variable in the dashboard"
    );
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("DashboardBody is not JSON: {e}"));
    let (plain, searched) = dashboard_metrics(&body);
    for w in &plain {
        check_watched(&d, "the dashboard", w);
    }
    let function = function_name(&d);
    for (name, keys) in &searched {
        let published = marquee_core::metrics::PUBLISHED
            .iter()
            .find(|p| p.name == *name)
            .unwrap_or_else(|| panic!("the dashboard searches {name}, which the code never emits"));
        assert!(
            published.dimension_sets.iter().any(|set| set
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                == *keys),
            "the dashboard searches {name} by {keys:?}, not one of its dimension sets"
        );
        let keys: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
        assert!(
            emitted(&function, name, &keys),
            "the dashboard searches {name} by {keys:?}, which no EMF document the code writes \
             carries"
        );
    }
    assert!(
        text.contains(&format!("Function=\\\"{function}\\\"")),
        "searches are scoped to this function"
    );
    // Everything the issue asks to see is on it.
    let shown: BTreeSet<&str> = plain
        .iter()
        .filter(|w| w.namespace == marquee_core::metrics::NAMESPACE)
        .map(|w| w.name.as_str())
        .chain(searched.iter().map(|(n, _)| n.as_str()))
        .collect();
    let all: BTreeSet<&str> = marquee_core::metrics::PUBLISHED
        .iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        shown, all,
        "every metric the code emits is on the dashboard"
    );
    for widget in body["widgets"].as_array().unwrap() {
        if let Some(region) = widget["properties"].get("region") {
            assert_eq!(region, "us-east-1");
        }
    }
}
