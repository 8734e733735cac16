//! A private S3 bucket with SigV4-presigned GET links.
//!
//! Objects are written with `Content-Type: image/png` and user metadata; the bucket itself is
//! private (the template blocks public access), so the only way in is a presigned link. A link
//! presigned with temporary credentials dies when they do, whatever its nominal expiry: when the
//! credentials report an expiry, the link's stated expiry is capped to it so the message never
//! promises more than the link delivers.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use time::OffsetDateTime;

use super::{Link, ObjectMeta, ObjectStore, StoreError, is_valid_key};

#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// The provider the client signs with, asked for the credentials' expiry.
    credentials: Option<SharedCredentialsProvider>,
}

impl S3Store {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            credentials,
        }
    }

    /// When the credentials that will sign links stop working, if they say.
    async fn credentials_expiry(&self) -> Option<SystemTime> {
        let provider = self.credentials.as_ref()?;
        provider.provide_credentials().await.ok()?.expiry()
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_png(&self, key: &str, png: Vec<u8>, meta: &ObjectMeta) -> Result<(), StoreError> {
        if !is_valid_key(key) {
            return Err(StoreError::BadKey(key.to_owned()));
        }
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("image/png")
            .cache_control("private, max-age=86400, immutable")
            .body(ByteStream::from(png));
        for (k, v) in meta.pairs() {
            // S3 metadata travels in HTTP headers: keep it ASCII.
            let v: String = v
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .collect();
            put = put.metadata(k, v);
        }
        put.send().await.map_err(|e| StoreError::Put {
            key: key.to_owned(),
            source: Box::new(e),
        })?;
        Ok(())
    }

    async fn link(&self, key: &str, ttl: Duration) -> Result<Link, StoreError> {
        if !is_valid_key(key) {
            return Err(StoreError::BadKey(key.to_owned()));
        }
        let presign_err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Presign {
            key: key.to_owned(),
            source: e,
        };
        let now = SystemTime::now();
        let config = PresigningConfig::builder()
            .start_time(now)
            .expires_in(ttl)
            .build()
            .map_err(|e| presign_err(Box::new(e)))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| presign_err(Box::new(e)))?;
        let mut expires = now + ttl;
        if let Some(cred_expiry) = self.credentials_expiry().await {
            if cred_expiry < expires {
                tracing::info!(
                    nominal_secs = ttl.as_secs(),
                    "link expiry capped at the signing credentials' expiry"
                );
                expires = cred_expiry;
            }
        }
        Ok(Link {
            url: request.uri().to_owned(),
            expires_at: OffsetDateTime::from(expires),
        })
    }
}
