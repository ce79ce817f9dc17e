//! `pneumoflow export`: one stored record's image (and mask, as 0/255) as 8-bit grayscale PNG.
//!
//! Both files are encoded first and written to temp files; only when both are written are they
//! renamed into place, so a failure leaves neither half. An output path that is a file of the
//! dataset being read (or the image and mask paths being the same) is refused.

use anyhow::{bail, Context};
use clap::Args;
use data_prep::atomic::{sync_dir, temp_path};
use data_prep::shard::{Decoder, ShardSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `pneumoflow export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Shard directory (holds manifest.json).
    pub shards: PathBuf,
    /// Record id (as listed by `inspect --ids`).
    #[arg(long)]
    pub id: String,
    /// Output PNG for the image.
    #[arg(long)]
    pub image: PathBuf,
    /// Output PNG for the mask (0/255); an error for test records, which have none.
    #[arg(long)]
    pub mask: Option<PathBuf>,
}

/// Runs `export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let set = ShardSet::open(&args.shards)
        .with_context(|| format!("opening dataset {}", args.shards.display()))?;
    let outputs: Vec<&Path> = std::iter::once(args.image.as_path())
        .chain(args.mask.as_deref())
        .collect();
    refuse_inputs_as_outputs(&set, &outputs)?;
    let index = set
        .position(&args.id)
        .with_context(|| format!("dataset {}", args.shards.display()))?;
    let rec = set.read(index, &mut Decoder::new())?;
    let (w, h) = (rec.meta.width, rec.meta.height);
    let mut files = vec![(
        args.image.as_path(),
        pneumoflow::png_io::encode_gray(w, h, &rec.image)
            .with_context(|| format!("encoding {}", args.image.display()))?,
    )];
    if let Some(mask_path) = &args.mask {
        let Some(mask) = &rec.mask else {
            bail!("record {} is a test record and has no mask", args.id);
        };
        files.push((
            mask_path.as_path(),
            pneumoflow::png_io::encode_gray(w, h, mask)
                .with_context(|| format!("encoding {}", mask_path.display()))?,
        ));
    }
    write_all_or_nothing(&files)
}

/// Refuses output paths that are files of the dataset, or the same path twice.
fn refuse_inputs_as_outputs(set: &ShardSet, outputs: &[&Path]) -> anyhow::Result<()> {
    let dir = set.dir();
    let mut inputs: Vec<PathBuf> = set
        .manifest()
        .shards
        .iter()
        .map(|s| dir.join(&s.file))
        .collect();
    inputs.push(dir.join(data_prep::shard::MANIFEST_FILE));
    inputs.push(dir.join(pneumoflow::data::writer::FOLDS_FILE));
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut seen = Vec::new();
    for out in outputs {
        let Some(abs) = super::absolute(out) else {
            continue;
        };
        if inputs.contains(&abs) {
            bail!(
                "{} is a file of the dataset {} being read; choose another output path",
                out.display(),
                dir.display()
            );
        }
        if seen.contains(&abs) {
            bail!("--image and --mask are the same file {}", out.display());
        }
        seen.push(abs);
    }
    Ok(())
}

/// Writes every `(path, bytes)` to a temp file beside it, fsyncs them all, then renames them all
/// into place: on any failure before the renames nothing is left behind.
fn write_all_or_nothing(files: &[(&Path, Vec<u8>)]) -> anyhow::Result<()> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let written = (|| -> anyhow::Result<()> {
        for (path, bytes) in files {
            let tmp = temp_path(path);
            temps.push(tmp.clone());
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("writing {}", path.display()))?;
            f.write_all(bytes)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        for t in &temps {
            let _ = std::fs::remove_file(t);
        }
        return Err(e);
    }
    for ((path, _), tmp) in files.iter().zip(&temps) {
        std::fs::rename(tmp, path).with_context(|| format!("writing {}", path.display()))?;
        sync_dir(path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
