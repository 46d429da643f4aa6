//! The allocator of the programs hydro compiles: the system's, with a cache
//! of small freed blocks for the flow's thread in front of it.
//!
//! A flow makes a value for each message and drops it later, often a whole
//! batch of them before the first is dropped (a handoff between strata holds
//! them all).  glibc keeps 7 freed blocks of a size in its per-thread cache,
//! so the rest of a batch goes through its slower paths, which took about
//! 40% of a receiver's time for 8-byte `Vec<u8>` messages.  Here the flow's
//! thread keeps the small blocks it frees, up to CACHE_BYTES in all, on a
//! list per size class (16-byte steps up to MAX), and uses them again before
//! it asks the system.  Every block comes from the system allocator and may
//! go back to it: one freed on another thread, or past the cap, is freed as
//! usual.
//!
//! What makes a cached block safe to hand out for any layout of its class:
//! a block whose layout is in a class (alignment at most 16, size at most
//! MAX) always has the class's whole size and an alignment of 16, on every
//! thread, because every allocation and reallocation to such a layout takes
//! a block of the class: from the cache, or from the system asked for the
//! class's size and an alignment of 16.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;

/// The classes' step, and the most alignment a cached block serves (the
/// system's malloc aligns to 16 on the targets hydro builds for).
const STEP: usize = 16;

/// The largest block cached.
const MAX: usize = 2048;

const CLASSES: usize = MAX / STEP;

/// The most bytes the flow's thread keeps in freed blocks.
const CACHE_BYTES: usize = 8 << 20;

/// One thread's freed blocks: a list per class, linked through the blocks'
/// first bytes.
struct Cache {
    on: Cell<bool>,
    heads: [Cell<*mut u8>; CLASSES],
    bytes: Cell<usize>,
}

thread_local! {
    static CACHE: Cache = const {
        Cache { on: Cell::new(false), heads: [const { Cell::new(ptr::null_mut()) }; CLASSES], bytes: Cell::new(0) }
    };
}

impl Cache {
    fn take(&self, k: usize) -> *mut u8 {
        let p = self.heads[k].get();
        if !p.is_null() {
            // SAFETY: a block on the list holds the next one's address.
            self.heads[k].set(unsafe { *(p as *mut *mut u8) });
            self.bytes.set(self.bytes.get() - size(k));
        }
        p
    }

    fn put(&self, k: usize, p: *mut u8) -> bool {
        if !self.on.get() || self.bytes.get() + size(k) > CACHE_BYTES {
            return false;
        }
        // SAFETY: the block is free, at least 16 bytes and 16-aligned.
        unsafe { *(p as *mut *mut u8) = self.heads[k].get() };
        self.heads[k].set(p);
        self.bytes.set(self.bytes.get() + size(k));
        true
    }
}

/// The class of a layout, if the cache serves it.
#[inline]
fn class(size: usize, align: usize) -> Option<usize> {
    if size == 0 || size > MAX || align > STEP {
        return None;
    }
    Some((size - 1) / STEP)
}

#[inline]
fn size(k: usize) -> usize {
    (k + 1) * STEP
}

/// The allocator; hydro_runtime makes it the program's global allocator.
pub struct Alloc;

/// Cache the blocks this thread frees from now on (the flow's thread).
pub(crate) fn cache_this_thread() {
    let _ = CACHE.try_with(|c| c.on.set(true));
}

unsafe impl GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        match class(l.size(), l.align()) {
            Some(k) => {
                let p = CACHE.try_with(|c| c.take(k)).unwrap_or(ptr::null_mut());
                if !p.is_null() {
                    return p;
                }
                System.alloc(Layout::from_size_align_unchecked(size(k), STEP))
            }
            None => System.alloc(l),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if let Some(k) = class(l.size(), l.align()) {
            if CACHE.try_with(|c| c.put(k, p)).unwrap_or(false) {
                return;
            }
        }
        System.dealloc(p, l)
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if class(l.size(), l.align()).is_none() {
            return System.alloc_zeroed(l);
        }
        let p = self.alloc(l);
        if !p.is_null() {
            ptr::write_bytes(p, 0, l.size());
        }
        p
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        match class(new, l.align()) {
            None => System.realloc(p, l, new),
            // the block has the class's whole size
            Some(k) if class(l.size(), l.align()) == Some(k) => p,
            // a block of the new class, as alloc makes one
            Some(_) => {
                let q = self.alloc(Layout::from_size_align_unchecked(new, l.align()));
                if !q.is_null() {
                    ptr::copy_nonoverlapping(p, q, l.size().min(new));
                    self.dealloc(p, l);
                }
                q
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" {
        fn malloc_usable_size(p: *mut u8) -> usize;
    }

    #[test]
    fn blocks_have_their_class_size() {
        let a = Alloc;
        unsafe {
            for n in [1usize, 8, 15, 16, 17, 24, 1000, 1024, 2047, 2048] {
                let l = Layout::from_size_align(n, 1).unwrap();
                let p = a.alloc(l);
                assert!(malloc_usable_size(p) >= size(class(n, 1).unwrap()));
                *p = 7;
                let q = a.realloc(p, l, n + 3);
                assert_eq!(*q, 7);
                if let Some(k) = class(n + 3, 1) {
                    assert!(malloc_usable_size(q) >= size(k));
                    assert_eq!(q as usize % STEP, 0);
                }
                a.dealloc(q, Layout::from_size_align(n + 3, 1).unwrap());
            }
        }
    }

    #[test]
    fn the_flow_thread_uses_its_blocks_again() {
        std::thread::spawn(|| {
            let a = Alloc;
            cache_this_thread();
            unsafe {
                let l = Layout::from_size_align(24, 8).unwrap();
                let ps: Vec<*mut u8> = (0..1000).map(|_| a.alloc(l)).collect();
                for &p in &ps {
                    ptr::write_bytes(p, 0xab, 24);
                }
                for &p in ps.iter().rev() {
                    a.dealloc(p, l);
                }
                // the last freed comes first, for the same class only
                let q = a.alloc(Layout::from_size_align(32, 16).unwrap());
                assert_eq!(q, ps[0]);
                let z = a.alloc_zeroed(Layout::from_size_align(20, 4).unwrap());
                assert_eq!(z, ps[1]);
                assert!(std::slice::from_raw_parts(z, 20).iter().all(|&b| b == 0));
                a.dealloc(q, Layout::from_size_align(32, 16).unwrap());
                a.dealloc(z, Layout::from_size_align(20, 4).unwrap());
                // larger alignments and sizes are the system's
                let big = Layout::from_size_align(4096, 8).unwrap();
                let b = a.alloc(big);
                a.dealloc(b, big);
                let al = Layout::from_size_align(64, 64).unwrap();
                let c = a.alloc(al);
                assert_eq!(c as usize % 64, 0);
                a.dealloc(c, al);
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_cache_has_a_cap() {
        std::thread::spawn(|| {
            let a = Alloc;
            cache_this_thread();
            let l = Layout::from_size_align(MAX, 8).unwrap();
            unsafe {
                let ps: Vec<*mut u8> = (0..2 * CACHE_BYTES / MAX).map(|_| a.alloc(l)).collect();
                for p in ps {
                    a.dealloc(p, l);
                }
            }
            assert!(CACHE.with(|c| c.bytes.get()) <= CACHE_BYTES);
        })
        .join()
        .unwrap();
    }
}
