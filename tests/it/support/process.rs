//! Child processes (SeaweedFS, cargo-lambda) that can never outlive the test binary.
//!
//! Statics are never dropped and `PR_SET_PDEATHSIG` needs `unsafe`/libc, so each tool runs under
//! a tiny `sh` watchdog in its own process group. The watchdog blocks reading a pipe whose write
//! end only the test binary holds: when the binary stops the tool on purpose, exits, panics or is
//! killed with SIGKILL, the kernel closes the pipe, and the watchdog sends SIGTERM to the whole
//! group (the tool and anything it spawned, e.g. `cargo build` and the function process), then
//! SIGKILL after 10 s. The tool's output goes to a log file, never to a pipe that could fill up.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::Error;

/// Runs "$@" in the background, records its exit status, and tears down the process group when
/// stdin yields a line (a deliberate stop, which keeps the data for a restart) or EOF (the test
/// binary is gone: statics are never dropped, so the temp dir is removed here instead). The trap
/// comes after the spawn on purpose: ignored signals are inherited across exec, and the tool
/// must still die on SIGTERM.
const WATCHDOG: &str = r#"
{ "$@" </dev/null; echo "$?" > "$SUPPORT_EXIT_FILE"; } &
child=$!
trap '' TERM INT HUP
if read -r _ignored; then cleanup=""; else cleanup="$SUPPORT_CLEANUP_DIR"; fi
kill -TERM 0 2>/dev/null
i=0
while kill -0 "$child" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ -n "$cleanup" ]; then rm -rf "$cleanup"; fi
kill -KILL 0 2>/dev/null
"#;

/// A supervised tool. Dropping it stops the tool and waits for the group to go.
pub struct Supervised {
    name: String,
    watchdog: Child,
    lifeline: Option<ChildStdin>,
    log: PathBuf,
    exit_file: PathBuf,
}

impl Supervised {
    /// Starts `program args` in `cwd` with extra `envs`, logging to `<state_dir>/<name>.log`.
    /// `state_dir` is removed once the test binary exits.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        cwd: &Path,
        envs: &[(String, String)],
        state_dir: &Path,
    ) -> Result<Supervised, Error> {
        let log = state_dir.join(format!("{name}.log"));
        let exit_file = state_dir.join(format!("{name}.exit"));
        // A restart reuses the names; stale status would make the new process look dead.
        let _ = std::fs::remove_file(&exit_file);
        let out =
            File::create(&log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io(format!("duplicate {}", log.display()), e))?;
        let mut command = Command::new("sh");
        // `cargo test` gives the test binary its package's build-time variables. Passed on, they
        // reach `cargo build` under cargo-lambda, and build scripts that track them (ring tracks
        // CARGO_MANIFEST_DIR) rerun, rebuilding the whole TLS/AWS SDK chain on every test run
        // and again for the next ordinary build.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if is_cargo_test_var(&key) {
                command.env_remove(key.as_ref());
            }
        }
        let mut watchdog = command
            .arg("-c")
            .arg(WATCHDOG)
            .arg(format!("{name}-watchdog"))
            .arg(program)
            .args(args)
            .current_dir(cwd)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .env("SUPPORT_EXIT_FILE", &exit_file)
            .env("SUPPORT_CLEANUP_DIR", state_dir)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io(format!("start {}", program.display()), e))?;
        let lifeline = watchdog.stdin.take();
        Ok(Supervised {
            name: name.to_string(),
            watchdog,
            lifeline,
            log,
            exit_file,
        })
    }

    /// The tool's exit status if it has exited on its own.
    pub fn exit_status(&self) -> Option<String> {
        std::fs::read_to_string(&self.exit_file)
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// An error describing an early exit, if the tool has exited.
    pub fn check_alive(&self) -> Result<(), Error> {
        match self.exit_status() {
            None => Ok(()),
            Some(status) => Err(Error::Exited {
                what: self.name.clone(),
                status,
                log: self.log_tail(6000),
            }),
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `max` bytes of the tool's combined stdout/stderr.
    pub fn log_tail(&self, max: u64) -> String {
        let Ok(mut file) = File::open(&self.log) else {
            return format!("(no log at {})", self.log.display());
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Kills the tool and everything it spawned with SIGKILL, at once, as a crash or the
    /// kernel's OOM killer would: no signal handler runs, nothing is flushed or drained.
    pub fn kill_hard(&mut self) {
        let group = format!("-{}", self.watchdog.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            let _ = self.watchdog.kill();
        }
        let _ = self.watchdog.wait();
        self.lifeline.take();
    }

    /// Stops the tool and everything it spawned, waiting up to ~15 s.
    pub fn stop(&mut self) {
        // A line on the lifeline is the stop signal; the watchdog does the group teardown.
        if let Some(mut lifeline) = self.lifeline.take() {
            let _ = lifeline.write_all(b"stop\n");
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "[support] {} did not stop within 15 s; killing its watchdog",
            self.name
        );
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// Variables cargo sets for a running test binary (not user configuration such as
/// `CARGO_TARGET_DIR` or `CARGO_HOME`, which children should inherit).
fn is_cargo_test_var(key: &str) -> bool {
    const EXACT: [&str; 9] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&key) || key.starts_with("CARGO_PKG_") || key.starts_with("CARGO_BIN_EXE_")
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}
