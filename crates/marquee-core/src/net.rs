//! Outbound HTTPS: one TLS stack for everything Marquee calls.
//!
//! Slack and AWS are both called through reqwest: rustls 0.23 on *ring*, with the platform's
//! root certificates, over HTTP/1.1. One small crypto provider instead of AWS-LC, and one
//! HTTP stack instead of two, are a good part of the deployed function's size (BENCHMARKS.md,
//! "A smaller function"). reqwest does not pick *ring* by itself and the SDK would bring its
//! own client, so every HTTP client in the crate comes from here (`tests/it/architecture.rs`
//! holds product code to that).
//!
//! Outbound HTTPS on one stack: reqwest over rustls on *ring* with the platform's roots, HTTP/1.1.
//! `client` and `client_builder` serve Slack, links and doctor's probes; `aws_http_client` carries
//! the AWS SDK's requests over the same reqwest (one pool per connect/read timeout pair the SDK
//! asks for; redirects left to the SDK; timeouts and I/O failures reported as the SDK's transient
//! `ConnectorError`s). It is handed to `aws_config`'s loader and to any service `Config` built by
//! hand. The SDK crates are built without their default HTTPS client (a second HTTP stack, with
//! HTTP/2) and reqwest without a crypto provider, because both would bring AWS-LC, a second and
//! much larger provider (see BENCHMARKS.md, "A smaller function").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// Makes *ring* rustls' process-wide provider, which reqwest reads when it builds a client.
/// Idempotent; a provider some other code installed first is left as it is.
fn install_crypto() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder on Marquee's TLS stack: the start of every HTTP client the crate
/// makes for Slack, links and probes.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto();
    reqwest::Client::builder()
}

/// A reqwest client with reqwest's defaults on Marquee's TLS stack.
///
/// # Panics
/// Only if the platform's TLS set-up cannot be built at all (no usable root store), which no
/// request could survive either.
pub fn client() -> reqwest::Client {
    client_builder()
        .build()
        .expect("an HTTPS client with the default settings")
}

/// The AWS SDK's HTTP client: the SDK's requests travel over reqwest, on the same TLS stack
/// and HTTP/1.1 implementation as Slack's. Hand it to `aws_config`'s loader (every service
/// client made from that `SdkConfig` shares it) or to a service `Config` builder: the SDK
/// crates are built without their default client, so an SDK client without this one fails
/// its first request with "no HTTP client".
///
/// The SDK's own client would bring a second HTTP stack (HTTP/2 through h2, its own rustls
/// set-up and root store loading) for the same few HTTP/1.1 calls per job.
pub fn aws_http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkTransport::default())
}

/// The connect and read timeouts the SDK asks a connector for.
type Timeouts = (Option<Duration>, Option<Duration>);

/// One reqwest client per pair of timeouts the SDK asks for, each with its own connection
/// pool, made on first use.
#[derive(Debug, Default)]
struct SdkTransport {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for SdkTransport {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector_for((settings.connect_timeout(), settings.read_timeout()))
    }
}

impl SdkTransport {
    /// The connector for one pair of timeouts, made on first use.
    fn connector_for(&self, timeouts: Timeouts) -> SharedHttpConnector {
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(timeouts)
            .or_insert_with(|| {
                // The SDK reads redirects itself (S3 answers a wrong region with 301 and the
                // right one in a header), and signs exactly the request it sends. Its own
                // client took no proxy from the environment (one for AWS is configured in the
                // SDK), so neither does this one; Slack's clients keep reqwest's default.
                let mut builder = client_builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy();
                if let Some(timeout) = timeouts.0 {
                    builder = builder.connect_timeout(timeout);
                }
                if let Some(timeout) = timeouts.1 {
                    builder = builder.read_timeout(timeout);
                }
                SharedHttpConnector::new(SdkConnector {
                    client: builder.build().map_err(Arc::new),
                })
            })
            .clone()
    }
}

#[derive(Debug)]
struct SdkConnector {
    /// A client that could not be built fails every request with why.
    client: Result<reqwest::Client, Arc<reqwest::Error>>,
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::user(e.into()))?;
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?
                .map(reqwest::Body::wrap);
            let request =
                reqwest::Request::try_from(request).map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let response =
                http::Response::<reqwest::Body>::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// How the SDK's retry policy should see a failed request: timeouts and I/O failures are
/// transient (retried where the SDK retries), a request that could not be built is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_builder() {
        ConnectorError::user(e.into())
    } else if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Misbehaviour, misbehaving, serve};
    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, put};
    use http_body_util::BodyExt;

    /// The connector the SDK gets when it asks for this read timeout.
    fn connector(read_timeout: Duration) -> SharedHttpConnector {
        SdkTransport::default().connector_for((Some(Duration::from_secs(2)), Some(read_timeout)))
    }

    fn request(method: &str, uri: &str, body: &'static [u8]) -> HttpRequest {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-amz-date", "20261202T000000Z")
            .body(SdkBody::from(body))
            .unwrap();
        HttpRequest::try_from(request).unwrap()
    }

    #[tokio::test]
    async fn the_sdks_requests_travel_as_signed_and_redirects_come_back_unfollowed() {
        let base = serve(
            Router::new()
                .route(
                    "/bucket/key",
                    put(|headers: HeaderMap, body: Bytes| async move {
                        let date = headers["x-amz-date"].to_str().unwrap().to_owned();
                        (
                            StatusCode::OK,
                            [("etag", "\"abc\"")],
                            format!("{date} {}", body.len()),
                        )
                    }),
                )
                .route(
                    "/moved",
                    get(|| async { (StatusCode::MOVED_PERMANENTLY, [("location", "/elsewhere")]) }),
                ),
        )
        .await;
        let c = connector(Duration::from_secs(5));

        let response = c
            .call(request(
                "PUT",
                &format!("{base}/bucket/key"),
                b"poster bytes",
            ))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers().get("etag"), Some("\"abc\""));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"20261202T000000Z 12");

        let moved = c
            .call(request("GET", &format!("{base}/moved"), b""))
            .await
            .unwrap();
        assert_eq!(moved.status().as_u16(), 301);
        assert_eq!(moved.headers().get("location"), Some("/elsewhere"));
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_and_a_closed_port_an_io_error() {
        let silent = misbehaving(Misbehaviour::Silent).await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let c = connector(Duration::from_millis(200));

        let e = c
            .call(request("GET", &format!("http://{silent}/"), b""))
            .await
            .unwrap_err();
        assert!(e.is_timeout(), "{e:?}");
        let e = c
            .call(request("GET", &format!("http://{closed}/"), b""))
            .await
            .unwrap_err();
        assert!(e.is_io(), "{e:?}");
    }

    #[test]
    fn reqwest_clients_build_on_ring() {
        // Without a provider installed, reqwest built without its AWS-LC feature panics here.
        let _client = client();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("a provider");
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            format!("{:?}", provider.cipher_suites),
            format!("{:?}", ring.cipher_suites)
        );
    }
}
