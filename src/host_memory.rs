//! Process-wide memory settings the binaries apply first thing: transparent huge pages off, and
//! glibc's heap (where libtorch takes its CPU tensors from) kept instead of handed back.
//!
//! - **Transparent huge pages.** On a kernel with THP `always`, the data stages' buffers are
//!   backed by 2 MiB pages that the kernel zeroes (and compacts for) a whole huge page at a time.
//!   With two data workers that cost grows faster than the work: in lockstep rounds of the
//!   data-stages benchmark (`benches/train_data.rs`, 1024², 1920 images) the 1 → 2 worker
//!   speed-up was 1.61× median over 10 rounds with THP and 1.75× without (8 of 10 paired rounds
//!   in favour), one worker unchanged; one epoch of CPU training was unchanged within noise.
//! - **glibc's heap.** libtorch's CPU allocator takes every tensor from glibc's `posix_memalign`.
//!   With glibc's defaults a block of 32 MiB or more (an AlbuNet activation at 256², batch 2, is
//!   64 MiB) gets its own `mmap` and `munmap`, and free memory at the top of a heap goes back to
//!   the kernel, so every training step faults the same activations in again, 4 KiB at a time:
//!   3.0 million minor faults and 11 s of system time in one 16-image epoch of the epoch
//!   benchmark (62 CPU-s in all). With no `mmap` blocks, no trimming and one arena (a block freed
//!   by one thread serves the next step on another) 0.3 million faults and 3 s are left. Rust's
//!   own allocations go to mimalloc and are not affected.
//!
//! `PNEUMOFLOW_HOST_MEMORY=default` in the environment leaves both as the system has them.

use thiserror::Error;

/// The environment variable that, set to `default`, leaves the system's settings alone.
pub const OPT_OUT_VARIABLE: &str = "PNEUMOFLOW_HOST_MEMORY";

/// The opt-out variable holds a value other than `default`.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "{OPT_OUT_VARIABLE}={value:?}: unknown value (set it to `default` to leave the system's \
     memory settings alone, or unset it)"
)]
pub struct UnknownSetting {
    /// The value found.
    pub value: String,
}

/// Applies both settings unless the opt-out variable says `default`; call before any thread
/// starts. Returns whether they were applied (they exist on Linux with glibc only; elsewhere
/// this does nothing), or the variable's value when it is neither unset nor `default`.
pub fn apply() -> Result<bool, UnknownSetting> {
    let value = std::env::var_os(OPT_OUT_VARIABLE).map(|v| v.to_string_lossy().into_owned());
    if !wanted(value.as_deref())? {
        return Ok(false);
    }
    Ok(disable_transparent_huge_pages() & keep_glibc_heap())
}

/// Whether the settings are wanted, given the opt-out variable's value.
fn wanted(value: Option<&str>) -> Result<bool, UnknownSetting> {
    match value {
        None => Ok(true),
        Some("default") => Ok(false),
        Some(other) => Err(UnknownSetting {
            value: other.to_string(),
        }),
    }
}

/// Turns transparent huge pages off for this process and the processes it starts
/// (`PR_SET_THP_DISABLE`). Returns whether the kernel accepted it.
pub fn disable_transparent_huge_pages() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes one integer flag and touches no memory of ours.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Keeps glibc's heap: no `mmap`ed blocks, no trimming, one arena. Returns whether glibc took
/// the three settings.
pub fn keep_glibc_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's tuning parameters; the values are in range
        // (M_MMAP_MAX >= 0, M_TRIM_THRESHOLD any non-negative int, M_ARENA_MAX >= 1).
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
                && libc::mallopt(libc::M_ARENA_MAX, 1) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod opt_out_tests {
    use super::*;

    #[test]
    fn only_unset_or_default_are_accepted_and_the_error_names_variable_and_value() {
        assert_eq!(wanted(None), Ok(true));
        assert_eq!(wanted(Some("default")), Ok(false));
        let err = wanted(Some("off")).unwrap_err();
        assert_eq!(err.value, "off");
        let message = err.to_string();
        assert!(
            message.starts_with("PNEUMOFLOW_HOST_MEMORY=\"off\": unknown value"),
            "{message}"
        );
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn huge_pages_are_off_for_the_process() {
        assert!(disable_transparent_huge_pages());
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("THP_enabled:"));
        // kernels before 6.x do not report the flag; PR_GET_THP_DISABLE does
        if let Some(line) = line {
            assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
        }
        // SAFETY: PR_GET_THP_DISABLE reads the flag and touches no memory of ours.
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
    }

    #[test]
    fn a_large_block_comes_from_the_heap_and_the_heap_keeps_it_after_free() {
        assert!(keep_glibc_heap());
        // 48 MiB: above glibc's largest automatic mmap threshold (32 MiB), so with its defaults
        // this block would be mmap'ed whatever ran before.
        let size = 48 << 20;
        // SAFETY: a plain malloc/free pair of a block this test owns; reading the size word
        // glibc keeps just before every block; mallinfo2 only reads.
        unsafe {
            let block = libc::malloc(size) as *mut u8;
            assert!(!block.is_null());
            block.write_bytes(1, size);
            // glibc's chunk header: bit 1 of the size word (IS_MMAPPED) marks an mmap'ed block
            let size_word = *(block as *const usize).sub(1);
            assert_eq!(size_word & 2, 0, "the block was mmap'ed");
            let held = libc::mallinfo2();
            libc::free(block as *mut libc::c_void);
            let freed = libc::mallinfo2();
            assert!(freed.arena >= held.arena, "the heap was trimmed");
        }
    }
}
