//! `AugmentConfig::build`: validates every parameter and turns the config tree into a [`Pipeline`].

use super::brightness::RandomBrightness;
use super::compose::{Compose, OneOf};
use super::config::{AugmentConfig, Ctx, TransformConfig};
use super::contrast::RandomContrast;
use super::elastic::{ElasticFieldMode, ElasticTransform};
use super::flip::HorizontalFlip;
use super::gamma::RandomGamma;
use super::grid_distortion::GridDistortion;
use super::normalize::Normalize;
use super::optical_distortion::OpticalDistortion;
use super::resize::Resize;
use super::shift_scale_rotate::ShiftScaleRotate;
use super::transform::{Prob, Transform};
use super::{AugmentError, Pipeline};

impl AugmentConfig {
    /// Validates the configuration and returns the runnable pipeline. Errors name the transform,
    /// the parameter and its position (`transforms[1].transforms[2]`).
    pub fn build(&self) -> Result<Pipeline, AugmentError> {
        self.build_in("<config>", "transforms")
    }

    /// [`AugmentConfig::build`] with the file name and the root location used in errors.
    pub(crate) fn build_in(&self, origin: &str, root: &str) -> Result<Pipeline, AugmentError> {
        let ctx = Ctx {
            origin,
            location: root.to_string(),
        };
        let p = ctx.prob("Compose", self.p)?;
        let (body, normalize) = match self.transforms.split_last() {
            Some((TransformConfig::Normalize(n), rest)) => {
                let ctx = Ctx {
                    origin,
                    location: format!("{root}[{}]", rest.len()),
                };
                (rest, Some(build_normalize(n, &ctx)?))
            }
            _ => (&self.transforms[..], None),
        };
        let transforms = build_list(body, origin, root)?;
        Ok(Pipeline::new(Compose { transforms, p }, normalize))
    }
}

fn build_list(
    list: &[TransformConfig],
    origin: &str,
    prefix: &str,
) -> Result<Vec<Transform>, AugmentError> {
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            build_one(
                t,
                &Ctx {
                    origin,
                    location: format!("{prefix}[{i}]"),
                },
            )
        })
        .collect()
}

/// `range` with both ends within `[-max, max]`: far beyond any augmentation's useful values, so
/// a typo (`alpha = 1e30`) is refused instead of producing nonsense.
fn bounded(
    ctx: &Ctx,
    t: &'static str,
    param: &'static str,
    range: (f64, f64),
    max: f64,
) -> Result<(f64, f64), AugmentError> {
    if range.0 < -max || range.1 > max {
        return Err(ctx.invalid(
            t,
            param,
            format!("[{}, {}]", range.0, range.1),
            format!("must be within [-{max}, {max}]"),
        ));
    }
    Ok(range)
}

fn prob(ctx: &Ctx, t: &'static str, p: f64, always_apply: bool) -> Result<Prob, AugmentError> {
    Ok(Prob {
        p: ctx.prob(t, p)?,
        always_apply,
    })
}

fn build_one(cfg: &TransformConfig, ctx: &Ctx) -> Result<Transform, AugmentError> {
    let name = cfg.name();
    Ok(match cfg {
        TransformConfig::HorizontalFlip(c) => {
            Transform::HorizontalFlip(HorizontalFlip { prob: prob(ctx, name, c.p, c.always_apply)? })
        }
        TransformConfig::RandomContrast(c) => Transform::RandomContrast(RandomContrast {
            limit: bounded(ctx, name, "limit", ctx.range(name, "limit", c.limit, 0.0)?, 100.0)?,
            prob: prob(ctx, name, c.p, c.always_apply)?,
        }),
        TransformConfig::RandomBrightness(c) => Transform::RandomBrightness(RandomBrightness {
            limit: bounded(ctx, name, "limit", ctx.range(name, "limit", c.limit, 0.0)?, 100.0)?,
            prob: prob(ctx, name, c.p, c.always_apply)?,
        }),
        TransformConfig::RandomGamma(c) => {
            let [lo, hi] = c.gamma_limit;
            let shown = format!("[{lo}, {hi}]");
            if lo.fract() != 0.0 || hi.fract() != 0.0 || lo <= 0.0 || lo > hi || hi > 1e6 {
                return Err(ctx.invalid(name, "gamma_limit", shown, "must be positive integers (gamma x 100) with lo <= hi"));
            }
            Transform::RandomGamma(RandomGamma {
                gamma_limit: (lo as i64, hi as i64),
                prob: prob(ctx, name, c.p, c.always_apply)?,
            })
        }
        TransformConfig::ElasticTransform(c) => {
            if !(c.sigma > 0.0 && c.sigma.is_finite() && c.sigma <= 1000.0) {
                return Err(ctx.invalid(name, "sigma", c.sigma, "must be in (0, 1000]"));
            }
            if !(c.alpha.is_finite() && c.alpha.abs() <= 1e5) {
                return Err(ctx.invalid(name, "alpha", c.alpha, "must be within [-100000, 100000]"));
            }
            if !(c.alpha_affine >= 0.0 && c.alpha_affine <= 1e5) {
                return Err(ctx.invalid(name, "alpha_affine", c.alpha_affine, "must be within [0, 100000]"));
            }
            if c.approximate {
                return Err(ctx.invalid(name, "approximate", true, "only approximate = false (the solution's setting) is implemented"));
            }
            let seed = match c.seed {
                None => None,
                Some(s) if (0..=i64::from(u32::MAX)).contains(&s) => Some(s as u32),
                Some(s) => return Err(ctx.invalid(name, "seed", s, "must be in [0, 2^32 - 1]")),
            };
            let fields = match c.fields.as_deref() {
                None | Some("fast") => ElasticFieldMode::Fast,
                Some("numpy") => ElasticFieldMode::Numpy,
                Some(other) => {
                    return Err(ctx.invalid(name, "fields", format!("{other:?}"), "must be \"fast\" or \"numpy\""))
                }
            };
            Transform::ElasticTransform(ElasticTransform {
                alpha: c.alpha,
                sigma: c.sigma,
                alpha_affine: c.alpha_affine,
                interpolation: ctx.interpolation(name, c.interpolation)?,
                border: ctx.border(name, c.border_mode, &c.value, "value")?,
                mask_border: ctx.border(name, c.border_mode, &c.mask_value, "mask_value")?,
                seed,
                fields,
                prob: prob(ctx, name, c.p, c.always_apply)?,
            })
        }
        TransformConfig::GridDistortion(c) => {
            if !(1..=10_000).contains(&c.num_steps) {
                return Err(ctx.invalid(name, "num_steps", c.num_steps, "must be in [1, 10000]"));
            }
            Transform::GridDistortion(GridDistortion {
                num_steps: c.num_steps,
                distort_limit: bounded(
                    ctx,
                    name,
                    "distort_limit",
                    ctx.range(name, "distort_limit", c.distort_limit, 0.0)?,
                    100.0,
                )?,
                interpolation: ctx.interpolation(name, c.interpolation)?,
                border: ctx.border(name, c.border_mode, &c.value, "value")?,
                mask_border: ctx.border(name, c.border_mode, &c.mask_value, "mask_value")?,
                prob: prob(ctx, name, c.p, c.always_apply)?,
            })
        }
        TransformConfig::OpticalDistortion(c) => {
            let shift_limit = ctx.range(name, "shift_limit", c.shift_limit, 0.0)?;
            if shift_limit.0 < -1e4 || shift_limit.1 > 1e4 {
                return Err(ctx.invalid(name, "shift_limit", format!("{shift_limit:?}"), "must be within +-10000 pixels"));
            }
            Transform::OpticalDistortion(OpticalDistortion {
                distort_limit: bounded(
                    ctx,
                    name,
                    "distort_limit",
                    ctx.range(name, "distort_limit", c.distort_limit, 0.0)?,
                    1000.0,
                )?,
                shift_limit,
                interpolation: ctx.interpolation(name, c.interpolation)?,
                border: ctx.border(name, c.border_mode, &c.value, "value")?,
                mask_border: ctx.border(name, c.border_mode, &c.mask_value, "mask_value")?,
                prob: prob(ctx, name, c.p, c.always_apply)?,
            })
        }
        TransformConfig::ShiftScaleRotate(c) => {
            let scale_range = ctx.range(name, "scale_limit", c.scale_limit, 1.0)?;
            if scale_range.1 > 1000.0 {
                return Err(ctx.invalid(name, "scale_limit", c.scale_limit.shown(), "the scale factor 1 + hi must be <= 1000"));
            }
            if scale_range.0 <= 0.0 {
                return Err(ctx.invalid(name, "scale_limit", c.scale_limit.shown(), "the scale factor 1 + lo must be > 0"));
            }
            Transform::ShiftScaleRotate(ShiftScaleRotate {
                shift_limit: bounded(
                    ctx,
                    name,
                    "shift_limit",
                    ctx.range(name, "shift_limit", c.shift_limit, 0.0)?,
                    1000.0,
                )?,
                scale_range,
                rotate_limit: bounded(
                    ctx,
                    name,
                    "rotate_limit",
                    ctx.range(name, "rotate_limit", c.rotate_limit, 0.0)?,
                    1e6,
                )?,
                interpolation: ctx.interpolation(name, c.interpolation)?,
                border: ctx.border(name, c.border_mode, &c.value, "value")?,
                mask_border: ctx.border(name, c.border_mode, &c.mask_value, "mask_value")?,
                prob: prob(ctx, name, c.p, c.always_apply)?,
            })
        }
        TransformConfig::Resize(c) => {
            for (param, v) in [("height", c.height), ("width", c.width)] {
                if !(1..=1 << 15).contains(&v) {
                    return Err(ctx.invalid(name, param, v, "must be in [1, 32768]"));
                }
            }
            Transform::Resize(Resize {
                height: c.height as usize,
                width: c.width as usize,
                interpolation: ctx.interpolation(name, c.interpolation)?,
                prob: prob(ctx, name, c.p, c.always_apply)?,
            })
        }
        TransformConfig::Normalize(_) => {
            return Err(ctx.invalid(
                name,
                "position",
                &ctx.location,
                "Normalize is supported only as the last top-level transform (it produces the float network input)",
            ))
        }
        TransformConfig::OneOf(c) => {
            let transforms = build_list(&c.transforms, ctx.origin, &format!("{}.transforms", ctx.location))?;
            let total: f64 = transforms.iter().map(Transform::p).sum();
            if transforms.is_empty() || total <= 0.0 {
                return Err(ctx.invalid(name, "transforms", transforms.len(), "needs at least one child with p > 0 (children's p are selection weights)"));
            }
            Transform::OneOf(OneOf { transforms, p: ctx.prob(name, c.p)? })
        }
        TransformConfig::Compose(c) => {
            check_compose_extras(c, ctx)?;
            let transforms = build_list(&c.transforms, ctx.origin, &format!("{}.transforms", ctx.location))?;
            Transform::Compose(Compose { transforms, p: ctx.prob(name, c.p)? })
        }
    })
}

fn build_normalize(
    c: &super::config::NormalizeConfig,
    ctx: &Ctx,
) -> Result<Normalize, AugmentError> {
    let name = "Normalize";
    if c.p < 1.0 && !c.always_apply {
        return Err(ctx.invalid(name, "p", c.p, "Normalize must always run (p = 1)"));
    }
    for (param, v) in [("mean", &c.mean), ("std", &c.std)] {
        if !(v.len() == 1 || v.len() == 3) || v.iter().any(|x| !x.is_finite()) {
            return Err(ctx.invalid(name, param, format!("{v:?}"), "needs 1 or 3 finite values"));
        }
    }
    if c.std.contains(&0.0) {
        return Err(ctx.invalid(name, "std", format!("{:?}", c.std), "must be non-zero"));
    }
    if !(c.max_pixel_value > 0.0 && c.max_pixel_value.is_finite()) {
        return Err(ctx.invalid(name, "max_pixel_value", c.max_pixel_value, "must be > 0"));
    }
    Ok(Normalize {
        mean: c.mean.clone(),
        std: c.std.clone(),
        max_pixel_value: c.max_pixel_value,
        prob: Prob {
            p: c.p,
            always_apply: c.always_apply,
        },
    })
}

/// albumentations' Compose keys for boxes, keypoints and extra targets: accepted only when empty.
pub(crate) fn check_compose_extras(
    c: &super::config::ComposeConfig,
    ctx: &Ctx,
) -> Result<(), AugmentError> {
    for (param, v) in [
        ("bbox_params", &c.bbox_params),
        ("keypoint_params", &c.keypoint_params),
        ("additional_targets", &c.additional_targets),
    ] {
        if let Some(v) = v {
            if !(v.is_null() || v.as_object().is_some_and(|o| o.is_empty())) {
                return Err(ctx.invalid(
                    "Compose",
                    param,
                    v,
                    "only empty values are supported (images and masks only)",
                ));
            }
        }
    }
    Ok(())
}
