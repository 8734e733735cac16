//! The stand-ins `marquee doctor` runs against prove themselves with the real SDK clients the
//! doctor uses (aws-sdk-cloudformation, -lambda, -iam, -bedrock, -s3) and plain HTTP for Slack:
//! each answers in the shape its service documents, from `template.yaml` evaluated for the test
//! deployment, and each knob breaks exactly one thing of a stack copy without touching the
//! shared one. Also a record of what SeaweedFS answers to the bucket calls the doctor makes
//! (tests/it/support/SEAWEED-NOTES.md).
//!
//! Run with `cargo test --test it doctor_standins`.

use std::collections::BTreeMap;

use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::support::{self, bedrock, stack};

/// The doctor's environment as a map.
fn doctor_env() -> BTreeMap<String, String> {
    stack().doctor_env().into_iter().collect()
}

/// Builds a client of one SDK the way `marquee doctor` will: region, static admin keys and the
/// endpoint from `AWS_ENDPOINT_URL_<SERVICE>` in [`doctor_env`].
macro_rules! client {
    ($sdk:ident, $endpoint:literal) => {
        client!($sdk, $endpoint, "us-east-1")
    };
    ($sdk:ident, $endpoint:literal, $region:expr) => {{
        let env = doctor_env();
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .http_client(marquee_core::net::aws_http_client())
            .region($sdk::config::Region::new($region))
            .endpoint_url(&env[$endpoint])
            .credentials_provider($sdk::config::Credentials::new(
                &env["AWS_ACCESS_KEY_ID"],
                &env["AWS_SECRET_ACCESS_KEY"],
                None,
                None,
                "doctor-standins",
            ))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

fn cloudformation() -> aws_sdk_cloudformation::Client {
    client!(aws_sdk_cloudformation, "AWS_ENDPOINT_URL_CLOUDFORMATION")
}

fn lambda() -> aws_sdk_lambda::Client {
    client!(aws_sdk_lambda, "AWS_ENDPOINT_URL_LAMBDA")
}

fn iam() -> aws_sdk_iam::Client {
    client!(aws_sdk_iam, "AWS_ENDPOINT_URL_IAM")
}

fn bedrock_in(region: &'static str) -> aws_sdk_bedrock::Client {
    client!(aws_sdk_bedrock, "AWS_ENDPOINT_URL_BEDROCK", region)
}

/// Without `force_path_style`: S3's endpoint rules address an IP-literal endpoint
/// (`http://127.0.0.1:PORT`) path-style by themselves, so the doctor needs no setting for it.
fn s3() -> aws_sdk_s3::Client {
    let env = doctor_env();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .http_client(marquee_core::net::aws_http_client())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&env["AWS_ENDPOINT_URL_S3"])
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &env["AWS_ACCESS_KEY_ID"],
            &env["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "doctor-standins",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The test deployment as the stand-ins evaluate it.
fn deployment() -> support::cfn::Deployment {
    support::deployment(stack().s3().bucket())
}

#[test]
fn doctor_env_names_every_endpoint_and_the_admin_keys() {
    let env = doctor_env();
    for name in [
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL_CLOUDFORMATION",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_BEDROCK",
        "AWS_ENDPOINT_URL_S3",
        "SLACK_API_URL",
        "SLACK_BOT_TOKEN",
    ] {
        assert!(env.contains_key(name), "doctor_env lacks {name}: {env:?}");
    }
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(
        env["AWS_ENDPOINT_URL_BEDROCK"],
        stack().bedrock().endpoint()
    );
    assert_eq!(stack().doctor_stack_name(), "marquee-test");
}

#[tokio::test]
async fn describe_stacks_answers_the_templates_outputs_for_the_local_stack() {
    let stack = stack();
    let name = stack.doctor_stack_name().to_owned();
    let out = cloudformation()
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .expect("DescribeStacks");
    let [described] = out.stacks() else {
        panic!("one stack expected: {out:?}")
    };
    assert_eq!(described.stack_name(), Some(name.as_str()));
    assert_eq!(
        described.stack_status(),
        Some(&aws_sdk_cloudformation::types::StackStatus::CreateComplete)
    );
    assert!(described.stack_id().is_some_and(|id| {
        id.starts_with("arn:aws:cloudformation:us-east-1:123456789012:stack/marquee-test/")
    }));
    let parameters: BTreeMap<&str, &str> = described
        .parameters()
        .iter()
        .map(|p| (p.parameter_key().unwrap(), p.parameter_value().unwrap()))
        .collect();
    assert_eq!(parameters["AllowedModels"], support::ALLOWED_MODELS);
    assert_eq!(parameters["MemorySize"], "1024");
    let outputs: BTreeMap<&str, &str> = described
        .outputs()
        .iter()
        .map(|o| (o.output_key().unwrap(), o.output_value().unwrap()))
        .collect();
    let base = stack.lambda_with_bot().http_base();
    assert_eq!(outputs["HttpApiUrl"], base);
    assert_eq!(outputs["SlashCommandUrl"], format!("{base}/slack/commands"));
    assert_eq!(
        outputs["InteractivityUrl"],
        format!("{base}/slack/interactions")
    );
    assert_eq!(outputs["EventsUrl"], format!("{base}/slack/events"));
    assert_eq!(outputs["RestUrl"], format!("{base}/v1/posters"));
    assert_eq!(outputs["BucketName"], stack.s3().bucket());
    assert_eq!(outputs["TableName"], "marquee-test-state");
    assert_eq!(outputs["FunctionName"], "marquee-test");
    let d = deployment();
    assert_eq!(
        outputs["FailedJobQueueUrl"],
        d.get_att("FailedJobQueue.QueueUrl")
    );
    assert_eq!(
        outputs["FailedJobDeadLetterQueueUrl"],
        d.get_att("FailedJobDeadLetterQueue.QueueUrl")
    );
    assert_eq!(
        outputs["SigningSecretArn"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee-test/slack-signing-secret-a1B2c3"
    );
    // EnableBotToken defaults to true, so the conditional output is there; AlarmEmail is empty.
    assert!(outputs.contains_key("BotTokenSecretArn"));
    assert!(!outputs.contains_key("AlarmTopicArn"));
    assert!(outputs["DashboardUrl"].ends_with("#dashboards:name=marquee-test"));

    // The documented error for a stack that does not exist.
    let err = cloudformation()
        .describe_stacks()
        .stack_name("no-such-stack")
        .send()
        .await
        .expect_err("an unknown stack is an error");
    let service = err.into_service_error();
    use aws_sdk_cloudformation::error::ProvideErrorMetadata as _;
    assert_eq!(service.code(), Some("ValidationError"));
    assert_eq!(
        service.message(),
        Some("Stack with id no-such-stack does not exist")
    );

    let calls = stack
        .control()
        .wait_for_calls("DescribeStacks", 2, std::time::Duration::from_secs(5))
        .await;
    assert!(calls.iter().any(|c| c.service == "cloudformation"
        && c.params.get("StackName") == Some(&name)
        && c.status == 200));
}

#[tokio::test]
async fn function_configuration_is_the_templates_with_the_instances_environment() {
    let stack = stack();
    let doctor = stack.doctor_stack();
    let config = lambda()
        .get_function_configuration()
        .function_name(doctor.function_name())
        .send()
        .await
        .expect("GetFunctionConfiguration");
    use aws_sdk_lambda::types::{Architecture, LastUpdateStatus, Runtime, State};
    assert_eq!(config.function_name(), Some("marquee-test"));
    assert_eq!(
        config.function_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:marquee-test")
    );
    assert_eq!(config.role(), Some(doctor.role_arn()));
    assert!(
        doctor
            .role_arn()
            .starts_with("arn:aws:iam::123456789012:role/marquee-test-MarqueeFunctionRole-")
    );
    assert_eq!(config.runtime(), Some(&Runtime::Providedal2023));
    assert_eq!(config.handler(), Some("bootstrap"));
    assert_eq!(config.memory_size(), Some(1024));
    assert_eq!(config.timeout(), Some(180));
    assert_eq!(config.architectures(), [Architecture::Arm64]);
    assert_eq!(config.state(), Some(&State::Active));
    assert_eq!(
        config.last_update_status(),
        Some(&LastUpdateStatus::Successful)
    );
    let logging = config.logging_config().expect("LoggingConfig");
    assert_eq!(
        logging.log_format(),
        Some(&aws_sdk_lambda::types::LogFormat::Json)
    );
    assert_eq!(logging.log_group(), Some("/aws/lambda/marquee-test"));
    let vars = config
        .environment()
        .and_then(|e| e.variables())
        .expect("Environment.Variables");
    assert_eq!(vars["SLACK_BOT_TOKEN"], stack.slack().bot_token());
    assert_eq!(vars["MARQUEE_BUCKET"], stack.s3().bucket());
    assert_eq!(vars["MARQUEE_MODEL"], support::DEFAULT_MODEL);
    let reserved: Vec<&String> = vars.keys().filter(|k| k.starts_with("AWS_")).collect();
    assert!(reserved.is_empty(), "Lambda never returns {reserved:?}");

    // The ARN and the partial ARN name the same function; another name is not found.
    for name in [
        "arn:aws:lambda:us-east-1:123456789012:function:marquee-test",
        "123456789012:function:marquee-test",
    ] {
        let by = lambda()
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!("{name}: {}", aws_sdk_lambda::error::DisplayErrorContext(&e))
            });
        assert_eq!(by.function_name(), Some("marquee-test"));
    }
    let err = lambda()
        .get_function_configuration()
        .function_name("no-such-function")
        .send()
        .await
        .expect_err("unknown function");
    assert!(err.into_service_error().is_resource_not_found_exception());

    // Asynchronous invocation: as the template's EventInvokeConfig sets it.
    let invoke = lambda()
        .get_function_event_invoke_config()
        .function_name(doctor.function_name())
        .send()
        .await
        .expect("GetFunctionEventInvokeConfig");
    assert_eq!(invoke.maximum_retry_attempts(), Some(0));
    assert_eq!(invoke.maximum_event_age_in_seconds(), Some(1200));
    assert_eq!(
        invoke
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        Some(deployment().get_att("FailedJobQueue.Arn").as_str())
    );
    assert_eq!(
        invoke.function_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:marquee-test:$LATEST")
    );
}

#[tokio::test]
async fn each_knob_breaks_one_thing_of_its_own_copy() {
    let stack = stack();
    let broken = stack.doctor_variant();
    assert_ne!(broken.stack_name(), stack.doctor_stack_name());
    assert_eq!(broken.function_name(), broken.stack_name());
    broken.set_memory(128);
    broken.set_retries(2);
    broken.drop_on_failure();
    broken.set_env("MARQUEE_MODEL", "amazon.nova-canvas-v1:0");
    broken.remove_env("SLACK_BOT_TOKEN");

    let described = cloudformation()
        .describe_stacks()
        .stack_name(broken.stack_name())
        .send()
        .await
        .expect("the copy is described");
    let outputs = described.stacks()[0].outputs();
    let function = outputs
        .iter()
        .find(|o| o.output_key() == Some("FunctionName"))
        .and_then(|o| o.output_value());
    assert_eq!(function, Some(broken.function_name()));

    let config = lambda()
        .get_function_configuration()
        .function_name(broken.function_name())
        .send()
        .await
        .expect("the copy's configuration");
    assert_eq!(config.memory_size(), Some(128));
    let vars = config.environment().and_then(|e| e.variables()).unwrap();
    assert_eq!(vars["MARQUEE_MODEL"], "amazon.nova-canvas-v1:0");
    assert!(!vars.contains_key("SLACK_BOT_TOKEN"));
    assert_eq!(config.role(), Some(broken.role_arn()));
    let invoke = lambda()
        .get_function_event_invoke_config()
        .function_name(broken.function_name())
        .send()
        .await
        .expect("the copy's invoke config");
    assert_eq!(invoke.maximum_retry_attempts(), Some(2));
    assert!(
        invoke
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination())
            .is_none()
    );

    broken.remove_event_invoke_config();
    let err = lambda()
        .get_function_event_invoke_config()
        .function_name(broken.function_name())
        .send()
        .await
        .expect_err("no configuration left");
    assert!(err.into_service_error().is_resource_not_found_exception());

    // The shared stack is untouched.
    let shared = lambda()
        .get_function_configuration()
        .function_name(stack.doctor_stack().function_name())
        .send()
        .await
        .expect("the shared configuration");
    assert_eq!(shared.memory_size(), Some(1024));
    let shared_invoke = stack
        .doctor_stack()
        .event_invoke()
        .expect("shared invoke config");
    assert_eq!(shared_invoke.maximum_retry_attempts, 0);
    assert!(shared_invoke.on_failure.is_some());
}

/// One SimulatePrincipalPolicy call: the decision for each action on `resource`.
async fn simulate(role: &str, actions: &[&str], resource: &str) -> Vec<(String, String)> {
    let out = iam()
        .simulate_principal_policy()
        .policy_source_arn(role)
        .set_action_names(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
        .resource_arns(resource)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "SimulatePrincipalPolicy: {}",
                aws_sdk_iam::error::DisplayErrorContext(&e)
            )
        });
    assert!(!out.is_truncated());
    out.evaluation_results()
        .iter()
        .map(|r| {
            assert_eq!(r.eval_resource_name(), Some(resource));
            (
                r.eval_action_name().to_owned(),
                r.eval_decision().as_str().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn simulate_principal_policy_evaluates_the_templates_role() {
    let stack = stack();
    let role = stack.doctor_stack().role_arn().to_owned();
    let bucket = format!("arn:aws:s3:::{}", stack.s3().bucket());
    let poster = format!("{bucket}/posters/x.png");
    let decisions = simulate(
        &role,
        &["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        &poster,
    )
    .await;
    assert_eq!(
        decisions,
        [
            ("s3:PutObject".to_owned(), "allowed".to_owned()),
            ("s3:GetObject".to_owned(), "allowed".to_owned()),
            ("s3:DeleteObject".to_owned(), "implicitDeny".to_owned()),
        ]
    );
    // SAM's statement for the on-failure destination, and the template's explicit Deny of
    // every other queue.
    let queue = deployment().get_att("FailedJobQueue.Arn");
    let on_queue = simulate(&role, &["sqs:SendMessage", "sqs:ReceiveMessage"], &queue).await;
    assert!(on_queue.iter().all(|(_, d)| d == "allowed"), "{on_queue:?}");
    let other = queue.replace("FailedJobQueue", "SomeOtherQueue");
    let elsewhere = simulate(&role, &["sqs:ReceiveMessage"], &other).await;
    assert_eq!(elsewhere[0].1, "explicitDeny");

    // A revoked action on a copy, and an unknown role.
    let broken = stack.doctor_variant();
    broken.revoke("s3:PutObject");
    let broken_poster = simulate(
        broken.role_arn(),
        &["s3:PutObject", "s3:GetObject"],
        &poster,
    )
    .await;
    assert_eq!(broken_poster[0].1, "implicitDeny");
    assert_eq!(broken_poster[1].1, "allowed");
    assert_eq!(
        simulate(&role, &["s3:PutObject"], &poster).await[0].1,
        "allowed"
    );

    let err = iam()
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::123456789012:role/nobody")
        .action_names("s3:GetObject")
        .send()
        .await
        .expect_err("unknown role");
    assert!(err.into_service_error().is_no_such_entity_exception());
}

/// GetFoundationModel's lifecycle, as the SDK reads it: ACTIVE for the Stability models,
/// LEGACY with its dates for Nova Canvas; an unknown model is not found.
#[tokio::test]
async fn foundation_model_lifecycle_is_read_as_the_sdk_reads_it() {
    use aws_sdk_bedrock::types::FoundationModelLifecycleStatus;
    let lifecycle = |region: &'static str, model: &'static str| async move {
        bedrock_in(region)
            .get_foundation_model()
            .model_identifier(model)
            .send()
            .await
            .expect("GetFoundationModel")
            .model_details()
            .and_then(|d| d.model_lifecycle())
            .cloned()
            .expect("a lifecycle")
    };
    let sd35 = lifecycle("us-west-2", bedrock::SD35_LARGE).await;
    assert_eq!(sd35.status(), &FoundationModelLifecycleStatus::Active);
    let nova = lifecycle("us-east-1", bedrock::NOVA_CANVAS).await;
    assert_eq!(nova.status(), &FoundationModelLifecycleStatus::Legacy);
    let eol = nova.end_of_life_time().map(|t| {
        t.fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap()
    });
    assert_eq!(eol.as_deref(), Some("2026-09-30T00:00:00Z"));
    // The catalog and the stand-in agree on Nova's dates.
    let row = marquee_core::model::ModelId::NovaCanvas.row();
    assert_eq!(row.lifecycle.end_of_life, Some("2026-09-30"));
    assert_eq!(
        bedrock::RETIRED_MODELS,
        [(bedrock::NOVA_CANVAS, "2026-03-30", "2026-09-30")]
    );

    // Marking a model Legacy (`Bedrock::mark_legacy`) is account-wide, so only
    // `doctor::a_model_the_account_has_not_enabled_fails_its_check` does it, on the one model
    // no other stack's checks read.
    let core = lifecycle("us-west-2", bedrock::IMAGE_CORE).await;
    assert_eq!(core.status(), &FoundationModelLifecycleStatus::Active);
    assert_eq!(core.end_of_life_time(), None);
    let err = bedrock_in("us-west-2")
        .get_foundation_model()
        .model_identifier("acme.no-such-model-v1:0")
        .send()
        .await
        .expect_err("unknown model");
    assert!(err.into_service_error().is_resource_not_found_exception());
    assert!(!stack().bedrock().lifecycle_calls().is_empty());
}

#[tokio::test]
async fn foundation_model_availability_follows_the_regions_and_access() {
    use aws_sdk_bedrock::types::{AgreementStatus, AuthorizationStatus, RegionAvailability};
    let availability = |region: &'static str, model: &'static str| async move {
        bedrock_in(region)
            .get_foundation_model_availability()
            .model_id(model)
            .send()
            .await
    };
    let sd35 = availability("us-west-2", bedrock::SD35_LARGE)
        .await
        .expect("SD3.5 in us-west-2");
    assert_eq!(sd35.model_id(), bedrock::SD35_LARGE);
    assert_eq!(sd35.region_availability(), &RegionAvailability::Available);
    assert_eq!(
        sd35.authorization_status(),
        &AuthorizationStatus::Authorized
    );
    assert_eq!(
        sd35.agreement_availability().map(|a| a.status()),
        Some(&AgreementStatus::Available)
    );
    let sd35_east = availability("us-east-1", bedrock::SD35_LARGE)
        .await
        .unwrap();
    assert_eq!(
        sd35_east.region_availability(),
        &RegionAvailability::NotAvailable
    );
    let nova = availability("us-east-1", bedrock::NOVA_CANVAS)
        .await
        .unwrap();
    assert_eq!(nova.region_availability(), &RegionAvailability::Available);
    let upscale = availability("us-east-2", bedrock::CONSERVATIVE_UPSCALE)
        .await
        .unwrap();
    assert_eq!(
        upscale.region_availability(),
        &RegionAvailability::Available
    );

    // Access taken away (and given back: the stand-in is shared), on a model only a variant
    // stack of its own uses: the shared stack upscales prints conservatively.
    let creative = stack().doctor_variant_with(|d| d.param("PrintUpscaler", "creative"));
    assert_eq!(
        creative
            .env()
            .get("MARQUEE_PRINT_UPSCALER")
            .map(String::as_str),
        Some("creative")
    );
    assert_eq!(
        stack()
            .doctor_stack()
            .env()
            .get("MARQUEE_PRINT_UPSCALER")
            .map(String::as_str),
        Some("conservative")
    );
    let creative_model = format!(
        "arn:aws:bedrock:us-west-2::foundation-model/{}",
        bedrock::CREATIVE_UPSCALE
    );
    let invoke = ["bedrock:InvokeModel"];
    assert_eq!(
        simulate(creative.role_arn(), &invoke, &creative_model).await[0].1,
        "allowed"
    );
    let shared_role = stack().doctor_stack().role_arn().to_owned();
    assert_eq!(
        simulate(&shared_role, &invoke, &creative_model).await[0].1,
        "implicitDeny"
    );
    stack().bedrock().withhold_access(bedrock::CREATIVE_UPSCALE);
    let withheld = availability("us-west-2", bedrock::CREATIVE_UPSCALE).await;
    stack().bedrock().restore_access(bedrock::CREATIVE_UPSCALE);
    let withheld = withheld.unwrap();
    assert_eq!(
        withheld.authorization_status(),
        &AuthorizationStatus::NotAuthorized
    );
    assert_eq!(
        withheld.agreement_availability().map(|a| a.status()),
        Some(&AgreementStatus::NotAvailable)
    );

    let err = availability("us-west-2", "acme.no-such-model-v1:0")
        .await
        .expect_err("unknown model");
    assert!(err.into_service_error().is_resource_not_found_exception());
    assert!(
        stack()
            .bedrock()
            .availability_calls()
            .iter()
            .any(|c| c.model_id == bedrock::SD35_LARGE
                && c.region == "us-west-2"
                && c.status == 200
                && c.access_key == doctor_env()["AWS_ACCESS_KEY_ID"])
    );
    // None of this counts as an invocation.
    assert!(
        stack()
            .bedrock()
            .calls_to("acme.no-such-model-v1:0")
            .is_empty()
    );
}

#[tokio::test]
async fn slack_auth_test_names_the_bot_and_its_scopes() {
    let stack = stack();
    let env = doctor_env();
    let http = marquee_core::net::client();
    let call = |token: String| {
        http.post(format!("{}/auth.test", env["SLACK_API_URL"]))
            .bearer_auth(token)
            .send()
    };
    let response = call(env["SLACK_BOT_TOKEN"].clone())
        .await
        .expect("auth.test");
    assert_eq!(response.status(), 200);
    let scopes = |r: &reqwest::Response| -> Vec<String> {
        r.headers()
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let granted = scopes(&response);
    assert_eq!(granted, stack.slack().api().scopes());
    assert!(granted.iter().any(|s| s == "chat:write"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ok"], true);
    for key in ["url", "team", "user", "team_id", "user_id", "bot_id"] {
        assert!(body[key].is_string(), "auth.test lacks {key}: {body}");
    }
    assert_eq!(body["is_enterprise_install"], false);

    // A scope taken back shows at once (and is given back: the token is shared).
    stack.slack().api().revoke_scope("usergroups:read");
    let after = call(env["SLACK_BOT_TOKEN"].clone()).await.unwrap();
    stack.slack().api().grant_scope("usergroups:read");
    assert!(!scopes(&after).iter().any(|s| s == "usergroups:read"));

    // A token of its own with a scope missing, for a red test that must not touch the
    // shared token.
    let narrow = stack.slack().api().issue_token(&["commands", "chat:write"]);
    let narrow = call(narrow).await.unwrap();
    assert_eq!(scopes(&narrow), ["commands", "chat:write"]);
    let body: serde_json::Value = narrow.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert!(
        stack
            .slack()
            .api()
            .scopes()
            .iter()
            .any(|s| s == "files:write")
    );

    let wrong = call("xoxb-not-the-token".into()).await.unwrap();
    assert_eq!(wrong.status(), 200);
    assert!(wrong.headers().get("x-oauth-scopes").is_none());
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"ok": false, "error": "invalid_auth"})
    );
}

/// What SeaweedFS answers to the doctor's bucket calls, with the admin keys of `doctor_env`
/// (tests/it/support/SEAWEED-NOTES.md): the lifecycle rules the stack applied from the template, no public
/// access block (501 NotImplemented), the bucket policy, and a refused anonymous read.
#[tokio::test]
async fn seaweed_answers_the_bucket_calls_doctor_makes() {
    let stack = stack();
    let bucket = stack.s3().bucket().to_owned();
    let client = s3();

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
    let days: i32 = deployment()
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
        &deployment().function_statements("MarqueeFunction"),
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
    let key = format!("doctor-standins/{}.txt", support::random_token(8));
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

#[tokio::test]
async fn the_other_knobs_change_what_the_apis_answer() {
    let stack = stack();
    let broken = stack.doctor_variant();
    let queue = broken.output("FailedJobQueueUrl").expect("queue output");
    assert!(queue.ends_with(&format!("/{}-FailedJobQueue", broken.stack_name())));
    assert_eq!(
        broken.env().get("MARQUEE_BUCKET").map(String::as_str),
        Some(stack.s3().bucket())
    );
    broken.set_status("UPDATE_ROLLBACK_COMPLETE");
    broken.set_output("BucketName", "someone-elses-bucket");
    broken.remove_output("TableName");
    broken.set_timeout(3);
    broken.set_architecture("x86_64");
    broken.set_max_event_age(21600);
    broken.set_on_failure("arn:aws:sqs:us-east-1:123456789012:elsewhere");
    let bucket = format!("arn:aws:s3:::{}/posters/x.png", stack.s3().bucket());
    broken.deny("s3:GetObject", &bucket);

    let described = cloudformation()
        .describe_stacks()
        .stack_name(broken.stack_name())
        .send()
        .await
        .unwrap();
    let described = &described.stacks()[0];
    assert_eq!(
        described.stack_status(),
        Some(&aws_sdk_cloudformation::types::StackStatus::UpdateRollbackComplete)
    );
    let keys: Vec<&str> = described
        .outputs()
        .iter()
        .filter_map(|o| o.output_key())
        .collect();
    assert!(!keys.contains(&"TableName"));
    assert!(described.outputs().iter().any(|o| {
        o.output_key() == Some("BucketName") && o.output_value() == Some("someone-elses-bucket")
    }));

    let config = lambda()
        .get_function_configuration()
        .function_name(broken.function_name())
        .send()
        .await
        .unwrap();
    assert_eq!(config.timeout(), Some(3));
    assert_eq!(
        config.architectures(),
        [aws_sdk_lambda::types::Architecture::X8664]
    );
    let invoke = lambda()
        .get_function_event_invoke_config()
        .function_name(broken.function_name())
        .send()
        .await
        .unwrap();
    assert_eq!(invoke.maximum_event_age_in_seconds(), Some(21600));
    assert_eq!(
        invoke
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        Some("arn:aws:sqs:us-east-1:123456789012:elsewhere")
    );
    let decisions = simulate(broken.role_arn(), &["s3:GetObject"], &bucket).await;
    assert_eq!(decisions[0].1, "explicitDeny");

    // Every call is recorded with the key that signed it.
    let admin = &doctor_env()["AWS_ACCESS_KEY_ID"];
    let calls = stack.control().calls();
    let mine: Vec<_> = calls
        .iter()
        .filter(|c| c.params.values().any(|v| v.contains(broken.stack_name())))
        .collect();
    assert!(mine.len() >= 3, "{calls:?}");
    assert!(
        mine.iter()
            .all(|c| &c.access_key == admin && c.error.is_none())
    );
    assert!(
        mine.iter()
            .any(|c| c.service == "lambda" && c.action == "GetFunctionEventInvokeConfig")
    );
}
