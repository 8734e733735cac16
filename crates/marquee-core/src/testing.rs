//! Servers for unit tests, this crate's and marquee-service's: [`serve`] runs an axum `Router`
//! on a loopback port (every well-formed HTTP answer a test needs, redirects included, is a
//! route), and [`misbehaving`] is the one raw-TCP server, kept for what no HTTP server can be
//! told to do: accept a connection and never answer, or hang up without a response. It knows
//! nothing of the code under test, and no product code calls it. (`tests/it/support` has its
//! own `serve`, which runs stand-ins on the stack's background runtime for the whole test
//! binary.)
//!
//! It is compiled into every build, hidden from the docs, like the sample jobs and in-memory
//! metrics other crates' tests use: a feature that only tests turn on would make the function
//! the stack tests run a second build of this crate and all above it
//! (`architecture::the_stack_runs_the_function_the_test_build_built`).

use std::net::SocketAddr;

/// Serves `app` on a fresh loopback port of the test's runtime; returns its origin
/// (`http://127.0.0.1:<port>`).
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// How a [`misbehaving`] server fails its clients below the HTTP level.
#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Accepts connections, holds them open and never answers (a read timeout).
    Silent,
    /// Reads the request and closes the connection without a response (a transport error).
    HangUp,
}

/// A raw-TCP server on a loopback port that fails every connection as `how` says.
pub async fn misbehaving(how: Misbehaviour) -> SocketAddr {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            match how {
                Misbehaviour::Silent => held.push(socket),
                Misbehaviour::HangUp => {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                }
            }
        }
    });
    addr
}
