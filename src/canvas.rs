//! Small RGB drawing for the PNG plots (`curves.png`, `sweep.png`): a canvas with filled
//! rectangles, and text in a 5×7 bitmap font (one pixel between glyphs, 6 px per character).

/// Width of one character of [`Canvas::text`], in pixels (glyph and spacing).
pub const CHAR_W: usize = 6;
/// Height of one line of [`Canvas::text`], in pixels.
pub const CHAR_H: usize = 7;

/// An RGB canvas, row-major, 3 bytes per pixel, white at first.
#[derive(Clone, Debug)]
pub struct Canvas {
    width: usize,
    height: usize,
    px: Vec<u8>,
}

impl Canvas {
    /// A white `width` x `height` canvas.
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            px: vec![255; width * height * 3],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The interleaved RGB bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.px
    }

    /// The colour at `(x, y)`.
    ///
    /// # Panics
    /// If `(x, y)` is outside the canvas.
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "({x}, {y}) is outside the canvas"
        );
        let i = (y * self.width + x) * 3;
        [self.px[i], self.px[i + 1], self.px[i + 2]]
    }

    /// Sets one pixel; pixels outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Fills the rectangle of `w` x `h` pixels whose top-left corner is `(x, y)` (clipped).
    pub fn fill_rect(&mut self, x: i64, y: i64, w: usize, h: usize, c: [u8; 3]) {
        for yy in y..y + h as i64 {
            for xx in x..x + w as i64 {
                self.set(xx, yy, c);
            }
        }
    }

    /// Draws the one-pixel outline of the rectangle of `w` x `h` pixels at `(x, y)`.
    pub fn outline_rect(&mut self, x: i64, y: i64, w: usize, h: usize, c: [u8; 3]) {
        let (w, h) = (w as i64, h as i64);
        for k in 0..w {
            self.set(x + k, y, c);
            self.set(x + k, y + h - 1, c);
        }
        for k in 0..h {
            self.set(x, y + k, c);
            self.set(x + w - 1, y + k, c);
        }
    }

    /// Writes `s` with its top-left corner at `(x, y)`, [`CHAR_W`] pixels per character.
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        for (i, ch) in s.chars().enumerate() {
            for (r, bits) in glyph(ch).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.set(x + (i * CHAR_W) as i64 + col, y + r as i64, c);
                    }
                }
            }
        }
    }

    /// Width of `s` drawn by [`Canvas::text`], in pixels.
    pub fn text_width(s: &str) -> usize {
        s.chars().count() * CHAR_W
    }

    /// The canvas as a PNG.
    pub fn encode_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        crate::png_io::encode_rgb(self.width as u32, self.height as u32, &self.px)
    }
}

/// A 5×7 glyph (rows top to bottom, bit 4 = leftmost column); letters are drawn in one case,
/// unknown characters are blank.
pub fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_lowercase() {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '+' => [0, 4, 4, 31, 4, 4, 0],
        ',' => [0, 0, 0, 0, 12, 4, 8],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        '/' => [1, 1, 2, 4, 8, 16, 16],
        '=' => [0, 0, 31, 0, 31, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 31],
        '#' => [10, 10, 31, 10, 31, 10, 10],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        '<' => [2, 4, 8, 16, 8, 4, 2],
        '>' => [8, 4, 2, 1, 2, 4, 8],
        'a' => [14, 17, 17, 31, 17, 17, 17],
        'b' => [30, 17, 17, 30, 17, 17, 30],
        'c' => [14, 17, 16, 16, 16, 17, 14],
        'd' => [28, 18, 17, 17, 17, 18, 28],
        'e' => [31, 16, 16, 30, 16, 16, 31],
        'f' => [31, 16, 16, 30, 16, 16, 16],
        'g' => [14, 17, 16, 23, 17, 17, 15],
        'h' => [17, 17, 17, 31, 17, 17, 17],
        'i' => [14, 4, 4, 4, 4, 4, 14],
        'j' => [7, 2, 2, 2, 2, 18, 12],
        'k' => [17, 18, 20, 24, 20, 18, 17],
        'l' => [16, 16, 16, 16, 16, 16, 31],
        'm' => [17, 27, 21, 21, 17, 17, 17],
        'n' => [17, 17, 25, 21, 19, 17, 17],
        'o' => [14, 17, 17, 17, 17, 17, 14],
        'p' => [30, 17, 17, 30, 16, 16, 16],
        'q' => [14, 17, 17, 17, 21, 18, 13],
        'r' => [30, 17, 17, 30, 20, 18, 17],
        's' => [15, 16, 16, 14, 1, 1, 30],
        't' => [31, 4, 4, 4, 4, 4, 4],
        'u' => [17, 17, 17, 17, 17, 17, 14],
        'v' => [17, 17, 17, 17, 17, 10, 4],
        'w' => [17, 17, 17, 21, 21, 21, 10],
        'x' => [17, 17, 10, 4, 10, 17, 17],
        'y' => [17, 17, 17, 10, 4, 4, 4],
        'z' => [31, 1, 2, 4, 8, 16, 31],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rects_and_png() {
        let mut c = Canvas::new(40, 12);
        c.fill_rect(-2, -2, 4, 4, [1, 2, 3]);
        assert_eq!(c.get(1, 1), [1, 2, 3]);
        assert_eq!(c.get(2, 2), [255, 255, 255]);
        c.text(10, 2, "1_", [0, 0, 0]);
        // '1' has its stem in the middle column; '_' is the bottom row of the second glyph
        assert_eq!(c.get(12, 2), [0, 0, 0]);
        assert_eq!(c.get(16, 8), [0, 0, 0]);
        assert_eq!(c.get(16, 7), [255, 255, 255]);
        c.outline_rect(30, 0, 5, 5, [9, 9, 9]);
        assert_eq!((c.get(34, 4), c.get(32, 2)), ([9, 9, 9], [255, 255, 255]));
        assert_eq!(Canvas::text_width("abc"), 18);
        assert_eq!(glyph('A'), glyph('a'));
        assert_eq!(glyph('\u{e9}'), [0; 7]);
        let png = c.encode_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
