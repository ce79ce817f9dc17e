//! The solution's segmentation networks in tch: AlbuNet, ResNet50 U-Net, SE-ResNeXt50 scSE U-Net.
//!
//! - [`ModelKind`] names a network and its input normalisation; [`Net`] builds one into its own
//!   var store whose variable names equal the reference PyTorch state_dict keys.
//! - [`weights`] imports PyTorch state_dicts (full checkpoints or ImageNet encoders) and writes
//!   safetensors atomically; [`cost`] counts parameters and forward FLOPs analytically.
//! - Layers: [`blocks`] (conv, BatchNorm, decoder blocks, scSE), [`encoder`] (ResNet34/50,
//!   SE-ResNeXt50), networks [`albunet`] and [`selim_unet`].
pub mod albunet;
pub mod blocks;
pub mod cost;
pub mod encoder;
pub mod error;
pub mod kind;
pub mod net;
pub mod precision;
pub mod selim_unet;
pub mod weights;

pub use cost::{Cost, Shape};
pub use error::{Mismatch, ModelError, SourceLayout, WeightsError};
pub use kind::{InputNorm, ModelKind};
pub use net::{Net, ParamCount};
pub use weights::{
    import_state_dict, read_state_dict, write_safetensors_atomic, ImportReport, Imported,
};
