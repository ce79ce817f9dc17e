//! `HorizontalFlip`: mirror the width axis of image and mask (albumentations `F.hflip`).

use super::transform::Prob;
use super::ImageU8;

/// albumentations `HorizontalFlip(p)`: `out(x, y) = in(W - 1 - x, y)`, image and mask alike.
#[derive(Clone, Debug, PartialEq)]
pub struct HorizontalFlip {
    /// When it runs.
    pub prob: Prob,
}

impl HorizontalFlip {
    /// Flips `image` (and `mask`) in place.
    pub fn apply(&self, image: &mut ImageU8, mask: Option<&mut ImageU8>) {
        hflip(image);
        // a blank mask (every negative sample) flips to itself
        if let Some(m) = mask.filter(|m| !super::scratch::all_zero(m.data())) {
            hflip(m);
        }
    }
}

/// Mirrors every row in place.
pub fn hflip(img: &mut ImageU8) {
    let w = img.width();
    if w == 0 {
        return;
    }
    for row in img.data_mut().chunks_exact_mut(w) {
        row.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_literal_and_twice_is_identity() {
        let orig = ImageU8::from_vec(3, 2, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let mut img = orig.clone();
        let mut mask = ImageU8::from_vec(3, 2, vec![0, 0, 255, 255, 0, 0]).unwrap();
        let t = HorizontalFlip {
            prob: Prob::always(),
        };
        t.apply(&mut img, Some(&mut mask));
        assert_eq!(img.data(), &[3, 2, 1, 6, 5, 4]);
        assert_eq!(mask.data(), &[255, 0, 0, 0, 0, 255]);
        t.apply(&mut img, None);
        assert_eq!(img, orig);
    }
}
