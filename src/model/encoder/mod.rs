//! Encoders (ImageNet trunks) of the solution's networks, each returning its stage outputs.
pub mod resnet;
pub mod se_resnext;

pub use resnet::{ResNetDepth, ResNetEncoder, ResNetPaths};
pub use se_resnext::{SeResNeXtEncoder, SeResNeXtPaths};
