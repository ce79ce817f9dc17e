//! How a prediction set stores its probability maps: `u8` (quantised, the default) or `f16`,
//! and what a threshold means on each.
//!
//! - **u8**: `q = round(clamp(p, 0, 1) · 255)` (ties away from zero; NaN gives 0), one byte per
//!   pixel; the stored probability `q / 255` is within `1/510` of the network's. A pixel is above
//!   `t` iff `q as f64 / 255.0 > t` ([`crate::metric::binarize`]'s u8 rule).
//! - **f16**: IEEE half precision of `clamp(p, 0, 1)` (round to nearest even; NaN gives 0), two
//!   bytes per pixel, little endian; the stored value is within `2^-12` of the network's (relative
//!   `2^-11`, finer near 0). A pixel is above `t` iff `f32(h) > t as f32`, the f32 rule of
//!   [`crate::metric::binarize`] applied to the decoded map.
//!
//! In both, a map's **codes** (the u8 values, or the f16 bit patterns, `0..=0x3C00` for values in
//! `[0, 1]`) order like the probabilities, so a threshold becomes an integer **cutoff**: the
//! smallest code above it. Sweeps histogram the codes once per image and read every threshold
//! from suffix sums.

use crate::metric::u8_cutoff;
use half::f16;
use serde::{Deserialize, Serialize};

/// The code of f16 `1.0`: f16 codes of probabilities in `[0, 1]` are `0..=F16_ONE`.
pub const F16_ONE: u16 = 0x3C00;

/// How a prediction set stores its maps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapEncoding {
    /// `round(p · 255)`, one byte per pixel.
    #[default]
    U8,
    /// IEEE half precision, two bytes per pixel (little endian).
    F16,
}

impl MapEncoding {
    /// The encoding of a dataset with `pixel_bytes` bytes per pixel.
    pub fn from_pixel_bytes(pixel_bytes: u8) -> Option<MapEncoding> {
        match pixel_bytes {
            1 => Some(MapEncoding::U8),
            2 => Some(MapEncoding::F16),
            _ => None,
        }
    }

    /// Bytes per pixel.
    pub fn pixel_bytes(self) -> usize {
        match self {
            MapEncoding::U8 => 1,
            MapEncoding::F16 => 2,
        }
    }

    /// `"u8"` or `"f16"`.
    pub fn name(self) -> &'static str {
        match self {
            MapEncoding::U8 => "u8",
            MapEncoding::F16 => "f16",
        }
    }

    /// Number of codes a map in `[0, 1]` uses: 256, or `F16_ONE + 1`.
    pub fn codes(self) -> usize {
        match self {
            MapEncoding::U8 => 256,
            MapEncoding::F16 => usize::from(F16_ONE) + 1,
        }
    }

    /// The smallest code whose probability is above `t` ([`MapEncoding::codes`] when none is,
    /// e.g. for `t >= 1` or NaN).
    pub fn cutoff(self, t: f64) -> u32 {
        match self {
            MapEncoding::U8 => u32::from(u8_cutoff(t)),
            MapEncoding::F16 => {
                let t = t as f32;
                let (mut lo, mut hi) = (0u32, u32::from(F16_ONE) + 1);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if f16::from_bits(mid as u16).to_f32() > t {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            }
        }
    }

    /// Appends the encoding of `probs` to `out`.
    pub fn encode_into(self, probs: &[f32], out: &mut Vec<u8>) {
        // NaN and -0.0 become +0.0 (code 0): every code stays within 0..=F16_ONE.
        let clamp = |p: f32| if p > 0.0 { p.min(1.0) } else { 0.0 };
        match self {
            MapEncoding::U8 => out.extend(probs.iter().map(|&p| quantise(p))),
            MapEncoding::F16 => {
                out.reserve(2 * probs.len());
                for &p in probs {
                    out.extend_from_slice(&f16::from_f32(clamp(p)).to_le_bytes());
                }
            }
        }
    }

    /// The encoding of `probs`.
    pub fn encode(self, probs: &[f32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(probs.len() * self.pixel_bytes());
        self.encode_into(probs, &mut out);
        out
    }

    /// The probabilities of the encoded map `bytes` (`q / 255` in f32 for u8, exact for f16).
    ///
    /// # Panics
    /// If an f16 map has an odd number of bytes.
    pub fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            MapEncoding::U8 => bytes.iter().map(|&q| f32::from(q) / 255.0).collect(),
            MapEncoding::F16 => {
                assert_eq!(bytes.len() % 2, 0, "f16 map bytes");
                bytes
                    .chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect()
            }
        }
    }

    /// The map `bytes` quantised to u8 (itself for u8), for pictures.
    pub fn to_u8(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            MapEncoding::U8 => bytes.to_vec(),
            MapEncoding::F16 => self.decode(bytes).into_iter().map(quantise).collect(),
        }
    }

    /// `out[i] = 255` where code `i` of `bytes` is `>= cut`, else 0.
    ///
    /// # Panics
    /// If `out` does not have one byte per pixel of `bytes`.
    pub fn threshold_codes_into(self, bytes: &[u8], cut: u32, out: &mut [u8]) {
        assert_eq!(out.len() * self.pixel_bytes(), bytes.len(), "map sizes");
        let on = |code: u32| if code >= cut { 255 } else { 0 };
        match self {
            MapEncoding::U8 => {
                for (o, &q) in out.iter_mut().zip(bytes) {
                    *o = on(u32::from(q));
                }
            }
            MapEncoding::F16 => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = on(u32::from(u16::from_le_bytes([b[0], b[1]])));
                }
            }
        }
    }
}

impl std::fmt::Display for MapEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `round(p · 255)` with `p` clamped to `[0, 1]`; NaN gives 0.
pub fn quantise(p: f32) -> u8 {
    if p.is_nan() {
        return 0;
    }
    (p.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::threshold_f32_into;

    #[test]
    fn quantisation_rounds_and_clamps() {
        assert_eq!(quantise(0.0), 0);
        assert_eq!(quantise(1.0), 255);
        assert_eq!(quantise(0.5), 128); // 127.5 rounds away from zero
        assert_eq!(quantise(0.3 - 1e-7), 76); // 76.49...
        assert_eq!(quantise(-0.2), 0);
        assert_eq!(quantise(7.0), 255);
        assert_eq!(quantise(f32::NAN), 0);
        for q in 0..=255u8 {
            assert_eq!(quantise(q as f32 / 255.0), q);
        }
    }

    #[test]
    fn f16_round_trips_within_its_precision_and_clamps() {
        let probs: Vec<f32> = (0..=1000).map(|i| i as f32 / 1000.0).collect();
        let enc = MapEncoding::F16;
        let bytes = enc.encode(&probs);
        assert_eq!(bytes.len(), 2 * probs.len());
        let back = enc.decode(&bytes);
        for (&p, &b) in probs.iter().zip(&back) {
            assert!((p - b).abs() <= 2f32.powi(-12), "{p} -> {b}");
        }
        assert_eq!(
            enc.decode(&enc.encode(&[-1.0, 2.0, f32::NAN])),
            vec![0.0, 1.0, 0.0]
        );
        assert_eq!(enc.encode(&[-0.0]), [0, 0], "-0.0 is stored as +0.0");
        assert_eq!(enc.encode(&[1.0]), F16_ONE.to_le_bytes());
    }

    #[test]
    fn cutoffs_agree_with_the_metric_rules_on_every_code() {
        let thresholds = [
            -0.1, 0.0, 1e-9, 0.1, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.999, 1.0, 1.5,
        ];
        for enc in [MapEncoding::U8, MapEncoding::F16] {
            // every code of the encoding, as a map
            let bytes: Vec<u8> = match enc {
                MapEncoding::U8 => (0..=255u8).collect(),
                MapEncoding::F16 => (0..=F16_ONE).flat_map(|c| c.to_le_bytes()).collect(),
            };
            let n = enc.codes();
            for &t in &thresholds {
                let cut = enc.cutoff(t);
                let mut by_code = vec![0u8; n];
                enc.threshold_codes_into(&bytes, cut, &mut by_code);
                let mut by_rule = vec![0u8; n];
                match enc {
                    MapEncoding::U8 => {
                        crate::metric::threshold_u8_into(&bytes, t, &mut by_rule).unwrap()
                    }
                    MapEncoding::F16 => {
                        threshold_f32_into(&enc.decode(&bytes), t, &mut by_rule).unwrap()
                    }
                }
                assert_eq!(by_code, by_rule, "{enc} t = {t} cut = {cut}");
            }
        }
        assert_eq!(MapEncoding::F16.cutoff(1.0), u32::from(F16_ONE) + 1);
        assert_eq!(MapEncoding::F16.cutoff(f64::NAN), u32::from(F16_ONE) + 1);
        assert_eq!(MapEncoding::F16.cutoff(-0.5), 0);
    }
}
