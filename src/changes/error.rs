//! Why the change log cannot be read from where a caller asked.

use crate::store::StoreError;

/// Why the change log cannot be read from where a caller asked.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log no longer holds the commits after `after`; the oldest it holds is `oldest`.
    #[error(
        "changes after revision {after} are no longer kept; the oldest revision available is {oldest}"
    )]
    Compacted { after: i64, oldest: i64 },
    /// A read as of `revision`, older than the oldest revision whose versions the log keeps.
    #[error(
        "revision {revision} is older than the change log keeps; the oldest revision readable is {oldest}"
    )]
    Expired { revision: i64, oldest: i64 },
    /// A read at `time`, before the oldest commit the log keeps (`oldest`, at `oldest_time`).
    #[error(
        "no revision the change log keeps was committed at or before {time}; the oldest readable \
         by time is revision {oldest}, committed at {oldest_time}"
    )]
    TooEarly {
        time: chrono::DateTime<chrono::Utc>,
        oldest: i64,
        oldest_time: chrono::DateTime<chrono::Utc>,
    },
    /// The caller no longer wants the answer.
    #[error("the answer is no longer wanted")]
    Interrupted(#[from] crate::query::interrupt::Interrupted),
    /// The page token is not one this listing issued.
    #[error("{0}")]
    PageToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
