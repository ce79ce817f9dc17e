//! The picture people look at for one prediction: the image in gray, the post-processed mask
//! filled in red (blended), and the ground truth's outline in green.

/// Red blend weight of predicted pixels.
const ALPHA: f32 = 0.45;

/// RGB pixels (`width * height * 3`) of `image` (gray) with `mask` (nonzero = predicted) blended
/// red and the border of `truth` (nonzero pixels with a 4-neighbour outside it or at the image
/// edge) drawn green.
///
/// # Panics
/// If a plane does not hold `width * height` pixels.
pub fn overlay_rgb(
    image: &[u8],
    truth: Option<&[u8]>,
    mask: &[u8],
    width: usize,
    height: usize,
) -> Vec<u8> {
    let n = width * height;
    assert!(image.len() == n && mask.len() == n, "plane sizes");
    let mut out = Vec::with_capacity(3 * n);
    for (&g, &m) in image.iter().zip(mask) {
        if m != 0 {
            let blend = |c: f32| (g as f32 * (1.0 - ALPHA) + c * ALPHA).round() as u8;
            out.extend([blend(255.0), blend(0.0), blend(0.0)]);
        } else {
            out.extend([g, g, g]);
        }
    }
    if let Some(t) = truth {
        assert_eq!(t.len(), n, "plane sizes");
        let on = |x: isize, y: isize| {
            x >= 0
                && y >= 0
                && (x as usize) < width
                && (y as usize) < height
                && t[y as usize * width + x as usize] != 0
        };
        for y in 0..height as isize {
            for x in 0..width as isize {
                let border =
                    on(x, y) && !(on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1));
                if border {
                    let i = 3 * (y as usize * width + x as usize);
                    out[i..i + 3].copy_from_slice(&[0, 255, 0]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_pixels_are_red_and_the_truth_outlined_green() {
        let (w, h) = (5, 4);
        let image = vec![100u8; w * h];
        let mut mask = vec![0u8; w * h];
        mask[0] = 255;
        let mut truth = vec![0u8; w * h];
        for y in 1..4 {
            for x in 1..4 {
                truth[y * w + x] = 255;
            }
        }
        let rgb = overlay_rgb(&image, Some(&truth), &mask, w, h);
        assert_eq!(&rgb[0..3], &[170, 55, 55]); // 100 * 0.55 + 255 * 0.45
        assert_eq!(&rgb[3..6], &[100, 100, 100]); // untouched
        let px = |x: usize, y: usize| &rgb[3 * (y * w + x)..3 * (y * w + x) + 3];
        assert_eq!(px(1, 1), &[0, 255, 0]); // truth border
        assert_eq!(px(2, 2), &[100, 100, 100]); // truth interior
        assert_eq!(px(3, 3), &[0, 255, 0]); // truth border at the image edge
    }
}
