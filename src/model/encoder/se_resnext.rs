//! Cadene `pretrainedmodels` `se_resnext50_32x4d` encoder: `SENet(SEResNeXtBottleneck, [3,4,6,3],
//! groups=32, reduction=16, inplanes=64, input_3x3=False, downsample_kernel_size=1,
//! downsample_padding=0)` without its pooling head, as selim's `SCSEUnet` stages it.
//!
//! Reference: `pretrainedmodels/models/senet.py` (Hu et al., arXiv:1709.01507). Cadene's SENet has
//! no init loop of its own, so convs keep PyTorch's default init (BN weight 1, bias 0).
use crate::model::blocks::{BatchNorm2d, Conv2d, ConvInit, ConvSpec};
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

/// `SEResNeXtBottleneck(inplanes, planes, groups=32, reduction=16, stride, downsample, base_width=4)`.
#[derive(Debug)]
struct Block {
    convs: [(Conv2d, BatchNorm2d); 3],
    se: SeModule,
    downsample: Option<(Conv2d, BatchNorm2d)>,
}

impl Block {
    fn new(p: &nn::Path, inplanes: i64, planes: i64, stride: i64, downsample: bool) -> Self {
        let width = (planes * 4 / 64) * GROUPS;
        let out = planes * 4;
        let init = ConvInit::TorchDefault;
        let specs = [
            ConvSpec::same(inplanes, width, 1, false),
            ConvSpec::same(width, width, 3, false)
                .stride(stride)
                .groups(GROUPS),
            ConvSpec::same(width, out, 1, false),
        ];
        let convs = std::array::from_fn(|i| {
            let conv = Conv2d::new(&(p / format!("conv{}", i + 1)), specs[i], init);
            (
                conv,
                BatchNorm2d::new(&(p / format!("bn{}", i + 1)), specs[i].cout),
            )
        });
        let downsample = downsample.then(|| {
            let d = p / "downsample";
            let conv = Conv2d::new(
                &(&d / "0"),
                ConvSpec::same(inplanes, out, 1, false).stride(stride),
                init,
            );
            (conv, BatchNorm2d::new(&(&d / "1"), out))
        });
        Block {
            convs,
            se: SeModule::new(&(p / "se_module"), out),
            downsample,
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut out = x.shallow_clone();
        for (i, (conv, bn)) in self.convs.iter().enumerate() {
            out = bn.forward_t(&conv.forward(&out), train);
            if i < 2 {
                out = out.relu_();
            }
        }
        let residual = match &self.downsample {
            Some((conv, bn)) => bn.forward_t(&conv.forward(x), train),
            None => x.shallow_clone(),
        };
        (self.se.forward(&out) + residual).relu_()
    }

    fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let mut out = s;
        for (i, (conv, bn)) in self.convs.iter().enumerate() {
            out = bn.cost(conv.cost(out, cost), cost);
            if i < 2 {
                cost.elementwise += out.numel() as u64;
            }
        }
        if let Some((conv, bn)) = &self.downsample {
            bn.cost(conv.cost(s, cost), cost);
        }
        let out = self.se.cost(out, cost);
        cost.elementwise += 2 * out.numel() as u64; // residual add, ReLU
        out
    }
}

/// SE-ResNeXt50 (32×4d) trunk: `layer0` = conv 7×7 s2 p3 + BN + ReLU; layer1..layer4.
/// The `MaxPool2d(3, stride=2, ceil_mode=True)` between layer0 and layer1 is applied by the caller.
#[derive(Debug)]
pub struct SeResNeXtEncoder {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    layers: [Vec<Block>; 4],
}

impl SeResNeXtEncoder {
    /// Builds the encoder with Cadene's (PyTorch default) initialisation at the given paths.
    pub fn new(paths: &SeResNeXtPaths) -> Self {
        let conv1 = Conv2d::new(
            &(&paths.layer0 / "conv1"),
            ConvSpec::same(3, 64, 7, false).stride(2).padding(3),
            ConvInit::TorchDefault,
        );
        let bn1 = BatchNorm2d::new(&(&paths.layer0 / "bn1"), 64);
        let mut inplanes = 64;
        let layers = std::array::from_fn(|i| {
            let planes = [64, 128, 256, 512][i];
            let stride = if i == 0 { 1 } else { 2 };
            (0..[3, 4, 6, 3][i])
                .map(|b| {
                    let (s, ds) = if b == 0 {
                        (stride, stride != 1 || inplanes != planes * 4)
                    } else {
                        (1, false)
                    };
                    let block = Block::new(&(&paths.layers[i] / b), inplanes, planes, s, ds);
                    inplanes = planes * 4;
                    block
                })
                .collect()
        });
        SeResNeXtEncoder { conv1, bn1, layers }
    }

    /// layer0 without the pool: conv1 → bn1 → ReLU.
    ///
    /// # Shapes
    /// `[N, 3, H, W]` → `[N, 64, ⌈H/2⌉, ⌈W/2⌉]`.
    pub fn stem(&self, x: &Tensor, train: bool) -> Tensor {
        self.bn1.forward_t(&self.conv1.forward(x), train).relu_()
    }

    /// `layer{i+1}` for `i` in 0..4.
    ///
    /// # Shapes
    /// `[N, Cin, H, W]` → `[N, CHANNELS[i], H/s, W/s]` with `s = 1` for layer1, else 2.
    pub fn layer(&self, i: usize, x: &Tensor, train: bool) -> Tensor {
        self.layers[i]
            .iter()
            .fold(x.shallow_clone(), |x, b| b.forward_t(&x, train))
    }

    /// Cost of [`SeResNeXtEncoder::stem`].
    pub fn stem_cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let out = self.bn1.cost(self.conv1.cost(s, cost), cost);
        cost.elementwise += out.numel() as u64;
        out
    }

    /// Cost of [`SeResNeXtEncoder::layer`].
    pub fn layer_cost(&self, i: usize, s: Shape, cost: &mut Cost) -> Shape {
        self.layers[i].iter().fold(s, |s, b| b.cost(s, cost))
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
