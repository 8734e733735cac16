//! Stand-in for the control-plane calls `marquee doctor` makes about a deployed stack, one
//! server for three services, told apart as AWS tells them apart: by the SigV4 credential
//! scope's service name and by the protocol each speaks.
//!
//! - CloudFormation `DescribeStacks` (awsQuery: a form `POST /` with `Action` and `Version`
//!   2010-05-15, answered in XML; CloudFormation API reference, "DescribeStacks").
//! - IAM `SimulatePrincipalPolicy` (awsQuery, `Version` 2010-05-08; IAM API reference,
//!   "SimulatePrincipalPolicy" and "EvaluationResult"), evaluated with the role's statements.
//! - Lambda `GetFunctionConfiguration` (`GET /2015-03-31/functions/{FunctionName}/configuration`)
//!   and `GetFunctionEventInvokeConfig` (`GET /2019-09-25/functions/{FunctionName}/event-invoke-config`),
//!   restJson1 (Lambda API reference, the two actions' pages).
//!
//! The protocols are the ones aws-sdk-cloudformation 1.136, aws-sdk-iam 1.133 and
//! aws-sdk-lambda 1.156 speak (their generated `protocol_serde`: `QueryWriter` form bodies with
//! `application/x-www-form-urlencoded` for the first two, JSON for Lambda), and the errors are
//! shaped so those SDKs map them to their typed errors: awsQuery's
//! `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`, and
//! restJson1's `x-amzn-errortype` header with a JSON body.
//!
//! What a stack holds comes from `template.yaml` evaluated for the test deployment
//! ([`Deployed::from_template`]): its outputs, the function's configuration
//! (`MarqueeFunction`'s properties), its asynchronous-invocation configuration (SAM's
//! `EventInvokeConfig`) and its role's statements. Only what cannot come from the template is
//! the local stack's: the function's public base URL (the instance under `cargo lambda watch`)
//! and the environment the instance really runs with. Tests break one piece of a stack with the
//! knobs on [`Deployed`]; a test that breaks something registers its own copy first (the same
//! template deployed under another stack name), so the stack other tests check stays whole.
//!
//! Every call is recorded ([`Control::calls`]). Signatures are not verified; the access key must
//! be one the stand-in was told about ([`Control::accept_key`]), as AWS refuses unknown keys.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::cfn::{Deployment, Evaluated, Statement};

const CLOUDFORMATION_XMLNS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The suffix of the role name CloudFormation generates (`<stack>-<LogicalId>-<random>`), fixed
/// so tests can name the role.
const ROLE_SUFFIX: &str = "1QX2Z3ABCD4EF";

/// One call as received.
#[derive(Clone, Debug)]
pub struct ControlCall {
    /// `cloudformation`, `iam` or `lambda` (from the credential scope).
    pub service: String,
    /// `DescribeStacks`, `SimulatePrincipalPolicy`, `GetFunctionConfiguration`,
    /// `GetFunctionEventInvokeConfig`, or what an unknown request asked for.
    pub action: String,
    /// The form fields (awsQuery) or the path's function name (`FunctionName`), as strings.
    pub params: BTreeMap<String, String>,
    pub access_key: String,
    pub status: u16,
    /// The error code answered, if any.
    pub error: Option<String>,
}

/// One statement of the role, with the policy it belongs to (for `MatchedStatements`).
#[derive(Clone, Debug)]
struct RoleStatement {
    statement: Statement,
    /// The inline policy's name, or the managed policy's ARN.
    source_policy_id: String,
    /// IAM's `SourcePolicyType`: `role` for an inline policy, `aws-managed` for a managed one.
    source_policy_type: &'static str,
}

/// Asynchronous-invocation settings (`AWS::Lambda::EventInvokeConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventInvoke {
    pub maximum_retry_attempts: i64,
    pub maximum_event_age_in_seconds: i64,
    pub on_failure: Option<String>,
    pub on_success: Option<String>,
}

/// What the stand-in holds for one stack: the stack, its function and the function's role.
#[derive(Clone, Debug)]
struct StackRecord {
    name: String,
    id: String,
    status: String,
    description: String,
    /// `(OutputKey, OutputValue, Description)`, in the template's order.
    outputs: Vec<(String, String, String)>,
    /// `(ParameterKey, ParameterValue)`, in the template's order.
    parameters: Vec<(String, String)>,
    function: FunctionRecord,
}

#[derive(Clone, Debug)]
struct FunctionRecord {
    name: String,
    arn: String,
    role_arn: String,
    runtime: String,
    handler: String,
    description: String,
    memory_size: i64,
    timeout: i64,
    architectures: Vec<String>,
    env: BTreeMap<String, String>,
    log_format: Option<String>,
    log_group: Option<String>,
    event_invoke: Option<EventInvoke>,
    statements: Vec<RoleStatement>,
}

#[derive(Default)]
struct Inner {
    stacks: Vec<StackRecord>,
    keys: HashSet<String>,
    calls: Vec<ControlCall>,
}

/// Handle to the control-plane stand-in. Cheap to clone.
#[derive(Clone)]
pub struct Control {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Control {
    /// Starts the stand-in on the background runtime, with no stacks and no accepted keys.
    pub fn start() -> Control {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/", post(query_call))
            .route(
                "/2015-03-31/functions/{function}/configuration",
                get(get_function_configuration),
            )
            .route(
                "/2019-09-25/functions/{function}/event-invoke-config",
                get(get_event_invoke_config),
            )
            .fallback(unknown_route)
            .with_state(inner.clone());
        let addr = super::serve("control plane", |_| app);
        Control { addr, inner }
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL_CLOUDFORMATION`,
    /// `AWS_ENDPOINT_URL_LAMBDA` and `AWS_ENDPOINT_URL_IAM`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Accepts calls signed with `access_key` (an administrator's: every call is allowed).
    pub fn accept_key(&self, access_key: &str) {
        self.lock().keys.insert(access_key.to_owned());
    }

    /// Registers a deployed stack (replacing one of the same name) and returns its handle.
    pub fn deploy(&self, stack: Deployed) -> Deployed {
        let mut inner = self.lock();
        inner.stacks.retain(|s| s.name != stack.record.name);
        inner.stacks.push(stack.record.clone());
        drop(inner);
        Deployed {
            control: Some(self.clone()),
            ..stack
        }
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<ControlCall> {
        self.lock().calls.clone()
    }

    /// The calls of `action` (`DescribeStacks`, ...) so far.
    pub fn calls_to(&self, action: &str) -> Vec<ControlCall> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.action == action)
            .cloned()
            .collect()
    }

    /// Waits until at least `n` calls of `action` have been answered, or `timeout` passes;
    /// returns the calls of `action` seen by then.
    pub async fn wait_for_calls(
        &self,
        action: &str,
        n: usize,
        timeout: std::time::Duration,
    ) -> Vec<ControlCall> {
        super::poll(timeout, || {
            let calls = self.calls_to(action);
            (calls.len() >= n).then_some(calls)
        })
        .await
        .unwrap_or_else(|| self.calls_to(action))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A test that panicked while holding the lock must not break every later test.
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

fn stack_id(name: &str) -> String {
    // The stack id is the stack's ARN with a UUID (CloudFormation API reference, "Stack":
    // `StackId` "Unique identifier of the stack").
    let uuid = name_uuid(name);
    format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/{uuid}")
}

/// A UUID that depends only on `name`, so a stack's id and a function's revision stay the same
/// across calls.
fn name_uuid(name: &str) -> uuid::Uuid {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, name).hash(&mut h);
        u128::from(h.finish())
    };
    uuid::Uuid::from_u128((half(1) << 64) | half(2))
}

/// One stack as the stand-in holds it; a handle to change it once registered
/// ([`Control::deploy`]). Each knob breaks exactly one thing and can be undone (set it back).
#[derive(Clone)]
pub struct Deployed {
    record: StackRecord,
    control: Option<Control>,
}

impl Deployed {
    /// The stack `template.yaml` makes for `deployment` (whose `AWS::StackName` names it),
    /// with `function` (a logical id) as its function, evaluated as CloudFormation and SAM
    /// would:
    ///
    /// - outputs: every entry of `Outputs` whose `Condition` holds, its `Value` evaluated; the
    ///   ones that begin with the `HttpApiUrl` output are rebased onto `public_base` (the
    ///   local function's HTTP surface), keeping the template's paths;
    /// - the function: `FunctionName`, `Runtime`, `Handler`, `Description`, `MemorySize`,
    ///   `Timeout`, `Architectures`, `LoggingConfig` from its properties; environment `env`
    ///   (the variables the instance really runs with) without the reserved and harness-only
    ///   `AWS_*` names, since Lambda never returns its reserved variables (Lambda developer
    ///   guide, "Working with Lambda environment variables", "Defined runtime environment
    ///   variables": the reserved keys "cannot be set in your function configuration");
    /// - `EventInvokeConfig` as SAM passes it to `AWS::Lambda::EventInvokeConfig`;
    /// - the role SAM generates (`<LogicalId>Role`, SAM developer guide, "Generated AWS
    ///   CloudFormation resources"): the inline `Policies` (named `<LogicalId>RolePolicy<n>`,
    ///   as SAM names them), the managed policy `AWSLambdaBasicExecutionRole` SAM always
    ///   attaches, `AWSLambdaSQSQueueExecutionRole` for an SQS event source, and the
    ///   `sqs:SendMessage` statement SAM adds for an SQS on-failure destination (the template's
    ///   comment on `EventInvokeConfig` cites aws-sam-translator for the last two).
    pub fn from_template(
        deployment: &Deployment,
        function: &str,
        public_base: &str,
        env: &[(String, String)],
    ) -> Deployed {
        let stack = deployment.pseudo("AWS::StackName").to_owned();
        let props = deployment.eval_at(&["Resources", function, "Properties"]);
        let text = |path: &[&str]| props.find(path).map(|v| v.as_str().to_owned());
        let number = |path: &[&str]| -> Option<i64> {
            text(path).map(|v| {
                v.parse()
                    .unwrap_or_else(|e| panic!("{function}.{}: {v}: {e}", path.join(".")))
            })
        };
        let name = text(&["FunctionName"]).unwrap_or_else(|| format!("{stack}-{function}"));
        let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
        let role_arn =
            format!("arn:aws:iam::123456789012:role/{stack}-{function}Role-{ROLE_SUFFIX}");
        let event_invoke = props.find(&["EventInvokeConfig"]).map(|e| EventInvoke {
            maximum_retry_attempts: number(&["EventInvokeConfig", "MaximumRetryAttempts"])
                .unwrap_or(2),
            maximum_event_age_in_seconds: number(&[
                "EventInvokeConfig",
                "MaximumEventAgeInSeconds",
            ])
            .unwrap_or(21600),
            on_failure: e
                .find(&["DestinationConfig", "OnFailure", "Destination"])
                .map(|d| d.as_str().to_owned()),
            on_success: e
                .find(&["DestinationConfig", "OnSuccess", "Destination"])
                .map(|d| d.as_str().to_owned()),
        });
        let mut statements = inline_statements(deployment, function);
        let managed = |arn: &str, actions: &[&str]| RoleStatement {
            statement: Statement {
                sid: String::new(),
                allow: true,
                actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                resources: vec!["*".into()],
                not_resources: Vec::new(),
            },
            source_policy_id: arn.to_owned(),
            source_policy_type: "aws-managed",
        };
        // AWS managed policy reference, "AWSLambdaBasicExecutionRole".
        statements.push(managed(
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            &[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
        ));
        let sqs_event_source = props.find(&["Events"]).is_some_and(|events| {
            events
                .as_map()
                .values()
                .any(|e| e.find(&["Type"]).is_some_and(|t| t.as_str() == "SQS"))
        });
        if sqs_event_source {
            // AWS managed policy reference, "AWSLambdaSQSQueueExecutionRole".
            statements.push(managed(
                "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
            ));
        }
        let sqs_destination = props
            .find(&["EventInvokeConfig", "DestinationConfig", "OnFailure"])
            .filter(|d| d.find(&["Type"]).is_some_and(|t| t.as_str() == "SQS"))
            .and_then(|d| d.find(&["Destination"]))
            .map(|d| d.as_str().to_owned());
        if let Some(queue) = sqs_destination {
            statements.push(RoleStatement {
                statement: Statement {
                    sid: String::new(),
                    allow: true,
                    actions: vec!["sqs:SendMessage".into()],
                    resources: vec![queue],
                    not_resources: Vec::new(),
                },
                source_policy_id: format!("{function}EventInvokeConfigOnFailureQueuePolicy"),
                source_policy_type: "role",
            });
        }
        let function_record = FunctionRecord {
            name,
            arn,
            role_arn,
            runtime: text(&["Runtime"]).unwrap_or_default(),
            handler: text(&["Handler"]).unwrap_or_default(),
            description: text(&["Description"]).unwrap_or_default(),
            // Lambda's defaults (Lambda API reference, "CreateFunction": MemorySize 128,
            // Timeout 3, Architectures x86_64).
            memory_size: number(&["MemorySize"]).unwrap_or(128),
            timeout: number(&["Timeout"]).unwrap_or(3),
            architectures: props
                .find(&["Architectures"])
                .map(Evaluated::strings)
                .unwrap_or_else(|| vec!["x86_64".into()]),
            env: env
                .iter()
                .filter(|(k, _)| k.starts_with("SLACK_") || k.starts_with("MARQUEE_"))
                .cloned()
                .collect(),
            log_format: text(&["LoggingConfig", "LogFormat"]),
            log_group: text(&["LoggingConfig", "LogGroup"]),
            event_invoke,
            statements,
        };
        Deployed {
            record: StackRecord {
                id: stack_id(&stack),
                outputs: outputs(deployment, public_base),
                parameters: deployment.parameters(),
                description: deployment
                    .find(&["Description"])
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                name: stack,
                status: "CREATE_COMPLETE".into(),
                function: function_record,
            },
            control: None,
        }
    }

    pub fn stack_name(&self) -> &str {
        &self.record.name
    }

    pub fn function_name(&self) -> &str {
        &self.record.function.name
    }

    /// The function's role ARN (what GetFunctionConfiguration returns as `Role`).
    pub fn role_arn(&self) -> &str {
        &self.record.function.role_arn
    }

    /// The output `key`'s value, as DescribeStacks returns it.
    pub fn output(&self, key: &str) -> Option<String> {
        self.with(|r| {
            r.outputs
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, v, _)| v.clone())
        })
    }

    /// The environment GetFunctionConfiguration returns.
    pub fn env(&self) -> BTreeMap<String, String> {
        self.with(|r| r.function.env.clone())
    }

    /// The function's asynchronous-invocation settings, if it has any.
    pub fn event_invoke(&self) -> Option<EventInvoke> {
        self.with(|r| r.function.event_invoke.clone())
    }

    /// Sets the stack's `StackStatus` (`UPDATE_ROLLBACK_COMPLETE`, ...).
    pub fn set_status(&self, status: &str) {
        self.edit(|r| r.status = status.to_owned());
    }

    /// Sets (or adds) an output.
    pub fn set_output(&self, key: &str, value: &str) {
        self.edit(|r| match r.outputs.iter_mut().find(|(k, _, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => r
                .outputs
                .push((key.to_owned(), value.to_owned(), String::new())),
        });
    }

    /// Removes an output.
    pub fn remove_output(&self, key: &str) {
        self.edit(|r| r.outputs.retain(|(k, _, _)| k != key));
    }

    /// Sets the function's `MemorySize` (MB).
    pub fn set_memory(&self, mb: i64) {
        self.edit(|r| r.function.memory_size = mb);
    }

    /// Sets the function's `Timeout` (seconds).
    pub fn set_timeout(&self, seconds: i64) {
        self.edit(|r| r.function.timeout = seconds);
    }

    /// Sets `Architectures` to the one given.
    pub fn set_architecture(&self, architecture: &str) {
        self.edit(|r| r.function.architectures = vec![architecture.to_owned()]);
    }

    /// Sets an environment variable.
    pub fn set_env(&self, name: &str, value: &str) {
        self.edit(|r| {
            r.function.env.insert(name.to_owned(), value.to_owned());
        });
    }

    /// Removes an environment variable.
    pub fn remove_env(&self, name: &str) {
        self.edit(|r| {
            r.function.env.remove(name);
        });
    }

    /// Sets `MaximumRetryAttempts` of the asynchronous-invocation configuration.
    pub fn set_retries(&self, n: i64) {
        self.edit_event_invoke(|e| e.maximum_retry_attempts = n);
    }

    /// Sets `MaximumEventAgeInSeconds` of the asynchronous-invocation configuration.
    pub fn set_max_event_age(&self, seconds: i64) {
        self.edit_event_invoke(|e| e.maximum_event_age_in_seconds = seconds);
    }

    /// Removes the on-failure destination (the configuration itself stays).
    pub fn drop_on_failure(&self) {
        self.edit_event_invoke(|e| e.on_failure = None);
    }

    /// Sets the on-failure destination's ARN.
    pub fn set_on_failure(&self, arn: &str) {
        self.edit_event_invoke(|e| e.on_failure = Some(arn.to_owned()));
    }

    /// Deletes the asynchronous-invocation configuration: GetFunctionEventInvokeConfig then
    /// answers 404 ResourceNotFoundException.
    pub fn remove_event_invoke_config(&self) {
        self.edit(|r| r.function.event_invoke = None);
    }

    /// Takes `action` (e.g. `s3:PutObject`) out of every Allow statement of the role that names
    /// it exactly (case-insensitive, as IAM compares actions); a statement left with no action
    /// is removed. Wildcard grants (`logs:*`) are not narrowed.
    pub fn revoke(&self, action: &str) {
        self.edit(|r| {
            for s in r
                .function
                .statements
                .iter_mut()
                .filter(|s| s.statement.allow)
            {
                s.statement
                    .actions
                    .retain(|a| !a.eq_ignore_ascii_case(action));
            }
            r.function
                .statements
                .retain(|s| !s.statement.actions.is_empty());
        });
    }

    /// Adds an explicit Deny of `action` on `resource` to the role (an inline policy of its
    /// own), so SimulatePrincipalPolicy answers `explicitDeny` for it.
    pub fn deny(&self, action: &str, resource: &str) {
        self.edit(|r| {
            r.function.statements.push(RoleStatement {
                statement: Statement {
                    sid: "DeniedByTest".into(),
                    allow: false,
                    actions: vec![action.to_owned()],
                    resources: vec![resource.to_owned()],
                    not_resources: Vec::new(),
                },
                source_policy_id: "DeniedByTest".into(),
                source_policy_type: "role",
            });
        });
    }

    fn edit_event_invoke(&self, change: impl FnOnce(&mut EventInvoke)) {
        self.edit(|r| {
            let config = r
                .function
                .event_invoke
                .as_mut()
                .unwrap_or_else(|| panic!("{} has no EventInvokeConfig", r.function.name));
            change(config);
        });
    }

    /// Reads the registered record (the live one once registered).
    fn with<T>(&self, read: impl FnOnce(&StackRecord) -> T) -> T {
        match &self.control {
            Some(control) => {
                let inner = control.lock();
                let record = inner
                    .stacks
                    .iter()
                    .find(|s| s.name == self.record.name)
                    .unwrap_or_else(|| panic!("stack {} is gone", self.record.name));
                read(record)
            }
            None => read(&self.record),
        }
    }

    fn edit(&self, change: impl FnOnce(&mut StackRecord)) {
        let control = self
            .control
            .as_ref()
            .unwrap_or_else(|| panic!("register {} with Control::deploy first", self.record.name));
        let mut inner = control.lock();
        let record = inner
            .stacks
            .iter_mut()
            .find(|s| s.name == self.record.name)
            .unwrap_or_else(|| panic!("stack {} is gone", self.record.name));
        change(record);
    }
}

/// The function's inline policies (SAM's `Policies` list) with the names SAM gives them
/// (`<LogicalId>RolePolicy<index>`, aws-sam-translator's `_construct_role`).
fn inline_statements(deployment: &Deployment, function: &str) -> Vec<RoleStatement> {
    let flat = deployment.function_statements(function);
    let policies = deployment.eval_at(&["Resources", function, "Properties", "Policies"]);
    let mut out = Vec::new();
    let mut statements = flat.into_iter();
    for (index, policy) in policies.as_list().iter().enumerate() {
        let count = policy.at(&["Statement"]).as_list().len();
        for statement in statements.by_ref().take(count) {
            out.push(RoleStatement {
                statement,
                source_policy_id: format!("{function}RolePolicy{index}"),
                source_policy_type: "role",
            });
        }
    }
    out
}

/// The stack's outputs: every `Outputs` entry whose `Condition` holds, evaluated, with the
/// HTTP API's URL (and every output under it) rebased onto `public_base`.
fn outputs(deployment: &Deployment, public_base: &str) -> Vec<(String, String, String)> {
    let Some(serde_yaml::Value::Mapping(entries)) = deployment.find(&["Outputs"]) else {
        return Vec::new();
    };
    let api_url = deployment
        .eval_at(&["Outputs", "HttpApiUrl", "Value"])
        .as_str()
        .to_owned();
    let mut out = Vec::new();
    for (key, entry) in entries {
        let Some(key) = key.as_str() else { continue };
        if let Some(condition) = entry.get("Condition").and_then(|c| c.as_str())
            && !deployment.condition(condition)
        {
            continue;
        }
        let value = deployment.eval_at(&["Outputs", key, "Value"]);
        let value = value.as_str();
        let value = match value.strip_prefix(&api_url) {
            Some(path) => format!("{}{path}", public_base.trim_end_matches('/')),
            None => value.to_owned(),
        };
        let description = entry
            .get("Description")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .trim()
            .to_owned();
        out.push((key.to_owned(), value, description));
    }
    out
}

/// The access key and service of a SigV4 `Authorization` header
/// (`Credential=AKID/20261201/us-east-1/iam/aws4_request`).
fn credential_scope(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if !auth.starts_with("AWS4-HMAC-SHA256 ") {
        return None;
    }
    let credential = auth
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, _date, _region, service, "aws4_request"] => {
            Some(((*key).to_owned(), (*service).to_owned()))
        }
        _ => None,
    }
}

fn record(inner: &Mutex<Inner>, call: ControlCall) {
    lock(inner).calls.push(call);
}

// ---------------------------------------------------------------------------------------------
// awsQuery: CloudFormation and IAM
// ---------------------------------------------------------------------------------------------

/// An awsQuery error (CloudFormation API reference, "Common Errors"; the same
/// `ErrorResponse` document IAM sends).
fn query_error(xmlns: &str, status: StatusCode, code: &str, message: &str) -> Response {
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n\
         </ErrorResponse>\n",
        xml(code),
        xml(message),
        uuid::Uuid::new_v4()
    );
    xml_response(status, body)
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// XML text escaping.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

async fn query_call(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params: BTreeMap<String, String> =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map(|pairs| pairs.into_iter().collect())
            .unwrap_or_default();
    let action = params.get("Action").cloned().unwrap_or_default();
    let scope = credential_scope(&headers);
    let (access_key, service) = scope.clone().unwrap_or_default();
    let xmlns = if service == "iam" {
        IAM_XMLNS
    } else {
        CLOUDFORMATION_XMLNS
    };
    let (status, error, response) = match query_answer(&inner, &headers, scope, &params) {
        Ok(response) => (StatusCode::OK, None, response),
        Err((status, code, message)) => (
            status,
            Some(code.to_owned()),
            query_error(xmlns, status, code, &message),
        ),
    };
    record(
        &inner,
        ControlCall {
            service,
            action,
            params,
            access_key,
            status: status.as_u16(),
            error,
        },
    );
    response
}

type Failure = (StatusCode, &'static str, String);

fn query_answer(
    inner: &Mutex<Inner>,
    headers: &HeaderMap,
    scope: Option<(String, String)>,
    params: &BTreeMap<String, String>,
) -> Result<Response, Failure> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some((key, service)) = scope else {
        return Err((
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token".into(),
        ));
    };
    if !lock(inner).keys.contains(&key) {
        return Err((
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".into(),
        ));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err((
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!("an awsQuery request is a form post, not {content_type:?}"),
        ));
    }
    let action = params.get("Action").map(String::as_str).unwrap_or_default();
    let version = params
        .get("Version")
        .map(String::as_str)
        .unwrap_or_default();
    match (service.as_str(), action, version) {
        ("cloudformation", "DescribeStacks", "2010-05-15") => describe_stacks(inner, params),
        ("iam", "SimulatePrincipalPolicy", "2010-05-08") => {
            simulate_principal_policy(inner, params)
        }
        (_, action, _) => Err((
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!(
                "The action or operation {action} (version {version}, service {service}) is not \
                 valid for this web service."
            ),
        )),
    }
}

/// DescribeStacks for one stack by name or stack id. "If the stack doesn't exist, a
/// ValidationError is returned" (the action's page); the message is CloudFormation's
/// `Stack with id <name> does not exist`.
fn describe_stacks(
    inner: &Mutex<Inner>,
    params: &BTreeMap<String, String>,
) -> Result<Response, Failure> {
    let Some(wanted) = params.get("StackName") else {
        return Err((
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "this stand-in describes one stack at a time: pass StackName".into(),
        ));
    };
    let guard = lock(inner);
    let Some(stack) = guard
        .stacks
        .iter()
        .find(|s| &s.name == wanted || &s.id == wanted)
    else {
        return Err((
            StatusCode::BAD_REQUEST,
            "ValidationError",
            format!("Stack with id {wanted} does not exist"),
        ));
    };
    let outputs: String = stack
        .outputs
        .iter()
        .map(|(key, value, description)| {
            format!(
                "          <member>\n            <OutputKey>{}</OutputKey>\n            \
                 <OutputValue>{}</OutputValue>\n            <Description>{}</Description>\n          \
                 </member>\n",
                xml(key),
                xml(value),
                xml(description)
            )
        })
        .collect();
    let parameters: String = stack
        .parameters
        .iter()
        .map(|(key, value)| {
            format!(
                "          <member>\n            <ParameterKey>{}</ParameterKey>\n            \
                 <ParameterValue>{}</ParameterValue>\n          </member>\n",
                xml(key),
                xml(value)
            )
        })
        .collect();
    // Element names and order as in the action's page ("Stack" data type) and the SDK's
    // deserializer; SAM templates need CAPABILITY_IAM (a generated role) and
    // CAPABILITY_AUTO_EXPAND (the transform).
    let body = format!(
        "<DescribeStacksResponse xmlns=\"{CLOUDFORMATION_XMLNS}\">\n  <DescribeStacksResult>\n    \
         <Stacks>\n      <member>\n        <StackName>{}</StackName>\n        <StackId>{}</StackId>\n        \
         <Description>{}</Description>\n        <Parameters>\n{parameters}        </Parameters>\n        \
         <CreationTime>2026-12-01T09:00:00.000Z</CreationTime>\n        \
         <LastUpdatedTime>2026-12-01T09:05:00.000Z</LastUpdatedTime>\n        \
         <StackStatus>{}</StackStatus>\n        <DisableRollback>false</DisableRollback>\n        \
         <NotificationARNs/>\n        <Capabilities>\n          <member>CAPABILITY_IAM</member>\n          \
         <member>CAPABILITY_AUTO_EXPAND</member>\n        </Capabilities>\n        <Outputs>\n{outputs}        \
         </Outputs>\n        <Tags/>\n        <EnableTerminationProtection>false</EnableTerminationProtection>\n        \
         <DriftInformation>\n          <StackDriftStatus>NOT_CHECKED</StackDriftStatus>\n        \
         </DriftInformation>\n      </member>\n    </Stacks>\n  </DescribeStacksResult>\n  \
         <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n\
         </DescribeStacksResponse>\n",
        xml(&stack.name),
        xml(&stack.id),
        xml(&stack.description),
        xml(&stack.status),
        uuid::Uuid::new_v4(),
    );
    Ok(xml_response(StatusCode::OK, body))
}

/// The members of an awsQuery list argument `name` (`name.member.1`, `name.member.2`, ...).
fn query_list(params: &BTreeMap<String, String>, name: &str) -> Vec<String> {
    (1..)
        .map_while(|i| params.get(&format!("{name}.member.{i}")).cloned())
        .collect()
}

/// SimulatePrincipalPolicy with the role's statements, for each action and resource asked
/// (no `ResourceArns`: `*`). IAM's evaluation for one identity ("Policy evaluation logic"):
/// an explicit Deny that matches wins (`explicitDeny`); else an Allow that matches allows
/// (`allowed`); else `implicitDeny`. `MatchedStatements` names the statements that decided
/// (only the Deny for `explicitDeny`, the EvaluationResult page says). `EvalDecisionDetails` is
/// present and empty for a same-account simulation with a resource ARN (same page). Conditions
/// are not modelled (the role's statements have none).
fn simulate_principal_policy(
    inner: &Mutex<Inner>,
    params: &BTreeMap<String, String>,
) -> Result<Response, Failure> {
    let source = params.get("PolicySourceArn").cloned().unwrap_or_default();
    let actions = query_list(params, "ActionNames");
    if actions.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "1 validation error detected: Value null at 'actionNames' failed to satisfy \
             constraint: Member must not be null"
                .into(),
        ));
    }
    let mut resources = query_list(params, "ResourceArns");
    if resources.is_empty() {
        resources.push("*".into());
    }
    let guard = lock(inner);
    let Some(function) = guard
        .stacks
        .iter()
        .map(|s| &s.function)
        .find(|f| f.role_arn == source)
    else {
        let name = source.rsplit('/').next().unwrap_or(&source);
        return Err((
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        ));
    };
    let mut results = String::new();
    for action in &actions {
        for resource in &resources {
            let hits = |allow: bool| -> Vec<&RoleStatement> {
                function
                    .statements
                    .iter()
                    .filter(|s| {
                        s.statement.allow == allow
                            && s.statement.covers_action(action)
                            && (resource == "*" || s.statement.covers_resource(resource))
                    })
                    .collect()
            };
            let (decision, matched) = match (hits(false), hits(true)) {
                (deny, _) if !deny.is_empty() => ("explicitDeny", deny),
                (_, allow) if !allow.is_empty() => ("allowed", allow),
                _ => ("implicitDeny", Vec::new()),
            };
            let matched: String = matched
                .iter()
                .map(|s| {
                    format!(
                        "            <member>\n              <SourcePolicyId>{}</SourcePolicyId>\n              \
                         <SourcePolicyType>{}</SourcePolicyType>\n            </member>\n",
                        xml(&s.source_policy_id),
                        s.source_policy_type
                    )
                })
                .collect();
            results.push_str(&format!(
                "      <member>\n        <EvalActionName>{action}</EvalActionName>\n        \
                 <EvalResourceName>{resource}</EvalResourceName>\n        \
                 <EvalDecision>{decision}</EvalDecision>\n        <MatchedStatements>\n{matched}        \
                 </MatchedStatements>\n        <MissingContextValues/>\n        <EvalDecisionDetails/>\n        \
                 <ResourceSpecificResults>\n          <member>\n            \
                 <EvalResourceName>{resource}</EvalResourceName>\n            \
                 <EvalResourceDecision>{decision}</EvalResourceDecision>\n            \
                 <MatchedStatements>\n{matched}            </MatchedStatements>\n            \
                 <MissingContextValues/>\n          </member>\n        </ResourceSpecificResults>\n      \
                 </member>\n",
                action = xml(action),
                resource = xml(resource),
            ));
        }
    }
    let body = format!(
        "<SimulatePrincipalPolicyResponse xmlns=\"{IAM_XMLNS}\">\n  <SimulatePrincipalPolicyResult>\n    \
         <IsTruncated>false</IsTruncated>\n    <EvaluationResults>\n{results}    </EvaluationResults>\n  \
         </SimulatePrincipalPolicyResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  \
         </ResponseMetadata>\n</SimulatePrincipalPolicyResponse>\n",
        uuid::Uuid::new_v4()
    );
    Ok(xml_response(StatusCode::OK, body))
}

// ---------------------------------------------------------------------------------------------
// restJson1: Lambda
// ---------------------------------------------------------------------------------------------

/// A Lambda error as the service sends it: `x-amzn-errortype` (which the SDK reads first) and a
/// JSON body with `Type` and `Message` (Lambda API reference, "Errors").
fn lambda_error(status: StatusCode, code: &str, message: &str) -> Response {
    let kind = if status.is_server_error() {
        "Service"
    } else {
        "User"
    };
    let body = json!({"Type": kind, "Message": message}).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", value);
    }
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn lambda_json(body: Value) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// Finds the function `given` names, in any of the forms the action's page lists ("Name
/// formats": `my-function`, the function ARN, the partial ARN `123456789012:function:name`),
/// optionally qualified with `$LATEST` (the only version the stand-in has).
fn find_function<'a>(
    guard: &'a Inner,
    given: &str,
    qualifier: Option<&str>,
) -> Result<&'a FunctionRecord, Failure> {
    let not_found = |what: &str| {
        (
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {what}"),
        )
    };
    let base = given
        .strip_prefix("arn:aws:lambda:us-east-1:")
        .unwrap_or(given);
    let base = base.strip_prefix("123456789012:function:").unwrap_or(base);
    let (name, version) = match base.split_once(':') {
        Some((name, version)) => (name, Some(version)),
        None => (base, qualifier),
    };
    let function = guard
        .stacks
        .iter()
        .map(|s| &s.function)
        .find(|f| f.name == name)
        .ok_or_else(|| {
            not_found(&format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{name}"
            ))
        })?;
    match version {
        None | Some("$LATEST") => Ok(function),
        Some(v) => Err(not_found(&format!("{}:{v}", function.arn))),
    }
}

/// Checks the SigV4 scope (service `lambda`) and the key, then answers.
fn lambda_call(
    inner: &Mutex<Inner>,
    headers: &HeaderMap,
    action: &str,
    function: String,
    qualifier: Option<String>,
    answer: impl FnOnce(&Inner, &str, Option<&str>) -> Result<Value, Failure>,
) -> Response {
    let scope = credential_scope(headers);
    let (access_key, service) = scope.clone().unwrap_or_default();
    let result = match scope {
        None => Err((
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token".to_owned(),
        )),
        Some((_, service)) if service != "lambda" => Err((
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: 'lambda', not '{service}'"),
        )),
        Some((key, _)) if !lock(inner).keys.contains(&key) => Err((
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".to_owned(),
        )),
        Some(_) => answer(&lock(inner), &function, qualifier.as_deref()),
    };
    let (status, error, response) = match result {
        Ok(body) => (StatusCode::OK, None, lambda_json(body)),
        Err((status, code, message)) => (
            status,
            Some(code.to_owned()),
            lambda_error(status, code, &message),
        ),
    };
    let mut params = BTreeMap::from([("FunctionName".to_owned(), function)]);
    if let Some(q) = qualifier {
        params.insert("Qualifier".into(), q);
    }
    record(
        inner,
        ControlCall {
            service,
            action: action.to_owned(),
            params,
            access_key,
            status: status.as_u16(),
            error,
        },
    );
    response
}

#[derive(serde::Deserialize)]
struct QualifierQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

/// GetFunctionConfiguration (Lambda API reference, its "Response Syntax": the
/// `FunctionConfiguration` fields). A function that deployed and is ready reports `State`
/// `Active` and `LastUpdateStatus` `Successful` ("Lambda function states", Lambda developer
/// guide).
async fn get_function_configuration(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
) -> Response {
    lambda_call(
        &inner,
        &headers,
        "GetFunctionConfiguration",
        function,
        query.qualifier,
        |guard, given, qualifier| {
            let f = find_function(guard, given, qualifier)?;
            let mut body = json!({
                "FunctionName": f.name,
                "FunctionArn": f.arn,
                "Runtime": f.runtime,
                "Role": f.role_arn,
                "Handler": f.handler,
                "CodeSize": 8_123_456,
                "Description": f.description,
                "Timeout": f.timeout,
                "MemorySize": f.memory_size,
                "LastModified": "2026-12-01T09:04:12.345+0000",
                "CodeSha256": "pQ4P7qgS2c1Ou2bB3Z6eHqB0b8cZ2v9Rk3nT5yL1wXs=",
                "Version": "$LATEST",
                "Environment": {"Variables": f.env},
                "TracingConfig": {"Mode": "PassThrough"},
                "RevisionId": name_uuid(&f.name).to_string(),
                "State": "Active",
                "LastUpdateStatus": "Successful",
                "PackageType": "Zip",
                "Architectures": f.architectures,
                "EphemeralStorage": {"Size": 512},
                "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
                "RuntimeVersionConfig": {
                    "RuntimeVersionArn": "arn:aws:lambda:us-east-1::runtime:0f3b2d8c1a9e7f6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"
                },
            });
            if let Some(format) = &f.log_format {
                let group = f
                    .log_group
                    .clone()
                    .unwrap_or_else(|| format!("/aws/lambda/{}", f.name));
                body["LoggingConfig"] = json!({"LogFormat": format, "LogGroup": group});
                // With JSON logs, Lambda filters at INFO unless told otherwise (Lambda developer
                // guide, "Configuring advanced logging controls", log-level filtering).
                if format == "JSON" {
                    body["LoggingConfig"]["ApplicationLogLevel"] = json!("INFO");
                    body["LoggingConfig"]["SystemLogLevel"] = json!("INFO");
                }
            }
            Ok(body)
        },
    )
}

/// GetFunctionEventInvokeConfig (Lambda API reference: `LastModified` in epoch seconds,
/// `FunctionArn` qualified with the version, `MaximumRetryAttempts`,
/// `MaximumEventAgeInSeconds`, `DestinationConfig {OnSuccess, OnFailure}` each `{Destination}`
/// or `{}`, as the AWS CLI reference's example shows); 404 ResourceNotFoundException when the
/// function has none.
async fn get_event_invoke_config(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
) -> Response {
    lambda_call(
        &inner,
        &headers,
        "GetFunctionEventInvokeConfig",
        function,
        query.qualifier,
        |guard, given, qualifier| {
            let f = find_function(guard, given, qualifier)?;
            let Some(config) = &f.event_invoke else {
                return Err((
                    StatusCode::NOT_FOUND,
                    "ResourceNotFoundException",
                    format!(
                        "The function {}:$LATEST doesn't have an EventInvokeConfig",
                        f.arn
                    ),
                ));
            };
            let destination = |arn: &Option<String>| match arn {
                Some(arn) => json!({"Destination": arn}),
                None => json!({}),
            };
            Ok(json!({
                "LastModified": 1_764_579_852.345,
                "FunctionArn": format!("{}:$LATEST", f.arn),
                "MaximumRetryAttempts": config.maximum_retry_attempts,
                "MaximumEventAgeInSeconds": config.maximum_event_age_in_seconds,
                "DestinationConfig": {
                    "OnSuccess": destination(&config.on_success),
                    "OnFailure": destination(&config.on_failure),
                },
            }))
        },
    )
}

/// Any other request: recorded, and refused as API Gateway-fronted AWS endpoints refuse an
/// unknown route.
async fn unknown_route(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let (access_key, service) = credential_scope(&headers).unwrap_or_default();
    record(
        &inner,
        ControlCall {
            service,
            action: format!("unknown route {uri}"),
            params: BTreeMap::new(),
            access_key,
            status: 404,
            error: Some("UnknownOperationException".into()),
        },
    );
    lambda_error(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        &format!("no operation at {uri}"),
    )
}
