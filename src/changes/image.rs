//! The read model's image beside the store: a start-up reads it and catches up from the change
//! log instead of rebuilding the model from every record, and the ledger rewrites it as the
//! record moves on, from a forked process so that writes never wait for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLockReadGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{info, warn};

use super::ledger::{Ledger, load_model};
use crate::query::model::ReadModel;
use crate::query::model::image::{self, ImageError, ImageOf};
use crate::store::{Store, StoreError};
use crate::telemetry;

/// The model a start-up begins from, and the revision of the image it was read from.
pub struct Opened {
    pub model: ReadModel,
    pub image_revision: Option<i64>,
}

/// The model at start-up: the image at `path` when it is whole, written by this build and of
/// a commit `store` holds, else the full load. Either way the caller then catches up from the
/// log. Why an image was not used is logged and counted
/// (`pairing_aid_model_image_loads_total`).
pub async fn open_model(store: &dyn Store, path: Option<&Path>) -> Result<Opened, StoreError> {
    let Some(path) = path else {
        return Ok(Opened {
            model: load_model(store).await?,
            image_revision: None,
        });
    };
    let started = Instant::now();
    let outcome = match read_image(path.to_owned()).await {
        Ok((model, of)) if holds_commit(store, of).await? => Ok((model, of)),
        Ok((_, of)) => Err(Unusable::Stale(of)),
        Err(error) => Err(Unusable::Image(error)),
    };
    let metrics = telemetry::metrics();
    match outcome {
        Ok((model, of)) => {
            metrics
                .model_image_loads
                .with_label_values(&["loaded"])
                .inc();
            metrics.model_image_revision.set(of.revision);
            info!(
                path = %path.display(),
                revision = of.revision,
                seconds = started.elapsed().as_secs_f64(),
                "read model read from its image; catching up from the change log"
            );
            Ok(Opened {
                model,
                image_revision: Some(of.revision),
            })
        }
        Err(unusable) => {
            let label = unusable.label();
            metrics.model_image_loads.with_label_values(&[label]).inc();
            if label == "missing" {
                info!(path = %path.display(), "no image of the read model yet: loading every record");
            } else {
                warn!(path = %path.display(), reason = %unusable, "the read model's image is not used: loading every record");
            }
            Ok(Opened {
                model: load_model(store).await?,
                image_revision: None,
            })
        }
    }
}

/// Why an image was not used.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error(transparent)]
    Image(ImageError),
    #[error(
        "the store holds no commit of revision {} at {}: the image is of another database or \
         of this one before it was restored from an older backup",
        .0.revision,
        .0.committed_at
    )]
    Stale(ImageOf),
}

impl Unusable {
    /// A short label for metrics.
    fn label(&self) -> &'static str {
        match self {
            Unusable::Image(error) => error.label(),
            Unusable::Stale(_) => "stale",
        }
    }
}

async fn read_image(path: PathBuf) -> Result<(ReadModel, ImageOf), ImageError> {
    tokio::task::spawn_blocking(move || image::read(&path))
        .await
        .map_err(|e| ImageError::Damaged(format!("reading it stopped: {e}")))?
}

/// Whether `store` holds the commit an image was taken at.
async fn holds_commit(store: &dyn Store, of: ImageOf) -> Result<bool, StoreError> {
    Ok(commit_time(store, of.revision).await? == Some(of.committed_at))
}

async fn commit_time(
    store: &dyn Store,
    revision: i64,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let commits = store.commits_after(revision - 1, 1).await?;
    Ok(commits
        .first()
        .filter(|c| c.revision == revision)
        .map(|c| c.commit_time))
}

/// Where and how often the image is rewritten.
#[derive(Clone, Debug)]
pub struct ImageKeeping {
    pub path: PathBuf,
    /// How often to check whether the record has moved on since the last image.
    pub interval: Duration,
}

impl Ledger {
    /// Rewrites the image whenever the record has moved on since the last one, checking every
    /// `keeping.interval` until `stop` turns true: the revision of the last image, for
    /// [`Ledger::write_image_if_behind`] once the server has stopped. `imaged` is the revision
    /// of the image the model was read from, if it was.
    pub async fn keep_image(
        self: Arc<Self>,
        keeping: ImageKeeping,
        mut imaged: Option<i64>,
        mut stop: watch::Receiver<bool>,
    ) -> Option<i64> {
        loop {
            imaged = self.write_image_if_behind(&keeping.path, imaged).await;
            tokio::select! {
                _ = stop.wait_for(|stopping| *stopping) => return imaged,
                () = tokio::time::sleep(keeping.interval) => {}
            }
        }
    }

    /// Writes an image if the model is past `imaged`: the revision of the newest image.
    pub async fn write_image_if_behind(&self, path: &Path, imaged: Option<i64>) -> Option<i64> {
        if imaged >= Some(self.applied_revision()) {
            return imaged;
        }
        match self.write_image(path).await {
            Ok(Some(revision)) => Some(revision),
            // The record moved on while the write was prepared: the next round writes.
            Ok(None) => imaged,
            Err(error) => {
                warn!(path = %path.display(), %error, "writing the read model's image failed; the previous one, if any, is kept");
                imaged
            }
        }
    }

    /// Writes the image of the model as it is now: its revision, or `None` when the model
    /// moved on between reading the commit's time and taking the snapshot.
    async fn write_image(&self, path: &Path) -> Result<Option<i64>, std::io::Error> {
        let revision = self.applied_revision();
        let Some(committed_at) = commit_time(self.store(), revision)
            .await
            .map_err(std::io::Error::other)?
        else {
            return Ok(None);
        };
        let of = ImageOf {
            revision,
            committed_at,
        };
        let (model, path) = (self.model().clone(), path.to_owned());
        let started = Instant::now();
        let written = tokio::task::spawn_blocking(move || {
            let model = model.read();
            if model.revision != revision {
                return Ok(None);
            }
            write_from_child(model, of, &path).map(Some)
        })
        .await
        .map_err(std::io::Error::other)?;
        let metrics = telemetry::metrics();
        let outcome = if written.is_ok() { "written" } else { "failed" };
        metrics
            .model_image_writes
            .with_label_values(&[outcome])
            .inc();
        let Some(paused) = written? else {
            return Ok(None);
        };
        let seconds = started.elapsed().as_secs_f64();
        metrics.model_image_write_duration.observe(seconds);
        metrics.model_image_revision.set(revision);
        let paused_ms = paused.as_secs_f64() * 1e3;
        info!(
            revision,
            seconds, paused_ms, "read model image written (commits paused for the fork only)"
        );
        Ok(Some(revision))
    }
}

/// Writes the image of `model` from a forked child process and waits for it. The child sees
/// the model as it was at the fork, its pages shared copy-on-write, so the read lock is held
/// only for the fork itself and commits go on being applied while the child writes for
/// seconds; this is how Redis writes its snapshots. Returns how long the fork held the lock.
fn write_from_child(
    model: RwLockReadGuard<'_, ReadModel>,
    of: ImageOf,
    path: &Path,
) -> std::io::Result<Duration> {
    let forking = Instant::now();
    // SAFETY: after fork the child has only this thread. It does not touch locks other
    // threads might have held at the fork (no logging, no runtime, no store), only the
    // model it already holds a read guard on, the file it creates, and the allocator, which
    // takes its own locks around fork (jemalloc's and glibc's atfork handlers). It leaves
    // by `_exit`, running no destructor and flushing nothing the parent owns.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: nice and _exit have no preconditions.
        unsafe { libc::nice(10) };
        let code = match image::write(&model, of, path) {
            Ok(_) => 0,
            Err(error) => error.raw_os_error().unwrap_or(libc::EIO),
        };
        unsafe { libc::_exit(code) }
    }
    drop(model);
    let paused = forking.elapsed();
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child forked above; `status` is a valid place to write.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
        (true, 0) => Ok(paused),
        // The child's exit code is the OS error that stopped it (EIO for any other).
        (true, code) => Err(std::io::Error::from_raw_os_error(code)),
        _ => Err(std::io::Error::other(format!(
            "the process writing the image ended by signal {}",
            libc::WTERMSIG(status)
        ))),
    }
}
