//! `pneumoflow train` end to end on a tiny synthetic dataset at 64²: the run directory's
//! contents, identical weights with 1 and 2 data workers, kill -9 and resume equal to an
//! uninterrupted run, a non-finite loss stopping with the batch named, and config errors before
//! any work.

use crate::cli_util::{bin, prepped, run_err, run_ok};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A prepped 64² dataset of 30 train images in `dir/shards`.
fn dataset(dir: &Path) -> PathBuf {
    prepped(dir, (30, 0, 64, 13), 1)
}

/// A two-part pipeline over `shards` (2 epochs each), written to `dir/p.toml`.
fn pipeline(dir: &Path, shards: &Path, lr: f64) -> PathBuf {
    let text = format!(
        r#"
[data]
shards = "{}"
size = 64
seed = 3

[model]
arch = "albunet"

[augment]
p = 1.0
[[augment.transforms]]
type = "HorizontalFlip"
p = 0.5
[[augment.transforms]]
type = "ShiftScaleRotate"
p = 0.5

[train]
folds = [0]
batch_size = 3
clip = 0.1

[[train.parts]]
lr = {lr:e}
weight_decay = 5e-6
sample_rate = 0.6
epochs = 2
early_stopping = 5
top_k = 2
loss = {{ bce = 3, dice = 1, focal = 4 }}
scheduler = {{ type = "reduce_on_plateau", mode = "max", factor = 0.1, patience = 1 }}

[[train.parts]]
lr = 1e-4
sample_rate = 0.4
epochs = 2
early_stopping = 5
top_k = 1
loss = {{ bce = 1, dice = 1, focal = 1 }}
scheduler = {{ type = "cosine", t_max = 8, eta_min = 1e-6 }}
freeze_encoder_epochs = 1
"#,
        shards.display()
    );
    let path = dir.join("p.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn train(pipeline: &Path, run: &Path, workers: usize) -> std::process::Command {
    let mut c = bin();
    c.arg("train")
        .arg(pipeline)
        .arg("--run-dir")
        .arg(run)
        .args(["--workers", &workers.to_string(), "--threads", "1"]);
    c
}

/// The metrics lines without their timing fields.
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            for k in ["seconds", "data_wait_share", "images_per_second"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        })
        .collect()
}

#[test]
fn training_writes_the_run_and_is_worker_independent() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = dataset(tmp.path());
    let p = pipeline(tmp.path(), &shards, 1e-3);
    let (a, b) = (tmp.path().join("w1"), tmp.path().join("w2"));
    let out = run_ok(&mut train(&p, &a, 1));
    run_ok(&mut train(&p, &b, 2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("all-empty baseline"), "{stdout}");
    for f in [
        "pipeline.toml",
        "metrics.jsonl",
        "curves.png",
        "best_fold0.safetensors",
        "fold0/state.json",
        "fold0/last.safetensors",
        "fold0/optimizer.safetensors",
    ] {
        assert!(a.join(f).exists(), "{f}");
    }
    let m = metrics(&a);
    assert_eq!(m.len(), 4, "2 parts x 2 epochs");
    for key in [
        "fold",
        "part",
        "epoch",
        "lr",
        "n_pos",
        "n_neg",
        "train_loss",
        "val_loss",
        "val_score",
        "best_triplet",
    ] {
        assert!(m[0].get(key).is_some(), "metrics lack {key}");
    }
    assert_eq!(m[2]["encoder_frozen"], true);
    assert_eq!(m[3]["encoder_frozen"], false);
    // The weights do not depend on the number of data workers.
    assert_eq!(
        std::fs::read(a.join("fold0/last.safetensors")).unwrap(),
        std::fs::read(b.join("fold0/last.safetensors")).unwrap()
    );
    assert_eq!(metrics(&a), metrics(&b));
    // Re-running a finished run does nothing and changes nothing.
    let before = std::fs::read(a.join("fold0/last.safetensors")).unwrap();
    run_ok(&mut train(&p, &a, 1));
    assert_eq!(
        std::fs::read(a.join("fold0/last.safetensors")).unwrap(),
        before
    );
    assert_eq!(metrics(&a).len(), 4);
}

#[test]
fn kill_9_and_resume_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = dataset(tmp.path());
    let p = pipeline(tmp.path(), &shards, 1e-3);
    let whole = tmp.path().join("whole");
    run_ok(&mut train(&p, &whole, 1));
    let killed = tmp.path().join("killed");
    for lines in [1usize, 3] {
        let mut child = train(&p, &killed, 1)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            let n = std::fs::read_to_string(killed.join("metrics.jsonl"))
                .map(|t| t.lines().count())
                .unwrap_or(0);
            if n >= lines || start.elapsed() > Duration::from_secs(120) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    run_ok(&mut train(&p, &killed, 1));
    assert_eq!(metrics(&killed), metrics(&whole));
    for f in ["fold0/last.safetensors", "best_fold0.safetensors"] {
        assert_eq!(
            std::fs::read(killed.join(f)).unwrap(),
            std::fs::read(whole.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_non_finite_loss_stops_naming_the_batch_and_keeps_the_last_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = dataset(tmp.path());
    let p = pipeline(tmp.path(), &shards, 1e30);
    let run = tmp.path().join("run");
    let err = run_err(&mut train(&p, &run, 1));
    assert!(
        err.contains("fold 0, part 0, epoch 0, batch ") && err.contains("the loss is"),
        "{err}"
    );
    assert!(
        !run.join("fold0/state.json").exists(),
        "no epoch was completed"
    );
}

#[test]
fn config_errors_name_the_key_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let p = pipeline(&elsewhere, &tmp.path().join("missing"), 1e-3);
    let err = run_err(&mut train(&p, &tmp.path().join("r1"), 1));
    assert!(
        err.contains("data.shards") && err.contains("missing"),
        "{err}"
    );
    let shards = dataset(tmp.path());
    let p = pipeline(tmp.path(), &shards, 1e-3);
    let err = run_err(
        train(&p, &tmp.path().join("r2"), 1).args(["--set", "train.parts[1].sample_rate=0"]),
    );
    assert!(err.contains("train.parts[1].sample_rate"), "{err}");
    let err = run_err(train(&p, &tmp.path().join("r3"), 1).args(["--device", "cuda"]));
    assert!(
        err.contains("--device cuda") && err.contains("CUDA"),
        "{err}"
    );
    let err = run_err(
        train(&p, &tmp.path().join("r4"), 1).args(["--set", "train.parts[0].transforms=nope.json"]),
    );
    assert!(
        err.contains("train.parts[0].transforms") && err.contains("nope.json"),
        "{err}"
    );
}
