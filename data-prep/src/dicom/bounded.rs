//! DICOM structure reading with every declared length checked against the file before dicom-rs
//! acts on it.
//!
//! dicom-rs 0.10 reserves (and zero-fills) a value's declared length before reading it, and has no
//! option to bound that; a 17 KB file declaring a 4 GB element makes it allocate 4 GB. Here the
//! whole file is in memory, so the bytes left are known exactly:
//! - the file meta group is pre-scanned with dicom-rs's own explicit VR little endian header
//!   decoder, mirroring `FileMetaTable::from_reader` element by element, before that function
//!   reads it;
//! - the data set is read through [`Bounded`], a [`StatefulDecode`] wrapper around dicom-rs's
//!   decoder that refuses any element, sequence or item whose defined length runs past the end of
//!   the file *when its header is decoded*, before the reader or the value decoder reserve
//!   anything (and checks again on every value read). Undefined lengths (sequences, encapsulated
//!   pixel data) are left to dicom-rs's structural parsing, whose contents go through the same
//!   checks. The refusal is recorded in [`Bounded::problem`], which callers report instead of
//!   dicom-rs's error.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::header::{DataElementHeader, Length, SequenceItemHeader};
use dicom_core::value::PrimitiveValue;
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;
use dicom_encoding::decode::explicit_le::ExplicitVRLittleEndianDecoder;
use dicom_encoding::decode::Decode;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_encoding::transfer_syntax::TransferSyntax;
use dicom_parser::stateful::decode::{
    CharacterSetOverride, DynStatefulDecoder, Error as DecodeError, Result as DecodeResult,
    StatefulDecode,
};
use std::io::{Cursor, Seek};

/// Why a file was refused before dicom-rs could act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A declared length or header runs past the end of the file.
    EndsEarly(String),
    /// The structure is invalid in another way.
    Malformed(String),
}

/// `(gggg,eeee) Keyword` for messages; the keyword when the standard dictionary knows the tag.
pub(crate) fn describe_tag(tag: Tag) -> String {
    match StandardDataDictionary.by_tag(tag) {
        Some(e) => format!("{tag} {}", e.alias()),
        None => tag.to_string(),
    }
}

/// Pre-scans the file meta group that starts with the `DICM` magic at `magic_at`, as
/// `FileMetaTable::from_reader` will read it, and returns the offset of the first data set byte.
/// Every element's length is checked against the bytes left in the file.
pub(crate) fn scan_meta(bytes: &[u8], magic_at: usize) -> Result<usize, Problem> {
    let file_len = bytes.len();
    let dec = ExplicitVRLittleEndianDecoder::default();
    let mut pos = magic_at + 4;
    let header_at = |pos: usize| -> Result<(DataElementHeader, usize), Problem> {
        let mut src = bytes.get(pos..).unwrap_or(&[]);
        dec.decode_header(&mut src).map_err(|_| {
            Problem::EndsEarly(format!(
                "the file meta group is cut off: an element header at byte {pos} needs 8 or 12 \
                 bytes, {} remain (file is {file_len} bytes)",
                file_len.saturating_sub(pos)
            ))
        })
    };
    let (first, n) = header_at(pos)?;
    if first.tag != Tag(0x0002, 0x0000) {
        return Err(Problem::Malformed(format!(
            "the file meta group must start with (0002,0000) FileMetaInformationGroupLength; \
             found {} at byte {pos}",
            describe_tag(first.tag)
        )));
    }
    if first.len != Length(4) {
        return Err(Problem::Malformed(format!(
            "(0002,0000) FileMetaInformationGroupLength at byte {pos} has length {}, expected 4",
            first.len.0
        )));
    }
    pos += n;
    let group_length = match bytes.get(pos..pos + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => {
            return Err(Problem::EndsEarly(format!(
                "the file meta group is cut off: its group length value at byte {pos} needs 4 \
                 bytes, {} remain (file is {file_len} bytes)",
                file_len.saturating_sub(pos)
            )))
        }
    };
    pos += 4;
    let mut total: u32 = 0;
    let mut transfer_syntax = false;
    while total < group_length {
        let at = pos;
        let (h, n) = header_at(pos)?;
        let Some(len) = h.len.get() else {
            return Err(Problem::Malformed(format!(
                "file meta element {} at byte {at} has an undefined length",
                describe_tag(h.tag)
            )));
        };
        pos += n;
        let left = file_len - pos;
        if len as usize > left {
            return Err(Problem::EndsEarly(format!(
                "file meta element {} at byte {at} declares {len} value bytes, but only {left} \
                 remain (file is {file_len} bytes)",
                describe_tag(h.tag)
            )));
        }
        // The UIDs dicom-rs checks (digits, dots, padding), named here.
        let uid = matches!(h.tag.0, 0x0002) && matches!(h.tag.1, 0x0002 | 0x0003 | 0x0010 | 0x0012);
        let value = &bytes[pos..pos + len as usize];
        if uid
            && !value
                .iter()
                .all(|&c| c == b'.' || c.is_ascii_digit() || c == 0 || c.is_ascii_whitespace())
        {
            return Err(Problem::Malformed(format!(
                "file meta element {} at byte {at}: {:?} is not a UID (digits and dots)",
                describe_tag(h.tag),
                String::from_utf8_lossy(value)
            )));
        }
        transfer_syntax |= h.tag == Tag(0x0002, 0x0010);
        pos += len as usize;
        total = total.saturating_add(n as u32).saturating_add(len);
    }
    if !transfer_syntax {
        return Err(Problem::Malformed(format!(
            "the file meta group (bytes {magic_at}..{pos}) has no (0002,0010) TransferSyntaxUID"
        )));
    }
    Ok(pos)
}

/// Largest nesting of sequences, items and encapsulated pixel data accepted in a data set (each
/// sequence and each item counts one level). dicom-rs builds nested items recursively, so an
/// unbounded depth could exhaust the stack; real radiographs nest 2 or 3 levels.
pub(crate) const MAX_NESTING: usize = 32;

/// A dicom-rs stateful decoder over the data set bytes that refuses lengths running past the
/// end of the file before anything is reserved for them. Positions (its own and those in
/// dicom-rs's messages) are file offsets.
pub(crate) struct Bounded<'a> {
    inner: DynStatefulDecoder<Cursor<&'a [u8]>>,
    /// Size of the whole file: the data set ends there.
    file_len: u64,
    /// The first refusal, reported instead of dicom-rs's error.
    pub(crate) problem: Option<Problem>,
}

impl<'a> Bounded<'a> {
    /// A decoder for `data` (the data set: from its first byte to the end of the file, which
    /// starts at file offset `base` of a file of `file_len` bytes) in transfer syntax `ts`.
    pub(crate) fn new(
        data: &'a [u8],
        base: u64,
        file_len: u64,
        ts: &TransferSyntax,
    ) -> Result<Self, Problem> {
        let inner = DynStatefulDecoder::new_with_override(
            Cursor::new(data),
            ts,
            SpecificCharacterSet::default(),
            CharacterSetOverride::None,
            base,
        )
        .map_err(|e| Problem::Malformed(format!("cannot decode transfer syntax: {e}")))?;
        debug_assert_eq!(base + data.len() as u64, file_len);
        Ok(Bounded {
            inner,
            file_len,
            problem: None,
        })
    }

    fn left(&self) -> u64 {
        self.file_len.saturating_sub(self.inner.position())
    }

    /// Records `problem` (the first one wins) and returns the error that makes dicom-rs stop.
    fn refuse(&mut self, problem: Problem) -> DecodeError {
        self.problem.get_or_insert(problem);
        DecodeError::AllocateValueData { len: 0 }
    }

    /// Refuses `len` bytes of `what` (whose header started at file offset `at`) when they run past
    /// the end of the file.
    fn check(&mut self, what: &dyn Fn() -> String, at: u64, len: u32) -> DecodeResult<()> {
        let left = self.left();
        if u64::from(len) <= left {
            return Ok(());
        }
        let problem = Problem::EndsEarly(format!(
            "{} at byte {at} declares {len} value bytes, but only {left} remain (file is {} bytes)",
            what(),
            self.file_len
        ));
        Err(self.refuse(problem))
    }

    /// Turns an end-of-data error of the inner decoder into [`Problem::EndsEarly`].
    fn note_eof(&mut self, e: DecodeError, at: u64, what: &str) -> DecodeError {
        if is_eof(&e) {
            let left = self.file_len.saturating_sub(at);
            let problem = Problem::EndsEarly(format!(
                "the file ends inside {what} at byte {at}: {left} bytes remain (file is {} bytes)",
                self.file_len
            ));
            return self.refuse(problem);
        }
        e
    }
}

/// Whether an error (or one of its sources) is an unexpected end of data.
pub(crate) fn is_eof(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

fn is_delimiter(tag: Tag) -> bool {
    tag == Tag(0xFFFE, 0xE00D) || tag == Tag(0xFFFE, 0xE0DD)
}

impl<'a> StatefulDecode for Bounded<'a> {
    type Reader = Cursor<&'a [u8]>;

    fn decode_header(&mut self) -> DecodeResult<DataElementHeader> {
        let at = self.inner.position();
        let left = self.left();
        // dicom-rs ends the data set quietly at the end of the data, but also when a tag is cut
        // off: refuse that.
        if left > 0 && left < 8 {
            let problem = Problem::EndsEarly(format!(
                "the file ends inside an element header at byte {at}: {left} bytes remain, a \
                 header needs 8 or more (file is {} bytes)",
                self.file_len
            ));
            return Err(self.refuse(problem));
        }
        let header = match self.inner.decode_header() {
            Ok(h) => h,
            // At the end of the data dicom-rs ends the data set (or, inside a sequence, fails).
            Err(e) if left == 0 => return Err(e),
            Err(e) => return Err(self.note_eof(e, at, "an element header")),
        };
        if let Some(len) = header.len.get() {
            if !is_delimiter(header.tag) {
                let tag = header.tag;
                self.check(&|| format!("element {}", describe_tag(tag)), at, len)?;
            }
        }
        Ok(header)
    }

    fn decode_item_header(&mut self) -> DecodeResult<SequenceItemHeader> {
        let at = self.inner.position();
        let left = self.left();
        if left > 0 && left < 8 {
            let problem = Problem::EndsEarly(format!(
                "the file ends inside an item header at byte {at}: {left} bytes remain, an item \
                 header needs 8 (file is {} bytes)",
                self.file_len
            ));
            return Err(self.refuse(problem));
        }
        let header = self.inner.decode_item_header();
        let header = match header {
            Ok(h) => h,
            // At the very end of the data dicom-rs may end an encapsulated pixel data quietly;
            // leave that decision (and its error otherwise) to it.
            Err(e) if left == 0 => return Err(e),
            Err(e) => return Err(self.note_eof(e, at, "an item header")),
        };
        if let SequenceItemHeader::Item { len } = header {
            if let Some(len) = len.get() {
                self.check(&|| "sequence item".to_string(), at, len)?;
            }
        }
        Ok(header)
    }

    fn read_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.check_header(header)?;
        self.inner.read_value(header)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.check_header(header)?;
        self.inner.read_value_preserved(header)
    }

    fn read_value_bytes(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.check_header(header)?;
        self.inner.read_value_bytes(header)
    }

    fn read_to_vec(&mut self, length: u32, vec: &mut Vec<u8>) -> DecodeResult<()> {
        let at = self.inner.position();
        self.check(&|| "item value".to_string(), at, length)?;
        self.inner.read_to_vec(length, vec)
    }

    fn read_u32_to_vec(&mut self, length: u32, vec: &mut Vec<u32>) -> DecodeResult<()> {
        let at = self.inner.position();
        self.check(&|| "offset table".to_string(), at, length)?;
        self.inner.read_u32_to_vec(length, vec)
    }

    fn read_to<W>(&mut self, length: u32, out: W) -> DecodeResult<()>
    where
        Self: Sized,
        W: std::io::Write,
    {
        let at = self.inner.position();
        self.check(&|| "value".to_string(), at, length)?;
        self.inner.read_to(length, out)
    }

    fn skip_bytes(&mut self, length: u32) -> DecodeResult<()> {
        let at = self.inner.position();
        self.check(&|| "value".to_string(), at, length)?;
        self.inner.skip_bytes(length)
    }

    fn seek(&mut self, position: u64) -> DecodeResult<()>
    where
        Self::Reader: Seek,
    {
        self.inner.seek(position)
    }

    fn position(&self) -> u64 {
        self.inner.position()
    }
}

impl Bounded<'_> {
    fn check_header(&mut self, header: &DataElementHeader) -> DecodeResult<()> {
        if let Some(len) = header.len.get() {
            let at = self.inner.position();
            let tag = header.tag;
            self.check(&|| format!("element {}", describe_tag(tag)), at, len)?;
        }
        Ok(())
    }
}
