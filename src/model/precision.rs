//! Reduced-precision compute for the networks, as PyTorch's autocast does it for these models:
//! inside [`autocast`] every convolution (the only op of the zoo on autocast's lower-precision
//! list) casts its input, weight and bias to the chosen kind (bfloat16) and returns its output in
//! that kind; BatchNorm, activations and the other ops then run in the kind they receive, with
//! their parameters in float32. Weights stay float32 (the casts are differentiable, so gradients
//! reach them in float32). The setting is per thread, like autocast's.
//!
//! `tch::autocast` is not used: it only switches CUDA autocast (float16), and does nothing on the
//! CPU.

use std::cell::Cell;
use tch::Kind;

thread_local! {
    static REDUCED: Cell<Option<Kind>> = const { Cell::new(None) };
}

/// Runs `f` with convolutions computing in `kind` (e.g. [`Kind::BFloat16`]); restores the
/// previous setting afterwards, also when nested.
pub fn autocast<T>(kind: Kind, f: impl FnOnce() -> T) -> T {
    let previous = REDUCED.with(|r| r.replace(Some(kind)));
    struct Restore(Option<Kind>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REDUCED.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(previous);
    f()
}

/// The kind convolutions compute in on this thread (`None`: their inputs' own kind).
pub fn reduced_kind() -> Option<Kind> {
    REDUCED.with(Cell::get)
}
