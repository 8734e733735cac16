//! The App Home tab: what someone sees when they open Marquee in Slack's sidebar — their latest
//! posters, the team's approved ones, this month's usage (worded as `/poster usage` words it)
//! and the workspace's brand kit, with a Settings button for admins only.
//!
//! A Home tab is a view published with `views.publish`, and Slack refuses one of more than 100
//! blocks ("You can include up to 50 blocks in each message, and 100 blocks in modals or Home
//! tabs", docs.slack.dev `reference/block-kit/blocks`) or larger than 250 kB (the method's
//! `view_too_large`: "the provided view is greater than 250kb", `reference/methods/views.publish`).
//! [`home_view`] therefore lists as many of the person's posters as fit, however many they
//! have, and says how many more `/poster history` would show. This module formats; the worker
//! decides what to show and who is an admin.

use serde_json::{Value, json};

use super::blocks::{
    HistoryItem, UsageReport, context, date_phrase, escape, section, truncate, usage_report,
};
use crate::job::PosterRecord;

/// Slack's limit on the blocks of a Home tab.
pub const MAX_HOME_BLOCKS: usize = 100;
/// Slack's limit on a published view's size (`view_too_large`), in bytes of its JSON.
pub const MAX_VIEW_BYTES: usize = 250 * 1000;
/// What Marquee allows itself of [`MAX_VIEW_BYTES`]: Slack does not say whether its "250kb"
/// counts the view as sent or as stored (with `block_id`s and `emoji` keys added), so a fifth is
/// kept back.
const VIEW_BUDGET: usize = MAX_VIEW_BYTES * 4 / 5;
/// How many of the person's own posters the tab lists at most.
pub const MY_POSTERS: usize = 20;
/// How many of the team's approved posters the gallery shows.
pub const GALLERY_LEN: usize = 12;
/// The Settings button's `action_id`.
pub const SETTINGS_ACTION: &str = "marquee.home.settings";
/// The tab's first words.
const WELCOME: &str = "Make a poster with `/poster <description>`, by mentioning me in any channel or thread, or with the *Make a poster of this* shortcut on a message.";
/// How long a title may be on the tab.
const TITLE_CHARS: usize = 120;

/// One approved poster in the team's gallery, with a fresh link.
#[derive(Debug, Clone)]
pub struct GalleryItem<'a> {
    /// The approved take's record (`approved_by`, `approved_at` filled in).
    pub record: &'a PosterRecord,
    pub url: &'a str,
}

/// The workspace's brand kit as the tab shows it, and whether this person may change it.
#[derive(Debug, Clone, Default)]
pub struct KitPanel {
    /// One line per setting that differs from the deployment's defaults.
    pub lines: Vec<String>,
    /// The latest changes, newest first: "<@U…> set … (when)".
    pub changes: Vec<String>,
    /// Whether to offer the Settings button: the worker decided this person is an admin.
    pub can_edit: bool,
}

/// Everything one person's Home tab shows.
#[derive(Debug, Clone)]
pub struct HomeTab<'a> {
    /// Their latest posters, newest first (at most [`MY_POSTERS`] are shown).
    pub mine: &'a [HistoryItem<'a>],
    /// How many posters they have in all (at least `mine.len()`); `None` when more than the
    /// worker counted.
    pub mine_total: Option<usize>,
    /// The team's latest approved posters, newest first (at most [`GALLERY_LEN`] are shown).
    pub gallery: &'a [GalleryItem<'a>],
    pub usage: &'a UsageReport,
    pub kit: &'a KitPanel,
}

/// The Home tab (`{"type": "home", "blocks": [...]}`) within Slack's limits: whole sections are
/// left out of the person's own list until it fits, and the cut is said.
pub fn home_view(tab: &HomeTab<'_>) -> Value {
    let mut shown = tab.mine.len().min(MY_POSTERS);
    loop {
        let view = view_with(tab, shown);
        let blocks = view["blocks"].as_array().map_or(0, Vec::len);
        if (blocks <= MAX_HOME_BLOCKS && view.to_string().len() <= VIEW_BUDGET) || shown == 0 {
            return view;
        }
        shown -= 1;
    }
}

/// A Home tab that says only `message`'s blocks (a failure, told where the person looked).
pub fn home_note(message: &super::blocks::Message) -> Value {
    let blocks: Vec<Value> = message
        .blocks
        .iter()
        .take(MAX_HOME_BLOCKS)
        .cloned()
        .collect();
    json!({"type": "home", "blocks": blocks})
}

fn poster_line(record: &PosterRecord) -> String {
    let spec = &record.spec;
    format!(
        "*{}* · {} · {} · {}",
        escape(&truncate(&spec.title(), TITLE_CHARS)),
        spec.style,
        spec.model.display_name(),
        date_phrase(record.created_at),
    )
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": text}})
}

fn view_with(tab: &HomeTab<'_>, shown: usize) -> Value {
    let mut blocks = vec![header("🎬 Marquee")];
    let mut intro = section(WELCOME);
    if tab.kit.can_edit {
        intro["accessory"] = json!({
            "type": "button",
            "action_id": SETTINGS_ACTION,
            "text": {"type": "plain_text", "text": "⚙️ Settings"},
            "value": "settings",
        });
    }
    blocks.push(intro);
    // This month's usage, as `/poster usage` says it.
    blocks.push(json!({"type": "divider"}));
    blocks.extend(usage_report(tab.usage).blocks);
    // Their own posters.
    blocks.push(json!({"type": "divider"}));
    blocks.push(header("🗂️ Your latest posters"));
    if tab.mine.is_empty() {
        blocks.push(section(
            "You have no posters here yet — or they have passed this workspace's retention period.",
        ));
    }
    for item in tab.mine.iter().take(shown) {
        let approval = match &item.record.approved_by {
            Some(by) => format!("✅ approved by <@{}>", escape(by)),
            None => "not approved yet".to_owned(),
        };
        blocks.push(section(&format!(
            "{}\n{approval} · <{}|Open> (link expires {})",
            poster_line(item.record),
            item.url,
            date_phrase(item.expires_at),
        )));
    }
    let more = match tab.mine_total {
        Some(total) => total.saturating_sub(shown).to_string(),
        None => format!("{}+", tab.mine.len().saturating_sub(shown).max(1)),
    };
    if more != "0" {
        blocks.push(context(&format!(
            "…and {more} more — `/poster history` lists them with fresh links."
        )));
    }
    // The team's gallery.
    blocks.push(json!({"type": "divider"}));
    blocks.push(header("🏆 The team's approved posters"));
    if tab.gallery.is_empty() {
        blocks.push(section(
            "No approved posters yet. A poster's ✅ Approve button puts it here.",
        ));
    }
    for item in tab.gallery.iter().take(GALLERY_LEN) {
        let by = item
            .record
            .approved_by
            .as_deref()
            .map(|by| format!("approved by <@{}>", escape(by)))
            .unwrap_or_else(|| "approved".to_owned());
        let when = item
            .record
            .approved_at
            .map(|at| format!(" {}", date_phrase(at)))
            .unwrap_or_default();
        blocks.push(section(&format!(
            "{}\n✅ {by}{when} · by <@{}> · <{}|Open>",
            poster_line(item.record),
            escape(&item.record.requester.user_id),
            item.url,
        )));
    }
    // The brand kit, and what changed in it.
    if !tab.kit.lines.is_empty() || !tab.kit.changes.is_empty() || tab.kit.can_edit {
        blocks.push(json!({"type": "divider"}));
        blocks.push(header("🎨 This workspace's brand kit"));
        let lines = if tab.kit.lines.is_empty() {
            "The deployment's defaults: nothing is set for this workspace.".to_owned()
        } else {
            tab.kit
                .lines
                .iter()
                .map(|l| format!("• {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        blocks.push(section(&lines));
        if !tab.kit.changes.is_empty() {
            blocks.push(context(&format!(
                "Recent changes:\n{}",
                tab.kit.changes.join("\n")
            )));
        }
    }
    blocks.push(context(
        "Only you see this tab. Links are fresh each time you open it, and expire like every poster link.",
    ));
    json!({"type": "home", "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{PosterSpec, Requester};

    fn record(i: u32, title: &str) -> PosterRecord {
        PosterRecord {
            id: uuid::Uuid::from_u128(u128::from(i) + 1),
            spec: PosterSpec {
                picture: None,
                description: "a lighthouse keeper fights a kraken".into(),
                text: crate::poster::PosterText {
                    title: Some(title.into()),
                    ..Default::default()
                },
                style: crate::genre::Style::Noir,
                aspect: Default::default(),
                seed: Some(7),
                avoid: None,
                model: crate::model::ModelId::Offline,
                typography: None,
            },
            requester: Requester {
                user_id: "U07ADA".into(),
                team_id: Some("T07MARQEE".into()),
                ..Default::default()
            },
            key: format!("posters/{i}.png"),
            width: 1024,
            height: 1536,
            missing_glyphs: vec![],
            created_at: 1_764_900_000 + i64::from(i),
            approved_by: Some("U07GRACEH".into()),
            approved_at: Some(1_764_950_000),
            art_key: None,
            lineage: None,
            arrangement: None,
        }
    }

    fn usage() -> UsageReport {
        UsageReport {
            user: super::super::blocks::Used {
                used: 3,
                limit: Some(10),
            },
            channel: None,
            spend: super::super::blocks::Used {
                used: 1_200_000,
                limit: Some(50_000_000),
            },
            day_ends: 1_765_000_000,
            month_ends: 1_767_000_000,
            free_models: vec![],
        }
    }

    #[test]
    fn two_hundred_posters_with_the_longest_titles_stay_within_slacks_limits() {
        let long = "Ж".repeat(500);
        let records: Vec<PosterRecord> = (0..200).map(|i| record(i, &long)).collect();
        let url = format!(
            "https://marquee.example/p/{}?sig={}",
            "k".repeat(200),
            "s".repeat(300)
        );
        let mine: Vec<HistoryItem<'_>> = records
            .iter()
            .map(|record| HistoryItem {
                record,
                url: &url,
                expires_at: 1_765_000_000,
            })
            .collect();
        let gallery: Vec<GalleryItem<'_>> = records
            .iter()
            .take(50)
            .map(|record| GalleryItem { record, url: &url })
            .collect();
        let kit = KitPanel {
            lines: vec!["x".repeat(2000); 7],
            changes: vec!["y".repeat(300); 10],
            can_edit: true,
        };
        let view = home_view(&HomeTab {
            mine: &mine,
            mine_total: Some(200),
            gallery: &gallery,
            usage: &usage(),
            kit: &kit,
        });
        let blocks = view["blocks"].as_array().unwrap();
        assert!(blocks.len() <= MAX_HOME_BLOCKS, "{}", blocks.len());
        assert!(view.to_string().len() <= MAX_VIEW_BYTES);
        let text = view.to_string();
        assert!(text.contains("…and 180 more"), "twenty shown of 200");
        assert_eq!(text.matches("approved by <@U07GRACEH>").count(), 12 + 20);
        assert!(text.contains(SETTINGS_ACTION));
        for block in blocks {
            for t in [&block["text"]["text"], &block["elements"][0]["text"]] {
                if let Some(t) = t.as_str() {
                    assert!(t.chars().count() <= 3000, "section text over Slack's 3000");
                }
            }
        }
    }

    #[test]
    fn a_view_too_large_drops_posters_and_says_how_many() {
        // Sections as large as Slack lets one be (3,000 characters, each of three bytes here):
        // twenty of them and a gallery of twelve pass the budget.
        let url = "€".repeat(12_000);
        let records: Vec<PosterRecord> = (0..30).map(|i| record(i, "Night Shift")).collect();
        let mine: Vec<HistoryItem<'_>> = records
            .iter()
            .map(|record| HistoryItem {
                record,
                url: &url,
                expires_at: 1,
            })
            .collect();
        let gallery: Vec<GalleryItem<'_>> = records
            .iter()
            .map(|record| GalleryItem { record, url: &url })
            .collect();
        let view = home_view(&HomeTab {
            mine: &mine,
            mine_total: Some(30),
            gallery: &gallery,
            usage: &usage(),
            kit: &KitPanel::default(),
        });
        let size = view.to_string().len();
        assert!(size <= MAX_VIEW_BYTES, "{size}");
        let shown = view.to_string().matches("U07GRACEH> · <").count();
        assert!(shown < 20, "{shown}");
        assert!(
            view.to_string()
                .contains(&format!("…and {} more", 30 - shown))
        );
        assert!(!view.to_string().contains(SETTINGS_ACTION), "not an admin");
    }
}
