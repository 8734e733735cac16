//! Storage for finished posters: private objects and links that expire.
//!
//! Two implementations of [`ObjectStore`]: a private S3 bucket ([`s3`]) and a directory on
//! local disk ([`local`]). Either way, people reach a poster only through a link Marquee signs
//! itself ([`LinkSigner`]) and serves from its own `/files/` route, so a link lives exactly as long
//! as it says, whatever credentials the store uses. Nothing here knows about Slack or models.
//!
//! `ObjectStore` trait (bytes with a content type, and `direct_url` for print files): `s3` (a
//! private bucket) and `local` (files on disk). Keys are under `KEY_PREFIXES`: `posters/`, `art/`
//! (each take's art before typography), `prints/` and `refs/` (uploaded reference pictures,
//! re-encoded without metadata, never served); the template grants and expires exactly
//! these. `links` signs and checks poster links — `{public_url}/files/{key}?exp=…&sig=…`,
//! HMAC-SHA256 over key and expiry with a secret key — which `http`'s `/files/` route serves from
//! whichever store holds the poster.
//!
//! Why Marquee signs its own links rather than handing out S3 presigned URLs: a presigned URL dies
//! with the temporary credentials that signed it, and a Lambda function only has its role's session
//! credentials (hours, refreshed by Lambda), so a "24 h" presigned link could die hours early, and
//! a cap at the credentials' expiry would make links short and unpredictable. A Marquee link
//! carries no credential: it lives exactly as long as the message says (up to 7 days), survives any
//! credential rotation, is revoked wholesale by rotating one secret, and the bucket never needs a
//! public path. The cost is one small function invocation per view. (A CloudFront distribution with
//! signed URLs would do the same with more moving parts and a key pair to manage.) The public base
//! URL is configured (`MARQUEE_PUBLIC_URL`) or, behind API Gateway, taken from the host the front
//! door was reached on, with the stage or custom-domain base path before the route
//! (`http::under_base_path`, from the event's `rawPath` and `routeKey`), and carried in the job.

pub mod links;
pub mod local;
pub mod s3;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// Facts stored beside a poster, for audit and for later features (approval, re-rolls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// SHA-256 of the description, hex: lets an admin group posters without storing prompts
    /// in metadata headers.
    pub prompt_sha256: String,
    pub model: String,
    pub seed: u32,
    pub requester: String,
}

impl ObjectMeta {
    fn pairs(&self) -> [(&'static str, String); 4] {
        [
            ("prompt-sha256", self.prompt_sha256.clone()),
            ("model", self.model.clone()),
            ("seed", self.seed.to_string()),
            ("requester", self.requester.clone()),
        ]
    }
}

pub use links::LinkError;
pub use links::{Link, LinkKeyError, LinkSigner};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not write {key}")]
    Put {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not read {key}")]
    Get {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{0} is not a valid object key")]
    BadKey(String),
}

/// Where posters, their art and their print files go: bytes only. Everything Marquee remembers
/// about a poster (its record, approval, locks) is in the [state store](crate::state), which
/// has the conditional writes and counters S3 lacks.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores `bytes` of `content_type` privately under `key`.
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        meta: &ObjectMeta,
    ) -> Result<(), StoreError>;

    /// Stores a PNG privately under `key`.
    async fn put_png(&self, key: &str, png: Vec<u8>, meta: &ObjectMeta) -> Result<(), StoreError> {
        self.put(key, png, "image/png", meta).await
    }

    /// Reads `key`; `None` when there is no such object.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A URL that reads `key` directly for the next `ttl`, saved as `filename`, for objects too
    /// large to pass through the function (print files). Made when someone opens Marquee's own
    /// link, never handed out in a message, so it is always signed with fresh credentials.
    /// `None` when this store has no such URLs (the local store serves everything itself).
    async fn direct_url(
        &self,
        _key: &str,
        _ttl: std::time::Duration,
        _filename: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// The object key for a job's poster: dated, and unguessable thanks to the job's random id.
pub fn poster_key(job_id: Uuid, at: OffsetDateTime) -> String {
    format!(
        "posters/{:04}/{:02}/{:02}/{}.png",
        at.year(),
        u8::from(at.month()),
        at.day(),
        job_id
    )
}

/// Every prefix Marquee writes under, one per kind of object: finished posters, each take's
/// art before typography, print files, and the pictures people upload as references. The
/// template grants the function exactly these, and keeps each as long as posters
/// (`tests/it/deploy.rs` checks both): a take made from a reference is re-drawn from it
/// (Regenerate) for as long as the take is kept.
pub const KEY_PREFIXES: [&str; 4] = ["posters/", "art/", "prints/", "refs/"];

/// The folder of the pictures people upload ([`reference_key`]), which expire on their own
/// (the bucket's `expire-refs` rule; the local store's sweep).
pub const REFS: &str = "refs";

/// Whether `key` names an uploaded picture, as [`reference_key`] makes them.
pub fn is_reference_key(key: &str) -> bool {
    key.strip_prefix(REFS)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The key of a picture someone uploaded ("Use a picture…"), as Marquee re-encoded it (PNG,
/// no metadata): `refs/<date>/<id>.png`. Never served by `/files/` and never posted back.
pub fn reference_key(id: Uuid, at: OffsetDateTime) -> String {
    format!(
        "{REFS}/{:04}/{:02}/{:02}/{}.png",
        at.year(),
        u8::from(at.month()),
        at.day(),
        id
    )
}

/// The key of a take's art before typography, beside its poster: edits re-set words over it
/// and change details in it without drawing again.
pub fn art_key(take: Uuid, at: OffsetDateTime) -> String {
    format!(
        "art/{:04}/{:02}/{:02}/{}.png",
        at.year(),
        u8::from(at.month()),
        at.day(),
        take
    )
}

/// The key of one print file of a take: `prints/<date>/<take>/<sheet>.<ext>`.
pub fn print_key(take: Uuid, sheet: &str, ext: &str, at: OffsetDateTime) -> String {
    format!(
        "prints/{:04}/{:02}/{:02}/{}/{}.{}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        take,
        sheet,
        ext
    )
}

/// `Ok` when `key` is valid (see [`is_valid_key`]); every store checks keys with this before
/// touching anything.
fn check_key(key: &str) -> Result<(), StoreError> {
    if is_valid_key(key) {
        Ok(())
    } else {
        Err(StoreError::BadKey(key.to_owned()))
    }
}

/// Whether `key` is one Marquee could have written: no traversal, no odd characters.
fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 256
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poster_keys_are_dated_and_valid() {
        let id = Uuid::nil();
        let at = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01
        let key = poster_key(id, at);
        assert_eq!(
            key,
            "posters/2026/01/01/00000000-0000-0000-0000-000000000000.png"
        );
        assert!(is_valid_key(&key));
        assert_eq!(
            art_key(id, at),
            "art/2026/01/01/00000000-0000-0000-0000-000000000000.png"
        );
        let print = print_key(id, "one-sheet", "pdf", at);
        assert_eq!(
            print,
            "prints/2026/01/01/00000000-0000-0000-0000-000000000000/one-sheet.pdf"
        );
        assert!(is_valid_key(&art_key(id, at)) && is_valid_key(&print));
        let reference = reference_key(id, at);
        assert_eq!(
            reference,
            "refs/2026/01/01/00000000-0000-0000-0000-000000000000.png"
        );
        assert!(is_valid_key(&reference));
        assert!(is_reference_key(&reference));
        for other in [
            print.as_str(),
            "art/2026/01/01/x.png",
            "refsx/x.png",
            "refs",
        ] {
            assert!(!is_reference_key(other), "{other}");
        }
        assert!(
            KEY_PREFIXES
                .iter()
                .any(|p| reference.starts_with(p) && print.starts_with("prints/"))
        );
    }

    #[test]
    fn traversal_and_odd_keys_are_invalid() {
        for bad in [
            "",
            "/etc/passwd",
            "posters/../secret",
            "a//b",
            "posters/./x",
            "x y",
            "a\\b",
            "é",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }
}
