//! On-disk layout of one shard file (`*.pfs`): header, per-record zstd payloads, index, id table.
//!
//! ```text
//! 0      header (72 bytes, little endian, see `Header`)
//! 4096   record payloads, one zstd frame each, packed      (the data region)
//! ..     index: `ENTRY_LEN` bytes per record                (`IndexEntry`)
//! ..     id table: the record ids, UTF-8, concatenated
//! ```
//! The header carries a CRC32 of itself and of the index + id table; every index entry carries
//! the CRC32 of its compressed payload, checked on every read. A record's raw payload is the
//! image (`height*width*pixel_bytes` bytes: 1 byte per pixel for gray images, 2 for the f16
//! probability maps of a prediction store) followed, for stored masks, by the mask
//! (`height*width`, 0/255).

use crate::folds::Fold;
use serde::{Deserialize, Serialize};

/// File magic.
pub const MAGIC: [u8; 8] = *b"PNFSHARD";
/// Current format version.
pub const VERSION: u32 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 72;
/// Offset of the first record payload (page aligned).
pub const DATA_START: u64 = 4096;
/// Bytes per index entry.
pub const ENTRY_LEN: usize = 56;
/// Largest `height × width` of a record (2^28 pixels: a 16384² image): the writer refuses larger
/// records and the reader refuses index entries that claim more, so a damaged index cannot make
/// a reader allocate more than 768 MiB (a 2-byte image + mask) for one record.
pub const MAX_RECORD_PIXELS: u64 = 1 << 28;
/// Largest output of a zstd block, and the smallest a block can be (3-byte header + 1 byte):
/// no valid zstd frame of `n` bytes decompresses to more than `ceil(n / 4) * 128 KiB`.
const ZSTD_BLOCK_MAX: u64 = 128 * 1024;

/// Whether a zstd frame of `comp_len` bytes can decompress to `raw_len` bytes at all (the format's
/// largest expansion is one 4-byte RLE block per 128 KiB).
pub fn zstd_can_hold(comp_len: u64, raw_len: u64) -> bool {
    raw_len <= comp_len.div_ceil(4).saturating_mul(ZSTD_BLOCK_MAX)
}

/// Which half of the challenge a record (or a synthetic case) belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Labelled: `dicom-images-train`, with rows in `train-rle.csv`; records carry a mask.
    Train,
    /// Unlabelled: `dicom-images-test`; records have no mask.
    Test,
}

impl Split {
    /// The challenge's folder name for this split.
    pub fn dir_name(self) -> &'static str {
        match self {
            Split::Train => crate::siim::TRAIN_DIR,
            Split::Test => crate::siim::TEST_DIR,
        }
    }
}

/// How a record's mask is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaskKind {
    /// No mask (test record).
    Absent = 0,
    /// All-zero mask, not stored.
    Empty = 1,
    /// Mask bytes follow the image in the payload.
    Stored = 2,
}

/// Everything about a record except its pixels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// Image id.
    pub id: String,
    /// Train or test.
    pub split: Split,
    /// Stored size (the dataset's target size).
    pub height: u32,
    /// Stored width, in pixels.
    pub width: u32,
    /// Size of the source image before resizing.
    pub orig_height: u32,
    /// Width of the source image before resizing, in pixels.
    pub orig_width: u32,
    /// Pneumothorax present; `None` for test records.
    pub label: Option<bool>,
    /// The record's cross-validation fold.
    pub fold: Fold,
    /// Number of RLE rows (objects) of the image; 0 for negatives and test records.
    pub n_objects: u16,
}

/// A record with its pixels: image `u8` H×W row-major, mask 0/255 (`None` for test records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Everything but the pixels.
    pub meta: RecordMeta,
    /// `height * width` gray pixels, row-major.
    pub image: Vec<u8>,
    /// `height * width` mask pixels, 0/255, row-major; `None` for test records. A writer may
    /// pass an empty vector for an all-zero mask (stored as [`MaskKind::Empty`], as any
    /// all-zero mask is); readers always return the pixels.
    pub mask: Option<Vec<u8>>,
}

/// The fixed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (bytes 8..12); must equal [`VERSION`].
    pub version: u32,
    /// Number of records in the shard (bytes 16..24).
    pub record_count: u64,
    /// Offset of the index from the start of the file, just after the last payload (bytes 24..32).
    pub index_offset: u64,
    /// Length of the index in bytes, `record_count * ENTRY_LEN` (bytes 32..40).
    pub index_len: u64,
    /// Offset of the id table from the start of the file, right after the index (bytes 40..48).
    pub ids_offset: u64,
    /// Length of the id table in bytes; the table ends the file (bytes 48..56).
    pub ids_len: u64,
    /// Hash of the inputs and settings that produced the shard (used to resume prep).
    pub fingerprint: u64,
    /// CRC32 of the index followed by the id table.
    pub index_crc: u32,
}

impl Header {
    /// Encodes the header, appending its own CRC32.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        // 12..16 reserved (zero)
        b[16..24].copy_from_slice(&self.record_count.to_le_bytes());
        b[24..32].copy_from_slice(&self.index_offset.to_le_bytes());
        b[32..40].copy_from_slice(&self.index_len.to_le_bytes());
        b[40..48].copy_from_slice(&self.ids_offset.to_le_bytes());
        b[48..56].copy_from_slice(&self.ids_len.to_le_bytes());
        b[56..64].copy_from_slice(&self.fingerprint.to_le_bytes());
        b[64..68].copy_from_slice(&self.index_crc.to_le_bytes());
        let crc = crc32fast::hash(&b[..68]);
        b[68..72].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header; the error says what is wrong.
    pub fn decode(b: &[u8]) -> Result<Header, String> {
        if b.len() < HEADER_LEN {
            return Err(format!(
                "file is {} bytes, shorter than the {HEADER_LEN}-byte header",
                b.len()
            ));
        }
        if b[0..8] != MAGIC {
            return Err("not a pneumoflow shard (bad magic)".into());
        }
        let crc = u32le(b, 68);
        if crc != crc32fast::hash(&b[..68]) {
            return Err("header checksum mismatch".into());
        }
        let version = u32le(b, 8);
        if version != VERSION {
            return Err(format!(
                "format version {version}, this build reads version {VERSION}"
            ));
        }
        Ok(Header {
            version,
            record_count: u64le(b, 16),
            index_offset: u64le(b, 24),
            index_len: u64le(b, 32),
            ids_offset: u64le(b, 40),
            ids_len: u64le(b, 48),
            fingerprint: u64le(b, 56),
            index_crc: u32le(b, 64),
        })
    }
}

/// One index entry: where the record is and its metadata (minus the id, kept in the id table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset of the record's compressed payload from the start of the file (bytes 0..8).
    pub offset: u64,
    /// Length of the compressed payload (one zstd frame) in bytes (bytes 8..12).
    pub comp_len: u32,
    /// Length of the decompressed payload in bytes: image, plus mask if stored (bytes 12..16).
    pub raw_len: u32,
    /// CRC32 of the compressed payload (bytes 16..20).
    pub crc: u32,
    /// Stored image height, in pixels (bytes 20..24).
    pub height: u32,
    /// Stored image width, in pixels (bytes 24..28).
    pub width: u32,
    /// Height of the source image before resizing, in pixels (bytes 28..32).
    pub orig_height: u32,
    /// Width of the source image before resizing, in pixels (bytes 32..36).
    pub orig_width: u32,
    /// Split code (byte 36): 0 train, 1 test.
    pub split: Split,
    /// Label code (byte 37): 0 negative, 1 positive, 2 none (test).
    pub label: Option<bool>,
    /// How the mask is stored (byte 38, the [`MaskKind`] discriminant).
    pub mask: MaskKind,
    /// Fold kind (byte 39: 0 index, 1 always-train, 2 unassigned) and fold index (byte 40).
    pub fold: Fold,
    /// Bytes per image pixel, 1 or 2 (byte 41, stored as `pixel_bytes - 1`, so the byte of a
    /// gray image is 0 as in shards written before 2-byte images existed).
    pub pixel_bytes: u8,
    /// Number of objects in the mask (bytes 42..44).
    pub n_objects: u16,
    /// Offset of the record's id within the id table, in bytes (bytes 44..48).
    pub id_offset: u32,
    /// Length of the record's UTF-8 id in bytes (bytes 48..52).
    pub id_len: u32,
}

impl IndexEntry {
    /// Appends the entry's `ENTRY_LEN` little-endian bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.comp_len.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.orig_height.to_le_bytes());
        out.extend_from_slice(&self.orig_width.to_le_bytes());
        out.push(match self.split {
            Split::Train => 0,
            Split::Test => 1,
        });
        out.push(match self.label {
            Some(false) => 0,
            Some(true) => 1,
            None => 2,
        });
        out.push(self.mask as u8);
        let (kind, idx) = match self.fold {
            Fold::Index(k) => (0u8, k),
            Fold::AlwaysTrain => (1, 0),
            Fold::Unassigned => (2, 0),
        };
        out.push(kind);
        out.push(idx);
        out.push(self.pixel_bytes - 1);
        out.extend_from_slice(&self.n_objects.to_le_bytes());
        out.extend_from_slice(&self.id_offset.to_le_bytes());
        out.extend_from_slice(&self.id_len.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]); // reserved
        debug_assert_eq!(out.len() - start, ENTRY_LEN);
    }

    /// Decodes an entry from `b` (at least `ENTRY_LEN` bytes); the error names a bad code byte.
    pub fn decode(b: &[u8]) -> Result<IndexEntry, String> {
        if b.len() < ENTRY_LEN {
            return Err(format!(
                "index entry is {} bytes, expected {ENTRY_LEN}",
                b.len()
            ));
        }
        let split = match b[36] {
            0 => Split::Train,
            1 => Split::Test,
            v => return Err(format!("bad split code {v}")),
        };
        let label = match b[37] {
            0 => Some(false),
            1 => Some(true),
            2 => None,
            v => return Err(format!("bad label code {v}")),
        };
        let mask = match b[38] {
            0 => MaskKind::Absent,
            1 => MaskKind::Empty,
            2 => MaskKind::Stored,
            v => return Err(format!("bad mask code {v}")),
        };
        let fold = match b[39] {
            0 => Fold::Index(b[40]),
            1 => Fold::AlwaysTrain,
            2 => Fold::Unassigned,
            v => return Err(format!("bad fold code {v}")),
        };
        let pixel_bytes = match b[41] {
            0 => 1,
            1 => 2,
            v => return Err(format!("bad pixel size code {v}")),
        };
        Ok(IndexEntry {
            offset: u64le(b, 0),
            comp_len: u32le(b, 8),
            raw_len: u32le(b, 12),
            crc: u32le(b, 16),
            height: u32le(b, 20),
            width: u32le(b, 24),
            orig_height: u32le(b, 28),
            orig_width: u32le(b, 32),
            split,
            label,
            mask,
            fold,
            pixel_bytes,
            n_objects: u16::from_le_bytes([b[42], b[43]]),
            id_offset: u32le(b, 44),
            id_len: u32le(b, 48),
        })
    }
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// 64-bit FNV-1a, used for shard fingerprints (stable across builds and platforms).
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(pub u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Hashes `bytes` into the state, with no length prefix.
    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    /// Writes a length-prefixed field, so that field boundaries are part of the hash.
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.write(&(bytes.len() as u64).to_le_bytes()).write(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_corruption() {
        let h = Header {
            version: VERSION,
            record_count: 3,
            index_offset: 5000,
            index_len: 168,
            ids_offset: 5168,
            ids_len: 10,
            fingerprint: 42,
            index_crc: 7,
        };
        let mut b = h.encode();
        assert_eq!(Header::decode(&b).unwrap(), h);
        b[20] ^= 1;
        assert!(Header::decode(&b).unwrap_err().contains("checksum"));
        assert!(Header::decode(b"PNFSHARD").unwrap_err().contains("shorter"));
    }

    #[test]
    fn entry_round_trip() {
        let e = IndexEntry {
            offset: 4096,
            comp_len: 10,
            raw_len: 32,
            crc: 99,
            height: 4,
            width: 4,
            orig_height: 8,
            orig_width: 8,
            split: Split::Train,
            label: Some(true),
            mask: MaskKind::Stored,
            fold: Fold::AlwaysTrain,
            pixel_bytes: 1,
            n_objects: 2,
            id_offset: 0,
            id_len: 5,
        };
        let mut v = Vec::new();
        e.encode(&mut v);
        assert_eq!(v.len(), ENTRY_LEN);
        assert_eq!(v[41], 0, "a gray image keeps the byte of older shards");
        assert_eq!(IndexEntry::decode(&v).unwrap(), e);
        let wide = IndexEntry {
            pixel_bytes: 2,
            ..e.clone()
        };
        let mut w = Vec::new();
        wide.encode(&mut w);
        assert_eq!(IndexEntry::decode(&w).unwrap(), wide);
        w[41] = 7;
        assert!(IndexEntry::decode(&w)
            .unwrap_err()
            .contains("pixel size code 7"));
        assert!(IndexEntry::decode(&v[..20])
            .unwrap_err()
            .contains("20 bytes"));
    }

    #[test]
    fn zstd_expansion_bound() {
        assert!(zstd_can_hold(4, 128 * 1024));
        assert!(!zstd_can_hold(4, 128 * 1024 + 1));
        assert!(zstd_can_hold(40, 1 << 20));
        assert!(!zstd_can_hold(0, 1));
        let zeros = vec![0u8; 1 << 22];
        for level in [-7, -3, 1, 19] {
            let c = zstd::bulk::compress(&zeros, level).unwrap();
            assert!(
                zstd_can_hold(c.len() as u64, zeros.len() as u64),
                "level {level}: {}",
                c.len()
            );
        }
    }
}
