//! A real DynamoDB API for the tests: dynalite (DynamoDB's API on LevelDB, in memory), bound to
//! 127.0.0.1 on a free port and started once per test binary, holding the deployment's state
//! table, created from `template.yaml`'s own `AttributeDefinitions`, `KeySchema` and
//! `BillingMode` (read through `support::cfn`) under the deployment's table name.
//!
//! dynalite checks no credentials and no permissions, so the function never reaches it
//! directly. Its `AWS_ENDPOINT_URL_DYNAMODB` is an IAM proxy in front of dynalite: the proxy
//! reads the action (`X-Amz-Target: DynamoDB_20120810.<Action>`) and the table(s) the request
//! names, refuses what the template's statements for the function do not allow — with
//! DynamoDB's own AccessDeniedException, as IAM's refusal reaches an SDK — and forwards the rest
//! verbatim, its headers (the SigV4 signature included) and body as sent, dynalite's answer
//! streamed back. Every call through the proxy is recorded. The harness, like an admin, talks
//! to dynalite directly (creating the table, checking what a refused call did not do).
//!
//! The proxy also misbehaves on request ([`Fault`], through `support::faults`), scoped by the
//! action and the item's partition key so tests on the shared table never meet each other's
//! faults.
//!
//! Known differences from DynamoDB: dynalite ignores `ReturnValuesOnConditionCheckFailure`
//! (its ConditionalCheckFailedException never carries the item), so code that needs the holder
//! must be able to read it back; dynalite has no `UpdateTimeToLive`, so expired items stay
//! until deleted (the state store treats them as absent anyway), and no transactions; point-in-
//! time recovery and encryption are not modelled. The proxy checks `TransactWriteItems` and
//! `TransactGetItems` as actions of their own, which IAM does not do (it checks each item's
//! `PutItem`, `UpdateItem`, ... on its table); the state store never uses them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::Error;
use super::cfn::{self, Evaluated, Statement};
use super::faults::FaultRules;
use super::process::Supervised;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The JSON protocol's target prefix for DynamoDB's current API version.
const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// The largest request the proxy reads. DynamoDB's own limit is 16 MB (BatchWriteItem); the
/// state store's requests are a few kilobytes.
const MAX_REQUEST: usize = 16 * 1024 * 1024;

/// How the proxy misbehaves for a matching call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards the call to dynalite, which applies it, then answers DynamoDB's
    /// InternalServerError instead of dynalite's answer: a write that landed and whose answer
    /// was lost. The SDK retries it (a 500 is a transient error in its standard retry policy).
    AppliedThenInternalError,
}

/// One call through the proxy, as received.
#[derive(Clone, Debug)]
pub struct Call {
    /// `GetItem`, `PutItem`, ... (the target header without its prefix).
    action: String,
    /// Whether the proxy let it through to dynalite.
    pub granted: bool,
    /// The request's JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
}

#[derive(Clone)]
struct Proxy {
    /// dynalite's base URL, `http://127.0.0.1:PORT`.
    target: String,
    /// The function's statements from the template.
    statements: Arc<Vec<Statement>>,
    /// `arn:aws:dynamodb:REGION:ACCOUNT:table/`: a table's ARN is this and its name.
    table_arn_prefix: Arc<str>,
    calls: Arc<Mutex<Vec<Call>>>,
    /// Keyed `"<Action> <pk>"`.
    faults: Arc<Mutex<FaultRules<Fault>>>,
    /// The keys of the faults played so far, in order.
    played: Arc<Mutex<Vec<String>>>,
    http: HttpClient<HttpConnector, Body>,
}

pub struct Dynamo {
    table: String,
    /// dynalite itself, for the harness.
    admin_endpoint: String,
    proxy: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    faults: Arc<Mutex<FaultRules<Fault>>>,
    played: Arc<Mutex<Vec<String>>>,
    // Declared before `_dir` so dynalite stops before its log is removed.
    process: Supervised,
    _dir: tempfile::TempDir,
}

impl Dynamo {
    /// Starts dynalite and the proxy, and creates `table` (its ARN `table_arn`) with the key
    /// schema, attribute definitions and billing mode of `properties`, the template's table
    /// resource's evaluated `Properties`. The proxy allows what `statements` allow.
    pub fn start(
        table: &str,
        table_arn: &str,
        properties: &Evaluated,
        statements: Vec<Statement>,
    ) -> Result<Dynamo, Error> {
        let dynalite = super::find_tool("dynalite")?;
        let dir = tempfile::Builder::new()
            .prefix("marquee-dynalite-")
            .tempdir()
            .map_err(|e| Error::io("create a temp dir for dynalite", e))?;
        let port = super::free_ports(1)[0];
        // In memory (no --path): a test run starts from an empty table. Tables become ACTIVE
        // at once instead of after dynalite's default half second.
        let args: Vec<String> = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--createTableMs",
            "0",
        ]
        .map(str::to_owned)
        .to_vec();
        let process = Supervised::spawn("dynalite", &dynalite, &args, dir.path(), &[], dir.path())?;
        let admin_endpoint = format!("http://127.0.0.1:{port}");

        let table_arn_prefix = table_arn.strip_suffix(table).unwrap_or_else(|| {
            panic!("the table's ARN {table_arn} does not end in its name {table}")
        });
        let calls = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Mutex::new(FaultRules::default()));
        let played = Arc::new(Mutex::new(Vec::new()));
        let proxy = Proxy {
            target: admin_endpoint.clone(),
            statements: Arc::new(statements),
            table_arn_prefix: table_arn_prefix.into(),
            calls: calls.clone(),
            faults: faults.clone(),
            played: played.clone(),
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
        };
        let router = Router::new().fallback(forward).with_state(proxy);
        let proxy = super::serve("dynamodb-iam", |_| router);

        let dynamo = Dynamo {
            table: table.to_owned(),
            admin_endpoint,
            proxy,
            calls,
            faults,
            played,
            process,
            _dir: dir,
        };
        dynamo.create_table(properties)?;
        Ok(dynamo)
    }

    /// `http://127.0.0.1:PORT` of the IAM proxy, the value for `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.proxy)
    }

    /// The deployment's table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A client that reaches DynamoDB as the function does, through the IAM proxy.
    pub fn function_client(&self) -> aws_sdk_dynamodb::Client {
        client(&self.endpoint())
    }

    /// A client of dynalite itself: the harness's admin, never the product's.
    pub fn admin_client(&self) -> aws_sdk_dynamodb::Client {
        client(&self.admin_endpoint)
    }

    /// The calls of `action` (e.g. `PutItem`) through the proxy so far, granted or refused.
    pub fn calls(&self, action: &str) -> Vec<Call> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.action == action)
            .cloned()
            .collect()
    }

    /// Plays `fault` on the next `times` calls of `action` (e.g. `PutItem`) on an item of
    /// partition `pk`.
    pub fn fault_for_item(&self, action: &str, pk: &str, fault: Fault, times: u32) {
        lock(&self.faults).add(format!("{action} {pk}"), fault, times);
    }

    /// How many faults were played on calls of `action` on partition `pk`.
    pub fn faults_played(&self, action: &str, pk: &str) -> usize {
        let key = format!("{action} {pk}");
        lock(&self.played).iter().filter(|k| **k == key).count()
    }

    /// The calls of `action` on an item of partition `pk`, granted or refused.
    pub fn calls_for_item(&self, action: &str, pk: &str) -> Vec<Call> {
        self.calls(action)
            .into_iter()
            .filter(|c| item_pk(&c.body) == Some(pk))
            .collect()
    }

    /// Creates the table as the template declares it, waiting until dynalite answers and the
    /// table is ACTIVE.
    fn create_table(&self, properties: &Evaluated) -> Result<(), Error> {
        let admin = self.admin_client();
        let field = |entry: &Evaluated, key: &str| entry.at(&[key]).as_str().to_owned();
        let definitions: Vec<AttributeDefinition> = properties
            .at(&["AttributeDefinitions"])
            .as_list()
            .iter()
            .map(|d| {
                AttributeDefinition::builder()
                    .attribute_name(field(d, "AttributeName"))
                    .attribute_type(ScalarAttributeType::from(
                        field(d, "AttributeType").as_str(),
                    ))
                    .build()
                    .unwrap_or_else(|e| panic!("attribute definition {d:?}: {e}"))
            })
            .collect();
        let keys: Vec<KeySchemaElement> = properties
            .at(&["KeySchema"])
            .as_list()
            .iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(field(k, "AttributeName"))
                    .key_type(KeyType::from(field(k, "KeyType").as_str()))
                    .build()
                    .unwrap_or_else(|e| panic!("key schema element {k:?}: {e}"))
            })
            .collect();
        let billing = BillingMode::from(properties.at(&["BillingMode"]).as_str());
        let table = self.table.clone();
        let started = Instant::now();
        super::block_on(async move {
            let mut last = String::from("no attempt finished");
            while started.elapsed() < READY_TIMEOUT {
                self.process.check_alive()?;
                let created = admin
                    .create_table()
                    .table_name(&table)
                    .set_attribute_definitions(Some(definitions.clone()))
                    .set_key_schema(Some(keys.clone()))
                    .billing_mode(billing.clone())
                    .send()
                    .await;
                match created {
                    Ok(_) => break,
                    // The port opens before the server answers; until then, connection errors.
                    Err(e) => last = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            while started.elapsed() < READY_TIMEOUT {
                let status = admin
                    .describe_table()
                    .table_name(&table)
                    .send()
                    .await
                    .ok()
                    .and_then(|d| d.table)
                    .and_then(|t| t.table_status);
                if status == Some(TableStatus::Active) {
                    return Ok(());
                }
                last = format!("table {table} is {status:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(Error::NotReady {
                what: "dynalite".into(),
                waited: started.elapsed(),
                detail: format!("the state table was not created and ACTIVE; last: {last}"),
                log: self.process.log_tail(6000),
            })
        })
    }
}

fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(marquee_core::net::aws_http_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIDHARNESS",
            "harness-secret",
            None,
            None,
            "dynamo-test",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not break every later test.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The partition key of the item a request writes, reads or deletes (`Item` or `Key`).
fn item_pk(body: &Value) -> Option<&str> {
    body.get("Item")
        .or_else(|| body.get("Key"))?
        .get("pk")?
        .get("S")?
        .as_str()
}

/// The ARNs IAM authorizes a request against: its table (or the index it queries), each table
/// of a batch, or `*` for calls that name none (ListTables).
fn resources(body: &Value, table_arn_prefix: &str) -> Vec<String> {
    let table = |name: &str| format!("{table_arn_prefix}{name}");
    if let Some(name) = body.get("TableName").and_then(Value::as_str) {
        return vec![match body.get("IndexName").and_then(Value::as_str) {
            Some(index) => format!("{}/index/{index}", table(name)),
            None => table(name),
        }];
    }
    if let Some(Value::Object(items)) = body.get("RequestItems") {
        return items.keys().map(|name| table(name)).collect();
    }
    if let Some(Value::Array(items)) = body.get("TransactItems") {
        return items
            .iter()
            .filter_map(|item| item.as_object()?.values().next()?.get("TableName"))
            .filter_map(Value::as_str)
            .map(table)
            .collect();
    }
    vec!["*".to_owned()]
}

/// The proxy: IAM's decision first, on the action and the tables the request names, then the
/// request as sent to dynalite and its answer streamed back.
async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    // The tables are in the body, so IAM's decision needs it whole before anything is sent on.
    let body = match axum::body::to_bytes(body, MAX_REQUEST).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let action = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .map(str::to_owned);
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    let fault = match (&action, item_pk(&json)) {
        (Some(action), Some(pk)) => {
            let key = format!("{action} {pk}");
            let fault = lock(&proxy.faults).take(|k| k == key);
            if fault.is_some() {
                lock(&proxy.played).push(key);
            }
            fault
        }
        _ => None,
    };
    // A request with no DynamoDB action is no call IAM could allow; dynalite answers it as
    // DynamoDB does (UnknownOperationException, SerializationException).
    if let Some(action) = action {
        let arns = resources(&json, &proxy.table_arn_prefix);
        let iam_action = format!("dynamodb:{action}");
        let denied = arns
            .iter()
            .find(|arn| !cfn::allows(&proxy.statements, &iam_action, arn))
            .cloned();
        lock(&proxy.calls).push(Call {
            action,
            granted: denied.is_none(),
            body: json,
        });
        if let Some(arn) = denied {
            return access_denied(&iam_action, &arn);
        }
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = match format!("{}{path}", proxy.target).parse() {
        Ok(uri) => uri,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let answer = proxy
        .http
        .request(axum::http::Request::from_parts(parts, Body::from(body)))
        .await;
    if let (Some(Fault::AppliedThenInternalError), Ok(response)) = (fault, &answer) {
        if response.status().is_success() || response.status().is_client_error() {
            // dynalite has answered, so the call is applied (or refused) by now; its answer
            // is lost on the way back.
            return internal_server_error();
        }
    }
    match answer {
        Ok(response) => response.map(Body::new).into_response(),
        Err(e) => {
            let message = format!("the proxy could not reach dynalite: {e}");
            dynamodb_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                &message,
            )
        }
    }
}

/// IAM's refusal as DynamoDB returns it: HTTP 400 with the AccessDeniedException type. The
/// shape (`__type` "com.amazonaws.dynamodb.v20120810#<Exception>", `message`, JSON 1.0 content
/// type, `x-amzn-RequestId`) and the 400 status for AccessDeniedException are from the DynamoDB
/// Developer Guide, "Error handling with DynamoDB" (error components and "Error messages and
/// codes"); the wording is IAM's for an identity-based denial, as the Bedrock stand-in uses.
fn access_denied(action: &str, arn: &str) -> Response {
    let message = format!(
        "User: arn:aws:sts::123456789012:assumed-role/marquee-function/marquee is not \
         authorized to perform: {action} on resource: {arn} because no identity-based policy \
         allows the {action} action"
    );
    dynamodb_error(StatusCode::BAD_REQUEST, "AccessDeniedException", &message)
}

/// DynamoDB's own server-side failure: HTTP 500, exception `InternalServerError`, which the
/// DynamoDB Developer Guide ("Error handling with DynamoDB", "Error messages and codes", HTTP
/// 5xx) lists as "OK to retry? Yes"; the message is the API reference's description of
/// `InternalServerError` ("The server encountered an internal error trying to fulfill the
/// request."), in the error shape of `access_denied` below.
fn internal_server_error() -> Response {
    dynamodb_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        "The server encountered an internal error trying to fulfill the request.",
    )
}

fn dynamodb_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    });
    let mut response = (status, Bytes::from(body.to_string())).into_response();
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
