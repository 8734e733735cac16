//! Retakes: another take on a stored poster, one at a time per poster. Every take remembers
//! its parent and how it was made from it; takes that change only the words are set over the
//! parent's own art, with no model call and no charge.

use tokio::time::Instant;
use uuid::Uuid;

use super::metering::Reserved;
use super::{Art, ArtPlan, Outcome, Pipeline, PipelineError, Take};
use crate::errors::ErrorChain;
use crate::job::{Change, Job, Lineage, PosterRecord, PosterSpec};
use crate::slack::blocks;

/// One take a change asks for: its spec, a note for its message, and how its art is made.
struct Planned {
    spec: PosterSpec,
    note: Option<String>,
    art: ArtPlan,
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
        let response_url = job.reply_to.slack_url();
        let record = self.record(source).await.map_err(|e| (e, String::new()))?;
        let description = record.spec.description.clone();
        let acquired = self
            .take_lock(source, job)
            .await
            .map_err(|e| (e, description.clone()))?;
        if !acquired {
            let note = blocks::note_to_clicker(
                "⏳ A new take of this poster is already being made — it will appear here shortly.",
            );
            let _ = self.slack.respond(response_url, &note).await;
            tracing::info!(job = %job.id, %source, "retake refused: one is already running");
            return Ok(Outcome::FailedAndTold {
                kind: "AlreadyRunning",
            });
        }
        let outcome = self.retake_locked(job, &record, change, deadline).await;
        self.release_lock_or_log(source, job).await;
        outcome
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
        // poster left is refused whole rather than half made.
        let paid = takes
            .iter()
            .filter(|t| matches!(t.art, ArtPlan::Draw))
            .count() as i64;
        let mut reservation = match self
            .reserve(&job.requester, record.spec.model, paid)
            .await
        {
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
        };
        let _ = self
            .slack
            .respond(response_url, &blocks::note_to_clicker(&working))
            .await;

        let via = change.via();
        let mut outcome = Ok(Outcome::Delivered);
        let mut made = 0;
        for planned in takes {
            let paid_take = matches!(planned.art, ArtPlan::Draw);
            let lineage = match self.next_take(record).await {
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
            self.refund(reservation, paid - made).await;
        }
        outcome
    }

    /// The takes `change` asks for on `record`.
    async fn plan(
        &self,
        record: &PosterRecord,
        change: &Change,
    ) -> Result<Vec<Planned>, PipelineError> {
        let mut fresh = record.spec.clone();
        fresh.seed = None;
        let drawn = |spec: PosterSpec, note: Option<String>| Planned {
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
                let spec = PosterSpec {
                    text: text.clone(),
                    typography: Some(*typography),
                    ..record.spec.clone()
                };
                vec![Planned {
                    spec,
                    note: None,
                    art: ArtPlan::Reuse(art),
                }]
            }
        })
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
        let pixmap = tokio::task::spawn_blocking(move || crate::model::image::decode_image(&bytes))
            .await?
            .map_err(|e| PipelineError::Record(Box::new(e)))?;
        Ok(Art {
            pixmap,
            seed: record.spec.seed.unwrap_or_default(),
            model_ms: 0,
            stored: Some(key),
        })
    }

    async fn release_lock_or_log(&self, source: Uuid, job: &Job) {
        if let Err(e) = self.release_lock(source, job).await {
            tracing::warn!(job = %job.id, error = %ErrorChain(&e), "could not release the retake lock; it expires on its own");
        }
    }
}

/// The line a take's message carries about where it came from: "Take 3 · from take 2 via Vary
/// strong", with the change's own detail ("1 of 2") when it has one.
fn take_note(lineage: &Lineage, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
    format!(
        "Take {} · from take {} via {}{detail}",
        lineage.take, lineage.parent_take, lineage.via
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
