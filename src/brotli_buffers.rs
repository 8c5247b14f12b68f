//! Reused buffers for the brotli encoder at its fast qualities (0 and 1).
//!
//! At those qualities the encoder asks, for every document, for a few large buffers: a
//! hash table of up to 512 KiB, command and literal buffers of up to 640 KiB together,
//! and an output buffer of twice its block size. `StandardAlloc` hands each one out
//! zeroed and freshly allocated. For a 180 KB archive page that is about ten times the
//! input in memset and new pages, as much CPU as the compression itself.
//!
//! [`Recycling`] keeps large buffers per thread and hands them out again **without
//! clearing them**. That is only right where the encoder writes a buffer before it reads
//! it, and at qualities 0 and 1 it does: the reference C encoder takes all four from
//! plain `malloc`, and clears the hash table itself (so does this port, in
//! `GetHashTableInternal`). Allocations under [`MIN_BYTES`] are zeroed, as
//! `StandardAlloc` does. Slower qualities keep `StandardAlloc` (their hashers rely on
//! zeroed memory). A test compresses with a pool full of garbage and checks that the
//! bytes equal `StandardAlloc`'s.
//!
//! Everything here is safe Rust: a reused buffer holds old values, never uninitialised
//! memory.

use brotli::enc::BrotliAlloc;
use brotli::{Allocator, SliceWrapper, SliceWrapperMut};
use std::any::Any;
use std::cell::RefCell;

/// Smaller allocations are made fresh and zeroed, and not kept.
pub const MIN_BYTES: usize = 32 << 10;
/// Buffers kept per thread. One call holds four large ones at a time.
const KEEP: usize = 8;

thread_local! {
    /// Large buffers given back, each a `Vec<T>` for some `T`.
    static FREE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A brotli allocator whose large buffers are reused, uncleared. Only for qualities 0
/// and 1 (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct Recycling;

/// A buffer from [`Recycling`]; it goes back to its thread's pool when dropped.
pub struct Buf<T: 'static>(Vec<T>);

impl<T: 'static> std::fmt::Debug for Buf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buf({} × {} bytes)", self.0.len(), size_of::<T>())
    }
}

impl<T: 'static> Default for Buf<T> {
    fn default() -> Self {
        Buf(Vec::new())
    }
}

impl<T: 'static> SliceWrapper<T> for Buf<T> {
    fn slice(&self) -> &[T] {
        &self.0
    }
}

impl<T: 'static> SliceWrapperMut<T> for Buf<T> {
    fn slice_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: 'static> Drop for Buf<T> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() * size_of::<T>() >= MIN_BYTES {
            // During thread exit the pool may already be gone; the buffer is then freed.
            let _ = FREE.try_with(|free| {
                let mut free = free.borrow_mut();
                if free.len() < KEEP {
                    free.push(Box::new(v));
                }
            });
        }
    }
}

impl<T: Clone + Default + 'static> Allocator<T> for Recycling {
    type AllocatedMemory = Buf<T>;

    fn alloc_cell(&mut self, len: usize) -> Buf<T> {
        if len * size_of::<T>() < MIN_BYTES {
            return Buf(vec![T::default(); len]);
        }
        let reused = FREE
            .try_with(|free| {
                let mut free = free.borrow_mut();
                let at = free.iter().position(|b| {
                    b.downcast_ref::<Vec<T>>()
                        .is_some_and(|v| v.capacity() >= len)
                })?;
                free.swap_remove(at).downcast::<Vec<T>>().ok()
            })
            .ok()
            .flatten();
        let mut v = reused.map(|b| *b).unwrap_or_default();
        // Shortens a reused buffer, or extends it (or a new one) with zeroes.
        v.resize(len, T::default());
        Buf(v)
    }

    fn free_cell(&mut self, data: Buf<T>) {
        drop(data);
    }
}

impl BrotliAlloc for Recycling {}

#[cfg(test)]
pub(crate) fn fill_pool_with_garbage() {
    // Every type the fast path allocates large: bytes, command words, hash slots.
    for len in [64 << 10, 128 << 10, 256 << 10, (256 << 10) + 503, 1 << 20] {
        let mut a = <Recycling as Allocator<u8>>::alloc_cell(&mut Recycling, len);
        a.slice_mut().fill(0xA5);
        let mut b = <Recycling as Allocator<u32>>::alloc_cell(&mut Recycling, len / 4);
        b.slice_mut().fill(0xDEAD_BEEF);
        let mut c = <Recycling as Allocator<i32>>::alloc_cell(&mut Recycling, len / 4);
        c.slice_mut().fill(-7);
        // Dropped here: the three go back to the pool, dirty.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_come_back_uncleared_and_small_ones_zeroed() {
        FREE.with_borrow_mut(Vec::clear);
        let mut a = <Recycling as Allocator<u32>>::alloc_cell(&mut Recycling, 20_000);
        a.slice_mut().fill(9);
        let ptr = a.slice().as_ptr();
        drop(a);
        let b = <Recycling as Allocator<u32>>::alloc_cell(&mut Recycling, 10_000);
        assert_eq!(b.slice().as_ptr(), ptr, "the buffer given back is reused");
        assert_eq!(b.slice().len(), 10_000);
        assert!(b.slice().iter().all(|&x| x == 9));
        // Another type never gets it.
        let c = <Recycling as Allocator<i32>>::alloc_cell(&mut Recycling, 10_000);
        assert!(c.slice().iter().all(|&x| x == 0));
        drop((b, c));
        let mut small = <Recycling as Allocator<u8>>::alloc_cell(&mut Recycling, 100);
        small.slice_mut().fill(1);
        drop(small);
        let small = <Recycling as Allocator<u8>>::alloc_cell(&mut Recycling, 100);
        assert!(small.slice().iter().all(|&x| x == 0));
    }

    #[test]
    fn the_pool_stays_small() {
        FREE.with_borrow_mut(Vec::clear);
        let held: Vec<_> = (0..3 * KEEP)
            .map(|_| <Recycling as Allocator<u8>>::alloc_cell(&mut Recycling, MIN_BYTES))
            .collect();
        drop(held);
        assert_eq!(FREE.with_borrow(Vec::len), KEEP);
    }
}
