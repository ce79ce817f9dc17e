//! What this machine lets 1 → 2 threads gain: a register-only loop (compute bound) and a copy of
//! buffers larger than the L3 cache (memory bound), each on 1 and then 2 threads at once.
//! The data stages at 1024² move tens of MB per image, so their scaling from 1 to 2 workers is
//! bounded by the second figure, not the first.
//!
//! Run: `cargo bench --bench memory_bandwidth` (prints one JSON line per workload).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Register-only float work: 16 independent multiply-add chains of 8 lanes.
fn compute() {
    let mut a = [[1e-3f32; 8]; 16];
    for _ in 0..40_000_000u64 {
        for v in a.iter_mut() {
            for l in v.iter_mut() {
                *l = *l * 0.999_999 + 1e-6;
            }
        }
        std::hint::black_box(&mut a);
    }
}

/// Copies a 64 MiB buffer (beyond the L3 cache) 40 times.
fn copy(src: &[u8], dst: &mut [u8]) {
    for _ in 0..40 {
        dst.copy_from_slice(std::hint::black_box(src));
        std::hint::black_box(&mut *dst);
    }
}

/// Wall time of `threads` threads each running the workload once, started together after their
/// buffers are allocated and touched.
fn timed(threads: usize, memory: bool) -> Duration {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let n = if memory { 64 << 20 } else { 0 };
                let src = vec![1u8; n];
                let mut dst = vec![2u8; n];
                barrier.wait();
                let start = Instant::now();
                if memory {
                    copy(&src, &mut dst);
                } else {
                    compute();
                }
                start.elapsed()
            })
        })
        .collect();
    (handles.into_iter())
        .map(|h| h.join().expect("thread"))
        .max()
        .expect("a thread")
}

fn main() {
    for (name, memory) in [("compute", false), ("memory copy", true)] {
        let one = timed(1, memory).as_secs_f64();
        let two = timed(2, memory).as_secs_f64();
        // Two threads do twice the work: the speed-up is 2 · t1 / t2.
        println!(
            "{{\"workload\":\"{name}\",\"one_thread_s\":{one:.3},\"two_threads_s\":{two:.3},\"speedup\":{:.2}}}",
            2.0 * one / two
        );
    }
}
