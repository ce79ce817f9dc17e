//! [`ModelArg`]: the CLI spelling of [`ModelKind`] (clap stays out of the library).

use clap::ValueEnum;
use pneumoflow::model::ModelKind;

/// A network, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// TernausNet AlbuNet (ResNet34 U-Net), input x/255.
    #[value(name = "albunet")]
    Albunet,
    /// selim `Resnet` (ResNet50 U-Net), input ImageNet-normalised.
    #[value(name = "resnet50_unet")]
    Resnet50Unet,
    /// selim `SCSEUnet` (SE-ResNeXt50 scSE U-Net), input x/255.
    #[value(name = "seresnext50_unet")]
    Seresnext50Unet,
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> ModelKind {
        match m {
            ModelArg::Albunet => ModelKind::Albunet,
            ModelArg::Resnet50Unet => ModelKind::Resnet50Unet,
            ModelArg::Seresnext50Unet => ModelKind::Seresnext50Unet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_names_are_the_library_names() {
        for arg in ModelArg::value_variants() {
            let name = arg.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(name, ModelKind::from(*arg).name());
        }
        assert_eq!(ModelArg::value_variants().len(), ModelKind::ALL.len());
    }
}
