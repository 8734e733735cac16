//! Block Kit messages: every message Marquee shows in Slack is built here.
//!
//! Each builder returns a [`Message`] with a plain-text fallback, within Slack's limits (section
//! text ≤ 3000 characters, image URL ≤ 3000, alt text ≤ 2000, ≤ 50 blocks). This module formats;
//! it does not send and does not decide what went wrong.

use serde::Serialize;
use serde_json::{Value, json};

use crate::genre::Style;
use crate::job::PosterSpec;
use crate::model::{Aspect, ModelId};

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
pub(crate) struct Message {
    response_type: Visibility,
    /// The fallback shown in notifications and by clients that cannot render blocks. Slack
    /// parses it as mrkdwn, so every user string in it is [`escape`]d like block text: unescaped,
    /// a title of `<!channel>` would notify the whole channel.
    pub(crate) text: String,
    pub(crate) blocks: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_original: Option<bool>,
}

/// Escapes user text for Slack's `mrkdwn` (`&`, `<`, `>` are control characters there).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]})
}

/// The usage card for `/poster help` and an empty `/poster`.
pub(crate) fn usage(models: &[ModelId], default_model: ModelId) -> Message {
    let syntax = "*Make a movie poster* 🎬\n\
        `/poster <description> [--title \"…\"] [--tagline \"…\"] [--credits \"…\"] [--style NAME] [--ar W:H] [--seed N] [--no \"…\"] [--model NAME]`";
    let examples = "*Try*\n\
        • `/poster a lighthouse keeper fights a kraken, 1950s pulp`\n\
        • `/poster two rival chefs in Lyon --style comedy --title \"Too Many Cooks\"`\n\
        • `/poster a derelict starship wakes up --style sci-fi --ar 16:9 --tagline \"It remembers\"`";
    let styles = format!(
        "*Styles* (`--style`; picked from your words when omitted)\n{}",
        Style::ALL
            .iter()
            .map(|s| format!("`{}`", s.name()))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let model_lines = models
        .iter()
        .map(|m| {
            let price = if m.list_price_usd() == 0.0 {
                "free".to_owned()
            } else {
                format!("about ${:.2} per poster", m.list_price_usd())
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
    Message {
        response_type: Visibility::Ephemeral,
        text: "Usage: /poster <description> [--title \"…\"] [--style NAME] [--ar W:H] [--seed N] [--model NAME]".into(),
        blocks: vec![
            section(syntax),
            section(examples),
            json!({"type": "divider"}),
            section(&styles),
            section(&options),
            context("Titles, taglines and credits are set in real type over the art. Posters are shared with the channel; links expire."),
        ],
        replace_original: None,
    }
}

/// The immediate reply to an accepted `/poster`.
pub(crate) fn accepted(spec: &PosterSpec) -> Message {
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

/// A mistake in the user's command, with the usage line to fix it.
pub(crate) fn invalid(problem: &str) -> Message {
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
pub(crate) fn failure(headline: &str, advice: &str, description: &str) -> Message {
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
pub(crate) struct PosterResult<'a> {
    pub(crate) spec: &'a PosterSpec,
    pub(crate) requester_id: &'a str,
    pub(crate) url: &'a str,
    /// When the link stops working, as unix seconds.
    pub(crate) expires_at: i64,
    pub(crate) seed: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The poster's id, when the message should carry Regenerate / Variations / Restyle /
    /// Approve controls.
    pub(crate) controls: Option<uuid::Uuid>,
    /// A line above the details, e.g. "Variation 1 of 2" or "Restyled as noir".
    pub(crate) note: Option<String>,
    /// Characters left out of the lettering because no embedded face has them.
    pub(crate) missing_glyphs: &'a [char],
}

fn title_of(spec: &PosterSpec) -> String {
    spec.text
        .title
        .clone()
        .unwrap_or_else(|| crate::poster::default_title(&spec.description))
}

fn expiry_phrase(expires_at: i64) -> String {
    // Slack renders `<!date^…>` in the reader's own time zone, with a fallback for old clients.
    format!(
        "<!date^{expires_at}^{{date_short_pretty}} at {{time}}|{}>",
        time::OffsetDateTime::from_unix_timestamp(expires_at)
            .ok()
            .and_then(|t| t
                .format(&time::format_description::well_known::Rfc3339)
                .ok())
            .unwrap_or_else(|| expires_at.to_string())
    )
}

/// The finished poster, shared with the channel.
pub(crate) fn poster(result: &PosterResult<'_>) -> Message {
    let spec = result.spec;
    let title = title_of(spec);
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
            expiry_phrase(result.expires_at)
        )),
    ];
    if !result.missing_glyphs.is_empty() {
        let chars: String = result.missing_glyphs.iter().take(40).collect();
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
        blocks.push(crate::slack::interaction::actions_block(id, spec.style));
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
pub(crate) fn approved(result: &PosterResult<'_>, approver_id: &str, at: i64) -> Message {
    let mut message = poster(&PosterResult {
        controls: None,
        ..result.clone()
    });
    message.blocks.truncate(MAX_BLOCKS - 1);
    message.blocks.push(context(&format!(
        "✅ *Approved* by <@{}> · <!date^{at}^{{date_short_pretty}} at {{time}}|{at}>",
        escape(approver_id)
    )));
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
pub(crate) fn membership_tip(expires_at: i64) -> Message {
    let text = format!(
        "💡 Marquee isn't a member of this channel, so this poster was shared as a link that expires {}. To keep posters in the channel's history (uploaded, threaded, never expiring), invite the app once: `/invite @Marquee`.",
        expiry_phrase(expires_at)
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
pub(crate) fn delivery_unconfirmed(url: &str, expires_at: i64) -> Message {
    let text = format!(
        "⏳ Your poster is ready, but Slack didn't confirm it was posted. If it doesn't appear in the channel within a minute, <{}|here it is> (the link works until {}).",
        url,
        expiry_phrase(expires_at)
    );
    Message {
        response_type: Visibility::Ephemeral,
        text: "⏳ Your poster is ready, but Slack didn't confirm it was posted.".to_owned(),
        blocks: vec![section(&text)],
        replace_original: Some(false),
    }
}

/// Told, privately, to someone who clicks Approve on a poster someone else approved first.
pub(crate) fn already_approved(approver_id: &str, at: i64) -> Message {
    let text = format!(
        "✅ This poster was already approved by <@{}> on <!date^{at}^{{date_short_pretty}} at {{time}}|{at}>. The first approval stands.",
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
pub(crate) fn note_to_clicker(text: &str) -> Message {
    Message {
        response_type: Visibility::Ephemeral,
        text: escape(text),
        blocks: vec![section(&escape(text))],
        replace_original: Some(false),
    }
}

/// The same poster without the image block, for when Slack could not fetch the image: the link
/// still works in a browser.
pub(crate) fn poster_link_only(result: &PosterResult<'_>) -> Message {
    let mut message = poster(result);
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
            missing_glyphs: &['東', '京'],
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
            json.contains("can't draw 東京, so they were left out"),
            "{json}"
        );

        let approved = approved(&r, "U7", 1_800_000_000);
        assert_eq!(approved.replace_original, Some(true));
        assert!(approved.blocks.iter().all(|b| b["type"] != "actions"));
        assert!(all_text(&approved).contains("Approved* by <@U7>"));
        assert_eq!(approved.blocks[1]["type"], "image", "the poster stays");
        assert_eq!(
            approved.blocks[1]["image_url"], r.url,
            "with the link it was given"
        );
        assert_eq!(m.blocks[1]["image_url"], r.url);

        let fallback = poster_link_only(&r);
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

    #[test]
    fn the_usage_card_lists_styles_models_and_prices() {
        let m = usage(
            &[ModelId::Offline, ModelId::NovaCanvas],
            ModelId::NovaCanvas,
        );
        assert_eq!(m.response_type, Visibility::Ephemeral);
        assert_within_limits(&m);
        let json = all_text(&m);
        for s in Style::ALL {
            assert!(json.contains(s.name()), "{s}");
        }
        assert!(json.contains("`nova` Amazon Nova Canvas (about $0.04 per poster) — default"));
        assert!(json.contains("`offline` Marquee offline (free)"));
        assert!(json.contains("16:9"));
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
                missing_glyphs: &['<', '>', '&'],
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
                ("poster_link_only", poster_link_only(&result)),
                ("approved", approved(&result, hostile, 0)),
                ("membership_tip", membership_tip(1_800_000_000)),
                ("note_to_clicker", note_to_clicker(hostile)),
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
