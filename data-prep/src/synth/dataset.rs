//! Writes a synthetic dataset in the SIIM challenge layout:
//! `<out>/dicom-images-{train,test}/<study uid>/<series uid>/<ImageId>.dcm` and
//! `<out>/train-rle.csv` (header `ImageId, EncodedPixels`, one row per object, `<id>, -1` for an
//! empty image, as the challenge's file). Every file is written atomically and is a pure function of
//! the options, so re-running over a complete output rewrites identical bytes, and re-running
//! after a crash finishes the job. The CSV is written last.

use std::fs;
use std::path::{Path, PathBuf};

use super::case::{generate_case, Split, SynthCase};
use super::dicom_writer::{write_dicom_u8, DicomWriteOptions};
use super::ids::CaseIds;
use super::SynthError;
use crate::rle;

/// The CSV header of the real `train-rle.csv` (note the space before `EncodedPixels`).
pub const TRAIN_RLE_HEADER: &str = "ImageId, EncodedPixels";

/// Options of [`write_dataset`].
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Output root (created if missing).
    pub out: PathBuf,
    /// Training images (written with RLE rows).
    pub n_train: usize,
    /// Test images (no labels written).
    pub n_test: usize,
    /// Image side in pixels (square images; the challenge uses 1024).
    pub size: usize,
    /// Dataset seed; every image, mask and id is a function of it.
    pub seed: u64,
    /// How the DICOM files are encoded (explicit VR little endian, MONOCHROME2, 8 bits by default).
    pub dicom: DicomWriteOptions,
}

impl SynthOptions {
    /// Defaults: 100 train and 20 test images of 256², seed 0, explicit VR LE.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            n_train: 100,
            n_test: 20,
            size: 256,
            seed: 0,
            dicom: DicomWriteOptions::default(),
        }
    }

    fn validate(&self) -> Result<(), SynthError> {
        if !(16..=8192).contains(&self.size) {
            return Err(SynthError::InvalidOption {
                name: "size",
                value: self.size.to_string(),
                reason: "must be between 16 and 8192 pixels",
            });
        }
        Ok(())
    }
}

/// What [`write_dataset`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    /// Output root.
    pub out: PathBuf,
    /// Path of `train-rle.csv`.
    pub csv: PathBuf,
    /// Training images written.
    pub n_train: usize,
    /// Test images written.
    pub n_test: usize,
    /// Training images with at least one object.
    pub train_positive: usize,
    /// Object rows in `train-rle.csv` (excluding `-1` rows).
    pub train_objects: usize,
    /// Test images with at least one (unwritten) object.
    pub test_positive: usize,
    /// Bytes of all files written, CSV included.
    pub bytes_written: u64,
}

/// A case written to disk, with its CSV rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenCase {
    /// The ImageId.
    pub image_id: String,
    /// The DICOM file.
    pub path: PathBuf,
    /// One RLE string per object (empty for a negative case).
    pub rles: Vec<String>,
    /// Size of the DICOM file.
    pub bytes: u64,
}

/// Where case `ids` of `split` lives under `out`.
pub fn case_path(out: &Path, split: Split, ids: &CaseIds) -> PathBuf {
    out.join(split.dir_name())
        .join(&ids.study_instance_uid)
        .join(&ids.series_instance_uid)
        .join(format!("{}.dcm", ids.sop_instance_uid))
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SynthError + 'a {
    move |source| SynthError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Generates case `index` of `split` and writes its DICOM file. Independent of other cases, so
/// callers may write cases in parallel; [`write_train_csv`] then writes the labels.
pub fn write_case(
    opts: &SynthOptions,
    split: Split,
    index: usize,
) -> Result<WrittenCase, SynthError> {
    opts.validate()?;
    let case: SynthCase = generate_case(opts.seed, split, index, opts.size);
    let path = case_path(&opts.out, split, &case.ids);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io("creating directory", dir))?;
    }
    let bytes = write_dicom_u8(
        &path,
        &case.image,
        case.height,
        case.width,
        &case.ids,
        &opts.dicom,
    )?;
    let rles = case
        .objects
        .iter()
        .map(|m| rle::encode(m, case.height, case.width))
        .collect();
    Ok(WrittenCase {
        image_id: case.ids.sop_instance_uid,
        path,
        rles,
        bytes,
    })
}

/// The text of `train-rle.csv` for `cases`, in the given order.
pub fn train_csv_text(cases: &[WrittenCase]) -> String {
    let mut s = String::with_capacity(64 * cases.len() + 32);
    s.push_str(TRAIN_RLE_HEADER);
    s.push('\n');
    for c in cases {
        if c.rles.is_empty() {
            s.push_str(&format!("{}, -1\n", c.image_id));
        }
        for r in &c.rles {
            s.push_str(&format!("{}, {}\n", c.image_id, r));
        }
    }
    s
}

/// Writes `<out>/train-rle.csv` for `cases` atomically; returns its path and size.
pub fn write_train_csv(out: &Path, cases: &[WrittenCase]) -> Result<(PathBuf, u64), SynthError> {
    let path = out.join("train-rle.csv");
    let text = train_csv_text(cases);
    crate::atomic::write_bytes_atomic(&path, text.as_bytes()).map_err(io("writing", &path))?;
    Ok((path, text.len() as u64))
}

/// Recursively lists `dir`'s files (none if it does not exist).
fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SynthError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("listing", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io("listing", dir))?;
        let path = entry.path();
        if entry.file_type().map_err(io("inspecting", &path))?.is_dir() {
            list_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Removes temporary files left by an interrupted run and refuses DICOM files this dataset
/// would not write (they would become unlabelled or wrong images).
fn check_existing(opts: &SynthOptions) -> Result<(), SynthError> {
    for (split, n) in [(Split::Train, opts.n_train), (Split::Test, opts.n_test)] {
        let mut found = Vec::new();
        list_files(&opts.out.join(split.dir_name()), &mut found)?;
        if found.is_empty() {
            continue;
        }
        let expected: std::collections::HashSet<PathBuf> = (0..n)
            .map(|i| case_path(&opts.out, split, &CaseIds::new(opts.seed, split, i)))
            .collect();
        for path in found {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && name.contains(".tmp-") {
                // Left by an interrupted write (crate::atomic's temp naming).
                fs::remove_file(&path).map_err(io("removing stale temporary file", &path))?;
            } else if !expected.contains(&path) {
                return Err(SynthError::StaleFile {
                    path,
                    out: opts.out.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Validates the options and prepares `opts.out` (created; interrupted-run leftovers removed;
/// DICOMs of another dataset refused). Callers that write cases in parallel with [`write_case`]
/// call this first and [`write_train_csv`] last.
pub fn prepare_output(opts: &SynthOptions) -> Result<(), SynthError> {
    opts.validate()?;
    fs::create_dir_all(&opts.out).map_err(io("creating directory", &opts.out))?;
    check_existing(opts)
}

/// Writes the whole dataset (train DICOMs, test DICOMs, then `train-rle.csv`), single-threaded.
pub fn write_dataset(opts: &SynthOptions) -> Result<SynthSummary, SynthError> {
    prepare_output(opts)?;
    let mut bytes = 0u64;
    let mut train = Vec::with_capacity(opts.n_train);
    for i in 0..opts.n_train {
        let c = write_case(opts, Split::Train, i)?;
        bytes += c.bytes;
        train.push(c);
    }
    let mut test_positive = 0;
    for i in 0..opts.n_test {
        let c = write_case(opts, Split::Test, i)?;
        bytes += c.bytes;
        test_positive += usize::from(!c.rles.is_empty());
    }
    let (csv, csv_bytes) = write_train_csv(&opts.out, &train)?;
    Ok(SynthSummary {
        out: opts.out.clone(),
        csv,
        n_train: opts.n_train,
        n_test: opts.n_test,
        train_positive: train.iter().filter(|c| !c.rles.is_empty()).count(),
        train_objects: train.iter().map(|c| c.rles.len()).sum(),
        test_positive,
        bytes_written: bytes + csv_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::dicom_writer::DicomTransferSyntax;
    use crate::synth::is_positive_index;
    use dicom_dictionary_std::tags;
    use dicom_pixeldata::PixelDecoder;

    fn all_files(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        list_files(out, &mut files).expect("list");
        files.sort();
        files
            .into_iter()
            .map(|p| (p.clone(), fs::read(&p).expect("read")))
            .collect()
    }

    #[test]
    fn layout_csv_and_dicoms_match_the_generator() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("siim");
        // A seed whose first 12 train cases include at least two positives.
        let seed = (0..)
            .find(|&s| {
                (0..12)
                    .filter(|&i| is_positive_index(s, Split::Train, i))
                    .count()
                    >= 2
            })
            .expect("some seed has positives");
        let opts = SynthOptions {
            n_train: 12,
            n_test: 3,
            size: 64,
            seed,
            ..SynthOptions::new(&out)
        };
        let s = write_dataset(&opts).expect("write dataset");
        assert_eq!((s.n_train, s.n_test), (12, 3));
        let csv = fs::read_to_string(&s.csv).expect("csv");
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("ImageId, EncodedPixels"));
        let rows: Vec<(&str, &str)> = lines
            .map(|l| l.split_once(", ").expect("`id, value` row"))
            .collect();
        assert_eq!(rows.len(), 12 - s.train_positive + s.train_objects);
        let expected_pos = (0..12)
            .filter(|&i| generate_case(seed, Split::Train, i, 64).is_positive())
            .count();
        assert_eq!(s.train_positive, expected_pos);
        assert!(s.train_objects >= 2);
        for i in 0..12 {
            let case = generate_case(seed, Split::Train, i, 64);
            let path = case_path(&out, Split::Train, &case.ids);
            let parts: Vec<String> = path
                .strip_prefix(&out)
                .expect("under out")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            assert_eq!(parts[0], "dicom-images-train");
            assert_eq!(parts[3], format!("{}.dcm", case.image_id()));
            // The CSV rows of this case decode back to its object masks, in order.
            let mine: Vec<&str> = rows
                .iter()
                .filter(|r| r.0 == case.image_id())
                .map(|r| r.1)
                .collect();
            if case.objects.is_empty() {
                assert_eq!(mine, vec!["-1"]);
            } else {
                assert_eq!(mine.len(), case.objects.len());
                for (r, m) in mine.iter().zip(&case.objects) {
                    assert_eq!(&rle::decode(r, 64, 64, 1).expect("valid RLE"), m);
                }
            }
            // The file parses and holds the generated pixels.
            let obj = dicom_object::open_file(&path).expect("parse");
            let sop = obj
                .element(tags::SOP_INSTANCE_UID)
                .expect("sop")
                .to_str()
                .expect("str");
            assert_eq!(sop.trim_end_matches('\0'), case.image_id());
            let px: Vec<u8> = obj
                .decode_pixel_data()
                .expect("decode")
                .to_vec()
                .expect("u8");
            assert_eq!(px, case.image);
        }
        let test_files: Vec<_> = all_files(&out.join("dicom-images-test"))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(test_files.len(), 3);
        for i in 0..3 {
            let ids = CaseIds::new(seed, Split::Test, i);
            assert!(test_files.contains(&case_path(&out, Split::Test, &ids)));
            assert!(
                !csv.contains(&ids.sop_instance_uid),
                "test ids have no label rows"
            );
        }
    }

    #[test]
    fn rerun_is_byte_identical_and_seed_changes_output() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("a");
        let opts = SynthOptions {
            n_train: 6,
            n_test: 2,
            size: 48,
            seed: 1,
            ..SynthOptions::new(&out)
        };
        write_dataset(&opts).expect("first run");
        let first = all_files(&out);
        // A crash leftover is cleaned up; everything is rewritten identically.
        let leftover = first[0].0.with_file_name(".x.dcm.tmp-1");
        fs::write(&leftover, b"partial").expect("leftover");
        write_dataset(&opts).expect("second run");
        assert_eq!(first, all_files(&out));

        let other = tmp.path().join("b");
        write_dataset(&SynthOptions {
            seed: 2,
            out: other.clone(),
            ..opts.clone()
        })
        .expect("seed 2");
        let second = all_files(&other);
        let csv_a = &first
            .iter()
            .find(|f| f.0.ends_with("train-rle.csv"))
            .expect("csv")
            .1;
        let csv_b = &second
            .iter()
            .find(|f| f.0.ends_with("train-rle.csv"))
            .expect("csv")
            .1;
        assert_ne!(csv_a, csv_b);

        // Writing another seed into the first directory is refused, naming a foreign file.
        let err = write_dataset(&SynthOptions { seed: 2, ..opts }).expect_err("stale files");
        assert!(matches!(err, SynthError::StaleFile { .. }), "{err}");
    }

    #[test]
    fn jpeg_and_implicit_datasets_are_readable() {
        for ts in [
            DicomTransferSyntax::JpegBaseline,
            DicomTransferSyntax::ImplicitVrLittleEndian,
        ] {
            let tmp = tempfile::tempdir().expect("temp dir");
            let out = tmp.path().to_path_buf();
            let mut opts = SynthOptions {
                n_train: 2,
                n_test: 1,
                size: 64,
                seed: 3,
                ..SynthOptions::new(&out)
            };
            opts.dicom.transfer_syntax = ts;
            write_dataset(&opts).expect("write");
            let case = generate_case(3, Split::Train, 0, 64);
            let obj =
                dicom_object::open_file(case_path(&out, Split::Train, &case.ids)).expect("parse");
            assert_eq!(
                obj.meta().transfer_syntax().trim_end_matches('\0'),
                ts.uid()
            );
            let px: Vec<u8> = obj
                .decode_pixel_data()
                .expect("decode")
                .to_vec()
                .expect("u8");
            let mae = px
                .iter()
                .zip(&case.image)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
                .sum::<i32>() as f64
                / px.len() as f64;
            assert!(mae < 3.0, "{ts:?}: mean abs error {mae}");
        }
    }

    #[test]
    fn bad_size_is_rejected_with_its_value() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let err = write_dataset(&SynthOptions {
            size: 4,
            ..SynthOptions::new(tmp.path())
        })
        .expect_err("size");
        assert!(err.to_string().contains("size = 4"), "{err}");
    }
}
