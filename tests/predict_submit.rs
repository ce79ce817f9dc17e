//! `pneumoflow predict` and `pneumoflow submit` end to end on a tiny synthetic dataset:
//! out-of-fold and test prediction sets (each image by its fold's checkpoints, TTA, checkpoint
//! averaging) equal the library's predictor, identical with 1 and 2 workers, resumable;
//! the submission decodes (official RLE) to the post-processed maps, every test id once; a
//! corrupted prediction shard is a clear error; `export --overlay` draws a prediction.

use crate::cli_util::{bin, prepped, run_err, run_ok, shard_files};
use data_prep::shard::{Decoder, ShardSet, Split};
use pneumoflow::data::predictions::{open_prediction_set, prediction_record, MapEncoding};
use pneumoflow::data::{Dataset, HostBatch};
use pneumoflow::model::{ModelKind, Net};
use pneumoflow::predict::Predictor;
use pneumoflow::submit::{PostProcess, SubmitConfig};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

const SIZE: usize = 128;
const NET: usize = 64;

/// 12 train + 4 test images at 128², 3 folds; a fake run directory with two checkpoints for fold
/// 0 and one for fold 1 (randomly initialised networks); the pipeline file.
fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let shards = prepped(dir, (12, 4, SIZE, 21), 2);
    let run = dir.join("run");
    for (k, f) in [
        "fold0/part0/epoch001.safetensors",
        "fold0/part0/epoch004.safetensors",
        "fold1/part1/epoch002.safetensors",
    ]
    .iter()
    .enumerate()
    {
        tch::manual_seed(100 + k as i64);
        let path = run.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        Net::new(ModelKind::Albunet, Device::Cpu)
            .save(&path)
            .unwrap();
    }
    let pipeline = dir.join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"
[data]
shards = "{}"

[model]
arch = "albunet"

[train]
folds = [0, 1]
batch_size = 2

[[train.parts]]
lr = 1e-4
sample_rate = 0.5
epochs = 1
early_stopping = 5
top_k = 1
loss = {{ bce = 1, dice = 1, focal = 1 }}
scheduler = {{ type = "cosine", t_max = 4, eta_min = 1e-6 }}

[predict]
size = {NET}
batch_size = 3
tta = true

[submit]
top = 0.5
area = 20
bottom = 0.45
area_resolution = 128
output_size = 1024
"#,
            shards.display()
        ),
    )
    .unwrap();
    (shards, run, pipeline)
}

fn predict(pipeline: &Path, run: &Path, out: &Path, workers: &str) -> std::process::Output {
    predict_with(
        pipeline,
        run,
        out,
        &["--workers", workers, "--threads", "1"],
    )
}

/// `pneumoflow predict PIPELINE --run-dir RUN --out OUT ARGS...`.
fn predict_with(pipeline: &Path, run: &Path, out: &Path, args: &[&str]) -> std::process::Output {
    run_ok(
        bin()
            .arg("predict")
            .arg(pipeline)
            .arg("--run-dir")
            .arg(run)
            .arg("--out")
            .arg(out)
            .args(args),
    )
}

/// The setup's `[submit]` as a config (at 1024²).
fn submit_config() -> SubmitConfig {
    SubmitConfig {
        top: 0.5,
        area: 20.0,
        bottom: 0.45,
        min_contour_area: 0.0,
        use_contours: false,
        leak: None,
        area_resolution: Some(128),
        output_size: 1024,
        predictions: "test-top".into(),
        out: None,
    }
}

/// The stored record of source record `index`, computed with the library's predictor alone.
fn expected_record(
    source: &Dataset,
    resized: &Dataset,
    index: usize,
    groups: &[Vec<PathBuf>],
    group: usize,
    encoding: MapEncoding,
) -> data_prep::shard::Record {
    let predictor = Predictor::load(ModelKind::Albunet, Device::Cpu, groups, true).unwrap();
    let mut dec = Decoder::new();
    let sample = resized.sample(index, 0, &mut dec).unwrap();
    let mut batch = HostBatch::new(NET, NET, 1);
    batch.push(0, &sample).unwrap();
    let map = predictor.predict(&batch, &[group]).unwrap();
    prediction_record(
        source.read(index, &mut dec).unwrap(),
        &map,
        NET,
        NET,
        encoding,
    )
}

#[test]
fn predictions_are_out_of_fold_worker_independent_and_resumable() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, run, pipeline) = setup(tmp.path());
    let (a, b) = (tmp.path().join("store1"), tmp.path().join("store2"));
    predict(&pipeline, &run, &a, "1");
    predict(&pipeline, &run, &b, "2");
    for set in ["valid-top", "test-top"] {
        assert_eq!(
            shard_files(&a.join(set)),
            shard_files(&b.join(set)),
            "{set}: 1 vs 2 workers"
        );
    }
    // A re-run finds both sets complete.
    let again = predict(&pipeline, &run, &a, "2");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.matches("is up to date").count(), 2, "{stderr}");

    let source = Dataset::open(&shards).unwrap();
    let resized = Dataset::open(&shards).unwrap().with_augment(
        pneumoflow::augment::load_transforms(write_resize(tmp.path())).unwrap(),
        0,
    );
    let groups = vec![
        vec![
            run.join("fold0/part0/epoch001.safetensors"),
            run.join("fold0/part0/epoch004.safetensors"),
        ],
        vec![run.join("fold1/part1/epoch002.safetensors")],
    ];
    let valid = open_prediction_set(&a.join("valid-top")).unwrap();
    let mut dec = Decoder::new();
    let mut folds_seen = Vec::new();
    for i in 0..valid.len() {
        let got = valid.read(i, &mut dec).unwrap();
        let index = source.shards().position(&got.meta.id).unwrap();
        let fold = match source.record(index).fold {
            data_prep::folds::Fold::Index(f) => f,
            other => panic!("{other:?}"),
        };
        assert!(fold <= 1, "only folds 0 and 1 are predicted");
        folds_seen.push(fold);
        if i < 3 {
            let want = expected_record(
                &source,
                &resized,
                index,
                &groups,
                fold as usize,
                MapEncoding::U8,
            );
            assert_eq!(got, want, "record {i} ({})", got.meta.id);
        }
        let truth = source
            .read(index, &mut dec)
            .unwrap()
            .mask
            .map(|m| m.into_vec());
        assert_eq!(got.mask, truth, "the ground truth travels with the map");
    }
    let expected_valid = (0..source.len())
        .filter(|&i| {
            let r = source.record(i);
            r.split == Split::Train && matches!(r.fold, data_prep::folds::Fold::Index(f) if f <= 1)
        })
        .count();
    assert_eq!(valid.len(), expected_valid);
    assert!(folds_seen.contains(&0) && folds_seen.contains(&1));

    // The overlay of a positive validation image: RGB, the image's size, the truth outlined in
    // green, the post-processed map (thresholds low enough to fire) blended red.
    let positive = (0..valid.len())
        .find(|&i| valid.record(i).label == Some(true))
        .expect("a positive validation image");
    let id = valid.record(positive).id.clone();
    let over = tmp.path().join("over.png");
    run_ok(
        bin()
            .arg("export")
            .arg(a.join("valid-top"))
            .args(["--id", &id, "--image"])
            .arg(tmp.path().join("prob.png"))
            .arg("--overlay")
            .arg(&over)
            .args(["--top", "0.1", "--area", "0", "--bottom", "0.1"]),
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&over).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((info.width, info.height), (SIZE as u32, SIZE as u32));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let got = valid.read(positive, &mut dec).unwrap();
    let green = rgb.chunks(3).filter(|p| p == &[0, 255, 0]).count();
    assert!(green > 0, "the ground truth is outlined");
    for (k, p) in rgb.chunks(3).enumerate() {
        if p != [0, 255, 0] && got.image[k] as f64 / 255.0 > 0.1 {
            assert!(
                p[0] > p[1] && p[1] == p[2],
                "pixel {k} above the threshold is tinted red: {p:?}"
            );
        }
    }
    let err = run_err(
        bin()
            .arg("export")
            .arg(&shards)
            .args(["--id", &id, "--image"])
            .arg(tmp.path().join("i.png"))
            .arg("--overlay")
            .arg(tmp.path().join("o.png")),
    );
    assert!(err.contains("not a prediction set"), "{err}");

    // Test maps: the average over every fold's checkpoints.
    let test = open_prediction_set(&a.join("test-top")).unwrap();
    assert_eq!(test.len(), 4);
    let all = vec![groups.concat()];
    let got = test.read(0, &mut dec).unwrap();
    let index = source.shards().position(&got.meta.id).unwrap();
    assert_eq!(
        got,
        expected_record(&source, &resized, index, &all, 0, MapEncoding::U8)
    );
    assert_eq!(got.mask, None);
}

#[test]
fn f16_stores_hold_the_maps_in_half_precision_for_sweep_export_and_submit() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, run, pipeline) = setup(tmp.path());
    let store = tmp.path().join("store");
    let f16 = ["--fold", "1", "--threads", "1", "-w", "2"];
    predict_with(
        &pipeline,
        &run,
        &store,
        &[&f16[..], &["--set", "predict.encoding=\"f16\""]].concat(),
    );
    let source = Dataset::open(&shards).unwrap();
    let resized = Dataset::open(&shards).unwrap().with_augment(
        pneumoflow::augment::load_transforms(write_resize(tmp.path())).unwrap(),
        0,
    );
    let groups = vec![vec![run.join("fold1/part1/epoch002.safetensors")]];
    let valid = open_prediction_set(&store.join("valid-top")).unwrap();
    assert_eq!(valid.pixel_bytes(), 2);
    assert_eq!(valid.manifest().source["encoding"], "f16");
    let mut dec = Decoder::new();
    for i in 0..2 {
        let got = valid.read(i, &mut dec).unwrap();
        assert_eq!(got.image.len(), 2 * SIZE * SIZE);
        let index = source.shards().position(&got.meta.id).unwrap();
        let want = expected_record(&source, &resized, index, &groups, 0, MapEncoding::F16);
        assert_eq!(got, want, "record {i}");
    }
    // An f16 set is no image dataset.
    let err = Dataset::open(&store.join("valid-top")).err().unwrap();
    assert!(err.to_string().contains("2-byte pixels"), "{err}");

    // The sweep reads it (its engine is checked against brute force on f16 maps in
    // tests/sweep.rs); export quantises it for the picture.
    let grid = tmp.path().join("grid.toml");
    std::fs::write(&grid, "top = [0.5]\narea = [0, 20]\nbottom = [0.3, 0.45]\n").unwrap();
    run_ok(
        bin()
            .arg("sweep")
            .arg("--predictions")
            .arg(store.join("valid-top"))
            .arg("--grid")
            .arg(&grid)
            .arg("--out")
            .arg(tmp.path().join("sweep")),
    );
    let csv = std::fs::read_to_string(tmp.path().join("sweep/sweep.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 4,
        "fold 1 and all, 4 configurations"
    );
    let id = valid.record(0).id.clone();
    let prob = tmp.path().join("prob.png");
    run_ok(
        bin()
            .arg("export")
            .arg(store.join("valid-top"))
            .args(["--id", &id, "--image"])
            .arg(&prob)
            .arg("--overlay")
            .arg(tmp.path().join("over.png")),
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&prob).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut gray = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut gray).unwrap();
    let rec = valid.read(0, &mut dec).unwrap();
    assert_eq!(gray, MapEncoding::F16.to_u8(&rec.image));

    // The submission thresholds the f16 values (the metric's f32 rule).
    let csv = tmp.path().join("sub.csv");
    run_ok(
        bin()
            .arg("submit")
            .arg(&pipeline)
            .arg("--predictions")
            .arg(store.join("test-top"))
            .arg("--out")
            .arg(&csv),
    );
    let test = open_prediction_set(&store.join("test-top")).unwrap();
    let mut post = PostProcess::new(submit_config());
    let text = std::fs::read_to_string(&csv).unwrap();
    for line in text.lines().skip(1) {
        let (id, rle) = line.split_once(',').unwrap();
        let rec = test.read(test.position(id).unwrap(), &mut dec).unwrap();
        let want = post.mask(&rec.image, MapEncoding::F16, SIZE, 0).unwrap();
        assert_eq!(data_prep::rle::decode(rle, 1024, 1024, 255).unwrap(), want);
        let probs = MapEncoding::F16.decode(&rec.image);
        let above = probs.iter().filter(|&&p| p > 0.5).count();
        let any = probs.iter().any(|&p| p > 0.45);
        assert_eq!(rle != "-1", above >= 20 && any, "{id}");
    }
    assert_eq!(text.lines().count(), 1 + 4);
}

/// A transforms file resizing to the network's side (what predict applies).
fn write_resize(dir: &Path) -> PathBuf {
    let path = dir.join("resize.toml");
    std::fs::write(
        &path,
        format!("p = 1.0\n[[transforms]]\ntype = \"Resize\"\nheight = {NET}\nwidth = {NET}\n"),
    )
    .unwrap();
    path
}

#[test]
fn the_predictor_averages_flip_tta_after_the_sigmoid_and_checkpoints_as_predictions() {
    let tmp = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..2)
        .map(|k| {
            tch::manual_seed(7 + k);
            let p = tmp.path().join(format!("c{k}.safetensors"));
            Net::new(ModelKind::Albunet, Device::Cpu).save(&p).unwrap();
            p
        })
        .collect();
    let nets: Vec<Net> = paths
        .iter()
        .map(|p| {
            let mut n = Net::new(ModelKind::Albunet, Device::Cpu);
            n.load(p).unwrap();
            n
        })
        .collect();
    let mut batch = HostBatch::new(NET, NET, 2);
    for k in 0..2u8 {
        let image: Vec<u8> = (0..NET * NET)
            .map(|i| ((i * 7 + k as usize * 31) % 251) as u8)
            .collect();
        let sample = pneumoflow::data::Sample {
            meta: data_prep::shard::RecordMeta {
                id: format!("x{k}"),
                split: Split::Test,
                height: NET as u32,
                width: NET as u32,
                orig_height: NET as u32,
                orig_width: NET as u32,
                label: None,
                fold: data_prep::folds::Fold::Unassigned,
                n_objects: 0,
            },
            image: pneumoflow::augment::ImageU8::from_vec(NET, NET, image).unwrap(),
            mask: None,
        };
        batch.push(k as usize, &sample).unwrap();
    }
    let predictor = Predictor::load(
        ModelKind::Albunet,
        Device::Cpu,
        std::slice::from_ref(&paths),
        true,
    )
    .unwrap();
    let got = predictor.predict(&batch, &[0, 0]).unwrap();
    let (raw, _) = pneumoflow::train::batch_tensors(&batch, Device::Cpu);
    let want = tch::no_grad(|| {
        let p = |net: &Net, x: &Tensor| net.forward_t(&net.normalize(x), false).unwrap().sigmoid();
        let tta = |net: &Net| (p(net, &raw) + p(net, &raw.flip([3])).flip([3])) / 2.0;
        (tta(&nets[0]) + tta(&nets[1])) / 2.0
    });
    let want = Vec::<f32>::try_from(want.flatten(0, -1)).unwrap();
    assert_eq!(got.len(), want.len());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-6, "max |diff| {worst}");
}

#[test]
fn the_submission_decodes_to_the_post_processed_maps_and_bad_shards_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (_shards, run, pipeline) = setup(tmp.path());
    let store = tmp.path().join("store");
    predict_with(
        &pipeline,
        &run,
        &store,
        &["--split", "test", "--threads", "1"],
    );
    let set = store.join("test-top");
    let config = submit_config();
    for (output, cfg) in [
        (1024usize, config.clone()),
        (
            128,
            SubmitConfig {
                output_size: 128,
                min_contour_area: 3.0,
                ..config.clone()
            },
        ),
    ] {
        let csv = tmp.path().join(format!("sub{output}.csv"));
        run_ok(
            bin()
                .arg("submit")
                .arg(&pipeline)
                .arg("--predictions")
                .arg(&set)
                .arg("--out")
                .arg(&csv)
                .args(["--set", &format!("submit.output_size={output}")])
                .args([
                    "--set",
                    &format!("submit.min_contour_area={}", cfg.min_contour_area),
                ]),
        );
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("ImageId,EncodedPixels"));
        let rows: Vec<(String, String)> = lines
            .map(|l| {
                let (id, rle) = l.split_once(',').unwrap();
                (id.to_string(), rle.to_string())
            })
            .collect();
        let preds = ShardSet::open(&set).unwrap();
        let mut ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort();
        let mut want_ids: Vec<&str> = (0..preds.len())
            .map(|i| preds.record(i).id.as_str())
            .collect();
        want_ids.sort();
        assert_eq!(ids, want_ids, "every test image exactly once");
        let mut post = PostProcess::new(cfg.clone());
        let mut dec = Decoder::new();
        let mut non_empty = 0;
        for (id, rle) in &rows {
            let rec = preds.read(preds.position(id).unwrap(), &mut dec).unwrap();
            let decoded = data_prep::rle::decode(rle, output, output, 255).unwrap();
            let want = post.mask(&rec.image, MapEncoding::U8, SIZE, 0).unwrap();
            assert_eq!(decoded, want, "{id}");
            non_empty += (rle != "-1") as usize;
            if output == 1024 {
                // Independently: the triplet rule on the stored map decides emptiness.
                let above = rec
                    .image
                    .iter()
                    .filter(|&&q| q as f64 / 255.0 > 0.5)
                    .count();
                let any = rec.image.iter().any(|&q| q as f64 / 255.0 > 0.45);
                assert_eq!(
                    rle != "-1",
                    above >= 20 && any,
                    "{id}: {above} pixels above top"
                );
            }
        }
        eprintln!("output {output}: {non_empty} of {} non-empty", rows.len());
    }
    // A corrupted prediction shard: a clear error naming the file and record.
    let shard = set.join("shard-00000.pfs");
    let mut bytes = std::fs::read(&shard).unwrap();
    // The first record's payload starts at the data region (byte 4096).
    bytes[4096 + 8] ^= 0x5a;
    std::fs::write(&shard, &bytes).unwrap();
    let err = run_err(
        bin()
            .arg("submit")
            .arg(&pipeline)
            .arg("--predictions")
            .arg(&set)
            .arg("--out")
            .arg(tmp.path().join("bad.csv")),
    );
    assert!(
        !tmp.path().join("bad.csv").exists(),
        "no CSV from a damaged set"
    );
    assert!(
        err.contains("shard-00000.pfs") && err.contains("record"),
        "{err}"
    );
    // A pipeline without [submit].
    let bare = tmp.path().join("bare.toml");
    std::fs::write(&bare, "[data]\nshards = \"x\"\n").unwrap();
    let err = run_err(
        bin()
            .arg("submit")
            .arg(&bare)
            .arg("--predictions")
            .arg(&set),
    );
    assert!(err.contains("no [submit] section"), "{err}");
}
