//! DICOM reader tests: the bit-depth rule, and files that are damaged, truncated, hostile or
//! not DICOM at all (made from the crate's own DICOM writer), each refused with a clear error
//! before anything large is allocated; property tests feed it random mutations.

use super::*;
use crate::synth::dicom_writer::{encode_dicom_u8, DicomTransferSyntax, DicomWriteOptions};
use crate::synth::{CaseIds, Split};
use crate::test_alloc::largest_allocation;

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

#[test]
fn stored_values_mask_other_bits_and_sign_extend() {
    // 12 bits stored at bits 0..=11 of 16; overlay garbage in the top 4 bits is dropped.
    let mut v = vec![0xF000 | 4095, 0x1000 | 7];
    stored_values(&mut v, 16, 12, 11, false);
    assert_eq!(v, vec![4095, 7]);
    // Signed 12 bits: 0x800 is -2048 whether or not the file sign-extended it.
    let mut v = vec![0x0800, 0x0FFF, -1, 5];
    stored_values(&mut v, 16, 12, 11, true);
    assert_eq!(v, vec![-2048, -1, -1, 5]);
    // Signed 8 bits as dicom-rs returns them (0..=255).
    let mut v = vec![0x80, 0x7F, 0xFF];
    stored_values(&mut v, 8, 8, 7, true);
    assert_eq!(v, vec![-128, 127, -1]);
    // Bits stored high in the sample (HighBit 15, BitsStored 12).
    let mut v = vec![0xFFF0, 0x0010];
    stored_values(&mut v, 16, 12, 15, false);
    assert_eq!(v, vec![4095, 1]);
}

fn gradient(h: usize, w: usize) -> Vec<u8> {
    (0..h * w)
        .map(|i| ((i / w) * 5 + (i % w) * 3) as u8)
        .collect()
}

/// A valid DICOM file of a `h`×`w` gradient.
fn valid(h: usize, w: usize, ts: DicomTransferSyntax) -> Vec<u8> {
    encode_dicom_u8(
        Path::new("t.dcm"),
        &gradient(h, w),
        h,
        w,
        &CaseIds::new(1, Split::Train, 0),
        &DicomWriteOptions::with_transfer_syntax(ts),
    )
    .unwrap()
}

fn find(bytes: &[u8], pattern: &[u8]) -> usize {
    bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .unwrap_or_else(|| panic!("pattern {pattern:02x?} not found"))
}

/// Offset of the value of the explicit VR little endian US element `(group,element)`.
fn us_value_at(bytes: &[u8], group: u16, element: u16) -> usize {
    let mut p = group.to_le_bytes().to_vec();
    p.extend_from_slice(&element.to_le_bytes());
    p.extend_from_slice(b"US\x02\x00");
    find(bytes, &p) + 8
}

fn set_us(bytes: &mut [u8], group: u16, element: u16, value: u16) {
    let at = us_value_at(bytes, group, element);
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// Offset of the explicit VR little endian Pixel Data header (OB, 32-bit length at +8).
fn pixel_data_at(bytes: &[u8]) -> usize {
    find(bytes, b"\xE0\x7F\x10\x00OB\x00\x00")
}

/// Decodes `bytes` as `x.dcm`; returns the error message and the largest allocation made.
fn refuse(bytes: &[u8]) -> (String, usize) {
    let (r, max) = largest_allocation(|| decode_gray_u8(Path::new("x.dcm"), bytes));
    (r.expect_err("must be refused").to_string(), max)
}

#[test]
fn valid_files_of_every_supported_syntax_decode() {
    for ts in [
        DicomTransferSyntax::ExplicitVrLittleEndian,
        DicomTransferSyntax::ImplicitVrLittleEndian,
    ] {
        let (img, info) = decode_gray_u8(Path::new("t.dcm"), &valid(23, 17, ts)).unwrap();
        assert_eq!((img.height, img.width), (23, 17));
        assert_eq!(img.pixels, gradient(23, 17), "{ts:?}");
        assert_eq!(info.transfer_syntax, ts.uid());
    }
    let (img, _) = decode_gray_u8(
        Path::new("t.dcm"),
        &valid(24, 32, DicomTransferSyntax::JpegBaseline),
    )
    .unwrap();
    assert_eq!((img.height, img.width, img.pixels.len()), (24, 32, 768));
}

#[test]
fn zero_rows_and_columns_are_refused_before_decoding() {
    let mut b = valid(8, 8, DicomTransferSyntax::ExplicitVrLittleEndian);
    set_us(&mut b, 0x0028, 0x0010, 0);
    set_us(&mut b, 0x0028, 0x0011, 0);
    let (msg, _) = refuse(&b);
    assert_eq!(
        msg,
        "x.dcm: image size 0x0 (Rows x Columns) is outside the accepted range: each side \
         1..=16384, at most 268435456 pixels"
    );
    let mut b = valid(8, 8, DicomTransferSyntax::JpegBaseline);
    set_us(&mut b, 0x0028, 0x0011, 0);
    assert!(refuse(&b).0.contains("image size 8x0"));
}

#[test]
fn oversized_dimensions_are_refused_without_allocating_them() {
    let mut b = valid(8, 8, DicomTransferSyntax::ExplicitVrLittleEndian);
    set_us(&mut b, 0x0028, 0x0010, 20000);
    let (msg, max) = refuse(&b);
    assert!(msg.contains("image size 20000x8 (Rows x Columns)"), "{msg}");
    assert!(max < 1 << 20, "allocated {max} bytes");
    // 16384 x 16384 is within the limits, but the 64 stored bytes are not that image.
    set_us(&mut b, 0x0028, 0x0010, 16384);
    set_us(&mut b, 0x0028, 0x0011, 16384);
    let (msg, max) = refuse(&b);
    assert_eq!(
        msg,
        "x.dcm: cannot decode pixel data: Pixel Data holds 64 bytes; a 16384x16384 image of \
         8-bit samples needs 268435456"
    );
    assert!(max < 1 << 20, "allocated {max} bytes");
    // A JPEG whose Rows disagree with its frame header is refused before dicom-rs decodes it
    // (its JPEG adapter would index past its buffer).
    let mut b = valid(24, 32, DicomTransferSyntax::JpegBaseline);
    set_us(&mut b, 0x0028, 0x0010, 12);
    let (msg, _) = refuse(&b);
    assert_eq!(
        msg,
        "x.dcm: cannot decode pixel data: the JPEG frame header (SOF FFC0) says 24x32, 1 \
         component(s) of 8 bits; expected a baseline (FFC0/FFC1) 12x32 frame of 1 component of \
         8 bits, as Rows, Columns and SamplesPerPixel say"
    );
}

#[test]
fn a_length_past_the_end_of_the_file_is_refused_before_allocating() {
    // A 17 KB file whose Pixel Data declares 0xFFFFFFF0 bytes: dicom-rs alone reserves ~4 GB.
    let mut b = valid(128, 128, DicomTransferSyntax::ExplicitVrLittleEndian);
    assert!((16_000..18_000).contains(&b.len()), "{}", b.len());
    let at = pixel_data_at(&b);
    b[at + 8..at + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let (msg, max) = refuse(&b);
    assert_eq!(
        msg,
        format!(
            "x.dcm: file ends early (truncated or corrupt): element (7FE0,0010) PixelData at \
             byte {at} declares 4294967280 value bytes, but only 16384 remain (file is {} bytes)",
            b.len()
        )
    );
    assert!(max < 1 << 20, "allocated {max} bytes");
    // The same in the middle of the data set, in implicit VR (32-bit lengths everywhere).
    let mut b = valid(128, 128, DicomTransferSyntax::ImplicitVrLittleEndian);
    let at = find(&b, b"\x10\x00\x10\x00"); // (0010,0010) PatientName
    b[at + 4..at + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let (msg, max) = refuse(&b);
    assert!(
        msg.starts_with(&format!(
            "x.dcm: file ends early (truncated or corrupt): element (0010,0010) PatientName at \
             byte {at} declares 4294967280 value bytes, but only "
        )),
        "{msg}"
    );
    assert!(max < 1 << 20, "allocated {max} bytes");
    // And in the file meta group.
    let mut b = valid(8, 8, DicomTransferSyntax::ExplicitVrLittleEndian);
    let at = find(&b, b"\x02\x00\x10\x00UI"); // (0002,0010) TransferSyntaxUID
    b[at + 6..at + 8].copy_from_slice(&0xFFF0u16.to_le_bytes());
    b.truncate(at + 100);
    let (msg, _) = refuse(&b);
    assert_eq!(
        msg,
        format!(
            "x.dcm: file ends early (truncated or corrupt): file meta element (0002,0010) \
             TransferSyntaxUID at byte {at} declares 65520 value bytes, but only 92 remain (file \
             is {} bytes)",
            b.len()
        )
    );
}

#[test]
fn truncated_files_say_where_they_end() {
    let full = valid(32, 32, DicomTransferSyntax::ExplicitVrLittleEndian);
    let pd = pixel_data_at(&full);
    // Inside the pixel data.
    let (msg, _) = refuse(&full[..full.len() - 100]);
    assert_eq!(
        msg,
        format!(
            "x.dcm: file ends early (truncated or corrupt): element (7FE0,0010) PixelData at \
             byte {pd} declares 1024 value bytes, but only 924 remain (file is {} bytes)",
            full.len() - 100
        )
    );
    // Inside an element header.
    let (msg, _) = refuse(&full[..pd + 5]);
    assert_eq!(
        msg,
        format!(
            "x.dcm: file ends early (truncated or corrupt): the file ends inside an element \
             header at byte {pd}: 5 bytes remain, a header needs 8 or more (file is {} bytes)",
            pd + 5
        )
    );
    let (msg, _) = refuse(&full[..pd + 10]);
    assert!(
        msg.contains("the file ends inside an element header at byte"),
        "{msg}"
    );
    // Right before the pixel data: structurally complete, but no image.
    let (msg, _) = refuse(&full[..pd]);
    assert_eq!(
        msg,
        "x.dcm: attribute PixelData: missing (the file may be truncated)"
    );
    // Inside the meta group, and inside the preamble.
    let (msg, _) = refuse(&full[..150]);
    assert_eq!(
        msg,
        "x.dcm: file ends early (truncated or corrupt): the file meta group is cut off: an \
         element header at byte 144 needs 8 or 12 bytes, 6 remain (file is 150 bytes)"
    );
    let (msg, _) = refuse(&full[..100]);
    assert_eq!(
        msg,
        "x.dcm: not a valid DICOM file: the file is 100 bytes, too short for a 128-byte \
         preamble and the \"DICM\" magic"
    );
    // Every cut is an error, never a panic or a misread image.
    for cut in (0..full.len()).step_by(37) {
        let r = decode_gray_u8(Path::new("x.dcm"), &full[..cut]);
        assert!(r.is_err(), "cut at {cut}");
    }
}

#[test]
fn empty_garbage_and_non_files_are_clear_errors() {
    let (msg, _) = refuse(b"");
    assert_eq!(
        msg,
        "x.dcm: not a valid DICOM file: the file is empty (0 bytes)"
    );
    let (msg, _) = refuse(&[0x55u8; 4000]);
    assert_eq!(
        msg,
        "x.dcm: not a valid DICOM file: no \"DICM\" magic at byte 128 (after the preamble) or \
         at byte 0"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x.dcm");
    std::fs::create_dir(&dir).unwrap();
    let msg = read_gray_u8(&dir).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!("{}: is a directory, expected a DICOM file", dir.display())
    );
    let missing = tmp.path().join("missing.dcm");
    let msg = read_gray_u8(&missing).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}: cannot read the file: ", missing.display())),
        "{msg}"
    );
    // Garbage after a valid preamble and magic.
    let mut b = vec![0u8; 128];
    b.extend_from_slice(b"DICM");
    b.extend_from_slice(&[0xAB; 64]);
    let (msg, _) = refuse(&b);
    assert!(
        msg.starts_with("x.dcm: not a valid DICOM file: the file meta group must start with"),
        "{msg}"
    );
}

#[test]
fn deep_sequence_nesting_is_refused() {
    let full = valid(8, 8, DicomTransferSyntax::ExplicitVrLittleEndian);
    let start = bounded::scan_meta(&full, 128).unwrap();
    let mut b = full[..start].to_vec();
    for _ in 0..40 {
        // (0008,1115) ReferencedSeriesSequence, SQ, undefined length; an item of undefined length.
        b.extend_from_slice(b"\x08\x00\x15\x11SQ\x00\x00\xFF\xFF\xFF\xFF");
        b.extend_from_slice(b"\xFE\xFF\x00\xE0\xFF\xFF\xFF\xFF");
    }
    b.extend_from_slice(&full[start..]);
    let (msg, _) = refuse(&b);
    assert_eq!(
        msg,
        "x.dcm: not a valid DICOM file: sequences nest more than 16 deep (at most 32 levels of \
         sequences and items are read)"
    );
}

#[test]
fn attribute_values_outside_the_rules_are_named() {
    let base = valid(8, 8, DicomTransferSyntax::ExplicitVrLittleEndian);
    let mut b = base.clone();
    set_us(&mut b, 0x0028, 0x0100, 12); // BitsAllocated
    assert_eq!(
        refuse(&b).0,
        "x.dcm: attribute BitsAllocated: 12, expected 8 or 16"
    );
    let mut b = base.clone();
    set_us(&mut b, 0x0028, 0x0101, 9); // BitsStored
    assert_eq!(
        refuse(&b).0,
        "x.dcm: attribute BitsStored: 9, expected 1..=8 (BitsAllocated)"
    );
    let mut b = base.clone();
    set_us(&mut b, 0x0028, 0x0102, 8); // HighBit
    assert_eq!(
        refuse(&b).0,
        "x.dcm: attribute HighBit: 8, expected 7..=7 for BitsStored 8 in BitsAllocated 8"
    );
    let mut b = base;
    set_us(&mut b, 0x0028, 0x0103, 2); // PixelRepresentation
    assert_eq!(
        refuse(&b).0,
        "x.dcm: attribute PixelRepresentation: 2, expected 0 (unsigned) or 1 (signed)"
    );
}

mod proptests {
    //! Mutations and truncations of small valid files: an error or a valid image, never a
    //! panic, never an allocation out of proportion to the file.
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn files() -> &'static [Vec<u8>; 3] {
        static FILES: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
        FILES.get_or_init(|| {
            [
                valid(12, 10, DicomTransferSyntax::ExplicitVrLittleEndian),
                valid(12, 10, DicomTransferSyntax::ImplicitVrLittleEndian),
                valid(16, 16, DicomTransferSyntax::JpegBaseline),
            ]
        })
    }

    /// Writes `bytes` as `p.dcm` and reads it with [`read_gray_u8`]; a success must be a
    /// consistent image, and nothing may allocate more than a small multiple of the file.
    fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.dcm");
        std::fs::write(&path, bytes).unwrap();
        let (r, max) = largest_allocation(|| read_gray_u8(&path));
        prop_assert!(
            max <= 64 * bytes.len() + (1 << 20),
            "allocated {} bytes for a {}-byte file",
            max,
            bytes.len()
        );
        match r {
            Ok((img, _)) => prop_assert_eq!(img.pixels.len(), img.height * img.width),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with(&format!("{}: ", path.display())), "{}", msg);
                prop_assert!(!msg.contains("Could not read data set token"), "{}", msg);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn mutated_files_never_panic(
            which in 0usize..3,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut b = files()[which].clone();
            for (at, v) in edits {
                let i = at.index(b.len());
                b[i] = v;
            }
            check(&b)?;
        }

        #[test]
        fn bit_flips_in_headers_never_panic(
            which in 0usize..3,
            flips in proptest::collection::vec((0usize..600, 0u8..8), 1..4),
        ) {
            // The meta group and the attributes live in the first few hundred bytes.
            let mut b = files()[which].clone();
            for (at, bit) in flips {
                let i = (128 + at) % b.len();
                b[i] ^= 1 << bit;
            }
            check(&b)?;
        }

        #[test]
        fn truncated_and_extended_files_never_panic(
            which in 0usize..3,
            cut in any::<prop::sample::Index>(),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let f = &files()[which];
            let mut b = f[..cut.index(f.len() + 1)].to_vec();
            b.extend_from_slice(&tail);
            check(&b)?;
        }

        #[test]
        fn random_bytes_after_the_magic_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut b = vec![0u8; 128];
            b.extend_from_slice(b"DICM");
            b.extend_from_slice(&body);
            check(&b)?;
        }
    }
}

#[test]
fn explicit_vr_big_endian_decodes() {
    use crate::synth::dicom_writer::BitDepth;
    use dicom_dictionary_std::uids;
    use dicom_object::meta::FileMetaTableBuilder;
    // Retired by DICOM, still accepted here (the constant is deprecated in dicom-rs).
    const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";
    for bits in [BitDepth::Eight, BitDepth::Twelve] {
        let img = gradient(9, 7);
        let le = encode_dicom_u8(
            Path::new("t.dcm"),
            &img,
            9,
            7,
            &CaseIds::new(1, Split::Train, 0),
            &DicomWriteOptions {
                bits,
                ..Default::default()
            },
        )
        .unwrap();
        let obj = parse(Path::new("t.dcm"), &le).unwrap().into_inner();
        let be = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(EXPLICIT_VR_BIG_ENDIAN)
                    .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
                    .media_storage_sop_instance_uid("1.2.3"),
            )
            .unwrap();
        let mut bytes = Vec::new();
        be.write_all(&mut bytes).unwrap();
        assert_ne!(bytes, le);
        let (got, info) = decode_gray_u8(Path::new("be.dcm"), &bytes).unwrap();
        assert_eq!(info.transfer_syntax, EXPLICIT_VR_BIG_ENDIAN);
        assert_eq!(got.pixels, img, "{bits:?}");
    }
}
