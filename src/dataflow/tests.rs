//! In-process tests of the operators and graphs at 1, 2 and 3 workers, without the binary:
//! outputs are captured from the runner and compared with the data layer's own functions.

use super::augment::{run_augment, AugmentJob};
use super::batch::{BatchError, BatchOutput, BatchSamples};
use super::runner::{run_dataflow, Execution};
use super::sample::{SampleRecords, SampleRequest};
use super::write_shards::WriteEvent;
use crate::augment::{AugmentConfig, ImageU8};
use crate::data::writer::{manifest_from_shards, plan_output, ShardOutcome};
use crate::data::BufferPool;
use crate::data::{augmented_copy, Dataset, RecordError, RecordOrigin, Stage};
use data_prep::folds::Fold;
use data_prep::ingest::shard_ranges;
use data_prep::shard::{encode_record, write_shard, Decoder, Record, RecordMeta, ShardSet, Split};
use std::path::Path;
use std::sync::Arc;
use timely::dataflow::operators::vec::Map;

/// A small dataset in `dir`: `n` records of 24x20 (ids `r00`, `r01`, ...), every third a test
/// record, masks on the others, in shards of 4.
fn tiny_dataset(dir: &Path, n: usize) -> ShardSet {
    std::fs::create_dir_all(dir).unwrap();
    let (w, h) = (24usize, 24usize);
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let test = i % 3 == 2;
            Record {
                meta: RecordMeta {
                    id: format!("r{i:02}"),
                    split: if test { Split::Test } else { Split::Train },
                    height: h as u32,
                    width: w as u32,
                    orig_height: h as u32,
                    orig_width: w as u32,
                    label: (!test).then_some(i % 2 == 0),
                    fold: if test {
                        Fold::Unassigned
                    } else {
                        Fold::Index((i % 5) as u8)
                    },
                    n_objects: u16::from(!test && i % 2 == 0),
                },
                image: (0..w * h).map(|p| ((p * 7 + i * 31) % 251) as u8).collect(),
                mask: (!test).then(|| {
                    (0..w * h)
                        .map(|p| if i % 2 == 0 && p % w < 6 { 255 } else { 0 })
                        .collect()
                }),
            }
        })
        .collect();
    let ranges = shard_ranges(n, 4);
    for (k, r) in ranges.iter().enumerate() {
        let enc: Vec<_> = records[r.clone()]
            .iter()
            .map(|rec| encode_record(rec, 1).unwrap())
            .collect();
        write_shard(
            &dir.join(data_prep::shard::shard_file_name(k)),
            &enc,
            k as u64,
        )
        .unwrap();
    }
    let files: Vec<String> = (0..ranges.len())
        .map(data_prep::shard::shard_file_name)
        .collect();
    manifest_from_shards(dir, 24, &files, serde_json::json!({"test": true}))
        .unwrap()
        .save(dir)
        .unwrap();
    ShardSet::open(dir).unwrap()
}

fn pipeline() -> crate::augment::Pipeline {
    AugmentConfig::from_toml_str(
        r#"
[[transforms]]
type = "HorizontalFlip"
p = 0.5
[[transforms]]
type = "ShiftScaleRotate"
p = 0.7
[[transforms]]
type = "RandomGamma"
p = 0.5
"#,
        "test",
    )
    .unwrap()
    .build()
    .unwrap()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn augment_graph_output_is_worker_independent_and_equals_the_data_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tiny_dataset(&tmp.path().join("in"), 11);
    let dataset = Arc::new(Dataset::new(set).with_augment(pipeline(), 5));
    let copies = 2;
    let ranges = shard_ranges(dataset.len() * copies, 5);
    let fingerprints: Vec<u64> = (0..ranges.len() as u64).collect();
    let mut outputs = Vec::new();
    for workers in [1, 2, 3] {
        let out = tmp.path().join(format!("out{workers}"));
        let plan = plan_output(&out, &ranges, &fingerprints, false).unwrap();
        plan.prepare().unwrap();
        let job = AugmentJob {
            dataset: Arc::clone(&dataset),
            copies,
            level: 1,
            tasks: Arc::new(plan.tasks.clone()),
        };
        let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c = Arc::clone(&counted);
        let outcomes = run_augment(&Execution::threads(workers), job, move |n| {
            c.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(counted.load(std::sync::atomic::Ordering::Relaxed), 22);
        assert_eq!(outcomes.len(), ranges.len());
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, ShardOutcome::Written { .. })));
        plan.finish(&outcomes, 24, serde_json::json!({})).unwrap();
        outputs.push(files(&out));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);

    // Every output record is the data layer's copy k of its source record.
    let out = ShardSet::open(&tmp.path().join("out1")).unwrap();
    let mut dec = Decoder::new();
    for j in 0..out.len() {
        let got = out.read(j, &mut dec).unwrap();
        let want = augmented_copy(&dataset, j / copies, j % copies, &mut dec).unwrap();
        assert_eq!(got, want, "record {j}");
    }
}

#[test]
fn batches_hold_consecutive_positions_whatever_the_worker_count() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tiny_dataset(&tmp.path().join("in"), 10);
    let dataset = Arc::new(Dataset::new(set).with_augment(pipeline(), 1));
    let total = 10;
    let run = |workers: usize| -> Vec<BatchOutput> {
        let ds = Arc::clone(&dataset);
        let mut out = run_dataflow(
            &Execution::threads(workers),
            Arc::new((0..total).collect::<Vec<usize>>()),
            move |_info, positions| {
                positions
                    .map(|p: usize| SampleRequest {
                        position: p,
                        index: (p * 3) % 10,
                        epoch: 2,
                    })
                    .sample_records(Arc::clone(&ds))
                    .batch_samples(4, total, BufferPool::new(8))
            },
            |_: &BatchOutput| {},
        )
        .unwrap();
        out.sort_by_key(|b| b.number);
        out
    };
    let one = run(1);
    assert_eq!(one.len(), 3);
    let sizes: Vec<usize> = one
        .iter()
        .map(|b| b.batch.as_ref().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    let first = one[1].batch.as_ref().unwrap();
    assert_eq!(first.positions(), &[4, 5, 6, 7]);
    let mut dec = Decoder::new();
    for (i, &p) in first.positions().iter().enumerate() {
        let s = dataset.sample((p * 3) % 10, 2, &mut dec).unwrap();
        assert_eq!(first.image(i), s.image.data());
        assert_eq!(first.metas()[i].id, s.meta.id);
    }
    assert_eq!(run(2), one);
    assert_eq!(run(3), one);
}

#[test]
fn a_failed_record_fails_its_shard_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let set = tiny_dataset(&dir, 8);
    // Corrupt one payload byte of record 5 (shard 1, slot 1).
    let shard = set.shards()[1].path().to_path_buf();
    drop(set);
    let mut bytes = std::fs::read(&shard).unwrap();
    // Payloads are packed from DATA_START; slot 1 starts after slot 0's (level-1) payload.
    let first_len = {
        let s = data_prep::shard::ShardFile::open(&shard).unwrap();
        let r0 = encode_record(&s.read(0, &mut Decoder::new()).unwrap(), 1).unwrap();
        r0.payload.len()
    };
    bytes[data_prep::shard::format::DATA_START as usize + first_len + 3] ^= 0xff;
    std::fs::write(&shard, &bytes).unwrap();
    let dataset = Arc::new(Dataset::open(&dir).unwrap());
    let ranges = shard_ranges(8, 3);
    let out = tmp.path().join("out");
    let plan = plan_output(&out, &ranges, &[1, 2, 3], false).unwrap();
    plan.prepare().unwrap();
    let job = AugmentJob {
        dataset,
        copies: 1,
        level: 1,
        tasks: Arc::new(plan.tasks.clone()),
    };
    let outcomes = run_augment(&Execution::threads(2), job, |_| {}).unwrap();
    let failed: Vec<&RecordError> = outcomes
        .iter()
        .filter_map(|o| match o {
            ShardOutcome::RecordsFailed { errors, .. } => Some(errors),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(failed.len(), 1, "{outcomes:?}");
    assert_eq!(failed[0].stage, Stage::Read);
    assert_eq!(failed[0].origin.id(), "r05");
    assert!(
        failed[0]
            .to_string()
            .contains("shard-00001.pfs: record 1 (r05): read failed: checksum mismatch"),
        "{}",
        failed[0]
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, ShardOutcome::Written { .. }))
            .count(),
        2
    );
    let finished = plan.finish(&outcomes, 24, serde_json::json!({}));
    assert!(matches!(
        finished,
        Err(crate::data::DataError::Records { .. })
    ));
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn exchanged_types_survive_binary_encoding() {
    // Across processes, timely encodes records with bincode, which cannot read self-described
    // values: every type that crosses an exchange must round-trip.
    fn round_trip<
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    >(
        v: T,
    ) {
        let bytes = bincode::serialize(&v).unwrap();
        let back: T = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back, v);
    }
    let meta = RecordMeta {
        id: "a".into(),
        split: Split::Train,
        height: 2,
        width: 2,
        orig_height: 4,
        orig_width: 4,
        label: Some(true),
        fold: Fold::AlwaysTrain,
        n_objects: 1,
    };
    let rec = Record {
        meta: meta.clone(),
        image: vec![1, 2, 3, 4],
        mask: Some(vec![0, 255, 0, 0]),
    };
    let error = RecordError::new(
        RecordOrigin::File {
            path: "x.dcm".into(),
            id: "a".into(),
        },
        Stage::Decode,
        &"bad",
    );
    round_trip((
        3usize,
        Ok::<_, RecordError>(encode_record(&rec, 1).unwrap()),
    ));
    round_trip((
        4usize,
        Err::<data_prep::shard::EncodedRecord, _>(error.clone()),
    ));
    for fold in [Fold::Index(3), Fold::AlwaysTrain, Fold::Unassigned] {
        round_trip(fold);
    }
    round_trip(WriteEvent::Received(7));
    round_trip(WriteEvent::Shard(ShardOutcome::RecordsFailed {
        number: 1,
        errors: vec![error.clone()],
    }));
    round_trip(SampleRequest {
        position: 1,
        index: 2,
        epoch: 3,
    });
    let sample = crate::data::Sample {
        meta,
        image: ImageU8::from_vec(2, 2, vec![1, 2, 3, 4]).unwrap(),
        mask: None,
    };
    round_trip((0usize, Ok::<_, RecordError>(sample)));
    round_trip(BatchOutput {
        number: 0,
        batch: Err(BatchError::Records(vec![error])),
    });
}
