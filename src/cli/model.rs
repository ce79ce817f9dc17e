//! `pneumoflow model summary`: parameter counts and analytic forward FLOPs of a network.
use super::model_arg::ModelArg;
use clap::{Args, Subcommand};
use pneumoflow::model::{ModelKind, Net, Shape};

/// `pneumoflow model ...`
#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// Model subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print parameter counts and forward FLOPs for an S×S input.
    Summary(SummaryArgs),
}

/// `pneumoflow model summary --model M --size S`
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Network.
    #[arg(long, value_enum)]
    pub model: ModelArg,
    /// Input side S (S×S, a multiple of 64 for albunet, 32 for the others; at most 16384).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(i64).range(1..=16384))]
    pub size: i64,
    /// Batch size the FLOPs are counted for (at most 65536).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..=65536))]
    pub batch: i64,
}

/// Runs a `model` subcommand.
pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Summary(args) => summary(args),
    }
}

/// `1234567` → `"1,234,567"`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn summary(args: SummaryArgs) -> anyhow::Result<()> {
    let kind = ModelKind::from(args.model);
    let net = Net::new(kind, tch::Device::Cpu);
    let shape = Shape::new(args.batch, 3, args.size, args.size);
    let cost = net.cost(shape)?;
    let count = net.param_count();
    let g = |x: u64| x as f64 / 1e9;
    println!(
        "model: {}  input: {}×3×{}×{}  ({:?} input normalisation)",
        kind,
        args.batch,
        args.size,
        args.size,
        kind.input_norm()
    );
    println!(
        "parameters: {} (encoder {}, decoder {})",
        thousands(count.parameters as u64),
        thousands(count.encoder_parameters as u64),
        thousands((count.parameters - count.encoder_parameters) as u64)
    );
    println!("BatchNorm buffers: {}", thousands(count.buffers as u64));
    println!("forward MACs (conv): {:.3} G", g(cost.macs));
    println!(
        "forward FLOPs (2·MACs + bias adds): {:.3} G",
        g(cost.flops())
    );
    println!(
        "forward element-wise ops (BN, activations, pooling, upsampling, gating): {:.3} G",
        g(cost.elementwise)
    );
    println!("forward total ops: {:.3} G", g(cost.total_ops()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(21_797_672), "21,797,672");
    }
}
