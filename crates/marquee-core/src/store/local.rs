//! Local-disk storage: the embedded default, for laptops with no AWS account.
//!
//! Posters are files under a data directory, records and locks small JSON files beside them.
//! People reach posters through links signed by [`LinkSigner`](super::LinkSigner) and served by Marquee's own
//! `/files/` route, exactly as they do in AWS.
//!
//! Uploaded reference pictures (`refs/`) expire as the bucket's `expire-refs` lifecycle rule
//! expires them in AWS (template.yaml): a store given a retention ([`LocalStore::with_retention`],
//! `MARQUEE_RETENTION_DAYS`) deletes every reference last written longer ago than that, once
//! when it opens and again on a reference's write when the last sweep is [`SWEEP_EVERY`] old
//! (off the writer's path). References are only added by writes, so the directory holds those
//! of the retention period plus at most one interval's, however long the server runs; a sweep
//! walks `refs/` alone. Posters, art and prints are kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{ObjectMeta, ObjectStore, StoreError, check_key};

/// How often a reference's write sweeps expired references again.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
    /// How long a reference is kept, when references expire.
    retention: Option<Duration>,
    /// When references were last swept (shared by clones of this store).
    swept: Arc<Mutex<Option<SystemTime>>>,
    every: Duration,
}

impl LocalStore {
    /// Opens (creating if needed) a store under `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            retention: None,
            swept: Arc::new(Mutex::new(None)),
            every: SWEEP_EVERY,
        })
    }

    /// Keeps references for `retention` (the bucket's lifecycle for `refs/`), deleting those
    /// older at once, and from then on as the module says.
    pub fn with_retention(mut self, retention: Duration) -> std::io::Result<Self> {
        self.retention = Some(retention);
        self.sweep_refs(SystemTime::now())?;
        Ok(self)
    }

    /// Deletes every reference (and its metadata file) last written more than the retention
    /// before `now`, and the day directories it empties. Gives how many objects went.
    pub fn sweep_refs(&self, now: SystemTime) -> std::io::Result<usize> {
        let Some(retention) = self.retention else {
            return Ok(0);
        };
        if let Ok(mut swept) = self.swept.lock() {
            *swept = Some(now);
        }
        let cutoff = now.checked_sub(retention).unwrap_or(SystemTime::UNIX_EPOCH);
        let root = self.dir.join(super::REFS);
        let mut removed = 0;
        sweep_dir(&root, &root, cutoff, &mut removed)?;
        if removed > 0 {
            tracing::info!(removed, "expired reference pictures deleted");
        }
        Ok(removed)
    }

    /// Whether a reference written at `now` should sweep again (and marks the sweep begun).
    fn sweep_due(&self, now: SystemTime) -> bool {
        if self.retention.is_none() {
            return false;
        }
        let Ok(mut swept) = self.swept.lock() else {
            return false;
        };
        let due = swept.is_none_or(|at| now.duration_since(at).is_ok_and(|d| d >= self.every));
        if due {
            *swept = Some(now);
        }
        due
    }

    fn path_for(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }
}

/// Deletes the files under `dir` last modified before `cutoff` (an object goes with its
/// `.json` metadata, each judged by its own time), then `dir` itself if that left it empty
/// and it is not `root`. A file that vanishes meanwhile is not an error.
fn sweep_dir(
    root: &Path,
    dir: &Path,
    cutoff: SystemTime,
    removed: &mut usize,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut left = 0;
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            sweep_dir(root, &path, cutoff, removed)?;
            if path.exists() {
                left += 1;
            }
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at < cutoff);
        if !old {
            left += 1;
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                if path.extension().is_none_or(|e| e != "json") {
                    *removed += 1;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if left == 0 && dir != root {
        // Another writer may have just put a file here: then the directory stays.
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half
/// a file. `key` names the object in errors.
async fn write_atomic(key: &str, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let put_err = |e: std::io::Error| StoreError::Put {
        key: key.to_owned(),
        source: Box::new(e),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    // The retention sweep removes a directory it finds empty, which a writer's directory is
    // between its creation and its first file: then the directory is made again, once.
    for last in [false, true] {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(put_err)?;
        }
        match tokio::fs::write(&tmp, bytes).await {
            Ok(()) => break,
            Err(e) if !last && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(put_err(e)),
        }
    }
    tokio::fs::rename(&tmp, path).await.map_err(put_err)
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        meta: &ObjectMeta,
    ) -> Result<(), StoreError> {
        let path = self.path_for(key)?;
        write_atomic(key, &path, &bytes).await?;
        let mut sidecar: serde_json::Map<String, serde_json::Value> = meta
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        sidecar.insert("content-type".to_owned(), content_type.into());
        let sidecar = serde_json::to_vec_pretty(&sidecar).unwrap_or_default();
        // `<file>.json`, extension kept: a print's PDF and PNG share a stem.
        let mut sidecar_path = path.into_os_string();
        sidecar_path.push(".json");
        write_atomic(key, Path::new(&sidecar_path), &sidecar).await?;
        let now = SystemTime::now();
        if super::is_reference_key(key) && self.sweep_due(now) {
            // Off the writer's path: the upload is answered without waiting for the sweep.
            let store = self.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = store.sweep_refs(now) {
                    tracing::warn!(error = %e, "could not delete expired reference pictures");
                }
            });
        }
        Ok(())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ObjectMeta {
        ObjectMeta {
            prompt_sha256: "ab".into(),
            model: "offline".into(),
            seed: 1,
            requester: "U1".into(),
        }
    }

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path()).unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn posters_round_trip_with_their_metadata_beside_them() {
        let (d, s) = store();
        let meta = meta();
        s.put_png("posters/2026/01/01/x.png", vec![1, 2, 3], &meta)
            .await
            .unwrap();
        assert_eq!(
            s.get("posters/2026/01/01/x.png").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        let sidecar =
            std::fs::read_to_string(d.path().join("posters/2026/01/01/x.png.json")).unwrap();
        assert!(sidecar.contains("\"requester\": \"U1\""), "{sidecar}");
        assert!(s.put_png("../x.png", vec![], &meta).await.is_err());
    }

    /// Sets a file's modification time, as if it had been written `ago` before `now`.
    fn written(path: &Path, now: SystemTime, ago: Duration) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(now - ago)
            .unwrap();
    }

    const DAY: Duration = Duration::from_secs(24 * 3600);

    /// References older than the retention go (with their metadata and emptied day
    /// directories) at the sweep the clock makes due; younger ones and posters stay.
    #[tokio::test]
    async fn references_past_the_retention_are_deleted_and_posters_kept() {
        let (d, s) = store();
        let meta = meta();
        let now = SystemTime::now();
        for key in [
            "refs/2026/10/01/old.png",
            "refs/2026/11/20/young.png",
            "posters/2026/10/01/p.png",
        ] {
            s.put_png(key, vec![1], &meta).await.unwrap();
        }
        let path = |key: &str| d.path().join(key);
        for (key, ago) in [
            ("refs/2026/10/01/old.png", 31 * DAY),
            ("refs/2026/10/01/old.png.json", 31 * DAY),
            ("refs/2026/11/20/young.png", 29 * DAY),
            ("refs/2026/11/20/young.png.json", 29 * DAY),
            ("posters/2026/10/01/p.png", 400 * DAY),
        ] {
            written(&path(key), now, ago);
        }
        // No retention, no expiry.
        assert_eq!(s.sweep_refs(now).unwrap(), 0);
        let s = s.with_retention(30 * DAY).unwrap();
        assert!(!path("refs/2026/10/01/old.png").exists());
        assert!(!path("refs/2026/10/01/old.png.json").exists());
        assert!(!path("refs/2026/10/01").exists(), "an emptied day stays");
        assert!(path("refs/2026/11/20/young.png").exists());
        assert!(path("posters/2026/10/01/p.png").exists());
        // Two days on, the younger one is past it too.
        assert_eq!(s.sweep_refs(now + 2 * DAY).unwrap(), 1);
        assert!(!path("refs/2026/11/20/young.png").exists());
        assert!(path("refs").exists() && path("posters/2026/10/01/p.png").exists());
    }

    /// A reference's write sweeps again once the last sweep is an interval old, and not
    /// before; other writes never sweep.
    #[tokio::test]
    async fn a_references_write_sweeps_once_an_interval() {
        let (d, s) = store();
        let meta = meta();
        let mut s = s.with_retention(30 * DAY).unwrap();
        let now = SystemTime::now();
        let old = d.path().join("refs/2026/10/01/old.png");
        let plant = || {
            std::fs::create_dir_all(old.parent().unwrap()).unwrap();
            std::fs::write(&old, [1]).unwrap();
            written(&old, now, 40 * DAY);
        };
        plant();
        // Swept at open, just now: not due.
        s.put_png("refs/2026/12/07/a.png", vec![1], &meta)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(old.exists(), "swept before the interval");
        // Due: a poster's write still does not sweep, a reference's does.
        s.every = Duration::ZERO;
        s.put_png("posters/2026/12/07/p.png", vec![1], &meta)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(old.exists(), "a poster's write swept");
        s.put_png("refs/2026/12/07/b.png", vec![1], &meta)
            .await
            .unwrap();
        let gone = async {
            while old.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), gone)
            .await
            .expect("the reference's write swept");
        assert!(d.path().join("refs/2026/12/07/b.png").exists());
    }

    #[tokio::test]
    async fn missing_objects_read_as_none_and_keys_are_checked() {
        let (_d, s) = store();
        assert_eq!(s.get("posters/a.png").await.unwrap(), None);
        assert!(s.get("../x").await.is_err());
    }
}
