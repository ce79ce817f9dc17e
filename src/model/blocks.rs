//! Layers shared by the three networks: Conv2d and BatchNorm2d with PyTorch's state_dict names,
//! initialisation schemes, and the decoder blocks of TernausNet (`ConvRelu`, `DecoderBlockV2`) and
//! selim_zoo (`UnetDecoderBlock`, `ConvBottleneck`, `ConvSCSEBottleneckNoBn`, `SCSEModule`).
//!
//! Reference: sneddy `unet_pipeline/models/ternausnets.py` and `models/selim_zoo/unet.py`
//! In-place ReLUs mirror the reference's `ReLU(inplace=True)`.
use crate::model::cost::{Cost, Shape};
use tch::nn::{self, init::FanInOut, init::NonLinearity, init::NormalOrUniform, Init};
use tch::{Kind, Tensor};

/// How a convolution's weight and bias are initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvInit {
    /// PyTorch's `nn.Conv2d.reset_parameters`: kaiming_uniform(a=√5), i.e. U(±1/√fan_in) for the
    /// weight, and U(±1/√fan_in) for the bias.
    TorchDefault,
    /// torchvision ResNet: kaiming_normal(mode='fan_out', nonlinearity='relu'); no bias expected.
    KaimingNormalFanOut,
    /// selim_zoo `_initialize_weights`: kaiming_normal (fan_in, gain √2) and zero bias.
    KaimingNormalFanIn,
}

/// A 2-D convolution whose variables are `<path>.weight` and optionally `<path>.bias`.
#[derive(Debug)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: i64,
    padding: i64,
    groups: i64,
}

/// Geometry of a [`Conv2d`].
#[derive(Debug, Clone, Copy)]
pub struct ConvSpec {
    /// Input channels.
    pub cin: i64,
    /// Output channels.
    pub cout: i64,
    /// Square kernel size.
    pub k: i64,
    /// Stride (both axes).
    pub stride: i64,
    /// Zero padding (both axes).
    pub padding: i64,
    /// Channel groups.
    pub groups: i64,
    /// Whether the layer has a bias.
    pub bias: bool,
}

impl ConvSpec {
    /// A stride-1 convolution with `padding = k / 2`, one group.
    pub fn same(cin: i64, cout: i64, k: i64, bias: bool) -> Self {
        ConvSpec {
            cin,
            cout,
            k,
            stride: 1,
            padding: k / 2,
            groups: 1,
            bias,
        }
    }

    /// Sets the stride.
    pub fn stride(mut self, stride: i64) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: i64) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the group count.
    pub fn groups(mut self, groups: i64) -> Self {
        self.groups = groups;
        self
    }
}

impl Conv2d {
    /// Creates `weight` `[cout, cin/groups, k, k]` (and `bias` `[cout]`) under `p`.
    pub fn new(p: &nn::Path, spec: ConvSpec, init: ConvInit) -> Self {
        let dims = [spec.cout, spec.cin / spec.groups, spec.k, spec.k];
        let fan_in = (spec.cin / spec.groups) * spec.k * spec.k;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let (ws_init, bs_init) = match init {
            ConvInit::TorchDefault => (
                Init::Kaiming {
                    dist: NormalOrUniform::Uniform,
                    fan: FanInOut::FanIn,
                    non_linearity: NonLinearity::ExplicitGain((2.0f64 / 6.0).sqrt()),
                },
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            ),
            ConvInit::KaimingNormalFanOut => (
                Init::Kaiming {
                    dist: NormalOrUniform::Normal,
                    fan: FanInOut::FanOut,
                    non_linearity: NonLinearity::ReLU,
                },
                Init::Const(0.0),
            ),
            ConvInit::KaimingNormalFanIn => (
                Init::Kaiming {
                    dist: NormalOrUniform::Normal,
                    fan: FanInOut::FanIn,
                    non_linearity: NonLinearity::ReLU,
                },
                Init::Const(0.0),
            ),
        };
        let weight = p.var("weight", &dims, ws_init);
        let bias = spec.bias.then(|| p.var("bias", &[spec.cout], bs_init));
        Conv2d {
            weight,
            bias,
            stride: spec.stride,
            padding: spec.padding,
            groups: spec.groups,
        }
    }

    /// Applies the convolution.
    ///
    /// # Shapes
    /// `[N, cin, H, W]` → `[N, cout, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1]`.
    /// Inside [`super::precision::autocast`] it computes in the reduced kind (input, weight and
    /// bias cast; output in that kind).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let conv = |x: &Tensor, w: &Tensor, b: Option<&Tensor>| {
            x.conv2d(
                w,
                b,
                [self.stride, self.stride],
                [self.padding, self.padding],
                [1, 1],
                self.groups,
            )
        };
        match super::precision::reduced_kind() {
            Some(kind) if x.kind() != kind || self.weight.kind() != kind => conv(
                &x.to_kind(kind),
                &self.weight.to_kind(kind),
                self.bias.as_ref().map(|b| b.to_kind(kind)).as_ref(),
            ),
            _ => conv(x, &self.weight, self.bias.as_ref()),
        }
    }

    /// Adds this layer's multiply-accumulates and bias adds to `cost`; returns the output shape.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let w = self.weight.size();
        let (cout, cin_per_group, k) = (w[0], w[1], w[2]);
        let ho = (s.h + 2 * self.padding - k) / self.stride + 1;
        let wo = (s.w + 2 * self.padding - k) / self.stride + 1;
        let out = Shape {
            n: s.n,
            c: cout,
            h: ho,
            w: wo,
        };
        cost.macs += (out.numel() * cin_per_group * k * k) as u64;
        if self.bias.is_some() {
            cost.bias_adds += out.numel() as u64;
        }
        out
    }
}

/// `nn.BatchNorm2d` (momentum 0.1, eps 1e-5, affine) with PyTorch's buffers, including the int64
/// `num_batches_tracked` that tch's own batch norm lacks.
#[derive(Debug)]
pub struct BatchNorm2d {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    num_batches_tracked: Tensor,
}

impl BatchNorm2d {
    /// PyTorch's momentum for the running statistics.
    pub const MOMENTUM: f64 = 0.1;
    /// PyTorch's epsilon.
    pub const EPS: f64 = 1e-5;

    /// Creates `weight` (ones), `bias` (zeros), `running_mean` (zeros), `running_var` (ones) and
    /// `num_batches_tracked` (int64 scalar 0) under `p`, as `reset_parameters` does.
    pub fn new(p: &nn::Path, c: i64) -> Self {
        let weight = p.var("weight", &[c], Init::Const(1.0));
        let bias = p.var("bias", &[c], Init::Const(0.0));
        let running_mean = p.zeros_no_train("running_mean", &[c]);
        let running_var = p.ones_no_train("running_var", &[c]);
        let nbt = Tensor::zeros([], (Kind::Int64, p.device()));
        let num_batches_tracked = p.add("num_batches_tracked", nbt, false);
        BatchNorm2d {
            weight,
            bias,
            running_mean,
            running_var,
            num_batches_tracked,
        }
    }

    /// Normalises with batch statistics (updating the running ones and `num_batches_tracked`)
    /// when `train`, else with the running statistics.
    ///
    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        if train {
            let mut nbt = self.num_batches_tracked.shallow_clone();
            tch::no_grad(|| {
                let _ = nbt.g_add_scalar_(1);
            });
        }
        x.batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            Self::MOMENTUM,
            Self::EPS,
            true,
        )
    }

    /// Counts the normalisation as 2 ops (scale and shift) per element.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        cost.elementwise += 2 * s.numel() as u64;
        s
    }
}

/// TernausNet `ConvRelu(in, out)`: conv3×3 (padding 1, bias) + in-place ReLU; the conv is `<p>.conv`.
#[derive(Debug)]
pub struct ConvRelu {
    conv: Conv2d,
}

impl ConvRelu {
    /// Creates `<p>.conv.{weight,bias}` with PyTorch's default initialisation.
    pub fn new(p: &nn::Path, cin: i64, cout: i64) -> Self {
        ConvRelu {
            conv: Conv2d::new(
                &(p / "conv"),
                ConvSpec::same(cin, cout, 3, true),
                ConvInit::TorchDefault,
            ),
        }
    }

    /// # Shapes
    /// `[N, cin, H, W]` → `[N, cout, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.conv.forward(x).relu_()
    }

    /// Conv MACs plus one op per output element for the ReLU.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let out = self.conv.cost(s, cost);
        cost.elementwise += out.numel() as u64;
        out
    }
}

/// TernausNet `DecoderBlockV2(in, mid, out, is_deconv=False)`: bilinear ×2 (align_corners=False),
/// then `ConvRelu(in, mid)` at `block.1` and `ConvRelu(mid, out)` at `block.2`.
#[derive(Debug)]
pub struct DecoderBlockV2 {
    first: ConvRelu,
    second: ConvRelu,
}

impl DecoderBlockV2 {
    /// Creates `<p>.block.{1,2}.conv.*` (`block.0` is the parameter-free `Interpolate`).
    pub fn new(p: &nn::Path, cin: i64, mid: i64, cout: i64) -> Self {
        let b = p / "block";
        DecoderBlockV2 {
            first: ConvRelu::new(&(&b / "1"), cin, mid),
            second: ConvRelu::new(&(&b / "2"), mid, cout),
        }
    }

    /// # Shapes
    /// `[N, cin, H, W]` → `[N, cout, 2H, 2W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let s = x.size();
        let up = x.upsample_bilinear2d([s[2] * 2, s[3] * 2], false, 2.0, 2.0);
        self.second.forward(&self.first.forward(&up))
    }

    /// Upsampling counted as 7 ops (4 multiplies, 3 adds) per output element.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let up = Shape {
            h: s.h * 2,
            w: s.w * 2,
            ..s
        };
        cost.elementwise += 7 * up.numel() as u64;
        let mid = self.first.cost(up, cost);
        self.second.cost(mid, cost)
    }
}

/// selim_zoo `UnetDecoderBlock(in, _, out)`: nearest ×2 (`layer.0`), conv3×3 with bias
/// (`layer.1`), in-place ReLU.
#[derive(Debug)]
pub struct UnetDecoderBlock {
    conv: Conv2d,
}

impl UnetDecoderBlock {
    /// Creates `<p>.layer.1.{weight,bias}` with kaiming_normal (fan_in) and zero bias.
    pub fn new(p: &nn::Path, cin: i64, cout: i64) -> Self {
        let spec = ConvSpec::same(cin, cout, 3, true);
        UnetDecoderBlock {
            conv: Conv2d::new(&(p / "layer" / "1"), spec, ConvInit::KaimingNormalFanIn),
        }
    }

    /// # Shapes
    /// `[N, cin, H, W]` → `[N, cout, 2H, 2W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let s = x.size();
        let up = x.upsample_nearest2d([s[2] * 2, s[3] * 2], 2.0, 2.0);
        self.conv.forward(&up).relu_()
    }

    /// Nearest upsampling is a copy (1 op per output element), then conv and ReLU.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let up = Shape {
            h: s.h * 2,
            w: s.w * 2,
            ..s
        };
        cost.elementwise += up.numel() as u64;
        let out = self.conv.cost(up, cost);
        cost.elementwise += out.numel() as u64;
        out
    }
}

/// selim_zoo `SCSEModule(ch, reduction, mode='maxout')`: `max(x·σ(fc2(relu(fc1(avg(x))))),
/// x·σ(spatial_se.0(x)))`.
#[derive(Debug)]
pub struct ScseModule {
    fc1: Conv2d,
    fc2: Conv2d,
    spatial: Conv2d,
}

impl ScseModule {
    /// Creates `<p>.fc1.*`, `<p>.fc2.*` (1×1 with bias) and `<p>.spatial_se.0.weight` (1×1, no
    /// bias), all kaiming_normal (fan_in) as selim's `_initialize_weights` does.
    pub fn new(p: &nn::Path, c: i64, reduction: i64) -> Self {
        let init = ConvInit::KaimingNormalFanIn;
        ScseModule {
            fc1: Conv2d::new(
                &(p / "fc1"),
                ConvSpec::same(c, c / reduction, 1, true),
                init,
            ),
            fc2: Conv2d::new(
                &(p / "fc2"),
                ConvSpec::same(c / reduction, c, 1, true),
                init,
            ),
            spatial: Conv2d::new(
                &(p / "spatial_se" / "0"),
                ConvSpec::same(c, 1, 1, false),
                init,
            ),
        }
    }

    /// # Shapes
    /// `[N, C, H, W]` → `[N, C, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let chn = self
            .fc2
            .forward(&self.fc1.forward(&x.adaptive_avg_pool2d([1, 1])).relu_())
            .sigmoid();
        let spa = self.spatial.forward(x).sigmoid();
        (x * chn).maximum(&(x * spa))
    }

    /// Average pool (1 op per input element), the two tiny FCs, the spatial 1×1 conv, two
    /// sigmoids, two gating multiplies and the max (1 op per element each).
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        cost.elementwise += s.numel() as u64;
        let pooled = Shape { h: 1, w: 1, ..s };
        let hidden = self.fc1.cost(pooled, cost);
        cost.elementwise += hidden.numel() as u64;
        let gate = self.fc2.cost(hidden, cost);
        cost.elementwise += gate.numel() as u64;
        let spa = self.spatial.cost(s, cost);
        cost.elementwise += spa.numel() as u64 + 3 * s.numel() as u64;
        s
    }
}

/// selim_zoo `ConvBottleneck` / `ConvSCSEBottleneckNoBn`: `cat[dec, enc]` → conv3×3 (bias,
/// `seq.0`) → in-place ReLU (`seq.1`) → optional scSE (`seq.2`).
#[derive(Debug)]
pub struct ConvBottleneck {
    conv: Conv2d,
    scse: Option<ScseModule>,
}

impl ConvBottleneck {
    /// Creates `<p>.seq.0.*` and, when `scse_reduction` is given, `<p>.seq.2.*`.
    pub fn new(p: &nn::Path, cin: i64, cout: i64, scse_reduction: Option<i64>) -> Self {
        let seq = p / "seq";
        let conv = Conv2d::new(
            &(&seq / "0"),
            ConvSpec::same(cin, cout, 3, true),
            ConvInit::KaimingNormalFanIn,
        );
        let scse = scse_reduction.map(|r| ScseModule::new(&(&seq / "2"), cout, r));
        ConvBottleneck { conv, scse }
    }

    /// # Shapes
    /// `dec: [N, Cd, H, W]`, `enc: [N, Ce, H, W]` → `[N, cout, H, W]` with `Cd + Ce = cin`.
    pub fn forward(&self, dec: &Tensor, enc: &Tensor) -> Tensor {
        let x = self.conv.forward(&Tensor::cat(&[dec, enc], 1)).relu_();
        match &self.scse {
            Some(scse) => scse.forward(&x),
            None => x,
        }
    }

    /// Concat is a copy (1 op per element), then conv, ReLU and the optional scSE.
    pub fn cost(&self, dec: Shape, enc: Shape, cost: &mut Cost) -> Shape {
        let cat = Shape {
            c: dec.c + enc.c,
            ..dec
        };
        cost.elementwise += cat.numel() as u64;
        let out = self.conv.cost(cat, cost);
        cost.elementwise += out.numel() as u64;
        match &self.scse {
            Some(scse) => scse.cost(out, cost),
            None => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device};

    fn names(vs: &VarStore) -> Vec<String> {
        let mut n: Vec<String> = vs.variables().into_keys().collect();
        n.sort();
        n
    }

    #[test]
    fn batch_norm_counts_batches_only_in_train_mode() {
        let vs = VarStore::new(Device::Cpu);
        let bn = BatchNorm2d::new(&(vs.root() / "bn"), 2);
        let x = Tensor::arange(16, (Kind::Float, Device::Cpu)).view([2, 2, 2, 2]);
        let nbt = || vs.variables()["bn.num_batches_tracked"].int64_value(&[]);
        let _ = bn.forward_t(&x, false);
        assert_eq!(nbt(), 0);
        let y = bn.forward_t(&x, true);
        let _ = bn.forward_t(&x, true);
        assert_eq!(nbt(), 2);
        // Batch statistics: each channel normalised to mean 0.
        let mean = y.mean_dim([0i64, 2, 3].as_slice(), false, Kind::Float);
        assert!(mean.abs().max().double_value(&[]) < 1e-6);
        // Running mean moved 0.1 of the way from 0 twice towards channel 0's mean 5.5.
        let rm = vs.variables()["bn.running_mean"].double_value(&[0]);
        assert!((rm - 5.5 * (1.0 - 0.9f64 * 0.9)).abs() < 1e-5, "{rm}");
    }

    #[test]
    fn decoder_blocks_use_reference_names_and_double_the_size() {
        let vs = VarStore::new(Device::Cpu);
        let d = DecoderBlockV2::new(&(vs.root() / "center"), 8, 6, 4);
        let u = UnetDecoderBlock::new(&(vs.root() / "dec"), 8, 5);
        let b = ConvBottleneck::new(&(vs.root() / "bn0"), 9, 3, Some(3));
        assert_eq!(
            names(&vs),
            [
                "bn0.seq.0.bias",
                "bn0.seq.0.weight",
                "bn0.seq.2.fc1.bias",
                "bn0.seq.2.fc1.weight",
                "bn0.seq.2.fc2.bias",
                "bn0.seq.2.fc2.weight",
                "bn0.seq.2.spatial_se.0.weight",
                "center.block.1.conv.bias",
                "center.block.1.conv.weight",
                "center.block.2.conv.bias",
                "center.block.2.conv.weight",
                "dec.layer.1.bias",
                "dec.layer.1.weight",
            ]
        );
        let x = Tensor::rand([2, 8, 3, 5], (Kind::Float, Device::Cpu));
        assert_eq!(d.forward(&x).size(), [2, 4, 6, 10]);
        assert_eq!(u.forward(&x).size(), [2, 5, 6, 10]);
        let enc = Tensor::rand([2, 1, 3, 5], (Kind::Float, Device::Cpu));
        assert_eq!(b.forward(&x, &enc).size(), [2, 3, 3, 5]);
    }

    #[test]
    fn scse_maxout_is_the_larger_of_the_two_gates() {
        let vs = VarStore::new(Device::Cpu);
        let s = ScseModule::new(&(vs.root() / "s"), 4, 2);
        let x = Tensor::rand([1, 4, 3, 3], (Kind::Float, Device::Cpu));
        let y = s.forward(&x);
        // Both gates are sigmoids in (0, 1), so 0 ≤ y ≤ x for x ≥ 0, and y = x·max(gates) > 0.
        assert!(y.le_tensor(&x).all().int64_value(&[]) == 1);
        assert!(y.gt(0.0).all().int64_value(&[]) == 1);
    }

    #[test]
    fn torch_default_conv_init_is_bounded_by_inverse_sqrt_fan_in() {
        let vs = VarStore::new(Device::Cpu);
        let _ = Conv2d::new(
            &(vs.root() / "c"),
            ConvSpec::same(16, 32, 3, true),
            ConvInit::TorchDefault,
        );
        let bound = 1.0 / (16.0f64 * 9.0).sqrt();
        let v = vs.variables();
        assert!(v["c.weight"].abs().max().double_value(&[]) <= bound);
        assert!(v["c.bias"].abs().max().double_value(&[]) <= bound);
        // U(−b, b) has std b/√3; 4608 draws land well within 10% of it.
        let std = v["c.weight"].std(true).double_value(&[]);
        assert!((std / (bound / 3f64.sqrt()) - 1.0).abs() < 0.1, "{std}");
    }
}
