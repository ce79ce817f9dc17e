//! [`BufferPool`]: buffers that come back when the batch holding them is dropped, so the
//! multi-megabyte planes of a run's batches (u8 host planes, float32 network inputs) reuse the
//! same memory instead of being faulted in and zeroed by the kernel for every batch (at 1024² one
//! batch of 2 is 24 MB of input, and allocators hand buffers that large back to the OS on free,
//! or keep them on the thread that allocated them when another thread frees them).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// A shared free list of buffers of `T` (cheap to clone: clones share the list). At most `keep`
/// buffers wait in it; more are freed.
pub struct BufferPool<T = f32> {
    free: Arc<Mutex<Vec<Vec<T>>>>,
    keep: usize,
}

impl<T> Clone for BufferPool<T> {
    fn clone(&self) -> Self {
        BufferPool {
            free: Arc::clone(&self.free),
            keep: self.keep,
        }
    }
}

impl<T> BufferPool<T> {
    /// A pool that keeps at most `keep` free buffers.
    pub fn new(keep: usize) -> BufferPool<T> {
        BufferPool {
            free: Arc::new(Mutex::new(Vec::new())),
            keep,
        }
    }

    /// A buffer of exactly `len` values from `fill`, which must push exactly `len` values onto
    /// the (empty) vector it is given; the memory is the smallest free buffer of the pool with
    /// room for `len` when there is one, so no page is faulted in or zeroed.
    pub fn filled(&self, len: usize, fill: impl FnOnce(&mut Vec<T>)) -> PooledBuffer<T> {
        let mut buffer = self.empty(len);
        fill(&mut buffer.data);
        assert_eq!(buffer.len(), len, "a pooled buffer is filled to its length");
        buffer
    }

    /// An empty buffer with room for at least `capacity` values: the smallest free buffer of
    /// the pool that has the room, else a new one.
    pub fn empty(&self, capacity: usize) -> PooledBuffer<T> {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let fit = (free.iter().enumerate())
                .filter(|(_, b)| b.capacity() >= capacity)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            fit.map(|i| free.swap_remove(i))
        };
        let mut data = reused.unwrap_or_else(|| Vec::with_capacity(capacity));
        data.clear();
        PooledBuffer {
            data,
            pool: Some(self.clone()),
        }
    }

    /// How many free buffers wait in the pool.
    pub fn free_buffers(&self) -> usize {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn give_back(&self, data: Vec<T>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(data);
        }
    }
}

impl<T> fmt::Debug for BufferPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("free", &self.free_buffers())
            .field("keep", &self.keep)
            .finish()
    }
}

/// Values whose memory returns to its [`BufferPool`] on drop. It reads as a slice and grows
/// like a vector; it serialises as a sequence, and a deserialised or cloned buffer belongs to no
/// pool.
pub struct PooledBuffer<T = f32> {
    data: Vec<T>,
    pool: Option<BufferPool<T>>,
}

impl<T> PooledBuffer<T> {
    /// `data`, belonging to no pool.
    pub fn unpooled(data: Vec<T>) -> PooledBuffer<T> {
        PooledBuffer { data, pool: None }
    }

    /// Appends `values` (within the capacity the pool gave, no new memory).
    pub fn extend_from_slice(&mut self, values: &[T])
    where
        T: Copy,
    {
        self.data.extend_from_slice(values);
    }

    /// Appends `n` copies of `value`.
    pub fn extend_with(&mut self, n: usize, value: T)
    where
        T: Copy,
    {
        self.data.resize(self.data.len() + n, value);
    }
}

impl<T> Default for PooledBuffer<T> {
    fn default() -> Self {
        PooledBuffer::unpooled(Vec::new())
    }
}

impl<T> Deref for PooledBuffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.data
    }
}

impl<T> Drop for PooledBuffer<T> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

impl<T: Clone> Clone for PooledBuffer<T> {
    fn clone(&self) -> Self {
        PooledBuffer::unpooled(self.data.clone())
    }
}

impl<T: PartialEq> PartialEq for PooledBuffer<T> {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl<T: Eq> Eq for PooledBuffer<T> {}

impl<T> fmt::Debug for PooledBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuffer")
            .field("len", &self.data.len())
            .field("pooled", &self.pool.is_some())
            .finish()
    }
}

impl<T: Serialize> Serialize for PooledBuffer<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PooledBuffer<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(PooledBuffer::unpooled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_reused_without_new_memory() {
        let pool: BufferPool = BufferPool::new(2);
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
        let pool: BufferPool = BufferPool::new(1);
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

    #[test]
    fn an_empty_buffer_grows_in_its_reused_memory() {
        let pool: BufferPool<u8> = BufferPool::new(4);
        let mut a = pool.empty(8);
        a.extend_from_slice(&[1, 2, 3]);
        a.extend_with(2, 0);
        assert_eq!(&a[..], &[1, 2, 3, 0, 0]);
        let ptr = a.as_ptr();
        drop(a);
        let mut b = pool.empty(6);
        assert!(b.is_empty(), "a reused buffer starts empty");
        b.extend_from_slice(&[9; 6]);
        assert_eq!(b.as_ptr(), ptr);
        assert_eq!(b, PooledBuffer::unpooled(vec![9; 6]));
    }
}
