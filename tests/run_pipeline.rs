//! `pneumoflow run`: a whole pipeline (train → predict → sweep → submit) on a tiny synthetic
//! dataset at 64², then the same command again, which trains nothing, finds the predictions up to
//! date and rewrites the same sweep and submission; new submission settings keep the training
//! run, new training settings are refused.

use crate::cli_util::{bin, prepped, run_err, run_ok};
use std::path::Path;

fn pipeline(dir: &Path, shards: &Path) -> std::path::PathBuf {
    let grid = dir.join("grid.toml");
    std::fs::write(
        &grid,
        "top = [0.3, 0.5]\narea = [0, 10]\nbottom = [0.2, 0.4]\nmin_contour_area = [0, 2]\n",
    )
    .unwrap();
    let text = format!(
        r#"
[data]
shards = "{shards}"
seed = 2

[model]
arch = "albunet"

[train]
folds = [0]
batch_size = 4

[[train.parts]]
lr = 1e-3
sample_rate = 0.5
epochs = 1
early_stopping = 3
top_k = 1
loss = {{ bce = 1, dice = 1, focal = 1 }}
scheduler = {{ type = "cosine", t_max = 2, eta_min = 1e-6 }}

[predict]
batch_size = 4

[sweep]
grid = "{grid}"

[submit]
top = 0.5
area = 10
bottom = 0.3
output_size = 128
"#,
        shards = shards.display(),
        grid = grid.display()
    );
    let path = dir.join("p.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_executes_every_declared_stage_and_a_rerun_redoes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = prepped(tmp.path(), (20, 3, 64, 31), 1);
    let p = pipeline(tmp.path(), &shards);
    let run_dir = tmp.path().join("run");
    let go = || {
        run_ok(
            bin()
                .arg("run")
                .arg(&p)
                .arg("--run-dir")
                .arg(&run_dir)
                .args(["--threads", "1", "--workers", "2"]),
        )
    };
    let first = go();
    let err = String::from_utf8_lossy(&first.stderr).to_string();
    assert!(err.contains("train -> predict -> sweep -> submit"), "{err}");
    for f in [
        "best_fold0.safetensors",
        "predictions/valid-top/manifest.json",
        "predictions/test-top/manifest.json",
        "sweep/sweep.csv",
        "sweep/sweep.png",
        "submission.csv",
    ] {
        assert!(run_dir.join(f).exists(), "{f}");
    }
    let csv = std::fs::read_to_string(run_dir.join("sweep/sweep.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 16,
        "16 configurations x (fold 0, all)"
    );
    let submission = std::fs::read(run_dir.join("submission.csv")).unwrap();
    assert_eq!(String::from_utf8_lossy(&submission).lines().count(), 1 + 3);
    let metrics = std::fs::read(run_dir.join("metrics.jsonl")).unwrap();

    let second = go();
    let err = String::from_utf8_lossy(&second.stderr).to_string();
    // both prediction sets, the sweep and the submission
    assert_eq!(err.matches("is up to date").count(), 4, "{err}");
    assert!(err.contains("sweep: ") && err.contains("submit: "), "{err}");
    assert!(!err.contains("epoch   0:"), "no epoch trained again: {err}");
    assert_eq!(
        std::fs::read(run_dir.join("metrics.jsonl")).unwrap(),
        metrics
    );
    assert_eq!(
        std::fs::read(run_dir.join("submission.csv")).unwrap(),
        submission
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("sweep/sweep.csv")).unwrap(),
        csv
    );

    // Changing a later stage's settings keeps the training run: nothing is trained again. The
    // sweep's output changed by hand since it was written is written again.
    std::fs::write(run_dir.join("sweep/sweep.csv"), "edited\n").unwrap();
    let third = run_ok(
        bin()
            .arg("run")
            .arg(&p)
            .arg("--run-dir")
            .arg(&run_dir)
            .args(["--threads", "1", "--set", "submit.bottom=0.45"]),
    );
    let err = String::from_utf8_lossy(&third.stderr).to_string();
    assert!(!err.contains("epoch   0:"), "{err}");
    // the sweep's output was edited; the submission's settings changed
    assert_eq!(err.matches("is up to date").count(), 2, "{err}");
    assert!(!err.contains("submission.csv is up to date"), "{err}");
    assert_eq!(
        std::fs::read_to_string(run_dir.join("sweep/sweep.csv")).unwrap(),
        csv
    );
    assert_eq!(
        std::fs::read(run_dir.join("metrics.jsonl")).unwrap(),
        metrics
    );
    // A changed training setting is another run.
    let err = run_err(
        bin()
            .arg("run")
            .arg(&p)
            .arg("--run-dir")
            .arg(&run_dir)
            .args(["--set", "train.parts[0].lr=0.5"]),
    );
    assert!(
        err.contains("another pipeline") && err.contains("train.parts"),
        "{err}"
    );

    // A pipeline with none of the stages.
    let bare = tmp.path().join("bare.toml");
    std::fs::write(
        &bare,
        format!("[data]\nshards = \"{}\"\n", shards.display()),
    )
    .unwrap();
    let err = run_err(bin().arg("run").arg(&bare));
    assert!(err.contains("nothing to run"), "{err}");
}
