//! Memory-mapped shard reading: O(1) random access, checksum verified on every record read.
//!
//! Opening checks the header, the index bounds (all arithmetic checked), the index checksum and
//! every entry: payload inside the data region, id inside the id table and UTF-8, a raw length
//! that matches the record's size and mask kind, at most [`MAX_RECORD_PIXELS`] pixels, and that a
//! zstd frame of the payload's size can hold it. So nothing a damaged file says makes a read
//! allocate more than its record size justifies, and no read panics.

use super::format::{
    zstd_can_hold, Header, IndexEntry, MaskKind, Record, RecordMeta, DATA_START, ENTRY_LEN,
    HEADER_LEN, MAX_RECORD_PIXELS,
};
use super::ShardError;
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// An open shard file.
pub struct ShardFile {
    path: PathBuf,
    map: Mmap,
    header: Header,
    entries: Vec<IndexEntry>,
    ids: Vec<String>,
}

/// Reusable decompression state; keep one per thread for the fastest reads.
pub struct Decoder {
    ctx: zstd::bulk::Decompressor<'static>,
}

impl Decoder {
    /// A fresh zstd decompression context.
    pub fn new() -> Decoder {
        Decoder {
            ctx: zstd::bulk::Decompressor::new().expect("zstd decompression context"),
        }
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ShardFile {
    /// Opens and validates the header, index and id table (not the payloads).
    pub fn open(path: &Path) -> Result<ShardFile, ShardError> {
        let bad = |problem: String| ShardError::Corrupt {
            path: path.to_path_buf(),
            problem,
        };
        let file = File::open(path).map_err(|source| ShardError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // SAFETY: shard files are written once (atomic rename) and never modified in place; a
        // concurrent truncation by another process is outside our contract, as with any mmap reader.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| ShardError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let header = Header::decode(&map[..map.len().min(HEADER_LEN)]).map_err(bad)?;
        let file_len = map.len() as u64;
        let index_end = header.index_offset.checked_add(header.index_len);
        let end = header.ids_offset.checked_add(header.ids_len);
        let index_len = header.record_count.checked_mul(ENTRY_LEN as u64);
        if header.index_offset < DATA_START
            || index_end != Some(header.ids_offset)
            || end != Some(file_len)
            || index_len != Some(header.index_len)
        {
            return Err(bad(format!(
                "index bounds do not match the file ({} bytes; index at {}+{}, ids at {}+{}, {} records)",
                map.len(),
                header.index_offset,
                header.index_len,
                header.ids_offset,
                header.ids_len,
                header.record_count
            )));
        }
        // All of index_offset..file_len is inside the file, so these fit in usize.
        let tables = &map[header.index_offset as usize..];
        if crc32fast::hash(tables) != header.index_crc {
            return Err(bad("index checksum mismatch".into()));
        }
        let (index, id_bytes) = tables.split_at(header.index_len as usize);
        let mut entries = Vec::with_capacity(header.record_count as usize);
        let mut ids = Vec::with_capacity(header.record_count as usize);
        for (i, chunk) in index.chunks_exact(ENTRY_LEN).enumerate() {
            let e = IndexEntry::decode(chunk).map_err(|p| bad(format!("index entry {i}: {p}")))?;
            let id_end = e.id_offset as usize + e.id_len as usize;
            let id = id_bytes
                .get(e.id_offset as usize..id_end)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| bad(format!("index entry {i}: id out of range or not UTF-8")))?;
            let record = |problem: String| bad(format!("record {i} ({id}): {problem}"));
            let payload_end = e.offset.checked_add(u64::from(e.comp_len));
            if e.offset < DATA_START || payload_end.is_none_or(|end| end > header.index_offset) {
                return Err(record(format!(
                    "payload at {}+{} is outside the data region {DATA_START}..{}",
                    e.offset, e.comp_len, header.index_offset
                )));
            }
            let pixels = u64::from(e.height) * u64::from(e.width);
            if pixels > MAX_RECORD_PIXELS {
                return Err(record(format!(
                    "size {}x{} exceeds the largest record of {MAX_RECORD_PIXELS} pixels",
                    e.height, e.width
                )));
            }
            let image = pixels * u64::from(e.pixel_bytes);
            let expected = if e.mask == MaskKind::Stored {
                image + pixels
            } else {
                image
            };
            if u64::from(e.raw_len) != expected {
                return Err(record(format!(
                    "payload length {} does not match its {}x{} size ({expected} bytes with {}-byte pixels and mask {:?})",
                    e.raw_len, e.height, e.width, e.pixel_bytes, e.mask
                )));
            }
            if !zstd_can_hold(u64::from(e.comp_len), expected) {
                return Err(record(format!(
                    "a {}-byte zstd payload cannot hold {expected} bytes",
                    e.comp_len
                )));
            }
            ids.push(id.to_string());
            entries.push(e);
        }
        Ok(ShardFile {
            path: path.to_path_buf(),
            map,
            header,
            entries,
            ids,
        })
    }

    /// Path the shard was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of records in the shard.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the shard holds no records.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The fingerprint stored in the header (hash of the inputs and settings that produced it).
    pub fn fingerprint(&self) -> u64 {
        self.header.fingerprint
    }

    /// Total size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Sum of the uncompressed payload sizes.
    pub fn raw_len(&self) -> u64 {
        self.entries.iter().map(|e| e.raw_len as u64).sum()
    }

    /// Id of record `slot`.
    ///
    /// # Panics
    /// If `slot >= self.len()`.
    pub fn id(&self, slot: usize) -> &str {
        &self.ids[slot]
    }

    /// Ids of all records, in slot order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Bytes per image pixel of record `slot`: 1 (gray image) or 2 (f16 map).
    ///
    /// # Panics
    /// If `slot >= self.len()`.
    pub fn pixel_bytes(&self, slot: usize) -> u8 {
        self.entries[slot].pixel_bytes
    }

    /// Metadata of record `slot` (no payload access).
    ///
    /// # Panics
    /// If `slot >= self.len()`.
    pub fn meta(&self, slot: usize) -> RecordMeta {
        let e = &self.entries[slot];
        RecordMeta {
            id: self.ids[slot].clone(),
            split: e.split,
            height: e.height,
            width: e.width,
            orig_height: e.orig_height,
            orig_width: e.orig_width,
            label: e.label,
            fold: e.fold,
            n_objects: e.n_objects,
        }
    }

    /// The compressed payload of `slot` after checking its CRC32.
    fn checked_payload(&self, slot: usize) -> Result<&[u8], ShardError> {
        let e = &self.entries[slot];
        // Checked on open: the payload lies inside the data region.
        let payload = &self.map[e.offset as usize..][..e.comp_len as usize];
        let found = crc32fast::hash(payload);
        if found != e.crc {
            return Err(ShardError::Checksum {
                path: self.path.clone(),
                slot,
                id: self.ids[slot].clone(),
                expected: e.crc,
                found,
            });
        }
        Ok(payload)
    }

    /// Reads record `slot` into `image` and `mask` (resized as needed), verifying its checksum.
    /// Returns whether the record has a mask (`false` for test records, `mask` left empty).
    pub fn read_into(
        &self,
        slot: usize,
        dec: &mut Decoder,
        image: &mut Vec<u8>,
        mask: &mut Vec<u8>,
    ) -> Result<bool, ShardError> {
        let Some(e) = self.entries.get(slot) else {
            return Err(ShardError::Slot {
                path: self.path.clone(),
                slot,
                len: self.len(),
            });
        };
        let payload = self.checked_payload(slot)?;
        // Checked on open: at most MAX_RECORD_PIXELS, and raw_len matches.
        let n = e.height as usize * e.width as usize;
        let expected = e.raw_len as usize;
        let corrupt = |problem: String| ShardError::Record {
            path: self.path.clone(),
            slot,
            id: self.ids[slot].clone(),
            problem,
        };
        match zstd::zstd_safe::get_frame_content_size(payload) {
            Ok(Some(declared)) if declared != expected as u64 => {
                return Err(corrupt(format!(
                    "the zstd frame declares {declared} bytes, the index {expected}"
                )))
            }
            Ok(_) => {}
            Err(_) => return Err(corrupt("the payload is not a zstd frame".into())),
        }
        image.clear();
        image.reserve(expected);
        let got = dec
            .ctx
            .decompress_to_buffer(payload, image)
            .map_err(|err| corrupt(format!("zstd: {err}")))?;
        if got != expected {
            return Err(corrupt(format!(
                "decompressed {got} bytes, expected {expected}"
            )));
        }
        mask.clear();
        match e.mask {
            MaskKind::Absent => Ok(false),
            MaskKind::Empty => {
                mask.resize(n, 0);
                Ok(true)
            }
            MaskKind::Stored => {
                let image_len = n * usize::from(e.pixel_bytes);
                mask.extend_from_slice(&image[image_len..]);
                image.truncate(image_len);
                Ok(true)
            }
        }
    }

    /// Reads record `slot` as an owned [`Record`], verifying its checksum.
    pub fn read(&self, slot: usize, dec: &mut Decoder) -> Result<Record, ShardError> {
        let (mut image, mut mask) = (Vec::new(), Vec::new());
        let has_mask = self.read_into(slot, dec, &mut image, &mut mask)?;
        Ok(Record {
            meta: self.meta(slot),
            image,
            mask: has_mask.then_some(mask),
        })
    }

    /// Reads and checks every record; returns the first problem found.
    pub fn verify(&self, dec: &mut Decoder) -> Result<(), ShardError> {
        let (mut image, mut mask) = (Vec::new(), Vec::new());
        for slot in 0..self.len() {
            self.read_into(slot, dec, &mut image, &mut mask)?;
        }
        Ok(())
    }
}
