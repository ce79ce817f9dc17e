//! `pneumoflow export`: one stored record's image (and mask, as 0/255) as 8-bit grayscale PNG.

use anyhow::{bail, Context};
use clap::Args;
use data_prep::shard::{Decoder, ShardSet};
use std::path::PathBuf;

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
    let index = set
        .position(&args.id)
        .with_context(|| format!("dataset {}", args.shards.display()))?;
    let rec = set.read(index, &mut Decoder::new())?;
    let (w, h) = (rec.meta.width, rec.meta.height);
    if let Some(mask_path) = &args.mask {
        let Some(mask) = &rec.mask else {
            bail!("record {} is a test record and has no mask", args.id);
        };
        pneumoflow::png_io::write_gray(mask_path, w, h, mask)?;
    }
    pneumoflow::png_io::write_gray(&args.image, w, h, &rec.image)?;
    Ok(())
}
