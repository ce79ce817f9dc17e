//! selim_zoo `EncoderDecoder` U-Nets: `Resnet(seg_classes=1, backbone_arch='resnet50')` and
//! `SCSEUnet(seg_classes=1, backbone_arch='seresnext50')` (sneddy `models/selim_zoo/unet.py`).
//!
//! State_dict layout: `encoder_stages.{0..4}` (stage 1 is `Sequential(maxpool, layer1)`, so
//! layer1 lives at `encoder_stages.1.1`), `decoder_stages.{0..3}.layer.1`, `bottlenecks.{0..3}.seq`,
//! `last_upsample.layer.1`, `final.0`. `bottlenecks[i]` pairs with `decoder_stages[3 − i]`.
//! The decoder side is initialised with kaiming_normal (fan_in) and zero bias.
use crate::model::blocks::{Conv2d, ConvBottleneck, ConvInit, ConvSpec, UnetDecoderBlock};
use crate::model::cost::{max_pool, Cost, Shape};
use crate::model::encoder::{
    ResNetDepth, ResNetEncoder, ResNetPaths, SeResNeXtEncoder, SeResNeXtPaths,
};
use tch::nn;
use tch::Tensor;

/// Input sides must be multiples of this (five /2 stages).
pub const SIZE_MULTIPLE: i64 = 32;

/// Encoder channel counts e0..e4 (`filters` in selim's code).
const FILTERS: [i64; 5] = [64, 256, 512, 1024, 2048];

/// Which selim network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelimVariant {
    /// `Resnet`: torchvision ResNet50, `ConvBottleneck`, decoder [64,128,256,256], last 64.
    ResNet50,
    /// `SCSEUnet`: se_resnext50_32x4d, `ConvSCSEBottleneckNoBn` (reduction 2), decoder
    /// [64,128,256,384], last 32.
    SeResNeXt50,
}

impl SelimVariant {
    fn decoder_filters(self) -> [i64; 4] {
        match self {
            SelimVariant::ResNet50 => [64, 128, 256, 256],
            SelimVariant::SeResNeXt50 => [64, 128, 256, 384],
        }
    }

    fn last_upsample_filters(self) -> i64 {
        match self {
            SelimVariant::ResNet50 => 64,
            SelimVariant::SeResNeXt50 => 64 / 2,
        }
    }
}

#[derive(Debug)]
enum Encoder {
    ResNet(ResNetEncoder),
    SeResNeXt(SeResNeXtEncoder),
}

impl Encoder {
    fn stages(&self, x: &Tensor, train: bool) -> [Tensor; 5] {
        match self {
            Encoder::ResNet(e) => {
                let e0 = e.stem(x, train);
                let e1 = e.layer(
                    0,
                    &e0.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false),
                    train,
                );
                let e2 = e.layer(1, &e1, train);
                let e3 = e.layer(2, &e2, train);
                let e4 = e.layer(3, &e3, train);
                [e0, e1, e2, e3, e4]
            }
            Encoder::SeResNeXt(e) => {
                let e0 = e.stem(x, train);
                let e1 = e.layer(
                    0,
                    &e0.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], true),
                    train,
                );
                let e2 = e.layer(1, &e1, train);
                let e3 = e.layer(2, &e2, train);
                let e4 = e.layer(3, &e3, train);
                [e0, e1, e2, e3, e4]
            }
        }
    }

    fn stages_cost(&self, s: Shape, cost: &mut Cost) -> [Shape; 5] {
        let (e0, pooled) = match self {
            Encoder::ResNet(e) => {
                let e0 = e.stem_cost(s, cost);
                (e0, max_pool(e0, 3, 2, 1, false, cost))
            }
            Encoder::SeResNeXt(e) => {
                let e0 = e.stem_cost(s, cost);
                (e0, max_pool(e0, 3, 2, 0, true, cost))
            }
        };
        let layer = |i: usize, s: Shape, cost: &mut Cost| match self {
            Encoder::ResNet(e) => e.layer_cost(i, s, cost),
            Encoder::SeResNeXt(e) => e.layer_cost(i, s, cost),
        };
        let e1 = layer(0, pooled, cost);
        let e2 = layer(1, e1, cost);
        let e3 = layer(2, e2, cost);
        let e4 = layer(3, e3, cost);
        [e0, e1, e2, e3, e4]
    }
}

/// A selim_zoo U-Net with its variables in a caller-owned var store.
#[derive(Debug)]
pub struct SelimUnet {
    encoder: Encoder,
    decoder_stages: [UnetDecoderBlock; 4],
    bottlenecks: [ConvBottleneck; 4],
    last_upsample: UnetDecoderBlock,
    final_conv: Conv2d,
}

impl SelimUnet {
    /// Builds the network under `p` (normally the var store root).
    pub fn new(p: &nn::Path, variant: SelimVariant) -> Self {
        let df = variant.decoder_filters();
        let scse = match variant {
            SelimVariant::ResNet50 => None,
            SelimVariant::SeResNeXt50 => Some(2),
        };
        let bottlenecks = std::array::from_fn(|i| {
            let f = df[3 - i];
            ConvBottleneck::new(&(p / "bottlenecks" / i), FILTERS[3 - i] + f, f, scse)
        });
        let decoder_stages = std::array::from_fn(|i| {
            let cin = if i == 3 { FILTERS[4] } else { df[i + 1] };
            UnetDecoderBlock::new(&(p / "decoder_stages" / i), cin, df[i])
        });
        let last = variant.last_upsample_filters();
        let last_upsample = UnetDecoderBlock::new(&(p / "last_upsample"), df[0], last);
        let final_conv = Conv2d::new(
            &(p / "final" / "0"),
            ConvSpec::same(last, 1, 1, true),
            ConvInit::KaimingNormalFanIn,
        );
        let st = p / "encoder_stages";
        let encoder = match variant {
            SelimVariant::ResNet50 => Encoder::ResNet(ResNetEncoder::new(
                &ResNetPaths {
                    conv1: &st / "0" / "0",
                    bn1: &st / "0" / "1",
                    layers: [&st / "1" / "1", &st / "2", &st / "3", &st / "4"],
                    fc: None,
                },
                ResNetDepth::R50,
            )),
            SelimVariant::SeResNeXt50 => {
                Encoder::SeResNeXt(SeResNeXtEncoder::new(&SeResNeXtPaths {
                    layer0: &st / "0",
                    layers: [&st / "1" / "1", &st / "2", &st / "3", &st / "4"],
                }))
            }
        };
        SelimUnet {
            encoder,
            decoder_stages,
            bottlenecks,
            last_upsample,
            final_conv,
        }
    }

    /// Logits; the caller has checked the input (see `Net::forward_t`).
    ///
    /// # Shapes
    /// `[N, 3, H, W]` (H, W multiples of 32) → `[N, 1, H, W]`. Encoder e0 64@/2, e1 256@/4,
    /// e2 512@/8, e3 1024@/16, e4 2048@/32; decoder back up to /2, `last_upsample` to /1.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let enc = self.encoder.stages(x, train);
        let mut x = enc[4].shallow_clone();
        for (i, bottleneck) in self.bottlenecks.iter().enumerate() {
            let dec = self.decoder_stages[3 - i].forward(&x);
            x = bottleneck.forward(&dec, &enc[3 - i]);
        }
        self.final_conv.forward(&self.last_upsample.forward(&x))
    }

    /// Walks the shapes of [`SelimUnet::forward_t`] and adds up its cost.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let enc = self.encoder.stages_cost(s, cost);
        let mut x = enc[4];
        for (i, bottleneck) in self.bottlenecks.iter().enumerate() {
            let dec = self.decoder_stages[3 - i].cost(x, cost);
            x = bottleneck.cost(dec, enc[3 - i], cost);
        }
        self.final_conv.cost(self.last_upsample.cost(x, cost), cost)
    }
}
