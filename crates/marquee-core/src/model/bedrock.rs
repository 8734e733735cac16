//! Amazon Bedrock image models: the exact InvokeModel request and response formats of the
//! Stability family (SD3.5 Large, Stable Image Core, Stable Image Ultra), Amazon Nova Canvas,
//! and Stability's image services (Search and Replace, Outpaint, Conservative and Creative
//! Upscale).
//!
//! Edits of existing art use only what Bedrock documents: SD3.5 Large image-to-image
//! (`mode: "image-to-image"`, `image`, `strength`; no `aspect_ratio`, which its page says is
//! valid for text-to-image only), Nova Canvas `IMAGE_VARIATION` and `INPAINTING` with a
//! `maskPrompt`, and the services' own bodies. Stable Image Core and Ultra make no edits: their
//! Bedrock pages, as this project could read them, document text-to-image only, and an edit
//! that is not documented is not attempted.
//!
//! Requests are built from an [`ImageRequest`] with each model's poster defaults (portrait 2:3,
//! PNG, a seed inside the model's range); responses are decoded into pixels; every service error
//! is mapped onto a [`ModelError`] the pipeline can explain to a person. Retrying is the
//! pipeline's job: the SDK's own retries are turned off for this client so there is one policy.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::SdkError;
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::primitives::Blob;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Edit, EditKind, EditRequest, Family, FilterStage, GeneratedImage, ImageModel, ImageRequest,
    ModelError, ModelId, Priced, START_FROM_STRENGTH, Service, replacement_prompt,
};

/// Nova Canvas accepts at most this many characters of prompt and of negative prompt.
const NOVA_MAX_TEXT: usize = 1024;
/// Stability's limit for both prompts.
const STABILITY_MAX_TEXT: usize = 10_000;
/// Stability's largest seed (0 means random).
const STABILITY_MAX_SEED: u32 = 4_294_967_294;
/// The most pixels Creative Upscale takes ("images between 64x64 and 1 megapixel"): larger
/// art is scaled down to fit before either upscaler is called.
const UPSCALE_MAX_PIXELS: u64 = 1_048_576;
/// The most pixels the other image services take in one input image (9,437,184, about
/// 3072 × 3072; ASSUMED from Stability's API reference for the same services, which Bedrock's
/// page defers to). Marquee's art and references are far smaller; the limit is applied anyway.
const SERVICE_MAX_PIXELS: u64 = 9_437_184;
/// Style Guide `fidelity` (0..1, default 0.5): how closely the output's style follows the
/// reference. Marquee asks for a little more than the default: the person chose the picture
/// for its look.
const STYLE_GUIDE_FIDELITY: f64 = 0.6;
/// Style Transfer `composition_fidelity` (0..1, default 0.9): how much of `init_image`'s
/// composition is kept. The take's composition decides where its type sits, so it is kept
/// closely (the default).
const STYLE_TRANSFER_COMPOSITION: f64 = 0.9;

/// What a [`BedrockModel`] calls: one of the image models, or one of Stability's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Model(ModelId),
    Service(Service),
}

#[derive(Debug, Clone)]
pub struct BedrockModel {
    /// A client for `region`: Bedrock serves each model only in some regions, so every model
    /// is called through the client of its own region.
    client: aws_sdk_bedrockruntime::Client,
    region: String,
    target: Target,
    timeout: Duration,
}

impl BedrockModel {
    /// `model` must not be [`ModelId::Offline`]; `client` must be configured for `region`,
    /// which is named in errors. `timeout` bounds one call.
    pub fn new(
        client: aws_sdk_bedrockruntime::Client,
        region: impl Into<String>,
        model: ModelId,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            region: region.into(),
            target: Target::Model(model),
            timeout,
        }
    }

    /// One of Stability's image services, invoked through its US inference profile from
    /// `region` (a US region: the profile's source regions are us-east-1, us-east-2 and
    /// us-west-2).
    pub fn service(
        client: aws_sdk_bedrockruntime::Client,
        region: impl Into<String>,
        service: Service,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            region: region.into(),
            target: Target::Service(service),
            timeout,
        }
    }

    /// What this client calls, for naming it in a retirement.
    fn model(&self) -> Priced {
        match self.target {
            Target::Model(model) => Priced::Model(model),
            Target::Service(service) => Priced::Service(service),
        }
    }

    /// The id in the InvokeModel path.
    fn invoke_id(&self) -> Result<&'static str, ModelError> {
        match self.target {
            Target::Model(model) => model.bedrock_id().ok_or_else(|| ModelError::NotInRegion {
                region: self.region.clone(),
                detail: "the offline model is not a Bedrock model".into(),
            }),
            Target::Service(service) => Ok(service.profile_id()),
        }
    }

    /// One InvokeModel call with `body`, within the timeout; the raw response body.
    async fn invoke(&self, body: Vec<u8>) -> Result<Vec<u8>, ModelError> {
        let call = self
            .client
            .invoke_model()
            .model_id(self.invoke_id()?)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send();
        // Giving up here does not cancel anything at Bedrock: the call was sent, and Bedrock
        // finishes and bills it. So it is reported as abandoned (billed, never retried).
        let output = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => {
                return Err(ModelError::Abandoned {
                    secs: self.timeout.as_secs(),
                });
            }
            Ok(result) => result.map_err(|e| map_error(e, &self.region, self.model()))?,
        };
        Ok(output.body.into_inner())
    }
}

/// Whether `target` can make edits of `kind`, per its catalog row (which follows Bedrock's
/// documentation of each model: SD3.5 Large image-to-image; Core and Ultra text-to-image only;
/// Nova Canvas IMAGE_VARIATION and INPAINTING; each service its one edit).
fn target_can(target: Target, kind: EditKind) -> bool {
    match target {
        Target::Model(model) => model.row().can(kind),
        Target::Service(service) => service.row().can(kind),
    }
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The InvokeModel body for `request`.
fn request_body(request: &ImageRequest) -> Value {
    let negative = request
        .negative_prompt
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match request.model.family() {
        Family::Nova => {
            let (width, height) = request.aspect.nova_size();
            let mut params = json!({"text": clip(&request.prompt, NOVA_MAX_TEXT)});
            if let Some(n) = negative {
                params["negativeText"] = clip(n, NOVA_MAX_TEXT).into();
            }
            json!({
                "taskType": "TEXT_IMAGE",
                "textToImageParams": params,
                "imageGenerationConfig": {
                    "numberOfImages": 1,
                    "width": width,
                    "height": height,
                    "cfgScale": 6.5,
                    "seed": request.seed.min(ModelId::NovaCanvas.max_seed()),
                    "quality": "standard",
                }
            })
        }
        // The offline generator never reaches Bedrock; Stability's shape is the default.
        Family::Stability | Family::Offline => {
            let mut body = json!({
                "prompt": clip(&request.prompt, STABILITY_MAX_TEXT),
                "aspect_ratio": request.aspect.stability(),
                "seed": request.seed.min(request.model.max_seed()),
                "output_format": "png",
            });
            if let Some(n) = negative {
                body["negative_prompt"] = clip(n, STABILITY_MAX_TEXT).into();
            }
            body
        }
    }
}

#[derive(Deserialize)]
struct StabilityResponse {
    /// Documented as "(string) list of seeds" on Bedrock's Stable Image parameter pages
    /// (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-*),
    /// while captured responses carry integers. Kept as raw JSON and read by [`seed_of`], so no
    /// shape of this field can throw away an image that was already billed.
    #[serde(default)]
    seeds: Value,
    #[serde(default)]
    finish_reasons: Vec<Option<String>>,
    #[serde(default)]
    images: Vec<String>,
}

#[derive(Deserialize)]
struct NovaResponse {
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    error: Option<String>,
}

fn malformed(detail: impl Into<String>) -> ModelError {
    ModelError::Malformed {
        detail: detail.into(),
    }
}

fn decode_png(b64: &str) -> Result<tiny_skia::Pixmap, ModelError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| malformed(format!("image is not base64: {e}")))?;
    super::image::decode_image(&bytes).map_err(|e| malformed(format!("image is not a PNG: {e}")))
}

/// Reads an InvokeModel response body for `request`'s model.
fn parse_response(request: &ImageRequest, body: &[u8]) -> Result<GeneratedImage, ModelError> {
    parse_body(request.model.family(), request.seed, body)
}

/// Reads a response body in `family`'s format; `seed` is the seed asked for, reported when the
/// model reports none (Nova Canvas never does).
fn parse_body(family: Family, seed: u32, body: &[u8]) -> Result<GeneratedImage, ModelError> {
    match family {
        Family::Nova => {
            let r: NovaResponse = serde_json::from_slice(body)
                .map_err(|e| malformed(format!("not a Nova Canvas response: {e}")))?;
            if let Some(error) = r.error.filter(|e| !e.is_empty()) {
                return Err(ModelError::Filtered {
                    stage: FilterStage::Output,
                    detail: error,
                });
            }
            let image = r
                .images
                .first()
                .ok_or_else(|| malformed("no image in the response"))?;
            Ok(GeneratedImage {
                pixmap: decode_png(image)?,
                seed,
            })
        }
        Family::Stability | Family::Offline => {
            let r: StabilityResponse = serde_json::from_slice(body)
                .map_err(|e| malformed(format!("not a Stability response: {e}")))?;
            match r.finish_reasons.first().cloned().flatten() {
                None => {}
                Some(reason) if reason.contains("prompt") => {
                    return Err(ModelError::Filtered {
                        stage: FilterStage::Prompt,
                        detail: reason,
                    });
                }
                Some(reason) if reason.contains("output") => {
                    return Err(ModelError::Filtered {
                        stage: FilterStage::Output,
                        detail: reason,
                    });
                }
                // "Filter reason: input image": the source art was refused before anything
                // was made, which bills like a refused prompt.
                Some(reason) if reason.contains("input") => {
                    return Err(ModelError::Filtered {
                        stage: FilterStage::Prompt,
                        detail: reason,
                    });
                }
                Some(reason) => return Err(ModelError::Unavailable { detail: reason }),
            }
            let image = r
                .images
                .first()
                .ok_or_else(|| malformed("no image in the response"))?;
            let seed = seed_of(&r.seeds).unwrap_or(seed);
            Ok(GeneratedImage {
                pixmap: decode_png(image)?,
                seed,
            })
        }
    }
}

/// The first seed of a Stability response's `seeds`, a number or a string (or a bare value
/// instead of a list); `None` when there is none that fits a `u32`.
fn seed_of(seeds: &Value) -> Option<u32> {
    let first = match seeds {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let wide = match first {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    u32::try_from(wide).ok()
}

/// Bedrock's message when the model id is not served in the region called (also seen for ids
/// that do not exist at all). Bedrock sends it as a ValidationException, so matching on the
/// error type alone would blame the request's parameters.
const NOT_IN_REGION_MESSAGES: [&str; 2] = [
    // "The provided model identifier is invalid." (HTTP 400, ValidationException).
    "model identifier is invalid",
    // "Invocation of model ID ... with on-demand throughput isn't supported": the model exists
    // here only behind an inference profile, which is not on-demand use of the model.
    "on-demand throughput",
];

fn detail_of(message: Option<&str>) -> String {
    message
        .unwrap_or("no detail")
        .chars()
        .take(300)
        .collect::<String>()
}

/// Maps an InvokeModel failure in `region` onto what Marquee can tell people; `model` is the
/// model or service called, named if Bedrock says it is retired.
fn map_error(error: SdkError<InvokeModelError>, region: &str, model: Priced) -> ModelError {
    match error {
        SdkError::ServiceError(context) => map_service_error(context.into_err(), region, model),
        // The SDK's own timeouts (none is configured for this client beyond aws-config's
        // connect timeout, see `app`) end a call that may have been sent: counted as billed.
        SdkError::TimeoutError(_) => ModelError::Abandoned { secs: 0 },
        SdkError::DispatchFailure(e) if e.is_timeout() => ModelError::Abandoned { secs: 0 },
        SdkError::DispatchFailure(e) => ModelError::Unavailable {
            detail: format!("could not reach Bedrock in {region}: {e:?}")
                .chars()
                .take(300)
                .collect(),
        },
        SdkError::ResponseError(_) => malformed("the response could not be read"),
        other => ModelError::Other(Box::new(other)),
    }
}

/// What Bedrock says, in `ResourceNotFoundException` or `AccessDeniedException`, about a model
/// that is Legacy or past its end of life (lower case). Reported in
/// aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#708:
/// "ResourceNotFoundException: This model version has reached the end of its life. Please
/// refer to the AWS documentation for more details." and "... Access denied. This Model is
/// marked by provider as Legacy and you have not been actively using the model in the last 30
/// days." (BEDROCK.md, "Lifecycle", quotes the AccessDeniedException form with 15 days.)
const RETIRED_MESSAGES: [&str; 2] = ["end of its life", "legacy"];

/// Whether `message` is Bedrock refusing a retired or Legacy model.
fn says_retired(message: Option<&str>) -> bool {
    let lower = message.unwrap_or_default().to_lowercase();
    RETIRED_MESSAGES.iter().any(|m| lower.contains(m))
}

/// Maps an error Bedrock answered with, in `region`, for `model`.
fn map_service_error(err: InvokeModelError, region: &str, model: Priced) -> ModelError {
    let region = region.to_owned();
    let retired = |message: Option<&str>| {
        says_retired(message).then(|| ModelError::Retired {
            model,
            detail: detail_of(message),
        })
    };
    match &err {
        InvokeModelError::ThrottlingException(_) => ModelError::Throttled,
        InvokeModelError::ServiceUnavailableException(e) => ModelError::Unavailable {
            detail: detail_of(e.message()),
        },
        InvokeModelError::InternalServerException(e) => ModelError::Unavailable {
            detail: detail_of(e.message()),
        },
        InvokeModelError::ModelNotReadyException(e) => ModelError::Unavailable {
            detail: detail_of(e.message()),
        },
        InvokeModelError::ModelTimeoutException(_) => ModelError::Timeout,
        InvokeModelError::ServiceQuotaExceededException(e) => ModelError::QuotaExceeded {
            detail: detail_of(e.message()),
        },
        // "You don't have access to the model with the specified model ID." (model access or
        // its Marketplace subscription missing), or an IAM denial naming bedrock:InvokeModel.
        InvokeModelError::AccessDeniedException(e) => {
            retired(e.message()).unwrap_or_else(|| ModelError::AccessDenied {
                region,
                detail: detail_of(e.message()),
            })
        }
        InvokeModelError::ResourceNotFoundException(e) => {
            retired(e.message()).unwrap_or_else(|| ModelError::NotInRegion {
                region,
                detail: detail_of(e.message()),
            })
        }
        InvokeModelError::ValidationException(e) => {
            let detail = detail_of(e.message());
            let lower = detail.to_lowercase();
            if NOT_IN_REGION_MESSAGES.iter().any(|m| lower.contains(m)) {
                ModelError::NotInRegion { region, detail }
            } else if lower.contains("content filter") || lower.contains("blocked") {
                // Nova Canvas reports a blocked prompt as a ValidationException that names
                // its content filters.
                ModelError::Filtered {
                    stage: FilterStage::Prompt,
                    detail,
                }
            } else {
                ModelError::Invalid { detail }
            }
        }
        InvokeModelError::ModelErrorException(e) => ModelError::Unavailable {
            detail: detail_of(e.message()),
        },
        _ => ModelError::Other(Box::new(err)),
    }
}

#[async_trait]
impl ImageModel for BedrockModel {
    async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImage, ModelError> {
        if let Target::Service(service) = self.target {
            return Err(ModelError::Unsupported {
                what: format!(
                    "{} edits art; it cannot draw new art",
                    service.display_name()
                ),
            });
        }
        let body = serde_json::to_vec(&request_body(request))
            .map_err(|e| ModelError::Other(Box::new(e)))?;
        let bytes = self.invoke(body).await?;
        // Decoding a megapixel PNG is CPU work: keep it off the async executor.
        let request = request.clone();
        crate::cpu::background(move || parse_response(&request, &bytes))
            .await
            .map_err(|e| ModelError::Other(Box::new(e)))?
    }

    fn can(&self, kind: EditKind) -> bool {
        target_can(self.target, kind)
    }

    async fn edit(&self, request: &EditRequest) -> Result<GeneratedImage, ModelError> {
        let kind = request.edit.kind();
        if !target_can(self.target, kind) {
            let name = match self.target {
                Target::Model(m) => m.display_name(),
                Target::Service(s) => s.display_name(),
            };
            return Err(ModelError::Unsupported {
                what: format!("{name} cannot {}", kind.describe()),
            });
        }
        // Encoding the source art as PNG (and scaling it for an upscaler) is CPU work.
        let (target, edit) = (self.target, request.clone());
        let body = crate::cpu::background(move || {
            let body = edit_body(target, &edit)?;
            serde_json::to_vec(&body).map_err(|e| ModelError::Other(Box::new(e)))
        })
        .await
        .map_err(|e| ModelError::Other(Box::new(e)))??;
        let bytes = self.invoke(body).await?;
        let family = match self.target {
            Target::Model(m) => m.family(),
            Target::Service(s) => s.family(),
        };
        let seed = request.base.seed;
        crate::cpu::background(move || parse_body(family, seed, &bytes))
            .await
            .map_err(|e| ModelError::Other(Box::new(e)))?
    }
}

/// The source art as base64 PNG, scaled down to at most `max_pixels` (keeping its ratio).
fn source_b64(source: &tiny_skia::Pixmap, max_pixels: u64) -> Result<String, ModelError> {
    let pixels = u64::from(source.width()) * u64::from(source.height());
    let png = if pixels > max_pixels {
        let scale = (max_pixels as f64 / pixels as f64).sqrt();
        // Floor, so rounding can never push the result back over the limit.
        let w = ((f64::from(source.width()) * scale).floor() as u32).max(1);
        let h = ((f64::from(source.height()) * scale).floor() as u32).max(1);
        let mut small = tiny_skia::Pixmap::new(w, h)
            .ok_or_else(|| malformed(format!("cannot scale the source art to {w}x{h}")))?;
        let paint = tiny_skia::PixmapPaint {
            quality: tiny_skia::FilterQuality::Bicubic,
            ..tiny_skia::PixmapPaint::default()
        };
        let transform = tiny_skia::Transform::from_scale(
            w as f32 / source.width() as f32,
            h as f32 / source.height() as f32,
        );
        small.draw_pixmap(0, 0, source.as_ref(), &paint, transform, None);
        small.encode_png()
    } else {
        source.encode_png()
    };
    let png = png.map_err(|e| ModelError::Other(Box::new(e)))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(png))
}

fn negative_of(request: &ImageRequest) -> Option<&str> {
    request
        .negative_prompt
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

/// What Search and Recolor's `prompt` asks for ("What you wish to see in the output image"):
/// the thing named in its new colour first ("the car in red"), then the scene, as a
/// replacement's prompt is worded.
fn recolor_prompt(scene: &str, select: &str, colour: &str) -> String {
    format!("{} in {}, {}", select.trim(), colour.trim(), scene.trim())
}

/// A Stability edit's body: `fields`, and what every Stability edit sends alike: the seed (at
/// most Stability's), PNG out, and the negative prompt when there is one.
fn stability_edit(mut fields: Value, seed: u32, negative: Option<&str>) -> Value {
    fields["seed"] = seed.min(STABILITY_MAX_SEED).into();
    fields["output_format"] = "png".into();
    if let Some(n) = negative {
        fields["negative_prompt"] = clip(n, STABILITY_MAX_TEXT).into();
    }
    fields
}

/// The InvokeModel body for an edit by `target` (which must be able to make it).
fn edit_body(target: Target, request: &EditRequest) -> Result<Value, ModelError> {
    let base = &request.base;
    let negative = negative_of(base);
    let unsupported = || ModelError::Unsupported {
        what: format!("that model cannot {}", request.edit.kind().describe()),
    };
    match (target, &request.edit) {
        // "Stability.ai Stable Diffusion 3.5 Large", image-to-image: prompt, mode, image,
        // strength required; negative_prompt, seed, output_format optional; aspect_ratio is
        // valid for text-to-image only (the output takes the input's ratio).
        (Target::Model(ModelId::Sd35Large), Edit::Vary { strength }) => {
            let fields = json!({
                "prompt": clip(&base.prompt, STABILITY_MAX_TEXT),
                "mode": "image-to-image",
                "image": source_b64(&request.source, u64::MAX)?,
                "strength": strength.image_strength(),
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        // Amazon Nova user guide, "Request and response structure for image generation",
        // image variation: imageVariationParams {images (1-5), similarityStrength (0.2-1.0),
        // text?, negativeText?} and the shared imageGenerationConfig.
        (Target::Model(ModelId::NovaCanvas), Edit::Vary { strength }) => {
            let (width, height) = base.aspect.nova_size();
            let mut params = json!({
                "text": clip(&base.prompt, NOVA_MAX_TEXT),
                "images": [source_b64(&request.source, u64::MAX)?],
                "similarityStrength": strength.similarity(),
            });
            if let Some(n) = negative {
                params["negativeText"] = clip(n, NOVA_MAX_TEXT).into();
            }
            Ok(json!({
                "taskType": "IMAGE_VARIATION",
                "imageVariationParams": params,
                "imageGenerationConfig": {
                    "numberOfImages": 1,
                    "width": width,
                    "height": height,
                    "cfgScale": 6.5,
                    "seed": base.seed.min(ModelId::NovaCanvas.max_seed()),
                    "quality": "standard",
                }
            }))
        }
        // Same page, inpainting: inPaintingParams {image, maskPrompt | maskImage, text?,
        // negativeText?}; the output keeps the input's size, so the config has no width or
        // height.
        (Target::Model(ModelId::NovaCanvas), Edit::Replace { search, replace }) => {
            let mut params = json!({
                "image": source_b64(&request.source, u64::MAX)?,
                "maskPrompt": clip(search.trim(), NOVA_MAX_TEXT),
                "text": clip(&replacement_prompt(&base.prompt, search, replace), NOVA_MAX_TEXT),
            });
            if let Some(n) = negative {
                params["negativeText"] = clip(n, NOVA_MAX_TEXT).into();
            }
            Ok(json!({
                "taskType": "INPAINTING",
                "inPaintingParams": params,
                "imageGenerationConfig": {
                    "numberOfImages": 1,
                    "cfgScale": 6.5,
                    "seed": base.seed.min(ModelId::NovaCanvas.max_seed()),
                    "quality": "standard",
                }
            }))
        }
        // "Stability AI Image Services", Edit, Search and Replace: image, prompt (what to put
        // there) and search_prompt required; negative_prompt, seed, output_format optional.
        (Target::Service(Service::SearchReplace), Edit::Replace { search, replace }) => {
            let fields = json!({
                "image": source_b64(&request.source, u64::MAX)?,
                "prompt": clip(
                    &replacement_prompt(&base.prompt, search, replace),
                    STABILITY_MAX_TEXT
                ),
                "search_prompt": clip(search.trim(), STABILITY_MAX_TEXT),
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        // "Stability AI Image Services", Edit, Search and Recolor: image, prompt (the new
        // colour) and select_prompt (what to find) required; negative_prompt, seed,
        // output_format, grow_mask (0..20) and style_preset optional; the output has the
        // input's size. grow_mask is left at the service's default.
        (Target::Service(Service::SearchRecolor), Edit::Recolor { select, colour }) => {
            let fields = json!({
                "image": source_b64(&request.source, u64::MAX)?,
                "prompt": clip(
                    &recolor_prompt(&base.prompt, select, colour),
                    STABILITY_MAX_TEXT
                ),
                "select_prompt": clip(select.trim(), STABILITY_MAX_TEXT),
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        // "Stability.ai Stable Diffusion 3.5 Large", image-to-image, as for a variation, from a
        // picture someone uploaded, cropped to the poster's aspect first (image-to-image keeps
        // its input's ratio and takes no aspect_ratio).
        (Target::Model(ModelId::Sd35Large), Edit::StartFrom) => {
            let start =
                super::reference::cover(&request.source, base.aspect, SERVICE_MAX_PIXELS)
                    .ok_or_else(|| malformed("cannot crop the picture to the poster's aspect"))?;
            let fields = json!({
                "prompt": clip(&base.prompt, STABILITY_MAX_TEXT),
                "mode": "image-to-image",
                "image": source_b64(&start, u64::MAX)?,
                "strength": START_FROM_STRENGTH,
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        // "Stability AI Image Services", Control, Style Guide: image (the style reference) and
        // prompt required; aspect_ratio, fidelity, negative_prompt, seed, output_format optional.
        (Target::Service(Service::StyleGuide), Edit::StyleOf) => {
            let fields = json!({
                "image": source_b64(&request.source, SERVICE_MAX_PIXELS)?,
                "prompt": clip(&base.prompt, STABILITY_MAX_TEXT),
                "aspect_ratio": base.aspect.stability(),
                "fidelity": STYLE_GUIDE_FIDELITY,
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        // Same page, Style Transfer: init_image (the art restyled) and style_image required;
        // prompt, negative_prompt, seed, output_format, composition_fidelity, style_strength and
        // change_strength optional. Its keys differ from every other service's `image`.
        (Target::Service(Service::StyleTransfer), Edit::RestyleLike { style }) => {
            let fields = json!({
                "init_image": source_b64(&request.source, SERVICE_MAX_PIXELS)?,
                "style_image": source_b64(style, SERVICE_MAX_PIXELS)?,
                "prompt": clip(&base.prompt, STABILITY_MAX_TEXT),
                "composition_fidelity": STYLE_TRANSFER_COMPOSITION,
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        // Outpaint (AWS's page; see `super::outpaint` for each limit's wording): image
        // required; prompt, left, right, up, down (0..2000, at least one above 0), creativity,
        // style_preset, seed and output_format optional; no negative_prompt. The source is sent at the size the plan
        // chose (the pipeline scales it), so it is never scaled here; creativity is left at
        // the service's default.
        (
            Target::Service(Service::Outpaint),
            Edit::Outpaint {
                left,
                right,
                up,
                down,
            },
        ) => Ok(json!({
            "image": source_b64(&request.source, u64::MAX)?,
            "prompt": clip(&base.prompt, STABILITY_MAX_TEXT),
            "left": left,
            "right": right,
            "up": up,
            "down": down,
            "seed": base.seed.min(STABILITY_MAX_SEED),
            "output_format": "png",
        })),
        // "Stability AI Image Services", Upscale: image and prompt required; negative_prompt,
        // seed, output_format (and creativity, left at its default) optional.
        (Target::Service(service), Edit::Upscale { upscaler }) if service == upscaler.service() => {
            let fields = json!({
                "image": source_b64(&request.source, UPSCALE_MAX_PIXELS)?,
                "prompt": clip(&base.prompt, STABILITY_MAX_TEXT),
            });
            Ok(stability_edit(fields, base.seed, negative))
        }
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genre::Style;
    use crate::model::Aspect;

    fn request(model: ModelId) -> ImageRequest {
        ImageRequest {
            model,
            prompt: "a lighthouse".into(),
            negative_prompt: Some("text, watermark".into()),
            aspect: Aspect::Portrait2x3,
            seed: 4_000_000_000,
            style: Style::Horror,
        }
    }

    #[test]
    fn stability_bodies_use_only_documented_keys() {
        let body = request_body(&request(ModelId::Sd35Large));
        assert_eq!(
            body,
            json!({"prompt": "a lighthouse", "negative_prompt": "text, watermark",
                   "aspect_ratio": "2:3", "seed": 4_000_000_000u32, "output_format": "png"})
        );
        let mut no_negative = request(ModelId::StableImageCore);
        no_negative.negative_prompt = Some("  ".into());
        assert!(request_body(&no_negative).get("negative_prompt").is_none());
    }

    #[test]
    fn nova_bodies_fit_nova_limits() {
        let mut r = request(ModelId::NovaCanvas);
        r.prompt = "x".repeat(5000);
        let body = request_body(&r);
        assert_eq!(body["taskType"], "TEXT_IMAGE");
        assert_eq!(
            body["textToImageParams"]["text"].as_str().unwrap().len(),
            1024
        );
        assert_eq!(body["textToImageParams"]["negativeText"], "text, watermark");
        let cfg = &body["imageGenerationConfig"];
        assert_eq!(
            (cfg["width"].as_u64(), cfg["height"].as_u64()),
            (Some(832), Some(1248))
        );
        assert_eq!(cfg["seed"], 858_993_459, "seed clamped into Nova's range");
        assert_eq!(cfg["numberOfImages"], 1);
    }

    /// What Bedrock answers for a model id it does not serve in the region called, and for a
    /// model whose access is not in place: neither may be blamed on the user's settings.
    #[test]
    fn a_model_outside_its_region_is_not_blamed_on_the_request() {
        use aws_sdk_bedrockruntime::types::error::{
            AccessDeniedException, ResourceNotFoundException, ValidationException,
        };
        let invalid_id = InvokeModelError::ValidationException(
            ValidationException::builder()
                .message("The provided model identifier is invalid.")
                .build(),
        );
        match map_service_error(invalid_id, "us-west-2", Priced::Model(ModelId::Sd35Large)) {
            ModelError::NotInRegion { region, .. } => assert_eq!(region, "us-west-2"),
            other => panic!("{other:?}"),
        }
        let not_found = InvokeModelError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Model not found.")
                .build(),
        );
        assert!(matches!(
            map_service_error(not_found, "eu-west-3", Priced::Model(ModelId::Sd35Large)),
            ModelError::NotInRegion { .. }
        ));
        let denied = InvokeModelError::AccessDeniedException(
            AccessDeniedException::builder()
                .message("You don't have access to the model with the specified model ID.")
                .build(),
        );
        match map_service_error(denied, "us-east-1", Priced::Model(ModelId::Sd35Large)) {
            ModelError::AccessDenied { region, .. } => assert_eq!(region, "us-east-1"),
            other => panic!("{other:?}"),
        }
        // A real parameter problem still says so.
        let bad_params = InvokeModelError::ValidationException(
            ValidationException::builder()
                .message("Malformed input request: #/seed: 5000000000 is not in the range")
                .build(),
        );
        assert!(matches!(
            map_service_error(bad_params, "us-west-2", Priced::Model(ModelId::Sd35Large)),
            ModelError::Invalid { .. }
        ));
    }

    /// Bedrock's answers for a model past its end of life and for a Legacy model an account
    /// has not used lately (aws-solutions-library-samples/accelerated-intelligent-document-
    /// processing-on-aws#708; BEDROCK.md, "Lifecycle") are a retirement, not a region problem
    /// or a missing model access; the ordinary answers keep their meaning.
    #[test]
    fn a_retired_model_is_reported_as_retired() {
        use aws_sdk_bedrockruntime::types::error::{
            AccessDeniedException, ResourceNotFoundException,
        };
        let nova = Priced::Model(ModelId::NovaCanvas);
        let eol = InvokeModelError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message(
                    "This model version has reached the end of its life. Please refer to the \
                     AWS documentation for more details.",
                )
                .build(),
        );
        match map_service_error(eol, "us-east-1", nova) {
            ModelError::Retired { model, detail } => {
                assert_eq!(model, nova);
                assert!(detail.contains("end of its life"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let legacy_denied = InvokeModelError::AccessDeniedException(
            AccessDeniedException::builder()
                .message(
                    "Access denied. This Model is marked by provider as Legacy and you have not \
                     been actively using the model in the last 15 days. Please upgrade to an \
                     active model on Amazon Bedrock",
                )
                .build(),
        );
        assert!(matches!(
            map_service_error(legacy_denied, "us-east-1", nova),
            ModelError::Retired { .. }
        ));
        let legacy_not_found = InvokeModelError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message(
                    "Access denied. This Model is marked by provider as Legacy and you have not \
                     been actively using the model in the last 30 days.",
                )
                .build(),
        );
        let e = map_service_error(legacy_not_found, "us-east-1", nova);
        assert!(matches!(e, ModelError::Retired { .. }), "{e:?}");
        assert!(!e.is_retryable() && !e.may_be_billed());
    }

    /// Bedrock's Stable Image pages document `seeds` as "(string) list of seeds"; captured
    /// responses carry integers. Both shapes give the image and its seed; a shape that makes
    /// no sense still gives the (paid) image, with the seed asked for.
    #[test]
    fn seeds_are_read_as_numbers_or_strings_and_never_cost_the_image() {
        let r = request(ModelId::StableImageCore);
        for (seeds, want) in [
            (json!([77]), 77),
            (json!(["77"]), 77),
            (json!([" 4294967294 "]), 4_294_967_294),
            (json!("123"), 123),
            (json!([]), r.seed),
            (json!(["not a number"]), r.seed),
            (json!([{"seed": 5}]), r.seed),
            (json!([-3]), r.seed),
            (json!(["99999999999"]), r.seed),
            (Value::Null, r.seed),
        ] {
            let body = json!({"seeds": seeds, "finish_reasons": [null], "images": [png_b64()]});
            let img = parse_response(&r, body.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{seeds}: {e:?}"));
            assert_eq!(img.seed, want, "{seeds}");
        }
        let no_seeds = json!({"finish_reasons": [null], "images": [png_b64()]});
        assert_eq!(
            parse_response(&r, no_seeds.to_string().as_bytes())
                .unwrap()
                .seed,
            r.seed
        );
    }

    fn png_b64() -> String {
        let p = tiny_skia::Pixmap::new(8, 12).unwrap();
        base64::engine::general_purpose::STANDARD.encode(p.encode_png().unwrap())
    }

    #[test]
    fn responses_are_decoded_and_filters_recognised() {
        let r = request(ModelId::Sd35Large);
        let ok = json!({"seeds": [77], "finish_reasons": [null], "images": [png_b64()]});
        let img = parse_response(&r, ok.to_string().as_bytes()).unwrap();
        assert_eq!(
            (img.pixmap.width(), img.pixmap.height(), img.seed),
            (8, 12, 77)
        );

        let filtered = json!({"seeds": [1], "finish_reasons": ["Filter reason: prompt"]});
        assert!(matches!(
            parse_response(&r, filtered.to_string().as_bytes()),
            Err(ModelError::Filtered {
                stage: FilterStage::Prompt,
                ..
            })
        ));
        let filtered =
            json!({"seeds": [1], "finish_reasons": ["Filter reason: output image"], "images": []});
        assert!(matches!(
            parse_response(&r, filtered.to_string().as_bytes()),
            Err(ModelError::Filtered {
                stage: FilterStage::Output,
                ..
            })
        ));
        assert!(matches!(
            parse_response(&r, b"{not json"),
            Err(ModelError::Malformed { .. })
        ));
        let not_png = json!({"seeds": [1], "finish_reasons": [null], "images": ["aGVsbG8="]});
        assert!(matches!(
            parse_response(&r, not_png.to_string().as_bytes()),
            Err(ModelError::Malformed { .. })
        ));

        let nova = request(ModelId::NovaCanvas);
        let ok = json!({"images": [png_b64()]});
        assert_eq!(
            parse_response(&nova, ok.to_string().as_bytes())
                .unwrap()
                .seed,
            nova.seed
        );
        let blocked = json!({"images": [], "error": "An image was blocked by the content filter"});
        assert!(matches!(
            parse_response(&nova, blocked.to_string().as_bytes()),
            Err(ModelError::Filtered {
                stage: FilterStage::Output,
                ..
            })
        ));
    }

    mod edits {
        use std::sync::Arc;

        use super::*;
        use crate::model::{Strength, Upscaler};

        fn edit(model: ModelId, edit: Edit, w: u32, h: u32) -> EditRequest {
            let mut source = tiny_skia::Pixmap::new(w, h).unwrap();
            source.fill(tiny_skia::Color::from_rgba8(200, 40, 40, 255));
            EditRequest {
                base: request(model),
                source_seed: 11,
                source: Arc::new(source),
                edit,
            }
        }

        fn keys(v: &Value) -> Vec<&str> {
            let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            k.sort_unstable();
            k
        }

        fn decoded_size(b64: &Value) -> (u32, u32) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_str().unwrap())
                .unwrap();
            let p = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
            (p.width(), p.height())
        }

        const VARY_SUBTLE: Edit = Edit::Vary {
            strength: Strength::Subtle,
        };

        /// Use a picture…: the uploaded picture goes where each tool documents it — SD3.5's
        /// `image` (cropped to the poster's 2:3), Style Guide's `image`, Style Transfer's
        /// `style_image` beside the take's art as `init_image` — with only documented keys.
        #[test]
        fn picture_bodies_carry_the_picture_in_each_tools_own_field() {
            let start = edit(ModelId::Sd35Large, Edit::StartFrom, 300, 200);
            let body = edit_body(Target::Model(ModelId::Sd35Large), &start).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "image",
                    "mode",
                    "negative_prompt",
                    "output_format",
                    "prompt",
                    "seed",
                    "strength"
                ]
            );
            assert_eq!(body["mode"], "image-to-image");
            assert_eq!(body["strength"], START_FROM_STRENGTH);
            // 300x200 cropped about its centre to 2:3: 133x200.
            let (w, h) = decoded_size(&body["image"]);
            assert_eq!(h, 200);
            assert!(
                (f64::from(w) / f64::from(h) - 2.0 / 3.0).abs() < 0.01,
                "{w}x{h}"
            );

            let guide = edit(ModelId::Sd35Large, Edit::StyleOf, 120, 90);
            let body = edit_body(Target::Service(Service::StyleGuide), &guide).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "aspect_ratio",
                    "fidelity",
                    "image",
                    "negative_prompt",
                    "output_format",
                    "prompt",
                    "seed"
                ]
            );
            assert_eq!(body["aspect_ratio"], "2:3");
            assert_eq!(decoded_size(&body["image"]), (120, 90));
            assert!((0.0..=1.0).contains(&body["fidelity"].as_f64().unwrap()));

            let mut style = tiny_skia::Pixmap::new(70, 80).unwrap();
            style.fill(tiny_skia::Color::from_rgba8(10, 200, 40, 255));
            let transfer = edit(
                ModelId::Sd35Large,
                Edit::RestyleLike {
                    style: Arc::new(style),
                },
                64,
                96,
            );
            let body = edit_body(Target::Service(Service::StyleTransfer), &transfer).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "composition_fidelity",
                    "init_image",
                    "negative_prompt",
                    "output_format",
                    "prompt",
                    "seed",
                    "style_image"
                ]
            );
            assert_eq!(decoded_size(&body["init_image"]), (64, 96));
            assert_eq!(decoded_size(&body["style_image"]), (70, 80));
            // Each tool makes only its own edit.
            assert!(edit_body(Target::Service(Service::StyleGuide), &transfer).is_err());
            assert!(edit_body(Target::Service(Service::StyleTransfer), &guide).is_err());
            assert!(edit_body(Target::Model(ModelId::StableImageCore), &start).is_err());
            assert_eq!(
                Service::StyleGuide.profile_id(),
                "us.stability.stable-image-style-guide-v1:0"
            );
            assert_eq!(
                Service::StyleTransfer.profile_id(),
                "us.stability.stable-style-transfer-v1:0"
            );
        }

        /// SD3.5 Large image-to-image: the documented keys only, and no aspect_ratio.
        #[test]
        fn sd35_variations_are_image_to_image() {
            let r = edit(ModelId::Sd35Large, VARY_SUBTLE, 8, 12);
            let body = edit_body(Target::Model(ModelId::Sd35Large), &r).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "image",
                    "mode",
                    "negative_prompt",
                    "output_format",
                    "prompt",
                    "seed",
                    "strength"
                ]
            );
            assert_eq!(body["mode"], "image-to-image");
            assert_eq!(body["strength"], 0.35);
            assert_eq!(body["seed"], 4_000_000_000u32);
            assert_eq!(decoded_size(&body["image"]), (8, 12));
            let strong = edit(
                ModelId::Sd35Large,
                Edit::Vary {
                    strength: Strength::Strong,
                },
                8,
                12,
            );
            let body = edit_body(Target::Model(ModelId::Sd35Large), &strong).unwrap();
            assert_eq!(body["strength"], 0.7);
        }

        #[test]
        fn nova_variations_and_inpainting_use_nova_task_types() {
            let r = edit(ModelId::NovaCanvas, VARY_SUBTLE, 8, 12);
            let body = edit_body(Target::Model(ModelId::NovaCanvas), &r).unwrap();
            assert_eq!(
                keys(&body),
                ["imageGenerationConfig", "imageVariationParams", "taskType"]
            );
            assert_eq!(body["taskType"], "IMAGE_VARIATION");
            let params = &body["imageVariationParams"];
            assert_eq!(
                keys(params),
                ["images", "negativeText", "similarityStrength", "text"]
            );
            assert_eq!(params["similarityStrength"], 0.8);
            assert_eq!(params["images"].as_array().unwrap().len(), 1);
            assert_eq!(body["imageGenerationConfig"]["seed"], 858_993_459);
            assert_eq!(body["imageGenerationConfig"]["width"], 832);

            let r = edit(
                ModelId::NovaCanvas,
                Edit::Replace {
                    search: " the lighthouse ".into(),
                    replace: "a windmill".into(),
                },
                8,
                12,
            );
            let body = edit_body(Target::Model(ModelId::NovaCanvas), &r).unwrap();
            assert_eq!(body["taskType"], "INPAINTING");
            let params = &body["inPaintingParams"];
            assert_eq!(
                keys(params),
                ["image", "maskPrompt", "negativeText", "text"]
            );
            assert_eq!(params["maskPrompt"], "the lighthouse");
            // The replacement first, then the scene with the change made (its style, and the
            // description's words, which tests use to tell their calls apart).
            assert_eq!(params["text"], "a windmill, a lighthouse");
            // The output keeps the input's size: no width or height.
            assert_eq!(
                keys(&body["imageGenerationConfig"]),
                ["cfgScale", "numberOfImages", "quality", "seed"]
            );
        }

        #[test]
        fn service_bodies_use_the_documented_keys() {
            let r = edit(
                ModelId::Sd35Large,
                Edit::Replace {
                    search: "lighthouse".into(),
                    replace: "windmill".into(),
                },
                8,
                12,
            );
            let body = edit_body(Target::Service(Service::SearchReplace), &r).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "image",
                    "negative_prompt",
                    "output_format",
                    "prompt",
                    "search_prompt",
                    "seed"
                ]
            );
            assert_eq!(
                (&body["search_prompt"], &body["prompt"]),
                (&json!("lighthouse"), &json!("windmill, a windmill"))
            );
            let r = edit(
                ModelId::Sd35Large,
                Edit::Recolor {
                    select: " the lighthouse ".into(),
                    colour: "red".into(),
                },
                8,
                12,
            );
            let body = edit_body(Target::Service(Service::SearchRecolor), &r).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "image",
                    "negative_prompt",
                    "output_format",
                    "prompt",
                    "seed",
                    "select_prompt"
                ]
            );
            assert_eq!(
                (&body["select_prompt"], &body["prompt"]),
                (
                    &json!("the lighthouse"),
                    &json!("the lighthouse in red, a lighthouse")
                )
            );
            assert!(edit_body(Target::Service(Service::SearchReplace), &r).is_err());
            for upscaler in [Upscaler::Conservative, Upscaler::Creative] {
                let r = edit(ModelId::NovaCanvas, Edit::Upscale { upscaler }, 8, 12);
                let body = edit_body(Target::Service(upscaler.service()), &r).unwrap();
                assert_eq!(
                    keys(&body),
                    [
                        "image",
                        "negative_prompt",
                        "output_format",
                        "prompt",
                        "seed"
                    ]
                );
                // The wrong upscaler is not asked.
                let other = match upscaler {
                    Upscaler::Conservative => Service::CreativeUpscale,
                    Upscaler::Creative => Service::ConservativeUpscale,
                };
                assert!(edit_body(Target::Service(other), &r).is_err());
            }
            // Outpaint: the four margins, no negative prompt (its page has none), the art sent
            // at its own size.
            let grow = Edit::Outpaint {
                left: 3,
                right: 4,
                up: 0,
                down: 0,
            };
            let r = edit(ModelId::StableImageCore, grow, 8, 12);
            let body = edit_body(Target::Service(Service::Outpaint), &r).unwrap();
            assert_eq!(
                keys(&body),
                [
                    "down",
                    "image",
                    "left",
                    "output_format",
                    "prompt",
                    "right",
                    "seed",
                    "up"
                ]
            );
            assert_eq!((&body["left"], &body["right"]), (&json!(3), &json!(4)));
            assert_eq!(decoded_size(&body["image"]), (8, 12));
            assert!(edit_body(Target::Service(Service::SearchReplace), &r).is_err());
        }

        /// Creative Upscale takes at most one megapixel: larger art is scaled down to fit,
        /// keeping its ratio.
        #[test]
        fn upscale_sources_are_scaled_to_a_megapixel() {
            let r = edit(
                ModelId::Offline,
                Edit::Upscale {
                    upscaler: Upscaler::Creative,
                },
                1024,
                1536,
            );
            let body = edit_body(Target::Service(Service::CreativeUpscale), &r).unwrap();
            let (w, h) = decoded_size(&body["image"]);
            assert!(u64::from(w) * u64::from(h) <= UPSCALE_MAX_PIXELS, "{w}x{h}");
            assert!((f64::from(w) / f64::from(h) - 1024.0 / 1536.0).abs() < 0.01);
            assert!(w >= 800, "{w}x{h}");
        }

        #[test]
        fn replacement_prompts_lead_with_the_replacement_in_the_scene() {
            use crate::model::replacement_prompt;
            assert_eq!(
                replacement_prompt("A Cowboy at dusk, western poster", "cowboy", " robot "),
                "robot, A robot at dusk, western poster"
            );
            assert_eq!(
                replacement_prompt("a cowboy at dusk", "the hat", "a crown"),
                "a crown, a cowboy at dusk"
            );
        }

        #[test]
        fn only_documented_edits_are_claimed() {
            let t = Target::Model;
            assert!(target_can(t(ModelId::Sd35Large), EditKind::Vary));
            assert!(!target_can(t(ModelId::Sd35Large), EditKind::Replace));
            for m in [ModelId::StableImageCore, ModelId::StableImageUltra] {
                assert!(!target_can(t(m), EditKind::Vary), "{m}");
                assert!(!target_can(t(m), EditKind::Replace), "{m}");
            }
            assert!(target_can(t(ModelId::NovaCanvas), EditKind::Replace));
            let up = EditKind::Upscale(Upscaler::Conservative);
            assert!(!target_can(t(ModelId::NovaCanvas), up));
            assert!(target_can(
                Target::Service(Service::ConservativeUpscale),
                up
            ));
            assert!(!target_can(Target::Service(Service::CreativeUpscale), up));
            assert!(target_can(
                Target::Service(Service::SearchReplace),
                EditKind::Replace
            ));
            assert!(target_can(
                Target::Service(Service::SearchRecolor),
                EditKind::Recolor
            ));
            assert!(!target_can(t(ModelId::Sd35Large), EditKind::Recolor));
            assert!(!target_can(t(ModelId::NovaCanvas), EditKind::Recolor));
            // Core cannot vary: the body is never built.
            let r = edit(ModelId::StableImageCore, VARY_SUBTLE, 8, 12);
            assert!(matches!(
                edit_body(t(ModelId::StableImageCore), &r),
                Err(ModelError::Unsupported { .. })
            ));
        }

        #[test]
        fn service_responses_are_stability_responses() {
            let ok = json!({"seeds": [5], "finish_reasons": [null], "images": [png_b64()]});
            let img = parse_body(Family::Stability, 9, ok.to_string().as_bytes()).unwrap();
            assert_eq!((img.pixmap.width(), img.seed), (8, 5));
            let refused = json!({"seeds": [5], "finish_reasons": ["Filter reason: input image"]});
            let err = parse_body(Family::Stability, 9, refused.to_string().as_bytes());
            assert!(
                matches!(err, Err(ref e @ ModelError::Filtered { .. }) if !e.may_be_billed()),
                "{err:?}"
            );
            let nova = json!({"images": [png_b64()]});
            let img = parse_body(Family::Nova, 9, nova.to_string().as_bytes()).unwrap();
            assert_eq!(img.seed, 9);
        }

        #[test]
        fn services_are_invoked_by_their_us_profile() {
            for s in Service::ALL {
                assert_eq!(s.profile_id(), format!("us.{}", s.bedrock_id()));
                assert_eq!(Service::parse(s.short_name()), Some(s));
                assert_eq!(Service::parse(s.bedrock_id()), Some(s));
                assert_eq!(Service::parse(s.profile_id()), Some(s));
                assert!(s.list_price_micros() > 0);
            }
            assert_eq!(Service::parse("sd3.5"), None);
        }
    }
}
