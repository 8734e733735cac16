//! Local-disk storage with signed, expiring links: the embedded default, for laptops with no
//! AWS account.
//!
//! Posters are files under a data directory. Links point at this process's own `GET /files/...`
//! route with `exp` (unix seconds) and `sig` (HMAC-SHA256 over key and expiry) query
//! parameters, so a local link behaves like a presigned S3 URL: tampered or expired → 403. The
//! link key lives in the data directory (created once, mode 0600) so links survive a restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use hmac::{KeyInit, Mac};
use time::OffsetDateTime;

use super::{Link, ObjectMeta, ObjectStore, StoreError, check_key, is_valid_key};
use crate::config::Secret;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const KEY_FILE: &str = ".link-key";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature is not valid")]
    BadSignature,
    #[error("no such poster")]
    NotFound,
}

#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
    base_url: String,
    key: Secret,
}

impl LocalStore {
    /// Opens (creating if needed) a store under `dir` whose links start with `base_url`.
    pub fn open(dir: impl Into<PathBuf>, base_url: impl Into<String>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = match std::fs::read_to_string(&key_path) {
            Ok(k) if k.trim().len() >= 32 => k.trim().to_owned(),
            _ => {
                let k = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                write_private(&key_path, k.as_bytes())?;
                k
            }
        };
        Ok(Self {
            dir,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            key: Secret::new(key),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }

    /// The MAC over what a link grants: reading `key` until `expires`.
    fn mac(&self, key: &str, expires: i64) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.key.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("GET\n{key}\n{expires}").as_bytes());
        mac
    }

    fn signature(&self, key: &str, expires: i64) -> String {
        hex::encode(self.mac(key, expires).finalize().into_bytes())
    }

    /// A signed link for `key` valid until `expires` (unix seconds).
    pub fn signed_url(&self, key: &str, expires: i64) -> String {
        format!(
            "{}/files/{key}?exp={expires}&sig={}",
            self.base_url,
            self.signature(key, expires)
        )
    }

    /// Checks a link's query parameters and returns the file it may serve.
    pub fn check(&self, key: &str, exp: &str, sig: &str, now: i64) -> Result<PathBuf, LinkError> {
        if !is_valid_key(key) {
            return Err(LinkError::NotFound);
        }
        let expires: i64 = exp.parse().map_err(|_| LinkError::BadSignature)?;
        let expected = hex::decode(sig).map_err(|_| LinkError::BadSignature)?;
        // `verify_slice` compares in constant time.
        self.mac(key, expires)
            .verify_slice(&expected)
            .map_err(|_| LinkError::BadSignature)?;
        if now >= expires {
            return Err(LinkError::Expired);
        }
        Ok(self.dir.join(key))
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half
/// a file. `key` names the object in errors.
async fn write_atomic(key: &str, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let put_err = |e: std::io::Error| StoreError::Put {
        key: key.to_owned(),
        source: Box::new(e),
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(put_err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    tokio::fs::write(&tmp, bytes).await.map_err(put_err)?;
    tokio::fs::rename(&tmp, path).await.map_err(put_err)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put_png(&self, key: &str, png: Vec<u8>, meta: &ObjectMeta) -> Result<(), StoreError> {
        let path = self.path_for(key)?;
        write_atomic(key, &path, &png).await?;
        let sidecar: serde_json::Map<String, serde_json::Value> = meta
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        let sidecar = serde_json::to_vec_pretty(&sidecar).unwrap_or_default();
        write_atomic(key, &path.with_extension("json"), &sidecar).await
    }

    async fn put_json(&self, key: &str, json: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path_for(key)?;
        write_atomic(key, &path, &json).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_for(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Get {
                key: key.to_owned(),
                source: Box::new(e),
            }),
        }
    }

    async fn put_json_if_absent(&self, key: &str, json: Vec<u8>) -> Result<bool, StoreError> {
        let path = self.path_for(key)?;
        let put_err = |e: std::io::Error| StoreError::Put {
            key: key.to_owned(),
            source: Box::new(e),
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(put_err)?;
        }
        // `create_new` is atomic: of two racing writers exactly one creates the file.
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
        {
            Ok(mut file) => {
                use tokio::io::AsyncWriteExt;
                file.write_all(&json).await.map_err(put_err)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(put_err(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_for(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Delete {
                key: key.to_owned(),
                source: Box::new(e),
            }),
        }
    }

    async fn link(&self, key: &str, ttl: Duration) -> Result<Link, StoreError> {
        check_key(key)?;
        let expires_at = OffsetDateTime::now_utc() + ttl;
        let expires_at = expires_at.replace_nanosecond(0).unwrap_or(expires_at);
        Ok(Link {
            url: self.signed_url(key, expires_at.unix_timestamp()),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path(), "http://127.0.0.1:3000/").unwrap();
        (dir, s)
    }

    fn query(url: &str) -> (String, String, String) {
        let parsed = url::Url::parse(url).unwrap();
        let key = parsed.path().trim_start_matches("/files/").to_owned();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        (key, q["exp"].clone(), q["sig"].clone())
    }

    #[tokio::test]
    async fn links_verify_until_they_expire() {
        let (_d, s) = store();
        let meta = ObjectMeta {
            prompt_sha256: "ab".into(),
            model: "offline".into(),
            seed: 1,
            requester: "U1".into(),
        };
        s.put_png("posters/2026/01/01/x.png", vec![1, 2, 3], &meta)
            .await
            .unwrap();
        let link = s
            .link("posters/2026/01/01/x.png", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            link.url
                .starts_with("http://127.0.0.1:3000/files/posters/2026/01/01/x.png?exp=")
        );
        let (key, exp, sig) = query(&link.url);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let path = s.check(&key, &exp, &sig, now).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), vec![1, 2, 3]);

        assert_eq!(s.check(&key, &exp, &sig, now + 61), Err(LinkError::Expired));
        let later = (exp.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(
            s.check(&key, &later, &sig, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            s.check("posters/2026/01/01/y.png", &exp, &sig, now),
            Err(LinkError::BadSignature)
        );
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            s.check(&key, &exp, &flipped, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            s.check("../etc/passwd", &exp, &sig, now),
            Err(LinkError::NotFound)
        );
    }

    #[tokio::test]
    async fn json_documents_and_exclusive_creation() {
        let (_d, s) = store();
        assert_eq!(s.get("jobs/a.json").await.unwrap(), None);
        s.put_json("jobs/a.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(s.get("jobs/a.json").await.unwrap(), Some(b"{}".to_vec()));
        assert!(
            s.put_json_if_absent("locks/a.json", b"1".to_vec())
                .await
                .unwrap()
        );
        assert!(
            !s.put_json_if_absent("locks/a.json", b"2".to_vec())
                .await
                .unwrap()
        );
        assert_eq!(s.get("locks/a.json").await.unwrap(), Some(b"1".to_vec()));
        s.delete("locks/a.json").await.unwrap();
        s.delete("locks/a.json").await.unwrap();
        assert!(
            s.put_json_if_absent("locks/a.json", b"3".to_vec())
                .await
                .unwrap()
        );
        assert!(s.get("../x").await.is_err());
    }

    #[tokio::test]
    async fn the_link_key_survives_a_restart() {
        let (dir, s) = store();
        let url = s.signed_url("posters/a.png", 2_000_000_000);
        let again = LocalStore::open(dir.path(), "http://127.0.0.1:3000").unwrap();
        assert_eq!(again.signed_url("posters/a.png", 2_000_000_000), url);
        let other = tempfile::tempdir().unwrap();
        let fresh = LocalStore::open(other.path(), "http://127.0.0.1:3000").unwrap();
        assert_ne!(fresh.signed_url("posters/a.png", 2_000_000_000), url);
    }
}
