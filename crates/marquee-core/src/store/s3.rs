//! A private S3 bucket.
//!
//! Objects are written with their content type and user metadata; the bucket itself is private
//! (the template blocks public access). Nobody outside reaches it directly: links are Marquee's
//! own ([`LinkSigner`](super::LinkSigner)), served by the function, which reads the object here
//! with its role. No presigned URL is ever put in a message, because one signed with the
//! function's temporary credentials would die with them, hours before the expiry the message
//! states. Print files, too large for a function's response, are the one exception, and only
//! at view time: opening Marquee's link answers with a redirect to a URL presigned that moment
//! for a few minutes ([`ObjectStore::direct_url`]).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::{ObjectMeta, ObjectStore, StoreError, check_key};

#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

impl S3Store {
    /// A PutObject for `key` in the bucket, with its body and content type.
    fn put_request(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        meta: &ObjectMeta,
    ) -> Result<(), StoreError> {
        check_key(key)?;
        let mut put = self
            .put_request(key, bytes, content_type)
            .cache_control("private, max-age=86400, immutable");
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

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| StoreError::Get {
                    key: key.to_owned(),
                    source: Box::new(e),
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(StoreError::Get {
                key: key.to_owned(),
                source: Box::new(e),
            }),
        }
    }

    async fn direct_url(
        &self,
        key: &str,
        ttl: Duration,
        filename: &str,
    ) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Get {
            key: key.to_owned(),
            source: e,
        };
        let config = PresigningConfig::expires_in(ttl).map_err(|e| failed(Box::new(e)))?;
        // Only names Marquee makes reach here; quote it anyway, as RFC 6266 asks.
        let disposition = format!(
            "attachment; filename=\"{}\"",
            filename.replace(['"', '\\'], "")
        );
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(disposition)
            .presigned(config)
            .await
            .map_err(|e| failed(Box::new(e)))?;
        Ok(Some(presigned.uri().to_owned()))
    }
}
