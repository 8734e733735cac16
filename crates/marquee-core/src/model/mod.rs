//! Image models: the one trait every generator implements, and the vocabulary they share.
//!
//! A model turns an [`ImageRequest`] (prompt, aspect, seed, style) into raw art. Two families
//! implement [`ImageModel`]: Amazon Bedrock (`bedrock`, Stability and Nova Canvas wire formats)
//! and the embedded [`offline`] generator that needs no weights and no network. Every fact
//! about a model (ids, names, regions, prices, edits, timeouts, lifecycle) is a row of
//! [`catalog`]; the methods here read it.
//!
//! This module knows nothing of Slack, storage or typography: titles are set later by
//! [`crate::poster`], and errors are reported to people by `marquee_service::pipeline`.
//!
//! `ImageModel` trait (`generate`, and `can`/`edit` for edits of existing art: `Edit::Vary`,
//! `Replace`, `Upscale`, `Outpaint`), `ModelId`, `Service` (Stability's image services on
//! Bedrock: Search and Replace, Outpaint and the two upscalers, called through the `us.` inference
//! profile), `Priced` (what a
//! call is billed as), `Models::editor` (who makes an edit to a model's art), `Aspect` (with each
//! model's size mapping) and `ModelError`; `catalog` is the one table of model facts — per model
//! and service: ids, family, regions, price, what it draws and edits, its call timeout, and its
//! lifecycle with dates and source — that everything else reads; `image` decodes what a model
//! returns (PNG only, size-checked before decoding); `outpaint` plans how art grows to a format's
//! aspect within Outpaint's documented limits. `bedrock` speaks the Stability and Nova Canvas
//! InvokeModel formats exactly (text-to-image, SD3.5 image-to-image, Nova `IMAGE_VARIATION` and
//! mask-prompt inpainting, and the services; Nova Canvas is retired and never configured, its
//! format kept for its catalog row) and maps every service error, a Legacy or end-of-life answer to
//! "retired"; `offline` draws deterministic layered key art from prompt, style and seed, one
//! submodule per layer (`scene` reads the request into choices, then `sky`, `land`, `figure`,
//! `props`, `finish`, over a shared `canvas` and its own `rng`); same inputs, same pixels.

pub mod bedrock;
pub mod catalog;
pub mod image;
pub mod offline;
pub mod outpaint;
pub mod reference;

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
pub enum Family {
    Offline,
    Stability,
    Nova,
}

impl Family {
    /// The family's name in configuration (`MARQUEE_MODEL_REGIONS=stability=us-west-2`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Offline => "offline",
            Family::Stability => "stability",
            Family::Nova => "nova",
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

    /// The model's row of the [`catalog`]: every fact Marquee holds about it.
    pub fn row(self) -> &'static catalog::Row {
        match self {
            ModelId::Offline => &catalog::OFFLINE,
            ModelId::Sd35Large => &catalog::SD35_LARGE,
            ModelId::StableImageCore => &catalog::STABLE_IMAGE_CORE,
            ModelId::StableImageUltra => &catalog::STABLE_IMAGE_ULTRA,
            ModelId::NovaCanvas => &catalog::NOVA_CANVAS,
        }
    }

    /// The short name users type after `--model`.
    pub fn short_name(self) -> &'static str {
        self.row().short_name
    }

    /// The Bedrock model id, or `None` for the offline generator.
    pub fn bedrock_id(self) -> Option<&'static str> {
        self.row().bedrock_id
    }

    /// A name fit for people: shown in messages and in help.
    pub fn display_name(self) -> &'static str {
        self.row().display_name
    }

    pub fn family(self) -> Family {
        self.row().family
    }

    /// Whether the model may be offered and called (it has not reached end of life).
    pub fn is_offered(self) -> bool {
        self.row().is_offered()
    }

    /// The region Marquee calls this model in unless configured otherwise: the first region
    /// of its catalog row; `None` for the offline generator, which needs no region.
    ///
    /// Bedrock serves each model only in some regions and answers a call anywhere else with a
    /// ValidationException ("The provided model identifier is invalid."; docs/INSTALL.md,
    /// section 2, cites the sources).
    pub fn default_region(self) -> Option<&'static str> {
        self.row().regions.first().copied()
    }

    /// The largest seed the model accepts (Stability: 4294967294, Nova Canvas: 858993459).
    pub fn max_seed(self) -> u32 {
        self.row().max_seed
    }

    /// The on-demand price of one image in micro-dollars (US$ 1 = 1,000,000): what a poster
    /// costs unless the admin configures otherwise (`MARQUEE_MODEL_PRICES`). Money is kept in
    /// whole micro-dollars everywhere, never in floating point. The [`catalog`] row says which
    /// prices are confirmed and which assumed; admins should check the pricing page for their
    /// region.
    pub(crate) fn list_price_micros(self) -> i64 {
        self.row().price_micros
    }

    /// Accepts a short name or a full Bedrock model id, case-insensitively.
    pub fn parse(text: &str) -> Option<ModelId> {
        let text = text.trim();
        ModelId::ALL.into_iter().find(|m| {
            m.short_name().eq_ignore_ascii_case(text)
                || m.bedrock_id()
                    .is_some_and(|id| id.eq_ignore_ascii_case(text))
        })
    }

    /// The short names of the models that may be offered (retired ones are left out).
    pub fn short_names() -> Vec<&'static str> {
        catalog::offered_models()
            .into_iter()
            .map(ModelId::short_name)
            .collect()
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

/// `prompt` with every case-insensitive occurrence of `search` replaced by `replace`, or
/// `None` when `search` is empty or does not occur.
pub(crate) fn replaced(prompt: &str, search: &str, replace: &str) -> Option<String> {
    let search = search.trim();
    if search.is_empty() {
        return None;
    }
    // Lower-casing can change byte lengths outside ASCII; match on chars to stay on boundaries.
    let lower: Vec<char> = prompt.chars().flat_map(char::to_lowercase).collect();
    let needle: Vec<char> = search.chars().flat_map(char::to_lowercase).collect();
    if lower.len() != prompt.chars().count() {
        // A character whose lower case is longer: fall back to an exact match.
        return prompt
            .contains(search)
            .then(|| prompt.replace(search, replace.trim()));
    }
    let chars: Vec<char> = prompt.chars().collect();
    let (mut out, mut i, mut found) = (String::new(), 0, false);
    while i < chars.len() {
        if lower[i..].starts_with(&needle) {
            out.push_str(replace.trim());
            i += needle.len();
            found = true;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    found.then_some(out)
}

/// The text that guides a repaint of what `search` finds: the replacement first, then the
/// whole description with the change made, so the new detail matches the scene's style.
pub(crate) fn replacement_prompt(prompt: &str, search: &str, replace: &str) -> String {
    let scene = replaced(prompt, search, replace).unwrap_or_else(|| prompt.trim().to_owned());
    format!("{}, {scene}", replace.trim())
}

/// What a model is asked to draw. The prompt already carries the style's additions.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRequest {
    pub model: ModelId,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub aspect: Aspect,
    pub seed: u32,
    pub style: Style,
}

/// Raw art from a model, before any typography.
pub struct GeneratedImage {
    pub pixmap: tiny_skia::Pixmap,
    /// The seed the model reports it used.
    pub seed: u32,
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
    /// Bedrock itself gave up (ModelTimeoutException, HTTP 408): nothing was made, so nothing
    /// is billed, and one more try may pass.
    #[error("the model did not answer within its own time limit")]
    Timeout,
    /// Marquee stopped waiting for a call it had sent (the call's timeout from the [`catalog`],
    /// or the job's deadline). Bedrock does not know: it finishes the image and bills it. So
    /// the call is counted as billed and never retried automatically (a retry would be a second
    /// paid image for one poster).
    #[error("gave up waiting for the model after {secs} s (Bedrock may still finish and bill it)")]
    Abandoned { secs: u64 },
    /// Bedrock refuses the model as Legacy (to an account that has not used it lately) or past
    /// its end of life: `ResourceNotFoundException` or `AccessDeniedException` whose message says
    /// "Legacy" or "end of its life". Choosing another model is the only fix.
    #[error("{} is retired on Amazon Bedrock ({detail})", model.row().display_name)]
    Retired { model: Priced, detail: String },
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
    /// The edit asked for is not one this model (or any configured service) can make; `what`
    /// says which, in words fit for the requester. Nothing was called, so nothing is billed.
    #[error("{what}")]
    Unsupported { what: String },
}

impl ModelError {
    /// Whether trying again later might succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::Throttled | ModelError::Unavailable { .. } | ModelError::Timeout
        )
    }

    /// Whether Bedrock may have charged for the call that ended in this error, so its
    /// reservation is kept rather than refunded. Bedrock bills per generated image: a call it
    /// refused (throttling, validation, access, quota, a retired model, a blocked prompt) or
    /// that Bedrock itself ended (its own timeout, the service unavailable) made no image and is
    /// refunded. An image the output filter blocked was generated first; a call Marquee stopped
    /// waiting for is finished and billed by Bedrock all the same; an answer Marquee could not
    /// read (or an error it cannot classify) may have been billed. Those keep their charge, so
    /// the spend Marquee counts errs high, never low.
    pub fn may_be_billed(&self) -> bool {
        match self {
            ModelError::Filtered {
                stage: FilterStage::Output,
                ..
            }
            | ModelError::Malformed { .. }
            | ModelError::Abandoned { .. }
            | ModelError::Other(_) => true,
            ModelError::Filtered {
                stage: FilterStage::Prompt,
                ..
            }
            | ModelError::Throttled
            | ModelError::Unavailable { .. }
            | ModelError::Timeout
            | ModelError::Retired { .. }
            | ModelError::AccessDenied { .. }
            | ModelError::NotInRegion { .. }
            | ModelError::QuotaExceeded { .. }
            | ModelError::Invalid { .. }
            | ModelError::Unsupported { .. } => false,
        }
    }

    /// A short, stable name for logs and Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::Filtered { .. } => "ContentFiltered",
            ModelError::Throttled => "Throttled",
            ModelError::Unavailable { .. } => "ModelUnavailable",
            ModelError::Timeout => "ModelTimeout",
            ModelError::Abandoned { .. } => "ModelAbandoned",
            ModelError::Retired { .. } => "ModelRetired",
            ModelError::AccessDenied { .. } => "ModelAccessDenied",
            ModelError::NotInRegion { .. } => "ModelNotInRegion",
            ModelError::QuotaExceeded { .. } => "QuotaExceeded",
            ModelError::Invalid { .. } => "InvalidModelRequest",
            ModelError::Malformed { .. } => "MalformedModelResponse",
            ModelError::Other(_) => "ModelError",
            ModelError::Unsupported { .. } => "EditUnsupported",
        }
    }
}

/// A generator of art, and, for those that can, an editor of art it (or another model) drew.
#[async_trait]
pub trait ImageModel: Send + Sync {
    async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImage, ModelError>;

    /// Whether this model can make edits of `kind` itself.
    fn can(&self, kind: EditKind) -> bool {
        let _ = kind;
        false
    }

    /// Makes `request`'s edit to its source art. Models that cannot say so without calling
    /// anything ([`ModelError::Unsupported`], never billed).
    async fn edit(&self, request: &EditRequest) -> Result<GeneratedImage, ModelError> {
        Err(ModelError::Unsupported {
            what: format!(
                "{} cannot {}",
                request.base.model.display_name(),
                request.edit.kind().describe()
            ),
        })
    }
}

/// How far a variation strays from its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    Subtle,
    Strong,
}

impl Strength {
    /// SD3.5 image-to-image `strength` (0..1). Bedrock's SD3.5 Large page makes it required
    /// for image-to-image; its meaning is Stability's API text (assumed the same on Bedrock):
    /// how much influence the input image has, 0 returning the input unchanged and 1 ignoring
    /// it. Subtle (0.35) keeps about two thirds of the source, strong (0.7) its composition and
    /// colour masses and little else.
    pub(crate) fn image_strength(self) -> f64 {
        match self {
            Strength::Subtle => 0.35,
            Strength::Strong => 0.7,
        }
    }

    /// Nova Canvas IMAGE_VARIATION `similarityStrength` (0.2..1.0, default 0.7): how similar
    /// the generated image should be to the input images, lower values introducing more
    /// randomness (Amazon Nova user guide, "Request and response structure for image
    /// generation"; the range as every public caller validates it). Subtle (0.8) sits above the
    /// default, strong (0.4) well below it.
    pub(crate) fn similarity(self) -> f64 {
        match self {
            Strength::Subtle => 0.8,
            Strength::Strong => 0.4,
        }
    }
}

/// The upscaler a print uses (the admin's choice; none = resampling only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upscaler {
    Conservative,
    Creative,
}

impl Upscaler {
    /// The Stability image service that does this upscale.
    pub fn service(self) -> Service {
        match self {
            Upscaler::Conservative => Service::ConservativeUpscale,
            Upscaler::Creative => Service::CreativeUpscale,
        }
    }

    /// `conservative` or `creative` (`MARQUEE_PRINT_UPSCALER`).
    pub fn parse(text: &str) -> Option<Upscaler> {
        match text.trim().to_ascii_lowercase().as_str() {
            "conservative" => Some(Upscaler::Conservative),
            "creative" => Some(Upscaler::Creative),
            _ => None,
        }
    }
}

/// Stability's image services on Bedrock: model ids of their own, priced per call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Service {
    /// Stable Image Search and Replace: finds what `search_prompt` names and repaints it.
    SearchReplace,
    /// Stable Image Outpaint: grows art outward on any side, keeping its pixels (Formats…).
    Outpaint,
    /// Stable Image Conservative Upscale: to about 4K, changing as little as it can.
    ConservativeUpscale,
    /// Stable Image Creative Upscale: to about 4K, re-imagining detail.
    CreativeUpscale,
    /// Stable Image Search and Recolor: finds what `select_prompt` names and changes only its
    /// colour.
    SearchRecolor,
    /// Stable Image Style Guide: new art from a description in the style of a reference picture.
    StyleGuide,
    /// Stable Style Transfer: existing art restyled like a reference picture.
    StyleTransfer,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::SearchReplace,
        Service::Outpaint,
        Service::ConservativeUpscale,
        Service::CreativeUpscale,
        Service::SearchRecolor,
        Service::StyleGuide,
        Service::StyleTransfer,
    ];

    /// The service's row of the [`catalog`].
    pub fn row(self) -> &'static catalog::Row {
        match self {
            Service::SearchReplace => &catalog::SEARCH_REPLACE,
            Service::Outpaint => &catalog::OUTPAINT,
            Service::ConservativeUpscale => &catalog::CONSERVATIVE_UPSCALE,
            Service::CreativeUpscale => &catalog::CREATIVE_UPSCALE,
            Service::SearchRecolor => &catalog::SEARCH_RECOLOR,
            Service::StyleGuide => &catalog::STYLE_GUIDE,
            Service::StyleTransfer => &catalog::STYLE_TRANSFER,
        }
    }

    /// The foundation-model id (Bedrock user guide, "Stability AI Image Services" and each
    /// service's model card). IAM grants name this id in every region the profile routes to.
    pub fn bedrock_id(self) -> &'static str {
        self.row().bedrock_id.unwrap_or_default()
    }

    /// The id Marquee invokes: the US cross-region inference profile of the model. The image
    /// services are served in us-east-1, us-east-2 and us-west-2, and every public caller found
    /// invokes them through the `us.` profile (ASSUMED: by its own id Bedrock would answer
    /// "Invocation of model ID ... with on-demand throughput isn't supported", which Marquee
    /// reports as not served in the region).
    pub fn profile_id(self) -> &'static str {
        self.row().invoke_id().unwrap_or_default()
    }

    /// The regions the `us.` profile may route a call to, and so the regions whose
    /// foundation-model ARNs IAM must grant.
    pub const PROFILE_REGIONS: [&'static str; 3] = ["us-east-1", "us-east-2", "us-west-2"];

    /// The name used in configuration (`MARQUEE_MODEL_PRICES=upscale-creative=0.60`).
    pub fn short_name(self) -> &'static str {
        self.row().short_name
    }

    pub fn display_name(self) -> &'static str {
        self.row().display_name
    }

    /// Stability's, so the services are called with the Stability family's region client.
    pub(crate) fn family(self) -> Family {
        self.row().family
    }

    /// The price of one call in micro-dollars unless configured otherwise (ASSUMED: see the
    /// [`catalog`] row's note). Admins should confirm them on the pricing page for their region
    /// and set `MARQUEE_MODEL_PRICES` when they differ.
    pub(crate) fn list_price_micros(self) -> i64 {
        self.row().price_micros
    }

    /// Accepts a short name, the foundation-model id or the profile id, case-insensitively.
    pub fn parse(text: &str) -> Option<Service> {
        let text = text.trim();
        Service::ALL.into_iter().find(|s| {
            [s.short_name(), s.bedrock_id(), s.profile_id()]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(text))
        })
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// What an edit does to the source art.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// The same picture, varied.
    Vary { strength: Strength },
    /// The same picture with what `search` names changed into `replace`.
    Replace { search: String, replace: String },
    /// The same picture at print size.
    Upscale { upscaler: Upscaler },
    /// The same picture with only the colour of what `select` names changed to `colour`.
    Recolor { select: String, colour: String },
    /// New art from the description, starting from the source, a picture someone uploaded
    /// ("Start from this picture"): its subject and composition kept, the poster's look applied.
    StartFrom,
    /// New art from the description in the style of the source, a picture someone uploaded
    /// ("In the style of this picture").
    StyleOf,
    /// The source art (a take's) restyled like `style`, a picture someone uploaded ("Restyle
    /// this take like that picture").
    RestyleLike { style: Arc<tiny_skia::Pixmap> },
    /// The same picture, its pixels kept, grown by this many pixels on each side
    /// ([`outpaint::Plan`]).
    Outpaint {
        left: u32,
        right: u32,
        up: u32,
        down: u32,
    },
}

/// SD3.5 image-to-image `strength` for Start from this picture: between a subtle variation's
/// 0.35 and a strong one's 0.7, so the uploaded subject and composition survive while the
/// description and look repaint it (see [`Strength::image_strength`] for the parameter).
pub(crate) const START_FROM_STRENGTH: f64 = 0.55;

/// The kind of an edit, for asking who can do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EditKind {
    Vary,
    Replace,
    Upscale(Upscaler),
    Recolor,
    StartFrom,
    StyleOf,
    RestyleLike,
    Outpaint,
}

impl EditKind {
    /// The edit as words after "cannot", for people.
    pub fn describe(self) -> &'static str {
        match self {
            EditKind::Vary => "make variations of existing art",
            EditKind::Replace => "change a detail of existing art",
            EditKind::Upscale(_) => "upscale art for print",
            EditKind::Recolor => "recolour a detail of existing art",
            EditKind::StartFrom => "start from an uploaded picture",
            EditKind::StyleOf => "draw in the style of an uploaded picture",
            EditKind::RestyleLike => "restyle art like an uploaded picture",
            EditKind::Outpaint => "extend art to another format",
        }
    }
}

impl Edit {
    pub fn kind(&self) -> EditKind {
        match self {
            Edit::Vary { .. } => EditKind::Vary,
            Edit::Replace { .. } => EditKind::Replace,
            Edit::Upscale { upscaler } => EditKind::Upscale(*upscaler),
            Edit::Recolor { .. } => EditKind::Recolor,
            Edit::StartFrom => EditKind::StartFrom,
            Edit::StyleOf => EditKind::StyleOf,
            Edit::RestyleLike { .. } => EditKind::RestyleLike,
            Edit::Outpaint { .. } => EditKind::Outpaint,
        }
    }
}

/// An operation on a take's art (before typography).
#[derive(Debug, Clone)]
pub struct EditRequest {
    /// The take's request: its model, prompt (with the style's words), negatives, aspect,
    /// style; `seed` is the NEW seed for this edit.
    pub base: ImageRequest,
    /// The seed the source art was drawn with (the offline generator re-derives its scene
    /// from it).
    pub source_seed: u32,
    /// The source art, exactly as stored (before any typography).
    pub source: Arc<tiny_skia::Pixmap>,
    pub edit: Edit,
}

/// What an edit call is billed as: the take's own model, or one of Stability's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priced {
    Model(ModelId),
    Service(Service),
}

impl From<ModelId> for Priced {
    fn from(model: ModelId) -> Self {
        Priced::Model(model)
    }
}

impl Priced {
    /// The model's or service's row of the [`catalog`].
    pub fn row(self) -> &'static catalog::Row {
        match self {
            Priced::Model(m) => m.row(),
            Priced::Service(s) => s.row(),
        }
    }
}

impl fmt::Display for Priced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Priced::Model(m) => m.fmt(f),
            Priced::Service(s) => s.fmt(f),
        }
    }
}

/// The configured models, by id. Built once at start and shared.
#[derive(Clone, Default)]
pub struct Models {
    by_id: HashMap<ModelId, Arc<dyn ImageModel>>,
    services: HashMap<Service, Arc<dyn ImageModel>>,
}

impl Models {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, id: ModelId, model: Arc<dyn ImageModel>) -> Self {
        self.by_id.insert(id, model);
        self
    }

    pub fn get(&self, id: ModelId) -> Option<&Arc<dyn ImageModel>> {
        self.by_id.get(&id)
    }

    /// Adds the client of one of Stability's image services.
    pub fn with_service(mut self, service: Service, model: Arc<dyn ImageModel>) -> Self {
        self.services.insert(service, model);
        self
    }

    /// Who makes an edit of `kind` to art `model` drew, and what the call is billed as:
    ///
    /// - Vary: the take's own model, if it can (a variation of Stability art by another model
    ///   would not be a variation of it); art of a retired model (Nova Canvas) by the first
    ///   offered Bedrock model configured here that varies art (SD3.5 image-to-image);
    /// - Replace: the take's own model if it can (offline), else Stability's Search and Replace
    ///   service when configured — which is also where a retired model's art goes;
    /// - Upscale: the matching upscale service when configured, whatever drew the art;
    /// - Recolor: like Replace, with Stability's Search and Recolor service.
    /// - Start from a picture: the take's own model if it can (offline, SD3.5), else the first
    ///   offered Bedrock model configured here that can (SD3.5 image-to-image);
    /// - In the style of / Restyle like a picture: the take's own model if it can (offline),
    ///   else Stability's Style Guide / Style Transfer service when configured.
    /// - Outpaint: Stability's Outpaint when configured, whatever drew the art (the offline
    ///   generator re-composes its own scenes instead, `offline::render_extended`).
    ///
    /// A retired model is never its own editor, even if something configured it.
    pub fn editor(&self, model: ModelId, kind: EditKind) -> Option<(Priced, &Arc<dyn ImageModel>)> {
        let own = self
            .by_id
            .get(&model)
            .filter(|_| model.is_offered())
            .filter(|m| m.can(kind))
            .map(|m| (Priced::Model(model), m));
        let heir = || {
            catalog::offered_models()
                .into_iter()
                .filter(|m| !model.is_offered() && m.bedrock_id().is_some())
                .find_map(|m| {
                    self.by_id
                        .get(&m)
                        .filter(|e| e.can(kind))
                        .map(|e| (Priced::Model(m), e))
                })
        };
        let service = |s: Service| {
            self.services
                .get(&s)
                .filter(|m| m.can(kind))
                .map(|m| (Priced::Service(s), m))
        };
        // Any offered Bedrock model that can, whatever drew the art (a picture someone uploads
        // is nobody's art, so no model's own variation of it is owed).
        let any_bedrock = || {
            catalog::offered_models()
                .into_iter()
                .filter(|m| m.bedrock_id().is_some())
                .find_map(|m| {
                    self.by_id
                        .get(&m)
                        .filter(|e| e.can(kind))
                        .map(|e| (Priced::Model(m), e))
                })
        };
        match kind {
            EditKind::Vary => own.or_else(heir),
            EditKind::Replace => own.or_else(|| service(Service::SearchReplace)),
            EditKind::Upscale(upscaler) => service(upscaler.service()),
            EditKind::Recolor => own.or_else(|| service(Service::SearchRecolor)),
            EditKind::StartFrom => own.or_else(any_bedrock),
            EditKind::StyleOf => own.or_else(|| service(Service::StyleGuide)),
            EditKind::RestyleLike => own.or_else(|| service(Service::StyleTransfer)),
            EditKind::Outpaint => service(Service::Outpaint),
        }
    }

    /// Whether `service` is configured here.
    pub fn has_service(&self, service: Service) -> bool {
        self.services.contains_key(&service)
    }

    /// Whether an edit of `kind` to `model`'s art can be made here.
    pub fn can(&self, model: ModelId, kind: EditKind) -> bool {
        self.editor(model, kind).is_some()
    }

    /// The models configured here that may be offered, in [`ModelId::ALL`]'s order.
    pub fn ids(&self) -> Vec<ModelId> {
        catalog::offered_models()
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
        // Still recognised, so records read and `--model nova` is refused by name.
        assert_eq!(ModelId::parse("NOVA"), Some(ModelId::NovaCanvas));
        assert!(!ModelId::short_names().contains(&"nova"));
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
            ModelError::Timeout,
            ModelError::Retired {
                model: Priced::Model(ModelId::NovaCanvas),
                detail: String::new(),
            },
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
        assert!(ModelError::Timeout.is_retryable());
        // A call Marquee gave up on was sent: Bedrock finishes and bills it, so a retry would
        // be a second paid image.
        let abandoned = ModelError::Abandoned { secs: 60 };
        assert!(!abandoned.is_retryable() && abandoned.may_be_billed());
        assert!(
            !ModelError::Retired {
                model: Priced::Model(ModelId::NovaCanvas),
                detail: String::new()
            }
            .is_retryable()
        );
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

    /// A model that claims exactly `kinds`.
    struct Claims(Vec<EditKind>);

    #[async_trait]
    impl ImageModel for Claims {
        async fn generate(&self, _: &ImageRequest) -> Result<GeneratedImage, ModelError> {
            Err(ModelError::Throttled)
        }
        fn can(&self, kind: EditKind) -> bool {
            self.0.contains(&kind)
        }
    }

    #[test]
    fn edits_go_to_the_takes_model_or_to_a_service() {
        let conservative = EditKind::Upscale(Upscaler::Conservative);
        let creative = EditKind::Upscale(Upscaler::Creative);
        let bare = Models::new()
            .with(ModelId::Offline, Arc::new(offline::OfflineModel))
            .with(ModelId::Sd35Large, Arc::new(Claims(vec![EditKind::Vary])))
            .with(ModelId::StableImageCore, Arc::new(Claims(vec![])))
            .with(
                ModelId::NovaCanvas,
                Arc::new(Claims(vec![EditKind::Vary, EditKind::Replace])),
            );
        let priced = |m: &Models, model, kind| m.editor(model, kind).map(|(p, _)| p);
        // Without services: only what the models do themselves.
        assert_eq!(
            priced(&bare, ModelId::Sd35Large, EditKind::Vary),
            Some(Priced::Model(ModelId::Sd35Large))
        );
        assert_eq!(
            priced(&bare, ModelId::StableImageCore, EditKind::Vary),
            None
        );
        assert_eq!(priced(&bare, ModelId::Sd35Large, EditKind::Replace), None);
        assert!(!bare.can(ModelId::Offline, conservative));
        assert!(bare.can(ModelId::Offline, EditKind::Replace));

        let services = bare
            .with_service(
                Service::SearchReplace,
                Arc::new(Claims(vec![EditKind::Replace])),
            )
            .with_service(Service::CreativeUpscale, Arc::new(Claims(vec![creative])));
        // Replace: the take's own model first (offline), then Search and Replace. Nova Canvas
        // is retired: even configured, it edits nothing; its art goes to the service.
        let replace = |m| priced(&services, m, EditKind::Replace);
        assert_eq!(
            replace(ModelId::Offline),
            Some(Priced::Model(ModelId::Offline))
        );
        assert_eq!(
            replace(ModelId::NovaCanvas),
            Some(Priced::Service(Service::SearchReplace))
        );
        // Vary of retired art: SD3.5 image-to-image; without SD3.5, nobody.
        assert_eq!(
            priced(&services, ModelId::NovaCanvas, EditKind::Vary),
            Some(Priced::Model(ModelId::Sd35Large))
        );
        assert_eq!(
            priced(
                &Models::new().with(ModelId::Offline, Arc::new(offline::OfflineModel)),
                ModelId::NovaCanvas,
                EditKind::Vary
            ),
            None,
            "offline art is not a variation of a Bedrock picture"
        );
        assert_eq!(
            replace(ModelId::Sd35Large),
            Some(Priced::Service(Service::SearchReplace))
        );
        assert_eq!(
            replace(ModelId::StableImageUltra),
            Some(Priced::Service(Service::SearchReplace)),
            "the service edits any art, whichever model drew it"
        );
        // Vary never goes to a service; upscales only to the configured upscaler.
        assert_eq!(
            priced(&services, ModelId::StableImageCore, EditKind::Vary),
            None
        );
        assert_eq!(
            priced(&services, ModelId::NovaCanvas, creative),
            Some(Priced::Service(Service::CreativeUpscale))
        );
        assert_eq!(priced(&services, ModelId::NovaCanvas, conservative), None);
        assert_eq!(
            Priced::Service(Service::CreativeUpscale).to_string(),
            "upscale-creative"
        );
        assert_eq!(Priced::Model(ModelId::Sd35Large).to_string(), "sd3.5");
    }

    /// Use a picture…: offline art stays offline (free); Bedrock art starts from a picture with
    /// SD3.5 image-to-image and takes a picture's style through Style Guide / Style Transfer.
    #[test]
    fn pictures_go_to_the_takes_model_or_to_the_picture_services() {
        let models = Models::new()
            .with(ModelId::Offline, Arc::new(offline::OfflineModel))
            .with(
                ModelId::Sd35Large,
                Arc::new(Claims(vec![EditKind::Vary, EditKind::StartFrom])),
            )
            .with(ModelId::StableImageCore, Arc::new(Claims(vec![])));
        let priced = |m: &Models, model, kind| m.editor(model, kind).map(|(p, _)| p);
        for kind in [
            EditKind::StartFrom,
            EditKind::StyleOf,
            EditKind::RestyleLike,
        ] {
            assert_eq!(
                priced(&models, ModelId::Offline, kind),
                Some(Priced::Model(ModelId::Offline))
            );
        }
        // Core cannot start from a picture; SD3.5 can, whoever drew the take.
        assert_eq!(
            priced(&models, ModelId::StableImageCore, EditKind::StartFrom),
            Some(Priced::Model(ModelId::Sd35Large))
        );
        // Without the services, no style from a picture for Bedrock art.
        assert_eq!(
            priced(&models, ModelId::StableImageCore, EditKind::StyleOf),
            None
        );
        let services = models
            .with_service(
                Service::StyleGuide,
                Arc::new(Claims(vec![EditKind::StyleOf])),
            )
            .with_service(
                Service::StyleTransfer,
                Arc::new(Claims(vec![EditKind::RestyleLike])),
            );
        assert_eq!(
            priced(&services, ModelId::Sd35Large, EditKind::StyleOf),
            Some(Priced::Service(Service::StyleGuide))
        );
        assert_eq!(
            priced(&services, ModelId::StableImageUltra, EditKind::RestyleLike),
            Some(Priced::Service(Service::StyleTransfer))
        );
        assert_eq!(Service::parse("style-guide"), Some(Service::StyleGuide));
        assert_eq!(
            Service::parse("us.stability.stable-style-transfer-v1:0"),
            Some(Service::StyleTransfer)
        );
    }

    #[test]
    fn edit_kinds_and_strengths_follow_the_docs_ranges() {
        for s in [Strength::Subtle, Strength::Strong] {
            assert!((0.0..=1.0).contains(&s.image_strength()));
            assert!((0.2..=1.0).contains(&s.similarity()));
        }
        assert!(Strength::Subtle.image_strength() < Strength::Strong.image_strength());
        assert!(Strength::Subtle.similarity() > Strength::Strong.similarity());
        assert_eq!(
            Edit::Upscale {
                upscaler: Upscaler::Creative
            }
            .kind(),
            EditKind::Upscale(Upscaler::Creative)
        );
        assert_eq!(Upscaler::parse(" Creative "), Some(Upscaler::Creative));
        assert_eq!(Upscaler::parse("none"), None);
        let e = ModelError::Unsupported { what: "x".into() };
        assert_eq!(e.kind(), "EditUnsupported");
        assert!(!e.is_retryable() && !e.may_be_billed());
    }
}
