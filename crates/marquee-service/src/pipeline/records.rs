//! What the pipeline remembers, typed over the [`StateStore`]: poster records, first-wins
//! approvals, run markers, retake locks, the requester's history and the front door's replay
//! guard, and the REST door's job statuses. Every "at most once" here is one conditional write
//! ([`StateStore::claim`]). [`Records`] is the one collaborator that reads and writes them: the
//! pipeline holds one, and so does the HTTP door (the replay guard, a modal's record, a REST
//! job's status), so neither reaches through the other.
//!
//! | item | key (`pk` / `sk`) | expires |
//! |---|---|---|
//! | poster record | `poster#<id>` / `record` | with the poster (retention) |
//! | approval (one per family: the first take's id) | `poster#<root>` / `approval` | with the poster |
//! | take counter (per family) | `poster#<root>` / `takes` | with the poster |
//! | print files (one set per take) | `poster#<id>` / `prints` | with the files (retention from printing) |
//! | a take's file at one format (one per format) | `poster#<id>` / `format#<format>` | with the files (retention from making) |
//! | a contact sheet of some formats (one per set) | `poster#<id>` / `formatsheet#<format>+<format>…` | with the files |
//! | a format's print file (one per format) | `poster#<id>` / `printformat#<format>` | with the files (retention from printing) |
//! | art grown to one format by Outpaint | `poster#<id>` / `outpainted#<format>` | with the files |
//! | every format at once (written before formats were made one by one; read only) | `poster#<id>` / `formats` | with the files |
//! | the Slack file a take's message shows | `poster#<id>` / `file` | with the poster |
//! | retake lock | `poster#<id>` / `lock` | after [`LOCK_SECS`] (taken over atomically) |
//! | run marker | `job#<id>` / `run` | after [`RUN_MARKER_SECS`] |
//! | history entry | `history#<team>#<user>` / `<written at, ms>#<id>` | with the poster |
//! | seen request | `request#<sha256 of the signature>` / `seen` | after [`SIGHT_SECS`] |
//! | REST job status | `job#<id>` / `status` | with the poster (retention from acceptance) |
//! | seen Slack event | `event#<event_id>` / `seen` | after [`EVENT_SECS`] |
//! | gallery entry (an approved take) | `gallery#<org or team>` / `<approved at, s>#<id>` | with the poster |
//! | brand kit | `kit#<org or team>` / `kit` | never |
//! | brand kit change | `kitlog#<org or team>` / `<written at, ms>#<random>` | after [`KIT_LOG_SECS`] |

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PipelineError, RestStatus};
use marquee_core::job::{Job, PosterRecord, Requester};
use marquee_core::poster::Format;
use marquee_core::slack::settings::{BrandKit, KitChange};
use marquee_core::slack::verify::{SIGHT_SECS, Sight};
use marquee_core::state::{Claim, Claimant, Key, StateStore};

/// How long a retake may hold its poster's lock; longer than any invocation (Lambda's limit is
/// 15 minutes), so only a crashed take's lock ever expires, and then it is taken over.
pub(super) const LOCK_SECS: i64 = 15 * 60;
/// How long a job's run marker is kept: far longer than Lambda keeps an async event (six
/// hours at most) or retries an `Invoke`, so any duplicate delivery finds it.
const RUN_MARKER_SECS: i64 = 2 * 24 * 3600;
/// How long a Slack event's id is remembered: Slack retries an event three times, the last
/// about five minutes after the first (docs.slack.dev `apis/events-api`, "Retries"), so an
/// hour covers every retry with a wide margin.
const EVENT_SECS: i64 = 3600;

/// How long a change to a brand kit is listed: a year.
const KIT_LOG_SECS: i64 = 365 * 24 * 3600;

pub(super) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Who approved a poster, when, and which take: written once per poster family, by the first
/// approval, so exactly one take of a poster is ever approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Approval {
    pub(crate) by: String,
    pub(crate) at: i64,
    /// The approved take; `None` in approvals written before takes had numbers, which were of
    /// the family's first take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) take: Option<Uuid>,
    /// The approved take's number, for "take 3 was approved by …".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) take_number: Option<u32>,
}

impl Approval {
    /// The take this approval marks, given its family's first take.
    pub(crate) fn approved_take(&self, root: Uuid) -> Uuid {
        self.take.unwrap_or(root)
    }
}

/// The print-ready files of one take, written once, by the print that made them: later
/// clicks on Print answer with fresh links to these files instead of making them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Printed {
    pub(crate) sheets: Vec<PrintedSheet>,
    /// The upscaler's name, when the art was upscaled rather than resampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) upscaled_with: Option<String>,
    pub(crate) at: i64,
}

/// A take's file at one format, written once, by the run that made it first: later runs
/// asking for this format answer with fresh links to this file and make only the formats
/// missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MadeFormat {
    pub(crate) key: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The box `[x, y, width, height]` (whole pixels, rounded outward) around every line of
    /// type the layout engine set: where the words went, for checking they stayed in the
    /// format's safe area. Zeros when not known (a file from a whole-set record).
    #[serde(default)]
    pub(crate) type_box: [u32; 4],
    /// The image service that grew the art to this format, when it was outpainted rather than
    /// re-composed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outpainted_with: Option<String>,
    pub(crate) at: i64,
}

/// A contact sheet of one set of a take's formats, written once per set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FormatSheet {
    pub(crate) key: String,
    pub(crate) at: i64,
}

/// A take's files at every format as one record, as runs wrote it before formats were made
/// one by one: read (its files count as made), never written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Formatted {
    /// `(format name, key, width, height)` per file, in the order shown.
    pub(crate) files: Vec<(String, String, u32, u32)>,
    pub(crate) sheet_key: String,
    pub(crate) at: i64,
    /// Per file, in the same order, the box `[x, y, width, height]` (whole pixels, rounded
    /// outward) around every line of type the layout engine set on it: where the words went,
    /// for checking they stayed in the format's safe area. Empty in records made before it was
    /// kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) type_boxes: Vec<[u32; 4]>,
    /// The image service that grew the art to each format, when it was outpainted rather
    /// than re-composed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outpainted_with: Option<String>,
}

/// The art of one format of a take, grown by Outpaint and stored before any type is set: a
/// formats run that stops part-way (a failed call, a lost function) leaves the calls it paid
/// for here, and the next run uses them instead of paying again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outpainted {
    pub(crate) art_key: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) at: i64,
}

/// One sheet's stored files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PrintedSheet {
    /// [`marquee_core::poster::Sheet::name`].
    pub(crate) sheet: String,
    pub(crate) pdf_key: String,
    pub(crate) png_key: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// One poster in a requester's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HistoryEntry {
    pub(crate) id: Uuid,
    pub(crate) created_at: i64,
}

fn record_key(id: Uuid) -> Key {
    Key::new(format!("poster#{id}"), "record")
}

fn approval_key(id: Uuid) -> Key {
    Key::new(format!("poster#{id}"), "approval")
}

fn takes_key(root: Uuid) -> Key {
    Key::new(format!("poster#{root}"), "takes")
}

fn formats_key(id: Uuid) -> Key {
    Key::new(format!("poster#{id}"), "formats")
}

fn format_key(id: Uuid, format: Format) -> Key {
    Key::new(format!("poster#{id}"), format!("format#{}", format.name()))
}

fn format_sheet_key(id: Uuid, formats: &[Format]) -> Key {
    let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
    Key::new(
        format!("poster#{id}"),
        format!("formatsheet#{}", names.join("+")),
    )
}

fn outpainted_key(id: Uuid, format: &str) -> Key {
    Key::new(format!("poster#{id}"), format!("outpainted#{format}"))
}

fn print_format_key(id: Uuid, format: Format) -> Key {
    Key::new(
        format!("poster#{id}"),
        format!("printformat#{}", format.name()),
    )
}

fn prints_key(id: Uuid) -> Key {
    Key::new(format!("poster#{id}"), "prints")
}

fn file_key(id: Uuid) -> Key {
    Key::new(format!("poster#{id}"), "file")
}

fn status_key(id: Uuid) -> Key {
    Key::new(format!("job#{id}"), "status")
}

fn lock_key(id: Uuid) -> Key {
    Key::new(format!("poster#{id}"), "lock")
}

fn history_pk(requester: &Requester) -> String {
    format!(
        "history#{}#{}",
        requester.team_id.as_deref().unwrap_or("-"),
        requester.user_id
    )
}

/// Where an installation's shared things are kept: its org on an org-wide install, else its
/// workspace (`team.id` / `authorizations[0].team_id`, never the actor's own workspace).
pub(crate) fn installation(requester: &Requester) -> String {
    requester
        .enterprise_id
        .as_deref()
        .or(requester.team_id.as_deref())
        .unwrap_or("-")
        .to_owned()
}

fn kit_key(requester: &Requester) -> Key {
    Key::new(format!("kit#{}", installation(requester)), "kit")
}

fn gallery_pk(requester: &Requester) -> String {
    format!("gallery#{}", installation(requester))
}

fn json<T: Serialize>(value: &T) -> Result<String, PipelineError> {
    serde_json::to_string(value).map_err(|e| PipelineError::Record(Box::new(e)))
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, PipelineError> {
    serde_json::from_str(text).map_err(|e| PipelineError::Record(Box::new(e)))
}

/// Poster records, approvals, run markers, locks, history, the replay guard and REST job
/// statuses, over the state store. Cheap to clone: the store is shared.
#[derive(Clone)]
pub struct Records {
    state: Arc<dyn StateStore>,
    /// How long records are kept: as long as the posters they describe.
    retention: Duration,
}

impl Records {
    /// Records kept in `state` for `retention` (the bucket's lifecycle rule for posters).
    pub fn new(state: Arc<dyn StateStore>, retention: Duration) -> Self {
        Self { state, retention }
    }

    /// Keeps records for `retention` from now on.
    pub(super) fn set_retention(&mut self, retention: Duration) {
        self.retention = retention;
    }

    /// When a record made now stops being kept: with its poster.
    pub(super) fn retention_end(&self, from: i64) -> i64 {
        from + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// Keeps `record` (what a retake or an approval needs) and lists it in its requester's
    /// history. Public for the stack tests, which fill a store with many posters this way.
    pub async fn put_record(&self, record: &PosterRecord) -> Result<(), PipelineError> {
        let until = self.retention_end(record.created_at);
        self.state
            .put(&record_key(record.id), json(record)?, Some(until))
            .await?;
        let entry = HistoryEntry {
            id: record.id,
            created_at: record.created_at,
        };
        // Sort keys order by when the entry was written, to the millisecond (two posters of one
        // second keep their order), then id: zero-padded numbers sort as numbers do. Fifteen
        // digits of milliseconds begin with the twelve digits of seconds that entries written
        // before had, so old and new entries sort together. Within one process the stamps
        // strictly increase, so two records written in the same millisecond (a local store
        // is that fast) still list in the order they were written.
        static LAST_MS: AtomicI64 = AtomicI64::new(0);
        let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let next = |last: i64| now_ms.max(last + 1);
        let written_ms = match LAST_MS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
        {
            Ok(last) | Err(last) => next(last),
        };
        let sk = format!("{written_ms:015}#{}", record.id);
        self.state
            .put(
                &Key::new(history_pk(&record.requester), sk),
                json(&entry)?,
                Some(until),
            )
            .await?;
        Ok(())
    }

    /// The latest `n` posters `requester` made that are still kept, newest first.
    pub async fn history(
        &self,
        requester: &Requester,
        n: usize,
    ) -> Result<Vec<PosterRecord>, PipelineError> {
        self.listed(&history_pk(requester), n, |_| true).await
    }

    /// The records of the latest `n` entries of list `pk` (history or gallery) for which
    /// `keep` holds, newest first. An entry whose record is gone (retention ran between the
    /// two reads) is left out.
    async fn listed(
        &self,
        pk: &str,
        n: usize,
        keep: impl Fn(&PosterRecord) -> bool,
    ) -> Result<Vec<PosterRecord>, PipelineError> {
        let items = self.state.query_latest(pk, n, now()).await?;
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            let entry: HistoryEntry = parse(&item.value)?;
            match self.record(entry.id).await {
                Ok(record) if keep(&record) => records.push(record),
                Ok(_) | Err(PipelineError::UnknownPoster(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(records)
    }

    /// How many posters `requester` has that are still kept, counting up to `cap`.
    pub(crate) async fn history_len(
        &self,
        requester: &Requester,
        cap: usize,
    ) -> Result<usize, PipelineError> {
        Ok(self
            .state
            .query_latest(&history_pk(requester), cap, now())
            .await?
            .len())
    }

    /// Lists approved take `record` in its installation's gallery. Keyed by the approval's
    /// time and the take, so writing it again (a retried job) writes the same item.
    pub(super) async fn add_to_gallery(
        &self,
        record: &PosterRecord,
        approved_at: i64,
    ) -> Result<(), PipelineError> {
        let entry = HistoryEntry {
            id: record.id,
            created_at: record.created_at,
        };
        let sk = format!("{approved_at:012}#{}", record.id);
        self.state
            .put(
                &Key::new(gallery_pk(&record.requester), sk),
                json(&entry)?,
                Some(self.retention_end(record.created_at)),
            )
            .await?;
        Ok(())
    }

    /// The brand kit of `requester`'s installation (empty when none was set).
    pub(crate) async fn kit(&self, requester: &Requester) -> Result<BrandKit, PipelineError> {
        match self.state.get(&kit_key(requester), now()).await? {
            Some(item) => parse(&item.value),
            None => Ok(BrandKit::default()),
        }
    }

    /// Sets the brand kit of `requester`'s installation to `kit`, and lists `change` (who, when,
    /// what). The kit first: a change listed is always one that was made.
    pub(crate) async fn set_kit(
        &self,
        requester: &Requester,
        kit: &BrandKit,
        change: &KitChange,
    ) -> Result<(), PipelineError> {
        self.state
            .put(&kit_key(requester), json(kit)?, None)
            .await?;
        let sk = format!(
            "{:015}#{}",
            change.at.saturating_mul(1000),
            Uuid::new_v4().simple()
        );
        self.state
            .put(
                &Key::new(format!("kitlog#{}", installation(requester)), sk),
                json(change)?,
                Some(now() + KIT_LOG_SECS),
            )
            .await?;
        Ok(())
    }

    /// The latest `n` changes to the brand kit of `requester`'s installation, newest first.
    pub(crate) async fn kit_changes(
        &self,
        requester: &Requester,
        n: usize,
    ) -> Result<Vec<KitChange>, PipelineError> {
        let items = self
            .state
            .query_latest(&format!("kitlog#{}", installation(requester)), n, now())
            .await?;
        items.iter().map(|item| parse(&item.value)).collect()
    }

    /// The latest `n` approved takes of `requester`'s installation that are still kept, newest
    /// approval first, each with its approval.
    pub(crate) async fn gallery(
        &self,
        requester: &Requester,
        n: usize,
    ) -> Result<Vec<PosterRecord>, PipelineError> {
        self.listed(&gallery_pk(requester), n, |r| r.approved_by.is_some())
            .await
    }

    /// The record of take `id`, marked approved when it is the take its family's approval
    /// names.
    pub(crate) async fn record(&self, id: Uuid) -> Result<PosterRecord, PipelineError> {
        let now = now();
        let item = self
            .state
            .get(&record_key(id), now)
            .await?
            .ok_or(PipelineError::UnknownPoster(id))?;
        let mut record: PosterRecord = parse(&item.value)?;
        if let Some(approval) = self.approval(record.root()).await? {
            if approval.approved_take(record.root()) == id {
                record.approved_by = Some(approval.by);
                record.approved_at = Some(approval.at);
            }
        }
        Ok(record)
    }

    /// The approval of the poster family whose first take is `root`, if any.
    pub(super) async fn approval(&self, root: Uuid) -> Result<Option<Approval>, PipelineError> {
        self.get_parsed(&approval_key(root)).await
    }

    /// The next take number in the family whose first take is `root` (the first take is 1, so
    /// this starts at 2). One atomic counter per family: concurrent takes never share a number.
    pub(super) async fn next_take(&self, record: &PosterRecord) -> Result<u32, PipelineError> {
        let until = self.retention_end(now());
        let added = self
            .state
            .add(
                &takes_key(record.root()),
                1,
                None,
                &Claimant::new(),
                Some(until),
                now(),
            )
            .await?;
        match added {
            marquee_core::state::Added::To(n) => {
                Ok(u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1))
            }
            marquee_core::state::Added::Refused(_) => {
                unreachable!("a counter without a limit never refuses")
            }
        }
    }

    /// Records `approval` of take `record` unless its family already has one: `Ok(None)` when
    /// this approval won, `Ok(Some(first))` with the approval that got there first (perhaps of
    /// another take).
    pub(super) async fn claim_approval(
        &self,
        record: &PosterRecord,
        approval: &Approval,
    ) -> Result<Option<Approval>, PipelineError> {
        let until = self.retention_end(record.created_at);
        let approval = Approval {
            take: Some(record.id),
            take_number: Some(record.take()),
            ..approval.clone()
        };
        self.claim_first(&approval_key(record.root()), &approval, until)
            .await
    }

    /// Remembers that take `id`'s message shows the Slack file `file` (its uploaded PNG), so a
    /// rebuild of that message (an approval) shows the file again, not the expiring link. Its
    /// own item, not the record: writing the record again would list the take twice in history.
    pub(super) async fn remember_file(&self, id: Uuid, file: &str) -> Result<(), PipelineError> {
        let until = self.retention_end(now());
        self.state
            .put(&file_key(id), file.to_owned(), Some(until))
            .await?;
        Ok(())
    }

    /// The Slack file take `id`'s message shows, if it was uploaded and shown.
    pub(super) async fn shown_file(&self, id: Uuid) -> Result<Option<String>, PipelineError> {
        Ok(self
            .state
            .get(&file_key(id), now())
            .await?
            .map(|item| item.value))
    }

    /// The print-ready files of take `id`, if it was printed and they are still kept.
    pub(super) async fn printed(&self, id: Uuid) -> Result<Option<Printed>, PipelineError> {
        self.get_parsed(&prints_key(id)).await
    }

    /// Which of `formats` take `id` has files at (each made once and still kept), in the
    /// order asked: its own item per format, else the whole-set record older runs wrote.
    pub(super) async fn made_formats(
        &self,
        id: Uuid,
        formats: &[Format],
    ) -> Result<Vec<(Format, MadeFormat)>, PipelineError> {
        let mut made = Vec::new();
        let mut legacy: Option<Option<Formatted>> = None;
        for format in formats {
            if let Some(file) = self.get_parsed(&format_key(id, *format)).await? {
                made.push((*format, file));
                continue;
            }
            if legacy.is_none() {
                legacy = Some(self.get_parsed(&formats_key(id)).await?);
            }
            let Some(Some(whole)) = &legacy else { continue };
            let shown = format.to_string();
            if let Some(i) = whole.files.iter().position(|f| f.0 == shown) {
                let (_, key, width, height) = whole.files[i].clone();
                made.push((
                    *format,
                    MadeFormat {
                        key,
                        width,
                        height,
                        type_box: whole.type_boxes.get(i).copied().unwrap_or_default(),
                        outpainted_with: whole.outpainted_with.clone(),
                        at: whole.at,
                    },
                ));
            }
        }
        Ok(made)
    }

    /// Records `file` as take `id`'s file at `format` unless it has one already: `Ok(None)`
    /// when `file` is now the one kept, `Ok(Some(first))` with the file recorded first. One
    /// conditional write per format, kept as long as the bucket keeps the file.
    pub(super) async fn claim_format(
        &self,
        id: Uuid,
        format: Format,
        file: &MadeFormat,
    ) -> Result<Option<MadeFormat>, PipelineError> {
        let until = self.retention_end(file.at);
        self.claim_first(&format_key(id, format), file, until).await
    }

    /// The contact sheet of take `id` at exactly `formats`, if one was made and is kept.
    pub(super) async fn format_sheet(
        &self,
        id: Uuid,
        formats: &[Format],
    ) -> Result<Option<FormatSheet>, PipelineError> {
        self.get_parsed(&format_sheet_key(id, formats)).await
    }

    /// Records `sheet` as the contact sheet of take `id` at `formats` unless one is recorded.
    pub(super) async fn claim_format_sheet(
        &self,
        id: Uuid,
        formats: &[Format],
        sheet: &FormatSheet,
    ) -> Result<Option<FormatSheet>, PipelineError> {
        let until = self.retention_end(sheet.at);
        self.claim_first(&format_sheet_key(id, formats), sheet, until)
            .await
    }

    /// Take `id`'s art grown to `format` by Outpaint, if a run stored it and it is still kept.
    pub(super) async fn outpainted(
        &self,
        id: Uuid,
        format: &str,
    ) -> Result<Option<Outpainted>, PipelineError> {
        self.get_parsed(&outpainted_key(id, format)).await
    }

    /// Records `art` as take `id`'s art at `format` unless some is recorded already (as
    /// [`Records::claim_prints`]).
    pub(super) async fn claim_outpainted(
        &self,
        id: Uuid,
        format: &str,
        art: &Outpainted,
    ) -> Result<Option<Outpainted>, PipelineError> {
        let until = self.retention_end(art.at);
        self.claim_first(&outpainted_key(id, format), art, until)
            .await
    }

    /// Records `printed` as take `id`'s print-ready files unless it has some already: `Ok(None)`
    /// when these are now the take's files, `Ok(Some(first))` with the files recorded first.
    /// Kept as long as the bucket keeps the files (its `prints/` rule counts from printing).
    pub(super) async fn claim_prints(
        &self,
        id: Uuid,
        printed: &Printed,
    ) -> Result<Option<Printed>, PipelineError> {
        let until = self.retention_end(printed.at);
        self.claim_first(&prints_key(id), printed, until).await
    }

    /// The print file of take `id` at `format`, if it was printed and is still kept.
    pub(super) async fn printed_format(
        &self,
        id: Uuid,
        format: Format,
    ) -> Result<Option<PrintedSheet>, PipelineError> {
        self.get_parsed(&print_format_key(id, format)).await
    }

    /// Records `file` as take `id`'s print of `format` unless one is recorded (as
    /// [`Records::claim_prints`], one conditional write per format).
    pub(super) async fn claim_printed_format(
        &self,
        id: Uuid,
        format: Format,
        file: &PrintedSheet,
    ) -> Result<Option<PrintedSheet>, PipelineError> {
        let until = self.retention_end(now());
        self.claim_first(&print_format_key(id, format), file, until)
            .await
    }

    /// The record at `key`, parsed; `None` when there is none (or it is past its expiry): the
    /// twin of [`Records::claim_first`] for reading.
    async fn get_parsed<T>(&self, key: &Key) -> Result<Option<T>, PipelineError>
    where
        T: for<'de> Deserialize<'de>,
    {
        match self.state.get(key, now()).await? {
            Some(item) => Ok(Some(parse(&item.value)?)),
            None => Ok(None),
        }
    }

    /// Writes `value` under `key`, kept until `until`, unless a live document is there:
    /// `Ok(None)` when `value` is now the one kept, `Ok(Some(first))` with the document that
    /// got there first. The claimant is this call's own, so a lost answer to its own write (the
    /// SDK retries it) is still its win.
    async fn claim_first<T>(
        &self,
        key: &Key,
        value: &T,
        until: i64,
    ) -> Result<Option<T>, PipelineError>
    where
        T: Serialize + for<'de> Deserialize<'de>,
    {
        match self
            .state
            .claim(key, json(value)?, &Claimant::new(), Some(until), now())
            .await?
        {
            Claim::Won => Ok(None),
            Claim::Held(item) => Ok(Some(parse(&item.value)?)),
        }
    }

    /// Marks `job` as started. `false`: it already was — this is a second delivery of the
    /// same job (Lambda delivers async events at least once, and the SDK retries ambiguous
    /// `Invoke`s), which must have no effect.
    pub(super) async fn claim_run(&self, job: &Job) -> Result<bool, PipelineError> {
        let now = now();
        let value = serde_json::json!({ "started_at": now }).to_string();
        let claim = self
            .state
            .claim(
                &Key::new(format!("job#{}", job.id), "run"),
                value,
                // This delivery's, not the job's: a second delivery is another claimant.
                &Claimant::new(),
                Some(job.accepted_at.max(now) + RUN_MARKER_SECS),
                now,
            )
            .await?;
        Ok(claim == Claim::Won)
    }

    /// Takes poster `source`'s retake lock for `job`. `false`: another take holds it. A lock
    /// left by a crashed take expires and is taken over in the same conditional write.
    pub(super) async fn take_lock(&self, source: Uuid, job: &Job) -> Result<bool, PipelineError> {
        let now = now();
        let claim = self
            .state
            .claim(
                &lock_key(source),
                job.id.to_string(),
                &Claimant::new(),
                Some(now + LOCK_SECS),
                now,
            )
            .await
            .map_err(PipelineError::Lock)?;
        Ok(claim == Claim::Won)
    }

    /// Releases the lock `job` holds on `source`; never someone else's.
    pub(super) async fn release_lock(&self, source: Uuid, job: &Job) -> Result<(), PipelineError> {
        self.state
            .delete(&lock_key(source), Some(&job.id.to_string()))
            .await
            .map_err(PipelineError::Lock)?;
        Ok(())
    }

    /// Records a REST job as pending, before it is queued. `false`: a job with this id
    /// already has a status (the id is random, so only a retried request can collide).
    pub(crate) async fn accept_rest(&self, job: &Job) -> Result<bool, PipelineError> {
        let status = RestStatus::Pending {
            caller: job.requester.user_id.clone(),
            accepted_at: job.accepted_at,
        };
        let value =
            serde_json::to_string(&status).map_err(|e| PipelineError::Record(Box::new(e)))?;
        let until = self.retention_end(job.accepted_at);
        let claim = self
            .state
            .claim(
                &status_key(job.id),
                value,
                &marquee_core::state::Claimant::new(),
                Some(until),
                now(),
            )
            .await?;
        Ok(claim == Claim::Won)
    }

    /// Where REST job `id` stands; `None` when there is no such job (or it is past retention).
    pub(crate) async fn rest_status(&self, id: Uuid) -> Result<Option<RestStatus>, PipelineError> {
        match self.state.get(&status_key(id), now()).await? {
            Some(item) => serde_json::from_str(&item.value)
                .map(Some)
                .map_err(|e| PipelineError::Record(Box::new(e))),
            None => Ok(None),
        }
    }

    pub(super) async fn set_rest_status(
        &self,
        job: &Job,
        status: &RestStatus,
    ) -> Result<(), PipelineError> {
        let value =
            serde_json::to_string(status).map_err(|e| PipelineError::Record(Box::new(e)))?;
        let until = self.retention_end(job.accepted_at.max(now()));
        self.state
            .put(&status_key(job.id), value, Some(until))
            .await?;
        Ok(())
    }

    /// Whether this is the first time a request with this [`Sight`] arrives: a replay inside
    /// Slack's window verifies like the original, and a second sight starts nothing. (A job
    /// goes through `Dispatcher::dispatch_once` instead, which the local queue answers in the
    /// same transaction as the job's own write.)
    pub(crate) async fn first_sight(&self, sight: &Sight) -> Result<bool, PipelineError> {
        let now = now();
        let claim = self
            .state
            .claim(
                &Key::new(format!("request#{}", sight.hex()), "seen"),
                String::new(),
                &Claimant::new(),
                Some(now + SIGHT_SECS),
                now,
            )
            .await?;
        Ok(claim == Claim::Won)
    }
}

impl Records {
    /// Claims Slack event `event_id` for `claimant` (one per request): `true` the first time,
    /// and again for the same claimant (its write landed but the answer was lost); `false`
    /// for every retry of an event another request has claimed.
    pub(crate) async fn claim_event(
        &self,
        event_id: &str,
        claimant: &Claimant,
    ) -> Result<bool, PipelineError> {
        let now = now();
        let claim = self
            .state
            .claim(
                &event_key(event_id),
                claimant.as_str().to_owned(),
                claimant,
                Some(now + EVENT_SECS),
                now,
            )
            .await?;
        Ok(claim == Claim::Won)
    }

    /// Gives up `claimant`'s claim on `event_id` (its job could not be queued), so Slack's
    /// next retry of the event runs it.
    pub(crate) async fn release_event(
        &self,
        event_id: &str,
        claimant: &Claimant,
    ) -> Result<(), PipelineError> {
        self.state
            .delete(&event_key(event_id), Some(claimant.as_str()))
            .await?;
        Ok(())
    }
}

fn event_key(event_id: &str) -> Key {
    Key::new(format!("event#{event_id}"), "seen")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use marquee_core::job::{sample_job, sample_record as record};
    use marquee_core::state::StateStore;
    use marquee_core::state::local::LocalState;

    /// Records over the local state store alone, in `dir`.
    fn records(dir: &std::path::Path) -> (Records, Arc<LocalState>) {
        let state = Arc::new(LocalState::open(dir.join("state.sqlite3")).unwrap());
        let p = Records::new(state.clone(), Duration::from_secs(30 * 24 * 3600));
        (p, state)
    }

    #[tokio::test]
    async fn a_job_runs_once_and_a_request_is_seen_once() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let job = sample_job();
        assert!(p.claim_run(&job).await.unwrap());
        assert!(!p.claim_run(&job).await.unwrap());
        assert!(
            p.claim_run(&sample_job()).await.unwrap(),
            "another job runs"
        );
        assert!(p.first_sight(&Sight::of("v0=abc")).await.unwrap());
        assert!(!p.first_sight(&Sight::of("v0=abc")).await.unwrap());
        assert!(p.first_sight(&Sight::of("v0=abd")).await.unwrap());
    }

    #[tokio::test]
    async fn a_slack_event_runs_once_however_often_it_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let (first, retry) = (Claimant::new(), Claimant::new());
        assert!(p.claim_event("Ev1", &first).await.unwrap());
        assert!(
            p.claim_event("Ev1", &first).await.unwrap(),
            "the same request's claim, its answer lost"
        );
        assert!(!p.claim_event("Ev1", &retry).await.unwrap(), "a retry");
        assert!(p.claim_event("Ev2", &retry).await.unwrap(), "another event");
        // A retry cannot release the first request's claim; the first can, for the next retry.
        p.release_event("Ev1", &retry).await.unwrap();
        assert!(!p.claim_event("Ev1", &retry).await.unwrap());
        p.release_event("Ev1", &first).await.unwrap();
        assert!(p.claim_event("Ev1", &retry).await.unwrap());
    }

    #[tokio::test]
    async fn a_lock_is_its_holders_and_a_crashed_ones_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let (p, state) = records(dir.path());
        let (a, b) = (sample_job(), sample_job());
        let poster = Uuid::new_v4();
        assert!(p.take_lock(poster, &a).await.unwrap());
        assert!(!p.take_lock(poster, &b).await.unwrap());
        // Another's release leaves the lock alone.
        p.release_lock(poster, &b).await.unwrap();
        assert!(!p.take_lock(poster, &b).await.unwrap());
        p.release_lock(poster, &a).await.unwrap();
        assert!(p.take_lock(poster, &b).await.unwrap());
        // b crashes holding it: once it has expired, a takes it over.
        state
            .put(&lock_key(poster), b.id.to_string(), Some(now() - 1))
            .await
            .unwrap();
        assert!(p.take_lock(poster, &a).await.unwrap());
    }

    /// The gallery lists an installation's approved takes, newest approval first, and only
    /// while the approval stands on that take; another workspace's gallery is its own.
    #[tokio::test]
    async fn the_gallery_lists_approved_takes_newest_first_per_installation() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let job = sample_job();
        let now = now();
        let a = record(&job, now - 20);
        let b = record(&job, now - 10);
        let unapproved = record(&job, now);
        for r in [&a, &b, &unapproved] {
            p.put_record(r).await.unwrap();
        }
        for (r, at) in [(&a, now - 5), (&b, now - 1)] {
            let approval = Approval {
                by: "U07GRACEH".into(),
                at,
                take: None,
                take_number: None,
            };
            assert_eq!(p.claim_approval(r, &approval).await.unwrap(), None);
            p.add_to_gallery(r, at).await.unwrap();
            // Written again (a retried job): the same item, listed once.
            p.add_to_gallery(r, at).await.unwrap();
        }
        let listed: Vec<Uuid> = p
            .gallery(&job.requester, 12)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, [b.id, a.id]);
        let gallery = p.gallery(&job.requester, 1).await.unwrap();
        assert_eq!(gallery[0].approved_by.as_deref(), Some("U07GRACEH"));
        let mut elsewhere = job.requester.clone();
        elsewhere.team_id = Some("T07OTHER".into());
        assert!(p.gallery(&elsewhere, 12).await.unwrap().is_empty());
        assert_eq!(p.history_len(&job.requester, 1000).await.unwrap(), 3);
        assert_eq!(p.history_len(&job.requester, 2).await.unwrap(), 2);
    }

    /// A kit is kept per installation, and every change is listed, newest first.
    #[tokio::test]
    async fn a_brand_kit_is_kept_per_installation_with_its_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let job = sample_job();
        assert_eq!(p.kit(&job.requester).await.unwrap(), BrandKit::default());
        let kit = BrandKit {
            credits: Some("A MARQUEE FILMS PRODUCTION".into()),
            ..BrandKit::default()
        };
        for (at, what) in [(now() - 60, "first"), (now(), "second")] {
            let change = KitChange {
                by: "U07GRACEH".into(),
                at,
                what: vec![what.into()],
            };
            p.set_kit(&job.requester, &kit, &change).await.unwrap();
        }
        assert_eq!(p.kit(&job.requester).await.unwrap(), kit);
        let changes = p.kit_changes(&job.requester, 5).await.unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].what, ["second"]);
        let mut elsewhere = job.requester.clone();
        elsewhere.team_id = Some("T07OTHER".into());
        assert_eq!(p.kit(&elsewhere).await.unwrap(), BrandKit::default());
        // An org-wide install keeps one kit for all its workspaces.
        let mut org = job.requester.clone();
        org.enterprise_id = Some("E07GRID".into());
        let mut sibling = org.clone();
        sibling.team_id = Some("T07SIBLING".into());
        p.set_kit(
            &org,
            &kit,
            &KitChange {
                by: "W1".into(),
                at: now(),
                what: vec![],
            },
        )
        .await
        .unwrap();
        assert_eq!(p.kit(&sibling).await.unwrap(), kit);
    }

    #[tokio::test]
    async fn records_come_back_with_their_first_approval_and_in_history() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let job = sample_job();
        let now = now();
        let older = record(&job, now - 10);
        let newer = record(&job, now);
        p.put_record(&older).await.unwrap();
        p.put_record(&newer).await.unwrap();

        let first = Approval {
            by: "U2".into(),
            at: now,
            take: None,
            take_number: None,
        };
        let second = Approval {
            by: "U3".into(),
            at: now + 1,
            take: None,
            take_number: None,
        };
        assert_eq!(p.claim_approval(&newer, &first).await.unwrap(), None);
        let held = p.claim_approval(&newer, &second).await.unwrap().unwrap();
        assert_eq!(
            (held.by.as_str(), held.take, held.take_number),
            ("U2", Some(newer.id), Some(1))
        );
        let read = p.record(newer.id).await.unwrap();
        assert_eq!(read.approved_by.as_deref(), Some("U2"));

        let listed: Vec<Uuid> = p
            .history(&job.requester, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, [newer.id, older.id]);
        assert!(matches!(
            p.record(Uuid::new_v4()).await,
            Err(PipelineError::UnknownPoster(_))
        ));
    }

    #[tokio::test]
    async fn a_take_is_printed_once() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let take = Uuid::new_v4();
        let at = now();
        let printed = |key: &str| Printed {
            sheets: vec![PrintedSheet {
                sheet: "a1".into(),
                pdf_key: format!("prints/{key}.pdf"),
                png_key: format!("prints/{key}.png"),
                width: 3508,
                height: 4967,
            }],
            upscaled_with: None,
            at,
        };
        assert_eq!(p.printed(take).await.unwrap(), None);
        assert_eq!(p.claim_prints(take, &printed("first")).await.unwrap(), None);
        assert_eq!(
            p.claim_prints(take, &printed("second")).await.unwrap(),
            Some(printed("first")),
            "a second set never replaces the first"
        );
        assert_eq!(p.printed(take).await.unwrap(), Some(printed("first")));
        assert_eq!(p.printed(Uuid::new_v4()).await.unwrap(), None);
    }

    /// A state store whose first claim lands and whose answer is lost: with
    /// `retried`, the caller's retry of the same write (as the DynamoDB SDK retries a 500)
    /// answers it; without, the loss reaches the caller as an error.
    struct AnswerLost {
        inner: Arc<LocalState>,
        retried: bool,
        lost: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl StateStore for AnswerLost {
        async fn claim(
            &self,
            key: &Key,
            value: String,
            claimant: &Claimant,
            expires_at: Option<i64>,
            now: i64,
        ) -> Result<Claim, marquee_core::state::StateError> {
            let landed = self
                .inner
                .claim(key, value.clone(), claimant, expires_at, now)
                .await?;
            if self.lost.swap(true, Ordering::SeqCst) {
                return Ok(landed);
            }
            if self.retried {
                return self
                    .inner
                    .claim(key, value, claimant, expires_at, now)
                    .await;
            }
            Err(marquee_core::state::StateError::Backend {
                op: "PutItem",
                pk: key.pk.clone(),
                source: "500 after the write".into(),
            })
        }
        async fn put(
            &self,
            key: &Key,
            value: String,
            expires_at: Option<i64>,
        ) -> Result<(), marquee_core::state::StateError> {
            self.inner.put(key, value, expires_at).await
        }
        async fn get(
            &self,
            key: &Key,
            now: i64,
        ) -> Result<Option<marquee_core::state::Item>, marquee_core::state::StateError> {
            self.inner.get(key, now).await
        }
        async fn delete(
            &self,
            key: &Key,
            only_if: Option<&str>,
        ) -> Result<bool, marquee_core::state::StateError> {
            self.inner.delete(key, only_if).await
        }
        async fn add(
            &self,
            key: &Key,
            amount: i64,
            limit: Option<i64>,
            adder: &Claimant,
            expires_at: Option<i64>,
            now: i64,
        ) -> Result<marquee_core::state::Added, marquee_core::state::StateError> {
            self.inner
                .add(key, amount, limit, adder, expires_at, now)
                .await
        }
        async fn query_latest(
            &self,
            pk: &str,
            limit: usize,
            now: i64,
        ) -> Result<Vec<marquee_core::state::Item>, marquee_core::state::StateError> {
            self.inner.query_latest(pk, limit, now).await
        }
    }

    /// Each format of a take is one write-once claim. A claim whose write lands and whose
    /// answer is lost is still its writer's when the write is retried, and never another's;
    /// when the loss reaches the caller, the file it recorded is read back as made, so the
    /// next run shares it rather than making the format again. Files of other formats, and
    /// the whole-set record older runs wrote, are read alongside.
    #[tokio::test]
    async fn a_format_is_claimed_once_even_when_the_answer_to_its_write_is_lost() {
        let file = |key: &str| MadeFormat {
            key: format!("prints/{key}.png"),
            width: 1080,
            height: 1080,
            type_box: [1, 2, 3, 4],
            outpainted_with: None,
            at: now(),
        };
        for retried in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let inner = Arc::new(LocalState::open(dir.path().join("state.sqlite3")).unwrap());
            let state = Arc::new(AnswerLost {
                inner,
                retried,
                lost: false.into(),
            });
            let p = Records::new(state, Duration::from_secs(30 * 24 * 3600));
            let take = Uuid::new_v4();
            let first = p.claim_format(take, Format::Square, &file("first")).await;
            if retried {
                assert_eq!(first.unwrap(), None, "its own write, retried, is its win");
            } else {
                assert!(first.is_err(), "the loss reaches the caller");
            }
            // The write landed: the format is made, and a second run's claim finds the first.
            let made = p.made_formats(take, &Format::ALL).await.unwrap();
            assert_eq!(
                made,
                [(Format::Square, file("first"))],
                "retried: {retried}"
            );
            assert_eq!(
                p.claim_format(take, Format::Square, &file("second"))
                    .await
                    .unwrap(),
                Some(file("first"))
            );
            assert_eq!(
                p.claim_format(take, Format::Story, &file("story"))
                    .await
                    .unwrap(),
                None
            );
            let made = p.made_formats(take, &[Format::Story, Format::Square]).await;
            assert_eq!(
                made.unwrap(),
                [
                    (Format::Story, file("story")),
                    (Format::Square, file("first"))
                ]
            );
        }

        // A take formatted before formats were made one by one: its whole-set record's files
        // count as made.
        let dir = tempfile::tempdir().unwrap();
        let (p, state) = records(dir.path());
        let take = Uuid::new_v4();
        let whole = Formatted {
            files: vec![("feed 4:5".into(), "prints/feed.png".into(), 1080, 1350)],
            sheet_key: "prints/sheet.png".into(),
            at: now(),
            type_boxes: vec![[5, 6, 7, 8]],
            outpainted_with: None,
        };
        state
            .put(&formats_key(take), json(&whole).unwrap(), None)
            .await
            .unwrap();
        let made = p.made_formats(take, &Format::ALL).await.unwrap();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].0, Format::Feed);
        assert_eq!(made[0].1.key, "prints/feed.png");
        assert_eq!(made[0].1.type_box, [5, 6, 7, 8]);
    }

    /// Two posters of the same second are listed in the order they were made, newest first,
    /// whatever their ids.
    #[tokio::test]
    async fn posters_of_one_second_keep_their_order_in_history() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = records(dir.path());
        let job = sample_job();
        let now = now();
        let mut made = Vec::new();
        for _ in 0..5 {
            let r = record(&job, now);
            p.put_record(&r).await.unwrap();
            made.push(r.id);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        made.reverse();
        let listed: Vec<Uuid> = p
            .history(&job.requester, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, made);
    }
}
