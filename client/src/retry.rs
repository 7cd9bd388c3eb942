//! Retrying calls that failed with UNAVAILABLE, with exponential backoff and jitter.

use std::future::Future;
use std::time::Duration;

use crate::Error;

/// How calls are retried. Only UNAVAILABLE is retried; writes only when they carry a
/// `request_id`, so a retried write is applied once.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled each time, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
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

    /// The wait before retry number `retry` (from 0): the server's `RetryInfo` if longer,
    /// else the backoff with ±50 % jitter so clients do not retry in lockstep.
    fn delay(&self, retry: u32, error: &Error) -> Duration {
        let backoff = self.backoff(retry.min(16));
        let jitter = 0.5 + jitter_fraction();
        let jittered = backoff.mul_f64(jitter);
        error
            .retry_after()
            .map_or(jittered, |hint| hint.max(jittered))
    }

    /// `initial_backoff` doubled `doublings` times, at most `max_backoff`, without jitter:
    /// the wait before a stream (a watch, an import) reconnects.
    pub(crate) fn backoff(&self, doublings: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// Runs `call` until it succeeds, fails in a way retrying cannot help, or runs out of
    /// attempts.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(error) if error.is_retryable() && attempt < self.max_attempts => {
                    tokio::time::sleep(self.delay(attempt - 1, &error)).await;
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
}
