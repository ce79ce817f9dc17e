//! SIIM run-length encoding, exactly as the official `mask_functions.py`: 0-based, column-major,
//! relative offsets.
//!
//! A mask is an H×W row-major `u8` buffer; any non-zero value is foreground. The flat RLE index of
//! pixel (row r, col c) is `c*H + r`. The string holds pairs `(start, len)`: the first start is an
//! absolute index, each later start is the gap after the previous run's (exclusive) end.
//! `-1` (optionally with surrounding spaces) is the empty mask.
//!
//! Difference from the official encoder: `mask2rle` never emits a run that is still open at the
//! very last pixel (bottom-right), so a full mask encodes to `""`. [`encode`] emits that run, so
//! `decode(encode(m)) == m` for every mask. [`encode_official`] reproduces the quirk for parity.

use thiserror::Error;

/// Why an RLE string could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RleError {
    /// The string has an odd number of tokens.
    #[error("odd number of RLE tokens ({0}); expected (start, length) pairs")]
    OddTokens(usize),
    /// A token is not a non-negative integer.
    #[error("RLE token {index} ({token:?}) is not a non-negative integer")]
    NotANumber {
        /// 0-based position of the token in the string.
        index: usize,
        /// The offending token.
        token: String,
    },
    /// A run ends past the last pixel.
    #[error("RLE run {pair} covers pixels {start}..{end}, past the image end ({pixels} pixels)")]
    PastEnd {
        /// 0-based index of the (start, length) pair.
        pair: usize,
        /// Absolute column-major index of the run's first pixel.
        start: u64,
        /// Absolute column-major index one past the run's last pixel.
        end: u64,
        /// Number of pixels in the image (H×W).
        pixels: u64,
    },
    /// The image size overflows, or the mask buffer does not hold H×W bytes.
    #[error("RLE mask of {height}x{width}: {problem}")]
    Size {
        /// Image height, in pixels.
        height: usize,
        /// Image width, in pixels.
        width: usize,
        /// What is wrong.
        problem: String,
    },
}

/// `height × width`, or [`RleError::Size`] when it overflows.
fn pixel_count(height: usize, width: usize) -> Result<usize, RleError> {
    height.checked_mul(width).ok_or_else(|| RleError::Size {
        height,
        width,
        problem: "the pixel count overflows".into(),
    })
}

/// The canonical spelling of `rle`: its tokens joined by single spaces, `-1` for the empty mask.
/// Two rows with the same canonical spelling are the same object.
pub fn canonical(rle: &str) -> String {
    if is_empty_rle(rle) {
        return "-1".into();
    }
    rle.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when `rle` denotes the empty mask (`-1`, possibly padded with spaces, or empty).
pub fn is_empty_rle(rle: &str) -> bool {
    let t = rle.trim();
    t == "-1" || t.is_empty()
}

/// Parses the (start, len) pairs of `rle` into absolute column-major runs `[start, end)`.
/// A zero-length run is kept as an empty run, as the official decoder tolerates it.
pub fn parse_runs(rle: &str, pixels: u64) -> Result<Vec<(u64, u64)>, RleError> {
    if is_empty_rle(rle) {
        return Ok(Vec::new());
    }
    let tokens: Vec<&str> = rle.split_ascii_whitespace().collect();
    if !tokens.len().is_multiple_of(2) {
        return Err(RleError::OddTokens(tokens.len()));
    }
    let num = |index: usize| -> Result<u64, RleError> {
        tokens[index]
            .parse::<u64>()
            .map_err(|_| RleError::NotANumber {
                index,
                token: tokens[index].to_string(),
            })
    };
    let mut runs = Vec::with_capacity(tokens.len() / 2);
    let mut pos: u64 = 0;
    for pair in 0..tokens.len() / 2 {
        let (gap, len) = (num(2 * pair)?, num(2 * pair + 1)?);
        let start = pos.saturating_add(gap);
        let end = start.saturating_add(len);
        if end > pixels {
            return Err(RleError::PastEnd {
                pair,
                start,
                end,
                pixels,
            });
        }
        runs.push((start, end));
        pos = end;
    }
    Ok(runs)
}

/// Decodes `rle` and ORs it into `mask` (H×W row-major), setting covered pixels to `value`.
/// Decoding several objects of one image into the same mask merges them (overlaps stay `value`).
/// A `mask` that does not hold H×W bytes is an [`RleError::Size`].
pub fn decode_into(
    rle: &str,
    height: usize,
    width: usize,
    value: u8,
    mask: &mut [u8],
) -> Result<(), RleError> {
    let n = pixel_count(height, width)?;
    if mask.len() != n {
        return Err(RleError::Size {
            height,
            width,
            problem: format!("the mask buffer has {} bytes, expected {n}", mask.len()),
        });
    }
    for (start, end) in parse_runs(rle, n as u64)? {
        for idx in start..end {
            let (col, row) = ((idx as usize) / height, (idx as usize) % height);
            mask[row * width + col] = value;
        }
    }
    Ok(())
}

/// Decodes `rle` into a fresh H×W row-major mask with foreground `value`.
pub fn decode(rle: &str, height: usize, width: usize, value: u8) -> Result<Vec<u8>, RleError> {
    let mut mask = vec![0u8; pixel_count(height, width)?];
    decode_into(rle, height, width, value, &mut mask)?;
    Ok(mask)
}

/// Absolute column-major runs `[start, end)` of the non-zero pixels of `mask` (H×W row-major).
fn runs_of(mask: &[u8], height: usize, width: usize) -> Vec<(u64, u64)> {
    assert_eq!(
        mask.len(),
        height * width,
        "mask buffer must be height*width"
    );
    let mut runs = Vec::new();
    let mut open: Option<u64> = None;
    for col in 0..width {
        for row in 0..height {
            let idx = (col * height + row) as u64;
            let on = mask[row * width + col] != 0;
            match (on, open) {
                (true, None) => open = Some(idx),
                (false, Some(s)) => {
                    runs.push((s, idx));
                    open = None;
                }
                _ => {}
            }
        }
    }
    if let Some(s) = open {
        runs.push((s, (height * width) as u64));
    }
    runs
}

fn format_runs(runs: &[(u64, u64)]) -> String {
    if runs.is_empty() {
        return "-1".to_string();
    }
    let mut out = String::with_capacity(runs.len() * 12);
    let mut prev_end = 0u64;
    for (i, &(s, e)) in runs.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{} {}", s - prev_end, e - s));
        prev_end = e;
    }
    out
}

/// Encodes the non-zero pixels of `mask` (H×W row-major) as SIIM RLE; `-1` when empty.
/// Exact inverse of [`decode`], including a run that touches the last pixel.
///
/// # Panics
/// If `mask` does not hold `height * width` bytes (a caller's bug: masks are built, not read).
pub fn encode(mask: &[u8], height: usize, width: usize) -> String {
    format_runs(&runs_of(mask, height, width))
}

/// The official `mask2rle` on `mask.T`, quirks included: a run still open at the last pixel is
/// dropped, and an all-dropped result is the empty string (not `-1`). For parity tests.
///
/// # Panics
/// If `mask` does not hold `height * width` bytes.
pub fn encode_official(mask: &[u8], height: usize, width: usize) -> String {
    let n = (height * width) as u64;
    let runs: Vec<(u64, u64)> = runs_of(mask, height, width)
        .into_iter()
        .filter(|&(_, e)| e != n)
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    format_runs(&runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The challenge's own example (its mask_functions.py): 4×4 with foreground at (1,0), (2,0), (0,1).
    fn example() -> Vec<u8> {
        let mut m = vec![0u8; 16];
        m[4] = 255; // (1,0)
        m[8] = 255; // (2,0)
        m[1] = 255; // (0,1)
        m
    }

    #[test]
    fn encode_official_example_matches_reference() {
        assert_eq!(encode(&example(), 4, 4), "1 2 1 1");
        assert_eq!(encode_official(&example(), 4, 4), "1 2 1 1");
        assert_eq!(decode("1 2 1 1", 4, 4, 255).unwrap(), example());
    }

    #[test]
    fn empty_mask_is_minus_one_both_ways() {
        assert_eq!(encode(&[0u8; 12], 3, 4), "-1");
        assert_eq!(decode(" -1", 3, 4, 1).unwrap(), vec![0u8; 12]);
        assert_eq!(decode("-1", 3, 4, 1).unwrap(), vec![0u8; 12]);
    }

    #[test]
    fn full_mask_encodes_one_run_official_drops_it() {
        let full = vec![255u8; 6];
        assert_eq!(encode(&full, 2, 3), "0 6");
        assert_eq!(encode_official(&full, 2, 3), "");
        assert_eq!(decode("0 6", 2, 3, 255).unwrap(), full);
    }

    #[test]
    fn last_pixel_set_round_trips() {
        let mut m = vec![0u8; 12];
        m[11] = 1;
        m[0] = 1;
        let s = encode(&m, 3, 4);
        assert_eq!(s, "0 1 10 1");
        assert_eq!(decode(&s, 3, 4, 1).unwrap(), m);
        assert_eq!(encode_official(&m, 3, 4), "0 1");
    }

    #[test]
    fn touching_objects_merge_and_overlaps_saturate() {
        let (h, w) = (4, 3);
        let mut m = vec![0u8; h * w];
        decode_into("0 2", h, w, 255, &mut m).unwrap();
        decode_into("2 2", h, w, 255, &mut m).unwrap(); // touches: one column run 0..4
        decode_into("1 2", h, w, 255, &mut m).unwrap(); // overlaps
        assert_eq!(encode(&m, h, w), "0 4");
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert_eq!(parse_runs("1 2 3", 100), Err(RleError::OddTokens(3)));
        assert!(matches!(
            parse_runs("1 x", 100),
            Err(RleError::NotANumber { index: 1, .. })
        ));
        assert!(matches!(
            parse_runs("-3 2", 100),
            Err(RleError::NotANumber { index: 0, .. })
        ));
        assert!(matches!(
            parse_runs("95 10", 100),
            Err(RleError::PastEnd {
                pair: 0,
                end: 105,
                ..
            })
        ));
        assert!(matches!(
            parse_runs("0 5 90 10", 100),
            Err(RleError::PastEnd { pair: 1, .. })
        ));
        // A zero-length run is accepted as a no-op, as the official decoder does.
        assert_eq!(parse_runs("3 0", 100), Ok(vec![(3, 3)]));
        // Huge numbers saturate instead of overflowing, and are past the end.
        assert!(matches!(
            parse_runs("18446744073709551615 18446744073709551615", u64::MAX - 1),
            Err(RleError::PastEnd { .. })
        ));
    }

    #[test]
    fn bad_sizes_are_errors_not_panics() {
        let mut m = vec![0u8; 5];
        let e = decode_into("0 1", 2, 3, 255, &mut m).unwrap_err();
        assert_eq!(
            e.to_string(),
            "RLE mask of 2x3: the mask buffer has 5 bytes, expected 6"
        );
        assert!(matches!(
            decode("0 1", usize::MAX, 2, 1),
            Err(RleError::Size { .. })
        ));
        assert_eq!(decode("-1", 0, 0, 1).unwrap(), Vec::<u8>::new());
        assert!(matches!(
            decode("0 1", 0, 5, 1),
            Err(RleError::PastEnd { .. })
        ));
    }

    #[test]
    fn canonical_spelling_ignores_spacing() {
        assert_eq!(canonical(" 1  2 3 4 "), "1 2 3 4");
        assert_eq!(canonical(" -1 "), "-1");
        assert_eq!(canonical(""), "-1");
    }

    #[test]
    fn random_masks_round_trip() {
        let mut state = 0x1234_5678_u32;
        for _ in 0..200 {
            let (h, w) = (1 + (state % 7) as usize, 1 + (state % 5) as usize);
            let mut m = vec![0u8; h * w];
            for v in m.iter_mut() {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *v = if state.is_multiple_of(3) { 255 } else { 0 };
            }
            assert_eq!(decode(&encode(&m, h, w), h, w, 255).unwrap(), m);
        }
    }
}

#[cfg(test)]
mod proptests {
    //! The decoder on random strings and on mutations of valid RLE: an error or a mask of the
    //! right size, never a panic.
    use super::*;
    use proptest::prelude::*;

    fn valid_rle() -> impl Strategy<Value = (String, usize, usize)> {
        (1usize..12, 1usize..12).prop_flat_map(|(h, w)| {
            proptest::collection::vec(any::<bool>(), h * w).prop_map(move |bits| {
                let m: Vec<u8> = bits.iter().map(|&b| u8::from(b) * 255).collect();
                (encode(&m, h, w), h, w)
            })
        })
    }

    fn check(rle: &str, h: usize, w: usize) {
        if let Ok(m) = decode(rle, h, w, 255) {
            assert_eq!(m.len(), h * w);
            assert!(m.iter().all(|&v| v == 0 || v == 255));
        }
        let _ = parse_runs(rle, u64::MAX);
        let _ = canonical(rle);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_strings_never_panic(rle in "[0-9 \\-x\t]{0,40}", h in 0usize..20, w in 0usize..20) {
            check(&rle, h, w);
        }

        #[test]
        fn random_numbers_never_panic(nums in proptest::collection::vec(any::<u64>(), 0..8), h in 0usize..20, w in 0usize..20) {
            let rle: Vec<String> = nums.iter().map(u64::to_string).collect();
            check(&rle.join(" "), h, w);
        }

        #[test]
        fn valid_rle_round_trips((rle, h, w) in valid_rle()) {
            let m = decode(&rle, h, w, 255).unwrap();
            prop_assert_eq!(encode(&m, h, w), rle);
        }

        #[test]
        fn mutated_rle_never_panics(
            (rle, h, w) in valid_rle(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        ) {
            let mut bytes = rle.into_bytes();
            for (at, b, op) in edits {
                match op {
                    0 if !bytes.is_empty() => {
                        let i = at.index(bytes.len());
                        bytes[i] = b;
                    }
                    1 if !bytes.is_empty() => {
                        bytes.remove(at.index(bytes.len()));
                    }
                    _ => bytes.insert(at.index(bytes.len() + 1), b),
                }
            }
            check(&String::from_utf8_lossy(&bytes), h, w);
        }
    }
}
