//! Slash commands: the form Slack posts, and the `/poster` syntax inside its `text`.
//!
//! `/poster <description> [--title "…"] [--tagline "…"] [--credits "…"] [--style NAME]
//! [--ar W:H] [--seed N] [--no "things to avoid"] [--model NAME]`
//!
//! The parser reads what Slack really sends: straight and curly quotes, an em or en dash typed
//! for `--`, Slack's `&amp; &lt; &gt;` escaping, mentions and emoji codes left as text, any
//! Unicode. Every bad value is reported with the valid ones, before anything is generated.

use std::fmt;

use serde::Deserialize;

use crate::job::{PosterSpec, Requester};
use crate::poster::PosterText;
use crate::request::{
    ModelPolicy, RequestError, check_controls, check_spec, choose_aspect, choose_model,
    choose_style,
};

/// The fields of a slash-command POST that Marquee uses. Unknown fields are ignored, as Slack
/// adds new ones over time; a duplicated field is an error.
#[derive(Clone, Deserialize)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    #[serde(default)]
    pub(crate) user_name: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    pub response_url: String,
    /// Set on Enterprise Grid (Slack's "Implementing slash commands").
    #[serde(default)]
    pub(crate) enterprise_id: Option<String>,
    /// `true` or `false`, as a string in the form.
    #[serde(default)]
    pub(crate) is_enterprise_install: Option<String>,
    /// Opens a modal for 3 seconds (Slack's "Implementing slash commands": `trigger_id`).
    #[serde(default)]
    pub trigger_id: Option<String>,
}

impl fmt::Debug for SlashCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlashCommand")
            .field("command", &self.command)
            .field("text_len", &self.text.len())
            .field("user_id", &self.user_id)
            .field("team_id", &self.team_id)
            .field("channel_id", &self.channel_id)
            .finish_non_exhaustive()
    }
}

impl SlashCommand {
    /// The organisation of an org-wide install (`enterprise_id` when `is_enterprise_install`
    /// is `true`), whose workspaces are one installation.
    pub(crate) fn org_install(&self) -> Option<String> {
        self.enterprise_id
            .clone()
            .filter(|_| self.is_enterprise_install.as_deref() == Some("true"))
    }

    /// Parses a form-encoded body (already verified); bytes that are not UTF-8 are refused.
    pub fn from_form(body: &[u8]) -> Result<Self, crate::slack::form::FormError> {
        crate::slack::form::decode(body)
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum PosterCommand {
    Help,
    /// `/poster usage`: what the caller, their channel and their workspace have used.
    Usage,
    /// `/poster history`: the caller's latest posters.
    History,
    Poster(PosterSpec),
}

/// A mistake in what the user typed, worded for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "`--{0}` is not an option. Options: --title, --tagline, --credits, --style, --ar, --seed, --no, --model"
    )]
    UnknownFlag(String),
    #[error("`--{0}` needs a value, e.g. {1}")]
    MissingValue(&'static str, &'static str),
    #[error("`--{0}` was given twice")]
    Repeated(&'static str),
    #[error("a quote opened with {0} is never closed")]
    UnclosedQuote(char),
    /// A value the request itself may not have, whichever door it came through.
    #[error(transparent)]
    Request(#[from] RequestError),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Flag(String),
}

/// Undoes Slack's HTML escaping of `&`, `<` and `>` in command text.
pub fn unescape_slack(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '“' => Some('”'),
        '„' => Some('“'),
        '”' => Some('”'),
        '‘' => Some('’'),
        '«' => Some('»'),
        _ => None,
    }
}

fn is_dash_flag_start(chars: &[char], i: usize) -> Option<usize> {
    // `--flag`, or a dash Slack's clients substitute for `--`: `—flag`, `–flag`, `–-flag`.
    match (chars.get(i), chars.get(i + 1)) {
        (Some('-'), Some('-')) => Some(2),
        (Some('—' | '–'), Some('-')) => Some(2),
        (Some('—' | '–'), _) => Some(1),
        _ => None,
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if let Some(dashes) = is_dash_flag_start(&chars, i) {
            let start = i + dashes;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '-') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            // A bare dash between words (`a man — alone`) is text, not a flag.
            if !name.is_empty() && chars[start].is_alphabetic() {
                tokens.push(Token::Flag(name.to_lowercase()));
                i = end;
                if chars.get(i) == Some(&'=') {
                    i += 1;
                }
                continue;
            }
        }
        if let Some(close) = closing_quote(c) {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && chars[end] != close && !(close == '”' && chars[end] == '"')
            {
                end += 1;
            }
            if end >= chars.len() {
                // An apostrophe-like quote that never closes is just a character.
                if c == '\'' || c == '‘' {
                    let (word, next) = read_word(&chars, i);
                    tokens.push(Token::Word(word));
                    i = next;
                    continue;
                }
                return Err(ParseError::UnclosedQuote(c));
            }
            tokens.push(Token::Quoted(chars[start..end].iter().collect()));
            i = end + 1;
            continue;
        }
        let (word, next) = read_word(&chars, i);
        tokens.push(Token::Word(word));
        i = next;
    }
    Ok(tokens)
}

fn read_word(chars: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < chars.len() && !chars[end].is_whitespace() {
        end += 1;
    }
    (chars[start..end].iter().collect(), end)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flag {
    Title,
    Tagline,
    Credits,
    Style,
    Aspect,
    Seed,
    Avoid,
    Model,
}

impl Flag {
    fn parse(name: &str) -> Option<Flag> {
        Some(match name {
            "title" => Flag::Title,
            "tagline" => Flag::Tagline,
            "credits" | "billing" => Flag::Credits,
            "style" | "genre" => Flag::Style,
            "ar" | "aspect" | "aspect-ratio" => Flag::Aspect,
            "seed" => Flag::Seed,
            "no" | "avoid" | "negative" => Flag::Avoid,
            "model" => Flag::Model,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Flag::Title => "title",
            Flag::Tagline => "tagline",
            Flag::Credits => "credits",
            Flag::Style => "style",
            Flag::Aspect => "ar",
            Flag::Seed => "seed",
            Flag::Avoid => "no",
            Flag::Model => "model",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Flag::Title => "--title \"The Last Light\"",
            Flag::Tagline => "--tagline \"The sea wants him back\"",
            Flag::Credits => "--credits \"Directed by Ada Park\"",
            Flag::Style => "--style noir",
            Flag::Aspect => "--ar 2:3",
            Flag::Seed => "--seed 42",
            Flag::Avoid => "--no \"people, cars\"",
            Flag::Model => "--model core",
        }
    }

    /// Free-text flags take every word up to the next flag; the others take one token.
    fn is_free_text(self) -> bool {
        matches!(
            self,
            Flag::Title | Flag::Tagline | Flag::Credits | Flag::Avoid
        )
    }
}

/// Parses the text after `/poster`.
pub fn parse(text: &str, policy: &ModelPolicy) -> Result<PosterCommand, ParseError> {
    // Checked before anything else: the tokenizer treats some control characters (VT, FF, NEL)
    // as spaces and would hide them.
    check_controls("command", text)?;
    let text = unescape_slack(text);
    let trimmed = text.trim();
    if trimmed.is_empty()
        || ["help", "-h", "--help", "?"]
            .iter()
            .any(|h| trimmed.eq_ignore_ascii_case(h))
    {
        return Ok(PosterCommand::Help);
    }
    // One word on its own is a command; the same word in a description is just a word.
    if trimmed.eq_ignore_ascii_case("usage") {
        return Ok(PosterCommand::Usage);
    }
    if trimmed.eq_ignore_ascii_case("history") {
        return Ok(PosterCommand::History);
    }

    let tokens = tokenize(trimmed)?;
    let mut description: Vec<String> = Vec::new();
    let mut values: Vec<(Flag, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Word(w) | Token::Quoted(w) => {
                description.push(w.clone());
                i += 1;
            }
            Token::Flag(name) => {
                let flag =
                    Flag::parse(name).ok_or_else(|| ParseError::UnknownFlag(name.clone()))?;
                if values.iter().any(|(f, _)| *f == flag) {
                    return Err(ParseError::Repeated(flag.name()));
                }
                i += 1;
                let value = match tokens.get(i) {
                    Some(Token::Quoted(q)) => {
                        i += 1;
                        q.clone()
                    }
                    Some(Token::Word(w)) if flag.is_free_text() => {
                        let mut words = vec![w.clone()];
                        i += 1;
                        while let Some(Token::Word(w)) = tokens.get(i) {
                            words.push(w.clone());
                            i += 1;
                        }
                        words.join(" ")
                    }
                    Some(Token::Word(w)) => {
                        i += 1;
                        w.clone()
                    }
                    Some(Token::Flag(_)) | None => {
                        return Err(ParseError::MissingValue(flag.name(), flag.example()));
                    }
                };
                let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
                if value.is_empty() {
                    return Err(ParseError::MissingValue(flag.name(), flag.example()));
                }
                values.push((flag, value));
            }
        }
    }

    let description = description.join(" ");
    if description.is_empty() {
        return Err(RequestError::NoDescription.into());
    }
    let get = |flag: Flag| {
        values
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, v)| v.clone())
    };

    let model = choose_model(get(Flag::Model), policy)?;
    let style = choose_style(get(Flag::Style), &description)?;
    let aspect = choose_aspect(get(Flag::Aspect))?;
    let seed = match get(Flag::Seed) {
        None => None,
        Some(given) => {
            let bad = || RequestError::BadSeed {
                given: given.clone(),
                max: model.max_seed(),
                model: model.short_name(),
            };
            let n: u32 = given.parse().map_err(|_| bad())?;
            if n > model.max_seed() {
                return Err(bad().into());
            }
            Some(n)
        }
    };
    let text = PosterText {
        title: get(Flag::Title),
        tagline: get(Flag::Tagline),
        credits: get(Flag::Credits),
    };
    let spec = PosterSpec {
        picture: None,
        description,
        text,
        style,
        aspect,
        seed,
        avoid: get(Flag::Avoid),
        model,
        typography: None,
    };
    check_spec(&spec)?;
    Ok(PosterCommand::Poster(spec))
}

impl From<&SlashCommand> for Requester {
    fn from(c: &SlashCommand) -> Self {
        Requester {
            user_id: c.user_id.clone(),
            user_name: c.user_name.clone(),
            team_id: c.team_id.clone(),
            channel_id: c.channel_id.clone(),
            user_team_id: None,
            enterprise_id: c.org_install(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genre::Style;
    use crate::model::{Aspect, ModelId};
    use crate::request::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};

    fn policy() -> ModelPolicy {
        ModelPolicy {
            default: ModelId::Offline,
            allowed: vec![
                ModelId::Offline,
                ModelId::StableImageCore,
                ModelId::Sd35Large,
            ],
        }
    }

    fn spec(text: &str) -> PosterSpec {
        match parse(text, &policy()) {
            Ok(PosterCommand::Poster(s)) => s,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    fn err(text: &str) -> ParseError {
        match parse(text, &policy()) {
            Err(e) => e,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    /// A mistake in the request itself rather than in the command's syntax.
    fn invalid(text: &str) -> RequestError {
        match err(text) {
            ParseError::Request(e) => e,
            other => panic!("{text:?} gave the syntax error {other:?}"),
        }
    }

    #[test]
    fn help_and_empty_text_ask_for_help() {
        for t in ["", "   ", "help", "HELP", "--help", "-h", "?"] {
            assert_eq!(parse(t, &policy()), Ok(PosterCommand::Help), "{t:?}");
        }
    }

    #[test]
    fn usage_and_history_are_commands_only_on_their_own() {
        for t in ["usage", " USAGE ", "Usage"] {
            assert_eq!(parse(t, &policy()), Ok(PosterCommand::Usage), "{t:?}");
        }
        for t in ["history", "History\t"] {
            assert_eq!(parse(t, &policy()), Ok(PosterCommand::History), "{t:?}");
        }
        // In a description, or with options, they are words of the poster.
        assert_eq!(
            spec("usage of water in the desert").description,
            "usage of water in the desert"
        );
        assert_eq!(spec("history --style noir").description, "history");
        assert_eq!(spec("\"usage\"").description, "usage");
    }

    #[test]
    fn a_plain_description_takes_the_defaults() {
        let s = spec("a lighthouse keeper fights a kraken, 1950s pulp");
        assert_eq!(
            s.description,
            "a lighthouse keeper fights a kraken, 1950s pulp"
        );
        assert_eq!(s.model, ModelId::Offline);
        assert_eq!(s.aspect, Aspect::Portrait2x3);
        assert_eq!(s.style, Style::Horror, "kraken reads as horror");
        assert_eq!(s.seed, None);
        assert!(s.text.is_empty());
    }

    #[test]
    fn every_flag_is_read() {
        let s = spec(
            "a detective in the rain --title \"The Long Night\" --tagline 'Nobody sleeps' \
             --credits \"Directed by Ada Park\" --style noir --ar 16:9 --seed 42 \
             --no \"colour, text\" --model core",
        );
        assert_eq!(s.description, "a detective in the rain");
        assert_eq!(s.text.title.as_deref(), Some("The Long Night"));
        assert_eq!(s.text.tagline.as_deref(), Some("Nobody sleeps"));
        assert_eq!(s.text.credits.as_deref(), Some("Directed by Ada Park"));
        assert_eq!(s.style, Style::Noir);
        assert_eq!(s.aspect, Aspect::Landscape16x9);
        assert_eq!(s.seed, Some(42));
        assert_eq!(s.avoid.as_deref(), Some("colour, text"));
        assert_eq!(s.model, ModelId::StableImageCore);
    }

    #[test]
    fn curly_quotes_and_dashes_from_slack_clients_work() {
        let s = spec(
            "a detective — alone in the rain —title “The Long Night” –tagline ‘Nobody sleeps’ —style Noir",
        );
        assert_eq!(s.description, "a detective — alone in the rain");
        assert_eq!(s.text.title.as_deref(), Some("The Long Night"));
        assert_eq!(s.text.tagline.as_deref(), Some("Nobody sleeps"));
        assert_eq!(s.style, Style::Noir);
    }

    #[test]
    fn unquoted_free_text_runs_to_the_next_flag_and_equals_is_accepted() {
        let s = spec("--style=western a lone rider --title The   Last Ride --seed=7 dusty town");
        assert_eq!(s.text.title.as_deref(), Some("The Last Ride"));
        assert_eq!(s.seed, Some(7));
        assert_eq!(s.description, "a lone rider dusty town");
        assert_eq!(s.style, Style::Western);
    }

    #[test]
    fn slack_escaping_mentions_emoji_and_unicode_survive() {
        let s = spec("Tom &amp; Jerry &lt;3 <@U123ABC> :rocket: 東京の夜 café --title “Ça va?”");
        assert_eq!(
            s.description,
            "Tom & Jerry <3 <@U123ABC> :rocket: 東京の夜 café"
        );
        assert_eq!(s.text.title.as_deref(), Some("Ça va?"));
    }

    #[test]
    fn apostrophes_inside_words_are_not_quotes() {
        let s = spec("don't look back, it's 'the end' of the world's last day");
        assert_eq!(
            s.description,
            "don't look back, it's the end of the world's last day"
        );
    }

    #[test]
    fn bad_values_name_the_problem_and_the_choices() {
        let e = invalid("a cat --style musical");
        assert!(matches!(&e, RequestError::UnknownStyle { given, .. } if given == "musical"));
        assert!(e.to_string().contains("noir"), "{e}");

        let e = invalid("a cat --ar 7:3");
        assert!(
            e.to_string().contains("2:3") && e.to_string().contains("7:3"),
            "{e}"
        );

        let e = invalid("a cat --model dalle");
        assert!(e.to_string().contains("offline, core, sd3.5"), "{e}");
        // A real model that this workspace does not allow is refused the same way.
        assert!(matches!(
            invalid("a cat --model ultra"),
            RequestError::UnknownModel { .. }
        ));

        assert!(matches!(
            invalid("a cat --seed -1"),
            RequestError::BadSeed { .. }
        ));
        assert!(matches!(
            invalid("a cat --seed lucky"),
            RequestError::BadSeed { .. }
        ));
        // Nova Canvas reached end of life: refused by name, with its date and what to use
        // instead, even where an old configuration still lists it.
        let mut with_nova = policy();
        with_nova.allowed.push(ModelId::NovaCanvas);
        let e = parse("a cat --model nova", &with_nova).unwrap_err();
        let ParseError::Request(e) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(e, RequestError::RetiredModel { .. }), "{e}");
        let words = e.to_string();
        assert!(
            words.contains("Amazon Nova Canvas")
                && words.contains("2026-09-30")
                && words.contains("offline, core, sd3.5")
                && !words.contains("nova,"),
            "{words}"
        );
        assert_eq!(
            spec("a cat --model sd3.5 --seed 4294967294").seed,
            Some(4_294_967_294)
        );

        assert_eq!(
            err("a cat --color red"),
            ParseError::UnknownFlag("color".into())
        );
        assert_eq!(
            err("a cat --title"),
            ParseError::MissingValue("title", Flag::Title.example())
        );
        assert_eq!(
            err("a cat --title --style noir").to_string(),
            err("a cat --title").to_string()
        );
        assert_eq!(err("a cat --seed 1 --seed 2"), ParseError::Repeated("seed"));
        assert_eq!(invalid("--style noir"), RequestError::NoDescription);
        assert_eq!(
            err("a cat --title \"unclosed"),
            ParseError::UnclosedQuote('"')
        );
    }

    #[test]
    fn lengths_are_limited() {
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert!(matches!(
            invalid(&long),
            RequestError::TooLong {
                what: "description",
                ..
            }
        ));
        let title = format!("a cat --title \"{}\"", "é".repeat(MAX_TITLE_CHARS + 1));
        assert!(matches!(
            invalid(&title),
            RequestError::TooLong { what: "title", .. }
        ));
        // Characters, not bytes, are counted.
        let ok = format!("a cat --title \"{}\"", "é".repeat(MAX_TITLE_CHARS));
        assert!(spec(&ok).text.title.is_some());
    }

    #[test]
    fn control_characters_are_refused_and_named_but_tabs_and_newlines_are_text() {
        for c in [
            '\0', '\u{1}', '\u{b}', '\u{c}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}',
        ] {
            let e = invalid(&format!("a cat{c} --style noir"));
            assert_eq!(
                e,
                RequestError::ControlCharacter {
                    what: "command",
                    code: u32::from(c)
                }
            );
            assert!(
                e.to_string().contains(&format!("U+{:04X}", u32::from(c))),
                "{e}"
            );
        }
        assert_eq!(spec("a cat\ton a\r\nmat").description, "a cat on a mat");
        // Specs that arrive another way (the REST door) are held to the same rule.
        let mut s = spec("a cat");
        s.text.tagline = Some("bell\u{7}".into());
        assert!(matches!(
            check_spec(&s),
            Err(RequestError::ControlCharacter {
                what: "tagline",
                code: 7
            })
        ));
    }

    #[test]
    fn the_form_slack_posts_is_read() {
        let body = "token=x&team_id=T1&team_domain=d&channel_id=C1&channel_name=general&user_id=U1&user_name=ada&command=%2Fposter&text=a+cat+--style+noir&api_app_id=A1&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F1%2Fabc&trigger_id=1.2.3";
        let c = SlashCommand::from_form(body.as_bytes()).unwrap();
        assert_eq!(c.command, "/poster");
        assert_eq!(c.text, "a cat --style noir");
        assert_eq!(c.user_id, "U1");
        assert_eq!(c.response_url, "https://hooks.slack.com/commands/T1/1/abc");
        assert!(!format!("{c:?}").contains("hooks.slack.com"));
        // Missing required fields, duplicated fields and bytes that are not UTF-8 are errors.
        assert!(SlashCommand::from_form(b"command=%2Fposter&text=x").is_err());
        let not_utf8 = body.replace("text=a+cat+--style+noir", "text=%ff%fe%00");
        assert!(matches!(
            SlashCommand::from_form(not_utf8.as_bytes()),
            Err(crate::slack::form::FormError::NotUtf8 { field }) if field == "text"
        ));
        let dup = format!("{body}&user_id=U2");
        assert!(SlashCommand::from_form(dup.as_bytes()).is_err());
    }

    /// A poster made from an org-wide install belongs to the whole org: its requester keeps
    /// the org, so members of the org's other workspaces act on it as members.
    #[test]
    fn an_org_wide_install_is_read_from_the_form() {
        let org = SlashCommand::from_form(
            include_str!("../../../../tests/fixtures/slack/slash_command_org_install.form")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(org.team_id.as_deref(), Some("T07STUDIO"));
        assert_eq!(org.org_install().as_deref(), Some("E07MARQORG"));
        let plain = SlashCommand::from_form(
            include_str!("../../../../tests/fixtures/slack/slash_command.form").as_bytes(),
        )
        .unwrap();
        assert_eq!(plain.org_install(), None);
    }
}
