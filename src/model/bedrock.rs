//! Amazon Bedrock image models: the exact InvokeModel request and response formats of the
//! Stability family (SD3.5 Large, Stable Image Core, Stable Image Ultra) and Amazon Nova Canvas.
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

use super::{Family, FilterStage, GeneratedImage, ImageModel, ImageRequest, ModelError, ModelId};

/// Nova Canvas accepts at most this many characters of prompt and of negative prompt.
const NOVA_MAX_TEXT: usize = 1024;
/// Stability's limit for both prompts.
const STABILITY_MAX_TEXT: usize = 10_000;

#[derive(Debug, Clone)]
pub(crate) struct BedrockModel {
    /// A client for `region`: Bedrock serves each model only in some regions, so every model
    /// is called through the client of its own region.
    client: aws_sdk_bedrockruntime::Client,
    region: String,
    model: ModelId,
    timeout: Duration,
}

impl BedrockModel {
    /// `model` must not be [`ModelId::Offline`]; `client` must be configured for `region`,
    /// which is named in errors. `timeout` bounds one call.
    pub(crate) fn new(
        client: aws_sdk_bedrockruntime::Client,
        region: impl Into<String>,
        model: ModelId,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            region: region.into(),
            model,
            timeout,
        }
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
    #[serde(default)]
    seeds: Vec<u64>,
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
    match request.model.family() {
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
                seed: request.seed,
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
                Some(reason) => return Err(ModelError::Unavailable { detail: reason }),
            }
            let image = r
                .images
                .first()
                .ok_or_else(|| malformed("no image in the response"))?;
            let seed = r
                .seeds
                .first()
                .and_then(|s| u32::try_from(*s).ok())
                .unwrap_or(request.seed);
            Ok(GeneratedImage {
                pixmap: decode_png(image)?,
                seed,
            })
        }
    }
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

/// Maps an InvokeModel failure in `region` onto what Marquee can tell people.
fn map_error(error: SdkError<InvokeModelError>, region: &str) -> ModelError {
    match error {
        SdkError::ServiceError(context) => map_service_error(context.into_err(), region),
        SdkError::TimeoutError(_) => ModelError::Timeout { secs: 0 },
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

/// Maps an error Bedrock answered with, in `region`.
fn map_service_error(err: InvokeModelError, region: &str) -> ModelError {
    let region = region.to_owned();
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
        InvokeModelError::ModelTimeoutException(_) => ModelError::Timeout { secs: 0 },
        InvokeModelError::ServiceQuotaExceededException(e) => ModelError::QuotaExceeded {
            detail: detail_of(e.message()),
        },
        // "You don't have access to the model with the specified model ID." (model access or
        // its Marketplace subscription missing), or an IAM denial naming bedrock:InvokeModel.
        InvokeModelError::AccessDeniedException(e) => ModelError::AccessDenied {
            region,
            detail: detail_of(e.message()),
        },
        InvokeModelError::ResourceNotFoundException(e) => ModelError::NotInRegion {
            region,
            detail: detail_of(e.message()),
        },
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
        let model_id = self
            .model
            .bedrock_id()
            .ok_or_else(|| ModelError::NotInRegion {
                region: self.region.clone(),
                detail: "the offline model is not a Bedrock model".into(),
            })?;
        let body = serde_json::to_vec(&request_body(request))
            .map_err(|e| ModelError::Other(Box::new(e)))?;
        let call = self
            .client
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send();
        let output = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => {
                return Err(ModelError::Timeout {
                    secs: self.timeout.as_secs(),
                });
            }
            Ok(result) => result.map_err(|e| map_error(e, &self.region))?,
        };
        let bytes = output.body.into_inner();
        // Decoding a megapixel PNG is CPU work: keep it off the async executor.
        let request = request.clone();
        tokio::task::spawn_blocking(move || parse_response(&request, &bytes))
            .await
            .map_err(|e| ModelError::Other(Box::new(e)))?
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
        match map_service_error(invalid_id, "us-west-2") {
            ModelError::NotInRegion { region, .. } => assert_eq!(region, "us-west-2"),
            other => panic!("{other:?}"),
        }
        let not_found = InvokeModelError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Model not found.")
                .build(),
        );
        assert!(matches!(
            map_service_error(not_found, "eu-west-3"),
            ModelError::NotInRegion { .. }
        ));
        let denied = InvokeModelError::AccessDeniedException(
            AccessDeniedException::builder()
                .message("You don't have access to the model with the specified model ID.")
                .build(),
        );
        match map_service_error(denied, "us-east-1") {
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
            map_service_error(bad_params, "us-west-2"),
            ModelError::Invalid { .. }
        ));
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
}
