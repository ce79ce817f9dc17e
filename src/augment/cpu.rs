//! Run-time CPU feature checks for every SIMD kernel of `augment`, in one place.
//!
//! Each kernel picks its SIMD path with one of the functions below and otherwise runs its
//! portable scalar fallback; all paths give the same bytes. The features are detected once per
//! process ([`OnceLock`]); each check is then a load and a branch, cheap enough for per-row
//! dispatch. Targets other than x86_64 always get `false`.
//!
//! Tests run the scalar fallbacks on a SIMD machine with [`with_scalar`]: while its closure
//! runs, every check on the calling thread answers `false` (the kernels of `augment` run on the
//! caller's thread), so a test can compare both paths of a kernel bit for bit.

// off x86_64 the kernels compile without their SIMD paths, leaving some checks unused
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use std::sync::OnceLock;

/// The feature sets the kernels use, detected once.
#[derive(Clone, Copy, Debug, Default)]
struct Features {
    avx2: bool,
    avx2_fma: bool,
    avx512f: bool,
    avx512bw: bool,
    avx512_vbmi: bool,
}

impl Features {
    #[cfg(target_arch = "x86_64")]
    fn detect() -> Self {
        use std::arch::is_x86_feature_detected as has;
        let avx2 = has!("avx2");
        Self {
            avx2,
            avx2_fma: avx2 && has!("fma"),
            avx512f: has!("avx512f"),
            avx512bw: has!("avx512f") && has!("avx512bw") && has!("avx512vl"),
            avx512_vbmi: has!("avx512f") && has!("avx512bw") && has!("avx512vbmi"),
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn detect() -> Self {
        Self::default()
    }
}

#[inline(always)]
fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    #[cfg(test)]
    {
        if FORCE_SCALAR.with(|f| f.get()) {
            return Features::default();
        }
    }
    *FEATURES.get_or_init(Features::detect)
}

/// `true` when the CPU has AVX2.
#[inline(always)]
pub(crate) fn avx2() -> bool {
    features().avx2
}

/// `true` when the CPU has AVX2 and FMA.
#[inline(always)]
pub(crate) fn avx2_fma() -> bool {
    features().avx2_fma
}

/// `true` when the CPU has AVX-512F.
#[inline(always)]
pub(crate) fn avx512f() -> bool {
    features().avx512f
}

/// `true` when the CPU has AVX-512F, AVX-512BW and AVX-512VL.
#[inline(always)]
pub(crate) fn avx512bw() -> bool {
    features().avx512bw
}

/// `true` when the CPU has AVX-512F, AVX-512BW and AVX-512VBMI.
#[inline(always)]
pub(crate) fn avx512_vbmi() -> bool {
    features().avx512_vbmi
}

#[cfg(test)]
thread_local! {
    /// Set while [`with_scalar`] runs: every check above answers `false` on this thread.
    static FORCE_SCALAR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every SIMD check answering `false` on this thread (the scalar fallbacks run),
/// then restores the previous setting, also when `f` panics. Calls may nest.
#[cfg(test)]
pub(crate) fn with_scalar<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCE_SCALAR.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(FORCE_SCALAR.with(|c| c.replace(true)));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_hook_disables_every_check_and_restores_it() {
        let before = (avx2(), avx2_fma(), avx512f(), avx512bw(), avx512_vbmi());
        let inside = with_scalar(|| {
            let nested = with_scalar(|| (avx2(), avx2_fma(), avx512f(), avx512bw(), avx512_vbmi()));
            assert_eq!(nested, (false, false, false, false, false));
            (avx2(), avx2_fma(), avx512f(), avx512bw(), avx512_vbmi())
        });
        assert_eq!(inside, (false, false, false, false, false));
        assert_eq!(
            (avx2(), avx2_fma(), avx512f(), avx512bw(), avx512_vbmi()),
            before
        );
        // a panic inside leaves the hook unset
        let caught = std::panic::catch_unwind(|| with_scalar(|| panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(
            (avx2(), avx2_fma(), avx512f(), avx512bw(), avx512_vbmi()),
            before
        );
        // the combined checks imply their parts
        assert!(!avx2_fma() || avx2());
        assert!(!avx512_vbmi() || avx512f());
        assert!(!avx512bw() || avx512f());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn cached_checks_equal_std_detection() {
        use std::arch::is_x86_feature_detected as has;
        assert_eq!(avx2(), has!("avx2"));
        assert_eq!(avx2_fma(), has!("avx2") && has!("fma"));
        assert_eq!(avx512f(), has!("avx512f"));
        assert_eq!(
            avx512bw(),
            has!("avx512f") && has!("avx512bw") && has!("avx512vl")
        );
        assert_eq!(
            avx512_vbmi(),
            has!("avx512f") && has!("avx512bw") && has!("avx512vbmi")
        );
    }
}
