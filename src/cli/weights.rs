//! `pneumoflow weights import`: maps a PyTorch state_dict (full checkpoint or ImageNet encoder)
//! onto a network and writes a complete safetensors checkpoint that `Net::load` accepts.
use super::model_arg::ModelArg;
use anyhow::Context;
use clap::{Args, Subcommand};
use pneumoflow::model::{self, ModelKind, Net};
use std::path::PathBuf;

/// `pneumoflow weights ...`
#[derive(Debug, Args)]
pub struct WeightsArgs {
    #[command(subcommand)]
    pub command: WeightsCommand,
}

/// Weight-file subcommands.
#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Map a PyTorch state_dict onto a network (checking every key and shape) and write safetensors.
    Import(ImportArgs),
}

/// `pneumoflow weights import --model M --from FILE --out FILE.safetensors`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Network the weights are for.
    #[arg(long, value_enum)]
    pub model: ModelArg,
    /// Source: `.safetensors`, or a PyTorch `.pth`/`.pt` (convert plain `torch.save` pickles first
    /// with scripts/pth_to_safetensors.py). A reference checkpoint, or an ImageNet encoder file
    /// (torchvision resnet34/resnet50, pretrainedmodels se_resnext50_32x4d).
    #[arg(long = "from", value_name = "FILE")]
    pub from: PathBuf,
    /// Output checkpoint (`.safetensors`), written atomically.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Seed of the fresh decoder initialisation when the source is an encoder-only file.
    #[arg(long, default_value_t = 0)]
    pub seed: i64,
}

/// Runs a `weights` subcommand.
pub fn run(args: WeightsArgs) -> anyhow::Result<()> {
    match args.command {
        WeightsCommand::Import(args) => import(args),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let kind = ModelKind::from(args.model);
    anyhow::ensure!(
        args.out.extension().and_then(|e| e.to_str()) == Some("safetensors"),
        "--out must end in .safetensors, got {}",
        args.out.display()
    );
    tch::manual_seed(args.seed);
    let net = Net::new(kind, tch::Device::Cpu);
    let source = model::read_state_dict(&args.from)?;
    let imported = model::import_state_dict(&net, source)
        .with_context(|| format!("importing {} as {}", args.from.display(), kind))?;
    model::write_safetensors_atomic(&args.out, &imported.tensors)?;
    let mut check = Net::new(kind, tch::Device::Cpu);
    check
        .load(&args.out)
        .with_context(|| format!("re-loading {}", args.out.display()))?;
    print!("{}", imported.report);
    println!(
        "wrote {} ({} tensors)",
        args.out.display(),
        imported.tensors.len()
    );
    Ok(())
}
