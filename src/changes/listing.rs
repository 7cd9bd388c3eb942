//! "Changed since revision N": the change log read a page at a time.

use super::error::LogError;
use super::ledger::Ledger;
use crate::domain::{ChangeScope, Committed};
use crate::query::listing::{Cursor, Value, fingerprint, page_token};
use crate::store::position;

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

/// Most writes one page reads past when few are in its scope: a page then ends short, with a
/// token to go on from, rather than read the whole log in one call.
const SCAN_BUDGET: usize = 20_000;

impl Ledger {
    /// At most `page_size` changes in `scope` after `after_revision`, or after where
    /// `page_token` left off. A commit larger than the page is split across pages, so a page
    /// never exceeds what the caller asked for (a commit of 20,000 writes would otherwise be
    /// one 12 MB answer).
    pub async fn list_changes(
        &self,
        after_revision: i64,
        page_token: &str,
        page_size: usize,
        scope: &ChangeScope,
    ) -> Result<ChangePage, LogError> {
        // A token resumes only the listing of the scope it was made for.
        let query = fingerprint("changes", &format!("{scope:?}"), "");
        // Read the commits after `after`, leaving out the first `skip` writes of the first.
        let (after, skip) = if page_token.is_empty() {
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
        let mut scanned = 0;
        // Where the next page starts: the first change of revision `next.0` not yet passed
        // over is its `next.1`-th.
        let mut next = (after + 1, skip);
        let mut exhausted = false;
        while taken < page_size && scanned < SCAN_BUDGET {
            // Only the changes the page may still take (or pass over) are read: a page of ten
            // from a commit of 20,000 reads ten.
            let limit = if scope.is_everything() {
                page_size - taken
            } else {
                (SCAN_BUDGET - scanned).min(page_size.max(1_000))
            };
            let batch = self
                .store()
                .changes_from(position(next.0, next.1), limit)
                .await?;
            let read: usize = batch.iter().map(|c| c.writes.len()).sum();
            exhausted = read < limit;
            for mut committed in batch {
                let first = if committed.revision == next.0 {
                    next.1
                } else {
                    0
                };
                let in_scope = scope.admits_commit(&committed);
                let writes = std::mem::take(&mut committed.writes);
                let mut seq = first;
                for write in writes {
                    if taken == page_size {
                        break;
                    }
                    seq += 1;
                    scanned += 1;
                    if in_scope && scope.admits_write(&write) {
                        committed.writes.push(write);
                        taken += 1;
                    }
                }
                next = (committed.revision, seq);
                if !committed.writes.is_empty() {
                    commits.push(committed);
                }
                if taken == page_size {
                    break;
                }
            }
            if exhausted {
                break;
            }
        }
        // Caught up: the store held nothing more, and the last commit read (whole, then) is
        // the newest applied. Otherwise the token resumes at `next`: after the revision before
        // it, leaving out the changes of `next.0` already passed over.
        let passed_whole = if next == (after + 1, skip) {
            after
        } else {
            next.0
        };
        let next_page_token = if exhausted && passed_whole >= applied {
            String::new()
        } else {
            page_token::encode(&Cursor {
                query,
                after: vec![Value::Integer(next.0 - 1), Value::Integer(next.1 as i64)],
            })
        };
        Ok(ChangePage {
            commits,
            next_page_token,
            revision: applied,
        })
    }
}
