//! Block Kit messages: every message Marquee shows in Slack is built here.
//!
//! Each builder returns a [`Message`] with a plain-text fallback, within Slack's limits (section
//! text ≤ 3000 characters, image URL ≤ 3000, alt text ≤ 2000, ≤ 50 blocks). This module formats;
//! it does not send and does not decide what went wrong.

use serde::Serialize;
use serde_json::{Value, json};

use crate::genre::Style;
use crate::job::{PosterRecord, PosterSpec};
use crate::model::{Aspect, ModelId};
use crate::quota::{LimitKind, Limits, usd};
use crate::slack::interaction::Controls;

const MAX_SECTION_TEXT: usize = 3000;
/// Our links are far shorter than Slack's limit on an image URL, so only the tests check it.
#[cfg(test)]
const MAX_IMAGE_URL: usize = 3000;
const MAX_ALT_TEXT: usize = 2000;
const MAX_BLOCKS: usize = 50;

/// Who sees a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Visibility {
    /// Only the person who asked.
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

/// A message for a slash-command reply or a `response_url` POST.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    response_type: Visibility,
    /// The fallback shown in notifications and by clients that cannot render blocks. Slack
    /// parses it as mrkdwn, so every user string in it is [`escape`]d like block text: unescaped,
    /// a title of `<!channel>` would notify the whole channel.
    pub(crate) text: String,
    pub(crate) blocks: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_original: Option<bool>,
}

impl Message {
    /// Shows this message only to the person who asked, not the channel.
    pub fn make_private(&mut self) {
        self.response_type = Visibility::Ephemeral;
    }

    /// The same message with `lead` (mrkdwn, nothing of the user's in it) above it: why so
    /// much was asked, when the numbers below do not say.
    pub fn led_by(mut self, lead: &str) -> Message {
        self.text = format!("{lead} {}", self.text);
        self.blocks.insert(0, section(lead));
        self
    }

    /// Whether only the person who asked sees this message.
    pub fn is_private(&self) -> bool {
        self.response_type == Visibility::Ephemeral
    }

    /// The message's fallback text as plain words, Slack's mrkdwn escaping undone: what a
    /// surface that shows no blocks (a workflow step's error) says.
    pub fn plain_text(&self) -> String {
        self.text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }
}

/// Escapes user text for Slack's `mrkdwn` (`&`, `<`, `>` are control characters there).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub(crate) fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}})
}

pub(crate) fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]})
}

/// "3 posters", "1 poster".
fn posters(n: i64) -> String {
    if n == 1 {
        "1 poster".to_owned()
    } else {
        format!("{n} posters")
    }
}

/// What this deployment offers for reviewing a poster, for the help card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewOffer {
    /// Edit words and Change a detail open a modal, which needs a bot token.
    pub modals: bool,
    /// What one change of a detail costs with Stability's Search and Replace, when that
    /// service is configured (Marquee's offline art changes details itself, at its own price).
    pub search_replace_micros: Option<i64>,
    /// The upscaler prints use and what one upscale costs; `None`: resampling only, free.
    pub upscale: Option<(&'static str, i64)>,
}

/// The review controls, for the help card: what each does and what it costs here.
fn review_help(offer: &ReviewOffer) -> String {
    let mut lines = vec![
        "*Reviewing a poster* (the buttons under it; each new take says where it came from)".to_owned(),
        "• 🎲 *Regenerate* — same words, new art: one poster at its model's price".to_owned(),
        "• 🎞️ *Vary subtle / strong* — a variation of _this_ take's art (SD3.5 and offline art; art of the retired Nova Canvas by SD3.5): one poster at its model's price".to_owned(),
        "• 🎨 *Restyle…* — the same description in another style: one poster".to_owned(),
    ];
    if offer.modals {
        lines.push(
            "• ✏️ *Edit words* — a form with the title, tagline, billing block, the look of the type and where the title sits; the words are re-set over the same art — *free*, no new art".to_owned(),
        );
        let detail_price = match offer.search_replace_micros {
            Some(p) if p > 0 => format!(
                "{} per change with Stability's Search and Replace; offline art at its model's price",
                usd(p)
            ),
            _ => "at the poster's model price (offline art is free)".to_owned(),
        };
        lines.push(format!(
            "• 🖌️ *Change a detail* — “the kraken” into “a dragon”, the words re-set over the result: {detail_price}"
        ));
    } else {
        lines.push(
            "• ✏️ *Edit words* and 🖌️ *Change a detail* open a form, which needs Marquee's bot token: ask your Marquee admin to add one".to_owned(),
        );
    }
    lines.push(format!(
        "• 📐 *Formats…* — the take as one-sheet, square, feed, story, banner and wide, the art extended and the words set afresh for each{}; each format made once per take (offline free; a Stability take one Outpaint call per new format), and printed with the approved take",
        if offer.modals {
            ", the formats ticked in a form"
        } else {
            ""
        }
    ));
    lines.push(
        "• ✅ *Approve* — marks one take of the poster as approved (not your own)".to_owned(),
    );
    lines.push(match offer.upscale {
        Some((name, p)) if p > 0 => format!(
            "• 🖨️ *Print* (on the approved take) — one-sheet 27×40 in and A1, PDF and PNG, with bleed and trim marks; the art upscaled by {name}: {} per print",
            usd(p)
        ),
        Some((name, _)) => format!(
            "• 🖨️ *Print* (on the approved take) — one-sheet 27×40 in and A1, PDF and PNG, with bleed and trim marks; the art upscaled by {name}"
        ),
        None => "• 🖨️ *Print* (on the approved take) — one-sheet 27×40 in and A1, PDF and PNG, with bleed and trim marks — *free*".to_owned(),
    });
    lines.join("\n")
}

/// [`usage`], telling also of the New poster form that `/poster` alone opens (offered only
/// with a bot token: the form is a modal).
pub fn usage_with_form(card: Message) -> Message {
    with_hint(
        card,
        "*Or fill in a form* 📝\nType `/poster` alone for the *New poster* form: the words, the style, and a picture of your own to start from or to take the style of.",
    )
}

/// [`usage`] for a `/poster` alone whose form Slack did not open: says so first.
pub fn usage_when_form_failed(card: Message) -> Message {
    with_hint(
        card,
        "📝 Slack didn't open the *New poster* form this time. Type `/poster` again for it, or write the poster out as below.",
    )
}

/// `card` with `hint` just under its first block.
fn with_hint(card: Message, hint: &str) -> Message {
    let mut card = card;
    let at = card.blocks.len().min(1);
    card.blocks.insert(at, section(hint));
    card
}

/// The usage card for `/poster help` and an empty `/poster`: the syntax, the styles, the
/// models with what each poster costs here, the review controls and what each costs, and the
/// limits where the admin set any.
pub fn usage(
    models: &[ModelId],
    default_model: ModelId,
    limits: &Limits,
    review: &ReviewOffer,
) -> Message {
    let syntax = "*Make a movie poster* 🎬\n\
        `/poster <description> [--title \"…\"] [--tagline \"…\"] [--credits \"…\"] [--style NAME] [--ar W:H] [--seed N] [--no \"…\"] [--model NAME]`";
    let examples = "*Try*\n\
        • `/poster a lighthouse keeper fights a kraken, 1950s pulp`\n\
        • `/poster two rival chefs in Lyon --style comedy --title \"Too Many Cooks\"`\n\
        • `/poster a derelict starship wakes up --style sci-fi --ar 16:9 --tagline \"It remembers\"`\n\
        • `/poster 東京の夜 a neon city at night --style noir --title \"東京の夜\"` — titles in any script and emoji; Japanese, Chinese and Korean stand in vertical columns in noir, horror, fantasy and documentary looks (✏️ Edit words moves them)\n\
        • `/poster usage` — your posters today, your channel's, and Marquee's spend this month (all teams)\n\
        • `/poster history` — your latest posters, each with a fresh link";
    let styles = format!(
        "*Styles* (`--style`; picked from your words when omitted, in English or 13 other major languages)\n{}",
        Style::ALL
            .iter()
            .map(|s| format!("`{}`", s.name()))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    // Only models the catalog still offers: a retired one is never listed, whatever the
    // caller passed.
    let model_lines = models
        .iter()
        .filter(|m| m.is_offered())
        .map(|m| {
            let price = if limits.is_metered(*m) {
                format!("{} per poster", usd(limits.price_micros(*m)))
            } else if limits.any() {
                "free, not counted against limits".to_owned()
            } else {
                "free".to_owned()
            };
            let default = if *m == default_model {
                " — default"
            } else {
                ""
            };
            format!(
                "• `{}` {} ({price}){default}",
                m.short_name(),
                m.display_name()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let options = format!(
        "*Models* (`--model`)\n{model_lines}\n\n*Aspect ratios* (`--ar`, default 2:3)\n{}",
        Aspect::ALL
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let mut blocks = vec![
        section(syntax),
        section(examples),
        json!({"type": "divider"}),
        section(&styles),
        section(&options),
        section(&review_help(review)),
    ];
    if limits.any() {
        let mut parts = Vec::new();
        if let Some(n) = limits.user_daily {
            parts.push(format!("{} per person per day", posters(n)));
        }
        if let Some(n) = limits.channel_daily {
            parts.push(format!("{} per channel per day", posters(n)));
        }
        if let Some(budget) = limits.monthly_budget_micros {
            parts.push(format!(
                "{} per month for all of Marquee (every team and the API)",
                usd(budget)
            ));
        }
        blocks.push(section(&format!(
            "*Limits here* (days and months in UTC)\n{}. Each poster counts at its model's price above; a variation counts as a poster. `/poster usage` shows what is left.",
            parts.join(" · ")
        )));
    }
    blocks.push(context(
        "Titles, taglines and credits are set in real type over the art. Posters are shared with the channel; links expire.",
    ));
    Message {
        response_type: Visibility::Ephemeral,
        text: "Usage: /poster <description> [--title \"…\"] [--style NAME] [--ar W:H] [--seed N] [--model NAME] · /poster usage · /poster history".into(),
        blocks,
        replace_original: None,
    }
}

/// The immediate reply to an accepted `/poster`.
pub fn accepted(spec: &PosterSpec) -> Message {
    let summary = format!(
        "{} · {} · {}",
        spec.model.display_name(),
        spec.style,
        spec.aspect
    );
    Message {
        response_type: Visibility::Ephemeral,
        text: "🎬 Generating your poster…".into(),
        blocks: vec![
            section(&format!(
                "🎬 *Generating your poster…*\n>{}",
                escape(&truncate(&spec.description, 500))
            )),
            context(&format!(
                "{summary} · it will be posted to the channel when it is ready"
            )),
        ],
        replace_original: None,
    }
}

/// What a requester is told when Marquee's queue is full: nothing was queued or charged, and
/// when to try again.
pub const BUSY: &str = "Marquee is busy right now and couldn't take this. Nothing was queued or charged; please try again in a minute.";

/// The immediate reply to a request Marquee is too busy to take (its queue is full).
pub fn busy() -> Message {
    Message {
        response_type: Visibility::Ephemeral,
        text: format!("⏳ {BUSY}"),
        blocks: vec![section(&format!("⏳ *{BUSY}*"))],
        replace_original: None,
    }
}

/// A mistake in the user's command, with the usage line to fix it.
pub fn invalid(problem: &str) -> Message {
    Message {
        response_type: Visibility::Ephemeral,
        text: format!("⚠️ {}", escape(problem)),
        blocks: vec![
            section(&format!("⚠️ {}", escape(problem))),
            context("Nothing was generated. Type `/poster help` for the options."),
        ],
        replace_original: None,
    }
}

/// Something went wrong after the request was accepted: what happened and what to do.
pub fn failure(headline: &str, advice: &str, description: &str) -> Message {
    let mut blocks = vec![section(&format!(
        "😕 *{}*\n{}",
        escape(headline),
        escape(advice)
    ))];
    if !description.trim().is_empty() {
        blocks.push(context(&format!(
            "Your request: {}",
            escape(&truncate(description, 300))
        )));
    }
    Message {
        response_type: Visibility::Ephemeral,
        text: format!("😕 {} {}", escape(headline), escape(advice)),
        blocks,
        // Posted to an interaction's response_url, a message without this may replace the
        // poster that was clicked; a failure must never hide a poster.
        replace_original: Some(false),
    }
}

/// What a finished poster message needs to say.
#[derive(Debug, Clone)]
pub struct PosterResult<'a> {
    pub spec: &'a PosterSpec,
    pub requester_id: &'a str,
    pub url: &'a str,
    /// When the link stops working, as unix seconds.
    pub expires_at: i64,
    pub seed: u32,
    pub width: u32,
    pub height: u32,
    /// The poster's id, when the message should carry Regenerate / Variations / Restyle /
    /// Approve controls.
    pub controls: Option<uuid::Uuid>,
    /// A line above the details: where a take came from ("Take 3 · from take 2 via Vary
    /// strong").
    pub note: Option<String>,
    /// Characters left out of the lettering because no embedded face has them.
    pub missing_glyphs: &'a [String],
}

pub fn date_phrase(at: i64) -> String {
    // Slack renders `<!date^…>` in the reader's own time zone, with a fallback for old clients.
    format!(
        "<!date^{at}^{{date_short_pretty}} at {{time}}|{}>",
        time::OffsetDateTime::from_unix_timestamp(at)
            .ok()
            .and_then(|t| t
                .format(&time::format_description::well_known::Rfc3339)
                .ok())
            .unwrap_or_else(|| at.to_string())
    )
}

/// The finished poster, shared with the channel, with the controls of a poster in review that
/// need nothing more than a click (the modal ones need a bot token; see [`poster_with`]).
pub(crate) fn poster(result: &PosterResult<'_>) -> Message {
    poster_with(result, Controls::default())
}

/// The finished poster, shared with the channel, offering `controls` when `result` asks for
/// controls at all.
pub fn poster_with(result: &PosterResult<'_>, controls: Controls) -> Message {
    let spec = result.spec;
    let title = spec.title();
    let alt = truncate(
        &format!("Movie poster “{}”: {}", title, spec.description),
        MAX_ALT_TEXT,
    );
    let details = format!(
        "{} · {} · {} ({}×{}) · seed {}",
        spec.model.display_name(),
        spec.style,
        spec.aspect,
        result.width,
        result.height,
        result.seed
    );
    let note = result
        .note
        .as_deref()
        .map(|n| format!(" · _{}_", escape(n)))
        .unwrap_or_default();
    let mut blocks = vec![
        section(&format!(
            "*{}* — for <@{}>{note}\n>{}",
            escape(&truncate(&title, 200)),
            escape(result.requester_id),
            escape(&truncate(&spec.description, 1500))
        )),
        json!({
            "type": "image",
            "image_url": result.url,
            "alt_text": alt,
            "title": {"type": "plain_text", "text": truncate(&title, 200), "emoji": true},
        }),
        context(&format!(
            "{details} · <{}|Open full size> (link expires {})",
            result.url,
            date_phrase(result.expires_at)
        )),
    ];
    if !result.missing_glyphs.is_empty() {
        let chars = result.missing_glyphs[..result.missing_glyphs.len().min(40)].join(" ");
        blocks.push(context(&format!(
            "⚠️ Marquee's poster fonts can't draw {}, so {} left out of the lettering.",
            escape(&chars),
            if result.missing_glyphs.len() == 1 {
                "it was"
            } else {
                "they were"
            }
        )));
    }
    if let Some(id) = result.controls {
        blocks.push(crate::slack::interaction::actions_block(
            id, spec.style, controls,
        ));
    }
    blocks.truncate(MAX_BLOCKS);
    Message {
        response_type: Visibility::InChannel,
        text: format!(
            "🎬 “{}” — a poster for <@{}>",
            escape(&truncate(&title, 200)),
            escape(result.requester_id)
        ),
        blocks,
        // A new take arrives beside the poster that was clicked, never in its place.
        replace_original: Some(false),
    }
}

/// An approved poster: the poster message, rebuilt from its record with a fresh link, with the
/// controls replaced by who approved it and when. It replaces the message that was clicked.
///
/// When `result` asks for controls, the approved poster offers 🖨️ Print and, when `formats`
/// (its take offered them under review), 📐 Formats… — nothing that would change it: a
/// format's print is part of Print.
pub fn approved(result: &PosterResult<'_>, approver_id: &str, at: i64, formats: bool) -> Message {
    let mut message = poster(&PosterResult {
        controls: None,
        ..result.clone()
    });
    message.blocks.truncate(MAX_BLOCKS - 2);
    message.blocks.push(context(&format!(
        "✅ *Approved* by <@{}> · <!date^{at}^{{date_short_pretty}} at {{time}}|{at}>",
        escape(approver_id)
    )));
    if let Some(id) = result.controls {
        let print = Controls {
            print: true,
            formats,
            ..Controls::default()
        };
        message
            .blocks
            .push(crate::slack::interaction::actions_block(
                id,
                result.spec.style,
                print,
            ));
    }
    message.text = format!(
        "✅ {} — approved by <@{}>",
        message.text,
        escape(approver_id)
    );
    message.replace_original = Some(true);
    message
}

/// Told to a requester whose poster arrived as a link because Marquee's bot is not in the
/// channel: the image disappears when the link expires, unless the bot is invited.
pub fn membership_tip(expires_at: i64) -> Message {
    let text = format!(
        "💡 Marquee isn't a member of this channel, so this poster was shared as a link that expires {}. To keep posters in the channel's history (uploaded, threaded, never expiring), invite the app once: `/invite @Marquee`.",
        date_phrase(expires_at)
    );
    Message {
        response_type: Visibility::Ephemeral,
        text: "💡 Invite Marquee to this channel to keep posters in its history.".to_owned(),
        blocks: vec![context(&text)],
        replace_original: Some(false),
    }
}

/// Told, privately, to a requester when Slack did not confirm that the poster was posted (a
/// timeout): it may be in the channel already, so it is not posted again; the link is here.
pub fn delivery_unconfirmed(url: &str, expires_at: i64) -> Message {
    let text = format!(
        "⏳ Your poster is ready, but Slack didn't confirm it was posted. If it doesn't appear in the channel within a minute, <{}|here it is> (the link works until {}).",
        url,
        date_phrase(expires_at)
    );
    Message {
        response_type: Visibility::Ephemeral,
        text: "⏳ Your poster is ready, but Slack didn't confirm it was posted.".to_owned(),
        blocks: vec![section(&text)],
        replace_original: Some(false),
    }
}

/// Told, privately, to someone who clicks Approve on a poster someone else approved first:
/// one take of a poster is approved, so `take` names which (`None`: this one, or not known).
pub fn already_approved(approver_id: &str, at: i64, take: Option<u32>) -> Message {
    let which = match take {
        Some(n) => format!("Take {n} of this poster was"),
        None => "This poster was".to_owned(),
    };
    let text = format!(
        "✅ {which} already approved by <@{}> on <!date^{at}^{{date_short_pretty}} at {{time}}|{at}>. The first approval stands: one take of a poster is approved.",
        escape(approver_id)
    );
    Message {
        response_type: Visibility::Ephemeral,
        text: "✅ This poster was already approved.".to_owned(),
        blocks: vec![section(&text)],
        replace_original: Some(false),
    }
}

/// A short ephemeral note to the person who clicked.
pub fn note_to_clicker(text: &str) -> Message {
    Message {
        response_type: Visibility::Ephemeral,
        text: escape(text),
        blocks: vec![section(&escape(text))],
        replace_original: Some(false),
    }
}

/// Told, privately, to a requester whose poster would pass a limit: which one, what is
/// left, and when it resets. Nothing was generated or charged.
pub fn over_limit(kind: LimitKind, used: i64, limit: i64, asked: i64, resets_at: i64) -> Message {
    let left = (limit - used).max(0);
    let resets = date_phrase(resets_at);
    let (headline, detail) = match kind {
        LimitKind::User if used < limit => (
            format!("This would pass your limit of {} a day.", posters(limit)),
            format!(
                "You have {} left today{}. Your count resets {resets}.",
                posters(left),
                needs(asked, left, posters)
            ),
        ),
        LimitKind::User => (
            format!("You've reached your limit of {} a day.", posters(limit)),
            format!(
                "You have {} left today{}. Your count resets {resets}.",
                posters(left),
                needs(asked, left, posters)
            ),
        ),
        LimitKind::Channel => (
            format!(
                "This channel has reached its limit of {} a day.",
                posters(limit)
            ),
            format!(
                "It has {} left today{}. The count resets {resets}.",
                posters(left),
                needs(asked, left, posters)
            ),
        ),
        LimitKind::Budget => (
            format!(
                "Marquee has reached its budget of {} for the month (shared by every team and the API).",
                usd(limit)
            ),
            format!(
                "{} of it is left{}. The budget resets {resets}.",
                usd(left),
                needs(asked, left, usd)
            ),
        ),
    };
    Message {
        response_type: Visibility::Ephemeral,
        text: format!("🚦 {headline}"),
        blocks: vec![
            section(&format!("🚦 *{headline}*\n{detail}")),
            context(
                "Nothing was generated or charged. `/poster usage` shows what is left; your Marquee admin sets the limits.",
            ),
        ],
        replace_original: Some(false),
    }
}

/// "; this needs 2 posters", when more was asked than is left.
fn needs(asked: i64, left: i64, show: fn(i64) -> String) -> String {
    if asked > left && left > 0 {
        format!("; this needs {}", show(asked))
    } else {
        String::new()
    }
}

/// One line of `/poster usage`: what was used of a limit, and what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Used {
    pub used: i64,
    pub limit: Option<i64>,
}

/// What `/poster usage` reports.
#[derive(Debug, Clone)]
pub struct UsageReport {
    pub user: Used,
    /// `None` outside a channel.
    pub channel: Option<Used>,
    /// Micro-dollars.
    pub spend: Used,
    /// When the daily counts reset (Unix seconds).
    pub day_ends: i64,
    /// When the month's spend resets.
    pub month_ends: i64,
    /// The models whose posters are not counted (free here).
    pub free_models: Vec<ModelId>,
}

/// The private answer to `/poster usage`.
/// `message` with its image shown from the Slack file `file_id` (an image block's
/// `slack_file: {"id": …}`, Block Kit's image block reference) instead of its `image_url`:
/// a file the bot uploaded and shared in the channel stays as long as the message, where the
/// link expires. The "Open full size" link beside it is unchanged.
pub fn showing_file(message: &Message, file_id: &str) -> Message {
    let mut shown = message.clone();
    for block in &mut shown.blocks {
        if block["type"] == "image"
            && let Some(image) = block.as_object_mut()
        {
            image.remove("image_url");
            image.insert("slack_file".into(), json!({"id": file_id}));
        }
    }
    shown
}

pub fn usage_report(r: &UsageReport) -> Message {
    let count = |u: Used, when: &str| match u.limit {
        Some(limit) => format!(
            "*{}* of {} {when} ({} left)",
            u.used,
            posters(limit),
            (limit - u.used).max(0)
        ),
        None => format!("*{}* {when} (no limit)", posters(u.used)),
    };
    let day = date_phrase(r.day_ends);
    let mut lines = vec![format!(
        "• *You*: {} — resets {day}",
        count(r.user, "today")
    )];
    if let Some(channel) = r.channel {
        lines.push(format!(
            "• *This channel*: {} — resets {day}",
            count(channel, "today")
        ));
    }
    let spend = match r.spend.limit {
        Some(budget) => format!(
            "*{}* of {} this month ({} left)",
            usd(r.spend.used),
            usd(budget),
            usd((budget - r.spend.used).max(0))
        ),
        None => format!("*{}* this month (no budget set)", usd(r.spend.used)),
    };
    lines.push(format!(
        "• *All of Marquee* (every team and the API): {spend} — resets {}",
        date_phrase(r.month_ends)
    ));
    let mut note = "Days and months are UTC. Posters being made right now are included.".to_owned();
    if !r.free_models.is_empty() {
        let names: Vec<String> = r
            .free_models
            .iter()
            .map(|m| format!("`{}`", m.short_name()))
            .collect();
        note = format!(
            "Posters from {} are free and not counted. {note}",
            names.join(", ")
        );
    }
    Message {
        response_type: Visibility::Ephemeral,
        text: "📊 Your Marquee usage".to_owned(),
        blocks: vec![
            section(&format!("📊 *Your Marquee usage*\n{}", lines.join("\n"))),
            context(&note),
        ],
        replace_original: Some(false),
    }
}

/// One poster in `/poster history`, with a fresh link to it.
#[derive(Debug, Clone)]
pub struct HistoryItem<'a> {
    pub record: &'a PosterRecord,
    pub url: &'a str,
    pub expires_at: i64,
}

/// The private answer to `/poster history`: the requester's latest posters, newest first.
pub fn history(items: &[HistoryItem<'_>]) -> Message {
    let mut blocks = vec![section("🗂️ *Your latest posters*")];
    if items.is_empty() {
        blocks = vec![section(
            "🗂️ You have no posters here yet — or they have passed this workspace's retention period. Make one with `/poster <description>`.",
        )];
    }
    for item in items.iter().take(MAX_BLOCKS - 2) {
        let spec = &item.record.spec;
        let approval = match &item.record.approved_by {
            Some(by) => format!("✅ approved by <@{}>", escape(by)),
            None => "not approved".to_owned(),
        };
        // Where a take came from ("take 2, in the style of brand-2026.png"): the picture's
        // name is the uploader's text, so it is escaped like every user field.
        let lineage = item
            .record
            .lineage
            .as_ref()
            .map(|l| (l.take, l.via.clone()))
            // A first take made from a picture: "take 1, in the style of brand-2026.png".
            .or_else(|| spec.picture.as_ref().map(|p| (1, p.via())))
            .map(|(take, via)| format!(" · take {take}, {}", escape(&truncate(&via, 120))))
            .unwrap_or_default();
        blocks.push(section(&format!(
            "*{}* · {} · {} · {}{lineage}\n{} · <{}|Open> (link expires {})",
            escape(&truncate(&spec.title(), 200)),
            spec.style,
            spec.model.display_name(),
            date_phrase(item.record.created_at),
            approval,
            item.url,
            date_phrase(item.expires_at)
        )));
    }
    blocks.push(context(
        "Only you can see this. Links are fresh, and expire like every poster link.",
    ));
    Message {
        response_type: Visibility::Ephemeral,
        text: format!("🗂️ Your latest posters ({})", items.len()),
        blocks,
        replace_original: Some(false),
    }
}

/// One print-ready file, linked.
pub struct PrintFile<'a> {
    /// "One-sheet 27×40 in".
    pub sheet: &'a str,
    pub pdf_url: &'a str,
    pub png_url: &'a str,
    /// Pixels of the PNG (and of the PDF's image), with bleed and marks.
    pub width: u32,
    pub height: u32,
}

/// The print-ready files of an approved take, shared in its thread: each sheet as PDF and PNG,
/// how they were made, and when the links expire.
pub fn prints(
    title: &str,
    take: u32,
    files: &[PrintFile<'_>],
    how: &str,
    expires_at: i64,
    uploaded: bool,
) -> Message {
    let mut lines = vec![format!(
        "🖨️ *Print-ready files* for *{}* (take {take})",
        escape(&truncate(title, 200))
    )];
    for f in files {
        lines.push(format!(
            "• {} — <{}|PDF> · <{}|PNG> ({}×{} px)",
            escape(f.sheet),
            f.pdf_url,
            f.png_url,
            f.width,
            f.height
        ));
    }
    let kept = if uploaded {
        "The PDFs are uploaded below and stay in the thread; these links"
    } else {
        "Links"
    };
    Message {
        response_type: Visibility::InChannel,
        text: format!(
            "🖨️ Print-ready files for “{}”",
            escape(&truncate(title, 200))
        ),
        blocks: vec![
            section(&lines.join("\n")),
            context(&format!(
                "{} · {kept} expire {}",
                escape(how),
                date_phrase(expires_at)
            )),
        ],
        replace_original: Some(false),
    }
}

/// One format of a take, linked.
pub struct FormatFile<'a> {
    /// "square 1:1".
    pub format: String,
    pub url: &'a str,
    pub width: u32,
    pub height: u32,
}

/// A take at the formats asked for, shared in its thread as one message: the contact sheet of
/// them and a link per file (naming each format), with when the links expire.
pub fn formats(
    title: &str,
    take: u32,
    sheet_url: &str,
    files: &[FormatFile<'_>],
    expires_at: i64,
) -> Message {
    let title = escape(&truncate(title, 200));
    let count = match files.len() {
        1 => "one format".to_owned(),
        n => format!("{n} formats"),
    };
    let mut lines = vec![format!(
        "📐 *Formats* of *{title}* (take {take}), {count} — the art extended, never cropped, and the type set afresh for each"
    )];
    for f in files {
        lines.push(format!(
            "• <{}|{}> ({}×{} px)",
            f.url,
            escape(&f.format),
            f.width,
            f.height
        ));
    }
    Message {
        response_type: Visibility::InChannel,
        text: format!("📐 Formats of “{title}”"),
        blocks: vec![
            section(&lines.join("\n")),
            json!({"type": "image", "image_url": sheet_url,
                   "alt_text": truncate(&format!("Contact sheet: {title} in {count}"), 2000)}),
            context(&format!("Links expire {}", date_phrase(expires_at))),
        ],
        replace_original: Some(false),
    }
}

/// The same poster without the image block, for when Slack could not fetch the image: the link
/// still works in a browser.
pub fn poster_link_only(result: &PosterResult<'_>, controls: Controls) -> Message {
    let mut message = poster_with(result, controls);
    message.blocks.retain(|b| b["type"] != "image");
    message
        .blocks
        .insert(1, section(&format!("🖼️ <{}|Open the poster>", result.url)));
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poster::PosterText;

    fn spec() -> PosterSpec {
        PosterSpec {
            picture: None,
            description: "a lighthouse keeper fights a <kraken> & wins".into(),
            text: PosterText {
                title: Some("The Keeper".into()),
                ..Default::default()
            },
            style: Style::Horror,
            aspect: Aspect::Portrait2x3,
            seed: None,
            avoid: None,
            model: ModelId::Sd35Large,
            typography: None,
        }
    }

    fn all_text(m: &Message) -> String {
        serde_json::to_string(m).unwrap()
    }

    fn assert_within_limits(m: &Message) {
        assert!(!m.text.is_empty());
        assert!(m.blocks.len() <= MAX_BLOCKS);
        for b in &m.blocks {
            if b["type"] == "section" {
                assert!(b["text"]["text"].as_str().unwrap().chars().count() <= MAX_SECTION_TEXT);
            }
            if b["type"] == "image" {
                assert!(b["image_url"].as_str().unwrap().len() <= MAX_IMAGE_URL);
                let alt = b["alt_text"].as_str().unwrap();
                assert!(!alt.is_empty() && alt.chars().count() <= MAX_ALT_TEXT);
            }
        }
    }

    /// A `/poster` alone whose form did not open says so first, and does not send the person
    /// to the form again in the same breath.
    #[test]
    fn a_form_that_did_not_open_is_said_before_the_usage() {
        let offer = ReviewOffer {
            modals: true,
            search_replace_micros: None,
            upscale: None,
        };
        let card = || {
            usage(
                &[ModelId::Offline],
                ModelId::Offline,
                &Limits::default(),
                &offer,
            )
        };
        let failed = all_text(&usage_when_form_failed(card()));
        assert!(
            failed.contains("didn't open the *New poster* form"),
            "{failed}"
        );
        assert!(!failed.contains("Or fill in a form"), "{failed}");
        let offered = all_text(&usage_with_form(card()));
        assert!(offered.contains("Or fill in a form"), "{offered}");
    }

    #[test]
    fn the_poster_message_is_shared_and_complete() {
        let s = spec();
        let r = PosterResult {
            spec: &s,
            requester_id: "U123",
            url: "https://bucket.s3.amazonaws.com/posters/x.png?X-Amz-Signature=abc",
            expires_at: 1_800_000_000,
            seed: 42,
            width: 832,
            height: 1216,
            controls: Some(uuid::Uuid::nil()),
            note: Some("Variation 1 of 2".into()),
            missing_glyphs: &["東".into(), "京".into()],
        };
        let m = poster(&r);
        assert_eq!(m.response_type, Visibility::InChannel);
        assert_within_limits(&m);
        let json = all_text(&m);
        for needle in [
            "<@U123>",
            "The Keeper",
            "seed 42",
            "832×1216",
            "<!date^1800000000^",
            "Stable Diffusion 3.5 Large",
            "horror",
        ] {
            assert!(json.contains(needle), "missing {needle} in {json}");
        }
        // User text is escaped for mrkdwn.
        assert!(json.contains("&lt;kraken&gt; &amp; wins"), "{json}");
        assert_eq!(m.blocks[1]["type"], "image");
        assert_eq!(m.blocks.last().unwrap()["type"], "actions");
        assert!(json.contains("Variation 1 of 2"));
        assert!(
            json.contains("can't draw 東 京, so they were left out"),
            "{json}"
        );

        let approved = approved(&r, "U7", 1_800_000_000, false);
        assert_eq!(approved.replace_original, Some(true));
        // The review controls are gone; only Print is offered on an approved poster.
        let actions: Vec<&Value> = approved
            .blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .collect();
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0]["elements"].as_array().unwrap().len(), 1);
        assert_eq!(actions[0]["elements"][0]["action_id"], "poster.print");
        assert_within_limits(&approved);
        // A take that offered Formats… still does once approved, beside Print.
        let with_formats = super::approved(&r, "U7", 1_800_000_000, true);
        let shown: Vec<&Value> = with_formats
            .blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().unwrap())
            .map(|e| &e["action_id"])
            .collect();
        assert_eq!(shown, ["poster.print", "poster.formats"]);
        let unasked = super::approved(
            &PosterResult {
                controls: None,
                ..r.clone()
            },
            "U7",
            0,
            true,
        );
        assert!(unasked.blocks.iter().all(|b| b["type"] != "actions"));
        assert!(all_text(&approved).contains("Approved* by <@U7>"));
        assert_eq!(approved.blocks[1]["type"], "image", "the poster stays");
        assert_eq!(
            approved.blocks[1]["image_url"], r.url,
            "with the link it was given"
        );
        assert_eq!(m.blocks[1]["image_url"], r.url);

        let fallback = poster_link_only(&r, Controls::default());
        assert!(fallback.blocks.iter().all(|b| b["type"] != "image"));
        assert!(all_text(&fallback).contains("Open the poster"));
        assert_within_limits(&fallback);
    }

    #[test]
    fn huge_inputs_stay_within_slacks_limits() {
        let mut s = spec();
        s.description = "ü".repeat(10_000);
        s.text.title = Some("T".repeat(5_000));
        let r = PosterResult {
            spec: &s,
            requester_id: "U1",
            url: "https://x/y.png",
            expires_at: 0,
            seed: 1,
            width: 1,
            height: 1,
            controls: Some(uuid::Uuid::nil()),
            note: None,
            missing_glyphs: &[],
        };
        assert_within_limits(&poster(&r));
        assert_within_limits(&accepted(&s));
        assert_within_limits(&failure("x", "y", &s.description));
        assert_within_limits(&invalid(&"z".repeat(5000)));
    }

    /// A retired model is never on the card, even when a caller passes it.
    #[test]
    fn the_usage_card_never_lists_a_retired_model() {
        let offer = ReviewOffer {
            modals: true,
            search_replace_micros: Some(40_000),
            upscale: None,
        };
        let m = usage(
            &[ModelId::Sd35Large, ModelId::NovaCanvas],
            ModelId::Sd35Large,
            &Limits::default(),
            &offer,
        );
        let json = all_text(&m);
        assert!(json.contains("`sd3.5`"), "{json}");
        assert!(!json.contains("`nova`"), "{json}");
        for model in ModelId::ALL.into_iter().filter(|m| !m.is_offered()) {
            assert!(
                !json.contains(&format!("`{}`", model.short_name())),
                "{json}"
            );
        }
    }

    #[test]
    fn the_usage_card_lists_styles_models_and_prices() {
        let no_token = ReviewOffer {
            modals: false,
            search_replace_micros: None,
            upscale: None,
        };
        let m = usage(
            &[ModelId::Offline, ModelId::StableImageCore],
            ModelId::StableImageCore,
            &Limits::default(),
            &no_token,
        );
        assert_eq!(m.response_type, Visibility::Ephemeral);
        assert_within_limits(&m);
        let json = all_text(&m);
        for s in Style::ALL {
            assert!(json.contains(s.name()), "{s}");
        }
        assert!(json.contains("`core` Stable Image Core ($0.04 per poster) — default"));
        assert!(json.contains("`offline` Marquee offline (free)"));
        assert!(json.contains("16:9"));
        assert!(json.contains("/poster usage") && json.contains("/poster history"));
        assert!(!json.contains("Limits here"), "no limits are set");
        // The review controls and what each costs; the modal ones say they need a token.
        assert!(json.contains("*Vary subtle / strong*"), "{json}");
        assert!(json.contains("needs Marquee's bot token"), "{json}");
        assert!(
            json.contains("*Print*") && json.contains("*free*"),
            "{json}"
        );
        let m = usage(
            &[ModelId::Sd35Large],
            ModelId::Sd35Large,
            &Limits::default(),
            &ReviewOffer {
                modals: true,
                search_replace_micros: Some(40_000),
                upscale: Some(("Stable Image Conservative Upscale", 400_000)),
            },
        );
        let json = all_text(&m);
        assert!(json.contains("re-set over the same art — *free*"), "{json}");
        assert!(
            json.contains("$0.04 per change with Stability's Search and Replace"),
            "{json}"
        );
        assert!(
            json.contains("upscaled by Stable Image Conservative Upscale: $0.40 per print"),
            "{json}"
        );

        // With limits, the card says what they are and what counts against them.
        let limits = Limits {
            user_daily: Some(5),
            channel_daily: Some(1),
            monthly_budget_micros: Some(50_000_000),
            prices: [(ModelId::StableImageCore, 45_000)].into(),
        };
        let m = usage(
            &[ModelId::Offline, ModelId::StableImageCore],
            ModelId::Offline,
            &limits,
            &no_token,
        );
        assert_within_limits(&m);
        let json = all_text(&m);
        assert!(
            json.contains("`core` Stable Image Core ($0.045 per poster)"),
            "{json}"
        );
        assert!(
            json.contains("(free, not counted against limits) — default"),
            "{json}"
        );
        assert!(
            json.contains("5 posters per person per day · 1 poster per channel per day · $50.00 per month for all of Marquee (every team and the API)"),
            "{json}"
        );
    }

    #[test]
    fn a_refusal_says_which_limit_what_is_left_and_when_it_resets() {
        let m = over_limit(LimitKind::User, 4, 5, 2, 1_800_000_000);
        assert_eq!(m.response_type, Visibility::Ephemeral);
        assert_within_limits(&m);
        let json = all_text(&m);
        assert!(json.contains("your limit of 5 posters a day"), "{json}");
        assert!(
            json.contains("You have 1 poster left today; this needs 2 posters"),
            "{json}"
        );
        assert!(json.contains("<!date^1800000000^"), "{json}");
        assert!(json.contains("Nothing was generated or charged"), "{json}");
        assert!(json.contains("This would pass your limit"), "{json}");
        let json = all_text(&over_limit(LimitKind::User, 5, 5, 1, 1));
        assert!(
            json.contains("You've reached your limit of 5 posters"),
            "{json}"
        );
        let led = over_limit(LimitKind::User, 4, 5, 5, 1).led_by("📐 *Five calls*");
        assert_within_limits(&led);
        assert!(led.text.starts_with("📐 *Five calls* 🚦"), "{}", led.text);
        assert_eq!(led.blocks[0]["text"]["text"], "📐 *Five calls*");

        let json = all_text(&over_limit(
            LimitKind::Budget,
            49_960_000,
            50_000_000,
            80_000,
            1,
        ));
        assert!(json.contains("budget of $50.00 for the month"), "{json}");
        assert!(
            json.contains("$0.04 of it is left; this needs $0.08"),
            "{json}"
        );
        let json = all_text(&over_limit(LimitKind::Channel, 20, 20, 1, 1));
        assert!(json.contains("This channel has reached its limit of 20 posters a day"));
        assert!(json.contains("It has 0 posters left today."), "{json}");
    }

    #[test]
    fn the_usage_report_shows_each_count_against_its_limit() {
        let report = UsageReport {
            user: Used {
                used: 3,
                limit: Some(5),
            },
            channel: Some(Used {
                used: 7,
                limit: None,
            }),
            spend: Used {
                used: 1_240_000,
                limit: Some(50_000_000),
            },
            day_ends: 1_800_000_000,
            month_ends: 1_800_100_000,
            free_models: vec![ModelId::Offline],
        };
        let m = usage_report(&report);
        assert_eq!(m.response_type, Visibility::Ephemeral);
        assert_within_limits(&m);
        let json = all_text(&m);
        for needle in [
            "*You*: *3* of 5 posters today (2 left) — resets <!date^1800000000^",
            "*This channel*: *7 posters* today (no limit)",
            "*$1.24* of $50.00 this month ($48.76 left) — resets <!date^1800100000^",
            "`offline` are free and not counted",
        ] {
            assert!(json.contains(needle), "missing {needle} in {json}");
        }
    }

    #[test]
    fn history_lists_posters_with_fresh_links_and_approvals() {
        let s = spec();
        let record = PosterRecord {
            id: uuid::Uuid::nil(),
            spec: s.clone(),
            requester: crate::job::Requester {
                user_id: "U1".into(),
                user_name: None,
                team_id: None,
                channel_id: None,
                ..crate::job::Requester::default()
            },
            key: "posters/x.png".into(),
            width: 832,
            height: 1248,
            missing_glyphs: vec![],
            created_at: 1_799_000_000,
            approved_by: Some("U7".into()),
            approved_at: Some(1_799_000_100),
            art_key: None,
            lineage: None,
            arrangement: None,
        };
        let mut unapproved = record.clone();
        unapproved.approved_by = None;
        unapproved.lineage = Some(crate::job::Lineage {
            root: uuid::Uuid::nil(),
            parent: uuid::Uuid::nil(),
            parent_take: 1,
            take: 2,
            via: crate::job::Change::Picture {
                usage: crate::job::PictureUse::StyleOf,
                reference: "refs/2026/12/07/x.png".into(),
                name: "brand-2026 <!here>.png".into(),
            }
            .via(),
        });
        let items = [
            HistoryItem {
                record: &record,
                url: "https://x/files/posters/x.png?exp=1&sig=a",
                expires_at: 1_800_000_000,
            },
            HistoryItem {
                record: &unapproved,
                url: "https://x/files/posters/y.png?exp=1&sig=b",
                expires_at: 1_800_000_000,
            },
        ];
        let m = history(&items);
        assert_eq!(m.response_type, Visibility::Ephemeral);
        assert_within_limits(&m);
        let json = all_text(&m);
        assert!(
            json.contains("*The Keeper* · horror · Stable Diffusion 3.5 Large"),
            "{json}"
        );
        assert!(json.contains("✅ approved by <@U7>"), "{json}");
        assert!(json.contains("not approved · <https://x/files/posters/y.png?exp=1&sig=b|Open>"));
        // History shows where a take came from, the picture's name escaped.
        assert!(
            json.contains(" · take 2, in the style of brand-2026 &lt;!here&gt;.png"),
            "{json}"
        );
        // A first take made from a picture shows it too.
        let mut from_picture = record.clone();
        from_picture.spec.picture = Some(crate::job::PictureRef {
            usage: crate::job::PictureUse::StartFrom,
            reference: "refs/2026/12/07/y.png".into(),
            name: "product.png".into(),
        });
        let shown = all_text(&history(&[HistoryItem {
            record: &from_picture,
            url: "https://x/files/posters/z.png?exp=1&sig=c",
            expires_at: 1_800_000_000,
        }]));
        assert!(
            shown.contains(" · take 1, started from product.png"),
            "{shown}"
        );
        assert!(all_text(&history(&[])).contains("no posters here yet"));
    }

    /// Every field Slack parses as mrkdwn: the top-level `text` and every `mrkdwn` text object.
    fn mrkdwn_fields(m: &Message) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if o.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                        out.extend(o.get("text").and_then(Value::as_str).map(str::to_owned));
                    }
                    o.values().for_each(|v| walk(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = vec![m.text.clone()];
        walk(&serde_json::to_value(&m.blocks).unwrap(), &mut out);
        out
    }

    #[test]
    fn hostile_user_text_is_escaped_in_every_mrkdwn_field_of_every_message() {
        for hostile in [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<https://evil.example|click>",
            "<@U123>",
            "<!subteam^S123>",
        ] {
            let mut s = spec();
            s.description = format!("a cat {hostile} & more");
            s.text.title = Some(format!("The {hostile} Keeper"));
            let result = PosterResult {
                spec: &s,
                requester_id: hostile,
                url: "https://x/y.png",
                expires_at: 1_800_000_000,
                seed: 1,
                width: 832,
                height: 1216,
                controls: Some(uuid::Uuid::nil()),
                note: Some(format!("Restyled {hostile}")),
                missing_glyphs: &["<".into(), ">".into(), "&".into()],
            };
            let posted = poster(&result);
            let messages = [
                ("accepted", accepted(&s)),
                (
                    "invalid",
                    invalid(&format!("there is no style called `{hostile}`")),
                ),
                ("failure", failure(hostile, hostile, &s.description)),
                ("poster", posted.clone()),
                (
                    "poster_link_only",
                    poster_link_only(&result, Controls::default()),
                ),
                ("approved", approved(&result, hostile, 0, true)),
                ("membership_tip", membership_tip(1_800_000_000)),
                ("note_to_clicker", note_to_clicker(hostile)),
                ("history", {
                    let record = PosterRecord {
                        id: uuid::Uuid::nil(),
                        spec: s.clone(),
                        requester: crate::job::Requester {
                            user_id: hostile.into(),
                            user_name: None,
                            team_id: None,
                            channel_id: None,
                            ..crate::job::Requester::default()
                        },
                        key: "posters/x.png".into(),
                        width: 1,
                        height: 1,
                        missing_glyphs: vec![],
                        created_at: 0,
                        approved_by: Some(hostile.into()),
                        approved_at: Some(0),
                        art_key: None,
                        lineage: None,
                        arrangement: None,
                    };
                    history(&[HistoryItem {
                        record: &record,
                        url: "https://x/y.png",
                        expires_at: 0,
                    }])
                }),
            ];
            for (name, m) in messages {
                let fields = mrkdwn_fields(&m);
                assert!(fields.len() > 1, "{name}: no mrkdwn found");
                for field in fields {
                    assert!(
                        !field.contains(hostile),
                        "{name}: user text reaches Slack's mrkdwn unescaped: {field:?}"
                    );
                    for broadcast in ["<!channel", "<!here", "<!everyone", "<!subteam"] {
                        assert!(!field.contains(broadcast), "{name}: {field:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo!", 5), "héll…");
    }
}
