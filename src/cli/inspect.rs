//! `pneumoflow inspect`: dataset summary, full verification, id listing.

use anyhow::{bail, Context};
use clap::Args;
use data_prep::folds::Fold;
use data_prep::shard::{Decoder, ShardSet, Split};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `pneumoflow inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Shard directory (holds manifest.json).
    pub shards: PathBuf,
    /// Read every record and check its checksum; exit non-zero on any corruption.
    #[arg(long)]
    pub verify: bool,
    /// Print every record id, one per line (and nothing else).
    #[arg(long)]
    pub ids: bool,
}

/// Runs `inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let set = ShardSet::open(&args.shards)
        .with_context(|| format!("opening dataset {}", args.shards.display()))?;
    if args.ids {
        let mut out = String::with_capacity(set.len() * 64);
        for r in &set.manifest().records {
            out.push_str(&r.id);
            out.push('\n');
        }
        print!("{out}");
        return Ok(());
    }
    print!("{}", summary(&set));
    if args.verify {
        let bad = verify(&set);
        if !bad.is_empty() {
            for e in &bad {
                eprintln!("corrupt: {e}");
            }
            bail!("{} of {} records failed verification", bad.len(), set.len());
        }
        println!(
            "verify: all {} records read back with matching checksums",
            set.len()
        );
    }
    Ok(())
}

/// Reads every record (one shard per rayon task); returns one message per bad record.
pub fn verify(set: &ShardSet) -> Vec<String> {
    use rayon::prelude::*;
    let pb = super::progress::bar(set.len() as u64, "verify");
    let mut bad: Vec<String> = set
        .shards()
        .par_iter()
        .flat_map_iter(|shard| {
            let mut dec = Decoder::new();
            let (mut img, mut mask) = (Vec::new(), Vec::new());
            let mut errs = Vec::new();
            for slot in 0..shard.len() {
                if let Err(e) = shard.read_into(slot, &mut dec, &mut img, &mut mask) {
                    errs.push(e.to_string());
                }
                pb.inc(1);
            }
            errs
        })
        .collect();
    pb.finish_and_clear();
    bad.sort();
    bad
}

/// The human summary: counts, positives per fold, bytes and compression ratio.
pub fn summary(set: &ShardSet) -> String {
    let m = set.manifest();
    let mut s = String::new();
    let train: Vec<_> = m
        .records
        .iter()
        .filter(|r| r.split == Split::Train)
        .collect();
    let test = m.records.len() - train.len();
    let pos = train.iter().filter(|r| r.label == Some(true)).count();
    let objects: usize = train.iter().map(|r| r.n_objects as usize).sum();
    let _ = writeln!(s, "dataset   {}", set.dir().display());
    let _ = writeln!(
        s,
        "records   {} ({} train, {} test), {}x{} px, {} shards",
        m.records.len(),
        train.len(),
        test,
        m.size,
        m.size,
        m.shards.len()
    );
    let pct = if train.is_empty() {
        0.0
    } else {
        100.0 * pos as f64 / train.len() as f64
    };
    let _ = writeln!(
        s,
        "positive  {pos} of {} train records ({pct:.1}%), {objects} objects",
        train.len()
    );
    let mut folds: BTreeMap<Fold, (usize, usize)> = BTreeMap::new();
    for r in &train {
        let e = folds.entry(r.fold).or_default();
        e.0 += 1;
        e.1 += usize::from(r.label == Some(true));
    }
    let _ = writeln!(s, "fold      records  positive");
    for (f, (n, p)) in &folds {
        let _ = writeln!(s, "{:<9} {n:>7}  {p:>8}", f.label());
    }
    let bytes: u64 = m.shards.iter().map(|x| x.bytes).sum();
    let raw: u64 = m.shards.iter().map(|x| x.raw_bytes).sum();
    let ratio = if bytes == 0 {
        0.0
    } else {
        raw as f64 / bytes as f64
    };
    let _ = writeln!(
        s,
        "bytes     {} on disk, {} raw payload, compression ratio {ratio:.2}x",
        human(bytes),
        human(raw)
    );
    s
}

fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
