//! Reads a DICOM file into an 8-bit grayscale image (dicom-rs), with the rules the SIIM data needs.
//!
//! Accepted transfer syntaxes: implicit VR little endian, explicit VR little endian, explicit VR
//! big endian (all uncompressed) and JPEG baseline (process 1, 8-bit). Accepted photometric
//! interpretations: MONOCHROME2, and MONOCHROME1, which is inverted (`255 - v`) so that bright
//! always means dense. One frame, one sample per pixel. Anything else is an error naming the file
//! and what it found.
//!
//! Bit depth rule: stored values (no modality or VOI LUT) are taken as they are for 8 bits; for
//! `BitsStored = b > 8` they are mapped linearly from the full stored range to 0..=255 with
//! `u8 = round(v * 255 / (2^b - 1))` (unsigned) or after adding `2^(b-1)` (signed). The VOI window
//! in the file, if any, is deliberately not applied: the solution's data is 8-bit, and a fixed rule
//! keeps every file on the same scale. A stored value is the `BitsStored` bits ending at `HighBit`
//! of each `BitsAllocated` (8 or 16) sample, sign-extended when `PixelRepresentation` is 1; other
//! bits (overlays, padding) are ignored.
//!
//! Limits, checked before anything is allocated for them, so that no file, however damaged or
//! hostile, makes the reader panic or allocate more than the file justifies:
//! - files of at most [`MAX_FILE_BYTES`] (1 GiB), read whole into memory;
//! - every length the file declares (element, sequence, item, fragment, in the meta group and in
//!   the data set) must fit in what is left of the file, checked on each header before dicom-rs
//!   reserves anything for it (dicom-rs itself would reserve whatever a length says); sequences
//!   may nest at most 16 deep;
//! - `Rows` and `Columns` each in `1..=`[`MAX_SIDE`] (16384) and `Rows × Columns` at most
//!   [`MAX_PIXELS`] (2^28);
//! - uncompressed Pixel Data must hold exactly `Rows × Columns × BitsAllocated/8` bytes (plus
//!   one byte of padding to an even length); a JPEG's frame header must agree with Rows,
//!   Columns, SamplesPerPixel and 8 bits, and be baseline or extended sequential (SOF0/SOF1),
//!   before it is decoded.
//!
//! A truncated file is reported as ending early, with the element, its offset and the sizes.

mod bounded;
mod jpeg;

use bounded::{scan_meta, Bounded, Problem, MAX_NESTING};
use dicom_core::value::PrimitiveValue;
use dicom_core::Tag;
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::meta::FileMetaTable;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use dicom_parser::dataset::read::DataSetReaderOptions;
use dicom_parser::dataset::{DataSetReader, DataToken};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Transfer syntaxes we decode, with their names for messages.
pub const SUPPORTED_TRANSFER_SYNTAXES: [(&str, &str); 4] = [
    ("1.2.840.10008.1.2", "implicit VR little endian"),
    ("1.2.840.10008.1.2.1", "explicit VR little endian"),
    ("1.2.840.10008.1.2.2", "explicit VR big endian"),
    ("1.2.840.10008.1.2.4.50", "JPEG baseline (process 1)"),
];

const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";

/// Largest accepted file, in bytes (the file is read whole).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Largest accepted `Rows` and `Columns`.
pub const MAX_SIDE: usize = 16384;
/// Largest accepted `Rows × Columns`.
pub const MAX_PIXELS: usize = 1 << 28;

/// Why a DICOM file could not be turned into an 8-bit image.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DicomError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The DICOM file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The path is a directory or another non-file.
    #[error("{path}: is {found}, expected a DICOM file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`a directory`, `not a regular file`).
        found: &'static str,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: the file is {bytes} bytes; DICOM files of at most {max} bytes are read")]
    TooLarge {
        /// The DICOM file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit, [`MAX_FILE_BYTES`].
        max: u64,
    },
    /// The file ends before something it declares: truncated, or a corrupt length.
    #[error("{path}: file ends early (truncated or corrupt): {problem}")]
    EndsEarly {
        /// The DICOM file.
        path: PathBuf,
        /// What ends where, with the sizes.
        problem: String,
    },
    /// The file is not DICOM, or its structure is invalid.
    #[error("{path}: not a valid DICOM file: {problem}")]
    Malformed {
        /// The DICOM file.
        path: PathBuf,
        /// What was expected and what was found.
        problem: String,
    },
    /// The transfer syntax is not one we decode.
    #[error("{path}: unsupported transfer syntax {uid} ({name}); supported: implicit/explicit VR little endian, explicit VR big endian, JPEG baseline")]
    TransferSyntax {
        /// The DICOM file.
        path: PathBuf,
        /// The transfer syntax UID from the file meta header.
        uid: String,
        /// The transfer syntax's registered name, or `unknown`.
        name: String,
    },
    /// The photometric interpretation is not MONOCHROME1/2.
    #[error("{path}: unsupported photometric interpretation {found:?}; expected MONOCHROME1 or MONOCHROME2")]
    Photometric {
        /// The DICOM file.
        path: PathBuf,
        /// The PhotometricInterpretation value found (empty if absent).
        found: String,
    },
    /// A required attribute is missing or has an unexpected value.
    #[error("{path}: attribute {attribute}: {problem}")]
    Attribute {
        /// The DICOM file.
        path: PathBuf,
        /// The attribute's DICOM keyword, e.g. `BitsStored`.
        attribute: &'static str,
        /// What is wrong with it (missing, or the unexpected value).
        problem: String,
    },
    /// Rows or Columns are zero, or the image is larger than the limits.
    #[error("{path}: image size {rows}x{columns} (Rows x Columns) is outside the accepted range: each side 1..={MAX_SIDE}, at most {MAX_PIXELS} pixels")]
    Dimensions {
        /// The DICOM file.
        path: PathBuf,
        /// The Rows attribute.
        rows: u16,
        /// The Columns attribute.
        columns: u16,
    },
    /// The pixel data could not be decoded, or disagrees with the image attributes.
    #[error("{path}: cannot decode pixel data: {message}")]
    Pixels {
        /// The DICOM file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// An 8-bit grayscale image read from DICOM, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    /// Number of rows, in pixels.
    pub height: usize,
    /// Number of columns, in pixels.
    pub width: usize,
    /// `height * width` gray values, row-major; 255 is brightest (densest).
    pub pixels: Vec<u8>,
}

/// What [`read_gray_u8`] found in the file, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomInfo {
    /// The transfer syntax UID of the file.
    pub transfer_syntax: String,
    /// The photometric interpretation: `MONOCHROME1` or `MONOCHROME2`.
    pub photometric: String,
    /// The BitsStored attribute (1..=16).
    pub bits_stored: u16,
}

/// A US (unsigned short) attribute's first value; any other value representation is an error,
/// as dicom-pixeldata reads these attributes as US only.
fn attr_u16(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: Tag,
    name: &'static str,
) -> Result<u16, DicomError> {
    let err = |problem: String| DicomError::Attribute {
        path: path.to_path_buf(),
        attribute: name,
        problem,
    };
    let el = obj.element(tag).map_err(|_| err("missing".into()))?;
    match el.value().primitive() {
        Some(PrimitiveValue::U16(v)) if !v.is_empty() => Ok(v[0]),
        _ => Err(err(format!(
            "value representation {} ({} bytes), expected one US (unsigned 16-bit) value",
            el.vr().to_string(),
            el.value().primitive().map_or(0, |p| p.calculate_byte_len())
        ))),
    }
}

fn attr_str(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().trim_end_matches('\0').to_string())
}

/// Checks `rows × columns` against [`MAX_SIDE`] and [`MAX_PIXELS`].
pub fn check_dimensions(path: &Path, rows: u16, columns: u16) -> Result<(), DicomError> {
    let (r, c) = (rows as usize, columns as usize);
    if r == 0 || c == 0 || r > MAX_SIDE || c > MAX_SIDE || r * c > MAX_PIXELS {
        return Err(DicomError::Dimensions {
            path: path.to_path_buf(),
            rows,
            columns,
        });
    }
    Ok(())
}

/// Reads the file at `path` whole (at most [`MAX_FILE_BYTES`]).
fn read_file(path: &Path) -> Result<Vec<u8>, DicomError> {
    let io = |source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    };
    let md = std::fs::metadata(path).map_err(io)?;
    if md.is_dir() {
        return Err(DicomError::NotAFile {
            path: path.to_path_buf(),
            found: "a directory",
        });
    }
    if !md.is_file() {
        return Err(DicomError::NotAFile {
            path: path.to_path_buf(),
            found: "not a regular file",
        });
    }
    let too_large = |bytes| DicomError::TooLarge {
        path: path.to_path_buf(),
        bytes,
        max: MAX_FILE_BYTES,
    };
    if md.len() > MAX_FILE_BYTES {
        return Err(too_large(md.len()));
    }
    let mut bytes = Vec::with_capacity(md.len() as usize);
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// dicom-rs's error chain as one line: wrappers that say nothing ("could not read data set
/// token") and repeated messages are dropped, and a debug dump of a token is replaced by words.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    const SILENT: [&str; 5] = [
        "Could not read data set token",
        "Could not parse meta group data set",
        "Could not create data set parser",
        "Could not read value",
        "Could not decode pixel data",
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let mut msg = err.to_string();
        if msg.starts_with("Unexpected token") {
            msg = "an item or sequence delimiter where none belongs".into();
        }
        if !SILENT.contains(&msg.as_str()) && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = err.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

/// Maps a dicom-rs error met while reading the data set: the bounded decoder's refusal first,
/// then an end of data, then dicom-rs's own words.
fn data_set_error(
    path: &Path,
    problem: Option<Problem>,
    e: &(dyn std::error::Error + 'static),
    file_len: usize,
) -> DicomError {
    let path = path.to_path_buf();
    match problem {
        Some(Problem::EndsEarly(problem)) => DicomError::EndsEarly { path, problem },
        Some(Problem::Malformed(problem)) => DicomError::Malformed { path, problem },
        None if bounded::is_eof(e) || e.to_string() == "Premature data set end" => {
            DicomError::EndsEarly {
                path,
                problem: format!(
                    "the file ({file_len} bytes) ends inside a sequence or element of the data set"
                ),
            }
        }
        None => DicomError::Malformed {
            path,
            problem: format!("data set: {}", chain(e)),
        },
    }
}

/// Parses DICOM file bytes into a dicom-rs object, every declared length checked against the
/// file first (see the module doc). `path` only names the file in errors.
fn parse(path: &Path, bytes: &[u8]) -> Result<DefaultDicomObject, DicomError> {
    let malformed = |problem: String| DicomError::Malformed {
        path: path.to_path_buf(),
        problem,
    };
    let from_problem = |p: Problem| match p {
        Problem::EndsEarly(problem) => DicomError::EndsEarly {
            path: path.to_path_buf(),
            problem,
        },
        Problem::Malformed(problem) => malformed(problem),
    };
    let file_len = bytes.len();
    let magic_at = if file_len >= 132 && &bytes[128..132] == b"DICM" {
        128
    } else if file_len >= 4 && &bytes[..4] == b"DICM" {
        0
    } else if file_len == 0 {
        return Err(malformed("the file is empty (0 bytes)".into()));
    } else if file_len < 132 {
        return Err(malformed(format!(
            "the file is {file_len} bytes, too short for a 128-byte preamble and the \"DICM\" magic"
        )));
    } else {
        return Err(malformed(
            "no \"DICM\" magic at byte 128 (after the preamble) or at byte 0".into(),
        ));
    };
    let data_start = scan_meta(bytes, magic_at).map_err(from_problem)?;
    let meta = FileMetaTable::from_reader(&bytes[magic_at..data_start])
        .map_err(|e| malformed(format!("file meta group: {}", chain(&e))))?;
    let uid = meta.transfer_syntax().trim().to_string();
    let registry = dicom_transfer_syntax_registry::TransferSyntaxRegistry;
    let ts = match registry.get(&uid) {
        Some(ts) if SUPPORTED_TRANSFER_SYNTAXES.iter().any(|(u, _)| *u == uid) => ts,
        found => {
            return Err(DicomError::TransferSyntax {
                path: path.to_path_buf(),
                name: found
                    .map(|t| t.name().to_string())
                    .unwrap_or_else(|| "unknown".into()),
                uid,
            })
        }
    };
    let data = &bytes[data_start..];
    let (base, total) = (data_start as u64, file_len as u64);
    // Pass 1: walk the tokens (lengths checked by the bounded decoder) and bound the nesting, as
    // dicom-rs builds nested items recursively.
    let mut dec = Bounded::new(data, base, total, ts).map_err(from_problem)?;
    let mut failure = None;
    {
        let mut depth = 0usize;
        for token in DataSetReader::new(&mut dec, DataSetReaderOptions::default()) {
            match token {
                Err(e) => {
                    failure = Some(Err(e));
                    break;
                }
                Ok(
                    DataToken::SequenceStart { .. }
                    | DataToken::PixelSequenceStart
                    | DataToken::ItemStart { .. },
                ) => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        failure = Some(Ok(()));
                        break;
                    }
                }
                Ok(DataToken::SequenceEnd | DataToken::ItemEnd) => depth = depth.saturating_sub(1),
                Ok(_) => {}
            }
        }
    }
    match failure {
        None => {}
        Some(Ok(())) => {
            return Err(malformed(format!(
                "sequences nest more than {} deep (at most {MAX_NESTING} levels of sequences \
                 and items are read)",
                MAX_NESTING / 2
            )))
        }
        Some(Err(e)) => return Err(data_set_error(path, dec.problem.take(), &e, file_len)),
    }
    // Pass 2: build the object, through the same checks.
    let mut dec = Bounded::new(data, base, total, ts).map_err(from_problem)?;
    let obj = InMemDicomObject::read_dataset_with_dict(&mut dec, StandardDataDictionary)
        .map_err(|e| data_set_error(path, dec.problem.take(), &e, file_len))?;
    Ok(obj.with_exact_meta(meta))
}

/// Reads `path` as an 8-bit grayscale image following the module's rules.
pub fn read_gray_u8(path: &Path) -> Result<(GrayImage, DicomInfo), DicomError> {
    let bytes = read_file(path)?;
    decode_gray_u8(path, &bytes)
}

/// Decodes the bytes of a DICOM file as an 8-bit grayscale image following the module's rules;
/// `path` only names the file in errors.
pub fn decode_gray_u8(path: &Path, bytes: &[u8]) -> Result<(GrayImage, DicomInfo), DicomError> {
    let obj = parse(path, bytes)?;
    let attribute = |attribute: &'static str, problem: String| DicomError::Attribute {
        path: path.to_path_buf(),
        attribute,
        problem,
    };
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .trim()
        .to_string();
    let photometric = attr_str(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    if photometric != "MONOCHROME1" && photometric != "MONOCHROME2" {
        return Err(DicomError::Photometric {
            path: path.to_path_buf(),
            found: photometric,
        });
    }
    let samples = attr_u16(&obj, path, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?;
    if samples != 1 {
        return Err(attribute(
            "SamplesPerPixel",
            format!("{samples}, expected 1"),
        ));
    }
    if let Some(frames) = attr_str(&obj, tags::NUMBER_OF_FRAMES) {
        if !frames.is_empty() && frames != "1" {
            return Err(attribute(
                "NumberOfFrames",
                format!("{frames:?}, expected a single frame (\"1\")"),
            ));
        }
    }
    let rows = attr_u16(&obj, path, tags::ROWS, "Rows")?;
    let columns = attr_u16(&obj, path, tags::COLUMNS, "Columns")?;
    check_dimensions(path, rows, columns)?;
    let (height, width) = (rows as usize, columns as usize);
    let jpeg = ts == JPEG_BASELINE;
    let bits_allocated = attr_u16(&obj, path, tags::BITS_ALLOCATED, "BitsAllocated")?;
    if !(bits_allocated == 8 || bits_allocated == 16 && !jpeg) {
        return Err(attribute(
            "BitsAllocated",
            format!(
                "{bits_allocated}, expected {}",
                if jpeg {
                    "8 for JPEG baseline"
                } else {
                    "8 or 16"
                }
            ),
        ));
    }
    let bits_stored = attr_u16(&obj, path, tags::BITS_STORED, "BitsStored")?;
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(attribute(
            "BitsStored",
            format!("{bits_stored}, expected 1..={bits_allocated} (BitsAllocated)"),
        ));
    }
    let high_bit = attr_u16(&obj, path, tags::HIGH_BIT, "HighBit")?;
    if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
        return Err(attribute(
            "HighBit",
            format!(
                "{high_bit}, expected {}..={} for BitsStored {bits_stored} in BitsAllocated \
                 {bits_allocated}",
                bits_stored - 1,
                bits_allocated - 1
            ),
        ));
    }
    let representation = attr_u16(
        &obj,
        path,
        tags::PIXEL_REPRESENTATION,
        "PixelRepresentation",
    )?;
    if representation > 1 {
        return Err(attribute(
            "PixelRepresentation",
            format!("{representation}, expected 0 (unsigned) or 1 (signed)"),
        ));
    }
    let signed = representation == 1;
    check_pixel_data(path, &obj, jpeg, height, width, bits_allocated)?;
    let pixels_err = |message: String| DicomError::Pixels {
        path: path.to_path_buf(),
        message,
    };
    let decoded = obj.decode_pixel_data().map_err(|e| pixels_err(chain(&e)))?;
    let mut raw: Vec<i32> = decoded
        .to_vec_with_options(&ConvertOptions::new().with_modality_lut(ModalityLutOption::None))
        .map_err(|e| pixels_err(chain(&e)))?;
    if raw.len() != height * width {
        return Err(pixels_err(format!(
            "{} samples for a {height}x{width} image",
            raw.len()
        )));
    }
    stored_values(&mut raw, bits_allocated, bits_stored, high_bit, signed);
    let mut pixels = to_u8(&raw, bits_stored, signed);
    if photometric == "MONOCHROME1" {
        pixels.iter_mut().for_each(|v| *v = 255 - *v);
    }
    let info = DicomInfo {
        transfer_syntax: ts,
        photometric,
        bits_stored,
    };
    Ok((
        GrayImage {
            height,
            width,
            pixels,
        },
        info,
    ))
}

/// Checks that the Pixel Data element holds what the image attributes describe, before it is
/// decoded: exactly one frame's bytes when uncompressed; a baseline 8-bit JPEG of the same size
/// and one component when encapsulated.
fn check_pixel_data(
    path: &Path,
    obj: &DefaultDicomObject,
    jpeg: bool,
    height: usize,
    width: usize,
    bits_allocated: u16,
) -> Result<(), DicomError> {
    let err = |message: String| DicomError::Pixels {
        path: path.to_path_buf(),
        message,
    };
    let el = obj
        .element(tags::PIXEL_DATA)
        .map_err(|_| DicomError::Attribute {
            path: path.to_path_buf(),
            attribute: "PixelData",
            problem: "missing (the file may be truncated)".into(),
        })?;
    let value = el.value();
    if jpeg {
        let Some(fragments) = value.fragments() else {
            return Err(err(
                "JPEG baseline pixel data must be encapsulated (a sequence of fragments); found \
                 a plain value"
                    .into(),
            ));
        };
        if fragments.iter().all(|f| f.is_empty()) {
            return Err(err("the encapsulated pixel data has no fragment".into()));
        }
        let stream: Vec<u8> = fragments.iter().flatten().copied().collect();
        let f = jpeg::frame_header(&stream).map_err(&err)?;
        let found = (
            f.marker,
            f.precision,
            f.height as usize,
            f.width as usize,
            f.components,
        );
        if !matches!(f.marker, 0xC0 | 0xC1)
            || (
                f.precision,
                f.height as usize,
                f.width as usize,
                f.components,
            ) != (8, height, width, 1)
        {
            return Err(err(format!(
                "the JPEG frame header (SOF FF{:02X}) says {}x{}, {} component(s) of {} bits; \
                 expected a baseline (FFC0/FFC1) {height}x{width} frame of 1 component of 8 \
                 bits, as Rows, Columns and SamplesPerPixel say",
                found.0, found.2, found.3, found.4, found.1
            )));
        }
        return Ok(());
    }
    let Some(p) = value.primitive() else {
        return Err(err(
            "uncompressed pixel data must be a plain value; found an encapsulated or sequence \
             value"
                .into(),
        ));
    };
    let need = height * width * (bits_allocated as usize / 8);
    let have = p.calculate_byte_len();
    if have != need && have != need + (need & 1) {
        return Err(err(format!(
            "Pixel Data holds {have} bytes; a {height}x{width} image of {bits_allocated}-bit \
             samples needs {need}"
        )));
    }
    Ok(())
}

/// Reduces decoded samples (as dicom-rs returns them: the raw 8- or 16-bit sample) to their
/// stored value: `bits_stored` bits ending at `high_bit`, sign-extended when `signed`.
fn stored_values(
    raw: &mut [i32],
    bits_allocated: u16,
    bits_stored: u16,
    high_bit: u16,
    signed: bool,
) {
    let sample_mask: u32 = (1u32 << bits_allocated) - 1;
    let shift = u32::from(high_bit + 1 - bits_stored);
    let value_mask: u32 = (1u32 << bits_stored) - 1;
    let sign_bit: u32 = 1u32 << (bits_stored - 1);
    for v in raw.iter_mut() {
        let u = ((*v as u32) & sample_mask) >> shift & value_mask;
        *v = if signed && u & sign_bit != 0 {
            u as i32 - (1i32 << bits_stored)
        } else {
            u as i32
        };
    }
}

/// The module's bit-depth rule: identity for ≤ 8 bits, linear full-range scaling above.
pub fn to_u8(raw: &[i32], bits_stored: u16, signed: bool) -> Vec<u8> {
    let offset: i64 = if signed { 1i64 << (bits_stored - 1) } else { 0 };
    let max: i64 = (1i64 << bits_stored) - 1;
    if bits_stored <= 8 {
        return raw
            .iter()
            .map(|&v| (v as i64 + offset).clamp(0, 255) as u8)
            .collect();
    }
    raw.iter()
        .map(|&v| {
            let v = (v as i64 + offset).clamp(0, max);
            ((v * 255 + max / 2) / max) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests;
