//! Local-disk storage: the embedded default, for laptops with no AWS account.
//!
//! Posters are files under a data directory, records and locks small JSON files beside them.
//! People reach posters through links signed by [`LinkSigner`](super::LinkSigner) and served by Marquee's own
//! `/files/` route, exactly as they do in AWS.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ObjectMeta, ObjectStore, StoreError, check_key};

#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed) a store under `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path_for(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
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
        write_atomic(key, Path::new(&sidecar_path), &sidecar).await
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

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path()).unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn posters_round_trip_with_their_metadata_beside_them() {
        let (d, s) = store();
        let meta = ObjectMeta {
            prompt_sha256: "ab".into(),
            model: "offline".into(),
            seed: 1,
            requester: "U1".into(),
        };
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

    #[tokio::test]
    async fn missing_objects_read_as_none_and_keys_are_checked() {
        let (_d, s) = store();
        assert_eq!(s.get("posters/a.png").await.unwrap(), None);
        assert!(s.get("../x").await.is_err());
    }
}
