//! SQLite's errors as the store reports them.

use crate::store::StoreError;

/// A failed SQLite call: a full disk and a read-only database said as such, anything else
/// unavailable for now.
pub(super) fn unavailable(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::Full(error.to_string()),
        Some(ErrorCode::ReadOnly) => {
            StoreError::Unavailable(format!("the database is read-only: {error}"))
        }
        _ => StoreError::Unavailable(error.to_string()),
    }
}
