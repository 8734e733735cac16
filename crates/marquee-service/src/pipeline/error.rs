//! Failures in words: [`PipelineError`], and `explain`, the one place a failure becomes a
//! headline and advice for people, with a [`Cause`] for doors that speak in status codes.

use uuid::Uuid;

use marquee_core::metrics::Failure;
use marquee_core::model::{FilterStage, ModelError, ModelId};
use marquee_core::poster::PosterError;
use marquee_core::state::StateError;
use marquee_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("model {0} is not configured here")]
    ModelNotConfigured(ModelId),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("could not compose the poster")]
    Poster(#[from] PosterError),
    #[error("could not store the poster")]
    Store(#[from] StoreError),
    #[error("could not take or check the poster's retake lock")]
    Lock(#[source] StateError),
    #[error("could not read or write durable state")]
    State(#[from] StateError),
    #[error("no public URL is known to serve poster links under")]
    NoPublicUrl,
    #[error("a rendering task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("ran out of time before the model answered")]
    OutOfTime,
    #[error("the job ran out of time before it finished")]
    Overran,
    #[error("poster {0} has no stored record")]
    UnknownPoster(Uuid),
    #[error("poster {0} has no stored art")]
    NoArt(Uuid),
    #[error("a poster record could not be read or written")]
    Record(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What kind of failure it was, for whoever turns it into a protocol's terms (the REST door's
/// status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The request cannot be served as asked (a filtered prompt, settings the model refuses).
    Refused,
    /// The request names something this deployment does not offer.
    NotOffered,
    /// The poster asked about is no longer kept.
    Gone,
    /// A service is busy or briefly unavailable: trying again later works.
    Busy,
    /// A service took too long.
    TimedOut,
    /// A service failed or refused us (access, configuration, a bad answer).
    Upstream,
    /// Marquee itself failed.
    Internal,
}

/// A failure in words: a headline, what to do, and what kind of failure it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explanation {
    pub(crate) headline: &'static str,
    pub(crate) advice: String,
    pub(crate) cause: Cause,
    /// A stable name for logs, metrics and Lambda's `errorType`.
    pub(crate) kind: &'static str,
}

impl PipelineError {
    /// Whether the image model may have billed for the work that ended in this error, so a
    /// poster's reservation is kept rather than refunded. Only the model call itself can fail
    /// unbilled: everything after it (composing, storing, recording) fails once the image was
    /// made and paid for.
    pub(crate) fn may_be_billed(&self) -> bool {
        match self {
            PipelineError::Model(m) => m.may_be_billed(),
            // Never called: no time was left to send it (a call abandoned once sent is
            // `ModelError::Abandoned`, billed).
            PipelineError::ModelNotConfigured(_) | PipelineError::OutOfTime => false,
            _ => true,
        }
    }

    /// The failure's kind for the `Failure` metric: the few kinds an operator acts on
    /// differently (docs/INSTALL.md, "Operating Marquee").
    pub(crate) fn failure(&self) -> Failure {
        match self {
            PipelineError::Model(m) => match m {
                ModelError::Filtered { .. } => Failure::Filtered,
                ModelError::Throttled | ModelError::QuotaExceeded { .. } => Failure::Throttled,
                ModelError::Timeout | ModelError::Abandoned { .. } => Failure::Timeout,
                ModelError::AccessDenied { .. }
                | ModelError::NotInRegion { .. }
                | ModelError::Retired { .. } => Failure::Access,
                ModelError::Unavailable { .. }
                | ModelError::Invalid { .. }
                | ModelError::Malformed { .. }
                | ModelError::Other(_)
                | ModelError::Unsupported { .. } => Failure::Other,
            },
            PipelineError::OutOfTime | PipelineError::Overran => Failure::Timeout,
            PipelineError::ModelNotConfigured(_)
            | PipelineError::Poster(_)
            | PipelineError::Store(_)
            | PipelineError::Lock(_)
            | PipelineError::State(_)
            | PipelineError::NoPublicUrl
            | PipelineError::Task(_)
            | PipelineError::UnknownPoster(_)
            | PipelineError::NoArt(_)
            | PipelineError::Record(_) => Failure::Other,
        }
    }

    /// What the requester is told. User-caused problems say how to fix them; service problems
    /// say when to try again; configuration problems say to ask the admin.
    pub(crate) fn explain(&self) -> Explanation {
        let e = |headline, advice: &str, cause, kind| Explanation {
            headline,
            advice: advice.to_owned(),
            cause,
            kind,
        };
        match self {
            PipelineError::Model(m) => match m {
                ModelError::Filtered {
                    stage: FilterStage::Prompt,
                    ..
                } => e(
                    "The image model's safety filter declined this description.",
                    "Try rephrasing it — describe the scene without graphic or sensitive details. Nothing was charged for the blocked request.",
                    Cause::Refused,
                    m.kind(),
                ),
                ModelError::Filtered {
                    stage: FilterStage::Output,
                    ..
                } => e(
                    "The image model's safety filter blocked the picture it made.",
                    "Run the same command again for a new seed, or soften the description.",
                    Cause::Refused,
                    m.kind(),
                ),
                ModelError::Throttled => e(
                    "The image model is busy right now (too many requests).",
                    "Please try again in a minute.",
                    Cause::Busy,
                    m.kind(),
                ),
                ModelError::Unavailable { .. } => e(
                    "The image model is having trouble right now.",
                    "Please try again in a few minutes.",
                    Cause::Busy,
                    m.kind(),
                ),
                ModelError::Timeout => e(
                    "The image model took too long to answer.",
                    "Please try again; a shorter description or `--model core` is usually faster.",
                    Cause::TimedOut,
                    m.kind(),
                ),
                // Marquee stopped waiting, but Bedrock finishes (and bills) the call: it is
                // counted, and said so, and not tried again behind the user's back.
                ModelError::Abandoned { .. } => e(
                    "The image model didn't answer in time, so Marquee stopped waiting.",
                    "Amazon Bedrock may still have made (and billed) that image, so it counts toward this workspace's limits. Please try again in a minute; `--model core` is usually faster.",
                    Cause::TimedOut,
                    m.kind(),
                ),
                // The model is gone for good: neither the region nor model access will bring it
                // back, so the advice names what to choose instead, from the catalog.
                ModelError::Retired { model, .. } => e(
                    "That image model has been retired by Amazon Bedrock.",
                    &format!(
                        "{} {}. Try another `--model` (`/poster help` lists them); your Marquee admin should replace it with one of: {} (see docs/INSTALL.md).",
                        model.row().display_name,
                        retired_words(model.row()),
                        marquee_core::model::catalog::replacements()
                    ),
                    Cause::Upstream,
                    m.kind(),
                ),
                // Configuration, not the request: the advice names the admin and never the
                // user's settings, and says which region was called so the admin can act.
                ModelError::AccessDenied { region, .. } => e(
                    "This workspace's AWS account can't use that image model yet.",
                    &format!(
                        "Ask your Marquee admin to enable model access in Amazon Bedrock in {region} (see docs/INSTALL.md), or try another `--model`."
                    ),
                    Cause::Upstream,
                    m.kind(),
                ),
                ModelError::NotInRegion { region, .. } => e(
                    "That image model is not available in the AWS region Marquee calls it in.",
                    &format!(
                        "Amazon Bedrock does not serve it in {region}. Ask your Marquee admin to set the model's region (see docs/INSTALL.md), or try another `--model`."
                    ),
                    Cause::Upstream,
                    m.kind(),
                ),
                ModelError::QuotaExceeded { .. } => e(
                    "This AWS account has reached its image-model quota.",
                    "Try again later, or ask your Marquee admin to raise the Bedrock quota.",
                    Cause::Busy,
                    m.kind(),
                ),
                ModelError::Invalid { .. } => e(
                    "The image model refused these settings.",
                    "Try a different `--ar` or `--model`; if it keeps happening, tell your Marquee admin.",
                    Cause::Refused,
                    m.kind(),
                ),
                // `what` is written for people by the model layer ("the offline generator can
                // only change things named in the description", "... cannot upscale art").
                ModelError::Unsupported { what } => e(
                    "Marquee can't make that change to this poster.",
                    &format!(
                        "{}{}. Nothing was charged. Try a different change, or a new poster with another `--model`.",
                        what.chars()
                            .take(1)
                            .flat_map(char::to_uppercase)
                            .collect::<String>(),
                        what.chars().skip(1).collect::<String>()
                    ),
                    Cause::Refused,
                    m.kind(),
                ),
                ModelError::Malformed { .. } | ModelError::Other(_) => e(
                    "Something went wrong while generating the poster.",
                    "Please try again; if it keeps happening, tell your Marquee admin.",
                    Cause::Upstream,
                    m.kind(),
                ),
            },
            PipelineError::OutOfTime => e(
                "The image model took too long to answer.",
                "Please try again in a minute.",
                Cause::TimedOut,
                "OutOfTime",
            ),
            PipelineError::Overran => e(
                "Marquee ran out of time before your poster was finished.",
                "Slack or storage was unusually slow. If the poster doesn't appear in a minute, please try again.",
                Cause::TimedOut,
                "Overran",
            ),
            // A poster of a retired model asked for new art of its own (Regenerate, Restyle):
            // say why, and what to use, rather than that the model was never set up.
            PipelineError::ModelNotConfigured(model) if !model.is_offered() => e(
                "That image model has been retired by Amazon Bedrock.",
                &format!(
                    "{} {}, so this poster can't get new art from it. Make a new poster with another `--model` (`/poster help` lists them); 🎞️ Vary and 🖌️ Change a detail still work on it.",
                    model.display_name(),
                    model.row().lifecycle_words()
                ),
                Cause::NotOffered,
                "ModelRetired",
            ),
            PipelineError::ModelNotConfigured(_) => e(
                "That model isn't set up on this Marquee.",
                "Type `/poster help` to see the models you can use.",
                Cause::NotOffered,
                "ModelNotConfigured",
            ),
            PipelineError::Store(_) => e(
                "The poster was made but could not be saved.",
                "Please try again; if it keeps happening, tell your Marquee admin (storage).",
                Cause::Upstream,
                "StoreFailed",
            ),
            PipelineError::Lock(_) => e(
                "Marquee couldn't start a new take of this poster.",
                "Nothing was generated or charged. Please click again in a moment; if it keeps happening, tell your Marquee admin (storage).",
                Cause::Busy,
                "LockFailed",
            ),
            PipelineError::State(_) => e(
                "Marquee couldn't reach its records just now.",
                "Nothing was generated or charged. Please try again in a moment; if it keeps happening, tell your Marquee admin (state table).",
                Cause::Busy,
                "StateFailed",
            ),
            PipelineError::NoPublicUrl => e(
                "Marquee doesn't know its own address, so it can't link to the poster.",
                "Tell your Marquee admin to set MARQUEE_PUBLIC_URL.",
                Cause::Internal,
                "NoPublicUrl",
            ),
            PipelineError::UnknownPoster(_) => e(
                "Marquee no longer has that poster's details.",
                "Its record may have passed the retention period; start a new one with `/poster`.",
                Cause::Gone,
                "UnknownPoster",
            ),
            PipelineError::NoArt(_) => e(
                "This poster's art wasn't kept, so its words can't be re-set or a detail changed.",
                "It was made before Marquee kept each take's art, or its art has passed the retention period. Use 🎲 Regenerate for a new take with the same words, then edit that one.",
                Cause::Gone,
                "NoArt",
            ),
            PipelineError::Record(_) => e(
                "Marquee couldn't read that poster's details.",
                "Please try again; if it keeps happening, tell your Marquee admin (storage).",
                Cause::Upstream,
                "RecordFailed",
            ),
            PipelineError::Poster(_) | PipelineError::Task(_) => e(
                "Something went wrong while composing the poster.",
                "Please try again; if it keeps happening, tell your Marquee admin.",
                Cause::Internal,
                "ComposeFailed",
            ),
        }
    }
}

/// A retired model's lifecycle in words: its catalog dates when the catalog knows it is
/// retired, else what Bedrock's answer says.
fn retired_words(row: &marquee_core::model::catalog::Row) -> String {
    match (row.lifecycle.status, row.lifecycle.end_of_life) {
        (marquee_core::model::catalog::Status::Active, _) | (_, None) => {
            "is marked Legacy or past its end of life by Amazon Bedrock".to_owned()
        }
        _ => row.lifecycle_words(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_explains_itself_distinctly() {
        let errors = [
            PipelineError::Model(ModelError::Filtered {
                stage: FilterStage::Prompt,
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::Filtered {
                stage: FilterStage::Output,
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::Throttled),
            PipelineError::Model(ModelError::Timeout),
            PipelineError::Model(ModelError::Abandoned { secs: 60 }),
            PipelineError::Model(ModelError::Retired {
                model: marquee_core::model::Priced::Model(ModelId::NovaCanvas),
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::AccessDenied {
                region: "us-west-2".into(),
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::NotInRegion {
                region: "us-west-2".into(),
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::Invalid {
                detail: String::new(),
            }),
            PipelineError::Model(ModelError::QuotaExceeded {
                detail: String::new(),
            }),
        ];
        let headlines: std::collections::HashSet<_> =
            errors.iter().map(|e| e.explain().headline).collect();
        assert_eq!(headlines.len(), errors.len());
        for e in &errors {
            let x = e.explain();
            assert!(!x.advice.is_empty() && x.advice.ends_with('.'), "{x:?}");
        }
    }

    /// The failure kinds, from the errors that make them.
    #[test]
    fn failures_are_counted_by_the_kind_an_operator_acts_on() {
        let kind = |e: PipelineError| e.failure();
        assert_eq!(
            kind(PipelineError::Model(ModelError::Filtered {
                stage: FilterStage::Output,
                detail: String::new(),
            })),
            Failure::Filtered
        );
        assert_eq!(
            kind(PipelineError::Model(ModelError::Throttled)),
            Failure::Throttled
        );
        assert_eq!(
            kind(PipelineError::Model(ModelError::Timeout)),
            Failure::Timeout
        );
        assert_eq!(kind(PipelineError::Overran), Failure::Timeout);
        assert_eq!(
            kind(PipelineError::Model(ModelError::AccessDenied {
                region: "us-west-2".into(),
                detail: String::new(),
            })),
            Failure::Access
        );
        assert_eq!(kind(PipelineError::NoPublicUrl), Failure::Other);
    }

    /// A model called in a region that does not serve it is the admin's to fix: the message
    /// names the region and never sends the user after their `--ar`.
    #[test]
    fn a_model_outside_its_region_is_explained_as_configuration() {
        let x = PipelineError::Model(ModelError::NotInRegion {
            region: "us-west-2".into(),
            detail: "The provided model identifier is invalid.".into(),
        })
        .explain();
        assert!(x.headline.contains("not available"), "{x:?}");
        assert!(
            x.advice.contains("us-west-2") && x.advice.contains("admin"),
            "{x:?}"
        );
        assert!(!x.advice.contains("--ar"), "{x:?}");
        assert_eq!(x.kind, "ModelNotInRegion");
    }

    /// A retired model is not a region problem: the words say "retired", name the end-of-life
    /// date from the catalog and what to choose instead, and never send the admin to redeploy
    /// in another region.
    #[test]
    fn a_retired_model_is_explained_with_what_to_choose_instead() {
        let x = PipelineError::Model(ModelError::Retired {
            model: marquee_core::model::Priced::Model(ModelId::NovaCanvas),
            detail: "This model version has reached the end of its life.".into(),
        })
        .explain();
        assert!(x.headline.contains("retired"), "{x:?}");
        assert!(x.advice.contains("Amazon Nova Canvas"), "{x:?}");
        assert!(x.advice.contains("2026-09-30"), "{x:?}");
        assert!(x.advice.contains("sd3.5, core, ultra"), "{x:?}");
        assert!(!x.advice.contains("region"), "{x:?}");
        assert_eq!(x.kind, "ModelRetired");
        assert!(
            !PipelineError::Model(ModelError::Retired {
                model: marquee_core::model::Priced::Model(ModelId::NovaCanvas),
                detail: String::new(),
            })
            .may_be_billed()
        );
    }

    /// Regenerate on a poster of a retired model: told it is retired, not "not set up".
    #[test]
    fn new_art_from_a_retired_model_is_explained_as_retired() {
        let x = PipelineError::ModelNotConfigured(ModelId::NovaCanvas).explain();
        assert!(x.headline.contains("retired"), "{x:?}");
        assert!(x.advice.contains("2026-09-30"), "{x:?}");
        let x = PipelineError::ModelNotConfigured(ModelId::StableImageUltra).explain();
        assert!(x.headline.contains("isn't set up"), "{x:?}");
    }

    /// A call Marquee stopped waiting for is counted as billed and the user is told so.
    #[test]
    fn an_abandoned_call_is_billed_and_explained() {
        let e = PipelineError::Model(ModelError::Abandoned { secs: 60 });
        assert!(e.may_be_billed());
        let x = e.explain();
        assert!(x.headline.contains("stopped waiting"), "{x:?}");
        assert!(x.advice.contains("billed"), "{x:?}");
        assert_eq!(x.cause, Cause::TimedOut);
        assert!(!PipelineError::OutOfTime.may_be_billed(), "never sent");
    }
}
