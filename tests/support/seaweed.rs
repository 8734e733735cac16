//! A real S3 for the tests: SeaweedFS (`weed mini`) with SigV4 authentication on, bound to
//! 127.0.0.1 only, telemetry off, every port chosen free so parallel runs do not collide.
//!
//! It really verifies signatures and presigned URLs, which is the point: a presigned URL that
//! Marquee gets wrong fails here as it would on AWS. Readiness is a signed CreateBucket that
//! succeeds (the port answers about a second before signed requests do). The process can be
//! stopped and restarted mid-test (same ports, same data) for fault tests.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;

use super::Error;
use super::process::Supervised;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Seaweed {
    access_key: String,
    secret_key: String,
    bucket: String,
    weed: PathBuf,
    args: Vec<String>,
    s3_port: u16,
    // Declared before `dir` so the process stops before its data directory is removed.
    process: Mutex<Option<Supervised>>,
    dir: tempfile::TempDir,
}

impl Seaweed {
    /// Starts SeaweedFS and waits until a signed CreateBucket of [`Self::bucket`] succeeds.
    pub fn start() -> Result<Seaweed, Error> {
        let weed = super::find_tool("weed")?;
        let dir = tempfile::Builder::new()
            .prefix("marquee-seaweed-")
            .tempdir()
            .map_err(|e| Error::io("create a temp dir for SeaweedFS", e))?;
        let access_key = format!("AK{}", super::random_token(18).to_uppercase());
        let secret_key = super::random_token(40);
        let bucket = format!("marquee-test-{}", super::random_token(8).to_lowercase());

        let config = serde_json::json!({"identities": [{
            "name": "marquee-test",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]});
        let config_path = dir.path().join("s3.json");
        std::fs::write(&config_path, config.to_string())
            .map_err(|e| Error::io(format!("write {}", config_path.display()), e))?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| Error::io(format!("create {}", data.display()), e))?;

        // `weed mini` opens an HTTP and a gRPC port for each of master, volume, filer, S3 and
        // admin (gRPC defaults to HTTP + 10000); all are set so none falls back to a fixed one.
        let ports = super::free_ports(10);
        let s3_port = ports[0];
        let mut args: Vec<String> = vec![
            "mini".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            "-master.telemetry=false".into(),
            format!("-s3.config={}", config_path.display()),
            "-webdav=false".into(),
            "-admin.ui=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
        ];
        let named = [
            "s3.port",
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ];
        args.extend(
            named
                .iter()
                .zip(&ports)
                .map(|(flag, port)| format!("-{flag}={port}")),
        );

        let seaweed = Seaweed {
            access_key,
            secret_key,
            bucket,
            weed,
            args,
            s3_port,
            process: Mutex::new(None),
            dir,
        };
        seaweed.launch()?;
        Ok(seaweed)
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_S3`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// A bucket created at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A path-style S3 client with the stack's credentials.
    pub fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(
                &self.access_key,
                &self.secret_key,
                None,
                None,
                "seaweed-test",
            ))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// The last `max` bytes of SeaweedFS's log.
    pub fn log_tail(&self, max: u64) -> String {
        match &*self.lock() {
            Some(p) => p.log_tail(max),
            None => "(SeaweedFS is stopped)".into(),
        }
    }

    /// Stops SeaweedFS (takes a few seconds); S3 calls then fail with connection errors.
    pub fn stop(&self) {
        if let Some(mut process) = self.lock().take() {
            process.stop();
        }
    }

    /// Starts SeaweedFS again on the same ports and data, waiting until it is ready.
    pub fn restart(&self) -> Result<(), Error> {
        self.stop();
        self.launch()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Supervised>> {
        // A panicking test must not poison S3 for every later test.
        self.process.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn launch(&self) -> Result<(), Error> {
        let started = Instant::now();
        let process = Supervised::spawn(
            "seaweedfs",
            &self.weed,
            &self.args,
            self.dir.path(),
            &[],
            self.dir.path(),
        )?;
        let client = self.client();
        let bucket = self.bucket.clone();
        let ready = super::block_on(async {
            let mut last = String::from("no attempt finished");
            while started.elapsed() < READY_TIMEOUT {
                process.check_alive()?;
                match client.create_bucket().bucket(&bucket).send().await {
                    Ok(_) => return Ok(()),
                    // A restart finds the bucket from the first run in the same data dir.
                    Err(e)
                        if matches!(
                            e.code(),
                            Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                        ) =>
                    {
                        return Ok(());
                    }
                    Err(e) => last = aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(Error::NotReady {
                what: "SeaweedFS".into(),
                waited: started.elapsed(),
                detail: format!("a signed CreateBucket kept failing; last error: {last}"),
                log: process.log_tail(6000),
            })
        });
        ready?;
        *self.lock() = Some(process);
        Ok(())
    }
}
