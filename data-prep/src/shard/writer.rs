//! Encodes records (zstd, one frame per record) and writes whole shard files atomically.

use super::format::{
    Header, IndexEntry, MaskKind, Record, RecordMeta, DATA_START, MAX_RECORD_PIXELS, VERSION,
};
use super::ShardError;
use crate::atomic::{sync_dir, temp_path};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Default zstd level for record payloads: a "fast" level, which keeps literals raw and finds
/// matches only (masks and flat backgrounds still shrink), so reads run near memcpy speed
/// (benches/shard.rs: ~2,400 img/s per core at 1024² vs ~520 at level 3, for files ~20% larger).
pub const DEFAULT_LEVEL: i32 = -3;

/// A record compressed and ready to be placed in a shard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncodedRecord {
    /// The record's metadata.
    pub meta: RecordMeta,
    /// How the mask is stored in `payload`.
    pub mask: MaskKind,
    /// Bytes per image pixel (1, or 2 for an f16 map).
    pub pixel_bytes: u8,
    /// Length of the uncompressed payload in bytes (image, plus mask if stored).
    pub raw_len: u32,
    /// CRC32 of `payload`.
    pub crc: u32,
    /// The compressed payload: one zstd frame.
    pub payload: Vec<u8>,
}

/// Compresses a record. An all-zero training mask is not stored (the reader rebuilds it).
/// One-off form of [`RecordCompressor::encode`].
pub fn encode_record(rec: &Record, level: i32) -> Result<EncodedRecord, ShardError> {
    RecordCompressor::new(level)?.encode(rec)
}

/// Compresses records with one reusable zstd context (faster than a context per record; the
/// bytes are the same).
pub struct RecordCompressor {
    ctx: zstd::bulk::Compressor<'static>,
    /// Image + mask of a record with a stored mask (reused).
    raw: Vec<u8>,
}

impl RecordCompressor {
    /// A compressor at zstd `level` (negative: zstd's fast levels).
    pub fn new(level: i32) -> Result<RecordCompressor, ShardError> {
        let ctx = zstd::bulk::Compressor::new(level).map_err(|e| ShardError::Compress {
            id: String::new(),
            message: format!("cannot create a zstd context at level {level}: {e}"),
        })?;
        Ok(RecordCompressor {
            ctx,
            raw: Vec::new(),
        })
    }

    /// Compresses `rec`. An all-zero training mask is not stored (the reader rebuilds it); a
    /// stored mask is normalised to 0/255. The image holds 1 or 2 bytes per pixel (its length
    /// says which).
    pub fn encode(&mut self, rec: &Record) -> Result<EncodedRecord, ShardError> {
        let bad = |message: String| ShardError::Compress {
            id: rec.meta.id.clone(),
            message,
        };
        let n = (rec.meta.height as usize)
            .checked_mul(rec.meta.width as usize)
            .filter(|&n| n as u64 <= MAX_RECORD_PIXELS)
            .ok_or_else(|| {
                bad(format!(
                    "{}x{} exceeds the largest record of {MAX_RECORD_PIXELS} pixels",
                    rec.meta.height, rec.meta.width
                ))
            })?;
        let pixel_bytes: u8 = if rec.image.len() == n {
            1
        } else if rec.image.len() == 2 * n {
            2
        } else {
            return Err(bad(format!(
                "image has {} bytes, expected {}x{} = {n} (or twice that for 2-byte pixels)",
                rec.image.len(),
                rec.meta.width,
                rec.meta.height
            )));
        };
        let image_len = rec.image.len();
        let mask = match &rec.mask {
            None => MaskKind::Absent,
            // the shorthand for an all-zero mask (see `Record::mask`)
            Some(m) if m.is_empty() => MaskKind::Empty,
            Some(m) if m.len() != n => {
                return Err(bad(format!(
                    "mask has {} bytes, expected {}x{} = {n}",
                    m.len(),
                    rec.meta.width,
                    rec.meta.height
                )))
            }
            Some(m) if is_all_zero(m) => MaskKind::Empty,
            Some(_) => MaskKind::Stored,
        };
        let raw_len = if mask == MaskKind::Stored {
            image_len + n
        } else {
            image_len
        };
        let raw_len_u32 = u32::try_from(raw_len)
            .map_err(|_| bad(format!("payload of {raw_len} bytes exceeds 4 GiB")))?;
        // Compressed straight into the payload, which keeps its capacity: writers append a
        // record and free it (ShardStream), so the next record's payload reuses the same warm
        // memory instead of a shrunken copy in fresh pages.
        let mut payload = Vec::with_capacity(zstd::zstd_safe::compress_bound(raw_len));
        match (mask, &rec.mask) {
            (MaskKind::Stored, Some(m)) => {
                self.raw.clear();
                self.raw.resize(raw_len, 0);
                let (image, mask) = self.raw.split_at_mut(image_len);
                image.copy_from_slice(&rec.image);
                for (d, &v) in mask.iter_mut().zip(m.iter()) {
                    *d = if v != 0 { 255 } else { 0 };
                }
                self.ctx.compress_to_buffer(&self.raw, &mut payload)
            }
            _ => self.ctx.compress_to_buffer(&rec.image, &mut payload),
        }
        .map_err(|e| bad(e.to_string()))?;
        Ok(EncodedRecord {
            meta: rec.meta.clone(),
            mask,
            pixel_bytes,
            raw_len: raw_len_u32,
            crc: crc32fast::hash(&payload),
            payload,
        })
    }
}

/// Whether every byte is zero (64 bytes at a time, so it vectorises).
fn is_all_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    let any = chunks
        .by_ref()
        .any(|c| c.iter().fold(0u8, |acc, &b| acc | b) != 0);
    !any && chunks.remainder().iter().all(|&b| b == 0)
}

/// What a written shard holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardSummary {
    /// Number of records written.
    pub records: usize,
    /// Size of the shard file in bytes.
    pub bytes: u64,
    /// Sum of the uncompressed record payload sizes in bytes.
    pub raw_bytes: u64,
}

/// Writes `records` (in the given order) as one shard file at `path`, atomically.
pub fn write_shard(
    path: &Path,
    records: &[EncodedRecord],
    fingerprint: u64,
) -> Result<ShardSummary, ShardError> {
    let mut stream = ShardStream::create(path)?;
    for r in records {
        stream.append(r)?;
    }
    stream.finish(fingerprint)
}

/// One shard file written record by record: payloads go to a temp file beside `path` as they are
/// appended (so a writer holds one record at a time, not the shard), and [`ShardStream::finish`]
/// adds the index and id table, writes the header, fsyncs and renames the file into place (then
/// fsyncs the directory). The bytes equal [`write_shard`]'s for the same records. Dropped
/// unfinished (an error, a failed record), it removes its temp file and `path` is untouched.
pub struct ShardStream {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
    index: Vec<u8>,
    ids: Vec<u8>,
    offset: u64,
    raw_bytes: u64,
    records: u64,
    /// Bytes of the file handed to the disk so far (see [`WRITEBACK_CHUNK`]).
    written_back: u64,
    /// An append failed: the file cannot be finished.
    failed: bool,
    /// Renamed into place: the temp file is gone.
    finished: bool,
}

/// Every this many bytes appended, a stream asks the kernel to start writing them to disk
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which returns at once): the disk works while the
/// records that follow are made, and the fsync of `finish` waits only for the tail.
const WRITEBACK_CHUNK: u64 = 16 << 20;

/// Capacity of a stream's write buffer: a 1024^2 record's payload (about 1 MiB) is larger,
/// so it is written without a copy into the buffer; 256^2 records (tens of KiB) are gathered.
pub(crate) const WRITE_BUFFER: usize = 256 << 10;

/// Starts writeback of `len` bytes of `file` from `offset`, without waiting (Linux; elsewhere
/// the fsync of `finish` does it all).
fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor and plain integer arguments; the call only schedules
        // I/O of the file's own pages. A failure is harmless (finish's fsync still syncs all).
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                offset as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

impl ShardStream {
    /// Starts the shard file `path` (a temp file beside it until [`ShardStream::finish`]).
    pub fn create(path: &Path) -> Result<ShardStream, ShardError> {
        let tmp = temp_path(path);
        let mut stream = ShardStream {
            path: path.to_path_buf(),
            tmp,
            out: None,
            index: Vec::new(),
            ids: Vec::new(),
            offset: DATA_START,
            raw_bytes: 0,
            records: 0,
            written_back: 0,
            failed: false,
            finished: false,
        };
        let file = File::create(&stream.tmp).map_err(|e| stream.io(e))?;
        // Payloads of at least the buffer's capacity go straight to the file (BufWriter flushes
        // what it holds and skips its copy); smaller ones are gathered into fewer writes.
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        // The header's place (written by finish) and the padding up to the data region.
        out.write_all(&[0u8; DATA_START as usize])
            .map_err(|e| stream.io(e))?;
        stream.out = Some(out);
        Ok(stream)
    }

    fn io(&self, source: std::io::Error) -> ShardError {
        ShardError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends `r` as the next record of the shard.
    /// After an error the stream is broken: further appends and [`ShardStream::finish`] fail,
    /// and dropping it removes the temp file.
    pub fn append(&mut self, r: &EncodedRecord) -> Result<(), ShardError> {
        let result = self.try_append(r);
        self.failed |= result.is_err();
        result
    }

    fn try_append(&mut self, r: &EncodedRecord) -> Result<(), ShardError> {
        let m = &r.meta;
        if self.failed {
            return Err(self.io(std::io::Error::other("an earlier append failed")));
        }
        if !matches!(r.pixel_bytes, 1 | 2) {
            return Err(ShardError::Compress {
                id: m.id.clone(),
                message: format!("{} bytes per pixel (1 or 2 are stored)", r.pixel_bytes),
            });
        }
        let out = self.out.as_mut().expect("an unfinished stream");
        if let Err(e) = out.write_all(&r.payload) {
            return Err(self.io(e));
        }
        IndexEntry {
            offset: self.offset,
            comp_len: r.payload.len() as u32,
            raw_len: r.raw_len,
            crc: r.crc,
            height: m.height,
            width: m.width,
            orig_height: m.orig_height,
            orig_width: m.orig_width,
            split: m.split,
            label: m.label,
            mask: r.mask,
            fold: m.fold,
            pixel_bytes: r.pixel_bytes,
            n_objects: m.n_objects,
            id_offset: self.ids.len() as u32,
            id_len: m.id.len() as u32,
        }
        .encode(&mut self.index);
        self.ids.extend_from_slice(m.id.as_bytes());
        self.offset += r.payload.len() as u64;
        self.raw_bytes += r.raw_len as u64;
        self.records += 1;
        if self.offset - self.written_back >= WRITEBACK_CHUNK {
            if let Err(e) = out.flush() {
                return Err(self.io(e));
            }
            start_writeback(
                out.get_ref(),
                self.written_back,
                self.offset - self.written_back,
            );
            self.written_back = self.offset;
        }
        Ok(())
    }

    /// Records appended so far.
    pub fn len(&self) -> usize {
        self.records as usize
    }

    /// Whether no record was appended yet.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Completes the file: index, id table, header (with `fingerprint`), fsync, rename over
    /// `path`, fsync of the directory.
    pub fn finish(mut self, fingerprint: u64) -> Result<ShardSummary, ShardError> {
        if self.failed {
            return Err(self.io(std::io::Error::other("an earlier append failed")));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.index);
        crc.update(&self.ids);
        let header = Header {
            version: VERSION,
            record_count: self.records,
            index_offset: self.offset,
            index_len: self.index.len() as u64,
            ids_offset: self.offset + self.index.len() as u64,
            ids_len: self.ids.len() as u64,
            fingerprint,
            index_crc: crc.finalize(),
        };
        let mut out = self.out.take().expect("an unfinished stream");
        let written = (|| {
            out.write_all(&self.index)?;
            out.write_all(&self.ids)?;
            let mut file = out.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&header.encode())?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&self.tmp, &self.path)?;
            sync_dir(&self.path)
        })();
        if let Err(e) = written {
            return Err(self.io(e)); // Drop removes the temp file
        }
        self.finished = true;
        Ok(ShardSummary {
            records: self.records as usize,
            bytes: header.ids_offset + header.ids_len,
            raw_bytes: self.raw_bytes,
        })
    }
}

impl Drop for ShardStream {
    fn drop(&mut self) {
        // Unfinished (an error, a failed record, never finished): the temp file goes.
        if !self.finished {
            drop(self.out.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
