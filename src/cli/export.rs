//! `pneumoflow export`: one stored record's image (and mask, as 0/255) as 8-bit grayscale PNG;
//! for a prediction set the image is the probability map (`q`, p = q / 255), and `--overlay`
//! draws the source image with the post-processed mask in red and the ground truth outlined in
//! green.
//!
//! Both files are encoded first and written to temp files; only when both are written are they
//! renamed into place, so a failure leaves neither half. An output path that is a file of the
//! dataset being read (or the image and mask paths being the same) is refused.

use anyhow::{bail, Context};
use clap::Args;
use data_prep::atomic::{sync_dir, temp_path};
use data_prep::shard::{Decoder, ShardSet};
use pneumoflow::data::prob_map::MapEncoding;
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
    /// For a prediction set: an RGB PNG of the source image, the post-processed mask (red) and
    /// the ground truth's outline (green).
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// Overlay post-processing: gate threshold (pixels with p > top are counted).
    #[arg(long, default_value_t = 0.75)]
    pub top: f64,
    /// Overlay post-processing: pixels above `top` needed for a non-empty mask (at
    /// `--area-resolution`).
    #[arg(long, default_value_t = 800.0)]
    pub area: f64,
    /// Overlay post-processing: mask threshold of a positive image.
    #[arg(long, default_value_t = 0.4)]
    pub bottom: f64,
    /// Overlay post-processing: remove contours of at most this area (0: off).
    #[arg(long, default_value_t = 0.0)]
    pub min_contour_area: f64,
    /// The resolution the areas are given at (scaled to the map's size).
    #[arg(long, default_value_t = 1024)]
    pub area_resolution: u32,
}

/// Runs `export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let set = ShardSet::open(&args.shards)
        .with_context(|| format!("opening dataset {}", args.shards.display()))?;
    let outputs: Vec<&Path> = std::iter::once(args.image.as_path())
        .chain(args.mask.as_deref())
        .chain(args.overlay.as_deref())
        .collect();
    refuse_inputs_as_outputs(&set, &outputs)?;
    let index = set
        .position(&args.id)
        .with_context(|| format!("dataset {}", args.shards.display()))?;
    let rec = set.read(index, &mut Decoder::new())?;
    let (w, h) = (rec.meta.width, rec.meta.height);
    // An f16 map is quantised to 8 bits for the picture.
    let encoding = MapEncoding::from_pixel_bytes(set.pixel_bytes()).unwrap_or_default();
    let mut files = vec![(
        args.image.as_path(),
        pneumoflow::png_io::encode_gray(w, h, &encoding.to_u8(&rec.image))
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
    if let Some(path) = &args.overlay {
        files.push((path.as_path(), overlay_png(&args, &set, &rec)?));
    }
    write_all_or_nothing(&files)
}

/// The overlay of a prediction record: its source image read from the dataset the set was
/// predicted from, the map post-processed with the command's thresholds, its ground truth.
fn overlay_png(
    args: &ExportArgs,
    set: &ShardSet,
    rec: &data_prep::shard::Record,
) -> anyhow::Result<Vec<u8>> {
    use pneumoflow::data::predictions::PREDICTIONS_KIND;
    use pneumoflow::submit::{overlay::overlay_rgb, PostProcess, SubmitConfig};
    let source = &set.manifest().source;
    if source.get("kind").and_then(|k| k.as_str()) != Some(PREDICTIONS_KIND) {
        bail!(
            "--overlay: {} is not a prediction set (it needs a probability map and its source image)",
            args.shards.display()
        );
    }
    let input = source
        .get("input")
        .and_then(|i| i.as_str())
        .map(PathBuf::from)
        .with_context(|| {
            format!(
                "{}: the manifest does not name its source dataset",
                args.shards.display()
            )
        })?;
    let images = ShardSet::open(&input)
        .with_context(|| format!("--overlay: opening the source dataset {}", input.display()))?;
    let original = images.read(images.position(&args.id)?, &mut Decoder::new())?;
    let (w, h) = (rec.meta.width as usize, rec.meta.height as usize);
    if (original.meta.width as usize, original.meta.height as usize) != (w, h) || w != h {
        bail!(
            "--overlay: the map of {} is {w}x{h} but its source image is {}x{}",
            args.id,
            original.meta.width,
            original.meta.height
        );
    }
    let config = SubmitConfig {
        top: args.top,
        area: args.area,
        bottom: args.bottom,
        min_contour_area: args.min_contour_area,
        use_contours: false,
        leak: None,
        area_resolution: Some(args.area_resolution),
        output_size: w as u32,
        predictions: String::new(),
        out: None,
    };
    config
        .validate()
        .map_err(|(key, problem)| anyhow::anyhow!("--{}: {problem}", key.replace('_', "-")))?;
    let encoding = MapEncoding::from_pixel_bytes(set.pixel_bytes()).unwrap_or_default();
    let mask =
        PostProcess::new(config).mask(&rec.image, encoding, w, rec.meta.n_objects as usize)?;
    let rgb = overlay_rgb(&original.image, rec.mask.as_deref(), &mask, w, h);
    pneumoflow::png_io::encode_rgb(w as u32, h as u32, &rgb).with_context(|| {
        format!(
            "encoding {}",
            args.overlay.as_deref().unwrap_or(Path::new("")).display()
        )
    })
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
            bail!("two outputs are the same file {}", out.display());
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
