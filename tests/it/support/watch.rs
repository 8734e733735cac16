//! The function under test, run by `cargo lambda watch` (the real Lambda emulator) on a free
//! loopback port with an env file, with enough concurrency that the function can invoke itself.
//!
//! watch compiles the binary on the first request, so readiness is a `GET .../healthz` that
//! answers 200; the first one can take minutes on a cold target dir. Progress is printed so a
//! slow start does not look like a hang.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Error;
use super::process::Supervised;

/// At least 2 so a self-invoking function cannot deadlock. Real Lambda scales out; here every
/// worker that waits on a stalled model or Slack holds an instance, and Slack's image fetch of
/// a poster link (served by the function itself) needs a free one, so tests that stall in
/// parallel need headroom. Every stack test shares the main instance (the fault tests alone
/// hold up to ten workers on hung models and Slack); at 12, Slack's image fetches sometimes
/// found no free instance and timed out. Instances start only when needed.
const CONCURRENCY: u32 = 32;

pub struct Watch {
    port: u16,
    bin: String,
    // Declared before `_dir` so the process stops before the env file and log are removed.
    process: Mutex<Supervised>,
    _dir: tempfile::TempDir,
}

impl Watch {
    /// Starts `cargo-lambda lambda watch` on `port` in `crate_dir` for binary `bin` with `env`,
    /// and waits until `GET /lambda-url/<bin>/healthz` answers 200 (up to `timeout`). The
    /// caller picks the port (see [`super::free_ports`]) so the environment can name the
    /// function's own address ([`Watch::http_base_at`]).
    pub fn start(
        crate_dir: &Path,
        bin: &str,
        port: u16,
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<Watch, Error> {
        let cargo_lambda = super::find_tool("cargo-lambda")?;
        let dir = tempfile::Builder::new()
            .prefix("marquee-watch-")
            .tempdir()
            .map_err(|e| Error::io("create a temp dir for cargo lambda watch", e))?;
        let env_file = dir.path().join("function.env");
        // Single quotes keep values literal: the env-file parser refuses an unquoted `=` inside a
        // value (MARQUEE_MODEL_REGIONS=stability=us-west-2,...).
        let contents: String = env
            .iter()
            .map(|(k, v)| {
                assert!(
                    !v.contains(['\'', '\n']),
                    "{k} cannot be written to an env file"
                );
                format!("{k}='{v}'\n")
            })
            .collect();
        std::fs::write(&env_file, contents)
            .map_err(|e| Error::io(format!("write {}", env_file.display()), e))?;

        let args: Vec<String> = vec![
            "lambda".into(),
            "watch".into(),
            "-A".into(),
            "127.0.0.1".into(),
            "-P".into(),
            port.to_string(),
            "--env-file".into(),
            env_file.display().to_string(),
            "--concurrency".into(),
            CONCURRENCY.to_string(),
            // The binary under test is fixed for the run: a file changing in the tree (an
            // editor, a tool writing beside the sources) must not restart instances mid-job,
            // which fails the requests in flight (seen as a poster whose image Slack could not
            // fetch). scripts/load.sh passes the same flag for the same reason.
            "--ignore-changes".into(),
        ];
        let process = Supervised::spawn(
            "cargo-lambda-watch",
            &cargo_lambda,
            &args,
            crate_dir,
            &[],
            dir.path(),
        )?;
        let watch = Watch {
            port,
            bin: bin.to_string(),
            process: Mutex::new(process),
            _dir: dir,
        };
        watch.wait_ready(timeout)?;
        Ok(watch)
    }

    /// `http://127.0.0.1:PORT/lambda-url/<bin>`: the function's HTTP surface (API Gateway v2
    /// events); append the route, e.g. `/slack/commands`.
    pub fn http_base(&self) -> String {
        Self::http_base_at(self.port, &self.bin)
    }

    /// The HTTP surface of binary `bin` served on `port`, before it starts.
    pub fn http_base_at(port: u16, bin: &str) -> String {
        format!("http://127.0.0.1:{port}/lambda-url/{bin}")
    }

    /// `http://127.0.0.1:PORT`: watch's Invoke API root.
    pub fn invoke_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last `max` bytes of watch's output (cargo's and the function's logs).
    pub fn log_tail(&self, max: u64) -> String {
        self.lock().log_tail(max)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Supervised> {
        self.process.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let started = Instant::now();
        let url = format!("{}/healthz", self.http_base());
        eprintln!(
            "[support] starting cargo lambda watch for `{}` on port {} (the first request compiles it; log: {})",
            self.bin,
            self.port,
            self.lock().log_path().display()
        );
        super::block_on(async {
            // One request, left pending for the whole compile: watch starts a new function
            // instance (another `cargo run`, all fighting over the build lock) for every request
            // it holds, so timing out and retrying would multiply the work.
            let http = marquee_core::net::client();
            let mut last = String::from("no attempt finished");
            let mut ticker = tokio::time::interval(Duration::from_secs(15));
            ticker.tick().await;
            while started.elapsed() < timeout {
                let attempt = http
                    .get(&url)
                    .timeout(timeout.saturating_sub(started.elapsed()))
                    .send();
                tokio::pin!(attempt);
                let result = loop {
                    tokio::select! {
                        result = &mut attempt => break result,
                        _ = ticker.tick() => {
                            self.lock().check_alive()?;
                            eprintln!(
                                "[support] still waiting for cargo lambda watch to build `{}` ({:.0?})",
                                self.bin,
                                started.elapsed()
                            );
                        }
                    }
                };
                match result {
                    Ok(r) if r.status().is_success() => {
                        eprintln!(
                            "[support] cargo lambda watch ready in {:.1?}",
                            started.elapsed()
                        );
                        return Ok(());
                    }
                    Ok(r) => last = format!("GET {url} answered {}", r.status()),
                    Err(e) => last = format!("GET {url} failed: {e}"),
                }
                // Before the server listens, requests fail at once; watch may also exit.
                self.lock().check_alive()?;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(Error::NotReady {
                what: "cargo lambda watch".into(),
                waited: started.elapsed(),
                detail: last,
                log: self.log_tail(8000),
            })
        })
    }
}
