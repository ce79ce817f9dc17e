//! `render_preview`: a PNG contact sheet of augmented samples with each mask's outline drawn in red.

use super::geometry::{resize, Interpolation};
use super::{AugmentError, ImageU8};

/// One tile of the preview.
#[derive(Clone, Copy, Debug)]
pub struct PreviewSample<'a> {
    /// The (augmented) grey image.
    pub image: &'a ImageU8,
    /// Its mask (non-zero = foreground), outlined in red; `None` draws no outline.
    pub mask: Option<&'a ImageU8>,
}

/// Layout of the preview grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreviewOptions {
    /// Tiles per row.
    pub cols: usize,
    /// Tiles larger than this (in either dimension) are downscaled to fit; 0 keeps full size.
    pub max_tile: usize,
    /// Pixels between tiles.
    pub gap: usize,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        Self {
            cols: 4,
            max_tile: 512,
            gap: 4,
        }
    }
}

const BACKGROUND: [u8; 3] = [32, 32, 32];
const OUTLINE: [u8; 3] = [255, 40, 40];

/// Renders `samples` row by row into an RGB PNG and returns the encoded bytes.
pub fn render_preview(
    samples: &[PreviewSample<'_>],
    opts: &PreviewOptions,
) -> Result<Vec<u8>, AugmentError> {
    if samples.is_empty() || opts.cols == 0 {
        return Err(AugmentError::EmptyPreview);
    }
    let tiles: Vec<(ImageU8, Option<ImageU8>)> =
        samples.iter().map(|s| fit(s, opts.max_tile)).collect();
    let tw = tiles.iter().map(|t| t.0.width()).max().unwrap_or(1);
    let th = tiles.iter().map(|t| t.0.height()).max().unwrap_or(1);
    let cols = opts.cols.min(tiles.len());
    let rows = tiles.len().div_ceil(cols);
    let width = cols * tw + (cols + 1) * opts.gap;
    let height = rows * th + (rows + 1) * opts.gap;
    let mut rgb = BACKGROUND.repeat(width * height);
    for (i, (img, mask)) in tiles.iter().enumerate() {
        let ox = opts.gap + (i % cols) * (tw + opts.gap);
        let oy = opts.gap + (i / cols) * (th + opts.gap);
        for y in 0..img.height() {
            for x in 0..img.width() {
                let v = img.get(x, y);
                let px = if mask.as_ref().is_some_and(|m| is_outline(m, x, y)) {
                    OUTLINE
                } else {
                    [v, v, v]
                };
                let o = ((oy + y) * width + ox + x) * 3;
                rgb[o..o + 3].copy_from_slice(&px);
            }
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()?;
    }
    Ok(png_bytes)
}

/// Downscales a sample to fit `max_tile` (image bilinear, mask nearest).
fn fit(s: &PreviewSample<'_>, max_tile: usize) -> (ImageU8, Option<ImageU8>) {
    let (w, h) = (s.image.width(), s.image.height());
    let longest = w.max(h);
    if max_tile == 0 || longest <= max_tile {
        return (s.image.clone(), s.mask.cloned());
    }
    let nw = (w * max_tile / longest).max(1);
    let nh = (h * max_tile / longest).max(1);
    let img = resize(s.image, nw, nh, Interpolation::Linear);
    let mask = s.mask.map(|m| resize(m, nw, nh, Interpolation::Nearest));
    (img, mask)
}

/// A foreground pixel with a background 4-neighbour (or on the image edge).
fn is_outline(m: &ImageU8, x: usize, y: usize) -> bool {
    if x >= m.width() || y >= m.height() || m.get(x, y) == 0 {
        return false;
    }
    if x == 0 || y == 0 || x + 1 == m.width() || y + 1 == m.height() {
        return true;
    }
    m.get(x - 1, y) == 0 || m.get(x + 1, y) == 0 || m.get(x, y - 1) == 0 || m.get(x, y + 1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn grid_layout_and_outline() {
        let img = ImageU8::from_fn(6, 5, |_, _| 100);
        let mask = ImageU8::from_fn(6, 5, |x, y| {
            if (1..=4).contains(&x) && (1..=3).contains(&y) {
                255
            } else {
                0
            }
        });
        let s = PreviewSample {
            image: &img,
            mask: Some(&mask),
        };
        let png = render_preview(
            &[s, s, s],
            &PreviewOptions {
                cols: 2,
                max_tile: 0,
                gap: 1,
            },
        )
        .unwrap();
        let (w, h, rgb) = decode(&png);
        assert_eq!((w, h), (2 * 6 + 3, 2 * 5 + 3));
        let px = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..(y * w as usize + x) * 3 + 3];
        assert_eq!(px(0, 0), &BACKGROUND);
        assert_eq!(px(1 + 1, 1 + 1), &OUTLINE); // mask corner (1, 1) of tile 0
        assert_eq!(px(1 + 2, 1 + 2), &[100, 100, 100]); // mask interior stays grey
        assert_eq!(px(1, 1), &[100, 100, 100]); // background of the tile
        assert_eq!(px(w as usize - 2, h as usize - 2), &BACKGROUND); // the empty 4th cell
    }

    #[test]
    fn empty_preview_is_an_error() {
        assert!(matches!(
            render_preview(&[], &PreviewOptions::default()),
            Err(AugmentError::EmptyPreview)
        ));
    }
}
