//! Writes an 8-bit grayscale image as a real DICOM file through dicom-rs, in the shape of the
//! SIIM challenge files (Secondary Capture, Modality CR, chest PA), with the variants the DICOM
//! reader's tests need: explicit or implicit VR little endian or JPEG baseline, MONOCHROME2 or
//! MONOCHROME1, 8 or 12 bits stored.
//!
//! Value mapping, so that a reader following the usual rules gets the input back exactly:
//! - MONOCHROME1 stores `max − v` (max = 255 for 8 bits, 4095 for 12 bits).
//! - 12 bits (BitsAllocated 16, BitsStored 12, HighBit 11) store `v12 = (v << 4) | (v >> 4)`,
//!   which maps 0 → 0 and 255 → 4095 and is within 1 of `v · 4095 / 255`. Both usual 12 → 8 bit
//!   rules recover `v` exactly: `v12 >> 4` and `round(v12 · 255 / 4095)` (the rule of
//!   `crate::dicom::to_u8`); also after MONOCHROME1 inversion, as `4095 − v12` encodes `255 − v`
//!   the same way.
//! - JPEG baseline is 8-bit and lossy (quality from the options); asking for 12 bits with JPEG
//!   baseline is an error.

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::adapters::EncodeOptions;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::entries;

use super::ids::CaseIds;
use super::SynthError;

/// Transfer syntax of a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DicomTransferSyntax {
    /// Explicit VR Little Endian (1.2.840.10008.1.2.1), uncompressed.
    #[default]
    ExplicitVrLittleEndian,
    /// Implicit VR Little Endian (1.2.840.10008.1.2), uncompressed.
    ImplicitVrLittleEndian,
    /// JPEG Baseline, process 1 (1.2.840.10008.1.2.4.50): 8-bit lossy, as the real SIIM files.
    JpegBaseline,
}

impl DicomTransferSyntax {
    /// The transfer syntax UID.
    pub fn uid(self) -> &'static str {
        match self {
            Self::ExplicitVrLittleEndian => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            Self::ImplicitVrLittleEndian => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            Self::JpegBaseline => uids::JPEG_BASELINE8_BIT,
        }
    }
}

/// Photometric interpretation of a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Photometric {
    /// Low values are dark (the SIIM files).
    #[default]
    Monochrome2,
    /// Low values are bright; stored values are inverted.
    Monochrome1,
}

/// Stored sample depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BitDepth {
    /// BitsAllocated 8, BitsStored 8, HighBit 7.
    #[default]
    Eight,
    /// BitsAllocated 16, BitsStored 12, HighBit 11.
    Twelve,
}

/// How [`write_dicom_u8`] encodes the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DicomWriteOptions {
    /// Transfer syntax.
    pub transfer_syntax: DicomTransferSyntax,
    /// MONOCHROME2 or MONOCHROME1.
    pub photometric: Photometric,
    /// 8 or 12 bits stored.
    pub bits: BitDepth,
    /// JPEG quality 1..=100 (only for JPEG baseline).
    pub jpeg_quality: u8,
    /// Physical pixel size in mm written as Pixel Spacing (the SIIM files use about 0.14–0.17).
    pub pixel_spacing_mm: f32,
}

impl Default for DicomWriteOptions {
    fn default() -> Self {
        Self {
            transfer_syntax: DicomTransferSyntax::default(),
            photometric: Photometric::default(),
            bits: BitDepth::default(),
            jpeg_quality: 95,
            pixel_spacing_mm: 0.168,
        }
    }
}

impl DicomWriteOptions {
    /// Options with the given transfer syntax, the rest default.
    pub fn with_transfer_syntax(transfer_syntax: DicomTransferSyntax) -> Self {
        Self {
            transfer_syntax,
            ..Self::default()
        }
    }
}

/// Stored sample values for `image` under `opts` (inversion and 12-bit expansion applied),
/// as the little-endian bytes of the Pixel Data element (padded to even length).
fn stored_bytes(image: &[u8], opts: &DicomWriteOptions) -> Vec<u8> {
    let invert = opts.photometric == Photometric::Monochrome1;
    match opts.bits {
        BitDepth::Eight => {
            let mut out: Vec<u8> = image
                .iter()
                .map(|&v| if invert { 255 - v } else { v })
                .collect();
            if out.len() % 2 == 1 {
                out.push(0);
            }
            out
        }
        BitDepth::Twelve => image
            .iter()
            .flat_map(|&v| {
                let v12 = (u16::from(v) << 4) | (u16::from(v) >> 4);
                (if invert { 4095 - v12 } else { v12 }).to_le_bytes()
            })
            .collect(),
    }
}

/// Encodes `image` (row-major `height × width`) as the bytes of a DICOM file
/// (preamble, meta group, data set). `path` is only used in error messages.
pub fn encode_dicom_u8(
    path: &Path,
    image: &[u8],
    height: usize,
    width: usize,
    ids: &CaseIds,
    opts: &DicomWriteOptions,
) -> Result<Vec<u8>, SynthError> {
    if image.len() != height * width {
        return Err(SynthError::PixelCount {
            path: path.into(),
            got: image.len(),
            height,
            width,
        });
    }
    let unsupported = |reason: String| SynthError::UnsupportedDicom {
        path: path.into(),
        reason,
    };
    if height == 0 || width == 0 || height > usize::from(u16::MAX) || width > usize::from(u16::MAX)
    {
        return Err(unsupported(format!(
            "image size {height}x{width} does not fit DICOM Rows/Columns"
        )));
    }
    if opts.transfer_syntax == DicomTransferSyntax::JpegBaseline && opts.bits != BitDepth::Eight {
        return Err(unsupported(
            "JPEG baseline stores 8 bits only; use BitDepth::Eight".into(),
        ));
    }
    if !(1..=100).contains(&opts.jpeg_quality) {
        return Err(unsupported(format!(
            "JPEG quality {} is outside 1..=100",
            opts.jpeg_quality
        )));
    }
    let dicom_err = |stage: &'static str, e: &dyn std::fmt::Display| SynthError::Dicom {
        stage,
        path: path.into(),
        message: e.to_string(),
    };

    let (alloc, stored) = match opts.bits {
        BitDepth::Eight => (8u16, 8u16),
        BitDepth::Twelve => (16, 12),
    };
    let pmi = match opts.photometric {
        Photometric::Monochrome2 => "MONOCHROME2",
        Photometric::Monochrome1 => "MONOCHROME1",
    };
    let spacing = format!("{:.6}\\{:.6}", opts.pixel_spacing_mm, opts.pixel_spacing_mm);
    let pixel_vr = if alloc == 8 { VR::OB } else { VR::OW };
    let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let obj = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        text(
            tags::SOP_CLASS_UID,
            VR::UI,
            uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
        ),
        text(tags::SOP_INSTANCE_UID, VR::UI, &ids.sop_instance_uid),
        text(tags::STUDY_DATE, VR::DA, "19010101"),
        text(tags::STUDY_TIME, VR::TM, "000000.00"),
        text(tags::ACCESSION_NUMBER, VR::SH, ""),
        text(tags::MODALITY, VR::CS, "CR"),
        text(tags::CONVERSION_TYPE, VR::CS, "WSD"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        text(tags::SERIES_DESCRIPTION, VR::LO, "view: PA"),
        text(tags::PATIENT_NAME, VR::PN, &ids.patient_id),
        text(tags::PATIENT_ID, VR::LO, &ids.patient_id),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        text(tags::BODY_PART_EXAMINED, VR::CS, "CHEST"),
        text(tags::VIEW_POSITION, VR::CS, "PA"),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &ids.study_instance_uid),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &ids.series_instance_uid),
        text(tags::STUDY_ID, VR::SH, ""),
        text(tags::SERIES_NUMBER, VR::IS, "1"),
        text(tags::INSTANCE_NUMBER, VR::IS, "1"),
        text(tags::PATIENT_ORIENTATION, VR::CS, ""),
        us(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, pmi),
        us(tags::ROWS, height as u16),
        us(tags::COLUMNS, width as u16),
        text(tags::PIXEL_SPACING, VR::DS, &spacing),
        us(tags::BITS_ALLOCATED, alloc),
        us(tags::BITS_STORED, stored),
        us(tags::HIGH_BIT, stored - 1),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(
            tags::PIXEL_DATA,
            pixel_vr,
            PrimitiveValue::from(stored_bytes(image, opts)),
        ),
    ]);
    let native_ts = match opts.transfer_syntax {
        DicomTransferSyntax::ImplicitVrLittleEndian => uids::IMPLICIT_VR_LITTLE_ENDIAN,
        _ => uids::EXPLICIT_VR_LITTLE_ENDIAN,
    };
    let mut file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(native_ts))
        .map_err(|e| dicom_err("meta table", &e))?;
    if opts.transfer_syntax == DicomTransferSyntax::JpegBaseline {
        let mut enc = EncodeOptions::new();
        enc.quality = Some(opts.jpeg_quality);
        file.transcode_with_options(&entries::JPEG_BASELINE.erased(), enc)
            .map_err(|e| dicom_err("JPEG encoding", &e))?;
    }
    let mut bytes = Vec::with_capacity(height * width * usize::from(alloc / 8) + 2048);
    file.write_all(&mut bytes)
        .map_err(|e| dicom_err("serialisation", &e))?;
    Ok(bytes)
}

/// Writes `image` (row-major `height × width`, MONOCHROME2 values) to `path` as a DICOM file,
/// atomically (temporary file in the same directory, fsync, rename). Returns the bytes written.
pub fn write_dicom_u8(
    path: &Path,
    image: &[u8],
    height: usize,
    width: usize,
    ids: &CaseIds,
    opts: &DicomWriteOptions,
) -> Result<u64, SynthError> {
    let bytes = encode_dicom_u8(path, image, height, width, ids, opts)?;
    crate::atomic::write_bytes_atomic(path, &bytes).map_err(|source| SynthError::Io {
        action: "writing",
        path: path.into(),
        source,
    })?;
    Ok(bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use dicom_object::open_file;
    use dicom_pixeldata::PixelDecoder;

    use super::*;
    use crate::synth::Split;

    fn gradient(h: usize, w: usize) -> Vec<u8> {
        (0..h * w)
            .map(|i| ((i / w) * 7 + (i % w) * 3) as u8)
            .collect()
    }

    /// Reads a written file back: tags and decoded 8-bit pixel values (MONOCHROME1 re-inverted).
    fn read_back(path: &Path) -> (dicom_object::DefaultDicomObject, Vec<u8>) {
        let obj = open_file(path).expect("parse written DICOM");
        let decoded = obj.decode_pixel_data().expect("decode pixel data");
        let bits = decoded.bits_stored();
        let raw: Vec<u16> = decoded.to_vec().expect("pixel values");
        let max = (1u32 << bits) - 1;
        let inv = obj
            .element(tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap()
            .to_str()
            .unwrap()
            .trim()
            == "MONOCHROME1";
        let v8 = raw
            .iter()
            .map(|&v| {
                let v = if inv { max as u16 - v } else { v };
                (v >> (bits - 8)) as u8
            })
            .collect();
        (obj, v8)
    }

    #[test]
    fn uncompressed_variants_round_trip_exactly() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path();
        let ids = CaseIds::new(1, Split::Train, 0);
        let (h, w) = (23, 17); // odd pixel count exercises the padding
        let img = gradient(h, w);
        for ts in [
            DicomTransferSyntax::ExplicitVrLittleEndian,
            DicomTransferSyntax::ImplicitVrLittleEndian,
        ] {
            for photometric in [Photometric::Monochrome2, Photometric::Monochrome1] {
                for bits in [BitDepth::Eight, BitDepth::Twelve] {
                    let opts = DicomWriteOptions {
                        transfer_syntax: ts,
                        photometric,
                        bits,
                        ..Default::default()
                    };
                    let path = dir.join(format!("{ts:?}-{photometric:?}-{bits:?}.dcm"));
                    write_dicom_u8(&path, &img, h, w, &ids, &opts).expect("write");
                    let (obj, pixels) = read_back(&path);
                    assert_eq!(
                        obj.meta().transfer_syntax().trim_end_matches('\0'),
                        ts.uid()
                    );
                    let get = |t| obj.element(t).unwrap().to_str().unwrap().trim().to_string();
                    assert_eq!(get(tags::SOP_INSTANCE_UID), ids.sop_instance_uid);
                    assert_eq!(get(tags::STUDY_INSTANCE_UID), ids.study_instance_uid);
                    assert_eq!(get(tags::SERIES_INSTANCE_UID), ids.series_instance_uid);
                    assert_eq!(get(tags::PATIENT_ID), ids.patient_id);
                    assert_eq!(get(tags::MODALITY), "CR");
                    let num = |t| obj.element(t).unwrap().to_int::<u16>().unwrap();
                    assert_eq!((num(tags::ROWS), num(tags::COLUMNS)), (h as u16, w as u16));
                    let (alloc, stored) = if bits == BitDepth::Eight {
                        (8, 8)
                    } else {
                        (16, 12)
                    };
                    assert_eq!(
                        (num(tags::BITS_ALLOCATED), num(tags::BITS_STORED)),
                        (alloc, stored)
                    );
                    assert_eq!(num(tags::HIGH_BIT), stored - 1);
                    assert_eq!(num(tags::SAMPLES_PER_PIXEL), 1);
                    assert_eq!(pixels, img, "{path:?}");
                }
            }
        }
    }

    #[test]
    fn twelve_bit_mapping_spans_the_range() {
        let opts = DicomWriteOptions {
            bits: BitDepth::Twelve,
            ..Default::default()
        };
        let b = stored_bytes(&[0, 1, 128, 255], &opts);
        let v: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(v, vec![0, 16, 2056, 4095]);
        let all: Vec<u8> = (0..=255).collect();
        let b = stored_bytes(&all, &opts);
        for (v, c) in all.iter().zip(b.chunks(2)) {
            let v12 = u32::from(u16::from_le_bytes([c[0], c[1]]));
            assert_eq!(v12 >> 4, u32::from(*v));
            assert_eq!(
                (v12 * 255 + 4095 / 2) / 4095,
                u32::from(*v),
                "rounded scaling of {v}"
            );
            assert_eq!(
                crate::dicom::to_u8(&[v12 as i32], 12, false),
                vec![*v],
                "reader's rule"
            );
        }
        let inv = stored_bytes(
            &[0, 255],
            &DicomWriteOptions {
                photometric: Photometric::Monochrome1,
                ..opts
            },
        );
        assert_eq!(inv, vec![0xFF, 0x0F, 0, 0]);
    }

    #[test]
    fn jpeg_baseline_writes_encapsulated_lossy_8_bit() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path();
        let ids = CaseIds::new(2, Split::Test, 5);
        let (h, w) = (64, 48);
        let img: Vec<u8> = (0..h * w)
            .map(|i| (((i / w) as f32 * 0.2).sin() * 60.0 + 120.0) as u8)
            .collect();
        let opts = DicomWriteOptions::with_transfer_syntax(DicomTransferSyntax::JpegBaseline);
        let path = dir.join("jpeg.dcm");
        write_dicom_u8(&path, &img, h, w, &ids, &opts).expect("write");
        let (obj, pixels) = read_back(&path);
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            uids::JPEG_BASELINE8_BIT
        );
        let pd = obj.element(tags::PIXEL_DATA).unwrap();
        assert!(
            pd.fragments().is_some_and(|f| !f.is_empty()),
            "pixel data is encapsulated"
        );
        let mae = pixels
            .iter()
            .zip(&img)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .sum::<f64>()
            / img.len() as f64;
        assert!(mae < 2.0, "JPEG error {mae}");
        let err = encode_dicom_u8(
            &path,
            &img,
            h,
            w,
            &ids,
            &DicomWriteOptions {
                bits: BitDepth::Twelve,
                ..opts
            },
        );
        assert!(matches!(err, Err(SynthError::UnsupportedDicom { .. })));
    }

    #[test]
    fn wrong_pixel_count_names_the_path() {
        let ids = CaseIds::new(0, Split::Train, 0);
        let err = encode_dicom_u8(
            Path::new("/x/y.dcm"),
            &[0; 10],
            3,
            4,
            &ids,
            &Default::default(),
        );
        let msg = err.expect_err("must fail").to_string();
        assert!(msg.contains("/x/y.dcm") && msg.contains("10"), "{msg}");
    }
}
