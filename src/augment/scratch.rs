//! Per-thread reusable pixel buffers, so geometric transforms do not allocate (and page-fault)
//! a fresh output image for every sample.

use super::ImageU8;
use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

const MAX_POOLED: usize = 4;

/// Replaces `img` by `f(img)`: `f` receives the current image and a `width x height` output whose
/// buffer comes from the pool (contents unspecified; `f` must write every pixel).
pub(crate) fn replace_image(
    img: &mut ImageU8,
    width: usize,
    height: usize,
    f: impl FnOnce(&ImageU8, &mut ImageU8),
) {
    let buf = POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    let mut out = ImageU8::new(0, 0);
    let empty = out.replace_buffer(width, height, buf);
    drop(empty);
    f(img, &mut out);
    std::mem::swap(img, &mut out);
    let old = out.into_vec();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < MAX_POOLED {
            p.push(old);
        }
    });
}

/// A mask that every geometric transform maps to itself (all zero, and a border that only
/// produces zeros): resampling it can be skipped without changing the result.
pub(crate) fn is_blank_mask(mask: &ImageU8, border: super::BorderMode) -> bool {
    border_keeps_blank(border) && all_zero(mask.data())
}

/// Whether a warp with this mask border maps a blank mask to a blank mask (every border but a
/// non-zero constant).
pub(crate) fn border_keeps_blank(border: super::BorderMode) -> bool {
    !matches!(border, super::BorderMode::Constant(v) if v != 0)
}

/// `data` is all zero (OR-reduction over 64-byte blocks, which vectorises, with an early exit).
pub(crate) fn all_zero(data: &[u8]) -> bool {
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        if b.iter().fold(0u8, |a, &v| a | v) != 0 {
            return false;
        }
    }
    blocks.remainder().iter().all(|&v| v == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_zero_sees_every_byte() {
        for len in [0, 1, 63, 64, 65, 200] {
            let mut v = vec![0u8; len];
            assert!(all_zero(&v));
            for i in 0..len {
                v[i] = 1;
                assert!(!all_zero(&v), "{len} {i}");
                v[i] = 0;
            }
        }
    }

    #[test]
    fn replace_image_resizes_and_reuses() {
        let mut img = ImageU8::from_fn(4, 3, |x, y| (x + y) as u8);
        replace_image(&mut img, 2, 2, |src, out| {
            for (i, v) in out.data_mut().iter_mut().enumerate() {
                *v = src.data()[i] + 100;
            }
        });
        assert_eq!((img.width(), img.height()), (2, 2));
        assert_eq!(img.data(), &[100, 101, 102, 103]);
    }
}
