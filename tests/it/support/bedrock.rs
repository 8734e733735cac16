//! Stand-in for Amazon Bedrock Runtime's InvokeModel (`POST /model/{modelId}/invoke`) for the
//! image models Marquee uses, reached through `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
//!
//! It validates requests the way the real service does (SigV4 present, JSON in and out, only the
//! documented keys, documented ranges), answers with real PNGs of the model's output size, and
//! shapes errors as restJson1 does, so the SDK maps them to its typed `InvokeModelError`s. Tests
//! make it misbehave with [`Fault`]s, globally or only for prompts containing a marker, each
//! consumed once per request ("throttle twice, then succeed"). Every call is recorded.
//!
//! Like the real service it answers per region and per caller: the region comes from the SigV4
//! credential scope (`Credential=AKID/20261201/us-west-2/bedrock/aws4_request`), and a model is
//! served only in the regions Bedrock serves it in ([`MODEL_REGIONS`]); anywhere else the answer
//! is Bedrock's 400 ValidationException "The provided model identifier is invalid.". The caller
//! is known by its access key, and each key carries the IAM statements of its role (for the
//! function: the statements `template.yaml` grants, evaluated by `support::cfn`), so a call the
//! template would not allow is refused with IAM's AccessDeniedException, and a key the stand-in
//! does not know with UnrecognizedClientException.
//!
//! Known differences: `output_format: "jpeg"` still returns a PNG; SD3.5 image-to-image (`mode`,
//! `image`, `strength`) is rejected as unsupported; the signature itself is not verified.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::faults::FaultRules;

pub const SD35_LARGE: &str = "stability.sd3-5-large-v1:0";
pub const IMAGE_CORE: &str = "stability.stable-image-core-v1:1";
pub const IMAGE_ULTRA: &str = "stability.stable-image-ultra-v1:1";
pub const NOVA_CANVAS: &str = "amazon.nova-canvas-v1:0";

/// Where Bedrock serves each model on demand. Sources (see docs/INSTALL.md, section 2): the
/// Bedrock user guide's model pages and Regional availability (Stability's image models in
/// us-west-2) and "Supported Regions and models for model copy" (Nova Canvas: us-east-1,
/// eu-west-1, ap-northeast-2; not us-west-2, as aws-samples/amazon-bedrock-workshop#340 also
/// found).
pub const MODEL_REGIONS: [(&str, &[&str]); 4] = [
    (SD35_LARGE, &["us-west-2"]),
    (IMAGE_CORE, &["us-west-2"]),
    (IMAGE_ULTRA, &["us-west-2"]),
    (NOVA_CANVAS, &["us-east-1", "eu-west-1", "ap-northeast-2"]),
];

/// Bedrock's answer (400 ValidationException) for a model id it does not serve in the region
/// called, as reported in aws-samples/amazon-bedrock-workshop#315 and #340 (Nova Canvas called in
/// us-west-2) and many SDK issue threads.
pub const INVALID_MODEL_ID: &str = "The provided model identifier is invalid.";

/// The access key of [`Bedrock::client`]: a harness identity allowed every model.
pub const HARNESS_ACCESS_KEY: &str = "AKIDSTANDIN";

/// Stability's output size for each aspect ratio (about one megapixel).
pub const STABILITY_SIZES: [(&str, u32, u32); 9] = [
    ("2:3", 832, 1216),
    ("1:1", 1024, 1024),
    ("4:5", 896, 1088),
    ("9:16", 768, 1344),
    ("9:21", 640, 1536),
    ("3:2", 1216, 832),
    ("5:4", 1088, 896),
    ("16:9", 1344, 768),
    ("21:9", 1536, 640),
];

/// Nova Canvas's wording for a prompt its content filters block (AWS Nova user guide).
pub const NOVA_PROMPT_BLOCKED: &str = "This request has been blocked by our content filters. \
    Please adjust your text prompt to submit a new request.";
/// Nova Canvas's `error` field when every generated image was filtered.
pub const NOVA_OUTPUT_BLOCKED: &str =
    "All of the generated images have been blocked by our content filters.";

/// A way to misbehave. Each rule applies to a set number of requests.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// 429 ThrottlingException.
    Throttle,
    /// 429 ModelNotReadyException (the SDK retries it itself).
    ModelNotReady,
    /// 500 InternalServerException.
    InternalError,
    /// 503 ServiceUnavailableException.
    Unavailable,
    /// 408 ModelTimeoutException.
    ModelTimeout,
    /// 403 AccessDeniedException (model access not enabled).
    AccessDenied,
    /// Wait this long, then answer normally (longer than the client's timeout).
    Hang(Duration),
    /// Stability: 200 with `finish_reasons: ["Filter reason: prompt"]` and no `images` key.
    /// Nova: 400 ValidationException with [`NOVA_PROMPT_BLOCKED`].
    FilterPrompt,
    /// Stability: 200 with `finish_reasons: ["Filter reason: output image"]` and `images: []`.
    /// Nova: 200 with `images: []` and `error` [`NOVA_OUTPUT_BLOCKED`].
    FilterOutput,
    /// 200 with a truncated JSON body.
    MalformedJson,
    /// 200 with well-formed JSON whose image is base64 of bytes that are not an image.
    NotAnImage,
}

/// One InvokeModel call as received.
#[derive(Clone, Debug)]
pub struct Call {
    /// The decoded model id (`stability.sd3-5-large-v1:0`).
    pub model_id: String,
    /// The parsed body, or `Value::Null` if it was not JSON.
    pub body: Value,
    /// The HTTP status answered; 0 while unanswered (or when the client gave up first).
    pub status: u16,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
    /// The region of the SigV4 credential scope (empty when the request was not signed).
    pub region: String,
}

impl Call {
    /// The prompt text, for either family.
    pub fn prompt(&self) -> Option<&str> {
        prompt_of(&self.body)
    }
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    rules: FaultRules<Fault>,
    /// Each known access key's IAM statements.
    principals: HashMap<String, Vec<super::cfn::Statement>>,
    // PNG encoding costs tens of milliseconds in debug builds; sizes and seed variants repeat.
    images: HashMap<(u32, u32, u8), Arc<String>>,
}

/// Handle to the Bedrock stand-in. Cheap to clone.
#[derive(Clone)]
pub struct Bedrock {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Bedrock {
    /// Starts the stand-in on the background runtime.
    pub fn start() -> Bedrock {
        let inner = Arc::new(Mutex::new(Inner::default()));
        lock(&inner).principals.insert(
            HARNESS_ACCESS_KEY.into(),
            vec![super::cfn::Statement {
                sid: "Harness".into(),
                allow: true,
                actions: vec!["bedrock:*".into()],
                resources: vec!["*".into()],
                not_resources: Vec::new(),
            }],
        );
        let app = Router::new()
            .route("/model/{model_id}/invoke", post(invoke))
            .with_state(inner.clone());
        let addr = super::serve("bedrock", |_| app);
        Bedrock { addr, inner }
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK config builder aimed at the stand-in with dummy credentials (the stand-in checks
    /// that requests are signed, not the signature). Adjust retries/timeouts, then build.
    pub fn sdk_config(&self) -> aws_sdk_bedrockruntime::config::Builder {
        use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
        aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(
                HARNESS_ACCESS_KEY,
                "standin-secret",
                None,
                None,
                "bedrock-standin",
            ))
    }

    /// A client with the SDK's default retries.
    pub fn client(&self) -> aws_sdk_bedrockruntime::Client {
        aws_sdk_bedrockruntime::Client::from_conf(self.sdk_config().build())
    }

    /// Lets `access_key` call Bedrock with the given IAM statements (a role's policy), replacing
    /// any it had. Calls signed with other keys are refused as AWS refuses unknown keys.
    pub fn grant(&self, access_key: &str, statements: Vec<super::cfn::Statement>) {
        self.lock()
            .principals
            .insert(access_key.to_owned(), statements);
    }

    /// Applies `fault` to the next `times` requests whose prompt contains `marker`.
    pub fn fault_for_prompt(&self, marker: &str, fault: Fault, times: u32) {
        self.lock().rules.add(marker, fault, times);
    }

    /// The calls whose prompt contains `marker`.
    pub fn calls_for_prompt(&self, marker: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.prompt().is_some_and(|p| p.contains(marker)))
            .cloned()
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A test that panicked while holding the lock must not break every later test.
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone, Copy, PartialEq)]
enum Family {
    Stability { image_to_image: bool },
    Nova,
}

fn family(model_id: &str) -> Option<Family> {
    match model_id {
        SD35_LARGE => Some(Family::Stability {
            image_to_image: true,
        }),
        IMAGE_CORE | IMAGE_ULTRA => Some(Family::Stability {
            image_to_image: false,
        }),
        NOVA_CANVAS => Some(Family::Nova),
        _ => None,
    }
}

/// What a valid request asks for.
struct Job {
    width: u32,
    height: u32,
    seed: u64,
    count: usize,
}

async fn invoke(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The SDK sends `stability.sd3-5-large-v1%3A0`; axum's `Path` percent-decodes the segment.
    let model_id = raw_id;
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let region = credential_scope(&headers)
        .map(|(_, region)| region)
        .unwrap_or_default();
    // Recorded on arrival, so a call whose client gave up during a hang still counts; the
    // status is filled in when (if) it is answered.
    let index = {
        let mut guard = lock(&inner);
        guard.calls.push(Call {
            model_id: model_id.clone(),
            body: parsed.clone(),
            status: 0,
            fault: None,
            region,
        });
        guard.calls.len() - 1
    };
    let (status, fault, response) = answer(&inner, &model_id, &headers, &parsed, &body).await;
    if let Some(call) = lock(&inner).calls.get_mut(index) {
        call.status = status;
        call.fault = fault;
    }
    response
}

async fn answer(
    inner: &Mutex<Inner>,
    model_id: &str,
    headers: &HeaderMap,
    parsed: &Value,
    raw: &[u8],
) -> (u16, Option<Fault>, Response) {
    let fail = |status: StatusCode, code: &str, message: &str| {
        (status.as_u16(), None, aws_error(status, code, message))
    };
    if let Err((status, code, message)) = check_headers(headers) {
        return fail(status, code, &message);
    }
    if let Err((status, code, message)) = authorize(inner, headers, model_id) {
        return fail(status, code, &message);
    }
    let region = credential_scope(headers)
        .map(|(_, r)| r)
        .unwrap_or_default();
    let served_here = MODEL_REGIONS
        .iter()
        .any(|(id, regions)| *id == model_id && regions.contains(&region.as_str()));
    let (Some(family), true) = (family(model_id), served_here) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            INVALID_MODEL_ID,
        );
    };
    if serde_json::from_slice::<Value>(raw).is_err() {
        return fail(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        );
    }
    let validated = match family {
        Family::Stability { image_to_image } => validate_stability(parsed, image_to_image),
        Family::Nova => validate_nova(parsed),
    };
    let job = match validated {
        Ok(job) => job,
        Err(detail) => {
            let message = format!(
                "Malformed input request: {detail}, please reformat your input and try again."
            );
            return fail(StatusCode::BAD_REQUEST, "ValidationException", &message);
        }
    };

    let fault = take_fault(inner, prompt_of(parsed).unwrap_or_default());
    let with_fault =
        |status: StatusCode, response: Response| (status.as_u16(), fault.clone(), response);
    let error = |status: StatusCode, code: &str, message: &str| {
        with_fault(status, aws_error(status, code, message))
    };
    let nova = family == Family::Nova;
    match &fault {
        Some(Fault::Throttle) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            );
        }
        Some(Fault::ModelNotReady) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "ModelNotReadyException",
                "Model is not ready for inference. Wait and try your request again.",
            );
        }
        Some(Fault::InternalError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "An internal server error occurred. Retry your request.",
            );
        }
        Some(Fault::Unavailable) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                "The service isn't currently available. Try again later.",
            );
        }
        Some(Fault::ModelTimeout) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "ModelTimeoutException",
                "Model has timed out in processing the request. Try your request again.",
            );
        }
        Some(Fault::AccessDenied) => {
            return error(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            );
        }
        Some(Fault::Hang(duration)) => tokio::time::sleep(*duration).await,
        Some(Fault::FilterPrompt) if nova => {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                NOVA_PROMPT_BLOCKED,
            );
        }
        Some(Fault::FilterPrompt) => {
            let body = json!({"seeds": [job.seed], "finish_reasons": ["Filter reason: prompt"]});
            return with_fault(StatusCode::OK, ok_json(body.to_string()));
        }
        Some(Fault::FilterOutput) if nova => {
            let body = json!({"images": [], "error": NOVA_OUTPUT_BLOCKED});
            return with_fault(StatusCode::OK, ok_json(body.to_string()));
        }
        Some(Fault::FilterOutput) => {
            let body = json!({
                "seeds": [job.seed],
                "finish_reasons": ["Filter reason: output image"],
                "images": [],
            });
            return with_fault(StatusCode::OK, ok_json(body.to_string()));
        }
        Some(Fault::MalformedJson) => {
            return with_fault(
                StatusCode::OK,
                ok_json("{\"seeds\": [42], \"images\": [\"iVBOR".into()),
            );
        }
        Some(Fault::NotAnImage) => {
            let junk = base64::engine::general_purpose::STANDARD.encode("this is not an image");
            let body = if nova {
                json!({"images": [junk]})
            } else {
                json!({"seeds": [job.seed], "finish_reasons": [null], "images": [junk]})
            };
            return with_fault(StatusCode::OK, ok_json(body.to_string()));
        }
        None => {}
    }

    let image = image_b64(inner, job.width, job.height, job.seed).await;
    let images: Vec<&str> = (0..job.count).map(|_| image.as_str()).collect();
    let body = if nova {
        json!({"images": images})
    } else {
        json!({"seeds": [job.seed], "finish_reasons": [null], "images": images})
    };
    with_fault(StatusCode::OK, ok_json(body.to_string()))
}

/// The header checks the real endpoint makes before looking at the model or body.
fn check_headers(headers: &HeaderMap) -> Result<(), (StatusCode, &'static str, String)> {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(auth) = get(header::AUTHORIZATION) else {
        return Err((
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token".into(),
        ));
    };
    // Credential=AKID/20260101/us-east-1/bedrock/aws4_request: the service must be `bedrock`.
    let scope_ok = auth.starts_with("AWS4-HMAC-SHA256 ")
        && auth.contains("/bedrock/aws4_request")
        && auth.contains("SignedHeaders=")
        && auth.contains("Signature=");
    if !scope_ok || !headers.contains_key("x-amz-date") {
        return Err((
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            format!("the request is not SigV4-signed for service `bedrock`: {auth}"),
        ));
    }
    let content_type = get(header::CONTENT_TYPE).unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err((
            StatusCode::BAD_REQUEST,
            "ValidationException",
            format!("Content-Type must be application/json, got `{content_type}`"),
        ));
    }
    if let Some(accept) = get(header::ACCEPT)
        && !(accept.starts_with("application/json") || accept == "*/*")
    {
        return Err((
            StatusCode::BAD_REQUEST,
            "ValidationException",
            format!("Accept must be application/json, got `{accept}`"),
        ));
    }
    Ok(())
}

/// The access key and region of a SigV4 `Authorization` header's credential scope.
fn credential_scope(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    // AKID/20261201/us-west-2/bedrock/aws4_request
    let mut parts = credential.split('/');
    let key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    Some((key, region))
}

/// IAM's part: the caller must be a known key whose statements allow `bedrock:InvokeModel` on
/// the model's ARN in the region called. The wording is IAM's for an identity-based denial.
fn authorize(
    inner: &Mutex<Inner>,
    headers: &HeaderMap,
    model_id: &str,
) -> Result<(), (StatusCode, &'static str, String)> {
    let Some((key, region)) = credential_scope(headers) else {
        return Err((
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            "the Authorization header has no credential scope".into(),
        ));
    };
    let guard = lock(inner);
    let Some(statements) = guard.principals.get(&key) else {
        return Err((
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ));
    };
    let arn = format!("arn:aws:bedrock:{region}::foundation-model/{model_id}");
    if super::cfn::allows(statements, "bedrock:InvokeModel", &arn) {
        Ok(())
    } else {
        Err((
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/marquee-function/{key} is not \
                 authorized to perform: bedrock:InvokeModel on resource: {arn} because no \
                 identity-based policy allows the bedrock:InvokeModel action"
            ),
        ))
    }
}

fn prompt_of(body: &Value) -> Option<&str> {
    body.get("prompt")
        .or_else(|| body.get("textToImageParams").and_then(|p| p.get("text")))
        .and_then(Value::as_str)
}

/// Takes one use of the first fault rule whose marker the prompt contains.
fn take_fault(inner: &Mutex<Inner>, prompt: &str) -> Option<Fault> {
    lock(inner).rules.take(|marker| prompt.contains(marker))
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{path}: expected type: JSONObject, found: {}", kind(value)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn only_keys(map: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("{path}: extraneous key [{key}] is not permitted")),
        None => Ok(()),
    }
}

fn string_field<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
    chars: std::ops::RangeInclusive<usize>,
) -> Result<Option<&'a str>, String> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| {
        format!(
            "{path}/{key}: expected type: String, found: {}",
            kind(value)
        )
    })?;
    let len = text.chars().count();
    if len < *chars.start() {
        return Err(format!(
            "{path}/{key}: expected minLength: {}, actual: {len}",
            chars.start()
        ));
    }
    if len > *chars.end() {
        return Err(format!(
            "{path}/{key}: expected maxLength: {}, actual: {len}",
            chars.end()
        ));
    }
    Ok(Some(text))
}

fn integer_field(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, String> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let n = value
        .as_u64()
        .ok_or_else(|| format!("{path}/{key}: expected type: Integer, found: {value}"))?;
    if !range.contains(&n) {
        return Err(format!(
            "{path}/{key}: {n} is not in the range {}..={}",
            range.start(),
            range.end()
        ));
    }
    Ok(Some(n))
}

fn one_of<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, String> {
    let Some(value) = string_field(map, path, key, 0..=usize::MAX)? else {
        return Ok(None);
    };
    if !allowed.contains(&value) {
        return Err(format!("{path}/{key}: {value} is not a valid enum value"));
    }
    Ok(Some(value))
}

fn validate_stability(body: &Value, image_to_image: bool) -> Result<Job, String> {
    let map = object(body, "#")?;
    let mut allowed = vec![
        "prompt",
        "negative_prompt",
        "aspect_ratio",
        "seed",
        "output_format",
    ];
    if image_to_image {
        allowed.push("mode");
    }
    only_keys(map, "#", &allowed)?;
    if string_field(map, "#", "prompt", 1..=10_000)?.is_none() {
        return Err("#: required key [prompt] not found".into());
    }
    string_field(map, "#", "negative_prompt", 0..=10_000)?;
    let ratios: Vec<&str> = STABILITY_SIZES.iter().map(|(r, _, _)| *r).collect();
    let ratio = one_of(map, "#", "aspect_ratio", &ratios)?.unwrap_or("1:1");
    one_of(map, "#", "output_format", &["png", "jpeg"])?;
    if one_of(map, "#", "mode", &["text-to-image", "image-to-image"])? == Some("image-to-image") {
        return Err("#/mode: image-to-image is not supported by the test stand-in".into());
    }
    let seed = match integer_field(map, "#", "seed", 0..=4_294_967_294)? {
        // Like the service, seed 0 (or none) means "random"; the seed used is reported back.
        None | Some(0) => fastrand::u64(1..=4_294_967_294),
        Some(seed) => seed,
    };
    let (_, width, height) = STABILITY_SIZES
        .iter()
        .find(|(r, _, _)| *r == ratio)
        .copied()
        .unwrap_or(("1:1", 1024, 1024));
    Ok(Job {
        width,
        height,
        seed,
        count: 1,
    })
}

fn validate_nova(body: &Value) -> Result<Job, String> {
    let map = object(body, "#")?;
    only_keys(
        map,
        "#",
        &["taskType", "textToImageParams", "imageGenerationConfig"],
    )?;
    match map.get("taskType").and_then(Value::as_str) {
        Some("TEXT_IMAGE") => {}
        Some(other) => {
            return Err(format!(
                "#/taskType: {other} is not supported by the test stand-in"
            ));
        }
        None => return Err("#: required key [taskType] not found".into()),
    }
    let params = object(
        map.get("textToImageParams")
            .ok_or("#: required key [textToImageParams] not found")?,
        "#/textToImageParams",
    )?;
    only_keys(params, "#/textToImageParams", &["text", "negativeText"])?;
    if string_field(params, "#/textToImageParams", "text", 1..=1024)?.is_none() {
        return Err("#/textToImageParams: required key [text] not found".into());
    }
    string_field(params, "#/textToImageParams", "negativeText", 1..=1024)?;

    let empty = Map::new();
    let config = match map.get("imageGenerationConfig") {
        Some(value) => object(value, "#/imageGenerationConfig")?,
        None => &empty,
    };
    let path = "#/imageGenerationConfig";
    only_keys(
        config,
        path,
        &[
            "numberOfImages",
            "width",
            "height",
            "cfgScale",
            "seed",
            "quality",
        ],
    )?;
    let count = integer_field(config, path, "numberOfImages", 1..=5)?.unwrap_or(1);
    let width = integer_field(config, path, "width", 320..=4096)?.unwrap_or(1024);
    let height = integer_field(config, path, "height", 320..=4096)?.unwrap_or(1024);
    if width % 16 != 0 || height % 16 != 0 {
        return Err(format!(
            "{path}: width and height must be divisible by 16, got {width}x{height}"
        ));
    }
    if width.max(height) > 4 * width.min(height) {
        return Err(format!(
            "{path}: aspect ratio must be between 1:4 and 4:1, got {width}x{height}"
        ));
    }
    if width * height > 4_194_304 {
        return Err(format!(
            "{path}: image must be at most 4194304 pixels, got {width}x{height}"
        ));
    }
    if let Some(value) = config.get("cfgScale") {
        let cfg = value
            .as_f64()
            .ok_or_else(|| format!("{path}/cfgScale: expected type: Number, found: {value}"))?;
        if !(1.1..=10.0).contains(&cfg) {
            return Err(format!(
                "{path}/cfgScale: {cfg} is not in the range 1.1..=10"
            ));
        }
    }
    let seed = integer_field(config, path, "seed", 0..=858_993_459)?.unwrap_or(12);
    one_of(config, path, "quality", &["standard", "premium"])?;
    // The bounds above keep these in u32 and usize.
    Ok(Job {
        width: width as u32,
        height: height as u32,
        seed,
        count: count as usize,
    })
}

fn ok_json(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    insert_request_id(headers);
    response
}

/// A restJson1 error as Bedrock sends it. The SDK reads the code from `x-amzn-ErrorType`
/// (dropping the `:http://...` suffix) and falls back to the body's `__type`/`code`; both are
/// sent so either reading maps to the typed error.
pub fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"message": message, "__type": code}).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let error_type = format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    if let Ok(value) = HeaderValue::from_str(&error_type) {
        headers.insert("x-amzn-errortype", value);
    }
    insert_request_id(headers);
    response
}

fn insert_request_id(headers: &mut HeaderMap) {
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", value);
    }
}

/// The base64 PNG for a size and seed, cached per (size, seed % 8).
async fn image_b64(inner: &Mutex<Inner>, width: u32, height: u32, seed: u64) -> Arc<String> {
    let variant = (seed % 8) as u8;
    let key = (width, height, variant);
    if let Some(hit) = lock(inner).images.get(&key) {
        return hit.clone();
    }
    // Encoding is CPU work; keep it off the async workers that serve other tests.
    let encoded = tokio::task::spawn_blocking(move || {
        let png = gradient_png(width, height, variant);
        Arc::new(base64::engine::general_purpose::STANDARD.encode(png))
    })
    .await
    .unwrap_or_else(|e| panic!("encoding a {width}x{height} PNG panicked: {e}"));
    lock(inner).images.insert(key, encoded.clone());
    encoded
}

/// A real PNG: a two-axis gradient whose colours depend on `variant`. Smooth rows compress well,
/// so the fast encoder keeps a megapixel well under a megabyte.
pub fn gradient_png(width: u32, height: u32, variant: u8) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let tint = variant.wrapping_mul(37);
    let mut pixels = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let g = (y * 255 / h.max(1)) as u8;
        for x in 0..w {
            let r = (x * 255 / w.max(1)) as u8;
            pixels.extend_from_slice(&[r ^ tint, g, tint.wrapping_add((x / 64) as u8 * 8)]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels));
    if let Err(e) = written {
        panic!("encoding a {width}x{height} PNG failed: {e}");
    }
    out
}
