//! Shard round trip, resumable-write and corruption-detection tests.

use super::*;
use crate::folds::Fold;

fn record(id: &str, h: u32, w: u32, split: Split, positive: bool) -> Record {
    let n = (h * w) as usize;
    let image: Vec<u8> = (0..n)
        .map(|i| ((i * 7 + id.len() * 13) % 251) as u8)
        .collect();
    let mask = match split {
        Split::Test => None,
        Split::Train => Some(
            (0..n)
                .map(|i| if positive && i % 5 < 2 { 255 } else { 0 })
                .collect(),
        ),
    };
    let meta = RecordMeta {
        id: id.into(),
        split,
        height: h,
        width: w,
        orig_height: 2 * h,
        orig_width: 2 * w,
        label: (split == Split::Train).then_some(positive),
        fold: if split == Split::Train {
            Fold::Index(1)
        } else {
            Fold::Unassigned
        },
        n_objects: u16::from(positive),
    };
    Record { meta, image, mask }
}

fn write_set(dir: &Path, recs: &[Record]) -> Manifest {
    let enc: Vec<EncodedRecord> = recs
        .iter()
        .map(|r| encode_record(r, DEFAULT_LEVEL).unwrap())
        .collect();
    let mut m = Manifest::new(recs[0].meta.height, serde_json::json!({"test": true}));
    for (k, chunk) in enc.chunks(2).enumerate() {
        let file = shard_file_name(k);
        let s = write_shard(&dir.join(&file), chunk, 1000 + k as u64).unwrap();
        m.shards.push(ShardInfo {
            file,
            records: s.records,
            bytes: s.bytes,
            raw_bytes: s.raw_bytes,
            fingerprint: 1000 + k as u64,
        });
        for (slot, r) in chunk.iter().enumerate() {
            m.records
                .push(ManifestRecord::new(&r.meta, k as u32, slot as u32));
        }
    }
    m.save(dir).unwrap();
    m
}

fn sample() -> Vec<Record> {
    vec![
        record("a", 16, 16, Split::Train, true),
        record("b", 16, 16, Split::Train, false),
        record("c", 16, 16, Split::Test, false),
    ]
}

#[test]
fn round_trip_preserves_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let recs = sample();
    write_set(dir.path(), &recs);
    let set = ShardSet::open(dir.path()).unwrap();
    assert_eq!(set.len(), 3);
    let mut dec = Decoder::new();
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(&set.read(i, &mut dec).unwrap(), r, "record {i}");
    }
    assert_eq!(set.position("c").unwrap(), 2);
    assert!(matches!(set.position("zz"), Err(ShardError::UnknownId(_))));
    // The all-zero mask of the negative is not stored but comes back as zeros.
    assert_eq!(set.shards()[0].raw_len(), 2 * 256 + 256);
}

#[test]
fn an_empty_mask_vector_is_an_all_zero_mask() {
    // the shorthand encodes to the same bytes as the zeros and reads back as the zeros
    let zeros = record("b", 16, 16, Split::Train, false);
    let mut short = zeros.clone();
    short.mask = Some(Vec::new());
    let (a, b) = (
        encode_record(&zeros, DEFAULT_LEVEL).unwrap(),
        encode_record(&short, DEFAULT_LEVEL).unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(b.mask, MaskKind::Empty);
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &[short]);
    let set = ShardSet::open(dir.path()).unwrap();
    assert_eq!(set.read(0, &mut Decoder::new()).unwrap(), zeros);
    // a mask of any other wrong length is still refused
    let mut bad = zeros;
    bad.mask = Some(vec![0; 5]);
    assert!(encode_record(&bad, DEFAULT_LEVEL).is_err());
}

#[test]
fn payloads_larger_and_smaller_than_the_write_buffer_round_trip_in_order() {
    // Noise does not compress: a 640^2 payload is over the write buffer (written directly),
    // the 16^2 ones are gathered in the buffer; both kinds interleaved in one shard.
    let noisy = |id: &str, seed: u32| {
        let mut r = record(id, 640, 640, Split::Train, true);
        let mut x = seed;
        for v in &mut r.image {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (x >> 24) as u8;
        }
        r
    };
    let recs = [
        record("s0", 16, 16, Split::Train, true),
        noisy("big0", 1),
        noisy("big1", 2),
        record("s1", 16, 16, Split::Train, false),
        noisy("big2", 3),
    ];
    let enc: Vec<EncodedRecord> = (recs.iter())
        .map(|r| encode_record(r, DEFAULT_LEVEL).unwrap())
        .collect();
    let buffer = writer::WRITE_BUFFER;
    assert!(enc[1].payload.len() > buffer && enc[0].payload.len() < buffer);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(shard_file_name(0));
    write_shard(&path, &enc, 7).unwrap();
    let shard = ShardFile::open(&path).unwrap();
    let mut dec = Decoder::new();
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(&shard.read(i, &mut dec).unwrap(), r, "record {i}");
    }
}

/// `record` with 2 bytes per pixel (an f16 map's bytes).
fn wide(id: &str, split: Split, positive: bool) -> Record {
    let mut r = record(id, 8, 8, split, positive);
    r.image = (0..128).map(|i| (i * 29 % 256) as u8).collect();
    r
}

#[test]
fn two_byte_pixels_round_trip_and_a_dataset_holds_one_kind() {
    let dir = tempfile::tempdir().unwrap();
    let recs = vec![
        wide("a", Split::Train, true),
        wide("b", Split::Train, false),
        wide("c", Split::Test, false),
    ];
    write_set(dir.path(), &recs);
    let set = ShardSet::open(dir.path()).unwrap();
    assert_eq!(set.pixel_bytes(), 2);
    let mut dec = Decoder::new();
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(&set.read(i, &mut dec).unwrap(), r, "record {i}");
    }
    // image 128 + stored mask 64, image 128, image 128
    assert_eq!(set.shards()[0].raw_len(), 128 + 64 + 128);
    // An odd image length is refused by the writer.
    let mut odd = record("d", 8, 8, Split::Test, false);
    odd.image.push(0);
    let err = encode_record(&odd, 1).unwrap_err().to_string();
    assert!(err.contains("image has 65 bytes"), "{err}");

    let mixed = tempfile::tempdir().unwrap();
    write_set(
        mixed.path(),
        &[
            record("a", 8, 8, Split::Train, true),
            wide("b", Split::Test, false),
        ],
    );
    let err = ShardSet::open(mixed.path()).err().unwrap().to_string();
    assert!(
        err.contains("record 1 (b)") && err.contains("2-byte pixels") && err.contains("1-byte"),
        "{err}"
    );
    assert_eq!(
        ShardSet::open(dir.path()).unwrap().pixel_bytes(),
        2,
        "reopened"
    );
}

#[test]
fn payload_corruption_names_shard_record_and_id() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &sample());
    let path = dir.path().join(shard_file_name(0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[format::DATA_START as usize + 3] ^= 0x40; // inside record 0's payload
    std::fs::write(&path, &bytes).unwrap();
    let set = ShardSet::open(dir.path()).unwrap();
    let err = set.read(0, &mut Decoder::new()).unwrap_err().to_string();
    assert!(
        err.contains("shard-00000.pfs") && err.contains("record 0 (a)") && err.contains("checksum"),
        "{err}"
    );
    assert!(
        set.read(1, &mut Decoder::new()).is_ok(),
        "other records stay readable"
    );
    assert!(set.shards()[0].verify(&mut Decoder::new()).is_err());
}

#[test]
fn index_and_header_corruption_are_detected_on_open() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &sample());
    let path = dir.path().join(shard_file_name(0));
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 3] ^= 1; // id table
    std::fs::write(&path, &bad).unwrap();
    assert!(ShardFile::open(&path)
        .err()
        .unwrap()
        .to_string()
        .contains("index checksum"));
    std::fs::write(&path, &good[..n - 10]).unwrap(); // truncated
    assert!(ShardFile::open(&path)
        .err()
        .unwrap()
        .to_string()
        .contains("index bounds"));
    let mut bad = good.clone();
    bad[17] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert!(ShardFile::open(&path)
        .err()
        .unwrap()
        .to_string()
        .contains("header checksum"));
}

#[test]
fn manifest_disagreeing_with_shard_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = write_set(dir.path(), &sample());
    m.records[1].label = Some(true);
    m.save(dir.path()).unwrap();
    let err = ShardSet::open(dir.path()).err().unwrap().to_string();
    assert!(
        err.ends_with(
            "record 1 (b): does not match shard-00000.pfs slot 1: the manifest says id b \
             train label positive fold 1 16x16 (original 32x32) 0 object(s), the \
             shard says id b train label negative fold 1 16x16 (original 32x32) 0 \
             object(s)"
        ),
        "{err}"
    );
}

/// Writes the sample set, lets `edit` change its manifest, and returns `ShardSet::open`'s error.
fn open_after(edit: impl FnOnce(&mut Manifest)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut m = write_set(dir.path(), &sample());
    edit(&mut m);
    m.save(dir.path()).unwrap();
    let err = ShardSet::open(dir.path()).err().expect("open must fail");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}: bad manifest: ",
            dir.path().join(MANIFEST_FILE).display()
        )),
        "{msg}"
    );
    msg.split_once("bad manifest: ").unwrap().1.to_string()
}

#[test]
fn manifest_missing_a_record_is_rejected_naming_the_slot() {
    let msg = open_after(|m| {
        m.records.remove(1);
    });
    assert_eq!(
        msg,
        "shard-00000.pfs slot 1 (b) is not listed in the manifest (1 unlisted slot(s) in that shard)"
    );
}

#[test]
fn manifest_listing_a_slot_twice_or_past_the_shard_is_rejected() {
    let msg = open_after(|m| {
        m.records[1].slot = 0;
        m.records[1].id = "a".into();
    });
    assert_eq!(
        msg,
        "record 1 (a): shard-00000.pfs slot 0 is also listed by record 0 (a)"
    );
    let msg = open_after(|m| m.records[2].slot = 5);
    assert_eq!(
        msg,
        "record 2 (c): names slot 5 of shard-00001.pfs, which holds 1 records"
    );
    let msg = open_after(|m| m.records[2].shard = 9);
    assert_eq!(
        msg,
        "record 2 (c): names shard 9, but the manifest lists 2 shards"
    );
}

#[test]
fn manifest_shard_sizes_must_equal_the_shards() {
    let msg = open_after(|m| m.shards[0].bytes += 1);
    assert!(
        msg.starts_with("shards[0] (shard-00000.pfs): bytes is ")
            && msg.contains("in the manifest, but the shard's header and index say"),
        "{msg}"
    );
    let msg = open_after(|m| m.shards[1].raw_bytes = 7);
    assert_eq!(
        msg,
        "shards[1] (shard-00001.pfs): raw_bytes is 7 in the manifest, but the shard's header and \
         index say 256"
    );
    let msg = open_after(|m| m.shards[1].records = 2);
    assert!(msg.contains("records is 2 in the manifest"), "{msg}");
    let msg = open_after(|m| m.shards[0].fingerprint = 1);
    assert!(
        msg.contains("fingerprint is 0000000000000001 in the manifest")
            && msg.contains("00000000000003e8"),
        "{msg}"
    );
}

#[test]
fn manifest_size_must_equal_every_record() {
    let msg = open_after(|m| m.size = 64);
    assert_eq!(
        msg,
        "record 0 (a): shard-00000.pfs slot 0 is 16x16 (height x width), but the manifest size is 64"
    );
}

#[test]
fn shard_file_names_must_be_plain_names_in_the_directory() {
    for bad in [
        "../elsewhere/x.pfs",
        "/abs/shard-00000.pfs",
        "sub/shard-00000.pfs",
        "..",
        ".",
        "",
        "a\\b.pfs",
    ] {
        let msg = open_after(|m| m.shards[0].file = bad.into());
        assert_eq!(
            msg,
            format!(
                "shards[0].file {bad:?} must be a plain file name inside the dataset directory (no \
                 path separators, no \"..\", not absolute)"
            )
        );
    }
    let msg = open_after(|m| m.shards[1].file = m.shards[0].file.clone());
    assert_eq!(
        msg,
        "shards[1].file \"shard-00000.pfs\" is also shards[0]; each shard is listed once"
    );
}

#[test]
fn a_missing_or_corrupt_shard_names_the_manifest_and_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &sample());
    let shard = dir.path().join(shard_file_name(1));
    std::fs::write(&shard, b"PNFSHARD").unwrap();
    let err = ShardSet::open(dir.path()).err().unwrap().to_string();
    assert_eq!(
        err,
        format!(
            "{}: shards[1]: {}: corrupt shard: file is 8 bytes, shorter than the 72-byte header",
            dir.path().join(MANIFEST_FILE).display(),
            shard.display()
        )
    );
    std::fs::remove_file(&shard).unwrap();
    let err = ShardSet::open(dir.path()).err().unwrap().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: shards[1]: {}: ",
            dir.path().join(MANIFEST_FILE).display(),
            shard.display()
        )),
        "{err}"
    );
}

#[test]
fn out_of_range_reads_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), &sample());
    let set = ShardSet::open(dir.path()).unwrap();
    let mut dec = Decoder::new();
    assert_eq!(
        set.read(3, &mut dec).unwrap_err().to_string(),
        "no record at index 3; the dataset holds 3"
    );
    let err = set.shards()[1].read(1, &mut dec).unwrap_err().to_string();
    assert!(
        err.ends_with("shard-00001.pfs: no record at slot 1; the shard holds 1"),
        "{err}"
    );
}

#[test]
fn missing_manifest_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = ShardSet::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("manifest.json"), "{err}");
}

mod proptests {
    //! Random and mutated shard files and manifests: `ShardFile::open`, `ShardSet::open` and
    //! reading every record return an error or valid records, never panic, and never allocate
    //! out of proportion to the files.
    use super::*;
    use crate::test_alloc::largest_allocation;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// The bytes of a valid two-record shard (positive train, test) and of its manifest.
    fn valid_files() -> &'static (Vec<u8>, Vec<u8>) {
        static FILES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        FILES.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let recs = vec![
                record("a", 8, 8, Split::Train, true),
                record("bb", 8, 8, Split::Test, false),
            ];
            write_set(dir.path(), &recs);
            (
                std::fs::read(dir.path().join(shard_file_name(0))).unwrap(),
                std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap(),
            )
        })
    }

    /// Every record of `shard`, checked for consistency when read.
    fn read_all(shard: &ShardFile) -> Result<(), TestCaseError> {
        let mut dec = Decoder::new();
        for slot in 0..shard.len() {
            if let Ok(r) = shard.read(slot, &mut dec) {
                let n = (r.meta.height * r.meta.width) as usize;
                prop_assert_eq!(r.image.len(), n);
                if let Some(m) = &r.mask {
                    prop_assert_eq!(m.len(), n);
                }
            }
        }
        Ok(())
    }

    /// Writes `bytes` as a shard and opens and reads it; bounded allocation.
    fn check_shard(bytes: &[u8]) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.pfs");
        std::fs::write(&path, bytes).unwrap();
        let (r, max) = largest_allocation(|| -> Result<(), TestCaseError> {
            match ShardFile::open(&path) {
                Ok(shard) => read_all(&shard),
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.contains("s.pfs"), "{}", msg);
                    Ok(())
                }
            }
        });
        r?;
        prop_assert!(
            max <= 64 * bytes.len() + (1 << 20),
            "allocated {} bytes for a {}-byte shard",
            max,
            bytes.len()
        );
        Ok(())
    }

    /// Writes the valid shard and `manifest` as a dataset, opens it and reads every record.
    fn check_manifest(manifest: &[u8]) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(shard_file_name(0)), &valid_files().0).unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), manifest).unwrap();
        let (r, max) = largest_allocation(|| -> Result<(), TestCaseError> {
            match ShardSet::open(dir.path()) {
                Ok(set) => {
                    // An accepted manifest is the shard's truth.
                    prop_assert_eq!(set.len(), 2);
                    prop_assert_eq!(set.manifest().size, 8);
                    let mut dec = Decoder::new();
                    for i in 0..set.len() {
                        let rec = set.read(i, &mut dec);
                        prop_assert!(rec.is_ok(), "{:?}", rec.err());
                    }
                    Ok(())
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(
                        msg.contains(MANIFEST_FILE) || msg.contains(".pfs"),
                        "{}",
                        msg
                    );
                    Ok(())
                }
            }
        });
        r?;
        prop_assert!(
            max <= 64 * manifest.len() + (1 << 20),
            "allocated {} bytes",
            max
        );
        Ok(())
    }

    /// Replaces the `pick`-th leaf of `v` with `with`; returns whether a leaf was replaced.
    fn replace_leaf(v: &mut serde_json::Value, pick: &mut usize, with: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Array(a) => a.iter_mut().any(|x| replace_leaf(x, pick, with)),
            serde_json::Value::Object(o) => o.values_mut().any(|x| replace_leaf(x, pick, with)),
            leaf => {
                if *pick == 0 {
                    *leaf = with.clone();
                    true
                } else {
                    *pick -= 1;
                    false
                }
            }
        }
    }

    fn odd_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::json;
        prop_oneof![
            Just(json!(0)),
            Just(json!(1)),
            Just(json!(-1)),
            Just(json!(u64::MAX)),
            Just(json!(4_294_967_295u64)),
            Just(json!(8)),
            Just(json!(null)),
            Just(json!(true)),
            Just(json!("..")),
            Just(json!("../elsewhere/x.pfs")),
            Just(json!("/etc/passwd")),
            Just(json!("shard-00000.pfs")),
            Just(json!("a")),
            Just(json!("bb")),
            any::<u32>().prop_map(|n| json!(n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
            check_shard(&bytes)?;
        }

        #[test]
        fn random_bytes_behind_a_valid_header_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..6000),
        ) {
            let mut b = valid_files().0[..format::HEADER_LEN].to_vec();
            b.extend_from_slice(&body);
            check_shard(&b)?;
        }

        #[test]
        fn bit_flips_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..6)) {
            let mut b = valid_files().0.clone();
            for (at, bit) in flips {
                let i = at.index(b.len());
                b[i] ^= 1 << bit;
            }
            check_shard(&b)?;
        }

        #[test]
        fn truncations_and_extensions_never_panic(
            cut in any::<prop::sample::Index>(),
            tail in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let f = &valid_files().0;
            let mut b = f[..cut.index(f.len() + 1)].to_vec();
            b.extend_from_slice(&tail);
            check_shard(&b)?;
        }

        #[test]
        fn mutated_manifest_bytes_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut m = valid_files().1.clone();
            for (at, v) in edits {
                let i = at.index(m.len());
                m[i] = v;
            }
            check_manifest(&m)?;
        }

        #[test]
        fn mutated_manifest_values_are_refused_or_true(
            pick in 0usize..200,
            with in odd_value(),
        ) {
            let mut v: serde_json::Value = serde_json::from_slice(&valid_files().1).unwrap();
            let mut p = pick;
            replace_leaf(&mut v, &mut p, &with);
            check_manifest(&serde_json::to_vec(&v).unwrap())?;
        }

        #[test]
        fn manifest_with_records_dropped_or_repeated_is_refused(drop in any::<bool>(), which in 0usize..2) {
            let mut v: serde_json::Value = serde_json::from_slice(&valid_files().1).unwrap();
            let records = v["records"].as_array_mut().unwrap();
            if drop {
                records.remove(which);
            } else {
                let r = records[which].clone();
                records.push(r);
            }
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(shard_file_name(0)), &valid_files().0).unwrap();
            std::fs::write(dir.path().join(MANIFEST_FILE), serde_json::to_vec(&v).unwrap()).unwrap();
            prop_assert!(ShardSet::open(dir.path()).is_err());
        }
    }
}

#[test]
fn an_unfinished_stream_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(shard_file_name(0));
    let enc: Vec<EncodedRecord> = sample()
        .iter()
        .map(|r| encode_record(r, DEFAULT_LEVEL).unwrap())
        .collect();
    let mut stream = ShardStream::create(&path).unwrap();
    stream.append(&enc[0]).unwrap();
    assert_eq!(stream.len(), 1);
    drop(stream);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // Finished, it holds what write_shard writes.
    let mut stream = ShardStream::create(&path).unwrap();
    for e in &enc {
        stream.append(e).unwrap();
    }
    let summary = stream.finish(7).unwrap();
    let streamed = std::fs::read(&path).unwrap();
    let other = dir.path().join(shard_file_name(1));
    assert_eq!(write_shard(&other, &enc, 7).unwrap(), summary);
    assert_eq!(std::fs::read(&other).unwrap(), streamed);
    assert_eq!(ShardFile::open(&path).unwrap().len(), 3);
    // A record claiming 3 bytes per pixel is refused; the stream is broken and cannot finish.
    let late = dir.path().join(shard_file_name(2));
    let mut stream = ShardStream::create(&late).unwrap();
    let mut odd = enc[0].clone();
    odd.pixel_bytes = 3;
    let err = stream.append(&odd).unwrap_err().to_string();
    assert!(err.contains("3 bytes per pixel"), "{err}");
    assert!(stream.append(&enc[1]).is_err());
    assert!(stream.finish(1).is_err());
    assert!(!late.exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}
