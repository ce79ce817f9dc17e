//! `AugmentConfig`: the `[augment]` section (serde), one config struct per albumentations class
//! with albumentations 0.3.1 parameter names and defaults, and `build()` validation.
//!
//! ```toml
//! [augment]
//! p = 1.0
//! [[augment.transforms]]
//! type = "HorizontalFlip"
//! p = 0.5
//! [[augment.transforms]]
//! type = "OneOf"
//! p = 0.3
//! [[augment.transforms.transforms]]
//! type = "RandomContrast"
//! limit = [0.1, 0.1]      # any range can be pinned
//! ```
//! Ranges follow albumentations' `to_tuple`: a number `x` means `(-x, x)` (for
//! `ShiftScaleRotate.scale_limit`: `(1 - x, 1 + x)`), a pair is taken as is (`scale_limit` + 1).

use super::geometry::{BorderMode, Interpolation};
use super::AugmentError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parameter range: a number `x` (meaning `(-x, x)`) or a pair `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// `x`: the range `(-x, x)` (albumentations `to_tuple(x)`).
    Symmetric(f64),
    /// `[lo, hi]`.
    Range(f64, f64),
}

impl Limit {
    /// albumentations `to_tuple(self, bias=bias)`.
    pub fn to_tuple(self, bias: f64) -> (f64, f64) {
        match self {
            Self::Symmetric(x) => (bias - x, bias + x),
            Self::Range(a, b) => (bias + a, bias + b),
        }
    }

    pub(crate) fn shown(self) -> String {
        match self {
            Self::Symmetric(x) => format!("{x}"),
            Self::Range(a, b) => format!("[{a}, {b}]"),
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(f64),
            Two(Vec<f64>),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a number or a pair [lo, hi]"))?
        {
            Raw::One(x) => Ok(Self::Symmetric(x)),
            Raw::Two(v) if v.len() == 2 => Ok(Self::Range(v[0], v[1])),
            Raw::Two(v) => Err(serde::de::Error::custom(format!(
                "expected a pair [lo, hi], got {} values",
                v.len()
            ))),
        }
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Symmetric(x) => s.serialize_f64(x),
            Self::Range(a, b) => [a, b].serialize(s),
        }
    }
}

/// A fill value (`value`, `mask_value`): a number or a per-channel list (the first entry is used).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FillValue {
    /// One value.
    Scalar(f64),
    /// Per channel (grey images use the first).
    List(Vec<f64>),
}

macro_rules! default_fns {
    ($($name:ident: $ty:ty = $v:expr;)*) => { $(fn $name() -> $ty { $v })* };
}
default_fns! {
    p_half: f64 = 0.5;
    p_one: f64 = 1.0;
    limit_02: Limit = Limit::Symmetric(0.2);
    gamma_default: [f64; 2] = [80.0, 120.0];
    linear: i64 = 1;
    reflect101: i64 = 4;
    elastic_alpha: f64 = 1.0;
    elastic_sigma: f64 = 50.0;
    elastic_affine: f64 = 50.0;
    five: usize = 5;
    limit_03: Limit = Limit::Symmetric(0.3);
    limit_005: Limit = Limit::Symmetric(0.05);
    shift_default: Limit = Limit::Symmetric(0.0625);
    scale_default: Limit = Limit::Symmetric(0.1);
    rotate_default: Limit = Limit::Symmetric(45.0);
    imagenet_mean: Vec<f64> = vec![0.485, 0.456, 0.406];
    imagenet_std: Vec<f64> = vec![0.229, 0.224, 0.225];
    max_255: f64 = 255.0;
}

/// `HorizontalFlip` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FlipConfig {
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `RandomContrast` / `RandomBrightness` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct LimitConfig {
    #[serde(default = "limit_02")]
    pub limit: Limit,
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `RandomGamma` parameters (`gamma_limit` in integer hundredths).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GammaConfig {
    #[serde(default = "gamma_default")]
    pub gamma_limit: [f64; 2],
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `ElasticTransform` parameters (`seed` and `fields` are pneumoflow extensions: `seed` pins the
/// fields, `fields` picks their generator).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ElasticConfig {
    #[serde(default = "elastic_alpha")]
    pub alpha: f64,
    #[serde(default = "elastic_sigma")]
    pub sigma: f64,
    #[serde(default = "elastic_affine")]
    pub alpha_affine: f64,
    #[serde(default = "linear")]
    pub interpolation: i64,
    #[serde(default = "reflect101")]
    pub border_mode: i64,
    #[serde(default)]
    pub value: Option<FillValue>,
    #[serde(default)]
    pub mask_value: Option<FillValue>,
    #[serde(default)]
    pub approximate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// pneumoflow extension: `"fast"` (default; same distribution as albumentations' fields)
    /// or `"numpy"` (bit-identical to albumentations 0.3.1 for the same seed, slower).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `GridDistortion` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GridConfig {
    #[serde(default = "five")]
    pub num_steps: usize,
    #[serde(default = "limit_03")]
    pub distort_limit: Limit,
    #[serde(default = "linear")]
    pub interpolation: i64,
    #[serde(default = "reflect101")]
    pub border_mode: i64,
    #[serde(default)]
    pub value: Option<FillValue>,
    #[serde(default)]
    pub mask_value: Option<FillValue>,
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `OpticalDistortion` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct OpticalConfig {
    #[serde(default = "limit_005")]
    pub distort_limit: Limit,
    #[serde(default = "limit_005")]
    pub shift_limit: Limit,
    #[serde(default = "linear")]
    pub interpolation: i64,
    #[serde(default = "reflect101")]
    pub border_mode: i64,
    #[serde(default)]
    pub value: Option<FillValue>,
    #[serde(default)]
    pub mask_value: Option<FillValue>,
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `ShiftScaleRotate` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SsrConfig {
    #[serde(default = "shift_default")]
    pub shift_limit: Limit,
    #[serde(default = "scale_default")]
    pub scale_limit: Limit,
    #[serde(default = "rotate_default")]
    pub rotate_limit: Limit,
    #[serde(default = "linear")]
    pub interpolation: i64,
    #[serde(default = "reflect101")]
    pub border_mode: i64,
    #[serde(default)]
    pub value: Option<FillValue>,
    #[serde(default)]
    pub mask_value: Option<FillValue>,
    #[serde(default = "p_half")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `Resize` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ResizeConfig {
    pub height: i64,
    pub width: i64,
    #[serde(default = "linear")]
    pub interpolation: i64,
    #[serde(default = "p_one")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `Normalize` parameters (only as the last transform of the top level).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NormalizeConfig {
    #[serde(default = "imagenet_mean")]
    pub mean: Vec<f64>,
    #[serde(default = "imagenet_std")]
    pub std: Vec<f64>,
    #[serde(default = "max_255")]
    pub max_pixel_value: f64,
    #[serde(default = "p_one")]
    pub p: f64,
    #[serde(default)]
    pub always_apply: bool,
}

/// `OneOf` parameters.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct OneOfConfig {
    #[serde(default)]
    pub transforms: Vec<TransformConfig>,
    #[serde(default = "p_half")]
    pub p: f64,
}

/// A nested `Compose` (the albumentations JSON keys `bbox_params`, `keypoint_params` and
/// `additional_targets` are accepted when empty).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ComposeConfig {
    #[serde(default)]
    pub transforms: Vec<TransformConfig>,
    #[serde(default = "p_one")]
    pub p: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox_params: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keypoint_params: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_targets: Option<serde_json::Value>,
}

/// One entry of a transform list, tagged by its albumentations class name (`type = "..."`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type")]
#[allow(missing_docs)]
pub enum TransformConfig {
    HorizontalFlip(FlipConfig),
    RandomContrast(LimitConfig),
    RandomBrightness(LimitConfig),
    RandomGamma(GammaConfig),
    ElasticTransform(ElasticConfig),
    GridDistortion(GridConfig),
    OpticalDistortion(OpticalConfig),
    ShiftScaleRotate(SsrConfig),
    Resize(ResizeConfig),
    Normalize(NormalizeConfig),
    OneOf(OneOfConfig),
    Compose(ComposeConfig),
}

/// The supported albumentations class names, as listed in errors.
pub const SUPPORTED: &str =
    "HorizontalFlip, RandomContrast, RandomBrightness, RandomGamma, ElasticTransform, \
GridDistortion, OpticalDistortion, ShiftScaleRotate, Resize, Normalize, OneOf, Compose";

/// Whether `name` is a supported class name.
pub(crate) fn is_supported(name: &str) -> bool {
    SUPPORTED.split(", ").any(|s| s == name)
}

impl TransformConfig {
    /// The albumentations class name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::HorizontalFlip(_) => "HorizontalFlip",
            Self::RandomContrast(_) => "RandomContrast",
            Self::RandomBrightness(_) => "RandomBrightness",
            Self::RandomGamma(_) => "RandomGamma",
            Self::ElasticTransform(_) => "ElasticTransform",
            Self::GridDistortion(_) => "GridDistortion",
            Self::OpticalDistortion(_) => "OpticalDistortion",
            Self::ShiftScaleRotate(_) => "ShiftScaleRotate",
            Self::Resize(_) => "Resize",
            Self::Normalize(_) => "Normalize",
            Self::OneOf(_) => "OneOf",
            Self::Compose(_) => "Compose",
        }
    }
}

/// The `[augment]` section: a top-level Compose.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability of the top-level Compose (albumentations `Compose(p)`).
    #[serde(default = "p_one")]
    pub p: f64,
    /// The transforms, in order. `Normalize` may only be last.
    #[serde(default)]
    pub transforms: Vec<TransformConfig>,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            p: 1.0,
            transforms: Vec::new(),
        }
    }
}

/// Validation context: where in which file.
pub(crate) struct Ctx<'a> {
    pub origin: &'a str,
    pub location: String,
}

impl Ctx<'_> {
    pub(crate) fn invalid(
        &self,
        transform: &'static str,
        param: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> AugmentError {
        AugmentError::InvalidParameter {
            place: format!("{}: {}", self.origin, self.location),
            transform,
            param,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn prob(&self, t: &'static str, p: f64) -> Result<f64, AugmentError> {
        if !(0.0..=1.0).contains(&p) {
            return Err(self.invalid(t, "p", p, "must be in [0, 1]"));
        }
        Ok(p)
    }

    pub(crate) fn range(
        &self,
        t: &'static str,
        param: &'static str,
        l: Limit,
        bias: f64,
    ) -> Result<(f64, f64), AugmentError> {
        let (a, b) = l.to_tuple(bias);
        if !(a.is_finite() && b.is_finite()) || a > b {
            return Err(self.invalid(t, param, l.shown(), "must be finite with lo <= hi"));
        }
        Ok((a, b))
    }

    pub(crate) fn interpolation(
        &self,
        t: &'static str,
        code: i64,
    ) -> Result<Interpolation, AugmentError> {
        Interpolation::from_cv(code).ok_or_else(|| {
            self.invalid(
                t,
                "interpolation",
                code,
                "only 0 (INTER_NEAREST) and 1 (INTER_LINEAR) are implemented",
            )
        })
    }

    pub(crate) fn border(
        &self,
        t: &'static str,
        code: i64,
        value: &Option<FillValue>,
        param: &'static str,
    ) -> Result<BorderMode, AugmentError> {
        let v = match value {
            None => 0.0,
            Some(FillValue::Scalar(x)) => *x,
            Some(FillValue::List(l)) => *l
                .first()
                .ok_or_else(|| self.invalid(t, param, "[]", "empty fill value"))?,
        };
        if !(0.0..=255.0).contains(&v) {
            return Err(self.invalid(t, param, v, "fill value must be in [0, 255]"));
        }
        BorderMode::from_cv(code, v as u8).ok_or_else(|| {
            self.invalid(
                t,
                "border_mode",
                code,
                "must be 0..=4 (CONSTANT, REPLICATE, REFLECT, WRAP, REFLECT_101)",
            )
        })
    }
}
