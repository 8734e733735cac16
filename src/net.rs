//! Outbound HTTPS: one TLS stack for everything Marquee calls.
//!
//! Slack (through reqwest) and AWS (through the SDK's hyper client) both speak rustls 0.23 on
//! *ring*, with the platform's root certificates. One small crypto provider instead of
//! AWS-LC is most of a megabyte of the deployed function (BENCHMARKS.md, "A smaller
//! function"); neither reqwest nor the SDK picks *ring* by itself, so every HTTP client in
//! the crate comes from here (`tests/it/architecture.rs` holds product code to that).

use std::sync::Once;

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

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

/// The AWS SDK's HTTP client on Marquee's TLS stack. Hand it to `aws_config`'s loader (every
/// service client made from that `SdkConfig` shares it and its connection pools) or to a
/// service `Config` builder: the SDK crates are built without their default client, so an
/// SDK client without this one fails its first request with "no HTTP client".
pub fn aws_http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

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
