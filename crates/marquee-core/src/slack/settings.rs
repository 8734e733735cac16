//! The workspace's brand kit and the Settings modal an admin edits it in, from the Home tab.
//!
//! [`BrandKit`] is what an installation sets for every new poster: a default credits line, a
//! house look for the type, a house palette (hex colours), the models people may choose (within
//! what the deployment offers; nothing retired), daily limits per person and per channel, and
//! who may approve. [`settings_view`] is the modal (`callback_id` [`CALLBACK_ID`]);
//! [`parse_submission`] reads its `view_submission`, and [`validate`] turns it into a kit or
//! into field errors answered with `response_action: errors`. Who submitted is read from the
//! payload's `user.id` and `user.team_id`; the view's `private_metadata` carries nothing that
//! decides anything (the worker and the door re-check admin-ness themselves).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::payload::{InteractionError, StatePart, SubmissionPayload, capitalise, org_install};
use crate::genre::Style;
use crate::job::Requester;
use crate::model::ModelId;

/// The Settings modal's `callback_id`.
pub const CALLBACK_ID: &str = "marquee.settings";
const CREDITS: &str = "marquee.settings.credits";
/// The modal's first input, under which errors about the whole form are shown.
pub const FIRST_FIELD: &str = CREDITS;
const LOOK: &str = "marquee.settings.look";
const PALETTE: &str = "marquee.settings.palette";
const MODELS: &str = "marquee.settings.models";
const PERSON_DAILY: &str = "marquee.settings.person_daily";
const CHANNEL_DAILY: &str = "marquee.settings.channel_daily";
const APPROVERS: &str = "marquee.settings.approvers";
/// Every input's `action_id`.
const VALUE: &str = "value";
/// The look option meaning "each style's own look".
const OWN_LOOK: &str = "own";
/// The longest credits line a kit may set (as `--credits` allows on the poster).
pub const MAX_CREDITS: usize = 300;
/// How many colours a house palette has at most.
pub const MAX_PALETTE: usize = 5;
/// The largest daily limit a kit may set.
const MAX_DAILY: i64 = 10_000;

/// What an installation sets for its posters. Empty fields leave the deployment's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandKit {
    /// The billing block of posters that give none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<String>,
    /// The type's look for posters that choose none (the art keeps its own style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look: Option<Style>,
    /// House colours for the type, `#RRGGBB`, upper case: the first for the title, the second
    /// for the tagline and credits (`poster::Ink`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub palette: Vec<String>,
    /// The models people may choose; empty: all the deployment offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_daily: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_daily: Option<i64>,
    /// Who may approve: user (`U…`, `W…`) and user group (`S…`) ids; empty: the deployment's
    /// rule (`MARQUEE_APPROVERS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

/// One change to a kit: who made it, when, and what changed, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitChange {
    pub by: String,
    pub at: i64,
    pub what: Vec<String>,
}

impl BrandKit {
    /// The kit in words, one line per setting that is set, for the Home tab.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(credits) = &self.credits {
            lines.push(format!(
                "Credits line: “{}”",
                super::blocks::escape(&super::blocks::truncate(credits, 200))
            ));
        }
        if let Some(look) = self.look {
            lines.push(format!(
                "House look for the type: {}",
                capitalise(look.name())
            ));
        }
        if !self.palette.is_empty() {
            lines.push(format!("House palette: {}", self.palette.join(", ")));
        }
        if !self.models.is_empty() {
            let names: Vec<String> = self
                .models
                .iter()
                .map(|m| format!("`{}`", m.short_name()))
                .collect();
            lines.push(format!("Models people may choose: {}", names.join(", ")));
        }
        if let Some(n) = self.person_daily {
            lines.push(format!("Daily limit per person: {n}"));
        }
        if let Some(n) = self.channel_daily {
            lines.push(format!("Daily limit per channel: {n}"));
        }
        if !self.approvers.is_empty() {
            lines.push(format!("Who may approve: {}", mentions(&self.approvers)));
        }
        lines
    }

    /// What changed from `old` to this kit, in words ("credits line set to …").
    pub fn changes_from(&self, old: &BrandKit) -> Vec<String> {
        let mut what = Vec::new();
        let opt = |o: Option<String>| o.unwrap_or_else(|| "the default".to_owned());
        if self.credits != old.credits {
            what.push(format!(
                "credits line → {}",
                opt(self.credits.as_ref().map(|c| format!(
                    "“{}”",
                    super::blocks::escape(&super::blocks::truncate(c, 80))
                )))
            ));
        }
        if self.look != old.look {
            what.push(format!(
                "look → {}",
                opt(self.look.map(|l| capitalise(l.name())))
            ));
        }
        if self.palette != old.palette {
            what.push(format!(
                "palette → {}",
                opt((!self.palette.is_empty()).then(|| self.palette.join(", ")))
            ));
        }
        if self.models != old.models {
            what.push(format!(
                "models → {}",
                opt((!self.models.is_empty()).then(|| self
                    .models
                    .iter()
                    .map(|m| m.short_name())
                    .collect::<Vec<_>>()
                    .join(", ")))
            ));
        }
        if self.person_daily != old.person_daily {
            what.push(format!(
                "per-person daily limit → {}",
                opt(self.person_daily.map(|n| n.to_string()))
            ));
        }
        if self.channel_daily != old.channel_daily {
            what.push(format!(
                "per-channel daily limit → {}",
                opt(self.channel_daily.map(|n| n.to_string()))
            ));
        }
        if self.approvers != old.approvers {
            what.push(format!(
                "approvers → {}",
                opt((!self.approvers.is_empty()).then(|| mentions(&self.approvers)))
            ));
        }
        what
    }
}

/// `<@U…>` for users, `<!subteam^S…>` for user groups.
fn mentions(ids: &[String]) -> String {
    ids.iter()
        .map(|id| {
            if id.starts_with('S') {
                format!("<!subteam^{id}>")
            } else {
                format!("<@{id}>")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn text_input(
    block_id: &str,
    label: &str,
    initial: Option<String>,
    hint: &str,
    max: usize,
) -> Value {
    let mut element = json!({
        "type": "plain_text_input",
        "action_id": VALUE,
        "max_length": max,
    });
    if let Some(initial) = initial.filter(|i| !i.is_empty()) {
        element["initial_value"] = json!(initial);
    }
    json!({
        "type": "input",
        "block_id": block_id,
        "optional": true,
        "label": {"type": "plain_text", "text": label},
        "hint": {"type": "plain_text", "text": hint},
        "element": element,
    })
}

/// The Settings modal for `kit`, offering the models in `offered` (the deployment's, retired
/// ones left out by the caller).
pub fn settings_view(kit: &BrandKit, offered: &[ModelId]) -> Value {
    let option = |value: &str, text: &str| json!({"text": {"type": "plain_text", "text": text}, "value": value});
    let mut looks = vec![option(OWN_LOOK, "Each style's own look")];
    looks.extend(
        Style::ALL
            .iter()
            .map(|s| option(s.name(), &capitalise(s.name()))),
    );
    let initial_look = match kit.look {
        Some(s) => option(s.name(), &capitalise(s.name())),
        None => option(OWN_LOOK, "Each style's own look"),
    };
    let offered_names: Vec<&str> = offered.iter().map(|m| m.short_name()).collect();
    json!({
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Brand kit"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "What every new poster in this workspace starts from. Changes apply to the next poster, and are listed on the Home tab with who made them."}},
            text_input(CREDITS, "Default credits line", kit.credits.clone(), "Set on posters that give no --credits.", MAX_CREDITS),
            {
                "type": "input",
                "block_id": LOOK,
                "optional": true,
                "label": {"type": "plain_text", "text": "House look for the type"},
                "element": {
                    "type": "static_select",
                    "action_id": VALUE,
                    "options": looks,
                    "initial_option": initial_look,
                },
            },
            text_input(PALETTE, "House palette", (!kit.palette.is_empty()).then(|| kit.palette.join(", ")), "Up to five hex colours, like #F4C430, #1B1B1B: the first for the title, the second for the smaller lines.", 60),
            text_input(MODELS, "Models people may choose", (!kit.models.is_empty()).then(|| kit.models.iter().map(|m| m.short_name()).collect::<Vec<_>>().join(", ")), &format!("Empty: all of {}.", offered_names.join(", ")), 200),
            text_input(PERSON_DAILY, "Daily posters per person", kit.person_daily.map(|n| n.to_string()), "Empty: the deployment's limit.", 6),
            text_input(CHANNEL_DAILY, "Daily posters per channel", kit.channel_daily.map(|n| n.to_string()), "Empty: the deployment's limit.", 6),
            text_input(APPROVERS, "Who may approve", (!kit.approvers.is_empty()).then(|| kit.approvers.join(", ")), "User ids (U…) and user group ids (S…), comma-separated. Empty: the deployment's rule.", 500),
        ],
    })
}

/// A submitted Settings modal: who submitted it, and what they typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsSubmission {
    /// `user.id`; `team_id` the installation (`view.app_installed_team_id`, else `team.id`,
    /// else `user.team_id` on an org-wide install); `user_team_id` the submitter's own
    /// workspace (`user.team_id`); `enterprise_id` an org-wide install's org.
    pub requester: Requester,
    fields: Vec<(&'static str, Option<String>)>,
}

impl SettingsSubmission {
    fn field(&self, block: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(b, _)| *b == block)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Reads a `view_submission` of the Settings modal (already verified).
pub fn parse_submission(payload: &str) -> Result<SettingsSubmission, InteractionError> {
    let p: SubmissionPayload =
        serde_json::from_str(payload).map_err(|e| InteractionError::NotJson(e.to_string()))?;
    if p.kind != "view_submission" {
        return Err(InteractionError::Unsupported(p.kind));
    }
    let user = p.user.ok_or(InteractionError::Missing("user"))?;
    let view = p.view.ok_or(InteractionError::Missing("view"))?;
    if view.callback_id.as_deref() != Some(CALLBACK_ID) {
        return Err(InteractionError::UnknownView(
            view.callback_id.unwrap_or_default(),
        ));
    }
    let state: &StatePart = view
        .state
        .as_ref()
        .ok_or(InteractionError::Missing("view.state"))?;
    let fields = [
        CREDITS,
        PALETTE,
        MODELS,
        PERSON_DAILY,
        CHANNEL_DAILY,
        APPROVERS,
    ]
    .into_iter()
    .map(|b| (b, state.text(b, VALUE)))
    .chain([(LOOK, state.choice(LOOK, VALUE).map(str::to_owned))])
    .collect();
    let installation = view
        .app_installed_team_id
        .clone()
        .or(p.team.map(|t| t.id))
        .or_else(|| user.team_id.clone());
    Ok(SettingsSubmission {
        requester: Requester {
            user_id: user.id,
            user_name: user.username.or(user.name),
            team_id: installation,
            channel_id: None,
            user_team_id: user.team_id,
            enterprise_id: org_install(p.enterprise, p.is_enterprise_install.as_ref()),
        },
        fields,
    })
}

/// Whether `text` is `#RRGGBB` (or `RRGGBB`): returned upper case with its `#`.
fn hex_colour(text: &str) -> Option<String> {
    let hex = text.trim().trim_start_matches('#');
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("#{}", hex.to_ascii_uppercase()))
}

fn is_slack_id(id: &str, prefixes: &[char]) -> bool {
    id.len() >= 3
        && id.starts_with(prefixes)
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The kit a submission asks for, or the errors to show under each field it got wrong
/// (`{"response_action": "errors", "errors": {block_id: message}}`). `offered`: the models this
/// deployment offers (retired ones already left out).
pub fn validate(sub: &SettingsSubmission, offered: &[ModelId]) -> Result<BrandKit, Value> {
    let mut errors = Map::new();
    let mut kit = BrandKit {
        credits: sub.field(CREDITS).map(str::to_owned),
        ..BrandKit::default()
    };
    if kit
        .credits
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CREDITS)
    {
        errors.insert(
            CREDITS.into(),
            json!(format!("At most {MAX_CREDITS} characters.")),
        );
    }
    match sub.field(LOOK) {
        None | Some(OWN_LOOK) => {}
        Some(name) => match Style::parse(name) {
            Some(style) => kit.look = Some(style),
            None => {
                errors.insert(LOOK.into(), json!("Choose one of the looks offered."));
            }
        },
    }
    if let Some(palette) = sub.field(PALETTE) {
        let parts: Vec<&str> = palette
            .split([',', ' '])
            .filter(|p| !p.trim().is_empty())
            .collect();
        let bad: Vec<&str> = parts
            .iter()
            .copied()
            .filter(|p| hex_colour(p).is_none())
            .collect();
        if !bad.is_empty() {
            errors.insert(
                PALETTE.into(),
                json!(format!(
                    "Not a hex colour: {}. Write colours like #F4C430.",
                    bad.join(", ")
                )),
            );
        } else if parts.len() > MAX_PALETTE {
            errors.insert(
                PALETTE.into(),
                json!(format!("At most {MAX_PALETTE} colours.")),
            );
        } else {
            kit.palette = parts.into_iter().filter_map(hex_colour).collect();
            kit.palette.dedup();
        }
    }
    if let Some(models) = sub.field(MODELS) {
        let names: Vec<&str> = models
            .split([',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let mut chosen = Vec::new();
        let mut refused = Vec::new();
        for name in names {
            match ModelId::parse(name) {
                Some(m) if offered.contains(&m) => {
                    if !chosen.contains(&m) {
                        chosen.push(m);
                    }
                }
                Some(m) if !m.is_offered() => {
                    refused.push(format!("{name} is retired"));
                }
                _ => refused.push(format!("{name} is not offered here")),
            }
        }
        if refused.is_empty() {
            kit.models = chosen;
        } else {
            let offered: Vec<&str> = offered.iter().map(|m| m.short_name()).collect();
            errors.insert(
                MODELS.into(),
                json!(format!(
                    "{}. Choose from {}.",
                    refused.join("; "),
                    offered.join(", ")
                )),
            );
        }
    }
    for (block, slot) in [
        (PERSON_DAILY, &mut kit.person_daily),
        (CHANNEL_DAILY, &mut kit.channel_daily),
    ] {
        if let Some(text) = sub.field(block) {
            match text.parse::<i64>() {
                Ok(n) if (0..=MAX_DAILY).contains(&n) => *slot = Some(n),
                _ => {
                    errors.insert(
                        block.into(),
                        json!(format!("A whole number from 0 to {MAX_DAILY}.")),
                    );
                }
            }
        }
    }
    if let Some(text) = sub.field(APPROVERS) {
        let ids: Vec<String> = text
            .split([',', ' '])
            .map(|p| {
                p.trim()
                    .trim_start_matches("<@")
                    .trim_start_matches("<!subteam^")
                    .trim_end_matches('>')
                    .split('|')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .filter(|p| !p.is_empty())
            .collect();
        let bad: Vec<&String> = ids
            .iter()
            .filter(|id| !is_slack_id(id, &['U', 'W', 'S']))
            .collect();
        if bad.is_empty() {
            kit.approvers = ids;
            kit.approvers.dedup();
        } else {
            errors.insert(
                APPROVERS.into(),
                json!(format!(
                    "Not a Slack user or user group id: {}. Use ids like U012ABCDEF or S012ABCDEF.",
                    bad.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }
    if errors.is_empty() {
        Ok(kit)
    } else {
        Err(json!({"response_action": "errors", "errors": errors}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(fields: &[(&'static str, &str)]) -> SettingsSubmission {
        SettingsSubmission {
            requester: Requester::default(),
            fields: fields
                .iter()
                .map(|(b, v)| (*b, Some((*v).to_owned())))
                .collect(),
        }
    }

    #[test]
    fn a_good_submission_is_a_kit_and_says_what_changed() {
        let offered = [ModelId::Offline];
        let kit = validate(
            &submission(&[
                (CREDITS, "A MARQUEE FILMS PRODUCTION"),
                (LOOK, "noir"),
                (PALETTE, "#f4c430, 1b1b1b"),
                (MODELS, "offline"),
                (PERSON_DAILY, "5"),
                (APPROVERS, "<@U07GRACEH>, S07DESIGN"),
            ]),
            &offered,
        )
        .unwrap();
        assert_eq!(kit.credits.as_deref(), Some("A MARQUEE FILMS PRODUCTION"));
        assert_eq!(kit.look, Some(Style::Noir));
        assert_eq!(kit.palette, ["#F4C430", "#1B1B1B"]);
        assert_eq!(kit.models, [ModelId::Offline]);
        assert_eq!(kit.person_daily, Some(5));
        assert_eq!(kit.channel_daily, None);
        assert_eq!(kit.approvers, ["U07GRACEH", "S07DESIGN"]);
        let what = kit.changes_from(&BrandKit::default());
        assert_eq!(what.len(), 6, "{what:?}");
        assert!(what[0].contains("A MARQUEE FILMS PRODUCTION"));
        assert!(kit.changes_from(&kit).is_empty());
        assert_eq!(kit.lines().len(), 6);
        // The view shows the kit as its initial values.
        let view = settings_view(&kit, &offered);
        assert_eq!(view["callback_id"], CALLBACK_ID);
        assert!(view.to_string().contains("#F4C430, #1B1B1B"));
    }

    #[test]
    fn every_bad_field_gets_its_own_error() {
        let err = validate(
            &submission(&[
                (PALETTE, "#F4C430, gold"),
                (MODELS, "offline, nova, dalle"),
                (PERSON_DAILY, "-1"),
                (CHANNEL_DAILY, "lots"),
                (APPROVERS, "U07GRACEH, #design"),
            ]),
            &[ModelId::Offline],
        )
        .unwrap_err();
        assert_eq!(err["response_action"], "errors");
        let errors = err["errors"].as_object().unwrap();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[PALETTE].as_str().unwrap().contains("gold"));
        let models = errors[MODELS].as_str().unwrap();
        assert!(models.contains("nova is retired"), "{models}");
        assert!(models.contains("dalle is not offered"), "{models}");
        assert!(errors[APPROVERS].as_str().unwrap().contains("#design"));
        let too_many = validate(
            &submission(&[(PALETTE, "#000000 #111111 #222222 #333333 #444444 #555555")]),
            &[],
        )
        .unwrap_err();
        assert!(
            too_many["errors"][PALETTE]
                .as_str()
                .unwrap()
                .contains("At most 5")
        );
    }
}
