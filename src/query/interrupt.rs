//! Stopping a question whose caller went away: the api raises the flag when the call ends
//! (deadline, cancel, disconnect), and every scan checks it as it goes, so the work stops within
//! a few rows instead of running to the end for nobody.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Raised when the answer is no longer wanted; cheap to check on every row.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicBool>);

/// The caller is gone: the question stopped unanswered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the call ended before its answer was ready")]
pub struct Interrupted;

impl Interrupt {
    /// Marks the answer as no longer wanted.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the answer is no longer wanted.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err` once the answer is no longer wanted: scans call it on each row and stop with `?`.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.is_raised() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }

    /// A guard that raises the flag when dropped: held by the call, it stops the work when the
    /// call's future is dropped, whatever ends it.
    pub fn raise_on_drop(&self) -> RaiseOnDrop {
        RaiseOnDrop(self.clone())
    }
}

/// Raises its interrupt when dropped.
pub struct RaiseOnDrop(Interrupt);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.raise();
    }
}
