//! AlbuNet: TernausNet's ResNet34 U-Net (`models.ternausnets.AlbuNet`, num_classes=1,
//! num_filters=32, is_deconv=False), as sneddy's `unet_pipeline/models/ternausnets.py`.
//!
//! The torchvision resnet34 lives under `encoder.` (fc included, as in the reference state_dict).
//! The reference registers the same encoder modules a second time as `conv1.0` (conv1),
//! `conv1.1` (bn1) and `conv2`..`conv5` (layer1..layer4); the var store keeps only the
//! `encoder.` names, and [`ALIASES`] lists the alias prefixes for import and export.
use crate::model::blocks::{Conv2d, ConvInit, ConvRelu, ConvSpec, DecoderBlockV2};
use crate::model::cost::{max_pool, Cost, Shape};
use crate::model::encoder::{ResNetDepth, ResNetEncoder, ResNetPaths};
use tch::nn;
use tch::Tensor;

/// `(alias prefix, canonical prefix)` pairs: the reference's second names for encoder tensors.
pub const ALIASES: [(&str, &str); 6] = [
    ("conv1.0.", "encoder.conv1."),
    ("conv1.1.", "encoder.bn1."),
    ("conv2.", "encoder.layer1."),
    ("conv3.", "encoder.layer2."),
    ("conv4.", "encoder.layer3."),
    ("conv5.", "encoder.layer4."),
];

/// Input sides must be multiples of this (five /2 stages plus the pool before `center`).
pub const SIZE_MULTIPLE: i64 = 64;

const NF: i64 = 32;

/// AlbuNet with its variables in a caller-owned var store.
#[derive(Debug)]
pub struct AlbuNet {
    encoder: ResNetEncoder,
    center: DecoderBlockV2,
    dec: [DecoderBlockV2; 5],
    dec0: ConvRelu,
    final_conv: Conv2d,
}

impl AlbuNet {
    /// Builds AlbuNet under `p` (normally the var store root): torchvision init for the encoder,
    /// PyTorch default init for the decoder.
    pub fn new(p: &nn::Path) -> Self {
        let e = p / "encoder";
        let paths = ResNetPaths {
            conv1: &e / "conv1",
            bn1: &e / "bn1",
            layers: [&e / "layer1", &e / "layer2", &e / "layer3", &e / "layer4"],
            fc: Some(&e / "fc"),
        };
        let encoder = ResNetEncoder::new(&paths, ResNetDepth::R34);
        let center = DecoderBlockV2::new(&(p / "center"), 512, NF * 16, NF * 8);
        let dec = [
            DecoderBlockV2::new(&(p / "dec5"), 512 + NF * 8, NF * 16, NF * 8),
            DecoderBlockV2::new(&(p / "dec4"), 256 + NF * 8, NF * 16, NF * 8),
            DecoderBlockV2::new(&(p / "dec3"), 128 + NF * 8, NF * 8, NF * 2),
            DecoderBlockV2::new(&(p / "dec2"), 64 + NF * 2, NF * 4, NF * 4),
            DecoderBlockV2::new(&(p / "dec1"), NF * 4, NF * 4, NF),
        ];
        let dec0 = ConvRelu::new(&(p / "dec0"), NF, NF);
        let final_conv = Conv2d::new(
            &(p / "final"),
            ConvSpec::same(NF, 1, 1, true),
            ConvInit::TorchDefault,
        );
        AlbuNet {
            encoder,
            center,
            dec,
            dec0,
            final_conv,
        }
    }

    /// Logits; the caller has checked the input (see `Net::forward_t`).
    ///
    /// # Shapes
    /// `[N, 3, H, W]` (H, W multiples of 64) → `[N, 1, H, W]`. For H = 1024: conv1 64@512 →
    /// pool 64@256, conv2 64@256, conv3 128@128, conv4 256@64, conv5 512@32, center 256@32,
    /// dec5 256@64, dec4 256@128, dec3 64@256, dec2 128@512, dec1 32@1024, final 1@1024.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let pool = |t: &Tensor| t.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
        let conv1 = pool(&self.encoder.stem(x, train));
        let conv2 = self.encoder.layer(0, &conv1, train);
        let conv3 = self.encoder.layer(1, &conv2, train);
        let conv4 = self.encoder.layer(2, &conv3, train);
        let conv5 = self.encoder.layer(3, &conv4, train);
        let center = self.center.forward(&pool(&conv5));
        let dec5 = self.dec[0].forward(&Tensor::cat(&[&center, &conv5], 1));
        let dec4 = self.dec[1].forward(&Tensor::cat(&[&dec5, &conv4], 1));
        let dec3 = self.dec[2].forward(&Tensor::cat(&[&dec4, &conv3], 1));
        let dec2 = self.dec[3].forward(&Tensor::cat(&[&dec3, &conv2], 1));
        let dec1 = self.dec[4].forward(&dec2);
        self.final_conv.forward(&self.dec0.forward(&dec1))
    }

    /// Walks the shapes of [`AlbuNet::forward_t`] and adds up its cost.
    pub fn cost(&self, s: Shape, cost: &mut Cost) -> Shape {
        let conv1 = max_pool(self.encoder.stem_cost(s, cost), 2, 2, 0, false, cost);
        let conv2 = self.encoder.layer_cost(0, conv1, cost);
        let conv3 = self.encoder.layer_cost(1, conv2, cost);
        let conv4 = self.encoder.layer_cost(2, conv3, cost);
        let conv5 = self.encoder.layer_cost(3, conv4, cost);
        let center = self
            .center
            .cost(max_pool(conv5, 2, 2, 0, false, cost), cost);
        let mut x = center;
        for (block, skip) in self.dec[..4].iter().zip([conv5, conv4, conv3, conv2]) {
            let cat = Shape {
                c: x.c + skip.c,
                ..x
            };
            cost.elementwise += cat.numel() as u64;
            x = block.cost(cat, cost);
        }
        let dec1 = self.dec[4].cost(x, cost);
        self.final_conv.cost(self.dec0.cost(dec1, cost), cost)
    }
}
