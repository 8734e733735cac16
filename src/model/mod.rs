//! Image models: the one trait every generator implements, and the vocabulary they share.
//!
//! A model turns an [`ImageRequest`] (prompt, aspect, seed, style) into raw art. Two families
//! implement [`ImageModel`]: Amazon Bedrock (`bedrock`, Stability and Nova Canvas wire formats)
//! and the embedded [`offline`] generator that needs no weights and no network.
//!
//! This module knows nothing of Slack, storage or typography: titles are set later by
//! [`crate::poster`], and errors are reported to people by [`crate::pipeline`].

pub(crate) mod bedrock;
pub mod image;
pub mod offline;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::genre::Style;

/// The models Marquee knows how to call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ModelId {
    /// The embedded generator: deterministic art from prompt, style and seed.
    Offline,
    /// Stability AI SD3.5 Large on Bedrock.
    Sd35Large,
    /// Stability AI Stable Image Core on Bedrock.
    StableImageCore,
    /// Stability AI Stable Image Ultra on Bedrock.
    StableImageUltra,
    /// Amazon Nova Canvas on Bedrock.
    NovaCanvas,
}

/// The wire format a Bedrock model speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Offline,
    Stability,
    Nova,
}

impl Family {
    /// The family's name in configuration (`MARQUEE_MODEL_REGIONS=stability=us-west-2`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::Offline => "offline",
            Family::Stability => "stability",
            Family::Nova => "nova",
        }
    }

    /// The region that serves the family's models on demand when configuration names none.
    ///
    /// Bedrock serves each model only in some regions and answers a call anywhere else with a
    /// ValidationException ("The provided model identifier is invalid."). Per the Bedrock user
    /// guide (model cards and "Supported Regions and models for model copy"), Stability's
    /// SD3.5 Large, Stable Image Core and Stable Image Ultra are served on demand in us-west-2,
    /// and Amazon Nova Canvas in us-east-1, ap-northeast-2 and eu-west-1, not us-west-2. No one
    /// region serves both families, so each family carries its own default (see
    /// docs/INSTALL.md, section 2, for sources).
    fn default_region(self) -> Option<&'static str> {
        match self {
            Family::Offline => None,
            Family::Stability => Some("us-west-2"),
            Family::Nova => Some("us-east-1"),
        }
    }
}

impl ModelId {
    pub const ALL: [ModelId; 5] = [
        ModelId::Offline,
        ModelId::Sd35Large,
        ModelId::StableImageCore,
        ModelId::StableImageUltra,
        ModelId::NovaCanvas,
    ];

    /// The short name users type after `--model`.
    pub(crate) fn short_name(self) -> &'static str {
        match self {
            ModelId::Offline => "offline",
            ModelId::Sd35Large => "sd3.5",
            ModelId::StableImageCore => "core",
            ModelId::StableImageUltra => "ultra",
            ModelId::NovaCanvas => "nova",
        }
    }

    /// The Bedrock model id, or `None` for the offline generator.
    pub fn bedrock_id(self) -> Option<&'static str> {
        match self {
            ModelId::Offline => None,
            ModelId::Sd35Large => Some("stability.sd3-5-large-v1:0"),
            ModelId::StableImageCore => Some("stability.stable-image-core-v1:1"),
            ModelId::StableImageUltra => Some("stability.stable-image-ultra-v1:1"),
            ModelId::NovaCanvas => Some("amazon.nova-canvas-v1:0"),
        }
    }

    /// A name fit for people: shown in messages and in help.
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            ModelId::Offline => "Marquee offline",
            ModelId::Sd35Large => "Stable Diffusion 3.5 Large",
            ModelId::StableImageCore => "Stable Image Core",
            ModelId::StableImageUltra => "Stable Image Ultra",
            ModelId::NovaCanvas => "Amazon Nova Canvas",
        }
    }

    pub(crate) fn family(self) -> Family {
        match self {
            ModelId::Offline => Family::Offline,
            ModelId::NovaCanvas => Family::Nova,
            _ => Family::Stability,
        }
    }

    /// The region Marquee calls this model in unless configured otherwise; `None` for the
    /// offline generator, which needs no region. See [`Family::default_region`].
    pub(crate) fn default_region(self) -> Option<&'static str> {
        self.family().default_region()
    }

    /// The largest seed the model accepts (Stability: 4294967294, Nova Canvas: 858993459).
    pub fn max_seed(self) -> u32 {
        match self.family() {
            Family::Offline => u32::MAX,
            Family::Stability => 4_294_967_294,
            Family::Nova => 858_993_459,
        }
    }

    /// The on-demand price of one image in micro-dollars (US$ 1 = 1,000,000): what a poster
    /// costs unless the admin configures otherwise (`MARQUEE_MODEL_PRICES`). Money is kept in
    /// whole micro-dollars everywhere, never in floating point.
    ///
    /// Sources, read 2026-12: AWS's Bedrock pricing page (aws.amazon.com/bedrock/pricing) could
    /// not be read for numbers in the stored copies this project can reach (they render prices
    /// client-side). Stable Image Core ($0.04) and Stable Image Ultra ($0.14) match the AWS
    /// Marketplace rate cards for those models in us-west-2 as a public build log reads them
    /// through Bedrock's `ListFoundationModelAgreementOffers` ("per output image"). SD3.5 Large
    /// ($0.08) and Nova Canvas ($0.04, standard quality up to 1024×1024) are **assumed**: the
    /// list prices this project has documented since its first release, not confirmed in a
    /// stored AWS source. Admins should check the pricing page for their region.
    pub(crate) fn list_price_micros(self) -> i64 {
        match self {
            // Drawn by the function itself: free, and unlimited unless an admin prices it.
            ModelId::Offline => 0,
            ModelId::Sd35Large => 80_000,
            ModelId::StableImageCore => 40_000,
            ModelId::StableImageUltra => 140_000,
            ModelId::NovaCanvas => 40_000,
        }
    }

    /// Accepts a short name or a full Bedrock model id, case-insensitively.
    pub(crate) fn parse(text: &str) -> Option<ModelId> {
        let text = text.trim();
        ModelId::ALL.into_iter().find(|m| {
            m.short_name().eq_ignore_ascii_case(text)
                || m.bedrock_id()
                    .is_some_and(|id| id.eq_ignore_ascii_case(text))
        })
    }

    pub(crate) fn short_names() -> Vec<&'static str> {
        ModelId::ALL.iter().map(|m| m.short_name()).collect()
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// Aspect ratios a poster may take. Every model supports all of them; each maps them to its own
/// parameters (`Aspect::stability`, `Aspect::nova_size`, `Aspect::offline_size`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Aspect {
    /// The one-sheet: the classic theatrical poster.
    #[default]
    #[serde(rename = "2:3")]
    Portrait2x3,
    #[serde(rename = "1:1")]
    Square,
    #[serde(rename = "4:5")]
    Portrait4x5,
    #[serde(rename = "9:16")]
    Portrait9x16,
    #[serde(rename = "9:21")]
    Portrait9x21,
    #[serde(rename = "3:2")]
    Landscape3x2,
    #[serde(rename = "5:4")]
    Landscape5x4,
    #[serde(rename = "16:9")]
    Landscape16x9,
    #[serde(rename = "21:9")]
    Landscape21x9,
}

impl Aspect {
    pub(crate) const ALL: [Aspect; 9] = [
        Aspect::Portrait2x3,
        Aspect::Square,
        Aspect::Portrait4x5,
        Aspect::Portrait9x16,
        Aspect::Portrait9x21,
        Aspect::Landscape3x2,
        Aspect::Landscape5x4,
        Aspect::Landscape16x9,
        Aspect::Landscape21x9,
    ];

    /// The ratio as users write it, which is also Stability's `aspect_ratio` value.
    pub(crate) fn stability(self) -> &'static str {
        match self {
            Aspect::Portrait2x3 => "2:3",
            Aspect::Square => "1:1",
            Aspect::Portrait4x5 => "4:5",
            Aspect::Portrait9x16 => "9:16",
            Aspect::Portrait9x21 => "9:21",
            Aspect::Landscape3x2 => "3:2",
            Aspect::Landscape5x4 => "5:4",
            Aspect::Landscape16x9 => "16:9",
            Aspect::Landscape21x9 => "21:9",
        }
    }

    /// Parses `2:3`, `2x3` or `2/3`.
    pub(crate) fn parse(text: &str) -> Option<Aspect> {
        let normalized = text.trim().replace(['x', 'X', '/', '×'], ":");
        Aspect::ALL
            .into_iter()
            .find(|a| a.stability() == normalized)
    }

    /// Nova Canvas width and height: each divisible by 16, about one megapixel, ratio kept.
    fn nova_size(self) -> (u32, u32) {
        match self {
            Aspect::Portrait2x3 => (832, 1248),
            Aspect::Square => (1024, 1024),
            Aspect::Portrait4x5 => (896, 1120),
            Aspect::Portrait9x16 => (720, 1280),
            Aspect::Portrait9x21 => (576, 1344),
            Aspect::Landscape3x2 => (1248, 832),
            Aspect::Landscape5x4 => (1120, 896),
            Aspect::Landscape16x9 => (1280, 720),
            Aspect::Landscape21x9 => (1344, 576),
        }
    }

    /// The offline generator's canvas: 1536 px on the long side.
    fn offline_size(self) -> (u32, u32) {
        match self {
            Aspect::Portrait2x3 => (1024, 1536),
            Aspect::Square => (1280, 1280),
            Aspect::Portrait4x5 => (1232, 1536),
            Aspect::Portrait9x16 => (864, 1536),
            Aspect::Portrait9x21 => (656, 1536),
            Aspect::Landscape3x2 => (1536, 1024),
            Aspect::Landscape5x4 => (1536, 1232),
            Aspect::Landscape16x9 => (1536, 864),
            Aspect::Landscape21x9 => (1536, 656),
        }
    }
}

impl fmt::Display for Aspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stability())
    }
}

/// What a model is asked to draw. The prompt already carries the style's additions.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRequest {
    pub(crate) model: ModelId,
    pub(crate) prompt: String,
    pub(crate) negative_prompt: Option<String>,
    pub(crate) aspect: Aspect,
    pub(crate) seed: u32,
    pub(crate) style: Style,
}

/// Raw art from a model, before any typography.
pub struct GeneratedImage {
    pub(crate) pixmap: tiny_skia::Pixmap,
    /// The seed the model reports it used.
    pub(crate) seed: u32,
}

impl fmt::Debug for GeneratedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedImage")
            .field("width", &self.pixmap.width())
            .field("height", &self.pixmap.height())
            .field("seed", &self.seed)
            .finish()
    }
}

/// Which check filtered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterStage {
    Prompt,
    Output,
}

/// Everything that can go wrong while generating art, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model's content filter blocked the {stage:?} ({detail})")]
    Filtered { stage: FilterStage, detail: String },
    #[error("the model is throttling requests")]
    Throttled,
    #[error("the model service is unavailable ({detail})")]
    Unavailable { detail: String },
    #[error("the model did not answer within {secs} s")]
    Timeout { secs: u64 },
    /// Bedrock's AccessDeniedException: model access (the Marketplace subscription of a
    /// third-party model) is not in place in this account and region, or IAM refuses the call.
    #[error("access to the model in {region} is denied ({detail})")]
    AccessDenied { region: String, detail: String },
    /// The model id is not served in the region called: Bedrock answers a ValidationException
    /// ("The provided model identifier is invalid.") or a ResourceNotFoundException.
    #[error("the model is not available in {region} ({detail})")]
    NotInRegion { region: String, detail: String },
    #[error("the account's model quota is exhausted ({detail})")]
    QuotaExceeded { detail: String },
    #[error("the model rejected the request ({detail})")]
    Invalid { detail: String },
    #[error("the model's response could not be read ({detail})")]
    Malformed { detail: String },
    #[error("the model call failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ModelError {
    /// Whether trying again later might succeed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::Throttled | ModelError::Unavailable { .. } | ModelError::Timeout { .. }
        )
    }

    /// Whether Bedrock may have charged for the call that ended in this error, so its
    /// reservation is kept rather than refunded. Bedrock bills per generated image: a call it
    /// refused (throttling, validation, access, quota, a blocked prompt) or that ended before
    /// an answer (a timeout, the service unavailable) made no image and is refunded. An image
    /// the output filter blocked was generated first, and an answer Marquee could not read
    /// (or an error it cannot classify) may have been billed; those keep their charge, so the
    /// spend Marquee counts errs high, never low.
    pub(crate) fn may_be_billed(&self) -> bool {
        match self {
            ModelError::Filtered {
                stage: FilterStage::Output,
                ..
            }
            | ModelError::Malformed { .. }
            | ModelError::Other(_) => true,
            ModelError::Filtered {
                stage: FilterStage::Prompt,
                ..
            }
            | ModelError::Throttled
            | ModelError::Unavailable { .. }
            | ModelError::Timeout { .. }
            | ModelError::AccessDenied { .. }
            | ModelError::NotInRegion { .. }
            | ModelError::QuotaExceeded { .. }
            | ModelError::Invalid { .. } => false,
        }
    }

    /// A short, stable name for logs and Lambda's `errorType`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ModelError::Filtered { .. } => "ContentFiltered",
            ModelError::Throttled => "Throttled",
            ModelError::Unavailable { .. } => "ModelUnavailable",
            ModelError::Timeout { .. } => "ModelTimeout",
            ModelError::AccessDenied { .. } => "ModelAccessDenied",
            ModelError::NotInRegion { .. } => "ModelNotInRegion",
            ModelError::QuotaExceeded { .. } => "QuotaExceeded",
            ModelError::Invalid { .. } => "InvalidModelRequest",
            ModelError::Malformed { .. } => "MalformedModelResponse",
            ModelError::Other(_) => "ModelError",
        }
    }
}

/// A generator of art.
#[async_trait]
pub trait ImageModel: Send + Sync {
    async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImage, ModelError>;
}

/// The configured models, by id. Built once at start and shared.
#[derive(Clone, Default)]
pub struct Models {
    by_id: HashMap<ModelId, Arc<dyn ImageModel>>,
}

impl Models {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, id: ModelId, model: Arc<dyn ImageModel>) -> Self {
        self.by_id.insert(id, model);
        self
    }

    pub(crate) fn get(&self, id: ModelId) -> Option<&Arc<dyn ImageModel>> {
        self.by_id.get(&id)
    }

    /// The models configured here, in [`ModelId::ALL`]'s order.
    pub(crate) fn ids(&self) -> Vec<ModelId> {
        ModelId::ALL
            .into_iter()
            .filter(|m| self.by_id.contains_key(m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_round_trip() {
        for m in ModelId::ALL {
            assert_eq!(ModelId::parse(m.short_name()), Some(m));
            if let Some(id) = m.bedrock_id() {
                assert_eq!(ModelId::parse(id), Some(m));
            }
        }
        assert_eq!(ModelId::parse("NOVA"), Some(ModelId::NovaCanvas));
        assert_eq!(ModelId::parse("dall-e"), None);
    }

    #[test]
    fn each_family_defaults_to_a_region_that_serves_it() {
        for m in ModelId::ALL {
            let want = match m {
                ModelId::Offline => None,
                ModelId::NovaCanvas => Some("us-east-1"),
                ModelId::Sd35Large | ModelId::StableImageCore | ModelId::StableImageUltra => {
                    Some("us-west-2")
                }
            };
            assert_eq!(m.default_region(), want, "{m}");
        }
    }

    #[test]
    fn aspects_parse_in_several_spellings() {
        assert_eq!(Aspect::parse("2:3"), Some(Aspect::Portrait2x3));
        assert_eq!(Aspect::parse("16x9"), Some(Aspect::Landscape16x9));
        assert_eq!(Aspect::parse("9/16"), Some(Aspect::Portrait9x16));
        assert_eq!(Aspect::parse("7:3"), None);
        assert_eq!(Aspect::parse(""), None);
    }

    #[test]
    fn every_size_keeps_its_ratio_and_each_models_limits() {
        for a in Aspect::ALL {
            let (rw, rh) = a
                .stability()
                .split_once(':')
                .map(|(w, h)| (w.parse::<f64>().unwrap(), h.parse::<f64>().unwrap()))
                .unwrap();
            let want = rw / rh;
            for (w, h) in [a.nova_size(), a.offline_size()] {
                let got = w as f64 / h as f64;
                assert!((got - want).abs() / want < 0.03, "{a}: {w}x{h}");
            }
            let (w, h) = a.nova_size();
            assert!(w % 16 == 0 && h % 16 == 0, "{a}: nova {w}x{h}");
            assert!((320..=4096).contains(&w) && (320..=4096).contains(&h));
            assert!(w * h <= 4_194_304);
        }
    }

    /// Refused or unanswered calls are refunded; an image blocked after it was made, or an
    /// answer that could not be read, keeps its charge.
    #[test]
    fn only_calls_that_may_have_made_an_image_keep_their_charge() {
        let filtered = |stage| ModelError::Filtered {
            stage,
            detail: String::new(),
        };
        assert!(filtered(FilterStage::Output).may_be_billed());
        assert!(
            ModelError::Malformed {
                detail: String::new()
            }
            .may_be_billed()
        );
        for unbilled in [
            filtered(FilterStage::Prompt),
            ModelError::Throttled,
            ModelError::Timeout { secs: 60 },
            ModelError::Invalid {
                detail: String::new(),
            },
            ModelError::AccessDenied {
                region: "us-west-2".into(),
                detail: String::new(),
            },
        ] {
            assert!(!unbilled.may_be_billed(), "{unbilled:?}");
        }
        assert_eq!(ModelId::Offline.list_price_micros(), 0);
        assert!(
            ModelId::ALL
                .iter()
                .filter(|m| **m != ModelId::Offline)
                .all(|m| m.list_price_micros() > 0)
        );
    }

    #[test]
    fn retryable_errors_are_the_transient_ones() {
        assert!(ModelError::Throttled.is_retryable());
        assert!(ModelError::Timeout { secs: 1 }.is_retryable());
        assert!(
            !ModelError::Filtered {
                stage: FilterStage::Prompt,
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(
            !ModelError::AccessDenied {
                region: "us-west-2".into(),
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(
            !ModelError::NotInRegion {
                region: "us-west-2".into(),
                detail: String::new()
            }
            .is_retryable()
        );
    }
}
