//! Giving freed memory back to the operating system between a run's phases.
//!
//! mimalloc, the allocator of the `nes` binary, returns freed pages to the system about a
//! second after they are freed. That delay is what keeps a 10k-entity run fast (purging at
//! once cost it a fifth more CPU), but in a 100k-entity run each phase's freed memory was
//! still counted when the next phase allocated its own: about 80 MB of the run's peak. One
//! collection at each phase boundary returns it.

/// Returns the memory freed so far to the operating system, where mimalloc is the allocator
/// (elsewhere, e.g. in tests, it does nothing of note).
pub fn release() {
    // SAFETY: `mi_collect` takes no pointers; it only walks mimalloc's own free lists.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
