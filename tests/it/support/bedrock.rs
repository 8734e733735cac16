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
//! Amazon Nova Canvas reached end of life on 2026-09-30 and is answered as Bedrock answers an
//! end-of-life model ([`RETIRED_MODELS`], [`END_OF_LIFE`]), whatever the body.
//!
//! Edits of existing art are served in their documented formats: SD3.5 Large image-to-image
//! and Stability's image services (Search and
//! Replace, Search and Recolor, Outpaint, Conservative and Creative Upscale, Style Guide and
//! Style Transfer), the services only through their `us.` cross-region inference profile, as
//! Bedrock serves them. Each answer to an edit is derived from the input image (a tinted copy, at
//! the documented output size), so a test can tell an edit from a fresh generation with
//! [`is_edit_of`]; an outpaint keeps the input's pixels exactly where they were and fills its new
//! margins from the nearest edge, tinted ([`is_outpaint_of`]).
//!
//! Known differences: `output_format: "jpeg"` (or `webp`) still returns a PNG; input images must
//! be PNGs (Bedrock also takes JPEG, and the services WebP); an upscale is assumed to be four times
//! the input per side (the docs say "to 4K"); an outpainted output above 9,437,184 pixels is
//! refused (ASSUMED: AWS's page states the limit for the input only); the signature itself is
//! not verified.

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
/// Stability's image services (Bedrock user guide, "Stability AI Image Services"), by their
/// foundation-model ids and by the US cross-region inference profiles they are invoked through.
pub const SEARCH_REPLACE: &str = "stability.stable-image-search-replace-v1:0";
pub const CONSERVATIVE_UPSCALE: &str = "stability.stable-conservative-upscale-v1:0";
pub const CREATIVE_UPSCALE: &str = "stability.stable-creative-upscale-v1:0";
/// DOC: the model id of Stable Image Search and Recolor on the Bedrock user guide's Stability
/// model cards (model-cards-stability-ai.html, "Stable Image Search and Recolor"); its `us.`
/// profile as public Bedrock callers invoke it (e.g. awslabs-derived bedrock-image MCP servers).
pub const SEARCH_RECOLOR: &str = "stability.stable-image-search-recolor-v1:0";
/// Control tools for Use a picture… (same page, "Control"): Style Guide and Style Transfer. Ids
/// as public callers invoke them (`us.stability.stable-image-style-guide-v1:0`,
/// `us.stability.stable-style-transfer-v1:0`).
pub const STYLE_GUIDE: &str = "stability.stable-image-style-guide-v1:0";
pub const STYLE_TRANSFER: &str = "stability.stable-style-transfer-v1:0";
/// Stable Image Outpaint: the Bedrock user guide's "Stability AI models" page, "Supported
/// models and image services" (DOC).
pub const OUTPAINT: &str = "stability.stable-outpaint-v1:0";
pub const SERVICES: [&str; 7] = [
    SEARCH_REPLACE,
    OUTPAINT,
    CONSERVATIVE_UPSCALE,
    CREATIVE_UPSCALE,
    SEARCH_RECOLOR,
    STYLE_GUIDE,
    STYLE_TRANSFER,
];
/// The regions the services' `us.` profile is served from and routes to.
pub const PROFILE_REGIONS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-2"];
/// The account of every ARN the stand-in checks (the pseudo parameter `support::cfn` uses).
const ACCOUNT: &str = "123456789012";

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

/// Bedrock's answer (400 ValidationException) for a model served only through an inference
/// profile when it is invoked by its own id.
pub fn on_demand_unsupported(model_id: &str) -> String {
    format!(
        "Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your \
         request with the ID or ARN of an inference profile that contains this model."
    )
}

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

/// Models past their end of life on Bedrock, with the Legacy and end-of-life dates AWS's
/// lifecycle page gives (model-lifecycle-legacy.html; BEDROCK.md, "Lifecycle").
pub const RETIRED_MODELS: [(&str, &str, &str); 1] = [(NOVA_CANVAS, "2026-03-30", "2026-09-30")];

/// Bedrock's answer (404 ResourceNotFoundException) to InvokeModel on a model past its end of
/// life, as captured in aws-solutions-library-samples/accelerated-intelligent-document-
/// processing-on-aws#708 ("ResourceNotFoundException: This model version has reached the end of
/// its life. Please refer to the AWS documentation for more details.").
pub const END_OF_LIFE: &str = "This model version has reached the end of its life. Please refer \
    to the AWS documentation for more details.";

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
    /// 200 with `finish_reasons: ["Filter reason: prompt"]` and no `images` key.
    FilterPrompt,
    /// 200 with `finish_reasons: ["Filter reason: output image"]` and `images: []`.
    FilterOutput,
    /// 200 with a truncated JSON body.
    MalformedJson,
    /// 200 with well-formed JSON whose image is base64 of bytes that are not an image.
    NotAnImage,
    /// A normal answer whose `seeds` are strings (`["42"]`), the shape Bedrock's Stable Image
    /// parameter pages document ("seeds (string) list of seeds"), where captured responses
    /// carry integers.
    SeedsAsStrings,
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
            .http_client(marquee_core::net::aws_http_client())
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

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls to `model_id` (a model id or an inference profile id) so far.
    pub fn calls_to(&self, model_id: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.model_id == model_id)
            .cloned()
            .collect()
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
    Stability {
        image_to_image: bool,
    },
    /// One of Stability's image services, by foundation-model id.
    Service(&'static str),
}

fn family(model_id: &str) -> Option<Family> {
    match model_id {
        SD35_LARGE => Some(Family::Stability {
            image_to_image: true,
        }),
        IMAGE_CORE | IMAGE_ULTRA => Some(Family::Stability {
            image_to_image: false,
        }),
        _ => None,
    }
}

/// The service a `us.` inference profile id names.
fn profile_service(model_id: &str) -> Option<&'static str> {
    let base = model_id.strip_prefix("us.")?;
    SERVICES.into_iter().find(|s| *s == base)
}

/// An input image, decoded.
struct Rgb {
    width: u32,
    height: u32,
    /// Row-major RGB.
    pixels: Vec<u8>,
}

/// What a valid request asks for.
struct Job {
    width: u32,
    height: u32,
    seed: u64,
    count: usize,
    /// For an edit: the input image the answer is derived from.
    source: Option<Rgb>,
    /// For an outpaint: the margins added (left, up); the answer keeps the input there.
    grown: Option<(u32, u32)>,
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
    // A model past its end of life is refused as Bedrock refuses it, before its body is read.
    if RETIRED_MODELS.iter().any(|(id, _, _)| *id == model_id) {
        return fail(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            END_OF_LIFE,
        );
    }
    // The image services exist only behind their US profile, which only US regions serve.
    if SERVICES.contains(&model_id) {
        return fail(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &on_demand_unsupported(model_id),
        );
    }
    let family = match profile_service(model_id) {
        Some(service) if PROFILE_REGIONS.contains(&region.as_str()) => {
            Some(Family::Service(service))
        }
        Some(_) => None,
        None => {
            let served_here = MODEL_REGIONS
                .iter()
                .any(|(id, regions)| *id == model_id && regions.contains(&region.as_str()));
            family(model_id).filter(|_| served_here)
        }
    };
    let Some(family) = family else {
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
        Family::Service(service) => validate_service(service, parsed),
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
        Some(Fault::FilterPrompt) => {
            let body = json!({"seeds": [job.seed], "finish_reasons": ["Filter reason: prompt"]});
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
            let body = json!({"seeds": [job.seed], "finish_reasons": [null], "images": [junk]});
            return with_fault(StatusCode::OK, ok_json(body.to_string()));
        }
        Some(Fault::SeedsAsStrings) | None => {}
    }

    let image = match job.source {
        // An edit: a tinted copy of the input at the output size; an outpaint: the input kept
        // as it is, inside its new margins.
        Some(source) => {
            let (width, height, grown) = (job.width, job.height, job.grown);
            let encoded = tokio::task::spawn_blocking(move || {
                let png = match grown {
                    Some((left, up)) => outpainted_png(&source, width, height, left, up),
                    None => edited_png(&source, width, height),
                };
                base64::engine::general_purpose::STANDARD.encode(png)
            })
            .await
            .unwrap_or_else(|e| panic!("encoding an edit panicked: {e}"));
            Arc::new(encoded)
        }
        None => image_b64(inner, job.width, job.height, job.seed).await,
    };
    let images: Vec<&str> = (0..job.count).map(|_| image.as_str()).collect();
    let seeds = if fault == Some(Fault::SeedsAsStrings) {
        json!([job.seed.to_string()])
    } else {
        json!([job.seed])
    };
    let body = json!({"seeds": seeds, "finish_reasons": [null], "images": images});
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

/// A refusal as AWS words it: status, error code, message.
type Refusal = (StatusCode, &'static str, String);
/// The caller's access key, the region called, and the key's statements.
type Caller<'a> = (String, String, &'a [super::cfn::Statement]);

/// Who is calling, as AWS tells: the access key and region of the request's credential scope
/// (refused without one), and that key's statements (refused when AWS does not know the key).
fn caller<'a>(inner: &'a Inner, headers: &HeaderMap) -> Result<Caller<'a>, Refusal> {
    let Some((key, region)) = credential_scope(headers) else {
        return Err((
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            "the Authorization header has no credential scope".into(),
        ));
    };
    let Some(statements) = inner.principals.get(&key) else {
        return Err((
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ));
    };
    Ok((key, region, statements))
}

/// IAM's part: the caller must be a known key whose statements allow `bedrock:InvokeModel` on
/// the model's ARN in the region called. The wording is IAM's for an identity-based denial.
fn authorize(
    inner: &Mutex<Inner>,
    headers: &HeaderMap,
    model_id: &str,
) -> Result<(), (StatusCode, &'static str, String)> {
    let guard = lock(inner);
    let (key, region, statements) = caller(&guard, headers)?;
    // A cross-region inference profile needs the profile in the region called and the model
    // in every region it may route to (Bedrock user guide, "Prerequisites for inference
    // profiles"); the first ARN refused is the one named.
    let arns: Vec<String> = match profile_service(model_id) {
        Some(service) => std::iter::once(format!(
            "arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{model_id}"
        ))
        .chain(
            PROFILE_REGIONS
                .iter()
                .map(|r| format!("arn:aws:bedrock:{r}::foundation-model/{service}")),
        )
        .collect(),
        None => vec![format!(
            "arn:aws:bedrock:{region}::foundation-model/{model_id}"
        )],
    };
    let refused = arns
        .into_iter()
        .find(|arn| !super::cfn::allows(statements, "bedrock:InvokeModel", arn));
    if let Some(arn) = refused {
        Err((
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            format!(
                "User: arn:aws:sts::{ACCOUNT}:assumed-role/marquee-function/{key} is not \
                 authorized to perform: bedrock:InvokeModel on resource: {arn} because no \
                 identity-based policy allows the bedrock:InvokeModel action"
            ),
        ))
    } else {
        Ok(())
    }
}

fn prompt_of(body: &Value) -> Option<&str> {
    body.get("prompt")
        .or_else(|| {
            [
                "textToImageParams",
                "imageVariationParams",
                "inPaintingParams",
            ]
            .iter()
            .find_map(|k| body.get(k).and_then(|p| p.get("text")))
        })
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

fn number_field(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, String> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let n = value.as_f64().ok_or_else(|| {
        format!(
            "{path}/{key}: expected type: Number, found: {}",
            kind(value)
        )
    })?;
    if !range.contains(&n) {
        return Err(format!(
            "{path}/{key}: {n} is not in the range {}..={}",
            range.start(),
            range.end()
        ));
    }
    Ok(Some(n))
}

/// The size limits a model puts on an input image.
struct ImageLimits {
    /// The shortest side allowed.
    min_side: u32,
    /// The longest side allowed.
    max_side: u32,
    /// Total pixels allowed.
    pixels: std::ops::RangeInclusive<u64>,
    /// The largest long-side-to-short-side ratio.
    max_ratio: f64,
}

/// Stability's image services and SD3.5 image-to-image ("Stability AI Image Services": every
/// side at least 64 px; total pixels 4,096 to 9,437,184; aspect ratio between 1:2.5 and 2.5:1).
const STABILITY_INPUT: ImageLimits = ImageLimits {
    min_side: 64,
    max_side: 16_384,
    pixels: 4_096..=9_437_184,
    max_ratio: 2.5,
};
/// Creative Upscale takes "images between 64x64 and 1 megapixel" (same page, Upscale).
const CREATIVE_UPSCALE_INPUT: ImageLimits = ImageLimits {
    pixels: 4_096..=1_048_576,
    ..STABILITY_INPUT
};
/// A required base64 image (PNG here; see "Known differences"), within `limits`.
fn image_field(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    limits: &ImageLimits,
) -> Result<Rgb, String> {
    let text = string_field(map, path, key, 1..=usize::MAX)?
        .ok_or_else(|| format!("{path}: required key [{key}] not found"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("{path}/{key}: the image is not valid base64: {e}"))?;
    let image = decode_png(&bytes).map_err(|e| format!("{path}/{key}: {e}"))?;
    let (w, h) = (image.width, image.height);
    let pixels = u64::from(w) * u64::from(h);
    let ratio = f64::from(w.max(h)) / f64::from(w.min(h).max(1));
    if w.min(h) < limits.min_side || w.max(h) > limits.max_side {
        return Err(format!(
            "{path}/{key}: each side must be {}..={} px, got {w}x{h}",
            limits.min_side, limits.max_side
        ));
    }
    if !limits.pixels.contains(&pixels) {
        return Err(format!(
            "{path}/{key}: the image must have {}..={} pixels, got {w}x{h}",
            limits.pixels.start(),
            limits.pixels.end()
        ));
    }
    if ratio > limits.max_ratio {
        return Err(format!(
            "{path}/{key}: the aspect ratio must be within 1:{0} and {0}:1, got {w}x{h}",
            limits.max_ratio
        ));
    }
    Ok(image)
}

fn stability_seed(map: &Map<String, Value>) -> Result<u64, String> {
    Ok(match integer_field(map, "#", "seed", 0..=4_294_967_294)? {
        // Like the service, seed 0 (or none) means "random"; the seed used is reported back.
        None | Some(0) => fastrand::u64(1..=4_294_967_294),
        Some(seed) => seed,
    })
}

/// "Stability.ai Stable Diffusion 3.5 Large" (Bedrock user guide): text-to-image takes
/// prompt, negative_prompt, aspect_ratio, mode, seed, output_format; image-to-image
/// (`mode: "image-to-image"`) requires prompt, image and strength (0..1), and aspect_ratio is
/// "valid for text-to-image requests only". Stable Image Core and Ultra: text-to-image only.
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
    let mode = if image_to_image {
        one_of(map, "#", "mode", &["text-to-image", "image-to-image"])?
    } else {
        None
    };
    let i2i = mode == Some("image-to-image");
    if i2i {
        allowed.retain(|k| *k != "aspect_ratio");
        allowed.extend(["image", "strength"]);
    }
    only_keys(map, "#", &allowed)?;
    if string_field(map, "#", "prompt", 1..=10_000)?.is_none() {
        return Err("#: required key [prompt] not found".into());
    }
    string_field(map, "#", "negative_prompt", 0..=10_000)?;
    let ratios: Vec<&str> = STABILITY_SIZES.iter().map(|(r, _, _)| *r).collect();
    let ratio = one_of(map, "#", "aspect_ratio", &ratios)?.unwrap_or("1:1");
    one_of(map, "#", "output_format", &["png", "jpeg"])?;
    let seed = stability_seed(map)?;
    if i2i {
        let source = image_field(map, "#", "image", &STABILITY_INPUT)?;
        if number_field(map, "#", "strength", 0.0..=1.0)?.is_none() {
            return Err("#: required key [strength] not found".into());
        }
        // The output keeps the input's aspect ratio, at about a megapixel: our inputs are
        // already about a megapixel, so the stand-in keeps their size.
        return Ok(Job {
            width: source.width,
            height: source.height,
            seed,
            count: 1,
            source: Some(source),
            grown: None,
        });
    }
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
        source: None,
        grown: None,
    })
}

/// Stability's image services ("Stability AI Image Services", Bedrock user guide,
/// https://docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html):
/// - Edit, Search and Replace: image, prompt, search_prompt required; negative_prompt, seed,
///   output_format (jpeg, png, webp), grow_mask (0..20), style_preset optional; the output
///   has the input's size.
/// - Edit, Search and Recolor: image, prompt (the new colour) and select_prompt (what to find)
///   required (DOC: "Stability AI Image Services", Edit; Stability's SearchAndRecolorRequest
///   schema: `required: [image, prompt, select_prompt]`, prompt and select_prompt ≤ 10,000
///   characters, seed 0..4294967294, output_format jpeg/png/webp); negative_prompt, seed,
///   output_format, grow_mask ("Range between 0 and 20. Default 5.") and style_preset (DOC:
///   AWS's page lists both among "The following parameters are optional") optional; inputs as every service's (64 px a side, 4,096..9,437,184
///   pixels, at most 2.5:1); the output has the input's size.
/// - Control, Style Guide: image (the style reference) and prompt required; aspect_ratio
///   (Stability's nine, default 1:1), fidelity (0..1), negative_prompt, seed, output_format,
///   style_preset optional; the output is about a megapixel at aspect_ratio. (DOC: the keys and
///   required ones, Bedrock's "Stability AI Image Services" page; ASSUMED: fidelity's range,
///   from Stability's API reference for the same tool.)
/// - Control, Style Transfer: init_image and style_image required, and no `image`; prompt,
///   negative_prompt, seed, output_format, composition_fidelity (0..1), style_strength (0..1),
///   change_strength (0.1..1) optional; no style_preset; the output has init_image's size.
///   (DOC, keys and ranges: "composition_fidelity … Range between 0 and 1", "style_strength …
///   Range between 0 and 1", "change_strength … Range between 0.1 and 1".)
/// - Upscale, Conservative: image, prompt required; negative_prompt, seed, output_format,
///   creativity optional (DOC: "Range between 0.1 and 0.5. Default 0.35"; this stand-in took
///   0.2..0.5 until AWS's page was read, 2026-12-07). Creative: the same with creativity 0.1..0.5 and
///   style_preset, and inputs of at most one megapixel. Both upscale "to 4K"; the stand-in
///   answers four times the input per side.
fn validate_service(service: &str, body: &Value) -> Result<Job, String> {
    let map = object(body, "#")?;
    if service == STYLE_TRANSFER {
        return validate_style_transfer(map);
    }
    let common = [
        "image",
        "prompt",
        "negative_prompt",
        "seed",
        "output_format",
    ];
    if service == OUTPAINT {
        return validate_outpaint(map);
    }
    let (extra, limits, scale): (&[&str], &ImageLimits, u32) = match service {
        SEARCH_REPLACE => (
            &["search_prompt", "grow_mask", "style_preset"],
            &STABILITY_INPUT,
            1,
        ),
        SEARCH_RECOLOR => (
            &["select_prompt", "grow_mask", "style_preset"],
            &STABILITY_INPUT,
            1,
        ),
        CONSERVATIVE_UPSCALE => (&["creativity"], &STABILITY_INPUT, 4),
        CREATIVE_UPSCALE => (&["creativity", "style_preset"], &CREATIVE_UPSCALE_INPUT, 4),
        STYLE_GUIDE => (
            &["aspect_ratio", "fidelity", "style_preset"],
            &STABILITY_INPUT,
            1,
        ),
        other => return Err(format!("#: {other} is not served by the test stand-in")),
    };
    let allowed: Vec<&str> = common.iter().chain(extra).copied().collect();
    only_keys(map, "#", &allowed)?;
    if string_field(map, "#", "prompt", 1..=10_000)?.is_none() {
        return Err("#: required key [prompt] not found".into());
    }
    string_field(map, "#", "negative_prompt", 0..=10_000)?;
    one_of(map, "#", "output_format", &["jpeg", "png", "webp"])?;
    one_of(map, "#", "style_preset", &STYLE_PRESETS)?;
    match service {
        SEARCH_REPLACE => {
            if string_field(map, "#", "search_prompt", 1..=10_000)?.is_none() {
                return Err("#: required key [search_prompt] not found".into());
            }
            integer_field(map, "#", "grow_mask", 0..=20)?;
        }
        SEARCH_RECOLOR => {
            if string_field(map, "#", "select_prompt", 1..=10_000)?.is_none() {
                return Err("#: required key [select_prompt] not found".into());
            }
            integer_field(map, "#", "grow_mask", 0..=20)?;
        }
        CONSERVATIVE_UPSCALE => {
            number_field(map, "#", "creativity", 0.1..=0.5)?;
        }
        STYLE_GUIDE => {
            number_field(map, "#", "fidelity", 0.0..=1.0)?;
            let ratios: Vec<&str> = STABILITY_SIZES.iter().map(|(r, _, _)| *r).collect();
            let ratio = one_of(map, "#", "aspect_ratio", &ratios)?.unwrap_or("1:1");
            let (_, width, height) = STABILITY_SIZES
                .iter()
                .find(|(r, _, _)| *r == ratio)
                .copied()
                .unwrap_or(("1:1", 1024, 1024));
            let seed = stability_seed(map)?;
            let source = image_field(map, "#", "image", &STABILITY_INPUT)?;
            return Ok(Job {
                width,
                height,
                seed,
                count: 1,
                source: Some(source),
                grown: None,
            });
        }
        _ => {
            number_field(map, "#", "creativity", 0.1..=0.5)?;
        }
    }
    let seed = stability_seed(map)?;
    let source = image_field(map, "#", "image", limits)?;
    Ok(Job {
        width: source.width * scale,
        height: source.height * scale,
        seed,
        count: 1,
        source: Some(source),
        grown: None,
    })
}

/// AWS's page for Outpaint: the Bedrock user guide, "Stability AI Image Services", Edit,
/// Outpaint (https://docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html,
/// read 2026-12-07). Each rule below quotes it (DOC) or says it is ASSUMED.
/// DOC: `left`, `right`, `up`, `down`: "Range 0 to 2000. Detault 0." (sic).
const OUTPAINT_MAX_GROWTH: u64 = 2000;
/// DOC: `style_preset` "Guides the image model towards a particular style. Enum: 3d-model, …".
const STYLE_PRESETS: [&str; 17] = [
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
];

/// Outpaint, every rule from AWS's page (see [`OUTPAINT_MAX_GROWTH`]) unless marked:
/// - DOC: "Outpaint has the following required parameters: image ‐ (string) The Base64 image to
///   outpaint. Every side of the image must be at least 64 pixels. The total pixel count cannot
///   exceed 9,437,184 pixels. Image aspect ratio must be between 1:2.5 and 2.5:1." (PNG only
///   here: "Known differences").
/// - DOC: "At least one outpaint direction: (left, right, up, or down) must be supplied with a
///   non-zero value."
/// - DOC, "The following parameters are optional": `prompt` ("Minimum 0 and Maximum 10000
///   characters"), `style_preset` (the enum above), `seed` ("Range 0 to 4294967294"),
///   `output_format` ("Enum: jpeg, png, webp"), `creativity` ("Range between 0.1 and 1.0.
///   Default 0.5."), `left`, `right`, `up`, `down` (0..2000). No other key is listed (no
///   `negative_prompt`), so any other is refused as Bedrock refuses unknown keys.
/// - ASSUMED: the output (the input with its margins) is held to the input's 9,437,184 pixels;
///   the page states no output limit.
fn validate_outpaint(map: &Map<String, Value>) -> Result<Job, String> {
    only_keys(
        map,
        "#",
        &[
            "image",
            "prompt",
            "left",
            "right",
            "up",
            "down",
            "creativity",
            "seed",
            "output_format",
            "style_preset",
        ],
    )?;
    string_field(map, "#", "prompt", 0..=10_000)?;
    one_of(map, "#", "output_format", &["jpeg", "png", "webp"])?;
    one_of(map, "#", "style_preset", &STYLE_PRESETS)?;
    number_field(map, "#", "creativity", 0.1..=1.0)?;
    let mut grow = [0_u64; 4];
    for (side, key) in grow.iter_mut().zip(["left", "right", "up", "down"]) {
        *side = integer_field(map, "#", key, 0..=OUTPAINT_MAX_GROWTH)?.unwrap_or(0);
    }
    if grow.iter().all(|g| *g == 0) {
        return Err("#: at least one of [left, right, up, down] must be above 0".into());
    }
    let seed = stability_seed(map)?;
    let source = image_field(map, "#", "image", &STABILITY_INPUT)?;
    let [left, right, up, down] = grow.map(|g| g as u32);
    let (width, height) = (source.width + left + right, source.height + up + down);
    if !STABILITY_INPUT
        .pixels
        .contains(&(u64::from(width) * u64::from(height)))
    {
        return Err(format!(
            "#: the outpainted image would be {width}x{height}, more than {} pixels",
            STABILITY_INPUT.pixels.end()
        ));
    }
    Ok(Job {
        width,
        height,
        seed,
        count: 1,
        source: Some(source),
        grown: Some((left, up)),
    })
}

/// Style Transfer (see [`validate_service`]): the answer is derived from `init_image`, at its
/// size; `style_image` is checked like every input image.
fn validate_style_transfer(map: &Map<String, Value>) -> Result<Job, String> {
    only_keys(
        map,
        "#",
        &[
            "init_image",
            "style_image",
            "prompt",
            "negative_prompt",
            "seed",
            "output_format",
            "composition_fidelity",
            "style_strength",
            "change_strength",
        ],
    )?;
    string_field(map, "#", "prompt", 0..=10_000)?;
    string_field(map, "#", "negative_prompt", 0..=10_000)?;
    one_of(map, "#", "output_format", &["jpeg", "png", "webp"])?;
    number_field(map, "#", "composition_fidelity", 0.0..=1.0)?;
    number_field(map, "#", "style_strength", 0.0..=1.0)?;
    number_field(map, "#", "change_strength", 0.1..=1.0)?;
    let seed = stability_seed(map)?;
    let source = image_field(map, "#", "init_image", &STABILITY_INPUT)?;
    image_field(map, "#", "style_image", &STABILITY_INPUT)?;
    Ok(Job {
        width: source.width,
        height: source.height,
        seed,
        count: 1,
        source: Some(source),
        grown: None,
    })
}

/// Decodes an 8-bit RGB or RGBA PNG.
fn decode_png(bytes: &[u8]) -> Result<Rgb, String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("the image could not be decoded: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large to decode")?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("the image could not be decoded: {e}"))?;
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        other => return Err(format!("unsupported PNG format {other:?}")),
    };
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok(Rgb {
        width: info.width,
        height: info.height,
        pixels,
    })
}

/// The colour every edit is tinted toward, so an edit is told from a fresh generation.
const EDIT_TINT: [u8; 3] = [255, 0, 255];

/// `source` resampled (nearest neighbour) to `width`×`height` and tinted a quarter of the way
/// toward [`EDIT_TINT`].
fn edited_png(source: &Rgb, width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        let sy = (u64::from(y) * u64::from(source.height) / u64::from(height)) as usize;
        for x in 0..width {
            let sx = (u64::from(x) * u64::from(source.width) / u64::from(width)) as usize;
            let at = (sy * source.width as usize + sx) * 3;
            for (v, tint) in source.pixels[at..at + 3].iter().zip(EDIT_TINT) {
                pixels.push(((u16::from(*v) * 3 + u16::from(tint)) / 4) as u8);
            }
        }
    }
    encode_rgb(width, height, &pixels)
}

/// `source` at (`left`, `up`) on a `width` × `height` canvas, its pixels unchanged; each new
/// pixel is the nearest edge pixel of the source tinted a quarter of the way toward
/// [`EDIT_TINT`].
fn outpainted_png(source: &Rgb, width: u32, height: u32, left: u32, up: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        let inside_y = y >= up && y < up + source.height;
        let sy = y.saturating_sub(up).min(source.height - 1) as usize;
        for x in 0..width {
            let inside = inside_y && x >= left && x < left + source.width;
            let sx = x.saturating_sub(left).min(source.width - 1) as usize;
            let at = (sy * source.width as usize + sx) * 3;
            let px = &source.pixels[at..at + 3];
            if inside {
                pixels.extend_from_slice(px);
            } else {
                for (v, tint) in px.iter().zip(EDIT_TINT) {
                    pixels.push(((u16::from(*v) * 3 + u16::from(tint)) / 4) as u8);
                }
            }
        }
    }
    encode_rgb(width, height, &pixels)
}

/// Whether `answer` (a PNG) is the stand-in's outpaint of `input` (a PNG) grown by `left` and
/// `up` on those sides: the input's pixels all kept, exactly, where it was placed.
pub fn is_outpaint_of(answer: &[u8], input: &[u8], left: u32, up: u32) -> bool {
    let (Ok(answer), Ok(input)) = (decode_png(answer), decode_png(input)) else {
        return false;
    };
    if answer.width < input.width + left || answer.height < input.height + up {
        return false;
    }
    (0..input.height as usize).all(|y| {
        let row = y * input.width as usize * 3;
        let at = ((y + up as usize) * answer.width as usize + left as usize) * 3;
        input.pixels[row..row + input.width as usize * 3]
            == answer.pixels[at..at + input.width as usize * 3]
    })
}

/// Whether `answer` (a PNG) is the stand-in's edit of `input` (a PNG): the input, tinted,
/// at the answer's size.
pub fn is_edit_of(answer: &[u8], input: &[u8]) -> bool {
    let (Ok(answer), Ok(input)) = (decode_png(answer), decode_png(input)) else {
        return false;
    };
    let expected = edited_png(&input, answer.width, answer.height);
    decode_png(&expected).is_ok_and(|e| e.pixels == answer.pixels)
}

fn encode_rgb(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(pixels));
    if let Err(e) = written {
        panic!("encoding a {width}x{height} PNG failed: {e}");
    }
    out
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

/// The edit formats, against the stand-in alone: each documented body is answered with an edit
/// of its input at the documented size, and a malformed one of each kind is refused as Bedrock
/// refuses it. (The bodies are the shapes `marquee_core::model::bedrock`'s unit tests pin.)
mod edit_formats {
    use aws_sdk_bedrockruntime::config::Region;
    use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
    use aws_sdk_bedrockruntime::primitives::Blob;

    use super::*;

    fn b64(png: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(png)
    }

    async fn call(
        bedrock: &Bedrock,
        region: &str,
        model_id: &str,
        body: &Value,
    ) -> Result<Vec<u8>, InvokeModelError> {
        let conf = bedrock
            .sdk_config()
            .region(Region::new(region.to_owned()))
            .build();
        let out = aws_sdk_bedrockruntime::Client::from_conf(conf)
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string()))
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        let answer: Value = serde_json::from_slice(out.body.as_ref()).expect("JSON");
        let image = answer["images"][0].as_str().expect("an image");
        Ok(base64::engine::general_purpose::STANDARD
            .decode(image)
            .expect("base64"))
    }

    fn size(png: &[u8]) -> (u32, u32) {
        let rgb = decode_png(png).expect("a PNG");
        (rgb.width, rgb.height)
    }

    /// Every documented edit format, with a malformed twin.
    fn cases(stability_png: &str) -> Vec<(&'static str, &'static str, Value, Value)> {
        let sd = json!({"prompt": "a lighthouse", "mode": "image-to-image",
            "image": stability_png, "strength": 0.35, "seed": 7, "output_format": "png",
            "negative_prompt": "text"});
        let mut sd_bad = sd.clone();
        sd_bad["aspect_ratio"] = json!("2:3");
        let replace = json!({"image": stability_png, "prompt": "a windmill",
            "search_prompt": "the lighthouse", "seed": 7, "output_format": "png",
            "negative_prompt": "text"});
        let mut replace_bad = replace.clone();
        replace_bad.as_object_mut().unwrap().remove("search_prompt");
        let recolor = json!({"image": stability_png, "prompt": "the lighthouse in red",
            "select_prompt": "the lighthouse", "seed": 7, "output_format": "png",
            "grow_mask": 3, "negative_prompt": "text"});
        // Search and Replace's key is not Search and Recolor's.
        let mut recolor_bad = recolor.clone();
        recolor_bad.as_object_mut().unwrap().remove("select_prompt");
        recolor_bad["search_prompt"] = json!("the lighthouse");
        let upscale = json!({"image": stability_png, "prompt": "a lighthouse", "seed": 7,
            "output_format": "png", "negative_prompt": "text"});
        // AWS's page: Conservative Upscale's creativity is "Range between 0.1 and 0.5".
        let mut conservative_bad = upscale.clone();
        conservative_bad["creativity"] = json!(0.05);
        let mut creative_bad = upscale.clone();
        creative_bad["strength"] = json!(0.5);
        let guide = json!({"image": stability_png, "prompt": "a lighthouse",
            "aspect_ratio": "2:3", "fidelity": 0.6, "seed": 7, "output_format": "png"});
        let mut guide_bad = guide.clone();
        guide_bad["fidelity"] = json!(1.5);
        let transfer = json!({"init_image": stability_png, "style_image": stability_png,
            "prompt": "a lighthouse", "composition_fidelity": 0.9, "seed": 7,
            "output_format": "png"});
        let mut transfer_bad = transfer.clone();
        // Style Transfer names its inputs init_image and style_image; `image` is refused.
        transfer_bad["image"] = json!(stability_png);
        vec![
            ("us-west-2", SD35_LARGE, sd, sd_bad),
            (
                "us-west-2",
                "us.stability.stable-image-search-replace-v1:0",
                replace,
                replace_bad,
            ),
            (
                "us-east-2",
                "us.stability.stable-conservative-upscale-v1:0",
                upscale.clone(),
                conservative_bad,
            ),
            (
                "us-east-1",
                "us.stability.stable-image-search-recolor-v1:0",
                recolor,
                recolor_bad,
            ),
            (
                "us-west-2",
                "us.stability.stable-creative-upscale-v1:0",
                upscale,
                creative_bad,
            ),
            (
                "us-east-1",
                "us.stability.stable-image-style-guide-v1:0",
                guide,
                guide_bad,
            ),
            (
                "us-west-2",
                "us.stability.stable-style-transfer-v1:0",
                transfer,
                transfer_bad,
            ),
        ]
    }

    #[tokio::test]
    async fn documented_edit_bodies_are_answered_with_edits_and_malformed_ones_refused() {
        let bedrock = Bedrock::start();
        let stability_input = gradient_png(64, 96, 3);
        let s = b64(&stability_input);
        let want = [
            (64, 96),
            (64, 96),
            (256, 384),
            (64, 96),
            (256, 384),
            (832, 1216),
            (64, 96),
        ];
        for ((region, model, good, bad), want) in cases(&s).into_iter().zip(want) {
            let answer = call(&bedrock, region, model, &good)
                .await
                .unwrap_or_else(|e| panic!("{model} refused {good:.200}: {e:?}"));
            assert_eq!(size(&answer), want, "{model}");
            assert!(
                is_edit_of(&answer, &stability_input),
                "{model}: not an edit of its input"
            );
            match call(&bedrock, region, model, &bad).await {
                Err(InvokeModelError::ValidationException(e)) => {
                    assert!(
                        e.message().unwrap_or_default().contains("Malformed"),
                        "{e:?}"
                    );
                }
                other => panic!("{model} accepted a malformed body: {:?}", other.map(|_| ())),
            }
        }
        // A fresh generation is not an edit of anything.
        let fresh = json!({"prompt": "a lighthouse", "aspect_ratio": "1:1"});
        let answer = call(&bedrock, "us-west-2", SD35_LARGE, &fresh)
            .await
            .unwrap();
        assert!(!is_edit_of(&answer, &stability_input));
        // Every call is recorded, answered or refused, with what was sent.
        let replace = bedrock.calls_to("us.stability.stable-image-search-replace-v1:0");
        assert_eq!(replace.len(), 2);
        assert_eq!(replace[0].body["search_prompt"], "the lighthouse");
        assert_eq!((replace[0].status, replace[1].status), (200, 400));
        assert_eq!(replace[0].region, "us-west-2");
        let recolor = bedrock.calls_to("us.stability.stable-image-search-recolor-v1:0");
        assert_eq!(recolor[0].body["select_prompt"], "the lighthouse");
        assert_eq!((recolor[0].status, recolor[1].status), (200, 400));
        assert_eq!(bedrock.calls().len(), 15);
    }

    #[tokio::test]
    async fn inputs_outside_the_documented_sizes_are_refused() {
        let bedrock = Bedrock::start();
        // Creative Upscale takes at most a megapixel; Conservative more.
        let big = b64(&gradient_png(1100, 1100, 1));
        let body = json!({"image": big, "prompt": "a lighthouse"});
        let creative = "us.stability.stable-creative-upscale-v1:0";
        assert!(matches!(
            call(&bedrock, "us-west-2", creative, &body).await,
            Err(InvokeModelError::ValidationException(_))
        ));
        // Wider than 2.5:1 for the services.
        let wide = json!({"image": b64(&gradient_png(400, 100, 1)), "prompt": "x",
            "search_prompt": "y"});
        let replace = "us.stability.stable-image-search-replace-v1:0";
        assert!(matches!(
            call(&bedrock, "us-west-2", replace, &wide).await,
            Err(InvokeModelError::ValidationException(_))
        ));
        // Style Transfer checks its style image like any input: a 40x40 reference is refused.
        let transfer = "us.stability.stable-style-transfer-v1:0";
        let tiny_style = json!({"init_image": b64(&gradient_png(64, 96, 1)),
            "style_image": b64(&gradient_png(40, 40, 2))});
        assert!(matches!(
            call(&bedrock, "us-west-2", transfer, &tiny_style).await,
            Err(InvokeModelError::ValidationException(_))
        ));
        // Style Guide requires its prompt.
        let guide = "us.stability.stable-image-style-guide-v1:0";
        let no_prompt = json!({"image": b64(&gradient_png(64, 96, 1))});
        assert!(matches!(
            call(&bedrock, "us-west-2", guide, &no_prompt).await,
            Err(InvokeModelError::ValidationException(_))
        ));
        // Stable Image Core has no image-to-image mode.
        let core = json!({"prompt": "x", "mode": "image-to-image"});
        assert!(matches!(
            call(&bedrock, "us-west-2", IMAGE_CORE, &core).await,
            Err(InvokeModelError::ValidationException(_))
        ));
    }

    /// Outpaint grows its input by the margins asked, keeping every input pixel where it was,
    /// and takes every optional key AWS's page lists (style_preset and creativity up to 1.0
    /// included); a request that grows nothing, a side past 2000 px, a negative prompt (not
    /// one of its parameters), a style or creativity outside the page's, an input outside the
    /// services' limits or an output past the pixel limit is refused with a
    /// ValidationException, as the service refuses them.
    #[tokio::test]
    async fn outpaint_keeps_its_input_and_refuses_what_the_service_refuses() {
        let bedrock = Bedrock::start();
        let profile = "us.stability.stable-outpaint-v1:0";
        let input = gradient_png(64, 96, 5);
        let good = json!({"image": b64(&input), "prompt": "a lighthouse", "left": 10,
            "right": 11, "up": 0, "down": 0, "seed": 7, "output_format": "png"});
        let answer = call(&bedrock, "us-west-2", profile, &good).await.unwrap();
        assert_eq!(size(&answer), (85, 96));
        assert!(is_outpaint_of(&answer, &input, 10, 0));
        assert!(!is_outpaint_of(&answer, &input, 0, 0), "placed where asked");
        assert!(!is_edit_of(&answer, &input));
        let with = |key: &str, value: Value| {
            let mut body = good.clone();
            body[key] = value;
            body
        };
        let mut every_key = with("style_preset", json!("cinematic"));
        every_key["creativity"] = json!(1.0);
        let answer = call(&bedrock, "us-west-2", profile, &every_key)
            .await
            .unwrap();
        assert!(is_outpaint_of(&answer, &input, 10, 0));
        let huge = b64(&gradient_png(1500, 3000, 1));
        for bad in [
            with("left", json!(0))
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.insert("right".into(), json!(0));
                    Value::Object(m)
                })
                .unwrap(),
            with("left", json!(2001)),
            with("negative_prompt", json!("text")),
            with("style_preset", json!("film-noir")),
            with("creativity", json!(1.5)),
            with("creativity", json!(0.05)),
            with("image", json!(b64(&gradient_png(300, 100, 1)))),
            json!({"image": huge, "left": 2000}),
        ] {
            match call(&bedrock, "us-west-2", profile, &bad).await {
                Err(InvokeModelError::ValidationException(e)) => {
                    assert!(
                        e.message().unwrap_or_default().contains("Malformed"),
                        "{e:?}"
                    )
                }
                other => panic!("accepted {:.120}: {:?}", bad.to_string(), other.map(|_| ())),
            }
        }
        // By its own id, as every service: refused.
        assert!(matches!(
            call(&bedrock, "us-west-2", OUTPAINT, &good).await,
            Err(InvokeModelError::ValidationException(_))
        ));
        assert_eq!(bedrock.calls_to(profile).len(), 10);
    }

    /// The services exist only behind their US profile, and IAM must allow the profile and the
    /// model in every region it routes to.
    #[tokio::test]
    async fn services_are_served_through_their_us_profile_only() {
        let bedrock = Bedrock::start();
        let body = json!({"image": b64(&gradient_png(64, 96, 2)), "prompt": "a lighthouse"});
        match call(&bedrock, "us-west-2", CONSERVATIVE_UPSCALE, &body).await {
            Err(InvokeModelError::ValidationException(e)) => {
                assert!(
                    e.message()
                        .unwrap_or_default()
                        .contains("on-demand throughput")
                )
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        let profile = "us.stability.stable-conservative-upscale-v1:0";
        match call(&bedrock, "eu-west-1", profile, &body).await {
            Err(InvokeModelError::ValidationException(e)) => {
                assert_eq!(e.message(), Some(INVALID_MODEL_ID))
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        // A role granted the profile but not the models it routes to is refused.
        let statement = |resources: Vec<String>| super::super::cfn::Statement {
            sid: "Test".into(),
            allow: true,
            actions: vec!["bedrock:InvokeModel".into()],
            resources,
            not_resources: Vec::new(),
        };
        let profile_arn =
            format!("arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/{profile}");
        bedrock.grant(
            HARNESS_ACCESS_KEY,
            vec![statement(vec![profile_arn.clone()])],
        );
        match call(&bedrock, "us-west-2", profile, &body).await {
            Err(InvokeModelError::AccessDeniedException(e)) => assert!(
                e.message()
                    .unwrap_or_default()
                    .contains("foundation-model/"),
                "{e:?}"
            ),
            other => panic!("{:?}", other.map(|_| ())),
        }
        let mut arns = vec![profile_arn];
        arns.extend(
            PROFILE_REGIONS
                .iter()
                .map(|r| format!("arn:aws:bedrock:{r}::foundation-model/{CONSERVATIVE_UPSCALE}")),
        );
        bedrock.grant(HARNESS_ACCESS_KEY, vec![statement(arns)]);
        let answer = call(&bedrock, "us-west-2", profile, &body).await.unwrap();
        assert_eq!(size(&answer), (256, 384));
    }

    /// Nova Canvas is past its end of life: every call, in any region and with any body, gets
    /// Bedrock's 404 ResourceNotFoundException with the end-of-life text, and is recorded.
    #[tokio::test]
    async fn a_model_past_its_end_of_life_is_refused_as_bedrock_refuses_it() {
        let bedrock = Bedrock::start();
        let body = json!({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a lighthouse"}});
        for region in ["us-east-1", "eu-west-1"] {
            match call(&bedrock, region, NOVA_CANVAS, &body).await {
                Err(InvokeModelError::ResourceNotFoundException(e)) => {
                    assert_eq!(e.message(), Some(END_OF_LIFE))
                }
                other => panic!("{:?}", other.map(|_| ())),
            }
        }
        let calls = bedrock.calls_to(NOVA_CANVAS);
        assert_eq!(
            calls.iter().map(|c| c.status).collect::<Vec<_>>(),
            [404, 404]
        );
    }
}
