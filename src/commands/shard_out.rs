//! Output-dataset bookkeeping shared by the commands that write shards (prep, augment): which
//! shards can be kept on a re-run, and the manifest written last.

use crate::dataflow::shard_writer::{ShardOutcome, ShardTask};
use anyhow::{bail, Context};
use data_prep::atomic::remove_stale_temps;
use data_prep::shard::{
    shard_file_name, Manifest, ManifestRecord, ShardFile, ShardInfo, ShardSet, MANIFEST_FILE,
};
use std::ops::Range;
use std::path::Path;

/// The shards of an output dataset that still need writing.
pub struct OutputPlan {
    pub tasks: Vec<ShardTask>,
    pub kept: usize,
    pub n_shards: usize,
}

/// Prepares `out` for writing the shards `ranges` (with their fingerprints): removes temp files
/// of interrupted writes and shards beyond the plan, keeps shards whose fingerprint matches, and
/// removes the manifest if anything is to be written (a manifest never describes a half-written
/// dataset).
pub fn plan_output(
    out: &Path,
    ranges: &[Range<usize>],
    fingerprints: &[u64],
) -> anyhow::Result<OutputPlan> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    remove_stale_temps(out).with_context(|| format!("cleaning {}", out.display()))?;
    remove_extra_shards(out, ranges.len())?;
    let mut tasks = Vec::new();
    let mut kept = 0;
    for (k, (range, &fingerprint)) in ranges.iter().zip(fingerprints).enumerate() {
        let path = out.join(shard_file_name(k));
        let reusable = ShardFile::open(&path)
            .map(|s| s.fingerprint() == fingerprint && s.len() == range.len())
            .unwrap_or(false);
        if reusable {
            kept += 1;
        } else {
            tasks.push(ShardTask {
                number: k,
                path,
                items: range.clone(),
                fingerprint,
            });
        }
    }
    if !tasks.is_empty() {
        let m = out.join(MANIFEST_FILE);
        if m.exists() {
            std::fs::remove_file(&m).with_context(|| format!("removing stale {}", m.display()))?;
        }
    }
    Ok(OutputPlan {
        tasks,
        kept,
        n_shards: ranges.len(),
    })
}

impl OutputPlan {
    /// Whether the dataset at `out` is complete and current: nothing to write, manifest valid.
    pub fn up_to_date(&self, out: &Path) -> bool {
        self.tasks.is_empty() && ShardSet::open(out).is_ok()
    }
}

/// Fails listing the records that could not be produced (at most 50 shown).
pub fn check_outcomes(outcomes: Vec<ShardOutcome>) -> anyhow::Result<()> {
    let errors: Vec<String> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            ShardOutcome::Failed { number, errors } => Some(
                errors
                    .into_iter()
                    .map(move |e| format!("shard {number}: {e}")),
            ),
            ShardOutcome::Written { .. } => None,
        })
        .flatten()
        .collect();
    if !errors.is_empty() {
        for e in errors.iter().take(50) {
            eprintln!("error: {e}");
        }
        bail!(
            "{} record(s) could not be produced (first errors above); completed shards are kept, fix the inputs and re-run to finish",
            errors.len()
        );
    }
    Ok(())
}

/// Builds the manifest from the shard files themselves and writes it (atomically, last).
pub fn write_manifest(
    dir: &Path,
    size: u32,
    n_shards: usize,
    source: serde_json::Value,
) -> anyhow::Result<()> {
    let mut m = Manifest::new(size, source);
    for k in 0..n_shards {
        let file = shard_file_name(k);
        let shard = ShardFile::open(&dir.join(&file))?;
        for slot in 0..shard.len() {
            m.records.push(ManifestRecord::new(
                &shard.meta(slot),
                k as u32,
                slot as u32,
            ));
        }
        m.shards.push(ShardInfo {
            file,
            records: shard.len(),
            bytes: shard.file_len(),
            raw_bytes: shard.raw_len(),
            fingerprint: shard.fingerprint(),
        });
    }
    m.save(dir)?;
    Ok(())
}

/// Deletes `shard-NNNNN.pfs` files numbered `n` and above (left by an earlier, larger run).
fn remove_extra_shards(dir: &Path, n: usize) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let number = name
            .strip_prefix("shard-")
            .and_then(|s| s.strip_suffix(".pfs"))
            .and_then(|s| s.parse::<usize>().ok());
        if number.is_some_and(|k| k >= n) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}
