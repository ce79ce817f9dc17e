//! OpenCV border modes (`cv::borderInterpolate`), including REFLECT_101 applied repeatedly far outside.

/// How pixels outside the source image are obtained (OpenCV `BORDER_*`, albumentations `border_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BorderMode {
    /// `BORDER_CONSTANT` (0): a fixed value.
    Constant(u8),
    /// `BORDER_REPLICATE` (1): `aaa|abc|ccc`.
    Replicate,
    /// `BORDER_REFLECT` (2): `cba|abc|cba`, edge repeated.
    Reflect,
    /// `BORDER_WRAP` (3): `abc|abc|abc`.
    Wrap,
    /// `BORDER_REFLECT_101` (4, albumentations' default): `cb|abc|ba`, edge not repeated.
    Reflect101,
}

impl BorderMode {
    /// From OpenCV's integer code; `value` fills `BORDER_CONSTANT`. `None` for unsupported codes.
    pub fn from_cv(code: i64, value: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Constant(value),
            1 => Self::Replicate,
            2 => Self::Reflect,
            3 => Self::Wrap,
            4 => Self::Reflect101,
            _ => return None,
        })
    }
}

/// `cv::borderInterpolate(p, len, mode)`: the source index for a (possibly outside) index `p`,
/// or `None` for `Constant` when `p` is outside. Reflections are periodic, so indices many
/// image widths away (OpticalDistortion with |k| = 2) land where OpenCV's loop puts them.
///
/// # Panics
/// If `len == 0`.
#[inline]
pub fn border_index(p: i32, len: usize, mode: BorderMode) -> Option<usize> {
    assert!(len > 0, "border_index on an empty axis");
    let n = len as i64;
    let p64 = i64::from(p);
    if (0..n).contains(&p64) {
        return Some(p as usize);
    }
    let i = match mode {
        BorderMode::Constant(_) => return None,
        BorderMode::Replicate => {
            if p64 < 0 {
                0
            } else {
                n - 1
            }
        }
        BorderMode::Reflect => {
            let m = p64.rem_euclid(2 * n);
            if m >= n {
                2 * n - 1 - m
            } else {
                m
            }
        }
        BorderMode::Reflect101 => {
            if n == 1 {
                0
            } else if p64 < 0 && p64 > -n {
                -p64
            } else if p64 >= n && p64 < 2 * n - 1 {
                2 * n - 2 - p64
            } else {
                let period = 2 * (n - 1);
                let m = p64.rem_euclid(period);
                if m >= n {
                    period - m
                } else {
                    m
                }
            }
        }
        BorderMode::Wrap => p64.rem_euclid(n),
    };
    Some(i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenCV's `borderInterpolate`, transcribed literally (the loop for the reflect modes).
    fn opencv_border_interpolate(mut p: i32, len: i32, mode: BorderMode) -> i32 {
        if (p as u32) < (len as u32) {
            return p;
        }
        match mode {
            BorderMode::Replicate => {
                if p < 0 {
                    0
                } else {
                    len - 1
                }
            }
            BorderMode::Reflect | BorderMode::Reflect101 => {
                let delta = i32::from(mode == BorderMode::Reflect101);
                if len == 1 {
                    return 0;
                }
                loop {
                    if p < 0 {
                        p = -p - 1 + delta;
                    } else {
                        p = len - 1 - (p - len) - delta;
                    }
                    if (p as u32) < (len as u32) {
                        return p;
                    }
                }
            }
            BorderMode::Wrap => {
                if p < 0 {
                    p -= ((p - len + 1) / len) * len;
                }
                if p >= len {
                    p %= len;
                }
                p
            }
            BorderMode::Constant(_) => -1,
        }
    }

    #[test]
    fn reflect101_literal_indices() {
        // ... 3 2 1 | 0 1 2 3 4 | 3 2 1 0 1 ...
        let got: Vec<usize> = (-4..10)
            .map(|p| border_index(p, 5, BorderMode::Reflect101).unwrap())
            .collect();
        assert_eq!(got, vec![4, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1, 0, 1]);
        assert_eq!(border_index(-7, 1, BorderMode::Reflect101), Some(0));
    }

    #[test]
    fn reflect_and_constant_literal_indices() {
        let got: Vec<usize> = (-3..6)
            .map(|p| border_index(p, 3, BorderMode::Reflect).unwrap())
            .collect();
        assert_eq!(got, vec![2, 1, 0, 0, 1, 2, 2, 1, 0]);
        assert_eq!(border_index(-1, 3, BorderMode::Constant(7)), None);
        assert_eq!(border_index(2, 3, BorderMode::Constant(7)), Some(2));
    }

    #[test]
    fn closed_forms_match_opencv_loop_far_outside() {
        let modes = [
            BorderMode::Replicate,
            BorderMode::Reflect,
            BorderMode::Reflect101,
            BorderMode::Wrap,
        ];
        for len in [1, 2, 3, 7, 96, 128] {
            for p in -2000..2000 {
                for mode in modes {
                    let want = opencv_border_interpolate(p, len, mode);
                    let got = border_index(p, len as usize, mode).unwrap() as i32;
                    assert_eq!(got, want, "p={p} len={len} {mode:?}");
                }
            }
        }
    }
}
