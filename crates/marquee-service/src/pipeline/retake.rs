//! Retakes: another take on a stored poster, one at a time per poster. Every take remembers
//! its parent and how it was made from it; takes that change only the words are set over the
//! parent's own art, with no model call and no charge.

use tokio::time::Instant;
use uuid::Uuid;

use super::metering::Reserved;
use super::{Art, ArtPlan, Outcome, Pipeline, PipelineError, Take};
use marquee_core::job::{Change, Job, Lineage, PictureUse, PosterRecord, PosterSpec};
use marquee_core::model::{Edit, ModelError, Priced};
use marquee_core::slack::{blocks, modal};

/// One take a change asks for: its spec, a note for its message, how its art is made, and
/// what that is billed as (`None`: free, no model call).
struct Planned {
    spec: PosterSpec,
    note: Option<String>,
    art: ArtPlan,
    billed: Option<Priced>,
}

impl Pipeline {
    /// Another take on a stored poster. One take per poster runs at a time: a second click
    /// while one is running is told so instead of paying for a duplicate.
    pub(super) async fn retake(
        &self,
        job: &Job,
        source: Uuid,
        change: &Change,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let record = self
            .records
            .record(source)
            .await
            .map_err(|e| (e, String::new()))?;
        if let Some(why) = self.outsider(&record, &job.requester) {
            tracing::info!(%source, "retake refused: the clicker is outside the poster's workspace");
            return self
                .tell_clicker(job, &blocks::note_to_clicker(why), "ExternalUser")
                .await;
        }
        let description = record.spec.description.clone();
        let locked = self.retake_locked(job, &record, change, deadline);
        let not_started = "Your new take wasn't started";
        self.under_poster_lock(job, source, &description, not_started, locked)
            .await
    }

    async fn retake_locked(
        &self,
        job: &Job,
        record: &PosterRecord,
        change: &Change,
        deadline: Option<Instant>,
    ) -> Result<Outcome, (PipelineError, String)> {
        let response_url = job.reply_to.slack_url();
        let description = record.spec.description.clone();
        let takes = self
            .plan(record, change)
            .await
            .map_err(|e| (e, description.clone()))?;

        // Every paid take is reserved before any is drawn: a click for two variations with one
        // poster left is refused whole rather than half made. The takes of one change are all
        // billed alike.
        let billed = takes.iter().find_map(|t| t.billed);
        let paid = takes.iter().filter(|t| t.billed.is_some()).count() as i64;
        let reserved = match billed {
            Some(priced) => self.metering.reserve(&job.requester, priced, paid).await,
            None => Ok(Reserved::Free),
        };
        let mut reservation = match reserved {
            Ok(Reserved::Free) => None,
            Ok(Reserved::Taken(r)) => Some(r),
            Ok(Reserved::Refused(refusal)) => return Ok(self.tell_over_limit(job, &refusal).await),
            Err(e) => return Err((e, description)),
        };

        let working = match change {
            Change::Regenerate => "🎲 Regenerating with a new seed…".to_owned(),
            Change::Variations { count } => format!("🎞️ Making {count} variations…"),
            Change::Restyle { style } => format!("🎨 Restyling as {style}…"),
            Change::EditWords { .. } => "✏️ Setting the new words over the same art…".to_owned(),
            Change::Vary { .. } => "🎞️ Varying this take's art…".to_owned(),
            Change::ChangeDetail { search, replace } => {
                format!("🖌️ Changing “{}” into “{}”…", search.trim(), replace.trim())
            }
            Change::RecolorDetail { search, colour } => {
                format!("🎨 Recolouring “{}” {}…", search.trim(), colour.trim())
            }
            Change::Picture { usage, .. } => match usage {
                PictureUse::StartFrom => "🖼️ Starting from your picture…".to_owned(),
                PictureUse::StyleOf => "🖼️ Drawing in the style of your picture…".to_owned(),
                PictureUse::RestyleLike => "🖼️ Restyling this take like your picture…".to_owned(),
            },
        };
        let _ = self
            .delivery
            .respond(response_url, &blocks::note_to_clicker(&working))
            .await;

        let via = change.via();
        let mut outcome = Ok(Outcome::Delivered);
        let mut made = 0;
        for planned in takes {
            let paid_take = planned.billed.is_some();
            let lineage = match self.records.next_take(record).await {
                Ok(take) => Lineage {
                    root: record.root(),
                    parent: record.id,
                    parent_take: record.take(),
                    take,
                    via: via.clone(),
                },
                Err(e) => {
                    outcome = Err((e, description.clone()));
                    break;
                }
            };
            let note = Some(take_note(&lineage, planned.note.as_deref()));
            let take = Take {
                art: planned.art,
                lineage: Some(lineage),
            };
            let charged_to = if paid_take {
                reservation.as_mut()
            } else {
                None
            };
            if paid_take {
                made += 1;
            }
            match self
                .make_take(
                    job,
                    Uuid::new_v4(),
                    &planned.spec,
                    take,
                    note,
                    deadline,
                    charged_to,
                )
                .await
            {
                Ok(Outcome::Delivered) => {}
                other => {
                    outcome = other;
                    break;
                }
            }
        }
        // Takes never started (the run stopped at a failure) give back what they reserved.
        if let Some(reservation) = reservation.as_mut() {
            self.metering.refund(reservation, paid - made).await;
        }
        outcome
    }

    /// The takes `change` asks for on `record`.
    async fn plan(
        &self,
        record: &PosterRecord,
        change: &Change,
    ) -> Result<Vec<Planned>, PipelineError> {
        // A first take made from a picture keeps it on its record; its later takes are drawn
        // from the words or their parent's art, and record their own change in their lineage.
        let mut base = record.spec.clone();
        base.picture = None;
        let mut fresh = base.clone();
        fresh.seed = None;
        let drawn = |spec: PosterSpec, note: Option<String>| Planned {
            billed: Some(Priced::Model(spec.model)),
            spec,
            note,
            art: ArtPlan::Draw,
        };
        Ok(match change {
            Change::Regenerate => vec![drawn(fresh, None)],
            Change::Variations { count } => (1..=*count)
                .map(|i| drawn(fresh.clone(), Some(format!("{i} of {count}"))))
                .collect(),
            Change::Restyle { style } => vec![drawn(
                PosterSpec {
                    style: *style,
                    typography: None,
                    ..fresh
                },
                None,
            )],
            Change::EditWords { text, typography } => {
                let art = self.stored_art(record).await?;
                // The form chooses the look and the placement; the house ink the brand kit gave
                // the poster is kept unless the change sets its own.
                let mut typography = *typography;
                if typography.ink.is_none() {
                    typography.ink = record.spec.typography.and_then(|t| t.ink);
                }
                let spec = PosterSpec {
                    text: text.clone(),
                    typography: Some(typography),
                    ..base.clone()
                };
                vec![Planned {
                    spec,
                    note: None,
                    art: ArtPlan::Reuse(art),
                    billed: None,
                }]
            }
            Change::Vary { strength } => {
                let edit = Edit::Vary {
                    strength: *strength,
                };
                vec![self.edited(record, base.clone(), edit).await?]
            }
            Change::ChangeDetail { search, replace } => {
                // The new take describes what it now shows, so a later Regenerate or Vary
                // draws the changed scene — within the description's limit, which the modal
                // checks before the job is queued; a change submitted past that check (an
                // old form) changes the art and keeps the description it had.
                let description = replaced(&record.spec.description, search, replace)
                    .filter(|d| modal::validate_changed_description(d).is_ok())
                    .unwrap_or_else(|| record.spec.description.clone());
                let spec = PosterSpec {
                    description,
                    ..base.clone()
                };
                let edit = Edit::Replace {
                    search: search.trim().to_owned(),
                    replace: replace.trim().to_owned(),
                };
                vec![self.edited(record, spec, edit).await?]
            }
            // Only a colour changes: the scene is the one the description tells, so the
            // description stays as it is.
            Change::RecolorDetail { search, colour } => {
                let edit = Edit::Recolor {
                    select: search.trim().to_owned(),
                    colour: colour.trim().to_owned(),
                };
                vec![self.edited(record, base.clone(), edit).await?]
            }
            Change::Picture {
                usage, reference, ..
            } => {
                let picture = std::sync::Arc::new(self.reference(reference).await?);
                let edit = usage.edit(picture.clone());
                match usage {
                    // The take's own art, restyled like the picture.
                    PictureUse::RestyleLike => vec![self.edited(record, fresh, edit).await?],
                    // New art from the take's words, made from the picture.
                    PictureUse::StartFrom | PictureUse::StyleOf => {
                        let source = Art {
                            pixmap: std::sync::Arc::unwrap_or_clone(picture),
                            seed: record.spec.seed.unwrap_or_default(),
                            model_ms: 0,
                            stored: None,
                        };
                        vec![self.edited_from(record, fresh, edit, source)?]
                    }
                }
            }
        })
    }

    /// A picture someone uploaded, as Marquee stored it (`refs/…`, a clean PNG).
    pub(super) async fn reference(&self, key: &str) -> Result<tiny_skia::Pixmap, PipelineError> {
        let missing = || {
            PipelineError::Model(ModelError::Unsupported {
                what: "the picture for this take is no longer kept; please upload it again".into(),
            })
        };
        if !marquee_core::store::is_reference_key(key) {
            return Err(missing());
        }
        let bytes = self.store.get(key).await?.ok_or_else(missing)?;
        marquee_core::cpu::background(move || marquee_core::model::image::decode_image(&bytes))
            .await?
            .map_err(|e| PipelineError::Record(Box::new(e)))
    }

    /// A take whose art is `record`'s art edited as `edit` asks, refused before anything is
    /// reserved when nobody here makes such edits to that model's art.
    async fn edited(
        &self,
        record: &PosterRecord,
        spec: PosterSpec,
        edit: Edit,
    ) -> Result<Planned, PipelineError> {
        // Refused before the art is read (or anything reserved) when nobody here can.
        let kind = edit.kind();
        if !self.models.can(record.spec.model, kind) {
            return Err(PipelineError::Model(ModelError::Unsupported {
                what: format!(
                    "{} art cannot be used to {} here",
                    record.spec.model.display_name(),
                    kind.describe()
                ),
            }));
        }
        let source = self.stored_art(record).await?;
        self.edited_from(record, spec, edit, source)
    }

    /// [`Self::edited`] with `source` in place of the take's stored art (a picture someone
    /// uploaded, to start from or to take the style of).
    fn edited_from(
        &self,
        record: &PosterRecord,
        spec: PosterSpec,
        edit: Edit,
        source: Art,
    ) -> Result<Planned, PipelineError> {
        let kind = edit.kind();
        let (priced, _) = self.models.editor(record.spec.model, kind).ok_or_else(|| {
            PipelineError::Model(ModelError::Unsupported {
                what: format!(
                    "{} art cannot be used to {} here",
                    record.spec.model.display_name(),
                    kind.describe()
                ),
            })
        })?;
        // Art of a retired model is varied by another model (SD3.5 for Nova Canvas): the new
        // take is that model's art, so it says so, and its later takes go to that model.
        let spec = match priced {
            Priced::Model(model) if model != spec.model => PosterSpec { model, ..spec },
            _ => spec,
        };
        Ok(Planned {
            spec,
            note: None,
            art: ArtPlan::Edit { source, edit },
            billed: Some(priced),
        })
    }

    /// The description take `poster` would have after Change a detail replaced `search` with
    /// `replace` in it: what the modal checks against the description's limit before the job is
    /// queued. `None` when the description does not mention `search` (it stays as it is).
    pub(crate) async fn changed_description(
        &self,
        poster: Uuid,
        search: &str,
        replace: &str,
    ) -> Result<Option<String>, PipelineError> {
        let record = self.records.record(poster).await?;
        Ok(replaced(&record.spec.description, search, replace))
    }

    /// Take `id`'s record and its art before typography, for tools that set words over it
    /// (`marquee edit --id`, `marquee print --id`).
    pub async fn take_with_art(
        &self,
        id: Uuid,
    ) -> Result<(PosterRecord, tiny_skia::Pixmap), PipelineError> {
        let record = self.records.record(id).await?;
        let art = self.stored_art(&record).await?;
        Ok((record, art.pixmap))
    }

    /// The art of take `record` before typography, as stored.
    pub(super) async fn stored_art(&self, record: &PosterRecord) -> Result<Art, PipelineError> {
        let key = record
            .art_key
            .clone()
            .ok_or(PipelineError::NoArt(record.id))?;
        let bytes = self
            .store
            .get(&key)
            .await?
            .ok_or(PipelineError::NoArt(record.id))?;
        let (pixmap, bytes) = marquee_core::cpu::background(move || {
            marquee_core::model::image::decode_image(&bytes).map(|pixmap| (pixmap, bytes))
        })
        .await?
        .map_err(|e| PipelineError::Record(Box::new(e)))?;
        Ok(Art {
            pixmap,
            seed: record.spec.seed.unwrap_or_default(),
            model_ms: 0,
            stored: Some(bytes),
        })
    }
}

const ARTICLES: [&str; 3] = ["the ", "an ", "a "];

/// `text` with the first case-insensitive occurrence of `search` replaced by `replace`, or
/// `None` when it does not occur. People write "the kraken" for a description's "a Kraken":
/// a leading article of `search` may be left out of the match, and when `replace` brings its
/// own article the one before the match goes.
fn replaced(text: &str, search: &str, replace: &str) -> Option<String> {
    let (search, replace) = (search.trim(), replace.trim());
    let lower = text.to_lowercase();
    // Lower-casing can change byte lengths outside ASCII; then offsets would not line up.
    if search.is_empty() || lower.len() != text.len() {
        return None;
    }
    let needle = search.to_lowercase();
    let bare = ARTICLES
        .iter()
        .find_map(|a| needle.strip_prefix(a))
        .unwrap_or(&needle);
    let (at, len) = match lower.find(&needle) {
        Some(at) => (at, needle.len()),
        None if !bare.is_empty() => (lower.find(bare)?, bare.len()),
        None => return None,
    };
    let mut start = at;
    let replace_lower = replace.to_lowercase();
    if ARTICLES.iter().any(|a| replace_lower.starts_with(a)) {
        if let Some(article) = ARTICLES.iter().find(|a| lower[..at].ends_with(*a)) {
            let before = at - article.len();
            if before == 0 || lower[..before].ends_with(' ') {
                start = before;
            }
        }
    }
    Some(format!("{}{replace}{}", &text[..start], &text[at + len..]))
}

/// The line a take's message carries about where it came from: "Take 3 · from take 2 via Vary
/// strong", with the change's own detail ("1 of 2") when it has one.
pub(super) fn take_note(lineage: &Lineage, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
    // A take made with a picture says so first: "Take 2 · in the style of brand-2026.png".
    if lineage.via.starts_with(|c: char| c.is_lowercase()) {
        return format!(
            "Take {} · {}{detail} · from take {}",
            lineage.take, lineage.via, lineage.parent_take
        );
    }
    format!(
        "Take {} · from take {} via {}{detail}",
        lineage.take, lineage.parent_take, lineage.via
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_detail_changes_the_description_it_names() {
        let text = "A keeper fights a Kraken at dawn";
        assert_eq!(
            replaced(text, "the kraken", "a dragon").as_deref(),
            Some("A keeper fights a dragon at dawn")
        );
        assert_eq!(
            replaced(text, " kraken ", "sea serpent").as_deref(),
            Some("A keeper fights a sea serpent at dawn")
        );
        assert_eq!(
            replaced(text, "keeper", "the night watchman").as_deref(),
            Some("the night watchman fights a Kraken at dawn")
        );
        assert_eq!(replaced(text, "dragon", "kraken"), None);
        assert_eq!(replaced(text, "  ", "y"), None);
    }

    #[test]
    fn a_take_says_where_it_came_from() {
        let lineage = Lineage {
            root: Uuid::nil(),
            parent: Uuid::nil(),
            parent_take: 2,
            take: 3,
            via: "Vary strong".into(),
        };
        assert_eq!(
            take_note(&lineage, None),
            "Take 3 · from take 2 via Vary strong"
        );
        assert_eq!(
            take_note(&lineage, Some("1 of 2")),
            "Take 3 · from take 2 via Vary strong (1 of 2)"
        );
        let pictured = Lineage {
            via: Change::Picture {
                usage: PictureUse::StyleOf,
                reference: "refs/2026/12/07/x.png".into(),
                name: "brand-2026.png".into(),
            }
            .via(),
            ..lineage
        };
        assert_eq!(
            take_note(&pictured, None),
            "Take 3 · in the style of brand-2026.png · from take 2"
        );
    }
}
