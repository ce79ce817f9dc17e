//! DICOM reading against files written by pydicom (tests/fixtures/dicom/gen_dicom_fixtures.py).

use data_prep::dicom::{read_gray_u8, DicomError};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/dicom")
        .join(name)
}

fn expected(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture present")
}

#[test]
fn explicit_and_implicit_vr_decode_exactly() {
    for name in ["explicit_le_mono2.dcm", "implicit_le_mono2.dcm"] {
        let (img, info) = read_gray_u8(&fixture(name)).unwrap();
        assert_eq!((img.height, img.width), (24, 32), "{name}");
        assert_eq!(img.pixels, expected("expected_mono2.bin"), "{name}");
        assert_eq!(info.photometric, "MONOCHROME2");
    }
}

#[test]
fn jpeg_baseline_matches_libjpeg_within_two_levels() {
    // jpeg-decoder (pure Rust, stb_image IDCT) vs Pillow's libjpeg: not bit-identical by design.
    // Tolerance: max |diff| <= 2 grey levels, mean |diff| <= 0.5.
    let (img, info) = read_gray_u8(&fixture("jpeg_baseline_mono2.dcm")).unwrap();
    assert_eq!(info.transfer_syntax, "1.2.840.10008.1.2.4.50");
    let want = expected("expected_jpeg.bin");
    let diffs: Vec<i32> = img
        .pixels
        .iter()
        .zip(&want)
        .map(|(&a, &b)| (a as i32 - b as i32).abs())
        .collect();
    let max = *diffs.iter().max().unwrap();
    let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
    assert!(max <= 2 && mean <= 0.5, "max {max} mean {mean}");
}

#[test]
fn twelve_bit_monochrome1_is_scaled_and_inverted() {
    let (img, info) = read_gray_u8(&fixture("explicit_le_mono1_12bit.dcm")).unwrap();
    assert_eq!(info.bits_stored, 12);
    assert_eq!(img.pixels, expected("expected_mono1_12bit.bin"));
}

#[test]
fn unsupported_transfer_syntax_names_file_and_uid() {
    let err = read_gray_u8(&fixture("rle_lossless.dcm")).unwrap_err();
    assert!(matches!(err, DicomError::TransferSyntax { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("rle_lossless.dcm") && msg.contains("1.2.840.10008.1.2.5"),
        "{msg}"
    );
}

#[test]
fn rgb_is_rejected_naming_what_was_found() {
    let msg = read_gray_u8(&fixture("rgb_explicit.dcm"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("rgb_explicit.dcm") && msg.contains("RGB"),
        "{msg}"
    );
}

#[test]
fn not_a_dicom_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.dcm");
    std::fs::write(&p, b"this is not dicom").unwrap();
    let msg = read_gray_u8(&p).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}: not a valid DICOM file: the file is 17 bytes, too short for a 128-byte preamble \
             and the \"DICM\" magic",
            p.display()
        )
    );
}
