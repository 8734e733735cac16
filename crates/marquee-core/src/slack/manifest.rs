//! The Slack app manifest, filled in for one deployment.
//!
//! `manifest/manifest.yaml` is the single source of the app's Slack-side shape: the `/poster`
//! command, the interactivity endpoint, the bot scopes. It carries a placeholder base URL;
//! [`render`] checks the deployment's base URL (the `HttpApiUrl` stack output) and puts it in
//! place of every placeholder, so an admin pastes the result straight into Slack's "Create an
//! app from a manifest" dialog.
//!
//! This module knows the manifest's text and what a usable base URL looks like. It must not
//! know how requests are routed or verified (that is `http` and `slack::verify`); the drift
//! test in `tests/it/deploy.rs` checks that the routes named here exist in the router.

use thiserror::Error;

/// The manifest exactly as kept in the repository, placeholders included.
pub const MANIFEST_TEMPLATE: &str = include_str!("../../../../manifest/manifest.yaml");

/// The base URL the template uses wherever the deployment's URL belongs. It is shaped like a
/// real API Gateway URL so the unrendered file still reads naturally.
pub const PLACEHOLDER_BASE_URL: &str = "https://YOUR-API.execute-api.REGION.amazonaws.com";

/// Why a base URL cannot go into the manifest.
#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("{input:?} is not a URL")]
    NotAUrl {
        input: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{input:?} uses {scheme}:// but Slack only calls https:// request URLs")]
    NotHttps { input: String, scheme: String },
    #[error("{input:?} has no host name")]
    NoHost { input: String },
    #[error("{input:?} must not carry a user name or password")]
    HasCredentials { input: String },
    #[error("{input:?} must not have a query string or fragment; give the API's base URL only")]
    HasQueryOrFragment { input: String },
    #[error(
        "{input:?} has the path {path:?}; give the API's base URL (the HttpApiUrl stack output), \
         optionally followed by one stage name such as /prod, not a route"
    )]
    PathNotAllowed { input: String, path: String },
    #[error("the rendered manifest still contains the placeholder {placeholder:?}")]
    PlaceholderLeft { placeholder: &'static str },
}

/// Returns the manifest with `base_url` in place of every placeholder.
///
/// `base_url` must be `https://host[:port]`, optionally followed by a single stage segment
/// (`/prod`) for APIs that are not served from the default stage; one trailing slash is
/// ignored. Anything else (a route such as `/slack/commands`, a query, credentials) is refused
/// because Slack would then call a URL the API does not serve.
pub fn render(base_url: &str) -> Result<String, ManifestError> {
    let base = normalize_base_url(base_url)?;
    let rendered = MANIFEST_TEMPLATE.replace(PLACEHOLDER_BASE_URL, &base);
    // A template edit that mistypes the placeholder would otherwise ship a manifest pointing
    // at a host that does not exist; catch it here rather than in Slack's error dialog.
    for placeholder in ["YOUR-API", PLACEHOLDER_BASE_URL] {
        if rendered.contains(placeholder) {
            return Err(ManifestError::PlaceholderLeft { placeholder });
        }
    }
    Ok(rendered)
}

/// The bot scopes a manifest asks for (the `bot:` list under `oauth_config.scopes`), read as
/// lines: the manifest is YAML written by us, and this is all that is needed of it.
pub fn bot_scopes(manifest: &str) -> Vec<String> {
    let mut scopes = Vec::new();
    let mut in_bot = false;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed == "bot:" {
            in_bot = true;
        } else if in_bot {
            match trimmed.strip_prefix("- ") {
                Some(scope) => scopes.push(scope.trim().to_owned()),
                None if trimmed.is_empty() || trimmed.starts_with('#') => {}
                None => break,
            }
        }
    }
    scopes
}

/// The request URLs a manifest gives Slack (`None` where a manifest has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrls {
    /// The `/poster` command's `url`.
    pub command: Option<String>,
    /// `settings.interactivity.request_url`.
    pub interactivity: Option<String>,
    /// `settings.event_subscriptions.request_url`.
    pub events: Option<String>,
}

fn value(line: &str, key: &str) -> Option<String> {
    line.trim()
        .trim_start_matches("- ")
        .strip_prefix(key)
        .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
}

/// The lines of the block under `section:` (those indented deeper than it).
fn section<'a>(manifest: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = manifest.lines();
    let Some(start) = lines.by_ref().find(|l| l.trim() == name) else {
        return Vec::new();
    };
    let indent = start.len() - start.trim_start().len();
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .collect()
}

/// The request URLs a manifest gives Slack.
pub fn request_urls(manifest: &str) -> RequestUrls {
    let within = |name: &str| {
        section(manifest, name)
            .into_iter()
            .find_map(|l| value(l, "request_url:"))
    };
    RequestUrls {
        command: manifest.lines().find_map(|l| value(l, "url:")),
        interactivity: within("interactivity:"),
        events: within("event_subscriptions:"),
    }
}

/// The bot events a manifest subscribes to (`settings.event_subscriptions.bot_events`).
pub fn bot_events(manifest: &str) -> Vec<String> {
    section(manifest, "bot_events:")
        .into_iter()
        .filter_map(|l| l.trim().strip_prefix("- ").map(|e| e.trim().to_owned()))
        .collect()
}

/// The `callback_id`s of a manifest's message shortcuts.
pub fn shortcut_callbacks(manifest: &str) -> Vec<String> {
    section(manifest, "shortcuts:")
        .into_iter()
        .filter_map(|l| value(l, "callback_id:"))
        .collect()
}

/// Validates `input` and returns it as `https://host[:port][/stage]` without a trailing slash.
fn normalize_base_url(input: &str) -> Result<String, ManifestError> {
    let trimmed = input.trim();
    let url = url::Url::parse(trimmed).map_err(|source| ManifestError::NotAUrl {
        input: input.to_owned(),
        source,
    })?;
    if url.scheme() != "https" {
        return Err(ManifestError::NotHttps {
            input: input.to_owned(),
            scheme: url.scheme().to_owned(),
        });
    }
    let Some(host) = url.host_str() else {
        return Err(ManifestError::NoHost {
            input: input.to_owned(),
        });
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ManifestError::HasCredentials {
            input: input.to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ManifestError::HasQueryOrFragment {
            input: input.to_owned(),
        });
    }

    let path = url.path().strip_suffix('/').unwrap_or(url.path());
    let stage_ok = match path.strip_prefix('/') {
        None => path.is_empty(),
        Some(stage) => is_stage_name(stage),
    };
    if !stage_ok {
        return Err(ManifestError::PathNotAllowed {
            input: input.to_owned(),
            path: url.path().to_owned(),
        });
    }

    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("https://{host}{port}{path}"))
}

/// API Gateway stage names are letters, digits, hyphens and underscores; one segment only.
fn is_stage_name(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://abc123.execute-api.us-west-2.amazonaws.com";

    #[test]
    fn the_template_asks_for_its_bot_scopes_and_names_its_request_urls_events_and_shortcut() {
        let scopes = bot_scopes(MANIFEST_TEMPLATE);
        assert!(scopes.iter().any(|s| s == "commands"), "{scopes:?}");
        assert!(scopes.iter().any(|s| s == "chat:write"), "{scopes:?}");
        for needed in [
            "app_mentions:read",
            "im:history",
            "users:read",
            "files:read",
        ] {
            assert!(scopes.iter().any(|s| s == needed), "{needed}: {scopes:?}");
        }
        assert!(scopes.iter().all(|s| !s.contains(' ')), "{scopes:?}");
        let rendered = render(API).unwrap();
        let RequestUrls {
            command,
            interactivity,
            events,
        } = request_urls(&rendered);
        assert_eq!(events.as_deref(), Some(&*format!("{API}/slack/events")));
        assert_eq!(
            bot_events(&rendered),
            [
                "app_mention",
                "message.im",
                "app_home_opened",
                "function_executed"
            ]
        );
        assert!(
            rendered
                .lines()
                .any(|l| l.trim() == "home_tab_enabled: true"),
            "the Home tab is on"
        );
        assert_eq!(
            shortcut_callbacks(&rendered),
            [crate::slack::shortcut::CALLBACK_ID]
        );
        assert_eq!(command.as_deref(), Some(&*format!("{API}/slack/commands")));
        assert_eq!(
            interactivity.as_deref(),
            Some(&*format!("{API}/slack/interactions"))
        );
    }

    #[test]
    fn base_urls_are_normalized() {
        let cases = [
            (API, API),
            ("https://abc123.execute-api.us-west-2.amazonaws.com/", API),
            (
                "  https://ABC123.execute-api.us-west-2.amazonaws.com  ",
                API,
            ),
            (
                "https://abc123.execute-api.us-west-2.amazonaws.com/prod/",
                "https://abc123.execute-api.us-west-2.amazonaws.com/prod",
            ),
            (
                "https://posters.example.com:8443",
                "https://posters.example.com:8443",
            ),
            // The default port is dropped by the URL parser, which is what Slack would call.
            (
                "https://posters.example.com:443/",
                "https://posters.example.com",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_base_url(input).unwrap(), want, "{input}");
        }
    }

    /// Recognizes the expected kind of error.
    type Expect = fn(&ManifestError) -> bool;

    #[test]
    fn unusable_base_urls_are_refused_with_the_reason() {
        let cases: &[(&str, Expect)] = &[
            ("abc123.execute-api.us-west-2.amazonaws.com", |e| {
                matches!(e, ManifestError::NotAUrl { .. })
            }),
            ("http://abc123.execute-api.us-west-2.amazonaws.com", |e| {
                matches!(e, ManifestError::NotHttps { .. })
            }),
            ("https://user:pw@example.com", |e| {
                matches!(e, ManifestError::HasCredentials { .. })
            }),
            ("https://example.com/?x=1", |e| {
                matches!(e, ManifestError::HasQueryOrFragment { .. })
            }),
            ("https://example.com/#top", |e| {
                matches!(e, ManifestError::HasQueryOrFragment { .. })
            }),
            ("https://example.com/slack/commands", |e| {
                matches!(e, ManifestError::PathNotAllowed { .. })
            }),
            ("https://example.com/prod/slack", |e| {
                matches!(e, ManifestError::PathNotAllowed { .. })
            }),
            ("https://example.com/$default", |e| {
                matches!(e, ManifestError::PathNotAllowed { .. })
            }),
        ];
        for (input, expected) in cases {
            let err = normalize_base_url(input).unwrap_err();
            assert!(expected(&err), "{input}: {err:?}");
            assert!(err.to_string().contains(input.trim()), "{input}: {err}");
        }
    }

    #[test]
    fn render_fills_every_placeholder() {
        let rendered = render(API).unwrap();
        assert!(!rendered.contains("YOUR-API"), "{rendered}");
        assert!(
            rendered.contains(&format!("url: {API}/slack/commands")),
            "{rendered}"
        );
        assert!(
            rendered.contains(&format!("request_url: {API}/slack/interactions")),
            "{rendered}"
        );
        assert_eq!(
            rendered.matches(API).count(),
            MANIFEST_TEMPLATE.matches(PLACEHOLDER_BASE_URL).count()
        );
    }

    #[test]
    fn render_keeps_a_stage_path() {
        let rendered = render(&format!("{API}/prod/")).unwrap();
        assert!(
            rendered.contains(&format!("url: {API}/prod/slack/commands")),
            "{rendered}"
        );
    }

    #[test]
    fn the_template_has_placeholders_to_fill() {
        // Three: the slash command, the interactivity endpoint and the events endpoint.
        assert_eq!(MANIFEST_TEMPLATE.matches(PLACEHOLDER_BASE_URL).count(), 3);
    }
}
