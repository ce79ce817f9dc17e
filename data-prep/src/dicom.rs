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
//! keeps every file on the same scale.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{open_file, DefaultDicomObject};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Transfer syntaxes we decode, with their names for messages.
pub const SUPPORTED_TRANSFER_SYNTAXES: [(&str, &str); 4] = [
    ("1.2.840.10008.1.2", "implicit VR little endian"),
    ("1.2.840.10008.1.2.1", "explicit VR little endian"),
    ("1.2.840.10008.1.2.2", "explicit VR big endian"),
    ("1.2.840.10008.1.2.4.50", "JPEG baseline (process 1)"),
];

/// Why a DICOM file could not be turned into an 8-bit image.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DicomError {
    /// The file could not be opened or parsed as DICOM.
    #[error("{path}: cannot read DICOM file: {source}")]
    Open {
        /// The DICOM file.
        path: PathBuf,
        /// The dicom-rs read error.
        source: Box<dicom_object::ReadError>,
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
    /// The pixel data could not be decoded.
    #[error("{path}: cannot decode pixel data: {message}")]
    Pixels {
        /// The DICOM file.
        path: PathBuf,
        /// The decoder's error message.
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

fn attr_u16(
    obj: &DefaultDicomObject,
    path: &Path,
    tag: Tag,
    name: &'static str,
) -> Result<u16, DicomError> {
    let el = obj.element(tag).map_err(|_| DicomError::Attribute {
        path: path.to_path_buf(),
        attribute: name,
        problem: "missing".into(),
    })?;
    el.to_int::<u16>().map_err(|e| DicomError::Attribute {
        path: path.to_path_buf(),
        attribute: name,
        problem: format!("not an unsigned integer: {e}"),
    })
}

fn attr_str(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().trim_end_matches('\0').to_string())
}

/// Reads `path` as an 8-bit grayscale image following the module's rules.
pub fn read_gray_u8(path: &Path) -> Result<(GrayImage, DicomInfo), DicomError> {
    let obj = open_file(path).map_err(|e| DicomError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .trim()
        .to_string();
    if !SUPPORTED_TRANSFER_SYNTAXES
        .iter()
        .any(|(uid, _)| *uid == ts)
    {
        let name = dicom_transfer_syntax_registry::TransferSyntaxRegistry
            .get(&ts)
            .map(|t| t.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        return Err(DicomError::TransferSyntax {
            path: path.to_path_buf(),
            uid: ts,
            name,
        });
    }
    let photometric = attr_str(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    if photometric != "MONOCHROME1" && photometric != "MONOCHROME2" {
        return Err(DicomError::Photometric {
            path: path.to_path_buf(),
            found: photometric,
        });
    }
    let samples = attr_u16(&obj, path, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?;
    if samples != 1 {
        return Err(DicomError::Attribute {
            path: path.to_path_buf(),
            attribute: "SamplesPerPixel",
            problem: format!("{samples}, expected 1"),
        });
    }
    if let Some(frames) = attr_str(&obj, tags::NUMBER_OF_FRAMES) {
        if !frames.is_empty() && frames != "1" {
            return Err(DicomError::Attribute {
                path: path.to_path_buf(),
                attribute: "NumberOfFrames",
                problem: format!("{frames}, expected a single frame"),
            });
        }
    }
    let bits_stored = attr_u16(&obj, path, tags::BITS_STORED, "BitsStored")?;
    if bits_stored == 0 || bits_stored > 16 {
        return Err(DicomError::Attribute {
            path: path.to_path_buf(),
            attribute: "BitsStored",
            problem: format!("{bits_stored}, expected 1..=16"),
        });
    }
    let signed = attr_u16(
        &obj,
        path,
        tags::PIXEL_REPRESENTATION,
        "PixelRepresentation",
    )? == 1;
    let decoded = obj.decode_pixel_data().map_err(|e| DicomError::Pixels {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let (height, width) = (decoded.rows() as usize, decoded.columns() as usize);
    let raw: Vec<i32> = decoded
        .to_vec_with_options(&ConvertOptions::new().with_modality_lut(ModalityLutOption::None))
        .map_err(|e| DicomError::Pixels {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if raw.len() != height * width {
        return Err(DicomError::Pixels {
            path: path.to_path_buf(),
            message: format!("{} samples for a {height}x{width} image", raw.len()),
        });
    }
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
mod tests {
    use super::*;

    #[test]
    fn twelve_bit_maps_full_range_with_rounding() {
        assert_eq!(to_u8(&[0, 4095, 2048, 8], 12, false), vec![0, 255, 128, 0]);
        assert_eq!(to_u8(&[9], 12, false), vec![1]); // 9*255/4095 = 0.56 -> 1
    }

    #[test]
    fn signed_values_are_offset() {
        assert_eq!(to_u8(&[-2048, 2047], 12, true), vec![0, 255]);
        assert_eq!(to_u8(&[-128, 127], 8, true), vec![0, 255]);
    }

    #[test]
    fn eight_bit_is_identity() {
        assert_eq!(to_u8(&[0, 7, 255], 8, false), vec![0, 7, 255]);
    }
}
