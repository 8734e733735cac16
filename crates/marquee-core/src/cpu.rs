//! CPU-heavy work (drawing art, setting type, encoding and decoding PNGs) off the async
//! executor, and below the request path in the scheduler's eyes.
//!
//! Slack gives an ack three seconds; a poster has minutes. On one machine (`marquee serve`) the
//! renders and the doors share the same cores, so every render runs on a blocking thread that
//! has asked the kernel for the lowest priority (nice 19, once per thread): while requests
//! arrive, the scheduler gives the doors the CPU and the renders the rest; when nothing
//! arrives, the renders use every core. Raising one's own nice value needs no privilege, and
//! it is per thread on Linux, so the executor's threads keep theirs. Elsewhere (macOS, Windows:
//! the laptop demo) this is a plain `spawn_blocking`. In Lambda the worker is its own instance,
//! so it changes nothing there.
//!
//! Measured in BENCHMARKS.md ("A burst against the embedded default…", warm acks).

use std::cell::Cell;

use tokio::task::JoinError;

/// Runs `work` on the blocking pool at background priority and waits for it.
pub async fn background<T, F>(work: F) -> Result<T, JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        lower_this_thread();
        work()
    })
    .await
}

/// The niceness background work asks for: the lowest a thread can have.
const BACKGROUND_NICE: i32 = 19;

thread_local! {
    static LOWERED: Cell<bool> = const { Cell::new(false) };
}

/// Lowers the calling thread's scheduling priority once; a refusal (a sandbox forbidding
/// `setpriority`) only costs the ack path its head start, so it is ignored.
fn lower_this_thread() {
    LOWERED.with(|lowered| {
        if !lowered.get() {
            lowered.set(true);
            set_own_nice(BACKGROUND_NICE);
        }
    });
}

#[cfg(target_os = "linux")]
fn set_own_nice(nice: i32) {
    // On Linux `setpriority(PRIO_PROCESS, tid)` names one thread (see setpriority(2), BUGS).
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice);
}

#[cfg(not(target_os = "linux"))]
fn set_own_nice(_nice: i32) {}

/// The calling thread's niceness, for the tests.
#[cfg(all(test, target_os = "linux"))]
fn own_nice() -> i32 {
    rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap_or(0)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_work_runs_at_the_lowest_priority_and_the_executor_keeps_its_own() {
        let before = own_nice();
        let inside = background(own_nice).await.expect("the task runs");
        assert_eq!(
            inside, BACKGROUND_NICE,
            "a render thread yields to requests"
        );
        assert_eq!(own_nice(), before, "the executor's thread is not lowered");
        // A second piece of work on the (possibly same) blocking thread stays low.
        assert_eq!(background(own_nice).await.expect("runs"), BACKGROUND_NICE);
    }
}
