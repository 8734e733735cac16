//! A private S3 bucket.
//!
//! Objects are written with `Content-Type: image/png` and user metadata; the bucket itself is
//! private (the template blocks public access). Nobody outside reaches it directly: links are
//! Marquee's own ([`LinkSigner`](super::LinkSigner)), served by the function, which reads the object here with
//! its role. No presigned URL is ever handed out, because one signed with the function's
//! temporary credentials would die with them, hours before the expiry the message states.

use async_trait::async_trait;
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
    async fn put_png(&self, key: &str, png: Vec<u8>, meta: &ObjectMeta) -> Result<(), StoreError> {
        check_key(key)?;
        let mut put = self
            .put_request(key, png, "image/png")
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
}
