//! Which checkpoints of a training run directory predict a fold: its best checkpoint, or the
//! top-k checkpoints kept for its last trained part (`fold<K>/part<P>/epochNNN.safetensors`).

use super::config::CheckpointChoice;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A run directory without the checkpoints a prediction needs.
#[derive(Debug, Error)]
#[error("{path}: {problem}")]
pub struct CheckpointError {
    /// The file or directory.
    pub path: PathBuf,
    /// What is missing.
    pub problem: String,
}

/// The checkpoints of `fold` in the run directory `run`, in a fixed order (by part, then epoch).
pub fn fold_checkpoints(
    run: &Path,
    fold: u8,
    choice: CheckpointChoice,
) -> Result<Vec<PathBuf>, CheckpointError> {
    let best = run.join(format!("best_fold{fold}.safetensors"));
    if choice == CheckpointChoice::Best {
        if !best.is_file() {
            return Err(CheckpointError {
                path: best,
                problem: format!("fold {fold} has no best checkpoint (train the fold first)"),
            });
        }
        return Ok(vec![best]);
    }
    let fold_dir = run.join(format!("fold{fold}"));
    let numbered = |dir: &Path, prefix: &str, suffix: &str| -> Vec<(u32, PathBuf)> {
        let mut out: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name
                    .strip_prefix(prefix)?
                    .strip_suffix(suffix)?
                    .parse()
                    .ok()?;
                Some((n, e.path()))
            })
            .collect();
        out.sort();
        out
    };
    let parts = numbered(&fold_dir, "part", "");
    let last = parts
        .iter()
        .rev()
        .map(|(_, dir)| numbered(dir, "epoch", ".safetensors"))
        .find(|files| !files.is_empty());
    match last {
        Some(files) => Ok(files.into_iter().map(|(_, p)| p).collect()),
        None => Err(CheckpointError {
            path: fold_dir,
            problem: format!("fold {fold} has no top-k checkpoint (train the fold first)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_takes_the_last_part_with_checkpoints_and_best_the_best_file() {
        let dir = std::env::temp_dir().join(format!("pf-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in [
            "fold1/part0/epoch002.safetensors",
            "fold1/part1/epoch010.safetensors",
            "fold1/part1/epoch004.safetensors",
            "fold1/part1/notes.txt",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        std::fs::create_dir_all(dir.join("fold1/part2")).unwrap();
        let top = fold_checkpoints(&dir, 1, CheckpointChoice::Top).unwrap();
        assert_eq!(
            top,
            vec![
                dir.join("fold1/part1/epoch004.safetensors"),
                dir.join("fold1/part1/epoch010.safetensors")
            ]
        );
        let e = fold_checkpoints(&dir, 1, CheckpointChoice::Best).unwrap_err();
        assert!(e.to_string().contains("best_fold1.safetensors"), "{e}");
        std::fs::write(dir.join("best_fold1.safetensors"), b"x").unwrap();
        assert_eq!(
            fold_checkpoints(&dir, 1, CheckpointChoice::Best).unwrap(),
            vec![dir.join("best_fold1.safetensors")]
        );
        let e = fold_checkpoints(&dir, 3, CheckpointChoice::Top).unwrap_err();
        assert!(e.to_string().contains("fold 3 has no top-k"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
