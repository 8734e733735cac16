//! How model calls are retried: bounded attempts, full-jitter backoff, and never past the
//! invocation's deadline.

use std::time::Duration;

use tokio::time::Instant;

use super::{DELIVERY_RESERVE, Pipeline, PipelineError};
use marquee_core::model::{GeneratedImage, ImageRequest, ModelError};

/// How model calls are retried.
#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    /// Attempts in all, for throttling and unavailability.
    attempts: u32,
    /// Attempts in all, for Bedrock's own timeouts (ModelTimeoutException).
    timeout_attempts: u32,
    base: Duration,
    cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            timeout_attempts: 2,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter" backoff: a random wait up to an exponentially growing ceiling, so that
    /// many throttled workers do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(millis / 2..=millis.max(1)))
    }
}

impl Pipeline {
    /// Asks `request.model` for art, retrying what may pass, within the deadline.
    pub(super) async fn generate(
        &self,
        request: &ImageRequest,
        deadline: Option<Instant>,
    ) -> Result<GeneratedImage, PipelineError> {
        let model = self
            .models
            .get(request.model)
            .ok_or(PipelineError::ModelNotConfigured(request.model))?;
        let label = request.model.to_string();
        self.with_retries(&label, deadline, || model.generate(request))
            .await
    }

    /// Runs one model call (`call`, named `label` in logs) under the retry policy: throttling,
    /// unavailability and Bedrock's own timeouts are tried again after a full-jitter wait, never
    /// past the point where the poster could no longer be delivered before `deadline`. A call
    /// abandoned on a client-side timeout is not: Bedrock still finishes and bills it.
    pub(super) async fn with_retries<'a, F, Fut>(
        &self,
        label: &str,
        deadline: Option<Instant>,
        mut call: F,
    ) -> Result<GeneratedImage, PipelineError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<GeneratedImage, ModelError>> + 'a,
    {
        let mut attempt = 0;
        let mut timeouts = 0;
        loop {
            attempt += 1;
            let call = call();
            let result = match deadline {
                Some(d) => {
                    let left = d
                        .saturating_duration_since(Instant::now())
                        .saturating_sub(DELIVERY_RESERVE);
                    if left.is_zero() {
                        return Err(PipelineError::OutOfTime);
                    }
                    // Out of time while the call is out: it was sent, and Bedrock finishes and
                    // bills it whether or not anyone waits, so it counts as billed.
                    match tokio::time::timeout(left, call).await {
                        Ok(r) => r,
                        Err(_) => {
                            return Err(ModelError::Abandoned {
                                secs: left.as_secs(),
                            }
                            .into());
                        }
                    }
                }
                None => call.await,
            };
            let error = match result {
                Ok(image) => return Ok(image),
                Err(e) => e,
            };
            // Bedrock's own timeout (nothing made) may be tried again, once; a call Marquee gave
            // up on never is ([`ModelError::is_retryable`]): it is being billed.
            if matches!(error, ModelError::Timeout) {
                timeouts += 1;
            }
            let may_retry = error.is_retryable()
                && attempt < self.retry.attempts
                && timeouts < self.retry.timeout_attempts.max(1);
            if !may_retry {
                return Err(error.into());
            }
            let wait = self.retry.backoff(attempt);
            if let Some(d) = deadline {
                if Instant::now() + wait + DELIVERY_RESERVE >= d {
                    return Err(error.into());
                }
            }
            tracing::warn!(
                model = label,
                attempt,
                kind = error.kind(),
                wait_ms = wait.as_millis() as u64,
                "model call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let d = p.backoff(attempt);
            assert!(d <= p.cap, "{attempt}: {d:?}");
        }
        assert!(p.backoff(1) <= Duration::from_millis(500));
        assert!(p.backoff(6) >= Duration::from_secs(4));
    }
}
