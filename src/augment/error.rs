//! `AugmentError`: every failure of the augment module (config loading, validation, images, preview).

use std::path::PathBuf;

/// Errors of the augment module. Config errors name the file (`origin`), where in it
/// (`location`, e.g. `transforms[2].transforms[0]`), the transform and the parameter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AugmentError {
    /// The transforms file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}: invalid TOML: {source}")]
    Toml {
        /// The file (or `<string>`).
        origin: String,
        /// The parser error (with line and column).
        source: toml::de::Error,
    },
    /// The file is not valid JSON.
    #[error("{origin}: invalid JSON: {source}")]
    Json {
        /// The file (or `<string>`).
        origin: String,
        /// The parser error (with line and column).
        source: serde_json::Error,
    },
    /// Neither `.toml` nor `.json`.
    #[error("{}: unsupported transforms file (expected .toml or .json)", path.display())]
    UnsupportedFile {
        /// The file.
        path: PathBuf,
    },
    /// The document has no transform list where one is expected.
    #[error("{origin}: {what}")]
    Structure {
        /// The file (or `<string>`).
        origin: String,
        /// What is wrong (e.g. "no `[augment]` section and no top-level `transforms`").
        what: String,
    },
    /// A transform name that pneumoflow does not implement.
    #[error("{origin}: {location}: unknown transform `{name}` (supported: {supported})")]
    UnknownTransform {
        /// The file (or `<string>`).
        origin: String,
        /// Position in the transform tree.
        location: String,
        /// The name as written.
        name: String,
        /// Comma-separated list of supported names.
        supported: &'static str,
    },
    /// A parameter that the transform does not have, a missing one, or one of the wrong type.
    #[error("{origin}: {location}: {transform}: {message}")]
    BadParameters {
        /// The file (or `<string>`).
        origin: String,
        /// Position in the transform tree.
        location: String,
        /// The transform's albumentations name.
        transform: String,
        /// The deserializer's message (names the parameter).
        message: String,
    },
    /// A parameter value outside what the transform accepts.
    #[error("{place}: {transform}.{param} = {value}: {reason}")]
    InvalidParameter {
        /// File and position in the transform tree (`file.toml: transforms[1]`).
        place: String,
        /// The transform's albumentations name.
        transform: &'static str,
        /// The parameter name.
        param: &'static str,
        /// The offending value, as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// An image buffer whose length does not match its dimensions.
    #[error("image buffer of {len} bytes does not match {width}x{height}")]
    ImageSize {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Buffer length.
        len: usize,
    },
    /// A mask whose size differs from its image.
    #[error("mask is {mask_width}x{mask_height} but the image is {width}x{height}")]
    MaskSize {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// Mask width.
        mask_width: usize,
        /// Mask height.
        mask_height: usize,
    },
    /// A preview was requested for no samples or zero columns.
    #[error("preview needs at least one sample and one column")]
    EmptyPreview,
    /// PNG encoding of the preview failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}
