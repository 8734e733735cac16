//! State on local disk: the embedded default, for one process on a laptop.
//!
//! One small JSON file per item, `<dir>/<partition>/<sort key>.json` (both names
//! percent-encoded), written through a temporary file and a rename, so a reader never sees half
//! an item. One process owns the directory, so a mutex per item makes each operation atomic
//! exactly as a conditional write is in DynamoDB (items hash onto a fixed set of [`STRIPES`]
//! locks: operations on different items rarely wait for each other, as they do not in
//! DynamoDB). Files make the state survive restarts (`marquee serve` can be stopped and started
//! without forgetting approvals or quotas).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{Added, Claim, Item, Key, StateError, StateStore};

/// How many locks the items hash onto.
const STRIPES: usize = 64;

#[derive(Debug)]
pub struct LocalState {
    dir: PathBuf,
    /// One is held across each read-check-write of an item, which makes every operation on
    /// that item atomic in-process.
    locks: Vec<Mutex<()>>,
}

/// An item as kept on disk.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    value: String,
    #[serde(default)]
    count: i64,
    #[serde(default)]
    expires_at: Option<i64>,
}

impl LocalState {
    /// Opens (creating if needed) the state kept under `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The lock that guards `key`.
    fn lock(&self, key: &Key) -> &Mutex<()> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0);
        &self.locks[i]
    }

    fn partition(&self, pk: &str) -> PathBuf {
        self.dir.join(encode(pk))
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.partition(&key.pk)
            .join(format!("{}.json", encode(&key.sk)))
    }

    async fn read(&self, key: &Key) -> Result<Option<Item>, StateError> {
        read_item(key.clone(), &self.path(key)).await
    }

    async fn write(&self, key: &Key, stored: &Stored) -> Result<(), StateError> {
        let path = self.path(key);
        let bytes = serde_json::to_vec(stored).map_err(|e| StateError::backend("put", key, e))?;
        let io = |e: std::io::Error| StateError::backend("put", key, e);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }
}

async fn read_item(key: Key, path: &Path) -> Result<Option<Item>, StateError> {
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::backend("get", &key, e)),
    };
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| StateError::Malformed {
        pk: key.pk.clone(),
        source: Box::new(e),
    })?;
    Ok(Some(Item {
        key,
        value: stored.value,
        count: stored.count,
        expires_at: stored.expires_at,
    }))
}

/// A file name for any key: ASCII letters, digits, `-`, `_` and `.` (not leading) as they
/// are, every other byte as `%XX`, so distinct keys never share a file and none escapes the
/// directory.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[async_trait]
impl StateStore for LocalState {
    async fn claim(
        &self,
        key: &Key,
        value: String,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Claim, StateError> {
        let _guard = self.lock(key).lock().await;
        if let Some(item) = self.read(key).await? {
            if item.is_live(now) {
                return Ok(Claim::Held(item));
            }
        }
        self.write(
            key,
            &Stored {
                value,
                count: 0,
                expires_at,
            },
        )
        .await?;
        Ok(Claim::Won)
    }

    async fn put(
        &self,
        key: &Key,
        value: String,
        expires_at: Option<i64>,
    ) -> Result<(), StateError> {
        let _guard = self.lock(key).lock().await;
        self.write(
            key,
            &Stored {
                value,
                count: 0,
                expires_at,
            },
        )
        .await
    }

    async fn get(&self, key: &Key, now: i64) -> Result<Option<Item>, StateError> {
        let _guard = self.lock(key).lock().await;
        Ok(self.read(key).await?.filter(|i| i.is_live(now)))
    }

    async fn delete(&self, key: &Key, only_if: Option<&str>) -> Result<bool, StateError> {
        let _guard = self.lock(key).lock().await;
        let Some(item) = self.read(key).await? else {
            return Ok(only_if.is_none());
        };
        if only_if.is_some_and(|v| v != item.value) {
            return Ok(false);
        }
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(only_if.is_none()),
            Err(e) => Err(StateError::backend("delete", key, e)),
        }
    }

    async fn add(
        &self,
        key: &Key,
        amount: i64,
        limit: Option<i64>,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Added, StateError> {
        let _guard = self.lock(key).lock().await;
        let current = self.read(key).await?.filter(|i| i.is_live(now));
        let (value, count, old_expiry) = match current {
            Some(item) => (item.value, item.count, item.expires_at),
            None => (String::new(), 0, None),
        };
        let total = count.saturating_add(amount);
        if amount > 0 && limit.is_some_and(|l| total > l) {
            return Ok(Added::Refused(count));
        }
        self.write(
            key,
            &Stored {
                value,
                count: total,
                expires_at: expires_at.or(old_expiry),
            },
        )
        .await?;
        Ok(Added::To(total))
    }

    async fn query_latest(
        &self,
        pk: &str,
        limit: usize,
        now: i64,
    ) -> Result<Vec<Item>, StateError> {
        // Each item file is replaced whole by a rename, so reads need no lock.
        let dir = self.partition(pk);
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::backend("query", &Key::new(pk, ""), e)),
        };
        let mut sort_keys = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| StateError::backend("query", &Key::new(pk, ""), e))?
        {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Some(sk) = decode(stem) {
                sort_keys.push(sk);
            }
        }
        sort_keys.sort_unstable_by(|a, b| b.cmp(a));
        let mut items = Vec::new();
        for sk in sort_keys {
            if items.len() == limit {
                break;
            }
            let key = Key::new(pk, sk);
            if let Some(item) = self.read(&key).await?.filter(|i| i.is_live(now)) {
                items.push(item);
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn the_local_store_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalState::open(dir.path()).unwrap());
        crate::state::contract::all(store).await;
    }

    #[tokio::test]
    async fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::new("poster#1", "approval");
        {
            let store = LocalState::open(dir.path()).unwrap();
            store.claim(&key, "U1".into(), None, 0).await.unwrap();
        }
        let store = LocalState::open(dir.path()).unwrap();
        assert!(matches!(
            store.claim(&key, "U2".into(), None, 0).await.unwrap(),
            Claim::Held(i) if i.value == "U1"
        ));
    }

    #[test]
    fn file_names_are_distinct_and_stay_in_their_directory() {
        for (a, b) in [
            ("a#b", "a%23b"),
            ("../x", "%2E.%2Fx"),
            ("", "%"),
            (".x", "%2Ex"),
        ] {
            assert_eq!(encode(a), b);
        }
        assert_ne!(encode("a#b"), encode("a%23b"));
        for s in ["history#T#U", "0001#abc", "été", "a/b"] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
    }
}
