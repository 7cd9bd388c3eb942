//! "Changed since revision N": the change log read a page at a time.

use super::error::LogError;
use super::ledger::Ledger;
use crate::domain::Committed;
use crate::query::listing::{Cursor, Value, fingerprint, page_token};

/// One page of the change log.
#[derive(Debug)]
pub struct ChangePage {
    /// Commits, oldest first, with at most `page_size` writes among them: the first and the
    /// last may be parts of commits the pages before and after hold the rest of.
    pub commits: Vec<Committed>,
    /// Resumes after the last change of the page, inside its commit if the page ended there;
    /// empty once the page reaches the newest.
    pub next_page_token: String,
    /// The newest revision applied when the page was read.
    pub revision: i64,
}

impl Ledger {
    /// At most `page_size` changes after `after_revision`, or after where `page_token` left
    /// off. A commit larger than the page is split across pages, so a page never exceeds what
    /// the caller asked for (a commit of 20,000 writes would otherwise be one 12 MB answer).
    pub async fn list_changes(
        &self,
        after_revision: i64,
        page_token: &str,
        page_size: usize,
    ) -> Result<ChangePage, LogError> {
        let query = fingerprint("changes", "", "");
        // Read the commits after `after`, leaving out the first `skip` writes of the first.
        let (after, mut skip) = if page_token.is_empty() {
            (after_revision.max(0), 0)
        } else {
            let cursor = page_token::decode(page_token, &query).map_err(LogError::PageToken)?;
            match cursor.after.as_slice() {
                [Value::Integer(revision), Value::Integer(skip)] if *skip >= 0 => {
                    (*revision, *skip as usize)
                }
                _ => return Err(LogError::PageToken("page token is corrupt".into())),
            }
        };
        self.check_retained(after).await?;
        let applied = self.applied_revision();
        let page_size = page_size.max(1);
        let mut commits = Vec::new();
        let mut taken = 0;
        // Where the next page starts: after this revision, leaving out that many writes.
        let mut resume = (after, skip);
        for mut committed in self.store().commits_after(after, page_size).await? {
            let first = skip.min(committed.writes.len());
            let room = page_size - taken;
            let rest = committed.writes.len() - first;
            if rest > room {
                committed.writes = committed.writes.drain(first..first + room).collect();
                resume = (committed.revision - 1, first + room);
            } else {
                committed.writes.drain(..first);
                resume = (committed.revision, 0);
            }
            taken += committed.writes.len();
            skip = 0;
            commits.push(committed);
            if taken == page_size {
                break;
            }
        }
        let next_page_token = if resume.0 < applied {
            page_token::encode(&Cursor {
                query,
                after: vec![Value::Integer(resume.0), Value::Integer(resume.1 as i64)],
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
