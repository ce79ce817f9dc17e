//! torchvision ResNet encoders (ResNet34 with `BasicBlock`, ResNet50 v1.5 with `Bottleneck`:
//! stride in the 3×3 conv), with the caller choosing where each part lives in the state_dict.
//!
//! Reference: torchvision `models/resnet.py` (He et al. 2015, arXiv:1512.03385); init is
//! torchvision's (kaiming_normal fan_out for convs, BN weight 1 / bias 0, default `nn.Linear`).
use super::{EncoderBlock, Residual, Trunk};
use crate::model::blocks::{ConvInit, ConvSpec};
use crate::model::cost::{Cost, Shape};
use tch::nn::{self, Init};
use tch::Tensor;

/// Which torchvision ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResNetDepth {
    /// `resnet34`: BasicBlock ×[3, 4, 6, 3], stage widths 64…512.
    R34,
    /// `resnet50`: Bottleneck ×[3, 4, 6, 3], stage widths 256…2048.
    R50,
}

impl ResNetDepth {
    /// Output channels of layer1..layer4.
    pub fn channels(self) -> [i64; 4] {
        match self {
            ResNetDepth::R34 => [64, 128, 256, 512],
            ResNetDepth::R50 => [256, 512, 1024, 2048],
        }
    }
}

/// Where the encoder's parts sit in the model's state_dict.
#[derive(Debug)]
pub struct ResNetPaths<'a> {
    /// The 7×7 stem conv (`conv1`).
    pub conv1: nn::Path<'a>,
    /// The stem BN (`bn1`).
    pub bn1: nn::Path<'a>,
    /// `layer1`..`layer4`.
    pub layers: [nn::Path<'a>; 4],
    /// The ImageNet classifier `fc` (512·expansion → 1000), kept only where the reference keeps it.
    pub fc: Option<nn::Path<'a>>,
}

/// torchvision `BasicBlock` (R34) or `Bottleneck` (R50): `relu(body(x) + shortcut(x))`.
#[derive(Debug)]
struct Block(Residual);

impl Block {
    fn new(p: &nn::Path, depth: ResNetDepth, inplanes: i64, planes: i64, stride: i64) -> Self {
        let specs = match depth {
            ResNetDepth::R34 => vec![
                ConvSpec::same(inplanes, planes, 3, false).stride(stride),
                ConvSpec::same(planes, planes, 3, false),
            ],
            ResNetDepth::R50 => vec![
                ConvSpec::same(inplanes, planes, 1, false),
                ConvSpec::same(planes, planes, 3, false).stride(stride),
                ConvSpec::same(planes, planes * 4, 1, false),
            ],
        };
        Block(Residual::new(
            p,
            &specs,
            inplanes,
            stride,
            ConvInit::KaimingNormalFanOut,
        ))
    }
}

impl EncoderBlock for Block {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut out = self.0.body(x, train);
        out += self.0.shortcut(x, train);
        out.relu_()
    }

    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let out = self.0.cost(s, cost);
        cost.elementwise += 2 * out.numel() as u64; // residual add, ReLU
        out
    }
}

/// A torchvision ResNet without its pooling head: stem conv+BN+ReLU and layer1..layer4.
/// The stem max-pool differs between the networks, so the caller applies it.
#[derive(Debug)]
pub struct ResNetEncoder {
    depth: ResNetDepth,
    trunk: Trunk<Block>,
}

impl ResNetEncoder {
    /// Builds the encoder with torchvision's initialisation at the given paths.
    pub fn new(paths: &ResNetPaths, depth: ResNetDepth) -> Self {
        let trunk = Trunk::new(
            &paths.conv1,
            &paths.bn1,
            ConvInit::KaimingNormalFanOut,
            &paths.layers,
            depth.channels(),
            |p, inplanes, planes, stride| Block::new(p, depth, inplanes, planes, stride),
        );
        if let Some(fc) = &paths.fc {
            let cin = depth.channels()[3];
            let bound = 1.0 / (cin as f64).sqrt();
            let _ = fc.var(
                "weight",
                &[1000, cin],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            );
            let _ = fc.var(
                "bias",
                &[1000],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            );
        }
        ResNetEncoder { depth, trunk }
    }

    /// Which ResNet this is.
    pub fn depth(&self) -> ResNetDepth {
        self.depth
    }

    /// conv1 (7×7, s2, p3) → bn1 → ReLU.
    ///
    /// # Shapes
    /// `[N, 3, H, W]` → `[N, 64, ⌈H/2⌉, ⌈W/2⌉]`.
    pub fn stem(&self, x: &Tensor, train: bool) -> Tensor {
        self.trunk.stem(x, train)
    }

    /// `layer{i+1}` for `i` in 0..4.
    ///
    /// # Shapes
    /// `[N, Cin, H, W]` → `[N, channels()[i], H/s, W/s]` with `s = 1` for layer1, else 2.
    pub fn layer(&self, i: usize, x: &Tensor, train: bool) -> Tensor {
        self.trunk.layer(i, x, train)
    }

    /// Cost of [`ResNetEncoder::stem`].
    pub fn stem_cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        self.trunk.stem_cost(s, cost)
    }

    /// Cost of [`ResNetEncoder::layer`].
    pub fn layer_cost(&self, i: usize, s: Shape, cost: &mut Cost) -> Shape {
        self.trunk.layer_cost(i, s, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cost::max_pool;
    use tch::{nn::VarStore, Device, Kind};

    fn build(depth: ResNetDepth, fc: bool) -> (VarStore, ResNetEncoder) {
        let vs = VarStore::new(Device::Cpu);
        let r = vs.root();
        let paths = ResNetPaths {
            conv1: &r / "conv1",
            bn1: &r / "bn1",
            layers: [&r / "layer1", &r / "layer2", &r / "layer3", &r / "layer4"],
            fc: fc.then(|| &r / "fc"),
        };
        let enc = ResNetEncoder::new(&paths, depth);
        (vs, enc)
    }

    fn trainable(vs: &VarStore) -> i64 {
        vs.trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    fn macs_224(enc: &ResNetEncoder) -> u64 {
        let mut cost = Cost::default();
        let s = max_pool(
            enc.stem_cost(Shape::new(1, 3, 224, 224), &mut cost),
            3,
            2,
            1,
            false,
            &mut cost,
        );
        let out = (0..4).fold(s, |s, i| enc.layer_cost(i, s, &mut cost));
        assert_eq!(out, Shape::new(1, enc.depth().channels()[3], 7, 7));
        cost.macs
    }

    #[test]
    fn resnet34_matches_torchvision_parameter_count_and_macs() {
        let (vs, enc) = build(ResNetDepth::R34, true);
        // torchvision resnet34: 21,797,672 parameters; 3.67 GMACs at 224 (fc adds 0.5 M).
        assert_eq!(trainable(&vs), 21_797_672);
        let macs = macs_224(&enc) + 512 * 1000;
        assert!((3.60e9..3.70e9).contains(&(macs as f64)), "{macs}");
        assert!(vs
            .variables()
            .contains_key("layer2.0.downsample.1.running_var"));
        assert!(!vs.variables().contains_key("layer1.0.downsample.0.weight"));
    }

    #[test]
    fn resnet50_matches_torchvision_parameter_count_and_macs() {
        let (vs, enc) = build(ResNetDepth::R50, false);
        // torchvision resnet50: 25,557,032 parameters of which fc 2,049,000; 4.1 GMACs at 224.
        assert_eq!(trainable(&vs), 25_557_032 - 2_049_000);
        let macs = macs_224(&enc);
        assert!((4.05e9..4.15e9).contains(&(macs as f64)), "{macs}");
        // v1.5: the stride sits in the 3×3 conv.
        let x = Tensor::zeros([1, 256, 8, 8], (Kind::Float, Device::Cpu));
        assert_eq!(enc.layer(1, &x, false).size(), [1, 512, 4, 4]);
        assert_eq!(
            vs.variables()["layer2.0.conv1.weight"].size(),
            [128, 256, 1, 1]
        );
        assert_eq!(
            vs.variables()["layer2.0.conv2.weight"].size(),
            [128, 128, 3, 3]
        );
    }

    #[test]
    fn torchvision_init_uses_kaiming_fan_out_and_unit_batch_norm() {
        let (vs, _) = build(ResNetDepth::R34, false);
        let v = vs.variables();
        let w = &v["layer3.0.conv2.weight"]; // 256×256×3×3: fan_out 2304
        let std = w.std(true).double_value(&[]);
        let want = (2.0f64 / 2304.0).sqrt();
        assert!((std / want - 1.0).abs() < 0.05, "{std} vs {want}");
        assert_eq!(
            v["layer3.0.bn2.weight"].mean(Kind::Float).double_value(&[]),
            1.0
        );
        assert_eq!(
            v["layer3.0.bn2.bias"]
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            0.0
        );
    }
}
