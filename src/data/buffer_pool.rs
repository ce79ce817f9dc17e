//! [`BufferPool`]: float32 buffers that come back when the batch holding them is dropped, so the
//! multi-megabyte network inputs of a run reuse the same memory instead of being faulted in and
//! zeroed by the kernel for every batch (at 1024² one batch of 2 is 24 MB of input, and
//! allocators hand buffers that large back to the OS on free).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// A shared free list of float32 buffers (cheap to clone: clones share the list). At most `keep`
/// buffers wait in it; more are freed.
#[derive(Clone)]
pub struct BufferPool {
    free: Arc<Mutex<Vec<Vec<f32>>>>,
    keep: usize,
}

impl BufferPool {
    /// A pool that keeps at most `keep` free buffers.
    pub fn new(keep: usize) -> BufferPool {
        BufferPool {
            free: Arc::new(Mutex::new(Vec::new())),
            keep,
        }
    }

    /// A buffer of exactly `len` values from `fill`, which must push exactly `len` values onto
    /// the (empty) vector it is given; the memory is the smallest free buffer of the pool with
    /// room for `len` when there is one, so no page is faulted in or zeroed.
    pub fn filled(&self, len: usize, fill: impl FnOnce(&mut Vec<f32>)) -> PooledBuffer {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let fit = (free.iter().enumerate())
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            fit.map(|i| free.swap_remove(i))
        };
        let mut data = reused.unwrap_or_else(|| Vec::with_capacity(len));
        data.clear();
        fill(&mut data);
        assert_eq!(data.len(), len, "a pooled buffer is filled to its length");
        PooledBuffer {
            data,
            pool: Some(self.clone()),
        }
    }

    /// How many free buffers wait in the pool.
    pub fn free_buffers(&self) -> usize {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn give_back(&self, data: Vec<f32>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(data);
        }
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("free", &self.free_buffers())
            .field("keep", &self.keep)
            .finish()
    }
}

/// Float32 values whose memory returns to its [`BufferPool`] on drop. It reads as a `[f32]`;
/// it serialises as a sequence of floats, and a deserialised or cloned buffer belongs to no pool.
#[derive(Default)]
pub struct PooledBuffer {
    data: Vec<f32>,
    pool: Option<BufferPool>,
}

impl PooledBuffer {
    /// `data`, belonging to no pool.
    pub fn unpooled(data: Vec<f32>) -> PooledBuffer {
        PooledBuffer { data, pool: None }
    }
}

impl Deref for PooledBuffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.data
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

impl Clone for PooledBuffer {
    fn clone(&self) -> PooledBuffer {
        PooledBuffer::unpooled(self.data.clone())
    }
}

impl PartialEq for PooledBuffer {
    fn eq(&self, other: &PooledBuffer) -> bool {
        self.data == other.data
    }
}

impl fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuffer")
            .field("len", &self.data.len())
            .field("pooled", &self.pool.is_some())
            .finish()
    }
}

impl Serialize for PooledBuffer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PooledBuffer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PooledBuffer, D::Error> {
        Vec::<f32>::deserialize(d).map(PooledBuffer::unpooled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_reused_without_new_memory() {
        let pool = BufferPool::new(2);
        let a = pool.filled(1000, |v| v.extend((0..1000).map(|i| i as f32)));
        assert_eq!(a[999], 999.0);
        let ptr = a.as_ptr();
        drop(a);
        assert_eq!(pool.free_buffers(), 1);
        // A smaller request reuses the same memory, with only the new values in it.
        let b = pool.filled(10, |v| v.extend(std::iter::repeat_n(7.0, 10)));
        assert_eq!(b.as_ptr(), ptr);
        assert_eq!(&b[..], &[7.0; 10]);
        assert_eq!(pool.free_buffers(), 0);
        // A larger one cannot: it gets new memory.
        drop(b);
        let c = pool.filled(2000, |v| v.resize(2000, 1.0));
        assert_ne!(c.as_ptr(), ptr);
        assert_eq!(pool.free_buffers(), 1);
    }

    #[test]
    fn the_pool_keeps_at_most_keep_buffers_and_copies_belong_to_none() {
        let pool = BufferPool::new(1);
        let a = pool.filled(4, |v| v.resize(4, 1.0));
        let b = pool.filled(4, |v| v.resize(4, 2.0));
        let copy = a.clone();
        assert_eq!(copy, a);
        drop((a, b, copy));
        assert_eq!(pool.free_buffers(), 1);
        let json = serde_json::to_string(&pool.filled(2, |v| v.resize(2, 0.5))).unwrap();
        assert_eq!(json, "[0.5,0.5]");
        let back: PooledBuffer = serde_json::from_str(&json).unwrap();
        assert_eq!(&back[..], &[0.5, 0.5]);
        assert!(format!("{back:?}").contains("pooled: false"));
    }

    #[test]
    #[should_panic(expected = "filled to its length")]
    fn a_fill_of_the_wrong_length_is_a_bug() {
        BufferPool::new(1).filled(3, |v| v.push(1.0));
    }
}
