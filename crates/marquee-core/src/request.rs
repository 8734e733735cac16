//! What a poster request may ask for, however it arrives: a `/poster` command or the REST
//! door. The doors parse their own syntax; both choose the model, style and aspect and check
//! the finished spec here, with the same rules and the same words for people.
//!
//! This module knows the spec and the vocabulary it is made of, nothing of Slack or HTTP.
//!
//! What a poster request may ask for, whichever door it came through: `ModelPolicy` (the models a
//! workspace allows), `choose_model`/`choose_style`/`choose_aspect`, `check_spec` and the limits,
//! with `RequestError` worded for people.

use crate::genre::Style;
use crate::job::PosterSpec;
use crate::model::{Aspect, ModelId};

/// Limits on what a user may type, chosen to stay inside every model's prompt limit (Nova
/// Canvas: 1024 characters including the style's additions) and a poster's space.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 600;
pub(crate) const MAX_TITLE_CHARS: usize = 80;
pub(crate) const MAX_TAGLINE_CHARS: usize = 140;
const MAX_CREDITS_CHARS: usize = 400;
const MAX_AVOID_CHARS: usize = 300;

/// Which models a user may pick, and which one they get when they pick none.
#[derive(Debug, Clone)]
pub struct ModelPolicy {
    pub default: ModelId,
    pub allowed: Vec<ModelId>,
}

/// A value a poster request may not have, worded for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("there is no style called `{given}`. Styles: {valid}")]
    UnknownStyle { given: String, valid: String },
    #[error("`{given}` is not a supported aspect ratio. Use one of: {valid}")]
    UnknownAspect { given: String, valid: String },
    #[error("`{given}` is not a seed: use a whole number from 0 to {max} for {model}")]
    BadSeed {
        given: String,
        max: u32,
        model: &'static str,
    },
    #[error("there is no model called `{given}` here. Models you can use: {valid}")]
    UnknownModel { given: String, valid: String },
    /// A model Marquee knows but no longer offers (the catalog's lifecycle), with what to use.
    #[error("`{given}` ({name}) {lifecycle} and is no longer offered. Use one of: {valid}")]
    RetiredModel {
        given: String,
        name: &'static str,
        lifecycle: String,
        valid: String,
    },
    #[error("the {what} is {len} characters long; the most is {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error(
        "the {what} contains an invisible control character (U+{code:04X}); type it again without it"
    )]
    ControlCharacter { what: &'static str, code: u32 },
    #[error(
        "describe the poster before the options, e.g. `/poster a lighthouse keeper fights a kraken --style horror`"
    )]
    NoDescription,
}

/// The model a user named (or the default), if this workspace allows it.
pub fn choose_model(name: Option<String>, policy: &ModelPolicy) -> Result<ModelId, RequestError> {
    let Some(name) = name else {
        return Ok(policy.default);
    };
    let valid = || {
        policy
            .allowed
            .iter()
            .filter(|m| m.is_offered())
            .map(|m| m.short_name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match ModelId::parse(&name) {
        Some(m) if !m.is_offered() => Err(RequestError::RetiredModel {
            given: name,
            name: m.display_name(),
            lifecycle: m.row().lifecycle_words(),
            valid: valid(),
        }),
        Some(m) if policy.allowed.contains(&m) => Ok(m),
        _ => Err(RequestError::UnknownModel {
            given: name,
            valid: valid(),
        }),
    }
}

/// The style a user named, or the one their description suggests.
pub fn choose_style(name: Option<String>, description: &str) -> Result<Style, RequestError> {
    let Some(name) = name else {
        return Ok(Style::guess(description));
    };
    Style::parse(&name).ok_or_else(|| RequestError::UnknownStyle {
        given: name,
        valid: Style::ALL.map(|s| s.name()).join(", "),
    })
}

/// The aspect ratio a user named, or the one-sheet's 2:3.
pub fn choose_aspect(name: Option<String>) -> Result<Aspect, RequestError> {
    let Some(given) = name else {
        return Ok(Aspect::default());
    };
    Aspect::parse(&given).ok_or_else(|| RequestError::UnknownAspect {
        given,
        valid: Aspect::ALL.map(|a| a.stability()).join(", "),
    })
}

/// Checks the limits every spec must meet, however it arrived (slash command or REST).
pub fn check_spec(spec: &PosterSpec) -> Result<(), RequestError> {
    if spec.description.trim().is_empty() {
        return Err(RequestError::NoDescription);
    }
    check_len("description", &spec.description, MAX_DESCRIPTION_CHARS)?;
    check_controls("description", &spec.description)?;
    let optional = [
        ("title", &spec.text.title, MAX_TITLE_CHARS),
        ("tagline", &spec.text.tagline, MAX_TAGLINE_CHARS),
        ("credits", &spec.text.credits, MAX_CREDITS_CHARS),
        ("--no list", &spec.avoid, MAX_AVOID_CHARS),
    ];
    for (what, value, max) in optional {
        if let Some(v) = value {
            check_len(what, v, max)?;
            check_controls(what, v)?;
        }
    }
    if let Some(seed) = spec.seed {
        if seed > spec.model.max_seed() {
            return Err(RequestError::BadSeed {
                given: seed.to_string(),
                max: spec.model.max_seed(),
                model: spec.model.short_name(),
            });
        }
    }
    Ok(())
}

fn check_len(what: &'static str, text: &str, max: usize) -> Result<(), RequestError> {
    let len = text.chars().count();
    if len > max {
        return Err(RequestError::TooLong { what, len, max });
    }
    Ok(())
}

/// Refuses control characters (C0, DEL, C1, NUL) other than tab, newline and carriage return:
/// no poster text needs them, they reach the model and the lettering as garbage, and a
/// pasted one is invisible to the user, so they are named by code point instead.
pub(crate) fn check_controls(what: &'static str, text: &str) -> Result<(), RequestError> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Some(c) => Err(RequestError::ControlCharacter {
            what,
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}
