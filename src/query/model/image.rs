//! The read model's image on disk, so that a restart reads one file instead of rebuilding the
//! model from every record (a minute at full scale).
//!
//! The file is a fixed header and the model in `postcard`'s form. The header names the build's
//! model schema (a digest of the sources that define the model's types, from `build.rs`), the
//! commit the model is at, and the payload's length and CRC-32: an image from another build, a
//! truncated one and a damaged one are each told apart before a byte of the model is read.
//! The caller checks that the store holds the same commit (see [`ImageOf`]).
//!
//! An image is written to a temporary file beside its path, synced, then renamed over it: a
//! crash while writing leaves the previous image whole.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use postcard::de_flavors::Flavor;

use super::read_model::ReadModel;

const MAGIC: [u8; 8] = *b"PAIDMDL1";
/// A digest of the sources that define what the model holds, in hex (see `build.rs`).
const SCHEMA: &str = env!("PAIRING_AID_MODEL_SCHEMA");
const _: () = assert!(SCHEMA.len() == 64, "the schema digest is 64 hex digits");
/// Magic, schema, revision, commit time (seconds and nanoseconds), payload length and CRC-32.
const HEADER_LEN: usize = 8 + 64 + 8 + 8 + 4 + 8 + 4;
/// How much of the file a load reads at a time.
const READ_CHUNK: usize = 4 << 20;

/// The commit an image holds the record at. A store that holds no commit of that revision at
/// that time is not the store the image was taken from (another database, or one restored
/// from an older backup), and the image is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageOf {
    pub revision: i64,
    pub committed_at: DateTime<Utc>,
}

/// Why an image cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("there is no image at {}", .0.display())]
    Missing(PathBuf),
    #[error("the image was written by a build whose read model differs from this one's")]
    OtherBuild,
    #[error("the image is damaged: {0}")]
    Damaged(String),
    #[error("the image cannot be read: {0}")]
    Unreadable(#[from] io::Error),
}

impl ImageError {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ImageError::Missing(_) => "missing",
            ImageError::OtherBuild => "other_build",
            ImageError::Damaged(_) => "damaged",
            ImageError::Unreadable(_) => "unreadable",
        }
    }
}

/// Writes the image of `model`, which is at the commit `of`, to `path`: its size in bytes.
pub fn write(model: &ReadModel, of: ImageOf, path: &Path) -> io::Result<u64> {
    debug_assert_eq!(model.revision, of.revision);
    let partial = partial_path(path);
    let mut file = File::create(&partial)?;
    file.write_all(&[0; HEADER_LEN])?;
    let payload = Checksummed {
        inner: file,
        hasher: crc32fast::Hasher::new(),
        written: 0,
        unsynced: 0,
    };
    let payload = postcard::to_io(model, BufWriter::with_capacity(1 << 20, payload))
        .map_err(io::Error::other)?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    let Checksummed {
        inner: mut file,
        hasher,
        written,
        ..
    } = payload;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header(of, written, hasher.finalize()))?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, path)?;
    if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(directory)?.sync_all()?;
    }
    Ok(HEADER_LEN as u64 + written)
}

/// Reads the image at `path`: the model and the commit it is at.
pub fn read(path: &Path) -> Result<(ReadModel, ImageOf), ImageError> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ImageError::Missing(path.to_owned()),
        _ => ImageError::Unreadable(e),
    })?;
    let mut header = [0; HEADER_LEN];
    file.read_exact(&mut header).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => damaged("it is shorter than its header"),
        _ => ImageError::Unreadable(e),
    })?;
    let (of, payload_len, checksum) = parse_header(&header)?;
    let file_len = file.metadata()?.len();
    if file_len != HEADER_LEN as u64 + payload_len {
        return Err(damaged(format!(
            "it holds {file_len} bytes where its header counts {}",
            HEADER_LEN as u64 + payload_len
        )));
    }
    verify(&mut file, checksum)?;
    file.seek(SeekFrom::Start(HEADER_LEN as u64))?;
    let borrowed = bumpalo::Bump::new();
    let mut deserializer = postcard::Deserializer::from_flavor(FileFlavor {
        file,
        buffer: Vec::with_capacity(READ_CHUNK),
        at: 0,
        left: payload_len,
        borrowed: &borrowed,
    });
    let model: ReadModel = serde::Deserialize::deserialize(&mut deserializer)
        .map_err(|e| damaged(format!("its model cannot be decoded: {e}")))?;
    if model.revision != of.revision {
        return Err(damaged(format!(
            "its model is at revision {} where its header says {}",
            model.revision, of.revision
        )));
    }
    Ok((model, of))
}

fn damaged(reason: impl Into<String>) -> ImageError {
    ImageError::Damaged(reason.into())
}

fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

fn header(of: ImageOf, payload_len: u64, checksum: u32) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    let fields: [&[u8]; 7] = [
        &MAGIC,
        SCHEMA.as_bytes(),
        &of.revision.to_le_bytes(),
        &of.committed_at.timestamp().to_le_bytes(),
        &of.committed_at.timestamp_subsec_nanos().to_le_bytes(),
        &payload_len.to_le_bytes(),
        &checksum.to_le_bytes(),
    ];
    let mut at = 0;
    for field in fields {
        header[at..at + field.len()].copy_from_slice(field);
        at += field.len();
    }
    header
}

fn parse_header(header: &[u8; HEADER_LEN]) -> Result<(ImageOf, u64, u32), ImageError> {
    let mut rest = &header[..];
    let mut take = |n: usize| {
        let (field, tail) = rest.split_at(n);
        rest = tail;
        field
    };
    if take(8) != MAGIC {
        return Err(damaged("it does not start as a read-model image does"));
    }
    if take(64) != SCHEMA.as_bytes() {
        return Err(ImageError::OtherBuild);
    }
    let mut number = |n: usize| {
        let mut bytes = [0; 8];
        bytes[..n].copy_from_slice(take(n));
        u64::from_le_bytes(bytes)
    };
    let revision = number(8) as i64;
    let (seconds, nanos) = (number(8) as i64, number(4) as u32);
    let (payload_len, checksum) = (number(8), number(4) as u32);
    let committed_at = DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| damaged("its commit time is out of range"))?;
    Ok((
        ImageOf {
            revision,
            committed_at,
        },
        payload_len,
        checksum,
    ))
}

/// Checks the payload against its CRC-32 before any of it is decoded: decoding trusts the
/// lengths it reads.
fn verify(file: &mut File, checksum: u32) -> Result<(), ImageError> {
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = vec![0; READ_CHUNK];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => hasher.update(&buffer[..n]),
        }
    }
    if hasher.finalize() != checksum {
        return Err(damaged("its checksum does not match its contents"));
    }
    Ok(())
}

/// Most bytes of the image left to the kernel to write back before they are synced.
const UNSYNCED_LIMIT: u64 = 16 << 20;

/// Passes writes on to the file, counting them into a CRC-32, and syncs them every
/// [`UNSYNCED_LIMIT`] bytes. Left to the final sync, a gigabyte of dirty pages stalls the
/// store's own fsyncs behind it (ext4's journal commits write out other files' data first):
/// measured at full scale, a commit waited 266 ms while an image was written, against at most
/// 10 ms otherwise.
struct Checksummed {
    inner: File,
    hasher: crc32fast::Hasher,
    written: u64,
    unsynced: u64,
}

impl Write for Checksummed {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        self.written += n as u64;
        self.unsynced += n as u64;
        if self.unsynced >= UNSYNCED_LIMIT {
            self.inner.sync_data()?;
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Feeds the decoder from the file a buffer at a time: a load holds the model being built and
/// one buffer, never the whole image beside the model (which would not fit a 2 GiB pod at
/// full scale). Strings, bytes and bitmaps are read through [`Flavor::try_take_n_temp`], from
/// the buffer; the few values whose decoding borrows from the input for the whole decode
/// (times and dates, which `chrono` parses from borrowed text) are copied to `borrowed`.
struct FileFlavor<'de> {
    file: File,
    buffer: Vec<u8>,
    /// Where the next byte is in `buffer`.
    at: usize,
    /// Bytes of the payload not yet in `buffer`.
    left: u64,
    borrowed: &'de bumpalo::Bump,
}

impl FileFlavor<'_> {
    /// Makes at least `wanted` bytes available from `at`.
    #[inline]
    fn fill(&mut self, wanted: usize) -> postcard::Result<()> {
        if self.buffer.len() - self.at >= wanted {
            return Ok(());
        }
        self.refill(wanted)
    }

    #[cold]
    fn refill(&mut self, wanted: usize) -> postcard::Result<()> {
        let missing = (wanted - (self.buffer.len() - self.at)) as u64;
        if missing > self.left {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        self.buffer.drain(..self.at);
        self.at = 0;
        let read = missing.max(READ_CHUNK as u64).min(self.left);
        // Read into the buffer's spare capacity, which `read_to_end` does not zero first.
        let start = self.buffer.len();
        self.buffer.reserve(read as usize);
        (&mut self.file)
            .take(read)
            .read_to_end(&mut self.buffer)
            .map_err(|_| postcard::Error::DeserializeUnexpectedEnd)?;
        if self.buffer.len() - start != read as usize {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        self.left -= read;
        // A large field needed a large buffer; it is not kept for the small ones after it.
        if self.buffer.capacity() > 4 * READ_CHUNK && self.buffer.len() <= READ_CHUNK {
            self.buffer.shrink_to(READ_CHUNK);
        }
        Ok(())
    }
}

impl<'de> Flavor<'de> for FileFlavor<'de> {
    type Remainder = ();
    type Source = ();

    #[inline]
    fn pop(&mut self) -> postcard::Result<u8> {
        self.fill(1)?;
        self.at += 1;
        Ok(self.buffer[self.at - 1])
    }

    fn try_take_n(&mut self, ct: usize) -> postcard::Result<&'de [u8]> {
        let borrowed = self.borrowed;
        let bytes = self.try_take_n_temp(ct)?;
        Ok(borrowed.alloc_slice_copy(bytes))
    }

    #[inline]
    fn try_take_n_temp<'a>(&'a mut self, ct: usize) -> postcard::Result<&'a [u8]>
    where
        'de: 'a,
    {
        self.fill(ct)?;
        self.at += ct;
        Ok(&self.buffer[self.at - ct..self.at])
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::AreaLevel;
    use crate::domain::{Collection, Committed, Resource, Write};
    use crate::query::analytics::{Dimension, FundingQuery, summarize};

    /// The demo data and a small scaled record, with a commit of edits and deletions applied
    /// so that the tables hold freed rows and dead bytes as a long-running model does.
    fn model() -> ReadModel {
        let mut resources = crate::seed::demo_resources().unwrap();
        crate::seed::each_scaled_resource(200, 3_000, |r| resources.push(r)).unwrap();
        resources.sort_by(|a, b| a.name().cmp(b.name()));
        let mut model = ReadModel::from_resources(1, resources);
        let mut writes = Vec::new();
        for (i, mut project) in model.projects.values().enumerate().take(60) {
            if i % 3 == 0 {
                writes.push(Write::Delete(project.name));
            } else {
                project.title = format!("{} (revised)", project.title);
                writes.push(Write::Put(Box::new(Resource::Project(project))));
            }
        }
        for observation in model.observations.values().step_by(7) {
            writes.push(Write::Delete(observation.name));
        }
        model.apply(&Committed {
            revision: 2,
            subject: "test".into(),
            commit_time: Utc::now(),
            writes,
            replayed: false,
        });
        model
    }

    fn of(model: &ReadModel) -> ImageOf {
        ImageOf {
            revision: model.revision,
            committed_at: DateTime::from_timestamp(1_760_000_000, 123).unwrap(),
        }
    }

    fn summary(model: &ReadModel) -> String {
        let query =
            FundingQuery::all_cny(&[Dimension::Party, Dimension::Area], AreaLevel::Prefecture);
        format!(
            "{:?}",
            summarize(model, &query, &Default::default())
                .unwrap()
                .groups
        )
    }

    fn written(model: &ReadModel) -> (tempfile::TempDir, PathBuf) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("model.image");
        write(model, of(model), &path).unwrap();
        (directory, path)
    }

    #[test]
    fn a_model_read_back_from_its_image_answers_as_it_did() {
        let model = model();
        let (_directory, path) = written(&model);
        let (restored, at) = read(&path).unwrap();

        assert_eq!(at, of(&model));
        assert_eq!(restored.revision, 2);
        assert_eq!(restored.counts(), model.counts());
        for collection in Collection::ALL {
            assert!(
                restored
                    .resources_after(collection, None)
                    .eq(model.resources_after(collection, None)),
                "{collection:?}"
            );
        }
        for indicator in model.indicators.keys() {
            assert_eq!(restored.series_of(indicator), model.series_of(indicator));
        }
        assert_eq!(summary(&restored), summary(&model));
        assert!(
            !partial_path(&path).exists(),
            "the temporary file is renamed"
        );
    }

    #[test]
    fn a_truncated_damaged_or_foreign_image_is_refused_with_its_reason() {
        let model = model();
        let (directory, path) = written(&model);
        let bytes = std::fs::read(&path).unwrap();
        let refused = |bytes: &[u8]| {
            let path = directory.path().join("altered.image");
            std::fs::write(&path, bytes).unwrap();
            read(&path).map(|_| ()).unwrap_err()
        };

        let truncated = refused(&bytes[..bytes.len() - 1000]);
        assert!(
            matches!(&truncated, ImageError::Damaged(reason) if reason.contains("header counts")),
            "{truncated}"
        );
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x20;
        let flipped = refused(&flipped);
        assert!(
            matches!(&flipped, ImageError::Damaged(reason) if reason.contains("checksum")),
            "{flipped}"
        );
        let mut other_build = bytes.clone();
        other_build[8] ^= 1;
        assert!(matches!(refused(&other_build), ImageError::OtherBuild));
        assert!(matches!(refused(b"PAIDMDL1"), ImageError::Damaged(_)));
        assert!(matches!(refused(&[0; HEADER_LEN]), ImageError::Damaged(_)));
        let missing = read(&directory.path().join("none.image")).unwrap_err();
        assert!(matches!(missing, ImageError::Missing(_)), "{missing}");
        assert_eq!(missing.label(), "missing");
    }
}
