//! "Changed since revision N": the change log read a page at a time.

use super::error::LogError;
use super::ledger::Ledger;
use crate::domain::Committed;
use crate::query::listing::{Cursor, Value, fingerprint, page_token};

/// One page of the change log.
#[derive(Debug)]
pub struct ChangePage {
    /// Whole commits, oldest first.
    pub commits: Vec<Committed>,
    /// Resumes after the last commit of the page; empty once the page reaches the newest.
    pub next_page_token: String,
    /// The newest revision applied when the page was read.
    pub revision: i64,
}

impl Ledger {
    /// The commits after `after_revision` (or where `page_token` left off), whole commits
    /// holding about `page_size` changes.
    pub async fn list_changes(
        &self,
        after_revision: i64,
        page_token: &str,
        page_size: usize,
    ) -> Result<ChangePage, LogError> {
        let query = fingerprint("changes", "", "");
        let after = if page_token.is_empty() {
            after_revision.max(0)
        } else {
            let cursor = page_token::decode(page_token, &query).map_err(LogError::PageToken)?;
            match cursor.after.first() {
                Some(Value::Integer(revision)) => *revision,
                _ => return Err(LogError::PageToken("page token is corrupt".into())),
            }
        };
        self.check_retained(after).await?;
        let applied = self.applied_revision();
        let mut commits = Vec::new();
        let mut changes = 0;
        let mut last = after;
        for committed in self.store().commits_after(after, page_size).await? {
            if changes > 0 && changes + committed.writes.len() > page_size {
                break;
            }
            changes += committed.writes.len();
            last = committed.revision;
            commits.push(committed);
        }
        let next_page_token = if last < applied {
            page_token::encode(&Cursor {
                query,
                after: vec![Value::Integer(last)],
            })
        } else {
            String::new()
        };
        Ok(ChangePage {
            commits,
            next_page_token,
            revision: applied,
        })
    }
}
