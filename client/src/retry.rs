//! Retrying failed calls as gRPC clients do: exponential backoff with jitter, the server's
//! `RetryInfo` honoured, a timeout per attempt and one for the whole call.

use std::future::Future;
use std::time::Duration;

use crate::Error;

/// How calls are retried: what [`Error::is_retryable`] accepts (UNAVAILABLE, failing to
/// connect, an attempt timed out here, RESOURCE_EXHAUSTED with the server's `RetryInfo`);
/// writes only when they carry a `request_id`, so a retried write is applied once. Unary
/// calls, listings, the watch and imports all wait by the same policy.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled each time, up to `max_backoff`, then jittered by
    /// ±50 % so that clients do not retry in lockstep.
    pub initial_backoff: Duration,
    /// Longest wait between attempts (before jitter).
    pub max_backoff: Duration,
    /// Longest one attempt may take before it is abandoned and, if attempts remain, retried;
    /// `None`: only the call's deadline applies.
    pub attempt_timeout: Option<Duration>,
    /// Longest the attempts and the waits between them may take together: no retry starts
    /// after it, and the last attempt is cut at it; `None`: no limit beyond `max_attempts`.
    pub total_timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            attempt_timeout: None,
            total_timeout: None,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (from 0): `initial_backoff` doubled `retry`
    /// times, at most `max_backoff`, with ±50 % jitter; the server's `RetryInfo` if longer.
    pub(crate) fn delay(&self, retry: u32, error: &Error) -> Duration {
        let backoff = self
            .initial_backoff
            .saturating_mul(1 << retry.min(16))
            .min(self.max_backoff);
        let jittered = backoff.mul_f64(0.5 + jitter_fraction());
        error
            .retry_after()
            .map_or(jittered, |hint| hint.max(jittered))
    }

    /// Runs `call` until it succeeds, fails in a way retrying cannot help, runs out of
    /// attempts or reaches the total timeout.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let started = tokio::time::Instant::now();
        let remaining = || {
            self.total_timeout
                .map(|total| total.saturating_sub(started.elapsed()))
        };
        let mut attempt = 1;
        loop {
            let limit = match (self.attempt_timeout, remaining()) {
                (Some(attempt), Some(left)) => Some(attempt.min(left)),
                (attempt, left) => attempt.or(left),
            };
            let outcome = match limit {
                Some(limit) => tokio::time::timeout(limit, call())
                    .await
                    .unwrap_or(Err(Error::AttemptTimedOut(limit))),
                None => call().await,
            };
            match outcome {
                Err(error) if error.is_retryable() && attempt < self.max_attempts => {
                    let wait = self.delay(attempt - 1, &error);
                    if remaining().is_some_and(|left| left <= wait) {
                        return Err(error);
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

/// 64 random bits from the standard library's random hash keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(0);
    hasher.finish()
}

/// A fraction in [0, 1).
fn jitter_fraction() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A fresh random `request_id` (128 bits, hex) for a write, so that the write can be retried
/// and is still applied once.
///
/// ```
/// let id = pairing_aid_client::new_request_id();
/// assert_eq!(id.len(), 32);
/// assert_ne!(id, pairing_aid_client::new_request_id());
/// ```
pub fn new_request_id() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn unavailable() -> Error {
        Error::from(tonic::Status::unavailable("store down"))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_unavailable_until_it_succeeds() {
        let calls = Cell::new(0);
        let policy = RetryPolicy::default();
        let result = policy
            .run(|| {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err(unavailable()) } else { Ok(n) } }
            })
            .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn never_retries_other_codes_and_stops_after_max_attempts() {
        let calls = Cell::new(0);
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let invalid = policy
            .run(|| {
                calls.set(calls.get() + 1);
                async { Err::<(), _>(Error::from(tonic::Status::invalid_argument("bad"))) }
            })
            .await;
        assert_eq!(
            (invalid.unwrap_err().code(), calls.get()),
            (Some(tonic::Code::InvalidArgument), 1)
        );
        calls.set(0);
        let down = policy
            .run(|| {
                calls.set(calls.get() + 1);
                async { Err::<(), _>(unavailable()) }
            })
            .await;
        assert!(down.unwrap_err().is_retryable());
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn waits_at_least_as_long_as_the_server_asks() {
        let policy = RetryPolicy::default();
        let mut details = tonic_types::ErrorDetails::new();
        details.set_retry_info(Some(Duration::from_secs(3)));
        let error = Error::from(
            <tonic::Status as tonic_types::StatusExt>::with_error_details(
                tonic::Code::Unavailable,
                "later",
                details,
            ),
        );
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
        assert!(policy.delay(0, &error) >= Duration::from_secs(3));
        let plain = policy.delay(10, &unavailable());
        assert!(
            plain <= policy.max_backoff.mul_f64(1.5),
            "backoff is capped"
        );
    }

    fn exhausted(retry_after: Option<Duration>) -> Error {
        let mut details = tonic_types::ErrorDetails::new();
        details.set_retry_info(retry_after);
        Error::from(
            <tonic::Status as tonic_types::StatusExt>::with_error_details(
                tonic::Code::ResourceExhausted,
                "over the limit",
                details,
            ),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn retries_resource_exhausted_only_when_the_server_says_when() {
        let calls = Cell::new(0);
        let policy = RetryPolicy::default();
        let started = tokio::time::Instant::now();
        let result = policy
            .run(|| {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 2 {
                        Err(exhausted(Some(Duration::from_secs(2))))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 2);
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "waited as asked"
        );
        calls.set(0);
        let refused = policy
            .run(|| {
                calls.set(calls.get() + 1);
                async { Err::<(), _>(exhausted(None)) }
            })
            .await;
        assert_eq!(
            refused.unwrap_err().code(),
            Some(tonic::Code::ResourceExhausted)
        );
        assert_eq!(calls.get(), 1, "a request too large is not retried");
    }

    #[tokio::test(start_paused = true)]
    async fn abandons_a_slow_attempt_and_stops_at_the_total_timeout() {
        let calls = Cell::new(0);
        let policy = RetryPolicy {
            attempt_timeout: Some(Duration::from_secs(1)),
            ..RetryPolicy::default()
        };
        let answered = policy
            .run(|| {
                calls.set(calls.get() + 1);
                let first = calls.get() == 1;
                async move {
                    if first {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Ok::<_, Error>("second attempt")
                }
            })
            .await;
        assert_eq!(answered.unwrap(), "second attempt");
        let policy = RetryPolicy {
            max_attempts: 100,
            total_timeout: Some(Duration::from_secs(3)),
            ..RetryPolicy::default()
        };
        let started = tokio::time::Instant::now();
        let hanging = policy
            .run(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok::<_, Error>(())
            })
            .await;
        assert!(matches!(hanging, Err(Error::AttemptTimedOut(_))));
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let started = tokio::time::Instant::now();
        let down = policy.run(|| async { Err::<(), _>(unavailable()) }).await;
        assert!(down.unwrap_err().is_retryable());
        assert!(
            started.elapsed() <= Duration::from_secs(3),
            "no retry starts past the total timeout: {:?}",
            started.elapsed()
        );
    }
}
