//! `Transform`: one node of a pipeline (a leaf transform, `OneOf` or `Compose`), its sampled
//! `Params`, and the albumentations 0.3.1 calling rules (`p`, `always_apply`, `force_apply`).

use super::brightness::RandomBrightness;
use super::compose::{Compose, OneOf};
use super::contrast::RandomContrast;
use super::elastic::{ElasticParams, ElasticTransform};
use super::flip::HorizontalFlip;
use super::gamma::RandomGamma;
use super::grid_distortion::{GridDistortion, GridParams};
use super::optical_distortion::{OpticalDistortion, OpticalParams};
use super::resize::Resize;
use super::rng::coin;
use super::scratch::border_keeps_blank;
use super::shift_scale_rotate::{ShiftScaleRotate, SsrParams};
use super::ImageU8;
use rand::Rng;

/// When a transform runs: albumentations' `p` and `always_apply`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prob {
    /// Probability of running when called normally (`U[0, 1) < p`).
    pub p: f64,
    /// Runs even when the enclosing Compose was skipped and regardless of `p`.
    pub always_apply: bool,
}

impl Prob {
    /// `p` with `always_apply = false`.
    pub fn new(p: f64) -> Self {
        Self {
            p,
            always_apply: false,
        }
    }

    /// `p = 1`, `always_apply = true`.
    pub fn always() -> Self {
        Self {
            p: 1.0,
            always_apply: true,
        }
    }
}

/// A node of an augmentation pipeline.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Transform {
    HorizontalFlip(HorizontalFlip),
    RandomContrast(RandomContrast),
    RandomGamma(RandomGamma),
    RandomBrightness(RandomBrightness),
    ElasticTransform(ElasticTransform),
    GridDistortion(GridDistortion),
    OpticalDistortion(OpticalDistortion),
    ShiftScaleRotate(ShiftScaleRotate),
    Resize(Resize),
    OneOf(OneOf),
    Compose(Compose),
}

/// The random parameters a leaf transform drew for one sample.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Params {
    HorizontalFlip,
    RandomContrast { alpha: f64 },
    RandomGamma { gamma: f64 },
    RandomBrightness { beta: f64 },
    ElasticTransform(ElasticParams),
    GridDistortion(GridParams),
    OpticalDistortion(OpticalParams),
    ShiftScaleRotate(SsrParams),
    Resize,
}

/// What [`Transform::call`] does with a leaf that runs and the parameters it drew: apply it to
/// the sample (and trace it), or only record it (a plan).
pub(crate) type RunLeaf<'a> = dyn FnMut(&Transform, Params) + 'a;

/// One leaf transform that ran, with its parameters (see [`Pipeline::apply_traced`](super::Pipeline::apply_traced)).
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// albumentations class name.
    pub name: &'static str,
    /// What it drew.
    pub params: Params,
}

impl Transform {
    /// The albumentations class name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::HorizontalFlip(_) => "HorizontalFlip",
            Self::RandomContrast(_) => "RandomContrast",
            Self::RandomGamma(_) => "RandomGamma",
            Self::RandomBrightness(_) => "RandomBrightness",
            Self::ElasticTransform(_) => "ElasticTransform",
            Self::GridDistortion(_) => "GridDistortion",
            Self::OpticalDistortion(_) => "OpticalDistortion",
            Self::ShiftScaleRotate(_) => "ShiftScaleRotate",
            Self::Resize(_) => "Resize",
            Self::OneOf(_) => "OneOf",
            Self::Compose(_) => "Compose",
        }
    }

    /// `p` of a leaf, `OneOf` or `Compose` (a OneOf child's `p` is its selection weight).
    pub fn p(&self) -> f64 {
        match self {
            Self::OneOf(o) => o.p,
            Self::Compose(c) => c.p,
            leaf => leaf.prob().map_or(1.0, |p| p.p),
        }
    }

    /// The leaf's [`Prob`]; `None` for `OneOf` / `Compose`.
    pub fn prob(&self) -> Option<Prob> {
        Some(match self {
            Self::HorizontalFlip(t) => t.prob,
            Self::RandomContrast(t) => t.prob,
            Self::RandomGamma(t) => t.prob,
            Self::RandomBrightness(t) => t.prob,
            Self::ElasticTransform(t) => t.prob,
            Self::GridDistortion(t) => t.prob,
            Self::OpticalDistortion(t) => t.prob,
            Self::ShiftScaleRotate(t) => t.prob,
            Self::Resize(t) => t.prob,
            Self::OneOf(_) | Self::Compose(_) => return None,
        })
    }

    /// Draws a leaf's parameters (albumentations `get_params`); `None` for `OneOf` / `Compose`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Params> {
        Some(match self {
            Self::HorizontalFlip(_) => Params::HorizontalFlip,
            Self::RandomContrast(t) => Params::RandomContrast {
                alpha: t.sample(rng),
            },
            Self::RandomGamma(t) => Params::RandomGamma {
                gamma: t.sample(rng),
            },
            Self::RandomBrightness(t) => Params::RandomBrightness {
                beta: t.sample(rng),
            },
            Self::ElasticTransform(t) => Params::ElasticTransform(t.sample(rng)),
            Self::GridDistortion(t) => Params::GridDistortion(t.sample(rng)),
            Self::OpticalDistortion(t) => Params::OpticalDistortion(t.sample(rng)),
            Self::ShiftScaleRotate(t) => Params::ShiftScaleRotate(t.sample(rng)),
            Self::Resize(_) => Params::Resize,
            Self::OneOf(_) | Self::Compose(_) => return None,
        })
    }

    /// Applies a leaf with given parameters (no randomness, no probability check).
    ///
    /// # Panics
    /// If `params` belongs to another transform, or `self` is `OneOf` / `Compose`.
    pub fn apply_params(&self, params: &Params, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        match (self, params) {
            (Self::HorizontalFlip(t), Params::HorizontalFlip) => t.apply(image, mask),
            (Self::RandomContrast(t), Params::RandomContrast { alpha }) => t.apply(*alpha, image),
            (Self::RandomGamma(t), Params::RandomGamma { gamma }) => t.apply(*gamma, image),
            (Self::RandomBrightness(t), Params::RandomBrightness { beta }) => t.apply(*beta, image),
            (Self::ElasticTransform(t), Params::ElasticTransform(p)) => t.apply(p, image, mask),
            (Self::GridDistortion(t), Params::GridDistortion(p)) => t.apply(p, image, mask),
            (Self::OpticalDistortion(t), Params::OpticalDistortion(p)) => t.apply(p, image, mask),
            (Self::ShiftScaleRotate(t), Params::ShiftScaleRotate(p)) => t.apply(p, image, mask),
            (Self::Resize(t), Params::Resize) => t.apply(image, mask),
            (t, p) => panic!("parameters {p:?} do not belong to {}", t.name()),
        }
    }

    /// albumentations' `__call__`: leaves run when `U < p || always_apply || force` (the coin is
    /// always drawn first); containers follow [`Compose`] / [`OneOf`] rules.
    /// `run_leaf` receives every leaf that runs, with the parameters it drew, in order.
    pub(crate) fn call<R: Rng + ?Sized>(&self, force: bool, rng: &mut R, run_leaf: &mut RunLeaf) {
        match self {
            Self::Compose(c) => c.call(force, rng, run_leaf),
            Self::OneOf(o) => o.call(force, rng, run_leaf),
            leaf => {
                let prob = leaf.prob().expect("leaf");
                let hit = coin(rng, prob.p);
                if hit || prob.always_apply || force {
                    run_leaf(leaf, leaf.sample(rng).expect("leaf"));
                }
            }
        }
    }

    /// The leaves under (or at) `self`, depth first in call order, appended to `out`.
    pub(crate) fn leaves<'a>(&'a self, out: &mut Vec<&'a Transform>) {
        match self {
            Self::Compose(c) => c.transforms.iter().for_each(|t| t.leaves(out)),
            Self::OneOf(o) => o.transforms.iter().for_each(|t| t.leaves(out)),
            leaf => out.push(leaf),
        }
    }

    /// albumentations' `find_always_apply_transforms`: the `always_apply` leaves, flattened.
    pub(crate) fn always_apply_leaves<'a>(&'a self, out: &mut Vec<&'a Transform>) {
        let mut leaves = Vec::new();
        self.leaves(&mut leaves);
        out.extend(
            leaves
                .into_iter()
                .filter(|t| t.prob().is_some_and(|p| p.always_apply)),
        );
    }

    /// Whether this leaf maps a blank (all-zero) mask to a blank mask whatever its draws: every
    /// leaf but a warp that fills mask borders with a non-zero constant.
    pub(crate) fn keeps_blank_mask(&self) -> bool {
        match self {
            Self::ShiftScaleRotate(t) => border_keeps_blank(t.mask_border),
            Self::ElasticTransform(t) => border_keeps_blank(t.mask_border),
            Self::GridDistortion(t) => border_keeps_blank(t.mask_border),
            Self::OpticalDistortion(t) => border_keeps_blank(t.mask_border),
            Self::Compose(c) => c.transforms.iter().all(Transform::keeps_blank_mask),
            Self::OneOf(o) => o.transforms.iter().all(Transform::keeps_blank_mask),
            Self::HorizontalFlip(_)
            | Self::RandomContrast(_)
            | Self::RandomGamma(_)
            | Self::RandomBrightness(_)
            | Self::Resize(_) => true,
        }
    }
}
