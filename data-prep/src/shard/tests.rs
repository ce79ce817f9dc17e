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
        record("a", 16, 12, Split::Train, true),
        record("b", 16, 12, Split::Train, false),
        record("c", 16, 12, Split::Test, false),
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
    assert_eq!(set.shards()[0].raw_len(), 2 * 192 + 192);
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
    assert!(err.contains("record 1 (b) does not match"), "{err}");
}

#[test]
fn missing_manifest_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = ShardSet::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("manifest.json"), "{err}");
}
