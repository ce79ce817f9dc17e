//! [`ModelKind`]: the three networks of the solution, their input normalisation (x/255 or ImageNet,
//! as each model's training transforms did)
//! and input-size rule.
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::Tensor;

/// One of the solution's segmentation networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// TernausNet AlbuNet (ResNet34 U-Net), input x/255.
    Albunet,
    /// selim `Resnet` (ResNet50 U-Net), input ImageNet-normalised.
    Resnet50Unet,
    /// selim `SCSEUnet` (SE-ResNeXt50 scSE U-Net), input x/255.
    Seresnext50Unet,
}

/// How raw 0..255 pixels become network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputNorm {
    /// `x / 255` (albumentations `ToTensor` on uint8), no mean/std.
    Unit,
    /// albumentations `Normalize(mean=(0.485,0.456,0.406), std=(0.229,0.224,0.225))`:
    /// `(x − 255·mean_c) / (255·std_c)` per channel index (float32, multiplying by the reciprocal).
    ImageNet,
}

/// ImageNet channel means used by [`InputNorm::ImageNet`].
pub const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations used by [`InputNorm::ImageNet`].
pub const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

impl ModelKind {
    /// All kinds, in CLI order.
    pub const ALL: [ModelKind; 3] = [
        ModelKind::Albunet,
        ModelKind::Resnet50Unet,
        ModelKind::Seresnext50Unet,
    ];

    /// The CLI / config name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Albunet => "albunet",
            ModelKind::Resnet50Unet => "resnet50_unet",
            ModelKind::Seresnext50Unet => "seresnext50_unet",
        }
    }

    /// The kind named `name` (`albunet`, `resnet50_unet`, `seresnext50_unet`).
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Input height and width must be positive multiples of this.
    pub fn size_multiple(self) -> i64 {
        match self {
            ModelKind::Albunet => crate::model::albunet::SIZE_MULTIPLE,
            _ => crate::model::selim_unet::SIZE_MULTIPLE,
        }
    }

    /// The normalisation the reference trained this network with.
    pub fn input_norm(self) -> InputNorm {
        match self {
            ModelKind::Resnet50Unet => InputNorm::ImageNet,
            _ => InputNorm::Unit,
        }
    }

    /// State_dict prefix of the encoder (the part frozen by `freeze_encoder`).
    pub fn encoder_prefix(self) -> &'static str {
        match self {
            ModelKind::Albunet => "encoder.",
            _ => "encoder_stages.",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl InputNorm {
    /// The normalisation as per-channel tables `byte -> float32`, computed with the same float32
    /// operations as [`InputNorm::apply`] (so a table lookup equals the tensor computation).
    pub fn tables(self) -> [[f32; 256]; 3] {
        match self {
            InputNorm::Unit => [std::array::from_fn(|i| i as f32 / 255.0); 3],
            InputNorm::ImageNet => std::array::from_fn(|c| {
                let mean = IMAGENET_MEAN[c] as f32 * 255.0;
                let inv_std = 1.0 / (IMAGENET_STD[c] as f32 * 255.0);
                std::array::from_fn(|i| (i as f32 - mean) * inv_std)
            }),
        }
    }

    /// Normalises raw pixel values.
    ///
    /// # Shapes
    /// `[N, 3, H, W]` float in 0..255 → `[N, 3, H, W]` of the same kind.
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            InputNorm::Unit => x / 255.0,
            InputNorm::ImageNet => {
                // albumentations 0.3.1 in float32: (x − f32(mean)·255) · (1 / (f32(std)·255)).
                let mean = IMAGENET_MEAN.map(|m| m as f32 * 255.0);
                let inv_std = IMAGENET_STD.map(|s| 1.0 / (s as f32 * 255.0));
                let mean = Tensor::from_slice(&mean)
                    .to_device(x.device())
                    .to_kind(x.kind());
                let inv_std = Tensor::from_slice(&inv_std)
                    .to_device(x.device())
                    .to_kind(x.kind());
                (x - mean.view([1, 3, 1, 1])) * inv_std.view([1, 3, 1, 1])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn names_are_the_config_names() {
        for kind in ModelKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialise");
            assert_eq!(json, format!("\"{}\"", kind.name()));
            let back: ModelKind = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, kind);
        }
        assert!(serde_json::from_str::<ModelKind>("\"resnet50-unet\"").is_err());
    }

    #[test]
    fn normalisation_follows_the_reference_per_model() {
        let x = Tensor::from_slice(&[0.0f32, 255.0, 0.0, 255.0, 0.0, 255.0]).view([1, 3, 1, 2]);
        let unit = ModelKind::Albunet.input_norm().apply(&x);
        assert_eq!(
            Vec::<f32>::try_from(unit.flatten(0, -1)).expect("vec"),
            [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
        );
        assert_eq!(ModelKind::Seresnext50Unet.input_norm(), InputNorm::Unit);
        let net = ModelKind::Resnet50Unet.input_norm().apply(&x);
        assert_eq!(net.kind(), Kind::Float);
        let v = Vec::<f32>::try_from(net.flatten(0, -1)).expect("vec");
        for c in 0..3 {
            let lo = -IMAGENET_MEAN[c] / IMAGENET_STD[c];
            let hi = (1.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
            assert!(
                (f64::from(v[2 * c]) - lo).abs() < 1e-5,
                "channel {c}: {} vs {lo}",
                v[2 * c]
            );
            assert!(
                (f64::from(v[2 * c + 1]) - hi).abs() < 1e-5,
                "channel {c}: {} vs {hi}",
                v[2 * c + 1]
            );
        }
    }
}
