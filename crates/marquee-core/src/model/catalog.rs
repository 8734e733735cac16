//! The model catalog: every fact Marquee holds about each model and image service it knows,
//! one row each — Bedrock id, family, regions, price, what it can draw and edit, how long one
//! call may take, and where it stands in Bedrock's model lifecycle (with the source and dates).
//!
//! Adding or retiring a model is one row here (and, for a new model, its [`ModelId`] variant,
//! which records name in JSON). Everything else reads the row: the names users type, the help
//! card, the price, the region a family defaults to, which edits a model is asked for, each
//! call's timeout, `marquee doctor`'s lifecycle check, and the drift test that holds
//! `template.yaml`'s allowed values and IAM ARNs to this table (`tests/it/deploy.rs`).
//!
//! A retired model keeps its row: posters it drew are still read, and their edits go to a
//! model that is offered ([`crate::model::Models::editor`]).

use std::time::Duration;

use super::{EditKind, Family, ModelId, Priced, Service, Upscaler};

/// Where a model stands in Bedrock's lifecycle (Amazon Bedrock user guide, "Model lifecycle":
/// Active, then Legacy — still callable by accounts that use it, closed to new ones — then end
/// of life, after which InvokeModel refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Callable for now; offered, but `marquee doctor` warns with the end-of-life date.
    Legacy,
    /// Past its end of life: never offered, never called.
    Retired,
}

/// A row's lifecycle, with the dates (ISO 8601) and the page they were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Status,
    /// When the model went Legacy.
    pub(crate) legacy_on: Option<&'static str>,
    /// When Bedrock stops serving it.
    pub end_of_life: Option<&'static str>,
    /// Where the status and dates were read.
    pub source: &'static str,
}

/// AWS's lifecycle page for models launched before 2026-09-07 (Legacy and end-of-life dates).
const LIFECYCLE_LEGACY_PAGE: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html";
/// AWS's lifecycle page for the policy in force (Active models have no published EOL date).
const LIFECYCLE_PAGE: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html";

const ACTIVE: Lifecycle = Lifecycle {
    status: Status::Active,
    legacy_on: None,
    end_of_life: None,
    source: LIFECYCLE_PAGE,
};

/// One model or image service, as Marquee knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// What a call is billed as (and the key records use).
    pub(crate) key: Priced,
    /// The foundation-model id; `None` for the offline generator.
    pub bedrock_id: Option<&'static str>,
    /// The id InvokeModel is called with, when it differs from `bedrock_id` (the services'
    /// US cross-region inference profile).
    pub(crate) profile_id: Option<&'static str>,
    /// The name users type after `--model` and admins use in configuration.
    pub(crate) short_name: &'static str,
    pub display_name: &'static str,
    pub(crate) family: Family,
    /// Regions Bedrock serves it in on demand, the default first (docs/INSTALL.md, section 2,
    /// cites the model cards). For a service, the regions its profile routes to.
    pub(crate) regions: &'static [&'static str],
    /// The list price of one image or call in micro-dollars (see `price_note`).
    pub(crate) price_micros: i64,
    /// Whether the price is confirmed in a stored AWS source or assumed.
    pub(crate) price_note: &'static str,
    /// Whether it draws new art from a description.
    pub(crate) text_to_image: bool,
    /// The edits it makes itself, per its Bedrock page.
    pub edits: &'static [EditKind],
    /// The largest seed it accepts.
    pub(crate) max_seed: u32,
    /// How long one call may take before Marquee gives up on it. A call given up on is counted
    /// as billed (Bedrock finishes and bills it) and never retried, so this errs long.
    ///
    /// No AWS or Stability page found states a latency for these models on Bedrock.
    /// Text-to-image and Search and Replace get 60 s, botocore's default read timeout, which the
    /// Bedrock user guide's Python examples call these models with. Stability's own API runs
    /// Creative Upscale asynchronously (start, then poll no more than once every 10 s), so a
    /// synchronous upscale to about 4K on Bedrock is given 90 s (conservative) and 120 s
    /// (creative) — ASSUMED, and inside the function's 180 s with room to deliver.
    pub call_timeout: Duration,
    pub lifecycle: Lifecycle,
}

const STABILITY_MAX_SEED: u32 = 4_294_967_294;
const DRAW: Duration = Duration::from_secs(60);

/// Marquee's own generator: free, offline, always active.
pub(crate) static OFFLINE: Row = Row {
    key: Priced::Model(ModelId::Offline),
    bedrock_id: None,
    profile_id: None,
    short_name: "offline",
    display_name: "Marquee offline",
    family: Family::Offline,
    regions: &[],
    price_micros: 0,
    price_note: "drawn by the function itself",
    text_to_image: true,
    edits: &[EditKind::Vary, EditKind::Replace, EditKind::Recolor],
    max_seed: u32::MAX,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

pub(crate) static SD35_LARGE: Row = Row {
    key: Priced::Model(ModelId::Sd35Large),
    bedrock_id: Some("stability.sd3-5-large-v1:0"),
    profile_id: None,
    short_name: "sd3.5",
    display_name: "Stable Diffusion 3.5 Large",
    family: Family::Stability,
    regions: &["us-west-2"],
    price_micros: 80_000,
    price_note: "ASSUMED: the project's long-standing list price",
    text_to_image: true,
    // Image-to-image (`mode`, `image`, `strength`), per its Bedrock parameter page: a variation
    // of a take, or a start from an uploaded picture.
    edits: &[EditKind::Vary, EditKind::StartFrom],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

pub(crate) static STABLE_IMAGE_CORE: Row = Row {
    key: Priced::Model(ModelId::StableImageCore),
    bedrock_id: Some("stability.stable-image-core-v1:1"),
    profile_id: None,
    short_name: "core",
    display_name: "Stable Image Core",
    family: Family::Stability,
    regions: &["us-west-2"],
    price_micros: 40_000,
    price_note: "AWS Marketplace rate card, us-west-2, per output image",
    text_to_image: true,
    edits: &[],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

pub(crate) static STABLE_IMAGE_ULTRA: Row = Row {
    key: Priced::Model(ModelId::StableImageUltra),
    bedrock_id: Some("stability.stable-image-ultra-v1:1"),
    profile_id: None,
    short_name: "ultra",
    display_name: "Stable Image Ultra",
    family: Family::Stability,
    regions: &["us-west-2"],
    price_micros: 140_000,
    price_note: "AWS Marketplace rate card, us-west-2, per output image",
    text_to_image: true,
    edits: &[],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

/// Legacy on 2026-03-30, end of life on 2026-09-30 (AWS's lifecycle page for models launched
/// before 2026-09-07; /work/shared/reference/BEDROCK.md, "Lifecycle"). Bedrock now answers it
/// with `ResourceNotFoundException: This model version has reached the end of its life.`
pub(crate) static NOVA_CANVAS: Row = Row {
    key: Priced::Model(ModelId::NovaCanvas),
    bedrock_id: Some("amazon.nova-canvas-v1:0"),
    profile_id: None,
    short_name: "nova",
    display_name: "Amazon Nova Canvas",
    family: Family::Nova,
    regions: &["us-east-1", "eu-west-1", "ap-northeast-2"],
    price_micros: 40_000,
    price_note: "ASSUMED: standard quality up to 1024x1024",
    text_to_image: true,
    edits: &[EditKind::Vary, EditKind::Replace],
    max_seed: 858_993_459,
    call_timeout: DRAW,
    lifecycle: Lifecycle {
        status: Status::Retired,
        legacy_on: Some("2026-03-30"),
        end_of_life: Some("2026-09-30"),
        source: LIFECYCLE_LEGACY_PAGE,
    },
};

/// The services' prices are ASSUMED: Stability AI's own platform prices at US$0.01 per credit
/// (Search and Replace 4 credits, Outpaint 4, Conservative Upscale 40, Creative Upscale 60).
const SERVICE_PRICE_NOTE: &str = "ASSUMED: Stability AI platform credits at US$0.01";

pub(crate) static SEARCH_REPLACE: Row = Row {
    key: Priced::Service(Service::SearchReplace),
    bedrock_id: Some("stability.stable-image-search-replace-v1:0"),
    profile_id: Some("us.stability.stable-image-search-replace-v1:0"),
    short_name: "search-replace",
    display_name: "Stable Image Search and Replace",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 40_000,
    price_note: SERVICE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::Replace],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

/// Stable Image Outpaint (Formats… of a Bedrock take). Model id and profile: the Bedrock user
/// guide's "Stability AI models" page, "Supported models and image services" (Stable Image
/// Outpaint, `stability.stable-outpaint-v1:0`, invoked as `us.stability.stable-outpaint-v1:0`
/// like every image service; DOC: the Outpaint examples on "Stability AI Image Services",
/// stable-image-services.html, call that profile from us-east-1), served from the profile's US
/// regions. Price ASSUMED as the other
/// services: Stability AI's platform charges 4 credits per Outpaint; a third-party table lists
/// US$0.06 on Bedrock (/work/shared/reference/BEDROCK.md), so admins should check their region's
/// pricing page and set `MARQUEE_MODEL_PRICES=outpaint=…`.
pub(crate) static OUTPAINT: Row = Row {
    key: Priced::Service(Service::Outpaint),
    bedrock_id: Some("stability.stable-outpaint-v1:0"),
    profile_id: Some("us.stability.stable-outpaint-v1:0"),
    short_name: "outpaint",
    display_name: "Stable Image Outpaint",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 40_000,
    price_note: SERVICE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::Outpaint],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

pub(crate) static CONSERVATIVE_UPSCALE: Row = Row {
    key: Priced::Service(Service::ConservativeUpscale),
    bedrock_id: Some("stability.stable-conservative-upscale-v1:0"),
    profile_id: Some("us.stability.stable-conservative-upscale-v1:0"),
    short_name: "upscale-conservative",
    display_name: "Stable Image Conservative Upscale",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 400_000,
    price_note: SERVICE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::Upscale(Upscaler::Conservative)],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: Duration::from_secs(90),
    lifecycle: ACTIVE,
};

pub(crate) static CREATIVE_UPSCALE: Row = Row {
    key: Priced::Service(Service::CreativeUpscale),
    bedrock_id: Some("stability.stable-creative-upscale-v1:0"),
    profile_id: Some("us.stability.stable-creative-upscale-v1:0"),
    short_name: "upscale-creative",
    display_name: "Stable Image Creative Upscale",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 600_000,
    price_note: SERVICE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::Upscale(Upscaler::Creative)],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: Duration::from_secs(120),
    lifecycle: ACTIVE,
};

/// Search and Recolor ("Stability AI Image Services", Edit): the model id and its `us.` profile
/// as the Bedrock user guide's model card lists them (stable-image-services.html; the profile as
/// public Bedrock callers invoke it). Priced like the other edit services: ASSUMED, Stability's
/// platform lists Search and Recolor at 5 credits (US$0.05); set MARQUEE_MODEL_PRICES if AWS's
/// rate differs.
pub(crate) static SEARCH_RECOLOR: Row = Row {
    key: Priced::Service(Service::SearchRecolor),
    bedrock_id: Some("stability.stable-image-search-recolor-v1:0"),
    profile_id: Some("us.stability.stable-image-search-recolor-v1:0"),
    short_name: "search-recolor",
    display_name: "Stable Image Search and Recolor",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 50_000,
    price_note: SERVICE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::Recolor],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

/// The picture services' prices are ASSUMED from third-party price tables of Stability's image
/// services on Bedrock (most control tools US$0.07, Style Transfer US$0.08;
/// /work/shared/reference/BEDROCK.md), not yet read on AWS's pricing page.
const PICTURE_PRICE_NOTE: &str = "ASSUMED: third-party tables of Bedrock's Stability prices";

/// Stable Image Style Guide ("Stability AI Image Services" on Bedrock, Control): new art from a
/// prompt in the style of `image`. Ids as every public caller invokes it, through the `us.`
/// profile (us-east-1, us-east-2, us-west-2).
pub(crate) static STYLE_GUIDE: Row = Row {
    key: Priced::Service(Service::StyleGuide),
    bedrock_id: Some("stability.stable-image-style-guide-v1:0"),
    profile_id: Some("us.stability.stable-image-style-guide-v1:0"),
    short_name: "style-guide",
    display_name: "Stable Image Style Guide",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 70_000,
    price_note: PICTURE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::StyleOf],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

/// Stable Style Transfer (same page, Control): `init_image` restyled like `style_image`.
pub(crate) static STYLE_TRANSFER: Row = Row {
    key: Priced::Service(Service::StyleTransfer),
    bedrock_id: Some("stability.stable-style-transfer-v1:0"),
    profile_id: Some("us.stability.stable-style-transfer-v1:0"),
    short_name: "style-transfer",
    display_name: "Stable Style Transfer",
    family: Family::Stability,
    regions: &Service::PROFILE_REGIONS,
    price_micros: 80_000,
    price_note: PICTURE_PRICE_NOTE,
    text_to_image: false,
    edits: &[EditKind::RestyleLike],
    max_seed: STABILITY_MAX_SEED,
    call_timeout: DRAW,
    lifecycle: ACTIVE,
};

/// Every row, models first in [`ModelId::ALL`]'s order, then the services.
pub static CATALOG: [&Row; 12] = [
    &OFFLINE,
    &SD35_LARGE,
    &STABLE_IMAGE_CORE,
    &STABLE_IMAGE_ULTRA,
    &NOVA_CANVAS,
    &SEARCH_REPLACE,
    &OUTPAINT,
    &CONSERVATIVE_UPSCALE,
    &CREATIVE_UPSCALE,
    &SEARCH_RECOLOR,
    &STYLE_GUIDE,
    &STYLE_TRANSFER,
];

impl Row {
    /// Whether the model may be offered and called.
    pub fn is_offered(&self) -> bool {
        self.lifecycle.status != Status::Retired
    }

    /// The id InvokeModel is called with.
    pub(crate) fn invoke_id(&self) -> Option<&'static str> {
        self.profile_id.or(self.bedrock_id)
    }

    /// Whether it makes edits of `kind` itself.
    pub(crate) fn can(&self, kind: EditKind) -> bool {
        self.edits.contains(&kind)
    }

    /// The lifecycle in words for people: "reached end of life on 2026-09-30", "Legacy since
    /// 2026-03-30, end of life on …", or "active".
    pub fn lifecycle_words(&self) -> String {
        let eol = self.lifecycle.end_of_life;
        match self.lifecycle.status {
            Status::Active => "active".to_owned(),
            Status::Retired => match eol {
                Some(date) => format!("reached end of life on Amazon Bedrock on {date}"),
                None => "has reached end of life on Amazon Bedrock".to_owned(),
            },
            Status::Legacy => match (self.lifecycle.legacy_on, eol) {
                (Some(since), Some(date)) => {
                    format!("Legacy since {since}; end of life on {date}")
                }
                (None, Some(date)) => format!("Legacy; end of life on {date}"),
                _ => "Legacy; end-of-life date not yet in this release's catalog".to_owned(),
            },
        }
    }
}

/// The models users may be offered, in [`ModelId::ALL`]'s order.
pub fn offered_models() -> Vec<ModelId> {
    ModelId::ALL
        .into_iter()
        .filter(|m| m.row().is_offered())
        .collect()
}

/// What to choose instead of a retired model: the offered Bedrock models that draw from a
/// description, as short names (`sd3.5, core, ultra`).
pub fn replacements() -> String {
    offered_models()
        .into_iter()
        .filter(|m| m.row().bedrock_id.is_some() && m.row().text_to_image)
        .map(|m| m.row().short_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row for a foundation-model id or profile id, case-insensitively.
pub fn by_bedrock_id(id: &str) -> Option<&'static Row> {
    CATALOG.into_iter().find(|r| {
        [r.bedrock_id, r.profile_id]
            .into_iter()
            .flatten()
            .any(|i| i.eq_ignore_ascii_case(id.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each model and service has exactly one row, and the row is the one its key names.
    #[test]
    fn every_model_and_service_has_one_row() {
        for m in ModelId::ALL {
            let rows: Vec<_> = CATALOG
                .iter()
                .filter(|r| r.key == Priced::Model(m))
                .collect();
            assert_eq!(rows.len(), 1, "{m}");
            assert_eq!(m.row().key, Priced::Model(m));
        }
        for s in Service::ALL {
            assert_eq!(
                CATALOG
                    .iter()
                    .filter(|r| r.key == Priced::Service(s))
                    .count(),
                1
            );
            assert_eq!(s.row().key, Priced::Service(s));
        }
        assert_eq!(CATALOG.len(), ModelId::ALL.len() + Service::ALL.len());
        let mut names: Vec<_> = CATALOG.iter().map(|r| r.short_name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len(), "short names are unique");
    }

    #[test]
    fn nova_canvas_is_retired_with_its_dates_and_source() {
        let nova = ModelId::NovaCanvas.row();
        assert_eq!(nova.lifecycle.status, Status::Retired);
        assert_eq!(nova.lifecycle.legacy_on, Some("2026-03-30"));
        assert_eq!(nova.lifecycle.end_of_life, Some("2026-09-30"));
        assert!(
            nova.lifecycle
                .source
                .starts_with("https://docs.aws.amazon.com/")
        );
        assert!(!offered_models().contains(&ModelId::NovaCanvas));
        assert_eq!(replacements(), "sd3.5, core, ultra");
        assert!(nova.lifecycle_words().contains("2026-09-30"));
        // Every Bedrock row says where its lifecycle was read; retired rows say when.
        for row in CATALOG {
            assert!(row.lifecycle.source.starts_with("https://"), "{row:?}");
            if row.lifecycle.status == Status::Retired {
                assert!(row.lifecycle.end_of_life.is_some(), "{row:?}");
            }
        }
    }

    #[test]
    fn upscales_get_longer_than_drawing_and_ids_resolve() {
        assert!(Service::CreativeUpscale.row().call_timeout > SD35_LARGE.call_timeout);
        assert!(Service::ConservativeUpscale.row().call_timeout > SD35_LARGE.call_timeout);
        assert_eq!(
            by_bedrock_id("us.stability.stable-creative-upscale-v1:0").map(|r| r.key),
            Some(Priced::Service(Service::CreativeUpscale))
        );
        assert_eq!(
            by_bedrock_id("AMAZON.nova-canvas-v1:0").map(|r| r.key),
            Some(Priced::Model(ModelId::NovaCanvas))
        );
        assert_eq!(by_bedrock_id("offline"), None);
    }
}
