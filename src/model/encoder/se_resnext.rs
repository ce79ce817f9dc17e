//! Cadene `pretrainedmodels` `se_resnext50_32x4d` encoder: `SENet(SEResNeXtBottleneck, [3,4,6,3],
//! groups=32, reduction=16, inplanes=64, input_3x3=False, downsample_kernel_size=1,
//! downsample_padding=0)` without its pooling head, as selim's `SCSEUnet` stages it.
//!
//! Reference: `pretrainedmodels/models/senet.py` (Hu et al., arXiv:1709.01507). Cadene's SENet has
//! no init loop of its own, so convs keep PyTorch's default init (BN weight 1, bias 0).
use super::{EncoderBlock, Residual, Trunk};
use crate::model::blocks::{Conv2d, ConvInit, ConvSpec};
use crate::model::cost::{Cost, Shape};
use tch::nn;
use tch::Tensor;

/// Output channels of layer1..layer4.
pub const CHANNELS: [i64; 4] = [256, 512, 1024, 2048];
const GROUPS: i64 = 32;
const REDUCTION: i64 = 16;

/// Where the encoder's parts sit in the model's state_dict.
#[derive(Debug)]
pub struct SeResNeXtPaths<'a> {
    /// `layer0` (holds `conv1` and `bn1`).
    pub layer0: nn::Path<'a>,
    /// `layer1`..`layer4`.
    pub layers: [nn::Path<'a>; 4],
}

/// Squeeze-and-excitation: `x · σ(fc2(relu(fc1(avgpool(x)))))`.
#[derive(Debug)]
struct SeModule {
    fc1: Conv2d,
    fc2: Conv2d,
}

impl SeModule {
    fn new(p: &nn::Path, c: i64) -> Self {
        let init = ConvInit::TorchDefault;
        SeModule {
            fc1: Conv2d::new(
                &(p / "fc1"),
                ConvSpec::same(c, c / REDUCTION, 1, true),
                init,
            ),
            fc2: Conv2d::new(
                &(p / "fc2"),
                ConvSpec::same(c / REDUCTION, c, 1, true),
                init,
            ),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let gate = self
            .fc2
            .forward(&self.fc1.forward(&x.adaptive_avg_pool2d([1, 1])).relu_())
            .sigmoid();
        x * gate
    }

    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        cost.elementwise += s.numel() as u64; // average pool
        let hidden = self.fc1.cost(Shape { h: 1, w: 1, ..s }, cost);
        cost.elementwise += hidden.numel() as u64;
        let gate = self.fc2.cost(hidden, cost);
        cost.elementwise += gate.numel() as u64 + s.numel() as u64; // sigmoid, multiply
        s
    }
}

/// `SEResNeXtBottleneck(inplanes, planes, groups=32, reduction=16, stride, downsample, base_width=4)`:
/// `relu(se(body(x)) + shortcut(x))`.
#[derive(Debug)]
struct Block {
    res: Residual,
    se: SeModule,
}

impl Block {
    fn new(p: &nn::Path, inplanes: i64, planes: i64, stride: i64) -> Self {
        let width = (planes * 4 / 64) * GROUPS;
        let out = planes * 4;
        let specs = [
            ConvSpec::same(inplanes, width, 1, false),
            ConvSpec::same(width, width, 3, false)
                .stride(stride)
                .groups(GROUPS),
            ConvSpec::same(width, out, 1, false),
        ];
        Block {
            res: Residual::new(p, &specs, inplanes, stride, ConvInit::TorchDefault),
            se: SeModule::new(&(p / "se_module"), out),
        }
    }
}

impl EncoderBlock for Block {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let out = self.res.body(x, train);
        let residual = self.res.shortcut(x, train);
        (self.se.forward(&out) + residual).relu_()
    }

    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let out = self.se.cost(self.res.cost(s, cost), cost);
        cost.elementwise += 2 * out.numel() as u64; // residual add, ReLU
        out
    }
}

/// SE-ResNeXt50 (32×4d) trunk: `layer0` = conv 7×7 s2 p3 + BN + ReLU; layer1..layer4.
/// The `MaxPool2d(3, stride=2, ceil_mode=True)` between layer0 and layer1 is applied by the caller.
#[derive(Debug)]
pub struct SeResNeXtEncoder {
    trunk: Trunk<Block>,
}

impl SeResNeXtEncoder {
    /// Builds the encoder with Cadene's (PyTorch default) initialisation at the given paths.
    pub fn new(paths: &SeResNeXtPaths) -> Self {
        let trunk = Trunk::new(
            &(&paths.layer0 / "conv1"),
            &(&paths.layer0 / "bn1"),
            ConvInit::TorchDefault,
            &paths.layers,
            CHANNELS,
            Block::new,
        );
        SeResNeXtEncoder { trunk }
    }

    /// layer0 without the pool: conv1 → bn1 → ReLU.
    ///
    /// # Shapes
    /// `[N, 3, H, W]` → `[N, 64, ⌈H/2⌉, ⌈W/2⌉]`.
    pub fn stem(&self, x: &Tensor, train: bool) -> Tensor {
        self.trunk.stem(x, train)
    }

    /// `layer{i+1}` for `i` in 0..4.
    ///
    /// # Shapes
    /// `[N, Cin, H, W]` → `[N, CHANNELS[i], H/s, W/s]` with `s = 1` for layer1, else 2.
    pub fn layer(&self, i: usize, x: &Tensor, train: bool) -> Tensor {
        self.trunk.layer(i, x, train)
    }

    /// Cost of [`SeResNeXtEncoder::stem`].
    pub fn stem_cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        self.trunk.stem_cost(s, cost)
    }

    /// Cost of [`SeResNeXtEncoder::layer`].
    pub fn layer_cost(&self, i: usize, s: Shape, cost: &mut Cost) -> Shape {
        self.trunk.layer_cost(i, s, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cost::max_pool;
    use tch::{nn::VarStore, Device, Kind};

    #[test]
    fn se_resnext50_matches_pretrainedmodels_parameter_count_and_macs() {
        let vs = VarStore::new(Device::Cpu);
        let r = vs.root();
        let enc = SeResNeXtEncoder::new(&SeResNeXtPaths {
            layer0: &r / "layer0",
            layers: [&r / "layer1", &r / "layer2", &r / "layer3", &r / "layer4"],
        });
        // pretrainedmodels se_resnext50_32x4d: 27,559,896 parameters of which last_linear 2,049,000.
        let params: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        assert_eq!(params, 27_559_896 - 2_049_000);
        // 4.25 GMACs at 224 (Hu et al., Table 2: SE-ResNeXt-50 4.25 GFLOPs).
        let mut cost = Cost::default();
        let s = max_pool(
            enc.stem_cost(Shape::new(1, 3, 224, 224), &mut cost),
            3,
            2,
            0,
            true,
            &mut cost,
        );
        let out = (0..4).fold(s, |s, i| enc.layer_cost(i, s, &mut cost));
        assert_eq!(out, Shape::new(1, 2048, 7, 7));
        assert!(
            (4.2e9..4.3e9).contains(&(cost.macs as f64)),
            "{}",
            cost.macs
        );
        let v = vs.variables();
        assert_eq!(v["layer1.0.conv2.weight"].size(), [128, 4, 3, 3]);
        assert_eq!(v["layer4.2.se_module.fc1.weight"].size(), [128, 2048, 1, 1]);
        assert_eq!(v["layer1.0.downsample.0.weight"].size(), [256, 64, 1, 1]);
        let x = Tensor::zeros([1, 256, 8, 8], (Kind::Float, Device::Cpu));
        assert_eq!(enc.layer(1, &x, false).size(), [1, 512, 4, 4]);
    }
}
