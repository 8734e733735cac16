//! Judging the front door (unsigned refused, the stored secret accepted) and the installed Slack
//! manifest (this deployment's URLs, the events and the shortcut the code answers).

use std::collections::BTreeMap;

use super::Verdict;
use crate::doctor::hints::{self, fill};

/// What the front door answered: to a request without a signature, and (when the answer was
/// 401 and a signing secret was read) to one signed with the stored secret. `Err`: no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) struct FrontDoorFacts {
    pub(in crate::doctor) url: String,
    pub(in crate::doctor) unsigned: Result<u16, String>,
    pub(in crate::doctor) signed: Option<Result<u16, String>>,
}

/// The front-door check: unsigned requests are refused (401) and a request signed with the
/// stored secret is accepted (400: verified, but not a command). `vars` fill the hints.
pub(in crate::doctor) fn front_door(facts: &FrontDoorFacts, vars: &[(&str, &str)]) -> Verdict {
    let url = &facts.url;
    match &facts.unsigned {
        Err(why) => {
            return Verdict::fail(
                format!("{url} did not answer: {why}"),
                fill(hints::FRONT_DOOR_UNREACHABLE, vars),
            );
        }
        Ok(401) => {}
        Ok(other) => {
            return Verdict::fail(
                format!("an unsigned request to {url} got {other}, not 401"),
                fill(hints::FRONT_DOOR_NOT_MARQUEE, vars),
            );
        }
    }
    match &facts.signed {
        None => Verdict::pass(format!("{url} refuses unsigned requests (401)")),
        Some(Ok(400)) => Verdict::pass(format!(
            "{url} refuses unsigned requests (401) and accepts the stored signing secret"
        )),
        Some(Ok(401)) => Verdict::fail(
            "a request signed with the stored signing secret was refused (401): the running \
             function holds another secret"
                .to_owned(),
            fill(hints::FRONT_DOOR_SECRET, vars),
        ),
        Some(Ok(other)) => Verdict::fail(
            format!("a signed request that is not a command got {other}, not 400"),
            fill(hints::FRONT_DOOR_OTHER, vars),
        ),
        Some(Err(why)) => Verdict::fail(
            format!("{url} did not answer a signed request: {why}"),
            fill(hints::FRONT_DOOR_OTHER, vars),
        ),
    }
}

/// The deployment's base URL (the `HttpApiUrl` output), from the slash command's URL.
pub(in crate::doctor) fn base_url(outputs: &BTreeMap<String, String>) -> &str {
    let command = outputs
        .get("SlashCommandUrl")
        .map(String::as_str)
        .unwrap_or_default();
    command.strip_suffix("/slack/commands").unwrap_or(command)
}

/// The manifest check: `text` (the file at `path`, or why it could not be read) sends Slack's
/// requests to this deployment's URLs, subscribes to the events the code answers and declares
/// the message shortcut.
pub(in crate::doctor) fn manifest(
    text: Result<&str, String>,
    path: &str,
    stack: &str,
    outputs: &BTreeMap<String, String>,
) -> Verdict {
    use marquee_core::slack::manifest as m;
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            return Verdict::fail(
                format!("could not read {path}: {e}"),
                fill(hints::MANIFEST_UNREADABLE, &[("stack", stack)]),
            );
        }
    };
    let urls = m::request_urls(text);
    let mut wrong = Vec::new();
    for (what, have, output) in [
        ("the /poster command's url", urls.command, "SlashCommandUrl"),
        (
            "interactivity's request_url",
            urls.interactivity,
            "InteractivityUrl",
        ),
        ("event_subscriptions' request_url", urls.events, "EventsUrl"),
    ] {
        let Some(want) = outputs.get(output) else {
            wrong.push(format!(
                "the stack has no {output} output (deploy this version)"
            ));
            continue;
        };
        match have {
            Some(h) if &h == want => {}
            Some(h) => wrong.push(format!("{what} is {h}, the stack's {output} is {want}")),
            None => wrong.push(format!("{what} is missing")),
        }
    }
    // What the events door and the shortcut need Slack to send (the scopes are checked
    // against the bot token under slack.auth).
    let events = m::bot_events(text);
    for event in m::bot_events(m::MANIFEST_TEMPLATE) {
        if !events.contains(&event) {
            // Workflow steps need a paid plan: a manifest without them works everywhere else.
            if event == "function_executed" {
                continue;
            }
            let unanswered = match event.as_str() {
                "app_home_opened" => "the Home tab is never published",
                _ => "mentions and direct messages go unanswered",
            };
            wrong.push(format!(
                "it does not subscribe to the {event} event ({unanswered})"
            ));
        }
    }
    if !text.lines().any(|l| l.trim() == "home_tab_enabled: true") {
        wrong.push(
            "its app_home does not set home_tab_enabled: true (Slack refuses to publish the Home tab: not_enabled)"
                .to_owned(),
        );
    }
    let shortcuts = m::shortcut_callbacks(text);
    if !shortcuts
        .iter()
        .any(|c| c == marquee_core::slack::shortcut::CALLBACK_ID)
    {
        wrong.push(format!(
            "it has no message shortcut with callback_id {}",
            marquee_core::slack::shortcut::CALLBACK_ID
        ));
    }
    if wrong.is_empty() {
        Verdict::pass(
            "its request URLs are this deployment's; events and the shortcut are declared"
                .to_owned(),
        )
    } else {
        Verdict::fail(
            wrong.join("; "),
            fill(hints::MANIFEST_WRONG, &[("HttpApiUrl", base_url(outputs))]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    /// Unsigned refused (401) and the stored secret accepted (400: verified, not a command)
    /// pass; another secret in the running function, another service at the URL, or no answer
    /// each fail with their own fix.
    #[test]
    fn the_front_door_must_refuse_unsigned_and_accept_the_stored_secret() {
        let url = "https://abc.execute-api.us-east-1.amazonaws.com/slack/commands";
        let vars = [("stack", "marquee"), ("HttpApiUrl", "https://abc")];
        let facts =
            |unsigned: Result<u16, &str>, signed: Option<Result<u16, &str>>| FrontDoorFacts {
                url: url.into(),
                unsigned: unsigned.map_err(str::to_owned),
                signed: signed.map(|s| s.map_err(str::to_owned)),
            };
        for (facts, status, detail, hint) in [
            (
                facts(Ok(401), Some(Ok(400))),
                Status::Pass,
                "refuses unsigned requests (401) and accepts the stored signing secret",
                "",
            ),
            (
                facts(Ok(401), None),
                Status::Pass,
                "refuses unsigned requests (401)",
                "",
            ),
            (
                facts(Ok(401), Some(Ok(401))),
                Status::Fail,
                "the running function holds another secret",
                hints::FRONT_DOOR_SECRET,
            ),
            (
                facts(Ok(200), None),
                Status::Fail,
                "got 200, not 401",
                hints::FRONT_DOOR_NOT_MARQUEE,
            ),
            (
                facts(Ok(401), Some(Ok(500))),
                Status::Fail,
                "got 500, not 400",
                hints::FRONT_DOOR_OTHER,
            ),
            (
                facts(Ok(401), Some(Err("timed out"))),
                Status::Fail,
                "did not answer a signed request: timed out",
                hints::FRONT_DOOR_OTHER,
            ),
            (
                facts(Err("connection refused"), None),
                Status::Fail,
                "did not answer: connection refused",
                hints::FRONT_DOOR_UNREACHABLE,
            ),
        ] {
            let verdict = front_door(&facts, &vars);
            assert_eq!(verdict.status, status, "{verdict:?}");
            assert!(verdict.detail.contains(detail), "{detail}: {verdict:?}");
            assert_eq!(verdict.fix, fill(hint, &vars));
            assert!(!verdict.fix.contains("<stack>"), "{verdict:?}");
        }
    }

    fn manifest_outputs(base: &str) -> BTreeMap<String, String> {
        [
            ("SlashCommandUrl", "/slack/commands"),
            ("InteractivityUrl", "/slack/interactions"),
            ("EventsUrl", "/slack/events"),
        ]
        .into_iter()
        .map(|(k, path)| (k.to_owned(), format!("{base}{path}")))
        .collect()
    }

    /// The installed manifest must send Slack's requests to this deployment and declare the
    /// events and the shortcut the code answers.
    #[test]
    fn a_manifest_for_another_deployment_fails_the_manifest_check() {
        use marquee_core::slack::manifest as m;
        let ours = "https://ours.execute-api.us-east-1.amazonaws.com";
        let outputs = manifest_outputs(ours);
        let text = m::render(ours).unwrap();
        let verdict = manifest(Ok(&text), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.status, Status::Pass, "{verdict:?}");
        // Slack's own request URLs use the outputs' exact paths (checked above by the pass).

        let other = m::render("https://abc123.execute-api.us-west-2.amazonaws.com").unwrap();
        let verdict = manifest(Ok(&other), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.detail.contains("abc123.execute-api"),
            "{}",
            verdict.detail
        );
        assert_eq!(
            verdict.fix,
            fill(hints::MANIFEST_WRONG, &[("HttpApiUrl", ours)])
        );

        let shortcut = marquee_core::slack::shortcut::CALLBACK_ID;
        let without_shortcut = text.replace(shortcut, "something_else");
        let verdict = manifest(Ok(&without_shortcut), "m.yaml", "marquee", &outputs);
        assert!(
            verdict
                .detail
                .contains(&format!("no message shortcut with callback_id {shortcut}")),
            "{}",
            verdict.detail
        );

        // The workflow step is optional (it needs a paid plan): a manifest without its event
        // passes; one without a mention's event does not.
        let without_step = text.replace("      - function_executed\n", "");
        assert_ne!(without_step, text);
        let verdict = manifest(Ok(&without_step), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.status, Status::Pass, "{verdict:?}");
        let without_mentions = text.replace("      - app_mention\n", "");
        let verdict = manifest(Ok(&without_mentions), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.status, Status::Fail, "{verdict:?}");

        let mut older = outputs.clone();
        older.remove("EventsUrl");
        let verdict = manifest(Ok(&text), "m.yaml", "marquee", &older);
        assert!(
            verdict.detail.contains("the stack has no EventsUrl output"),
            "{}",
            verdict.detail
        );

        let verdict = manifest(Err("No such file".into()), "m.yaml", "marquee", &outputs);
        assert_eq!(verdict.detail, "could not read m.yaml: No such file");
        assert_eq!(
            verdict.fix,
            fill(hints::MANIFEST_UNREADABLE, &[("stack", "marquee")])
        );
    }
}
