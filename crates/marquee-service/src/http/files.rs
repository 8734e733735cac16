//! The files door: `GET /files/{key}`, the poster and print links Marquee signs, checked
//! and served (or redirected to the store when a file is too big for a Lambda response).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use marquee_core::store::LinkError;

use super::{ApiError, AppState};

/// The largest poster `/files/` serves itself. Lambda's synchronous responses are capped at
/// 6 MB, which a PNG reaches base64-encoded at about 4.5 MB; a poster is about a quarter of that.
const MAX_FILE_BYTES: usize = 4_400_000;

#[derive(Deserialize)]
pub(super) struct FileQuery {
    #[serde(default)]
    exp: String,
    #[serde(default)]
    sig: String,
}

/// How long a redirect to a print file's direct URL works: enough to start the download,
/// short enough that a copied URL is useless soon after.
const DIRECT_URL_TTL: Duration = Duration::from_secs(300);

/// What `/files/` serves: posters (`posters/….png`) and print files (`prints/…/<sheet>.png` or
/// `.pdf`), with their content type and, for print files, the name they are saved as. Art
/// before typography is never served.
fn servable(key: &str) -> Option<(&'static str, Option<String>)> {
    if key.starts_with("posters/") && key.ends_with(".png") {
        return Some(("image/png", None));
    }
    let rest = key.strip_prefix("prints/")?;
    let (take, file) = rest.rsplit_once('/')?;
    let take = take.rsplit('/').next()?;
    let short = take.get(..8).unwrap_or(take);
    let name = format!("marquee-{short}-{file}");
    if file.ends_with(".pdf") {
        Some(("application/pdf", Some(name)))
    } else if file.ends_with(".png") {
        Some(("image/png", Some(name)))
    } else {
        None
    }
}

/// Serves a stored poster or print file behind its signed, expiring link, reading it from the
/// store with this process's own credentials. Print files are too large for a function's
/// response: from S3 they are answered with a redirect to a URL presigned now, for minutes.
pub(super) async fn serve_file(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let Some((content_type, download_name)) = servable(&key) else {
        return Err(ApiError::NotFound);
    };
    let now = (state.clock)();
    match state.links.verify(&key, &q.exp, &q.sig, now) {
        Ok(()) => {}
        // Approve would also post a fresh link, but it approves: history only lists.
        Err(LinkError::Expired) => {
            return Err(ApiError::Gone(
                "this link has expired; type /poster history in Slack for your posters with fresh links",
            ));
        }
        Err(LinkError::BadSignature) => return Err(ApiError::Forbidden("this link is not valid")),
        Err(LinkError::NotFound) => return Err(ApiError::NotFound),
    }
    if let Some(name) = &download_name {
        match state.store.direct_url(&key, DIRECT_URL_TTL, name).await {
            Ok(Some(url)) => {
                let location = HeaderValue::from_str(&url).map_err(|_| ApiError::Unavailable)?;
                return Ok((
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, location),
                        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    ],
                )
                    .into_response());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not sign a print file's direct url");
                return Err(ApiError::Unavailable);
            }
        }
    }
    let bytes = match state.store.get(&key).await {
        Ok(Some(bytes)) => bytes,
        // Past the bucket's retention period the object is gone while a link may not be.
        Ok(None) => return Err(ApiError::Gone("this poster is no longer kept")),
        Err(e) => {
            tracing::error!(error = %marquee_core::errors::ErrorChain(&e), "could not read a linked poster");
            return Err(ApiError::Unavailable);
        }
    };
    if download_name.is_none() && bytes.len() > MAX_FILE_BYTES {
        tracing::error!(bytes = bytes.len(), "a linked poster is too large to serve");
        return Err(ApiError::Unavailable);
    }
    // Cacheable privately until the link expires, and never beyond.
    let max_age = q.exp.parse::<i64>().map_or(0, |exp| (exp - now).max(0));
    let cache = HeaderValue::from_str(&format!("private, max-age={max_age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("private, no-cache"));
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, cache),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response();
    if let Some(name) = download_name {
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
