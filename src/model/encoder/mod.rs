//! Encoders (ImageNet trunks) of the solution's networks, each returning its stage outputs.
//!
//! Both trunks share one shape: a 7×7/s2 conv + BN + ReLU stem, then `layer1`..`layer4` of
//! [3, 4, 6, 3] residual blocks (planes 64…512, stride 2 in the first block of layer2..4). That
//! skeleton lives here once (`Trunk` over any `EncoderBlock`, plus the conv+BN body and
//! `downsample` shortcut the blocks share); [`resnet`] and [`se_resnext`] supply their blocks.
pub mod resnet;
pub mod se_resnext;

pub use resnet::{ResNetDepth, ResNetEncoder, ResNetPaths};
pub use se_resnext::{SeResNeXtEncoder, SeResNeXtPaths};

use crate::model::blocks::{BatchNorm2d, Conv2d, ConvInit, ConvSpec};
use crate::model::cost::{Cost, Shape};
use tch::nn;
use tch::Tensor;

/// Blocks per stage (`layers=[3, 4, 6, 3]` in torchvision and in Cadene's SENet).
const BLOCKS: [usize; 4] = [3, 4, 6, 3];
/// The `planes` argument of each stage's blocks.
const PLANES: [i64; 4] = [64, 128, 256, 512];

/// One residual block of an encoder stage.
trait EncoderBlock {
    /// Runs the block; `train` selects batch statistics in its BatchNorms.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor;
    /// Adds the block's cost for an input of shape `s` and returns its output shape.
    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape;
}

/// A conv followed by its BatchNorm: the stem, each `convN`/`bnN` pair and `downsample.0`/`.1`.
#[derive(Debug)]
struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm2d,
}

impl ConvBn {
    /// Creates the conv's variables under `conv`, then the BN's under `bn`.
    fn new(conv: &nn::Path, bn: &nn::Path, spec: ConvSpec, init: ConvInit) -> Self {
        let conv = Conv2d::new(conv, spec, init);
        ConvBn {
            conv,
            bn: BatchNorm2d::new(bn, spec.cout),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.bn.forward_t(&self.conv.forward(x), train)
    }

    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        self.bn.cost(self.conv.cost(s, cost), cost)
    }
}

/// What every residual block of both trunks has: `conv1`/`bn1`…`convN`/`bnN` with ReLUs between
/// them (none after the last), and the `downsample` (1×1 conv + BN) shortcut where the stride or
/// the width changes, else the identity.
#[derive(Debug)]
struct Residual {
    convs: Vec<ConvBn>,
    downsample: Option<ConvBn>,
}

impl Residual {
    /// Creates `conv{i+1}`/`bn{i+1}` from `specs` under `p`, then `downsample.{0,1}` mapping
    /// `inplanes` to the last conv's width with `stride` if either differs from identity.
    fn new(p: &nn::Path, specs: &[ConvSpec], inplanes: i64, stride: i64, init: ConvInit) -> Self {
        let convs = specs
            .iter()
            .enumerate()
            .map(|(i, &spec)| {
                let (conv, bn) = (p / format!("conv{}", i + 1), p / format!("bn{}", i + 1));
                ConvBn::new(&conv, &bn, spec, init)
            })
            .collect();
        let out = specs.last().map_or(inplanes, |s| s.cout);
        let downsample = (stride != 1 || inplanes != out).then(|| {
            let d = p / "downsample";
            let spec = ConvSpec::same(inplanes, out, 1, false).stride(stride);
            ConvBn::new(&(&d / "0"), &(&d / "1"), spec, init)
        });
        Residual { convs, downsample }
    }

    /// The conv/BN chain with in-place ReLUs between its members.
    fn body(&self, x: &Tensor, train: bool) -> Tensor {
        let last = self.convs.len() - 1;
        let mut out = x.shallow_clone();
        for (i, c) in self.convs.iter().enumerate() {
            out = c.forward_t(&out, train);
            if i < last {
                out = out.relu_();
            }
        }
        out
    }

    /// `downsample(x)`, or `x` itself.
    fn shortcut(&self, x: &Tensor, train: bool) -> Tensor {
        match &self.downsample {
            Some(d) => d.forward_t(x, train),
            None => x.shallow_clone(),
        }
    }

    /// Cost of [`Residual::body`] and [`Residual::shortcut`] (not of joining them); the body's shape.
    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let last = self.convs.len() - 1;
        let mut out = s;
        for (i, c) in self.convs.iter().enumerate() {
            out = c.cost(out, cost);
            if i < last {
                cost.elementwise += out.numel() as u64; // ReLU
            }
        }
        if let Some(d) = &self.downsample {
            d.cost(s, cost);
        }
        out
    }
}

/// The stem and the four stages of blocks `B`, each block at `layer{i+1}.{b}`.
#[derive(Debug)]
struct Trunk<B> {
    stem: ConvBn,
    layers: [Vec<B>; 4],
}

impl<B: EncoderBlock> Trunk<B> {
    /// Creates the stem (`conv1` 3→64 7×7 s2 p3, then `bn1`), then the blocks in order, each from
    /// `block(path, inplanes, planes, stride)`; `channels[i]` is stage `i`'s output width.
    fn new(
        conv1: &nn::Path,
        bn1: &nn::Path,
        init: ConvInit,
        layers: &[nn::Path; 4],
        channels: [i64; 4],
        mut block: impl FnMut(&nn::Path, i64, i64, i64) -> B,
    ) -> Self {
        let spec = ConvSpec::same(3, 64, 7, false).stride(2).padding(3);
        let stem = ConvBn::new(conv1, bn1, spec, init);
        let mut inplanes = 64;
        let layers = std::array::from_fn(|i| {
            let stride = if i == 0 { 1 } else { 2 };
            (0..BLOCKS[i])
                .map(|b| {
                    let s = if b == 0 { stride } else { 1 };
                    let block = block(&(&layers[i] / b), inplanes, PLANES[i], s);
                    inplanes = channels[i];
                    block
                })
                .collect()
        });
        Trunk { stem, layers }
    }

    fn stem(&self, x: &Tensor, train: bool) -> Tensor {
        self.stem.forward_t(x, train).relu_()
    }

    fn layer(&self, i: usize, x: &Tensor, train: bool) -> Tensor {
        self.layers[i]
            .iter()
            .fold(x.shallow_clone(), |x, b| b.forward_t(&x, train))
    }

    fn stem_cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let out = self.stem.cost(s, cost);
        cost.elementwise += out.numel() as u64;
        out
    }

    fn layer_cost(&self, i: usize, s: Shape, cost: &mut Cost) -> Shape {
        self.layers[i].iter().fold(s, |s, b| b.cost(s, cost))
    }
}
